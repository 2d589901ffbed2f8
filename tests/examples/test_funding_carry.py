"""examples/funding_carry.py: the carry math (hypothesis) and the strategy's decisions."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.events import FundingPaid, Halted, TickerUpdate, TradingStateChanged
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FUNDING_INTERVAL_MS
from krakenfutures.core.orders import EventKind, OrderState
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.oms.tracker import OrderUpdated
from krakenfutures.risk.rules import Denied, Rule
from krakenfutures.strategy import Strategy

PATH = Path(__file__).resolve().parents[2] / "examples" / "funding_carry.py"


def load(name: str = "kf_example_funding_carry", *, register: bool = True) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fc = load()
SYM = "PF_XBTUSD"
HOUR = FUNDING_INTERVAL_MS
TIER1 = DEFAULT_FEE_SCHEDULE.tiers[0]  # maker 0.02 %, taker 0.05 %


# ------------------------------------------------------------------------------ loading


def test_loads_by_path_even_without_registering_the_module():
    module = load("kf_example_funding_carry_unregistered", register=False)
    assert module.carry_edge(D("0.0001"), 8, D("0.0002"), D("0.0002")) == D("0.0004")


def test_defines_exactly_one_strategy_class():
    found = [
        obj
        for obj in vars(fc).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == fc.__name__
    ]
    assert found == [fc.FundingCarry]


def test_defaults_and_params():
    s = fc.FundingCarry()
    assert (s.symbol, s.qty, s.hold_hours, s.min_net_edge_bps, s.exit_edge_bps) == (
        SYM,
        D("0.01"),
        D(8),
        D(2),
        D("0.1"),
    )
    assert (s.use_post_only, s.exit_lead_ms, s.timer_s, s.symbols) == (True, 120_000, 10.0, (SYM,))
    t = fc.FundingCarry(symbol="pf_ethusd", qty=0.5, hold_hours=4, use_post_only=False)
    assert (t.symbol, t.qty, t.hold_hours, t.use_post_only) == ("PF_ETHUSD", D("0.5"), D(4), False)
    with pytest.raises(ConfigError):
        fc.FundingCarry(hold_hours=0)
    with pytest.raises(ConfigError):
        fc.FundingCarry(qty="-1")


# ------------------------------------------------------------------------------ pure math


def test_carry_edge_examples():
    # 1 bp/h for 8 h = 8 bps; maker both ways 4 bps -> 4 bps net
    assert fc.carry_edge(D("0.0001"), 8, D("0.0002"), D("0.0002")) == D("0.0004")
    # the sign of the rate does not matter: we take the side that receives it
    assert fc.carry_edge(D("-0.0001"), D(8), D("0.0002"), D("0.0002")) == D("0.0004")
    # taker both ways (10 bps) eats it: -2 bps
    assert fc.carry_edge(D("0.0001"), 8, D("0.0005"), D("0.0005")) == D("-0.0002")
    assert fc.carry_edge(D("0.0001"), 0, D(0), D(0)) == 0
    with pytest.raises(ConfigError):
        fc.carry_edge(D("0.0001"), -1, D(0), D(0))


rates = st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=8)
fees = st.decimals(min_value=D("-0.0001"), max_value=D("0.001"), places=6)
hours = st.integers(min_value=0, max_value=72)


@settings(max_examples=300, deadline=None)
@given(rate=rates, h1=hours, h2=hours, fee_in=fees, fee_out=fees, extra=fees)
def test_carry_edge_grows_with_hours_and_rate_and_falls_with_fees(
    rate, h1, h2, fee_in, fee_out, extra
):
    low, high = sorted((h1, h2))
    assert fc.carry_edge(rate, high, fee_in, fee_out) >= fc.carry_edge(rate, low, fee_in, fee_out)
    assert fc.carry_edge(rate * 2, high, fee_in, fee_out) >= fc.carry_edge(
        rate, high, fee_in, fee_out
    )
    assert fc.carry_edge(rate, high, fee_in + abs(extra), fee_out) <= fc.carry_edge(
        rate, high, fee_in, fee_out
    )
    assert fc.carry_edge(rate, high, fee_in, fee_out) == fc.carry_edge(-rate, high, fee_in, fee_out)


def test_receiving_side_and_received_rate():
    assert fc.receiving_side(D("0.0001")) is Side.SELL  # positive: longs pay shorts
    assert fc.receiving_side(D("-0.0001")) is Side.BUY
    assert fc.receiving_side(D(0)) is None and fc.receiving_side(None) is None
    assert fc.received_rate(D(-1), D("0.0001")) == D("0.0001")  # short receives
    assert fc.received_rate(D(1), D("0.0001")) == D("-0.0001")  # long pays
    assert fc.received_rate(D(0), D("0.0001")) == 0


@settings(max_examples=300, deadline=None)
@given(rate=rates, hold=hours, fee=fees, min_edge=st.decimals(min_value=-5, max_value=50, places=2))
def test_an_entry_is_always_on_the_receiving_side_and_clears_the_edge(rate, hold, fee, min_edge):
    side = fc.entry_side(
        rate, hold_hours=hold, fee_rate_in=fee, fee_rate_out=fee, min_net_edge_bps=min_edge
    )
    if side is None:
        assert rate == 0 or fc.carry_edge(rate, hold, fee, fee) * 10_000 < min_edge
    else:
        position = D(1) if side is Side.BUY else D(-1)
        assert fc.received_rate(position, rate) > 0
        assert fc.carry_edge(rate, hold, fee, fee) * 10_000 >= min_edge


def test_entry_threshold_is_inclusive_and_uses_both_fees():
    args = {"hold_hours": 8, "fee_rate_in": D("0.0002"), "fee_rate_out": D("0.0002")}
    # 0.75 bp/h * 8 = 6 bps - 4 bps fees = 2 bps: exactly the minimum
    assert fc.entry_side(D("0.000075"), min_net_edge_bps=D(2), **args) is Side.SELL
    assert fc.entry_side(D("-0.000075"), min_net_edge_bps=D(2), **args) is Side.BUY
    assert fc.entry_side(D("0.0000749"), min_net_edge_bps=D(2), **args) is None
    assert fc.entry_side(None, min_net_edge_bps=D(2), **args) is None


def test_round_trip_fees_by_tier():
    assert fc.round_trip_fees(TIER1, use_post_only=True) == (D("0.0002"), D("0.0002"))
    assert fc.round_trip_fees(TIER1, use_post_only=False) == (D("0.0005"), D("0.0005"))
    top = DEFAULT_FEE_SCHEDULE.tier_for(D(200_000_000))
    assert fc.round_trip_fees(top, use_post_only=True) == (D(0), D(0))


def reason(position, rate, *, held_h=1, exit_bps="0.1", hold=8, fee_out="0.0002", min_bps="2"):
    return fc.exit_reason(
        D(position),
        None if rate is None else D(rate),
        exit_edge_bps=D(exit_bps),
        held_ms=held_h * HOUR,
        hold_hours=hold,
        fee_rate_out=D(fee_out),
        min_net_edge_bps=D(min_bps),
    )


def test_exit_reasons():
    assert reason("-0.01", "0.0001") is None  # short, receiving 1 bp/h, within the hold
    assert reason("-0.01", "-0.0001") == fc.FLIPPED  # short, shorts now pay
    assert reason("0.01", "0.0001") == fc.FLIPPED  # long, longs pay
    assert reason("-0.01", "0") == fc.FLIPPED  # nothing received any more
    assert reason("-0.01", "0.000005") == fc.BELOW_EXIT_EDGE  # 0.05 bp/h < 0.1
    assert reason("-0.01", "0.00001") is None  # exactly 0.1 bp/h: kept
    # after the hold: kept while another hold (exit fee only) still clears the minimum
    assert reason("-0.01", "0.0001", held_h=8) is None  # 8 - 2 = 6 bps >= 2
    assert reason("-0.01", "0.00002", held_h=8) == fc.HOLD_OVER  # 1.6 - 2 < 2
    assert reason("-0.01", "0.00002", held_h=7) is None
    assert reason("0", "-0.0001") is None and reason("-0.01", None) is None


@settings(max_examples=300, deadline=None)
@given(position=st.decimals(min_value=-1, max_value=1, places=3), rate=rates)
def test_a_position_that_pays_funding_always_exits(position, rate):
    got = reason(position, rate)
    if position != 0 and fc.received_rate(position, rate) <= 0:
        assert got == fc.FLIPPED
    if position == 0:
        assert got is None


def test_exit_deadline_and_passive_price():
    boundary = 10 * HOUR
    assert not fc.exit_is_due(boundary - 120_001, boundary, 120_000)
    assert fc.exit_is_due(boundary - 120_000, boundary, 120_000)
    assert fc.exit_is_due(boundary + 1, boundary, 120_000)
    assert fc.passive_price(Side.BUY, D(100), D(101)) == D(100)
    assert fc.passive_price(Side.SELL, D(100), D(101)) == D(101)
    assert fc.passive_price(Side.SELL, D(100), None) is None
    assert [fc.backoff_ms(1.0, 3.0, n) for n in (1, 2, 3)] == [1000, 2000, 3000]


# ------------------------------------------------------------------------------ the strategy


@pytest.fixture
def setup(fake_ctx):
    def make(rate="0.0001", **params):
        ctx = fake_ctx(SYM, tick="0.5", min_qty="0.001", qty_step="0.001")
        ctx.set_book([("50000", "1")], [("50010", "1")])
        set_rate(ctx, rate)
        strategy = fc.FundingCarry(**params)
        strategy.ctx = ctx
        ctx.target = strategy
        return strategy, ctx

    return make


def set_rate(ctx, rate, *, next_funding_ms=None):
    ctx.tickers[SYM] = TickerUpdate(
        symbol=SYM,
        ts_ms=ctx.now_ms,
        mark_price=D(50_005),
        relative_funding_rate_prediction=None if rate is None else D(rate),
        next_funding_ms=next_funding_ms or (ctx.now_ms // HOUR + 1) * HOUR,
    )
    return ctx.tickers[SYM]


def settle(strategy, ctx):
    for update in ctx.settle():
        strategy.on_order(update)


def only(ctx, **match):
    live = ctx.live()
    assert len(live) == 1, live
    order = live[0]
    for key, value in match.items():
        assert getattr(order.intent, key) == value, (key, order.intent)
    return order


def test_enters_post_only_on_the_receiving_side(setup):
    s, ctx = setup(rate="0.0001")  # longs pay: sell; 8 bps - 4 bps maker >= 2
    s.on_start()
    only(ctx, side=Side.SELL, post_only=True, reduce_only=False, limit_price=D(50_010))
    s, ctx = setup(rate="-0.0001")
    s.on_start()
    only(ctx, side=Side.BUY, post_only=True, limit_price=D(50_000))


def test_enters_with_a_market_order_without_post_only(setup):
    s, ctx = setup(rate="0.0002", use_post_only=False)  # 16 bps - 10 bps taker >= 2
    s.on_start()
    only(ctx, side=Side.SELL, order_type=OrderType.MKT, post_only=False)


def test_no_entry_when_the_carry_does_not_pay_for_the_fees(setup):
    s, ctx = setup(rate="0.0001", use_post_only=False)  # 8 - 10 bps taker < 2
    s.on_start()
    assert ctx.calls == []
    s.on_ticker(set_rate(ctx, None))
    assert ctx.calls == []


def test_a_better_fee_tier_makes_the_same_rate_worth_entering(setup):
    s, ctx = setup(rate="0.00006")  # 4.8 bps - 4 bps maker < 2
    s.on_start()
    assert ctx.calls == []
    ctx.volume_30d_usd = D(200_000_000)  # maker 0: 4.8 bps >= 2
    s.on_timer(ctx.now_ms)
    only(ctx, side=Side.SELL)


def test_working_entry_follows_the_book_and_is_cancelled_when_the_edge_goes(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    entry = only(ctx, side=Side.SELL)
    s.on_book(ctx.set_book([("50020", "1")], [("50030", "1")]))
    assert ctx.intents("amend") == [("amend", entry.cli_ord_id, D(50_030))]
    settle(s, ctx)
    s.on_ticker(set_rate(ctx, "0.00001"))
    assert ("cancel", entry.cli_ord_id) in ctx.calls and ctx.live() == []


def test_holds_then_exits_passively_when_the_prediction_flips(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    assert ctx.position(SYM).qty == D("-0.01") and s.entered_ms == ctx.now_ms
    settle(s, ctx)
    s.on_ticker(set_rate(ctx, "0.00009"))  # still pays: hold
    assert ctx.live() == []
    s.on_ticker(set_rate(ctx, "-0.00001"))  # shorts would pay at the next boundary
    assert s.exiting == fc.FLIPPED
    only(ctx, side=Side.BUY, qty=D("0.01"), reduce_only=True, post_only=True, limit_price=D(50_000))


def test_passive_exit_turns_into_a_market_order_before_the_funding_time(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    boundary = (ctx.now_ms // HOUR + 1) * HOUR
    s.on_ticker(set_rate(ctx, "-0.00001", next_funding_ms=boundary))
    settle(s, ctx)
    passive = only(ctx, reduce_only=True, post_only=True)
    ctx.now_ms = boundary - 120_001
    s.on_timer(ctx.now_ms)
    assert ctx.live() == [passive]
    ctx.now_ms = boundary - 120_000
    s.on_timer(ctx.now_ms)
    assert ("cancel", passive.cli_ord_id) in ctx.calls
    only(ctx, side=Side.BUY, order_type=OrderType.MKT, reduce_only=True, qty=D("0.01"))
    s.on_timer(ctx.now_ms + 1)  # the market exit is pending: nothing more
    assert len(ctx.intents("submit")) == 3


def test_in_a_post_only_market_the_exit_stays_passive(setup):
    s, ctx = setup(use_post_only=False, rate="0.0002")
    s.on_start()
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    ctx.states[SYM] = TradingState.POST_ONLY
    s.on_ticker(set_rate(ctx, "-0.0001"))
    only(ctx, side=Side.BUY, reduce_only=True, post_only=True)


def test_market_exit_at_once_without_post_only(setup):
    s, ctx = setup(rate="0.0002", use_post_only=False)
    s.on_start()
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    s.on_ticker(set_rate(ctx, "0.000005"))  # 0.05 bp/h < 0.1
    assert s.exiting == fc.BELOW_EXIT_EDGE
    exit_order = only(ctx, side=Side.BUY, order_type=OrderType.MKT, reduce_only=True)
    s.on_fill(ctx.fill(exit_order.cli_ord_id))
    assert ctx.position(SYM).qty == 0 and s.exiting == "" and s.entered_ms is None


def test_an_exit_once_started_is_not_undone_by_a_recovering_prediction(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    s.on_ticker(set_rate(ctx, "-0.00001"))
    exit_order = only(ctx, reduce_only=True)
    s.on_ticker(set_rate(ctx, "0.0003"))
    assert ctx.live() == [exit_order] and s.exiting == fc.FLIPPED


def test_exits_when_the_hold_is_over_and_the_carry_has_thinned(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    s.on_fill(ctx.fill(only(ctx).cli_ord_id))
    ctx.now_ms += 8 * HOUR - 1
    s.on_ticker(set_rate(ctx, "0.00002"))  # 1.6 bps over another hold, < 2 after the fee
    assert ctx.live() == []
    ctx.now_ms += 1
    s.on_timer(ctx.now_ms)
    assert s.exiting == fc.HOLD_OVER
    only(ctx, side=Side.BUY, reduce_only=True)


def test_partial_entry_keeps_working_and_adopted_positions_are_held(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    entry = only(ctx)
    s.on_fill(ctx.fill(entry.cli_ord_id, "0.004"))
    assert ctx.live() == [ctx.orders[entry.cli_ord_id]]  # the rest keeps working
    s, ctx = setup()
    ctx.set_position("-0.01")
    s.on_start()
    assert s.entered_ms == ctx.now_ms and ctx.calls == []


def test_a_reduce_only_order_left_when_flat_is_cancelled(setup):
    s, ctx = setup(rate="0")
    ctx.set_position("-0.01")
    s.on_start()
    exit_order = only(ctx, reduce_only=True)
    ctx.set_position("0")  # closed elsewhere
    s.on_timer(ctx.now_ms)
    assert ("cancel", exit_order.cli_ord_id) in ctx.calls


def test_state_and_halt_gates(setup):
    s, ctx = setup()
    ctx.states[SYM] = TradingState.SUSPENDED
    s.on_start()
    assert ctx.calls == []
    ctx.states[SYM] = TradingState.OPEN
    s.on_state(TradingStateChanged(SYM, TradingState.OPEN, TradingState.SUSPENDED, (), 1))
    only(ctx, side=Side.SELL)
    ctx.states[SYM] = TradingState.MAINTENANCE
    s.on_state(TradingStateChanged(SYM, TradingState.MAINTENANCE, TradingState.OPEN, (), 2))
    assert ("cancel_all", SYM) in ctx.calls and ctx.live() == []
    ctx.states[SYM] = TradingState.OPEN
    s.on_timer(ctx.now_ms)
    settle(s, ctx)
    s.on_fill(ctx.fill(only(ctx).cli_ord_id, "0.005"))
    s.on_halt(Halted(kind="manual", reason="operator", ts_ms=1))
    assert s.halted and ctx.live() == []
    assert ctx.alerts and ctx.alerts[-1][0] == "critical" and "-0.005" in ctx.alerts[-1][1]
    n = len(ctx.calls)
    s.on_ticker(set_rate(ctx, "-0.001"))
    assert len(ctx.calls) == n


def test_denials_and_refusals_back_off(setup):
    s, ctx = setup()
    ctx.deny = Denied("max position", Rule.MAX_POSITION)
    s.on_start()
    assert ctx.live() == [] and s._backoff_until_ms == ctx.now_ms + 2_000
    ctx.deny = None
    s.on_ticker(set_rate(ctx, "0.0001"))
    assert ctx.live() == []
    ctx.now_ms += 2_000
    s.on_timer(ctx.now_ms)
    order = only(ctx)
    rejected = ctx.orders[order.cli_ord_id] = replace(order, state=OrderState.REJECTED)
    s.on_order(OrderUpdated(rejected, OrderState.PENDING_NEW, EventKind.REJECTED))
    assert s._backoff_until_ms == ctx.now_ms + 4_000


def test_funding_and_stop_only_log(setup, caplog):
    caplog.set_level(logging.INFO, logger="tests.examples")
    s, ctx = setup()
    s.on_start()
    ctx.set_position("-0.01")
    s.on_funding(FundingPaid(symbol=SYM, amount=D("-0.05"), ts_ms=1))
    n = len(ctx.calls)
    s.on_stop()
    assert len(ctx.calls) == n
    assert "received" in caplog.text and "open" in caplog.text
