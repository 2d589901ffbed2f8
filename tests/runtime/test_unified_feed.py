"""uws -> domain translation: golden frames in the Spot-v2 shapes the reference says uws
shares, the executions merge over known orders, and parity with the legacy translator (the
same fill or order in both dialects gives the same record)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.client.events import Reconnected
from krakenfutures.core.events import (
    BookUpdated,
    FeedReconnected,
    FundingPaid,
    TickerUpdate,
    TradeTick,
)
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import OrderType, Side
from krakenfutures.core.uws.assumptions import SymbolFormat, UwsAssumptions
from krakenfutures.core.uws.book import UwsBook
from krakenfutures.core.uws.classify import classify
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord
from krakenfutures.runtime import legacy_feed
from krakenfutures.runtime.unified_feed import (
    PRIVATE_CHANNELS,
    PUBLIC_CHANNELS,
    UnifiedFeedTranslator,
    subscribe_private,
    subscribe_public,
    translate,
)

XBT = "PF_XBTUSD"
OID = "59302619-41d2-4f0b-941f-7e7914760ad3"
T0 = "2024-01-01T00:00:00.000000Z"
T0_MS = 1704067200000


def msg(channel: str, kind: str, data: Any, **extra: Any) -> dict[str, Any]:
    return {"channel": channel, "type": kind, "data": data, **extra}


# -------------------------------------------------------------------------- public


def test_trades_snapshot_oldest_first_and_updates_in_order() -> None:
    rows = [
        {
            "symbol": XBT,
            "side": "buy",
            "price": 100.5,
            "qty": 0.25,
            "ord_type": "limit",
            "trade_id": 12,
            "timestamp": "2024-01-01T00:00:01Z",
        },
        {
            "symbol": XBT,
            "side": "sell",
            "price": 100.0,
            "qty": 1,
            "ord_type": "market",
            "trade_id": 11,
            "timestamp": T0,
        },
    ]
    snap = translate(msg("trade", "snapshot", rows))
    assert [t.trade_id for t in snap] == ["11", "12"]  # type: ignore[attr-defined]
    assert snap[1] == TradeTick(XBT, Side.BUY, D("0.25"), D("100.5"), T0_MS + 1000, "12")
    update = translate(json.dumps(msg("trade", "update", rows)))
    assert [t.trade_id for t in update] == ["12", "11"]  # type: ignore[attr-defined]


def test_ticker_maps_level_one_and_the_derivatives_fields_when_present() -> None:
    row = {
        "symbol": XBT,
        "bid": 100.5,
        "bid_qty": 3,
        "ask": 101,
        "ask_qty": 1,
        "last": 100.5,
        "timestamp": T0,
    }
    [plain] = translate(msg("ticker", "update", [row]))
    assert plain == TickerUpdate(XBT, T0_MS, last=D("100.5"), bid=D("100.5"), ask=D(101))
    full = {
        **row,
        "mark_price": 100.7,
        "index_price": 100.6,
        "funding_rate": 0.01,
        "relative_funding_rate": 0.0001,
        "open_interest": 5,
        "next_funding_rate_time": "2024-01-01T01:00:00Z",
    }
    [rich] = translate(msg("ticker", "update", [full]))
    assert isinstance(rich, TickerUpdate)
    assert (rich.mark_price, rich.index_price, rich.funding_rate, rich.open_interest) == (
        D("100.7"),
        D("100.6"),
        D("0.01"),
        D(5),
    )
    assert rich.next_funding_ms == T0_MS + 3_600_000


def test_books_reported_when_synced() -> None:
    book = UwsBook(XBT)
    frame = msg(
        "book",
        "snapshot",
        [
            {
                "symbol": XBT,
                "bids": [{"price": 100, "qty": 1}],
                "asks": [{"price": 101, "qty": 2}],
                "timestamp": T0,
            }
        ],
    )
    assert translate(frame) == ()
    assert translate(frame, book_for=lambda s: book.book) == ()  # not synced
    decoded = classify(json.dumps(frame))
    book.apply(decoded.data[0], snapshot=True)  # type: ignore[union-attr]
    assert translate(decoded, book_for=lambda s: book.book) == (BookUpdated(XBT, book.book, T0_MS),)


def test_reconnects_and_messages_without_a_meaning() -> None:
    assert translate(Reconnected(attempt=3, downtime_ms=250)) == (FeedReconnected(250, 3),)
    for message in (
        {"channel": "heartbeat"},
        {"channel": "status", "type": "update", "data": [{"system": "online"}]},
        {"method": "pong", "req_id": 1},
        {"channel": "ohlc", "data": []},
        b"not json",
        object(),
    ):
        assert translate(message) == ()


# ------------------------------------------------------------------------- private


def trade_exec(**changes: Any) -> dict[str, Any]:
    row = {
        "exec_type": "trade",
        "order_id": OID,
        "cl_ord_id": "bot-7",
        "symbol": XBT,
        "side": "buy",
        "order_type": "limit",
        "order_qty": 2,
        "limit_price": 60000,
        "order_status": "partially_filled",
        "cum_qty": 0.5,
        "exec_id": "c14ee7cb",
        "trade_id": 991,
        "last_qty": 0.5,
        "last_price": 60000,
        "liquidity_ind": "m",
        "fees": [{"asset": "USD", "qty": -0.006}],
        "timestamp": T0,
    }
    row.update(changes)
    return row


def test_a_trade_gives_the_fill_and_the_order() -> None:
    fill, order = translate(msg("executions", "update", [trade_exec()], sequence=4))
    assert fill == FillRecord(
        fill_id="c14ee7cb",
        order_id=OID,
        cli_ord_id="bot-7",
        symbol=XBT,
        side=Side.BUY,
        qty=D("0.5"),
        price=D(60000),
        fee=D("-0.006"),
        fee_currency="USD",
        ts_ms=T0_MS,
        maker=True,
    )
    assert order == OrderSnapshot(
        order_id=OID,
        cli_ord_id="bot-7",
        symbol=XBT,
        side=Side.BUY,
        qty=D(2),
        filled_qty=D("0.5"),
        state=OrderState.PARTIALLY_FILLED,
        limit_price=D(60000),
        ts_ms=T0_MS,
    )


def test_fill_parity_with_the_legacy_fills_feed() -> None:
    legacy = {
        "feed": "fills",
        "username": "u",
        "fills": [
            {
                "instrument": XBT,
                "time": T0_MS,
                "price": 60000,
                "seq": 1,
                "buy": True,
                "qty": 0.5,
                "remaining_order_qty": 1.5,
                "order_id": OID,
                "cli_ord_id": "bot-7",
                "fill_id": "c14ee7cb",
                "fill_type": "maker",
                "fee_paid": -0.006,
                "fee_currency": "USD",
                "order_type": "limit",
            }
        ],
    }
    [old] = legacy_feed.translate(legacy)
    [new, _] = translate(msg("executions", "update", [trade_exec()]))
    assert new == old
    # no fee on the wire: both estimate it the same way
    del legacy["fills"][0]["fee_paid"], legacy["fills"][0]["fee_currency"]
    [old] = legacy_feed.translate(legacy)
    [new, _] = translate(msg("executions", "update", [trade_exec(fees=None)]))
    assert new == old


def test_fee_usd_equiv_serves_usd_settled_contracts_only() -> None:
    [fill, _] = translate(msg("executions", "update", [trade_exec(fees=None, fee_usd_equiv=0.3)]))
    assert (fill.fee, fill.fee_currency) == (D("0.3"), "USD")  # type: ignore[attr-defined]
    inverse = trade_exec(fees=None, fee_usd_equiv=0.3, symbol="PI_XBTUSD", last_qty=100)
    [fill, _] = translate(msg("executions", "update", [inverse]))
    assert fill.fee_currency == "XBT"  # type: ignore[attr-defined]  # estimated, not the USD figure


def test_updates_merge_over_known_orders() -> None:
    translator = UnifiedFeedTranslator()
    new = {
        "exec_type": "new",
        "order_id": OID,
        "cl_ord_id": "bot-7",
        "symbol": XBT,
        "side": "sell",
        "order_type": "limit",
        "post_only": True,
        "order_qty": 3,
        "limit_price": 61000.5,
        "order_status": "new",
        "timestamp": T0,
    }
    [opened] = translator(msg("executions", "snapshot", [new], sequence=1))
    assert opened.state is OrderState.OPEN and opened.order_type is OrderType.POST  # type: ignore[attr-defined]
    amended = {
        "exec_type": "amended",
        "order_id": OID,
        "order_qty": 4,
        "limit_price": 61001,
        "timestamp": T0,
    }
    [changed] = translator(msg("executions", "update", [amended]))
    assert (changed.qty, changed.limit_price, changed.side, changed.state) == (
        D(4),
        D(61001),
        Side.SELL,
        OrderState.OPEN,
    )  # type: ignore[attr-defined]
    cancel = {
        "exec_type": "canceled",
        "order_id": OID,
        "order_status": "canceled",
        "cum_qty": 0,
        "reason": "User requested",
        "timestamp": T0,
    }
    [gone] = translator(msg("executions", "update", [cancel]))
    assert gone == OrderSnapshot(
        order_id=OID,
        cli_ord_id="bot-7",
        symbol=XBT,
        side=Side.SELL,
        qty=D(4),
        filled_qty=D(0),
        state=OrderState.CANCELLED,
        order_type=OrderType.POST,
        limit_price=D(61001),
        ts_ms=T0_MS,
        reason="User requested",
    )
    assert translator.orders == {}


def test_order_states_and_types() -> None:
    def one(**row: Any) -> OrderSnapshot:
        [snap] = translate(msg("executions", "update", [{"order_id": OID, **row}]))
        assert isinstance(snap, OrderSnapshot)
        return snap

    assert one(exec_type="expired", order_status="expired").state is OrderState.CANCELLED
    assert one(exec_type="rejected").state is OrderState.REJECTED
    assert (
        one(exec_type="filled", order_status="filled", cum_qty=1, order_qty=1).state
        is OrderState.FILLED
    )
    # Spot reports a completing trade as partially_filled: the quantities decide
    assert (
        one(exec_type="new", order_status="partially_filled", order_qty=1, cum_qty=1).state
        is OrderState.FILLED
    )
    assert one(exec_type="new", order_qty=2, cum_qty=1).state is OrderState.PARTIALLY_FILLED
    assert one(exec_type="restated").state is OrderState.OPEN  # never seen: assumed resting
    assert one(exec_type="new", order_type="limit", time_in_force="IOC").order_type is OrderType.IOC
    assert one(exec_type="new", order_type="take-profit-limit").order_type is OrderType.TAKE_PROFIT
    stop = one(
        exec_type="new", order_type="stop-loss", triggers={"price": 59000, "reference": "last"}
    )
    assert (stop.order_type, stop.stop_price) == (OrderType.STP, D(59000))
    unknown = one(exec_type="canceled", order_status="canceled")
    assert (unknown.symbol, unknown.qty, unknown.state) == ("", D(0), OrderState.CANCELLED)


def test_a_trade_without_cum_qty_adds_to_what_was_filled() -> None:
    translator = UnifiedFeedTranslator()
    translator(
        msg("executions", "snapshot", [trade_exec(exec_type="new", order_status="new", cum_qty=0)])
    )
    row = trade_exec(exec_id="f-2", cum_qty=None, order_status=None, last_qty=0.5, order_qty=None)
    fill, order = translator(msg("executions", "update", [row, {**row, "exec_id": "f-3"}]))[:2]
    assert isinstance(fill, FillRecord) and isinstance(order, OrderSnapshot)
    assert order.filled_qty == D("0.5")
    assert translator.orders[OID].filled_qty == D("1.0")


def test_a_snapshot_reads_its_trades_as_fills_only() -> None:
    # The trade of a resting, partly filled order comes first in the list: it must not add its
    # qty to the order's cum_qty again; the trade of an order since cancelled must not put that
    # order back on the book.
    translator = UnifiedFeedTranslator()
    resting = trade_exec(exec_type="new", order_status="partially_filled", cum_qty=0.5)
    gone = trade_exec(order_id="gone-1", cl_ord_id="bot-8", exec_id="f-gone", order_status="filled")
    records = translator(msg("executions", "snapshot", [trade_exec(), gone, resting], sequence=1))
    orders = [r for r in records if isinstance(r, OrderSnapshot)]
    fills = [r for r in records if isinstance(r, FillRecord)]
    assert [(o.order_id, o.filled_qty, o.state) for o in orders] == [
        (OID, D("0.5"), OrderState.PARTIALLY_FILLED)
    ]
    assert sorted(f.fill_id for f in fills) == ["c14ee7cb", "f-gone"]
    assert records.index(orders[0]) < min(records.index(f) for f in fills)  # orders first
    assert set(translator.orders) == {OID}


def test_a_fill_missing_its_essentials_is_not_invented() -> None:
    [order] = translate(msg("executions", "update", [trade_exec(last_price=None)]))
    assert isinstance(order, OrderSnapshot)
    [order] = translate(
        msg(
            "executions",
            "update",
            [
                {
                    "exec_type": "trade",
                    "order_id": OID,
                    "exec_id": "x",
                    "last_qty": 1,
                    "last_price": 1,
                }
            ],
        )
    )
    assert isinstance(order, OrderSnapshot)  # no symbol or side known: no fill


def test_positions_signed_and_vanishing_ones_flat() -> None:
    translator = UnifiedFeedTranslator()
    snapshot = msg(
        "positions",
        "snapshot",
        {
            "futures": [
                {"symbol": XBT, "size": -0.25, "entry_price": 60000.5},
                {"symbol": "PF_ETHUSD", "size": 2, "entry_price": 3000, "side": "long"},
            ],
            "options": [],
            "timestamp": T0,
        },
    )
    assert translator(snapshot) == (
        PositionRecord(XBT, D("-0.25"), D("60000.5"), T0_MS),
        PositionRecord("PF_ETHUSD", D(2), D(3000), T0_MS),
    )
    closed = msg(
        "positions", "update", [{"futures": [{"symbol": XBT, "size": 0}], "timestamp": T0}]
    )
    assert translator(closed) == (PositionRecord(XBT, D(0), D(0), T0_MS),)
    assert translator.positions == {"PF_ETHUSD"}
    again = msg("positions", "snapshot", {"futures": [], "options": []})
    assert translator(again) == (PositionRecord("PF_ETHUSD", D(0), D(0), 0),)
    short = msg(
        "positions",
        "update",
        {"futures": [{"symbol": XBT, "size": 1, "side": "short", "entry_price": 5}]},
    )
    assert translate(short) == (PositionRecord(XBT, D(-1), D(5), 0),)


def test_balances_rows_with_a_balance() -> None:
    snapshot = msg(
        "balances",
        "snapshot",
        [
            {"asset": "usd", "asset_class": "currency", "balance": 1000.25, "wallets": []},
            {"asset": "BTC", "balance": 0.5},
        ],
        sequence=1,
    )
    assert translate(snapshot) == (
        BalanceRecord("USD", D("1000.25"), D("1000.25")),
        BalanceRecord("BTC", D("0.5"), D("0.5")),
    )
    update = msg(
        "balances",
        "update",
        [
            {
                "asset": "USD",
                "amount": -1.5,
                "fee": 0,
                "balance": 998.75,
                "type": "trade",
                "ledger_id": "L1",
            },
            {"asset": "USD", "amount": 1},
        ],
        sequence=2,
    )
    assert translate(update) == (BalanceRecord("USD", D("998.75"), D("998.75")),)


def test_ledgers_funding_entries_are_payments_with_the_account_log_ids() -> None:
    funding = {
        "ledger_id": "41",
        "ref_id": "b7c1e0a2-booking",
        "timestamp": T0,
        "type": "funding",
        "category": "funding rate change",
        "asset": "USD",
        "symbol": XBT,
        "amount": -0.12,
        "funding": -0.12,
        "balance": 999.88,
    }
    no_ref = {**funding, "ref_id": None, "ledger_id": "42", "funding": None, "amount": 0.05}
    trade = {**funding, "type": "trade", "ledger_id": "43"}
    position_row = {k: v for k, v in funding.items() if k != "asset"}  # a size change
    records = translate(
        msg("ledgers", "update", [funding, no_ref, trade, position_row], sequence=3)
    )
    assert records == (
        FundingPaid(XBT, D("0.12"), T0_MS, payment_id="b7c1e0a2-booking"),  # paid: > 0
        FundingPaid(XBT, D("-0.05"), T0_MS, payment_id="account-log-42"),  # received
    )


def test_pair_spelling_maps_back_to_contract_symbols() -> None:
    pair = UwsAssumptions(symbol_format=SymbolFormat.PAIR)
    row = {"symbol": "BTC/USD", "side": "buy", "price": 1, "qty": 1, "trade_id": 1, "timestamp": T0}
    [tick] = translate(msg("trade", "update", [row]), assumptions=pair)
    assert tick.symbol == XBT  # type: ignore[attr-defined]


@settings(deadline=None)
@given(
    st.sampled_from(["new", "trade", "filled", "canceled", "expired", "amended", "restated"]),
    st.sampled_from([None, "new", "partially_filled", "filled", "canceled", "expired"]),
    st.decimals(min_value=0, max_value=5, places=2),
    st.decimals(min_value=0, max_value=5, places=2),
)
def test_every_execution_gives_a_valid_snapshot(
    exec_type: str, status: str | None, qty: D, cum: D
) -> None:
    row = {
        "exec_type": exec_type,
        "order_id": OID,
        "order_status": status,
        "order_qty": qty,
        "cum_qty": cum,
    }
    records = translate(msg("executions", "update", [row]))
    snap = records[-1]
    assert isinstance(snap, OrderSnapshot)
    if (
        snap.state is OrderState.FILLED
        and status in (None, "new", "partially_filled")
        and exec_type not in ("filled",)
    ):
        assert qty > 0 and cum >= qty


def test_subscribe_helpers() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []

        def subscribe(self, channel: str, symbols: Any = None, **options: Any) -> None:
            self.calls.append((channel, symbols, options))

    rec = Recorder()
    assert subscribe_private(rec) == PRIVATE_CHANNELS  # type: ignore[arg-type]
    assert rec.calls[0] == ("executions", None, {"snap_trades": True})
    assert subscribe_public(rec, [XBT]) == PUBLIC_CHANNELS  # type: ignore[arg-type]
    assert subscribe_public(rec, []) == ()  # type: ignore[arg-type]
