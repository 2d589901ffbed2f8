"""WebSocket v1 schema: Kraken's example messages decode with exact Decimals and encode back to
the same JSON (tests/fixtures/wire/ws/README.md says where each one comes from)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.types import Side
from krakenfutures.core.ws.classify import classify, classify_request
from krakenfutures.core.ws.schema import (
    AlertReply,
    ChallengeReply,
    ChallengeRequest,
    ErrorReply,
    InfoReply,
    SubscribedFailedReply,
    SubscribedReply,
    SubscribeRequest,
    UnsubscribedFailedReply,
    UnsubscribedReply,
    UnsubscribeRequest,
    encode,
)
from krakenfutures.core.ws.schema_private import (
    AccountLogSnapshot,
    AccountLogUpdate,
    BalancesSnapshot,
    BalancesUpdate,
    FillsSnapshot,
    FillsUpdate,
    Notifications,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenOrdersVerboseSnapshot,
    OpenOrdersVerboseUpdate,
    OpenPositions,
)
from krakenfutures.core.ws.schema_public import (
    BookDelta,
    BookSnapshot,
    Heartbeat,
    Ticker,
    TickerLite,
    Trade,
    TradeSnapshot,
)

WS = Path(__file__).resolve().parents[2] / "fixtures" / "wire" / "ws"
D = Decimal

FEED_FIXTURES: dict[str, type[Any]] = {
    "book_snapshot.json": BookSnapshot,
    "book.json": BookDelta,
    "trade_snapshot.json": TradeSnapshot,
    "trade.json": Trade,
    "ticker.json": Ticker,
    "ticker_option.json": Ticker,
    "ticker_lite.json": TickerLite,
    "heartbeat.json": Heartbeat,
    "open_orders_snapshot.json": OpenOrdersSnapshot,
    "open_orders_verbose_snapshot.json": OpenOrdersVerboseSnapshot,
    "open_orders.json": OpenOrdersUpdate,
    "open_orders_cancel.json": OpenOrdersUpdate,
    "open_orders_full_fill.json": OpenOrdersUpdate,
    "open_orders_verbose.json": OpenOrdersVerboseUpdate,
    "fills_snapshot.json": FillsSnapshot,
    "fills.json": FillsUpdate,
    "open_positions.json": OpenPositions,
    "balances_snapshot.json": BalancesSnapshot,
    "balances_holding.json": BalancesUpdate,
    "balances_flex.json": BalancesUpdate,
    "balances_futures.json": BalancesUpdate,
    "account_log_snapshot.json": AccountLogSnapshot,
    "account_log.json": AccountLogUpdate,
    "notifications_auth.json": Notifications,
}

CONTROL: dict[str, type[Any]] = {
    "info": InfoReply,
    "challenge": ChallengeReply,
    "subscribed_public": SubscribedReply,
    "subscribed_heartbeat": SubscribedReply,
    "subscribed_private": SubscribedReply,
    "subscribed_fills_filter": SubscribedReply,
    "subscribed_failed": SubscribedFailedReply,
    "unsubscribed": UnsubscribedReply,
    "unsubscribed_failed": UnsubscribedFailedReply,
    "error_product": ErrorReply,
    "error_feed": ErrorReply,
    "error_json": ErrorReply,
    "alert_auth": AlertReply,
}

REQUESTS: dict[str, type[Any]] = {
    "challenge": ChallengeRequest,
    "subscribe_public": SubscribeRequest,
    "subscribe_heartbeat": SubscribeRequest,
    "subscribe_private": SubscribeRequest,
    "unsubscribe_public": UnsubscribeRequest,
}


def _exact(raw: bytes | str) -> Any:
    """JSON with every float read as the Decimal of its text, so comparisons are exact."""
    return json.loads(raw, parse_float=Decimal)


def _raw(name: str) -> bytes:
    return (WS / name).read_bytes()


def _labelled(name: str) -> dict[str, bytes]:
    return {k: json.dumps(v).encode() for k, v in json.loads(_raw(name)).items()}


def test_every_fixture_is_covered() -> None:
    on_disk = {p.name for p in WS.glob("*.json")} - {"control.json", "requests.json"}
    assert on_disk == set(FEED_FIXTURES)


@pytest.mark.parametrize(("name", "cls"), FEED_FIXTURES.items())
def test_feed_fixture_round_trips(name: str, cls: type[Any]) -> None:
    raw = _raw(name)
    msg = classify(raw)
    assert type(msg) is cls
    assert _exact(encode(msg)) == _exact(raw)  # same keys, same values, nothing dropped


@pytest.mark.parametrize(("label", "cls"), CONTROL.items())
def test_control_fixture_round_trips(label: str, cls: type[Any]) -> None:
    raw = _labelled("control.json")[label]
    msg = classify(raw)
    assert type(msg) is cls
    assert _exact(encode(msg)) == _exact(raw)


@pytest.mark.parametrize(("label", "cls"), REQUESTS.items())
def test_request_fixture_round_trips(label: str, cls: type[Any]) -> None:
    raw = _labelled("requests.json")[label]
    msg = classify_request(raw)
    assert type(msg) is cls
    assert _exact(encode(msg)) == _exact(raw)


def test_book_messages_decode_to_exact_decimals() -> None:
    snap = classify(_raw("book_snapshot.json"))
    assert isinstance(snap, BookSnapshot)
    assert (snap.symbol, snap.seq, snap.ts_ms, snap.tick_size) == (
        "PI_XBTUSD",
        326072249,
        1612269825817,
        None,
    )
    assert [(lvl.price, lvl.qty) for lvl in snap.bids] == [
        (D("34892.5"), D(6385)),
        (D(34892), D(10924)),
    ]
    assert [(lvl.price, lvl.qty) for lvl in snap.asks] == [
        (D("34911.5"), D(20598)),
        (D(34912), D(2300)),
    ]
    delta = classify(_raw("book.json"))
    assert delta == BookDelta(
        symbol="PI_XBTUSD",
        side=Side.SELL,
        seq=326094134,
        price=D(34981),
        qty=D(0),
        ts_ms=1612269953629,
    )


def test_ticker_carries_every_funding_field_exactly() -> None:
    t = classify(_raw("ticker.json"))
    assert isinstance(t, Ticker)
    assert t.funding_rate == D("-6.2604214e-11")
    assert t.funding_rate_prediction == D("-3.65989977e-10")
    assert t.relative_funding_rate == D("-1.380384722222e-6")
    assert t.relative_funding_rate_prediction == D("-8.047629166667e-6")
    assert t.next_funding_ts_ms == 1676394000000
    assert (t.bid, t.ask, t.bid_qty, t.ask_qty) == (D("21978.5"), D("21987.0"), D(2536), D(13948))
    assert t.mark_price == D("21979.68641534714")
    assert t.change == D("1.9974017538161748")
    assert (t.leverage, t.tag, t.pair, t.suspended, t.post_only) == (
        "50x",
        "perpetual",
        "XBT:USD",
        False,
        False,
    )
    assert (t.open_interest, t.volume_quote, t.maturity_ts_ms, t.dtm) == (
        D(30072580),
        D(31403908),
        0,
        0,
    )
    option = classify(_raw("ticker_option.json"))
    assert isinstance(option, Ticker)
    assert option.funding_rate is None and option.greeks is not None
    assert option.greeks.delta == D("0.5")


def test_ticker_omits_zero_funding_fields_on_encode() -> None:
    ticker = Ticker(symbol="FI_XBTUSD_260626", ts_ms=1, bid=D(1), ask=D(2), suspended=False)
    assert _exact(encode(ticker)) == {
        "feed": "ticker",
        "product_id": "FI_XBTUSD_260626",
        "time": 1,
        "bid": 1,
        "ask": 2,
        "suspended": False,
    }


def test_private_messages_decode_with_domain_names() -> None:
    orders = classify(_raw("open_orders_snapshot.json"))
    assert isinstance(orders, OpenOrdersSnapshot)
    stop, trailing, limit = orders.orders
    assert (stop.symbol, stop.type, stop.side, stop.trigger_signal) == (
        "PI_XBTUSD",
        "stop",
        Side.SELL,
        "last",
    )
    assert (stop.limit_price, stop.stop_price) == (D(34900), D(13789))
    assert trailing.limit_price is None and trailing.trailing_stop_options is not None
    assert trailing.trailing_stop_options.max_deviation == D(20)
    assert limit.cli_ord_id is None and limit.trigger_signal is None

    cancel = classify(_raw("open_orders_cancel.json"))
    assert isinstance(cancel, OpenOrdersUpdate)
    assert (cancel.order, cancel.is_cancel, cancel.cli_ord_id) == (None, True, "O-20250306-001")
    assert cancel.target_order_id == "770d7b34-9118-59d2-b8da-5a04e3683fa9"
    full = classify(_raw("open_orders_full_fill.json"))
    assert isinstance(full, OpenOrdersUpdate) and full.order is not None
    assert (full.reason, full.order.qty, full.order.filled, full.order.side) == (
        "full_fill",
        D(0),
        D("0.0001"),
        Side.BUY,
    )

    fills = classify(_raw("fills_snapshot.json"))
    assert isinstance(fills, FillsSnapshot)
    maker = fills.fills[0]
    assert (maker.fee_paid, maker.fee_currency, maker.side, maker.symbol) == (
        D("-0.00009142857"),
        "BTC",
        Side.BUY,
        "FI_XBTUSD_200925",
    )
    update = classify(_raw("fills.json"))
    assert isinstance(update, FillsUpdate)
    assert (update.username, update.fills[0].qty, update.fills[0].cli_ord_id) == (
        "6a70e882-4405-4dc5-9c49-010ddf2a6746",
        D("0.001"),
        "b661bad0-7037-4b73-9e07-a65b515e4ef7",
    )

    positions = classify(_raw("open_positions.json"))
    assert isinstance(positions, OpenPositions)
    assert [(p.symbol, p.qty) for p in positions.positions] == [
        ("PI_XRPUSD", D(500)),
        ("PF_XBTUSD", D("0.04")),
        ("OF_ETHUSD_240101_1000_C", D("0.04")),
    ]
    assert (
        positions.positions[1].pnl_currency == "USD" and positions.positions[0].pnl_currency is None
    )
    assert (positions.seq, positions.ts_ms) == (4, 1687383625330)


def test_balances_and_logs_decode_exactly() -> None:
    snap = classify(_raw("balances_snapshot.json"))
    assert isinstance(snap, BalancesSnapshot) and not isinstance(snap, BalancesUpdate)
    assert snap.holding is not None and snap.holding["XBT"] == D("0.1285407184")
    assert snap.futures is not None and snap.futures["F-XBT:USD"].unit == "XBT"
    flex = snap.flex_futures
    assert flex is not None and flex.cross is not None and flex.isolated is not None
    assert flex.cross.available_margin == D("9963.66")
    assert "PF_ETHUSD" in flex.isolated
    partial = classify(_raw("balances_holding.json"))
    assert isinstance(partial, BalancesUpdate)
    assert (partial.holding, partial.futures, partial.flex_futures, partial.seq) == (
        {"USD": D(5000)},
        {},
        None,
        83,
    )

    log = classify(_raw("account_log.json"))
    assert isinstance(log, AccountLogUpdate)
    (entry,) = log.entries
    assert (entry.id, entry.info, entry.new_average_entry_price) == (
        1697,
        "futures trade",
        D("374.3445326979084"),
    )
    assert entry.funding_rate == D("1.64955714332e-07")

    notes = classify(_raw("notifications_auth.json"))
    assert isinstance(notes, Notifications)
    assert [
        (n.type, n.priority, n.effective_ts_ms, n.expected_downtime_minutes)
        for n in notes.notifications
    ] == [
        ("market", "low", 1520288300000, None),
        ("maintenance", "high", 1520288400000, 30),
    ]


def test_numbers_may_arrive_as_strings_and_unknown_fields_are_ignored() -> None:
    raw = b'{"feed":"ticker","product_id":"PF_XBTUSD","time":"17","bid":"64210.5","dtm":0,"new_field":[1]}'
    t = classify(raw)
    assert isinstance(t, Ticker)
    assert (t.ts_ms, t.bid) == (17, D("64210.5"))
    fill = b'{"feed":"fills","fills":[{"instrument":"PF_XBTUSD","time":1,"price":"1.5","buy":"true","qty":"2","order_id":"o","fill_id":"f","fill_type":"maker","extra":1}]}'
    update = classify(fill)
    assert isinstance(update, FillsUpdate)
    assert (update.fills[0].price, update.fills[0].buy, update.fills[0].qty) == (
        D("1.5"),
        True,
        D(2),
    )


def test_encoder_writes_decimals_as_numbers() -> None:
    delta = BookDelta(
        symbol="PF_XBTUSD", side=Side.BUY, seq=7, price=D("60000.5"), qty=D("0.0100"), ts_ms=5
    )
    assert encode(delta) == (
        b'{"feed":"book","product_id":"PF_XBTUSD","side":"buy","seq":7,"price":60000.5,"qty":0.0100,"timestamp":5}'
    )


decimals = st.decimals(
    allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9
)


@given(price=decimals, qty=decimals, seq=st.integers(0, 2**62), side=st.sampled_from(Side))
def test_book_delta_encode_decode_is_exact(
    price: Decimal, qty: Decimal, seq: int, side: Side
) -> None:
    delta = BookDelta(symbol="PF_ETHUSD", side=side, seq=seq, price=price, qty=qty, ts_ms=seq)
    again = classify(encode(delta))
    assert again == delta
    assert isinstance(again, BookDelta) and str(again.price) == str(price)  # digits kept too


@given(rate=decimals)
def test_ticker_funding_encode_decode_is_exact(rate: Decimal) -> None:
    ticker = Ticker(
        symbol="PF_XBTUSD",
        funding_rate=rate,
        relative_funding_rate=rate,
        next_funding_ts_ms=3_600_000,
    )
    assert classify(encode(ticker)) == ticker
    assert msgspec.json.decode(encode(ticker))["next_funding_rate_time"] == 3_600_000
