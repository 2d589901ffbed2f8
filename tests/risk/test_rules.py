"""Pre-trade rules at their boundaries, the trading-state gate table, the reject breaker."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.errors import ValidationError
from krakenfutures.risk import (
    APPROVED,
    BreakerState,
    Denied,
    RejectBreaker,
    RiskLimits,
    RiskState,
    Rule,
    check,
    check_amend,
    check_daily_loss,
    check_open_orders,
    check_order_notional,
    check_order_qty,
    check_position,
    check_price_band,
    check_trading_state,
    utc_day_start_ms,
)

LIN, INV = "PF_XBTUSD", "PI_XBTUSD"
OPEN = RiskState(TradingState.OPEN, mark_price=D(100))
NO_LIMITS = RiskLimits(price_band=None)


def lmt(qty: str = "1", price: str = "100", side: Side = Side.BUY, **kw) -> OrderIntent:
    return OrderIntent(kw.pop("symbol", LIN), side, D(qty), limit_price=D(price), **kw)


def mkt(qty: str = "1", side: Side = Side.BUY, **kw) -> OrderIntent:
    return OrderIntent(LIN, side, D(qty), OrderType.MKT, **kw)


def denied_by(verdict, rule: Rule) -> bool:
    return isinstance(verdict, Denied) and verdict.rule is rule and bool(verdict.reason)


# --------------------------------------------------------------------------- trading state


POST = lmt(post_only=True)
STOP = OrderIntent(LIN, Side.SELL, D(1), OrderType.STP, stop_price=D(90), reduce_only=True)
CANCEL = CancelIntent("c-1")
GATE_CASES = {
    #                        cancel post   lmt    mkt    reduce-only stop
    TradingState.OPEN: (True, True, True, True, True),
    TradingState.POST_ONLY: (True, True, False, False, False),
    TradingState.SUSPENDED: (True, False, False, False, False),
    TradingState.MAINTENANCE: (True, False, False, False, False),
    TradingState.UNKNOWN: (True, False, False, False, False),
}


@pytest.mark.parametrize("trading_state", list(TradingState))
@pytest.mark.parametrize(("column", "intent"), list(enumerate([CANCEL, POST, lmt(), mkt(), STOP])))
def test_state_gate_table(trading_state, column, intent):
    allowed = GATE_CASES[trading_state][column]
    for verdict in (
        check_trading_state(intent, trading_state),
        check(intent, RiskState(trading_state, mark_price=D(100)), NO_LIMITS),
    ):
        assert (verdict == APPROVED) is allowed
        if not allowed:
            assert denied_by(verdict, Rule.TRADING_STATE)
            assert trading_state.value in verdict.reason


def test_post_only_denial_says_what_is_accepted():
    verdict = check_trading_state(lmt(), TradingState.POST_ONLY)
    assert isinstance(verdict, Denied) and "only post-only orders" in verdict.reason


def test_halt_stops_new_orders_not_cancels():
    halted = replace(OPEN, halt_reason="authenticationError")
    assert denied_by(check(lmt(), halted, NO_LIMITS), Rule.HALTED)
    assert "authenticationError" in check(lmt(), halted, NO_LIMITS).reason
    assert check(CANCEL, halted, NO_LIMITS) == APPROVED


# ------------------------------------------------------------------------------ each rule


def test_max_order_qty_boundary():
    limits = RiskLimits(max_order_qty=D(10))
    assert check_order_qty(lmt("10"), limits) == APPROVED
    assert denied_by(check_order_qty(lmt("10.0001"), limits), Rule.MAX_ORDER_QTY)
    assert denied_by(check(lmt("10.0001"), OPEN, limits), Rule.MAX_ORDER_QTY)


def test_max_notional_boundary_linear_inverse_and_market():
    limits = RiskLimits(max_order_notional_usd=D(100000))
    assert check_order_notional(lmt("2", "50000"), OPEN, limits) == APPROVED
    assert denied_by(
        check_order_notional(lmt("2.00001", "50000"), OPEN, limits), Rule.MAX_ORDER_NOTIONAL
    )
    # Inverse: 1 contract = 1 USD whatever the price.
    assert check_order_notional(lmt("100000", "3", symbol=INV), OPEN, limits) == APPROVED
    assert denied_by(
        check_order_notional(lmt("100001", "3", symbol=INV), OPEN, limits), Rule.MAX_ORDER_NOTIONAL
    )
    # A market order is valued at the mark; without one it cannot be checked, so it is refused.
    assert check_order_notional(mkt("1000"), OPEN, limits) == APPROVED
    assert denied_by(check_order_notional(mkt("1000.01"), OPEN, limits), Rule.MAX_ORDER_NOTIONAL)
    no_mark = replace(OPEN, mark_price=None)
    assert denied_by(check_order_notional(mkt("1"), no_mark, limits), Rule.MAX_ORDER_NOTIONAL)


@pytest.mark.parametrize(
    ("price", "ok"), [("105", True), ("105.01", False), ("95", True), ("94.99", False)]
)
def test_price_band_boundary(price, ok):
    limits = RiskLimits(price_band=D("0.05"))
    for side in Side:
        verdict = check_price_band(lmt(price=price, side=side), OPEN, limits)
        assert verdict == APPROVED if ok else denied_by(verdict, Rule.PRICE_BAND)


def test_price_band_for_stops_and_without_mark():
    assert check_price_band(STOP, OPEN, RiskLimits()) == APPROVED  # trigger_band off by default
    tight = RiskLimits(trigger_band=D("0.1"))
    assert check_price_band(STOP, OPEN, tight) == APPROVED  # 90 is exactly 10 % below
    far = replace(STOP, stop_price=D("89.99"))
    assert denied_by(check_price_band(far, OPEN, tight), Rule.PRICE_BAND)
    no_mark = replace(OPEN, mark_price=None)
    assert denied_by(check_price_band(lmt(), no_mark, RiskLimits()), Rule.PRICE_BAND)
    assert check_price_band(mkt(), no_mark, RiskLimits()) == APPROVED  # no price to check


def test_max_open_orders_boundary():
    limits = RiskLimits(max_open_orders=3)
    assert check_open_orders(replace(OPEN, open_orders=2), limits) == APPROVED
    assert denied_by(check_open_orders(replace(OPEN, open_orders=3), limits), Rule.MAX_OPEN_ORDERS)


@pytest.mark.parametrize(
    ("position", "open_buy", "open_sell", "side", "qty", "ok"),
    [
        ("3", "1", "0", Side.BUY, "1", True),  # worst case 5 = limit
        ("3", "1", "0", Side.BUY, "1.01", False),
        ("3", "0", "0", Side.SELL, "8", True),  # to -5
        ("3", "0", "0", Side.SELL, "8.01", False),
        ("0", "0", "4", Side.SELL, "1", True),  # open sells count: -4 - 1 = -5
        ("0", "0", "4", Side.SELL, "1.5", False),
        ("0", "9", "4", Side.SELL, "1", True),  # open buys do not offset a sell's worst case
        ("7", "0", "0", Side.SELL, "1", True),  # over the limit already, but reducing
        ("7", "0", "0", Side.BUY, "0.01", False),
        ("-7", "0", "0", Side.BUY, "13", True),  # flips to 6: over 5, but smaller than |-7|
        ("-7", "0", "0", Side.BUY, "14.01", False),  # flips to 7.01: bigger than |-7|
    ],
)
def test_max_position_boundary(position, open_buy, open_sell, side, qty, ok):
    state = replace(
        OPEN, position_qty=D(position), open_buy_qty=D(open_buy), open_sell_qty=D(open_sell)
    )
    limits = RiskLimits(max_position_qty=D(5))
    intent = lmt(qty, side=side)
    verdict = check_position(intent, state, limits)
    assert verdict == APPROVED if ok else denied_by(verdict, Rule.MAX_POSITION)
    assert check_position(replace(intent, reduce_only=True), state, limits) == APPROVED


def test_daily_loss_boundary():
    limits = RiskLimits(max_daily_loss=D(100))
    assert check_daily_loss(lmt(), replace(OPEN, daily_pnl=D("-99.99")), limits) == APPROVED
    at_limit = replace(OPEN, daily_pnl=D(-100))
    assert denied_by(check_daily_loss(lmt(), at_limit, limits), Rule.DAILY_LOSS)
    assert check_daily_loss(lmt(reduce_only=True), at_limit, limits) == APPROVED
    assert check(lmt(reduce_only=True), at_limit, limits) == APPROVED


def test_utc_day_start():
    assert utc_day_start_ms(1_772_330_400_000) == 1_772_323_200_000  # 02:00Z -> 00:00Z
    assert utc_day_start_ms(1_772_323_200_000) == 1_772_323_200_000


def test_first_denial_wins_in_documented_order():
    everything = RiskLimits(
        max_order_qty=D(1),
        max_order_notional_usd=D(1),
        max_open_orders=0,
        max_position_qty=D(0),
        max_daily_loss=D(0),
        price_band=D("0.01"),
    )
    state = replace(OPEN, daily_pnl=D(-1))
    big = lmt("5", "200")
    order = [
        Rule.MAX_ORDER_QTY,
        Rule.MAX_ORDER_NOTIONAL,
        Rule.PRICE_BAND,
        Rule.MAX_OPEN_ORDERS,
        Rule.MAX_POSITION,
        Rule.DAILY_LOSS,
    ]
    fields = [
        "max_order_qty",
        "max_order_notional_usd",
        "price_band",
        "max_open_orders",
        "max_position_qty",
        "max_daily_loss",
    ]
    limits = everything
    for rule, name in zip(order, fields, strict=True):
        assert denied_by(check(big, state, limits), rule)
        limits = replace(limits, **{name: None})
    assert check(big, state, limits) == APPROVED


def test_amend_is_checked_as_the_order_it_leaves_resting():
    original = lmt("2", "100")
    # The original's own 2 are in open_buy_qty and open_orders; the amend replaces them.
    state = replace(OPEN, position_qty=D(2), open_buy_qty=D(2), open_orders=1)
    limits = RiskLimits(max_position_qty=D(5), max_open_orders=1)
    assert check_amend(original, AmendIntent("c", qty=D(3)), state, limits) == APPROVED
    assert denied_by(
        check_amend(original, AmendIntent("c", qty=D("3.5")), state, limits), Rule.MAX_POSITION
    )
    # 1 already filled (now in the position): a new total of 4 leaves 3 resting: 3 + 3 > 5.
    filled = replace(state, position_qty=D(3), open_buy_qty=D(1))
    assert (
        check_amend(original, AmendIntent("c", qty=D(3)), filled, limits, filled_qty=D(1))
        == APPROVED
    )
    assert denied_by(
        check_amend(original, AmendIntent("c", qty=D(4)), filled, limits, filled_qty=D(1)),
        Rule.MAX_POSITION,
    )
    assert denied_by(
        check_amend(original, AmendIntent("c", qty=D(1)), filled, limits, filled_qty=D(1)),
        Rule.INVALID_ORDER,
    )
    far = AmendIntent("c", limit_price=D(120))
    assert denied_by(check_amend(original, far, state, RiskLimits()), Rule.PRICE_BAND)


# ------------------------------------------------------------------------- never raises


def test_malformed_input_is_denied_not_raised():
    assert denied_by(check(None, None, None), Rule.INTERNAL)  # type: ignore[arg-type]
    bad_limits = RiskLimits(max_order_qty="ten")  # type: ignore[arg-type]
    assert denied_by(check(lmt(), OPEN, bad_limits), Rule.INTERNAL)
    assert denied_by(
        check_position(lmt(), "state", RiskLimits(max_position_qty=D(1))), Rule.INTERNAL
    )  # type: ignore[arg-type]


decimals = st.one_of(
    st.none(), st.decimals(allow_nan=True, allow_infinity=True), st.integers(-5, 5)
)


@given(
    trading_state=st.sampled_from(list(TradingState)),
    mark=decimals,
    position=decimals,
    pnl=decimals,
    open_orders=st.one_of(st.integers(-3, 5), st.none()),
    limit=decimals,
    band=decimals,
    qty=st.decimals(min_value=D("0.001"), max_value=D(10**9), places=3),
    price=st.decimals(min_value=D("0.01"), max_value=D(10**9), places=2),
)
def test_check_never_raises(
    trading_state, mark, position, pnl, open_orders, limit, band, qty, price
):
    state = RiskState(
        trading_state,
        mark_price=mark,
        position_qty=position,  # type: ignore[arg-type]
        daily_pnl=pnl,  # type: ignore[arg-type]
        open_orders=open_orders,  # type: ignore[arg-type]
    )
    limits = RiskLimits(
        max_position_qty=limit,
        max_order_qty=limit,
        max_order_notional_usd=limit,
        max_open_orders=3,
        price_band=band,
        max_daily_loss=limit,
    )
    for intent in (lmt(str(qty), str(price)), mkt(str(qty)), CANCEL):
        verdict = check(intent, state, limits)
        assert verdict == APPROVED or isinstance(verdict, Denied)


# ---------------------------------------------------------------------------- the breaker


def test_breaker_trips_on_n_rejects_of_one_kind_within_the_window():
    b = RejectBreaker(max_rejects=3, window_ms=1_000, cooldown_ms=5_000)
    assert b.record_reject("insufficientAvailableFunds", 0) is BreakerState.CLOSED
    b.record_reject("postWouldExecute", 100)  # another kind does not count
    b.record_reject("insufficientAvailableFunds", 500)
    assert b.check(600) == APPROVED
    assert b.record_reject("insufficientAvailableFunds", 999) is BreakerState.OPEN
    assert b.tripped_by == "insufficientAvailableFunds"
    assert denied_by(b.check(1_000), Rule.CIRCUIT_BREAKER)


def test_breaker_window_is_strict():
    b = RejectBreaker(max_rejects=3, window_ms=1_000, cooldown_ms=5_000)
    for ts in (0, 500, 1_000):  # the first one is exactly window_ms old: expired
        state = b.record_reject("selfFill", ts)
    assert state is BreakerState.CLOSED


def test_breaker_half_open_after_cooldown():
    b = RejectBreaker(max_rejects=2, window_ms=1_000, cooldown_ms=5_000)
    b.record_reject("x", 0)
    b.record_reject("x", 1)
    assert b.state(5_000) is BreakerState.OPEN
    assert b.state(5_001) is BreakerState.HALF_OPEN and b.check(5_001) == APPROVED
    assert b.record_reject("y", 5_002) is BreakerState.OPEN  # one reject re-trips at once
    assert b.tripped_by == "y" and b.state(10_001) is BreakerState.OPEN
    assert b.state(10_002) is BreakerState.HALF_OPEN
    assert b.record_success(10_002) is BreakerState.CLOSED and b.tripped_by is None
    assert b.record_reject("x", 10_003) is BreakerState.CLOSED  # history was forgotten


def test_breaker_success_while_closed_does_not_reset_and_bad_config():
    b = RejectBreaker(max_rejects=2, window_ms=1_000, cooldown_ms=0)
    b.record_reject("x", 0)
    b.record_success(1)
    assert b.record_reject("x", 2) is BreakerState.HALF_OPEN  # tripped; zero cooldown
    for kwargs in ({"max_rejects": 0}, {"window_ms": 0}, {"cooldown_ms": -1}):
        with pytest.raises(ValidationError):
            RejectBreaker(**kwargs)
