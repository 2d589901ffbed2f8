"""WS v1 -> domain translation: golden messages in Kraken's documented shapes, a property test
of the open-orders arithmetic, and real frames from an AsyncFeed on a loopback simulator
compared with what LiveVenue reads over REST."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.events import Reconnected
from krakenfutures.client.feed import AsyncFeed, Backoff
from krakenfutures.core.book import OrderBook
from krakenfutures.core.events import BookUpdated, FeedReconnected, TickerUpdate, TradeTick
from krakenfutures.core.orders import CancelIntent, OrderIntent, OrderState
from krakenfutures.core.types import OrderType, Side
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord
from krakenfutures.runtime.legacy_feed import (
    PRIVATE_FEEDS,
    FeedTranslator,
    subscribe_private,
    subscribe_public,
    translate,
)
from krakenfutures.runtime.live_venue import LiveVenue
from krakenfutures.testing import TEST_SECRET, running_simulator, sim_config

XBT = "PF_XBTUSD"
OID = "59302619-41d2-4f0b-941f-7e7914760ad3"


def golden(text: str) -> dict[str, Any]:
    """A frame as a dict, numbers as JSON gives them (the translator must keep them exact)."""
    return json.loads(text)


# -------------------------------------------------------------------------- public feeds


def test_trades_and_trade_snapshots() -> None:
    frame = """{"feed":"trade","product_id":"PF_XBTUSD","uid":"u-2","side":"sell","type":"fill",
        "seq":2,"time":1612269825817,"qty":0.0125,"price":34900.5}"""
    [tick] = translate(golden(frame))
    assert tick == TradeTick(XBT, Side.SELL, D("0.0125"), D("34900.5"), 1612269825817, "u-2")
    assert translate(frame) == translate(frame.encode()) == (tick,)
    snapshot = {
        "feed": "trade_snapshot",
        "product_id": XBT,
        "trades": [  # newest first, as Kraken sends them
            {**golden(frame), "seq": 2},
            {**golden(frame), "seq": 1, "uid": "u-1", "time": 1612269825000},
        ],
    }
    assert [t.trade_id for t in translate(snapshot)] == ["u-1", "u-2"]


def test_ticker_keeps_absolute_and_relative_funding_apart() -> None:
    # Kraken's inverse example: the absolute rate is tiny, the relative one a fraction.
    frame = golden(
        """{"time":1676393235406,"product_id":"PI_XBTUSD","funding_rate":-6.2604214e-11,
        "funding_rate_prediction":-3.65989977e-10,"relative_funding_rate":-1.3762505e-06,
        "relative_funding_rate_prediction":-8.047471e-06,"next_funding_rate_time":1676394000000,
        "feed":"ticker","bid":21978.5,"ask":21987.0,"bid_size":2536.0,"ask_size":13948.0,
        "volume":31403908.0,"dtm":0,"leverage":"50x","index":21984.54,"premium":-0.0,
        "last":21983.5,"change":1.9974017538161748,"suspended":false,"tag":"perpetual",
        "pair":"XBT:USD","openInterest":30481512.0,"markPrice":21979.68641534714,
        "maturityTime":0,"post_only":false,"volumeQuote":31403908.0}"""
    )
    [t] = translate(frame)
    assert isinstance(t, TickerUpdate) and t.symbol == "PI_XBTUSD"
    assert (t.funding_rate, t.relative_funding_rate) == (D("-6.2604214e-11"), D("-1.3762505e-06"))
    assert t.funding_rate_prediction == D("-3.65989977e-10")
    assert t.relative_funding_rate_prediction == D("-8.047471e-06")
    assert (t.next_funding_ms, t.ts_ms, t.index_price) == (
        1676394000000,
        1676393235406,
        D("21984.54"),
    )
    assert (t.mark_price, t.bid, t.ask, t.last) == (
        D("21979.68641534714"),
        D("21978.5"),
        D("21987.0"),
        D("21983.5"),
    )
    assert (t.open_interest, t.suspended, t.post_only) == (D(30481512), False, False)
    # A fixed maturity: no funding fields at all (Kraken omits them), not zeros.
    fixed = {k: v for k, v in frame.items() if "funding" not in k}
    [f] = translate({**fixed, "product_id": "FI_XBTUSD_260327", "suspended": True})
    assert (f.funding_rate, f.relative_funding_rate, f.next_funding_ms, f.suspended) == (
        None,
        None,
        None,
        True,
    )


def test_messages_without_a_domain_meaning_give_nothing() -> None:
    for message in (
        {"feed": "heartbeat", "time": 1534262350627},
        {"event": "subscribed", "feed": "trade", "product_ids": [XBT]},
        {"event": "alert", "message": "Failed to subscribe to authenticated feed"},
        {"feed": "a_feed_from_2027", "x": 1},
        {"feed": "ticker_lite", "product_id": XBT, "bid": 1, "ask": 2},
        b"not json",
        "[1, 2]",
        object(),
    ):
        assert translate(message) == ()


def test_books_and_reconnects() -> None:
    book = OrderBook(XBT)
    snapshot = {
        "feed": "book_snapshot",
        "product_id": XBT,
        "timestamp": 5,
        "seq": 10,
        "tickSize": None,
        "bids": [{"price": 100, "qty": 1}],
        "asks": [{"price": 101, "qty": 2}],
    }
    assert translate(snapshot) == ()  # no local book to report
    assert translate(snapshot, book_for=lambda s: book) == ()  # not synced yet
    book.apply_snapshot([(D(100), D(1))], [(D(101), D(2))], 10)
    assert translate(snapshot, book_for=lambda s: book) == (BookUpdated(XBT, book, 5),)
    assert translate(Reconnected(attempt=2, downtime_ms=1500)) == (FeedReconnected(1500, 2),)


# ------------------------------------------------------------------------- private feeds


def test_fills_carry_the_feeds_fee() -> None:
    frame = golden(
        """{"feed":"fills","username":"DemoUser","fills":[{"instrument":"PI_XBTUSD",
        "time":1600256966528,"price":364.65,"seq":100,"buy":true,"qty":5000.0,
        "remaining_order_qty":0.0,"order_id":"3696d19b","cli_ord_id":"bot-7",
        "fill_id":"c14ee7cb","fill_type":"maker","fee_paid":-0.00009142857,
        "fee_currency":"BTC","taker_order_type":"ioc","order_type":"limit"}]}"""
    )
    [fill] = translate(frame)
    assert fill == FillRecord(
        fill_id="c14ee7cb",
        order_id="3696d19b",
        cli_ord_id="bot-7",
        symbol="PI_XBTUSD",
        side=Side.BUY,
        qty=D(5000),
        price=D("364.65"),
        fee=D("-0.00009142857"),
        fee_currency="BTC",
        ts_ms=1600256966528,
        maker=True,
    )
    # Without fee_paid (not seen from Kraken, but the field is optional) the fee is computed.
    row = frame["fills"][0]
    bare = {
        **row,
        "instrument": XBT,
        "buy": False,
        "qty": 0.5,
        "price": 60000,
        "fill_type": "taker",
    }
    del bare["fee_paid"], bare["fee_currency"]
    [computed] = translate({"feed": "fills_snapshot", "account": "a", "fills": [bare]})
    assert (computed.fee, computed.fee_currency, computed.maker, computed.side) == (
        D("0.5") * 60000 * D("0.0005"),
        "USD",
        False,
        Side.SELL,
    )


ORDER = {
    "instrument": "PI_XBTUSD",
    "time": 1567702877410,
    "last_update_time": 1567702877410,
    "qty": 304.0,
    "filled": 0.0,
    "limit_price": 10640.0,
    "stop_price": 0.0,
    "type": "limit",
    "order_id": OID,
    "direction": 1,
    "reduce_only": True,
}


def test_open_orders_snapshot_and_deltas() -> None:
    placed = {
        "feed": "open_orders",
        "order": ORDER,
        "is_cancel": False,
        "reason": "new_placed_order_by_user",
    }
    [snap] = translate(placed)
    assert snap == OrderSnapshot(
        order_id=OID,
        cli_ord_id=None,
        symbol="PI_XBTUSD",
        side=Side.SELL,
        qty=D(304),
        filled_qty=D(0),
        state=OrderState.OPEN,
        order_type=OrderType.LMT,
        limit_price=D(10640),
        stop_price=None,  # Kraken's 0.0 on a limit order means "none"
        reduce_only=True,
        ts_ms=1567702877410,
        reason="new_placed_order_by_user",
    )
    partial = {
        **placed,
        "order": {**ORDER, "qty": 204.0, "filled": 100.0},
        "reason": "partial_fill",
    }
    [p] = translate(partial)
    assert (p.qty, p.filled_qty, p.state) == (D(304), D(100), OrderState.PARTIALLY_FILLED)
    full = {
        **placed,
        "order": {**ORDER, "qty": 0.0, "filled": 304.0},
        "is_cancel": True,
        "reason": "full_fill",
    }
    [f] = translate(full)
    assert (f.qty, f.filled_qty, f.state) == (D(304), D(304), OrderState.FILLED)
    snapshot = {
        "feed": "open_orders_snapshot",
        "account": "x",
        "orders": [ORDER, {**ORDER, "order_id": "b"}],
    }
    assert [s.order_id for s in translate(snapshot)] == [OID, "b"]
    trigger = {
        **ORDER,
        "type": "stop",
        "stop_price": 9000.0,
        "limit_price": 0.0,
        "triggerSignal": "mark",
    }
    [t] = translate({"feed": "open_orders_verbose_snapshot", "orders": [trigger]})
    assert (t.order_type, t.stop_price, t.limit_price) == (OrderType.STP, D(9000), None)


def test_bare_removals_use_what_was_known() -> None:
    known = translate(
        {"feed": "open_orders", "order": {**ORDER, "cli_ord_id": "c-1"}, "is_cancel": False}
    )
    index = {s.order_id: s for s in known}
    cancel = {
        "feed": "open_orders",
        "order_id": OID,
        "is_cancel": True,
        "reason": "cancelled_by_user",
    }
    [c] = translate(cancel, known_orders=index)
    assert (c.symbol, c.side, c.qty, c.cli_ord_id, c.state, c.reason) == (
        "PI_XBTUSD",
        Side.SELL,
        D(304),
        "c-1",
        OrderState.CANCELLED,
        "cancelled_by_user",
    )
    dms = {**cancel, "reason": "dead_man_switch", "cli_ord_id": "c-9", "order_id": "unseen"}
    [stub] = translate(dms, known_orders=index)
    assert (stub.order_id, stub.cli_ord_id, stub.symbol, stub.qty, stub.state) == (
        "unseen",
        "c-9",
        "",
        D(0),
        OrderState.CANCELLED,
    )
    post = {**cancel, "reason": "post_order_failed_because_it_would_filled"}
    assert translate(post)[0].state is OrderState.REJECTED
    # An IOC remainder: fills unknown here, so not "rejected" (it may have traded).
    ioc = {**cancel, "reason": "ioc_order_failed_because_it_would_not_be_executed"}
    assert translate(ioc)[0].state is OrderState.CANCELLED
    ioc_nothing = {**ioc, "order": {**ORDER, "qty": 304.0, "filled": 0.0}}
    assert translate(ioc_nothing)[0].state is OrderState.REJECTED
    assert translate({"feed": "open_orders", "order_id": OID, "is_cancel": False}) == ()


@given(
    open_qty=st.decimals(min_value=0, max_value=10**6, places=4),
    filled=st.decimals(min_value=0, max_value=10**6, places=4),
    is_cancel=st.booleans(),
    reason=st.sampled_from(["partial_fill", "cancelled_by_user", "full_fill", "dead_man_switch"]),
)
def test_open_order_arithmetic(open_qty: D, filled: D, is_cancel: bool, reason: str) -> None:
    if not is_cancel and open_qty == 0:
        open_qty = D(1)  # a resting order has something open
    order = {**ORDER, "qty": str(open_qty), "filled": str(filled)}
    [s] = translate(
        {"feed": "open_orders", "order": order, "is_cancel": is_cancel, "reason": reason}
    )
    assert (s.qty, s.filled_qty) == (open_qty + filled, filled)
    if not is_cancel:
        assert s.state is (OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN)
    elif reason == "full_fill" or (open_qty == 0 and filled > 0):
        assert s.state is OrderState.FILLED
    else:
        assert s.state is OrderState.CANCELLED


def test_positions_are_signed_and_vanishing_ones_go_flat() -> None:
    frame = golden(
        """{"feed":"open_positions","account":"DemoUser","positions":[{"instrument":"PF_XBTUSD",
        "balance":-0.5,"pnl":-12.5,"entry_price":30000.0,"mark_price":30025.0,
        "index_price":30020.0,"liquidation_threshold":0.0,"effective_leverage":0.1,
        "return_on_equity":-0.08,"unrealized_funding":0.0,"initial_margin":150.0,
        "initial_margin_with_orders":150.0,"maintenance_margin":75.0,"pnl_currency":"USD"},
        {"instrument":"PF_ETHUSD","balance":0.0,"entry_price":0.0}],"seq":4,"timestamp":1687383625330}"""
    )
    assert translate(frame) == (PositionRecord(XBT, D("-0.5"), D(30000), 1687383625330),)
    translator = FeedTranslator()
    assert len(translator(frame)) == 1 and translator.positions == {XBT}
    empty = {
        "feed": "open_positions",
        "account": "DemoUser",
        "positions": [],
        "seq": 5,
        "timestamp": 9,
    }
    assert translator(empty) == (PositionRecord(XBT, D(0), D(0), 9),)
    assert translator(empty) == () and translator.positions == set()


def test_balances_list_inverse_wallets_then_flex_currencies() -> None:
    frame = golden(
        """{"feed":"balances_snapshot","account":"4a012c31","holding":{"USDT":100.0,"XBT":0.1},
        "futures":{"F-ETH:USD":{"name":"F-ETH:USD","pair":"ETH/USD","unit":"ETH",
        "portfolio_value":0.1,"balance":0.1,"maintenance_margin":0.0,"initial_margin":0.0,
        "available":0.09,"unrealized_funding":0.0,"pnl":0.0}},
        "flex_futures":{"currencies":{"USDT":{"quantity":100.0,"value":99.9,"collateral_value":99.5,
        "available":95.5,"haircut":0.0,"conversion_spread":0.0},"usd":{"quantity":5.25,
        "value":5.25,"collateral_value":5.25,"available":5.25,"haircut":0.0,"conversion_spread":0.0}},
        "balance_value":105.15,"portfolio_value":105.15,"collateral_value":104.75,
        "initial_margin":0.0,"initial_margin_without_orders":0.0,"maintenance_margin":0.0,
        "pnl":0.0,"unrealized_funding":0.0,"total_unrealized":0.0,"total_unrealized_as_margin":0.0,
        "margin_equity":104.75,"available_margin":104.75},"timestamp":1640995200000,"seq":0}"""
    )
    assert translate(frame) == (
        BalanceRecord("ETH", D("0.1"), D("0.09")),
        BalanceRecord("USDT", D(100), D("95.5")),
        BalanceRecord("USD", D("5.25"), D("5.25")),
    )
    update = {
        "feed": "balances",
        "flex_futures": {"currencies": {"USD": {"quantity": 6}}},
        "seq": 1,
    }
    assert translate(update) == (BalanceRecord("USD", D(6), D(6)),)


# ------------------------------------------------------------------------------ loopback

OTHER_KEY = "test-key-other"


@pytest.fixture(scope="module")
def venue_feed_sim() -> Iterator[Any]:
    from krakenfutures.sim.config import KeyConfig

    cfg = sim_config(rate_limits=False)
    other = KeyConfig(api_key=OTHER_KEY, api_secret=TEST_SECRET, account="other")
    with running_simulator(dataclasses.replace(cfg, keys=(*cfg.keys, other))) as handle:
        yield handle


def _venue(handle: Any, api_key: str) -> LiveVenue:
    client = AsyncClient(
        api_key,
        handle.api_secret,
        base_url=handle.base_url,
        nonce="memory",
        clock_ms=handle.clock.now_ms,
        rate_limit=False,
        env={"HOME": "/nonexistent-kf-home"},
    )
    return LiveVenue(client)


class Reader:
    """Reads the feed through a FeedTranslator, keeping every record. :meth:`until` looks at
    the records since the last :meth:`mark` first (messages of one action arrive in any
    order), then reads on."""

    def __init__(self, feed: AsyncFeed) -> None:
        self.feed = feed
        self.translator = FeedTranslator(book_for=feed.book)
        self.records: list[object] = []
        self.start = 0

    def mark(self) -> None:
        self.start = len(self.records)

    async def until(self, done: Callable[[object], bool], timeout_s: float = 10.0) -> Any:
        for record in self.records[self.start :]:
            if done(record):
                return record
        async with asyncio.timeout(timeout_s):  # a bound for slow machines, not a speed check
            async for event in self.feed:
                for record in self.translator(event):
                    self.records.append(record)
                    if done(record):
                        return record
        raise AssertionError("the feed ended")


def _is(cls: type, **fields: Any) -> Callable[[object], bool]:
    return lambda r: isinstance(r, cls) and all(getattr(r, k) == v for k, v in fields.items())


async def test_real_frames_translate_to_what_rest_reports(venue_feed_sim: Any) -> None:
    handle = venue_feed_sim
    main, other = _venue(handle, handle.api_key), _venue(handle, OTHER_KEY)
    feed = AsyncFeed(
        handle.base_url,
        handle.api_key,
        handle.api_secret,
        backoff=Backoff(0.01, 0.05),
        env={"HOME": "/nonexistent-kf-home"},
    )
    assert subscribe_private(feed) == PRIVATE_FEEDS
    assert subscribe_public(feed, ["pf_xbtusd"]) == ("book", "trade", "ticker")
    reader = Reader(feed)
    try:
        async with feed:
            await reader.until(_is(BookUpdated, symbol=XBT))
            ticker = await reader.until(_is(TickerUpdate, symbol=XBT))
            assert ticker.mark_price is not None and ticker.next_funding_ms is not None
            assert ticker.next_funding_ms % 3_600_000 == 0  # an hour boundary, in epoch ms
            await reader.until(lambda r: isinstance(r, BalanceRecord) and r.currency == "USD")
            # A resting order: the feed's snapshot equals REST's, field for field.
            reader.mark()
            placed = await main.submit_order(
                OrderIntent(XBT, Side.BUY, D("0.03"), limit_price=D(59000), cli_ord_id="feed-1")
            )
            ws = await reader.until(_is(OrderSnapshot, order_id=placed.order_id))
            assert ws == dataclasses.replace((await main.open_orders())[0], reason=ws.reason)
            assert ws.reason == "new_placed_order_by_user"
            # A partial fill: a maker fill with the real fee, the same fill as REST's.
            reader.mark()
            await other.submit_order(OrderIntent(XBT, Side.SELL, D("0.01"), limit_price=D(59000)))
            fill = await reader.until(_is(FillRecord, order_id=placed.order_id))
            [rest_fill] = [f for f in await main.fills() if f.order_id == placed.order_id]
            assert fill == rest_fill  # fee_paid from the feed == the fee LiveVenue computes
            assert (fill.maker, fill.fee, fill.fee_currency) == (
                True,
                D("0.01") * 59000 * D("0.0002"),
                "USD",
            )
            partial = await reader.until(_is(OrderSnapshot, order_id=placed.order_id))
            assert (partial.state, partial.filled_qty, partial.qty) == (
                OrderState.PARTIALLY_FILLED,
                D("0.01"),
                D("0.03"),
            )
            tick = await reader.until(_is(TradeTick, symbol=XBT))
            assert (tick.side, tick.qty, tick.price) == (Side.SELL, D("0.01"), D(59000))
            position = await reader.until(_is(PositionRecord, symbol=XBT))
            assert (position.qty, position.entry_price) == (D("0.01"), D(59000))
            # A bare cancel: the translator fills in the order from what it saw.
            reader.mark()
            await main.cancel_order(CancelIntent("feed-1", order_id=placed.order_id))
            gone = await reader.until(
                _is(OrderSnapshot, order_id=placed.order_id, state=OrderState.CANCELLED)
            )
            assert (gone.symbol, gone.cli_ord_id, gone.filled_qty, gone.reason) == (
                XBT,
                "feed-1",
                D("0.01"),
                "cancelled_by_user",
            )
            assert reader.translator.orders == {}
            # A complete fill comes with the order; closing the position reports it flat.
            reader.mark()
            await other.submit_order(OrderIntent(XBT, Side.BUY, D("0.01"), limit_price=D(60500)))
            closing = await main.submit_order(
                OrderIntent(XBT, Side.SELL, D("0.01"), limit_price=D(60500), cli_ord_id="feed-2")
            )
            assert closing.accepted and closing.fills
            flat = await reader.until(_is(PositionRecord, symbol=XBT, qty=D(0)))
            assert flat.entry_price == 0 and await main.positions() == []
            # A post-only order that would cross: refused by REST, silent on plain open_orders.
            reader.mark()
            await other.submit_order(OrderIntent(XBT, Side.SELL, D("0.01"), limit_price=D(60100)))
            post = await main.submit_order(
                OrderIntent(XBT, Side.BUY, D("0.01"), limit_price=D(60100), post_only=True)
            )
            assert (post.accepted, post.status) == (False, "postWouldExecute")
            mine = [
                r
                for r in reader.records
                if isinstance(r, OrderSnapshot) and r.order_id == post.order_id
            ]
            assert mine == []
    finally:
        await main.cancel_all()
        await other.cancel_all()
        await main.client.aclose()
        await other.client.aclose()
