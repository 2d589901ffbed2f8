"""Order entry of the simulated exchange: order types, refusals, STP, reduce-only, edits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from krakenfutures.core.types import SelfTradeStrategy, Side, TradingState
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.state import ExchangeConfig

HOUR = 3_600_000
T0 = 472_222 * HOUR + 10 * 60_000  # ten minutes past an hour boundary
XBT = "PF_XBTUSD"
D = Decimal


@pytest.fixture
def ex() -> Exchange:
    exchange = Exchange(now_ms=T0, accounts=["alice", "bob", "carol"])
    exchange.set_index_price(XBT, D(60000), T0)
    return exchange


def lmt(
    ex: Exchange,
    account: str,
    side: str,
    qty: str,
    price: str,
    *,
    now: int = T0,
    symbol: str = XBT,
    order_type: str = "lmt",
    **kw: object,
) -> d.OrderResult:
    return ex.send_order(
        account,
        symbol=symbol,
        side=side,
        order_type=order_type,
        qty=D(qty),
        limit_price=D(price),
        now_ms=now,
        **kw,
    )  # type: ignore[arg-type]


def mkt(ex: Exchange, account: str, side: str, qty: str, *, symbol: str = XBT) -> d.OrderResult:
    return ex.send_order(account, symbol=symbol, side=side, order_type="mkt", qty=D(qty), now_ms=T0)


def kinds(result: d.OrderResult) -> list[str]:
    return [type(e).__name__ for e in result.events]


# ---------------------------------------------------------------------------- basic types


def test_resting_limit_is_placed_and_booked(ex: Exchange) -> None:
    r = lmt(ex, "alice", "buy", "0.5", "59990", cli_ord_id="a1")
    assert r.status == "placed" and r.cli_ord_id == "a1" and r.order_id
    assert kinds(r) == ["Placed"]
    placed = r.events[0]
    assert (
        isinstance(placed, d.Placed) and placed.order.qty == D("0.5") and placed.order.filled == 0
    )
    assert ex.book(XBT).bids == ((D(59990), D("0.5")),)
    [view] = ex.open_orders("alice")
    assert view.order_id == r.order_id and view.open_status == "untouched"
    [status] = ex.order_status("alice", cli_ord_ids=["a1"])
    assert status.status == "ENTERED_BOOK"


def test_crossing_limit_fills_partly_then_rests_with_hand_computed_fees(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "0.3", "60000")
    lmt(ex, "alice", "sell", "0.5", "60010")
    r = lmt(ex, "bob", "buy", "1", "60010")
    assert r.status == "placed"
    assert kinds(r) == ["Executed", "Executed", "Placed"]
    e1, e2, placed = r.events
    assert (
        isinstance(e1, d.Executed) and isinstance(e2, d.Executed) and isinstance(placed, d.Placed)
    )
    assert (e1.price, e1.qty, e1.order_prior.filled) == (D(60000), D("0.3"), 0)
    assert (e2.price, e2.qty, e2.order_prior.filled) == (D(60010), D("0.5"), D("0.3"))
    assert placed.order.filled == D("0.8") and placed.order.remaining == D("0.2")
    assert ex.book(XBT).bids == ((D(60010), D("0.2")),) and ex.book(XBT).asks == ()
    # taker 0.05 %: 0.3*60000*0.0005 = 9, 0.5*60010*0.0005 = 15.0025; maker 0.02 %: 3.6, 6.001
    bob = ex.fills("bob")
    assert [(f.fill_type, f.fee, f.fee_currency) for f in bob] == [
        ("taker", D("9"), "USD"),
        ("taker", D("15.0025"), "USD"),
    ]
    alice = ex.fills("alice")
    assert [(f.fill_type, f.fee) for f in alice] == [("maker", D("3.6")), ("maker", D("6.001"))]
    assert ex.account_state("bob").flex.currencies["USD"].quantity == D(100000) - D("24.0025")
    [pos] = ex.positions("bob")
    assert (pos.side, pos.qty, pos.entry_price) == ("long", D("0.8"), D("60006.25"))
    trades = ex.recent_trades(XBT)
    assert [(t.side, t.qty, t.price, t.seq) for t in trades] == [
        (Side.BUY, D("0.5"), D(60010), 2),
        (Side.BUY, D("0.3"), D(60000), 1),
    ]
    assert ex.check_invariants() == []


def test_limit_that_fills_completely_reports_placed_and_leaves_the_book(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "1", "60000")
    r = lmt(ex, "bob", "buy", "1", "60000")
    assert r.status == "placed" and kinds(r) == ["Executed"]
    assert ex.open_orders("bob") == [] and ex.open_orders("alice") == []
    [status] = ex.order_status("bob", [r.order_id], now_ms=T0 + 5_000)
    assert status.status == "FULLY_EXECUTED" and status.order.filled == D(1)
    assert ex.order_status("bob", [r.order_id], now_ms=T0 + 5_001) == []


def test_post_only_refused_when_it_would_execute(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "1", "60000")
    r = lmt(ex, "bob", "buy", "1", "60000", order_type="post")
    assert r.status == "postWouldExecute" and r.order_id is not None
    [rejected] = r.events
    assert isinstance(rejected, d.Rejected) and rejected.reason == d.POST_WOULD_EXECUTE
    assert ex.order_status("bob", [r.order_id])[0].status == "REJECTED"
    ok = lmt(ex, "bob", "buy", "1", "59999", order_type="post")
    assert ok.status == "placed" and ex.book(XBT).bids == ((D(59999), D(1)),)


def test_ioc_without_liquidity_and_partial_ioc(ex: Exchange) -> None:
    r = lmt(ex, "bob", "buy", "1", "60000", order_type="ioc")
    assert r.status == "iocWouldNotExecute"
    assert isinstance(r.events[0], d.Rejected) and r.events[0].reason == d.IOC_WOULD_NOT_EXECUTE
    lmt(ex, "alice", "sell", "0.4", "60000")
    r = lmt(ex, "bob", "buy", "1", "60000", order_type="ioc")
    assert r.status == "placed" and kinds(r) == ["Executed"]
    assert ex.open_orders("bob") == [] and ex.book(XBT).bids == ()
    assert ex.order_status("bob", [r.order_id])[0].status == "CANCELLED"


def test_market_order_is_an_ioc_limited_by_the_one_percent_collar(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "1", "60000")
    lmt(ex, "alice", "sell", "1", "60601")
    r = mkt(ex, "bob", "buy", "2")
    assert r.status == "placed"
    [executed] = r.events
    assert isinstance(executed, d.Executed)
    assert executed.order_prior.type == "ioc" and executed.order_prior.limit_price == D(60600)
    assert executed.qty == D(1) and ex.book(XBT).asks == ((D(60601), D(1)),)
    sell = mkt(ex, "bob", "sell", "1")
    assert sell.status == "iocWouldNotExecute"  # no bids at all


def test_market_sell_collar_rounds_towards_the_book() -> None:
    ex = Exchange(now_ms=T0, accounts=["a", "b"])
    lmt(ex, "a", "buy", "1", "60000.5", symbol="PI_XBTUSD")
    r = mkt(ex, "b", "sell", "1", symbol="PI_XBTUSD")
    # 60000.5 * 0.99 = 59400.495 -> ceil to the 0.5 tick = 59400.5
    assert r.events[0].order_prior.limit_price == D("59400.5")  # type: ignore[union-attr]


def test_fok_is_all_or_nothing(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "0.5", "60000")
    lmt(ex, "alice", "sell", "0.4", "60005")
    r = lmt(ex, "bob", "buy", "1", "60005", order_type="fok")
    assert r.status == "iocWouldNotExecute" and ex.fills("bob") == []
    assert ex.book(XBT).asks == ((D(60000), D("0.5")), (D(60005), D("0.4")))
    r = lmt(ex, "bob", "buy", "0.9", "60005", order_type="fok")
    assert r.status == "placed" and sum(e.qty for e in r.events if isinstance(e, d.Executed)) == D(
        "0.9"
    )
    assert ex.book(XBT).asks == ()


# ------------------------------------------------------------------------------ refusals


def test_invalid_size_and_price(ex: Exchange) -> None:
    assert lmt(ex, "alice", "buy", "0.00001", "60000").status == "invalidSize"
    assert lmt(ex, "alice", "buy", "0", "60000").status == "invalidSize"
    assert lmt(ex, "alice", "buy", "-1", "60000").status == "invalidSize"
    assert lmt(ex, "alice", "buy", "1", "60000.5").status == "invalidPrice"
    assert lmt(ex, "alice", "buy", "1", "0").status == "invalidPrice"
    r = ex.send_order(
        "alice", symbol=XBT, side="sell", order_type="stp", qty=D(1), stop_price=D("1.5"), now_ms=T0
    )
    assert r.status == "invalidPrice" and r.order_id is None and r.events == ()


def test_client_order_id_rules(ex: Exchange) -> None:
    assert (
        lmt(ex, "alice", "buy", "1", "50000", cli_ord_id="x" * 101).status == "clientOrderIdTooBig"
    )
    assert lmt(ex, "alice", "buy", "1", "50000", cli_ord_id="x" * 100).status == "placed"
    assert (
        lmt(ex, "alice", "buy", "1", "50000", cli_ord_id="x" * 100).status
        == "clientOrderIdAlreadyExist"
    )
    assert (
        lmt(ex, "bob", "buy", "1", "50000", cli_ord_id="x" * 100).status == "placed"
    )  # per account
    ex.cancel_order("alice", cli_ord_id="x" * 100, now_ms=T0)
    # recently closed ids stay taken (closed_memory_ms, an hour by default)
    assert (
        lmt(ex, "alice", "buy", "1", "50000", cli_ord_id="x" * 100).status
        == "clientOrderIdAlreadyExist"
    )


def test_too_many_orders() -> None:
    ex = Exchange(ExchangeConfig(max_open_orders=2), now_ms=T0, accounts=["a"])
    assert lmt(ex, "a", "buy", "0.1", "50000").status == "placed"
    assert lmt(ex, "a", "buy", "0.1", "50001").status == "placed"
    assert lmt(ex, "a", "buy", "0.1", "50002").status == "tooManyOrders"


def test_outside_price_collar_only_on_the_aggressive_side(ex: Exchange) -> None:
    assert lmt(ex, "alice", "buy", "0.1", "66001").status == "outsidePriceCollar"  # > mark * 1.1
    assert lmt(ex, "alice", "sell", "0.1", "53999").status == "outsidePriceCollar"  # < mark * 0.9
    assert lmt(ex, "alice", "buy", "0.1", "30000").status == "placed"
    assert lmt(ex, "alice", "sell", "0.1", "90000").status == "placed"


def test_trading_states(ex: Exchange) -> None:
    ex.set_trading_state(XBT, TradingState.SUSPENDED, T0)
    assert lmt(ex, "alice", "buy", "0.1", "50000").status == "marketSuspended"
    ex.set_trading_state(XBT, TradingState.UNKNOWN, T0)
    assert lmt(ex, "alice", "buy", "0.1", "50000").status == "marketInactive"
    ex.set_trading_state(XBT, TradingState.POST_ONLY, T0)
    assert lmt(ex, "alice", "buy", "0.1", "50000").status == "marketIsPostOnly"
    assert lmt(ex, "alice", "buy", "0.1", "50000", order_type="post").status == "placed"
    assert ex.ticker(XBT).post_only and not ex.ticker(XBT).suspended
    ex.set_trading_state(XBT, TradingState.MAINTENANCE, T0)
    assert lmt(ex, "alice", "buy", "0.1", "50000", order_type="post").status == "marketSuspended"
    [notice] = ex.notifications()
    assert (notice.type, notice.priority, notice.effective_ts_ms) == ("maintenance", "high", T0)
    assert ex.ticker(XBT).suspended
    ex.set_trading_state(XBT, "open", T0)
    assert ex.notifications() == [] and lmt(ex, "alice", "buy", "0.1", "50000").status == "placed"


def test_max_position_violation(ex: Exchange) -> None:
    ex.state.accounts["alice"].flex["USD"] = D(10**9)
    assert lmt(ex, "alice", "buy", "1000", "50000").status == "placed"
    assert lmt(ex, "alice", "buy", "200", "50000").status == "placed"  # 1200 = the limit
    assert lmt(ex, "alice", "buy", "0.0001", "50000").status == "maxPositionViolation"
    assert lmt(ex, "alice", "sell", "1", "70000").status == "placed"  # the other way is fine


def test_insufficient_available_funds() -> None:
    ex = Exchange(now_ms=T0)
    ex.open_account("poor", flex={"USD": D(1000)})
    # IM 2 %: 1 XBT at 60000 needs 1200 > 1000; 0.8 needs 960
    assert lmt(ex, "poor", "buy", "1", "60000").status == "insufficientAvailableFunds"
    assert lmt(ex, "poor", "buy", "0.8", "60000").status == "placed"
    assert lmt(ex, "poor", "buy", "0.1", "60000").status == "insufficientAvailableFunds"
    # an order on the other side does not add margin beyond the larger side
    assert lmt(ex, "poor", "sell", "0.8", "61000").status == "placed"
    flex = ex.account_state("poor").flex
    assert flex.initial_margin == 0 and flex.initial_margin_with_orders == D(976)  # 0.8*61000*0.02
    assert flex.available_margin == D(24)


def test_argument_errors_raise(ex: Exchange) -> None:
    with pytest.raises(ValidationError, match="unknown symbol"):
        lmt(ex, "alice", "buy", "1", "1", symbol="PF_NOPE")
    with pytest.raises(ValidationError, match="need limit_price"):
        ex.send_order("alice", symbol=XBT, side="buy", order_type="lmt", qty=D(1), now_ms=T0)
    with pytest.raises(ValidationError, match="unknown order type"):
        ex.send_order("alice", symbol=XBT, side="buy", order_type="iceberg", qty=D(1), now_ms=T0)
    with pytest.raises(ValidationError, match="unknown side"):
        ex.send_order("alice", symbol=XBT, side="long", order_type="mkt", qty=D(1), now_ms=T0)
    with pytest.raises(ValidationError, match="unknown account"):
        lmt(ex, "mallory", "buy", "1", "1")
    assert ex.open_orders("alice") == []


# ------------------------------------------------------------------------ self-trade, reduce


def test_reject_taker_self_fill(ex: Exchange) -> None:
    lmt(ex, "alice", "sell", "1", "60000")
    r = lmt(ex, "alice", "buy", "1", "60000")
    assert r.status == "selfFill" and isinstance(r.events[0], d.Rejected)
    assert r.events[0].reason == d.SELF_FILL
    assert ex.book(XBT).asks == ((D(60000), D(1)),) and ex.book(XBT).bids == ()


def test_reject_taker_after_partial_execution_cancels_the_rest(ex: Exchange) -> None:
    lmt(ex, "bob", "sell", "0.2", "60000")
    lmt(ex, "alice", "sell", "1", "60000")
    r = lmt(ex, "alice", "buy", "1", "60000")
    assert r.status == "placed" and kinds(r) == ["Executed", "Cancelled"]
    assert r.events[1].reason == d.SELF_FILL  # type: ignore[union-attr]
    assert ex.open_orders("alice")[0].side is Side.SELL and ex.book(XBT).bids == ()


def test_cancel_maker_self_removes_own_resting_orders(ex: Exchange) -> None:
    ex.set_self_trade_strategy("alice", SelfTradeStrategy.CANCEL_MAKER_SELF)
    own = lmt(ex, "alice", "sell", "1", "60000")
    lmt(ex, "bob", "sell", "1", "60001")
    r = lmt(ex, "alice", "buy", "1", "60001")
    assert r.status == "placed" and [e.price for e in r.events if isinstance(e, d.Executed)] == [
        D(60001)
    ]
    assert ex.order_status("alice", [own.order_id])[0].status == "CANCELLED"
    assert ex.order_status("alice", [own.order_id])[0].update_reason == d.SELF_FILL


def test_reduce_only_refused_cut_and_maintained(ex: Exchange) -> None:
    assert (
        lmt(ex, "alice", "sell", "1", "60000", reduce_only=True).status == "wouldNotReducePosition"
    )
    lmt(ex, "bob", "sell", "1", "60000")
    lmt(ex, "alice", "buy", "1", "60000")  # alice long 1
    assert (
        lmt(ex, "alice", "buy", "1", "59000", reduce_only=True).status == "wouldNotReducePosition"
    )
    r = lmt(ex, "alice", "sell", "3", "61000", reduce_only=True)
    assert r.status == "placed" and r.events[0].reduced_qty == D(2)  # type: ignore[union-attr]
    assert ex.open_orders("alice")[0].qty == D(1)
    # the position shrinks by another fill: the reduce-only order shrinks with it
    lmt(ex, "carol", "buy", "0.4", "60500")
    lmt(ex, "alice", "sell", "0.4", "60500")
    [ro] = ex.open_orders("alice")
    assert ro.reduce_only and ro.qty == D("0.6")
    assert ex.book(XBT).asks == ((D(61000), D("0.6")),)
    # flat: the reduce-only order is cancelled
    lmt(ex, "carol", "buy", "0.6", "60500")
    lmt(ex, "alice", "sell", "0.6", "60500")
    assert ex.open_orders("alice") == []
    assert ex.order_status("alice", [r.order_id])[0].update_reason == d.WOULD_NOT_REDUCE_POSITION
    assert ex.check_invariants() == []


# --------------------------------------------------------------------------------- triggers


def test_stop_market_fires_on_mark(ex: Exchange) -> None:
    lmt(ex, "carol", "buy", "2", "59000")
    r = ex.send_order(
        "alice",
        symbol=XBT,
        side="sell",
        order_type="stp",
        qty=D(1),
        stop_price=D(59500),
        trigger_signal="mark",
        now_ms=T0,
    )
    assert r.status == "placed" and isinstance(r.events[0], d.TriggerPlaced)
    assert r.events[0].order.trigger_side == "trigger_below"
    assert ex.order_status("alice", [r.order_id])[0].status == "TRIGGER_PLACED"
    ex.set_mark_price(XBT, D(59501), T0 + 1)
    assert ex.fills("alice") == []
    ex.set_mark_price(XBT, D(59500), T0 + 2)
    [fill] = ex.fills("alice")
    assert (fill.side, fill.qty, fill.price, fill.order_id) == (
        Side.SELL,
        D(1),
        D(59000),
        r.order_id,
    )
    assert ex.open_orders("alice") == []
    kinds_ = [e.kind for e in ex.history("alice", "triggers")]
    assert kinds_ == ["OrderTriggerPlaced", "OrderTriggerActivated"]


def test_stop_limit_becomes_resting_limit_and_take_profit_fires_on_last(ex: Exchange) -> None:
    r = ex.send_order(
        "alice",
        symbol=XBT,
        side="buy",
        order_type="stp",
        qty=D(1),
        stop_price=D(60100),
        limit_price=D(60050),
        trigger_signal="index",
        now_ms=T0,
    )
    ex.set_index_price(XBT, D(60100), T0 + 1)
    [order] = ex.open_orders("alice")
    assert (order.order_id, order.type, order.limit_price) == (r.order_id, "lmt", D(60050))
    tp = ex.send_order(
        "bob",
        symbol=XBT,
        side="sell",
        order_type="take_profit",
        qty=D("0.1"),
        stop_price=D(60200),
        trigger_signal="last",
        now_ms=T0 + 2,
    )
    assert tp.events[0].order.trigger_side == "trigger_above"  # type: ignore[union-attr]
    lmt(ex, "carol", "buy", "0.5", "60150", now=T0 + 3)
    lmt(ex, "bob", "sell", "0.1", "60150", now=T0 + 3)  # last = 60150 < 60200: nothing
    assert len(ex.fills("bob")) == 1
    lmt(ex, "carol", "sell", "0.1", "60200", now=T0 + 4)
    lmt(ex, "alice", "buy", "0.1", "60200", now=T0 + 4)  # last = 60200: take profit fires
    assert [f.order_id for f in ex.fills("bob")][-1] == tp.order_id


def test_trigger_activation_failure_closes_the_order(ex: Exchange) -> None:
    r = ex.send_order(
        "alice",
        symbol=XBT,
        side="sell",
        order_type="stp",
        qty=D(1),
        stop_price=D(59000),
        reduce_only=True,
        now_ms=T0,
    )
    ex.set_mark_price(XBT, D(58000), T0 + 1)
    [status] = ex.order_status("alice", [r.order_id])
    assert (
        status.status == "TRIGGER_ACTIVATION_FAILURE"
        and status.error == d.WOULD_NOT_REDUCE_POSITION
    )


# ------------------------------------------------------------------------------------ edits


def test_edit_price_loses_priority_and_size_decrease_keeps_it(ex: Exchange) -> None:
    a = lmt(ex, "alice", "buy", "1", "59000")
    b = lmt(ex, "bob", "buy", "1", "59000")
    r = ex.edit_order("alice", order_id=a.order_id, qty=D("0.5"), now_ms=T0)
    assert r.status == "edited" and isinstance(r.events[0], d.Edited)
    assert (r.events[0].old.qty, r.events[0].new.qty) == (D(1), D("0.5"))
    keys = ex.books[XBT].level_keys(0, 59000)
    assert [ex.by_key[k].order_id for k in keys] == [a.order_id, b.order_id]
    ex.edit_order("alice", order_id=a.order_id, qty=D("0.6"), now_ms=T0)  # bigger: to the back
    assert [ex.by_key[k].order_id for k in ex.books[XBT].level_keys(0, 59000)] == [
        b.order_id,
        a.order_id,
    ]
    ex.edit_order("bob", order_id=b.order_id, limit_price=D(58999), now_ms=T0)
    ex.edit_order("bob", order_id=b.order_id, limit_price=D(59000), now_ms=T0)  # back, behind alice
    assert [ex.by_key[k].order_id for k in ex.books[XBT].level_keys(0, 59000)] == [
        a.order_id,
        b.order_id,
    ]
    assert ex.check_invariants() == []


def test_edit_qty_modes_and_refusals(ex: Exchange) -> None:
    lmt(ex, "bob", "buy", "0.4", "60000")
    a = lmt(ex, "alice", "sell", "1", "60000")  # 0.4 filled, 0.6 open
    r = ex.edit_order("alice", order_id=a.order_id, qty=D(1), qty_mode="RELATIVE", now_ms=T0)
    assert r.events[0].new.qty == D("1.4")  # type: ignore[union-attr]
    r = ex.edit_order("alice", order_id=a.order_id, qty=D(1), qty_mode="ABSOLUTE", now_ms=T0)
    assert r.events[0].new.qty == D(1) and r.events[0].new.remaining == D("0.6")  # type: ignore[union-attr]
    assert (
        ex.edit_order(
            "alice", order_id=a.order_id, qty=D("0.4"), qty_mode="ABSOLUTE", now_ms=T0
        ).status
        == "invalidSize"
    )
    assert (
        ex.edit_order("alice", order_id=a.order_id, limit_price=D("60000.5"), now_ms=T0).status
        == "invalidPrice"
    )
    assert (
        ex.edit_order("alice", order_id=a.order_id, stop_price=D(1), now_ms=T0).status
        == "orderForEditNotAStop"
    )
    assert (
        ex.edit_order("alice", order_id="nope", qty=D(1), now_ms=T0).status
        == "orderForEditNotFound"
    )
    assert (
        ex.edit_order("alice", order_id=a.order_id, limit_price=D(50000), now_ms=T0).status
        == "outsidePriceCollar"
    )


def test_edit_that_crosses_executes_as_taker_after_edit(ex: Exchange) -> None:
    lmt(ex, "bob", "sell", "0.3", "60010")
    a = lmt(ex, "alice", "buy", "1", "60000")
    r = ex.edit_order("alice", order_id=a.order_id, limit_price=D(60010), now_ms=T0)
    assert r.status == "edited" and kinds(r) == ["Edited", "Executed"]
    assert r.events[1].order_prior_edit.limit_price == D(60000)  # type: ignore[union-attr]
    assert ex.fills("alice")[0].fill_type == "takerAfterEdit"
    assert ex.open_orders("alice")[0].remaining == D("0.7")
    post = lmt(ex, "alice", "sell", "1", "60100", order_type="post")
    assert (
        ex.edit_order("alice", order_id=post.order_id, limit_price=D(60010), now_ms=T0).status
        == "postWouldExecute"
    )
    assert {o.order_id: o.limit_price for o in ex.open_orders("alice")}[post.order_id] == D(60100)


def test_edit_trigger_order(ex: Exchange) -> None:
    r = ex.send_order(
        "alice", symbol=XBT, side="sell", order_type="stp", qty=D(1), stop_price=D(59000), now_ms=T0
    )
    e = ex.edit_order("alice", order_id=r.order_id, stop_price=D(58000), qty=D(2), now_ms=T0)
    assert (
        e.status == "edited"
        and e.events[0].new.stop_price == D(58000)
        and e.events[0].new.qty == D(2)
    )  # type: ignore[union-attr]


# ---------------------------------------------------------------------- cancel, batch, DMS


def test_cancel_variants(ex: Exchange) -> None:
    a = lmt(ex, "alice", "buy", "1", "59000", cli_ord_id="c1")
    r = ex.cancel_order("alice", cli_ord_id="c1", now_ms=T0)
    assert (
        r.status == "cancelled"
        and r.order_id == a.order_id
        and isinstance(r.events[0], d.Cancelled)
    )
    assert ex.cancel_order("alice", order_id=a.order_id, now_ms=T0).status == "notFound"
    lmt(ex, "bob", "sell", "1", "60000")
    filled = lmt(ex, "alice", "buy", "1", "60000")
    assert ex.cancel_order("alice", order_id=filled.order_id, now_ms=T0).status == "filled"
    with pytest.raises(ValidationError):
        ex.cancel_order("alice", now_ms=T0)


def test_cancel_all(ex: Exchange) -> None:
    assert ex.cancel_all_orders("alice", now_ms=T0).status == "noOrdersToCancel"
    lmt(ex, "alice", "buy", "1", "59000")
    lmt(ex, "alice", "buy", "1", "2900", symbol="PF_ETHUSD")
    ex.send_order(
        "alice", symbol=XBT, side="sell", order_type="stp", qty=D(1), stop_price=D(59000), now_ms=T0
    )
    r = ex.cancel_all_orders("alice", XBT, now_ms=T0)
    assert r.status == "cancelled" and r.cancel_only == XBT and len(r.cancelled) == 2
    assert [o.symbol for o in ex.open_orders("alice")] == ["PF_ETHUSD"]
    assert ex.cancel_all_orders("alice", now_ms=T0).cancel_only == "all"
    assert ex.open_orders("alice") == [] and ex.check_invariants() == []


def test_batch_runs_in_order_with_tags(ex: Exchange) -> None:
    first = lmt(ex, "alice", "buy", "1", "59000")
    results = ex.batch(
        "alice",
        [
            d.SendInstruction(
                "t1", XBT, Side.BUY, "lmt", D("0.5"), limit_price=D(58000), cli_ord_id="b1"
            ),
            d.SendInstruction("t2", XBT, Side.BUY, "lmt", D("0.00001"), limit_price=D(58000)),
            d.EditInstruction(cli_ord_id="b1", limit_price=D(58500)),
            d.CancelInstruction(order_id=first.order_id),
            d.CancelInstruction(order_id="missing"),
        ],
        now_ms=T0,
    )
    assert [(r.order_tag, r.instruction, r.result.status) for r in results] == [
        ("t1", "send", "placed"),
        ("t2", "send", "invalidSize"),
        (None, "edit", "edited"),
        (None, "cancel", "cancelled"),
        (None, "cancel", "notFound"),
    ]
    assert [(o.cli_ord_id, o.limit_price) for o in ex.open_orders("alice")] == [("b1", D(58500))]


def test_malformed_batch_changes_nothing(ex: Exchange) -> None:
    with pytest.raises(ValidationError):
        ex.batch(
            "alice",
            [
                d.SendInstruction("ok", XBT, Side.BUY, "lmt", D(1), limit_price=D(58000)),
                d.SendInstruction("bad", "PF_NOPE", Side.BUY, "lmt", D(1), limit_price=D(1)),
            ],
            now_ms=T0,
        )
    assert ex.open_orders("alice") == []


def test_dead_mans_switch(ex: Exchange) -> None:
    a = lmt(ex, "alice", "buy", "1", "59000")
    ex.send_order(
        "alice", symbol=XBT, side="sell", order_type="stp", qty=D(1), stop_price=D(50000), now_ms=T0
    )
    lmt(ex, "bob", "buy", "1", "59000")
    armed = ex.cancel_all_orders_after("alice", 60, now_ms=T0)
    assert armed == d.DeadMansSwitch(T0, T0 + 60_000)
    ex.advance(T0 + 59_999)
    assert len(ex.open_orders("alice")) == 2
    ex.advance(T0 + 60_000)
    assert ex.open_orders("alice") == [] and len(ex.open_orders("bob")) == 1
    [status] = ex.order_status("alice", [a.order_id])
    assert (status.status, status.update_reason) == ("CANCELLED", d.DEAD_MAN_SWITCH)
    lmt(ex, "alice", "buy", "1", "59000", now=T0 + 61_000)
    ex.cancel_all_orders_after("alice", 10, now_ms=T0 + 61_000)
    assert ex.cancel_all_orders_after("alice", 0, now_ms=T0 + 62_000).trigger_ms == 0
    ex.advance(T0 + 200_000)
    assert len(ex.open_orders("alice")) == 1
    with pytest.raises(ValidationError):
        ex.cancel_all_orders_after("alice", -1, now_ms=T0)


def test_edit_refusals_leave_the_order_unchanged() -> None:
    ex = Exchange(now_ms=T0, accounts=["rich"])
    ex.open_account("poor", flex={"USD": D(1000)})
    order = lmt(ex, "poor", "buy", "0.5", "59000")
    assert ex.edit_order("poor", order_id=order.order_id, qty=D(1), now_ms=T0).status == (
        "insufficientAvailableFunds"
    )  # 1 XBT at 59000 needs 1180 of initial margin
    own = lmt(ex, "poor", "sell", "0.1", "59500")
    assert ex.edit_order(
        "poor", order_id=order.order_id, limit_price=D(59500), now_ms=T0
    ).status == ("selfFill")
    ex.state.accounts["rich"].flex["USD"] = D(10**9)
    big = lmt(ex, "rich", "buy", "1000", "50000")
    assert ex.edit_order("rich", order_id=big.order_id, qty=D(1201), now_ms=T0).status == (
        "maxPositionViolation"
    )
    unchanged = {o.order_id: (o.qty, o.limit_price) for o in ex.open_orders("poor")}
    assert unchanged == {order.order_id: (D("0.5"), D(59000)), own.order_id: (D("0.1"), D(59500))}
    assert ex.open_orders("rich")[0].qty == D(1000)
    assert ex.check_invariants() == []


@pytest.mark.parametrize(
    "strategy",
    [
        SelfTradeStrategy.CANCEL_MAKER_SELF,
        SelfTradeStrategy.CANCEL_MAKER_CHILD,
        SelfTradeStrategy.CANCEL_MAKER_ANY,
    ],
)
def test_cancel_maker_variants_act_alike_without_subaccounts(
    ex: Exchange, strategy: SelfTradeStrategy
) -> None:
    ex.set_self_trade_strategy("alice", strategy)
    assert ex.self_trade_strategy("alice") is strategy
    lmt(ex, "alice", "sell", "1", "60000")
    r = lmt(ex, "alice", "buy", "1", "60000")
    assert r.status == "placed" and kinds(r) == ["Placed"]  # own ask cancelled, bid rests
    assert ex.book(XBT).asks == () and ex.book(XBT).bids == ((D(60000), D(1)),)
