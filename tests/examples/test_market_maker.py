"""examples/market_maker.py: the quoting math (hypothesis) and the strategy's decisions."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.events import Halted, TradingStateChanged
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE
from krakenfutures.core.orders import EventKind, OrderState
from krakenfutures.core.types import Side, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.oms.tracker import OrderUpdated
from krakenfutures.risk.rules import Denied, Rule
from krakenfutures.strategy import Strategy

PATH = Path(__file__).resolve().parents[2] / "examples" / "market_maker.py"


def load(name: str = "kf_example_market_maker", *, register: bool = True) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    if register:
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mm = load()
SYM = "PF_XBTUSD"


# ------------------------------------------------------------------------------ loading


def test_loads_by_path_even_without_registering_the_module():
    module = load("kf_example_market_maker_unregistered", register=False)
    assert module.quote_prices(
        mid=D(100),
        inventory=D(0),
        maker_fee_rate=D("0.0002"),
        min_edge_bps=D(1),
        skew_bps_per_unit=D(0),
        tick_size=D("0.5"),
    ) == module.Quotes(D("99.5"), D("100.5"))


def test_defines_exactly_one_strategy_class():
    # `kf run path.py` picks the only Strategy subclass defined in the file
    found = [
        obj
        for obj in vars(mm).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == mm.__name__
    ]
    assert found == [mm.MarketMaker]


def test_defaults_and_params_are_decimal():
    s = mm.MarketMaker()
    assert (s.symbol, s.qty, s.min_edge_bps, s.skew_bps_per_unit) == (
        SYM,
        D("0.01"),
        D(1),
        D(100),
    )
    assert (s.max_inventory, s.requote_bps, s.timer_s, s.symbols) == (
        D("0.05"),
        D("0.5"),
        5.0,
        (SYM,),
    )
    # TOML gives floats and ints; they become exact Decimals, never binary floats
    t = mm.MarketMaker(symbol="pf_ethusd", qty=0.1, min_edge_bps=2, requote_bps="0.25")
    assert (t.symbol, t.qty, t.min_edge_bps, t.requote_bps) == (
        "PF_ETHUSD",
        D("0.1"),
        D(2),
        D("0.25"),
    )
    assert all(isinstance(v, D) for v in (t.qty, t.min_edge_bps, t.skew_bps_per_unit))
    assert t.params["qty"] == 0.1 and t.name == "MarketMaker"


@pytest.mark.parametrize(
    "kwargs", [{"qty": "0"}, {"min_edge_bps": "-1"}, {"max_inventory": "-0.1"}, {"qty": "abc"}]
)
def test_bad_params_are_refused(kwargs):
    with pytest.raises(ConfigError):
        mm.MarketMaker(**kwargs)


# ------------------------------------------------------------------------------ pure math

TICKS = [D("0.5"), D("1"), D("0.1"), D("0.01"), D("1E-10"), D("5")]
MAKER_FEES = sorted({t.maker for t in DEFAULT_FEE_SCHEDULE.tiers} | {D("-0.0001")})


@st.composite
def markets(draw):
    """A tick, an uncrossed outside book on that tick, and the mid of it."""
    tick = draw(st.sampled_from(TICKS))
    bid_ticks = draw(st.integers(min_value=1_000, max_value=100_000_000))
    spread_ticks = draw(st.integers(min_value=1, max_value=500))
    best_bid = bid_ticks * tick
    best_ask = best_bid + spread_ticks * tick
    return tick, best_bid, best_ask, (best_bid + best_ask) / 2


params = {
    "fee": st.sampled_from(MAKER_FEES),
    "edge": st.decimals(min_value=0, max_value=50, places=2),
    "skew": st.decimals(min_value=0, max_value=500, places=1),
    "inventory": st.decimals(min_value=-5, max_value=5, places=3),
}


def quote(market, fee, edge, skew, inventory, *, book=True):
    tick, best_bid, best_ask, mid = market
    return mm.quote_prices(
        mid=mid,
        inventory=inventory,
        maker_fee_rate=fee,
        min_edge_bps=edge,
        skew_bps_per_unit=skew,
        tick_size=tick,
        best_bid=best_bid if book else None,
        best_ask=best_ask if book else None,
    )


@settings(max_examples=300, deadline=None)
@given(market=markets(), book=st.booleans(), **params)
def test_quotes_are_on_tick_ordered_wide_enough_and_never_cross(
    market, fee, edge, skew, inventory, book
):
    tick, best_bid, best_ask, mid = market
    q = quote(market, fee, edge, skew, inventory, book=book)
    for price in (q.bid, q.ask):
        if price is not None:
            assert price > 0 and price % tick == 0
    if q.bid is not None and q.ask is not None:
        assert q.bid < q.ask
        # half-spread covers the maker fee (a rebate counts as zero) plus the edge
        assert (q.ask - q.bid) / 2 >= mid * (max(fee, 0) + edge / 10_000)
    if book:
        assert q.bid is None or q.bid < best_ask
        assert q.ask is None or q.ask > best_bid


@settings(max_examples=200, deadline=None)
@given(market=markets(), fee=params["fee"], edge=params["edge"])
def test_flat_round_trip_earns_both_maker_fees_plus_the_edge(market, fee, edge):
    q = quote(market, fee, edge, D(0), D(0))
    mid = market[3]
    assert q.bid is not None and q.ask is not None
    fees = max(fee, 0) * (q.bid + q.ask)  # buy at the bid, sell at the ask, maker both times
    assert (q.ask - q.bid) - fees >= 2 * mid * edge / 10_000


@settings(max_examples=300, deadline=None)
@given(
    market=markets(),
    low=params["inventory"],
    high=params["inventory"],
    **{k: params[k] for k in ("fee", "edge", "skew")},
)
def test_more_inventory_never_raises_a_quote(market, fee, edge, skew, low, high):
    low, high = sorted((low, high))
    q_low = quote(market, fee, edge, skew, low)
    q_high = quote(market, fee, edge, skew, high)
    if q_low.bid is not None and q_high.bid is not None:
        assert q_high.bid <= q_low.bid
    if q_low.ask is not None and q_high.ask is not None:
        assert q_high.ask <= q_low.ask


def test_skew_moves_quotes_against_inventory():
    args = {"maker_fee_rate": D("0.0002"), "min_edge_bps": D(1), "tick_size": D("0.5")}
    flat = mm.quote_prices(mid=D(50_000), inventory=D(0), skew_bps_per_unit=D(100), **args)
    long = mm.quote_prices(mid=D(50_000), inventory=D("0.1"), skew_bps_per_unit=D(100), **args)
    short = mm.quote_prices(mid=D(50_000), inventory=D("-0.1"), skew_bps_per_unit=D(100), **args)
    # 0.1 contract * 100 bps = 10 bps of 50,000 = 50 USD shift
    assert flat == mm.Quotes(D("49985"), D("50015"))
    assert long == mm.Quotes(D("49935"), D("49965"))
    assert short == mm.Quotes(D("50035"), D("50065"))
    assert mm.skewed_fair(D(50_000), D("0.1"), D(100)) == D(49_950)


def test_book_guard_keeps_quotes_off_the_other_side():
    # a strongly skewed long position would put the ask below the best bid: it is lifted above
    q = mm.quote_prices(
        mid=D(100),
        inventory=D(1),
        maker_fee_rate=D("0.0002"),
        min_edge_bps=D(1),
        skew_bps_per_unit=D(500),
        tick_size=D("0.5"),
        best_bid=D("99.5"),
        best_ask=D("100.5"),
    )
    assert q == mm.Quotes(D("94.5"), D(100))
    # an off-tick best ask still caps the bid strictly below it
    q = mm.quote_prices(
        mid=D(100),
        inventory=D(-1),
        maker_fee_rate=D(0),
        min_edge_bps=D(0),
        skew_bps_per_unit=D(500),
        tick_size=D(1),
        best_bid=D("99"),
        best_ask=D("100.3"),
    )
    assert q == mm.Quotes(D(100), D(106))  # fair 105, zero half-spread: a tick apart, then capped


def test_zero_half_spread_still_leaves_a_tick_between_bid_and_ask():
    q = mm.quote_prices(
        mid=D(100),
        inventory=D(0),
        maker_fee_rate=D(0),
        min_edge_bps=D(0),
        skew_bps_per_unit=D(0),
        tick_size=D(1),
    )
    assert q == mm.Quotes(D(100), D(101))


def test_a_quote_that_would_be_negative_is_dropped():
    q = mm.quote_prices(
        mid=D(10),
        inventory=D(5),
        maker_fee_rate=D("0.0002"),
        min_edge_bps=D(1),
        skew_bps_per_unit=D(3000),
        tick_size=D("0.01"),
    )
    assert q.bid is None and q.ask is None  # fair = 10 * (1 - 1.5) < 0


@settings(max_examples=200, deadline=None)
@given(
    price=st.decimals(min_value=D("0.0001"), max_value=10**7, places=4),
    tick=st.sampled_from(TICKS),
)
def test_round_to_tick_brackets_the_price(price, tick):
    down = mm.round_to_tick(price, tick, up=False)
    up = mm.round_to_tick(price, tick, up=True)
    assert down % tick == 0 and up % tick == 0
    assert down <= price <= up and up - down in (0, tick)
    assert (up == down) == (price % tick == 0)


def test_min_half_spread_follows_the_fee_tier():
    rates = [
        mm.min_half_spread(DEFAULT_FEE_SCHEDULE.tier_for(D(v)).maker, D(1))
        for v in ("0", "100001", "5000001", "100000001")
    ]
    assert rates == [D("0.0003"), D("0.00025"), D("0.0002"), D("0.0001")]
    assert mm.min_half_spread(D("-0.0001"), D(1)) == D("0.0001")  # a rebate does not tighten


@settings(max_examples=200, deadline=None)
@given(
    position=st.decimals(min_value=-1, max_value=1, places=3),
    qty=st.decimals(min_value=D("0.001"), max_value=D("0.5"), places=3),
    limit=st.decimals(min_value=0, max_value=1, places=3),
)
def test_quote_sides_never_let_a_fill_pass_the_inventory_limit(position, qty, limit):
    bid, ask = mm.quote_sides(position, qty, limit)
    if bid:
        assert position + qty <= limit
    if ask:
        assert position - qty >= -limit
    # the side that reduces an over-limit position is kept
    if position > limit and position - qty >= -limit:
        assert ask and not bid


def test_quote_sides_examples():
    assert mm.quote_sides(D(0), D("0.01"), D("0.05")) == (True, True)
    assert mm.quote_sides(D("0.04"), D("0.01"), D("0.05")) == (True, True)
    assert mm.quote_sides(D("0.05"), D("0.01"), D("0.05")) == (False, True)
    assert mm.quote_sides(D("-0.05"), D("0.01"), D("0.05")) == (True, False)


def test_moved_bps_best_excluding_own_and_backoff():
    assert mm.moved_bps(D(50_000), D(50_005)) == D(1)
    assert mm.moved_bps(D(50_000), D(49_995)) == D(1)
    levels = [(D(100), D(1)), (D(99), D(2)), (D(98), D(3))]
    assert mm.best_excluding_own(levels, {}) == D(100)
    assert mm.best_excluding_own(levels, {D(100): D(1)}) == D(99)  # the level is only us
    assert mm.best_excluding_own(levels, {D(100): D("0.5")}) == D(100)  # others rest there too
    assert mm.best_excluding_own(levels, {D(100): D(1), D(99): D(2), D(98): D(3)}) is None
    assert [mm.backoff_ms(2.0, 60.0, n) for n in (1, 2, 3, 5, 6, 10)] == [
        2000,
        4000,
        8000,
        32000,
        60000,
        60000,
    ]


# ------------------------------------------------------------------------------ the strategy


@pytest.fixture
def setup(fake_ctx):
    def make(**params):
        ctx = fake_ctx(SYM, tick="0.5", min_qty="0.001", qty_step="0.001")
        ctx.set_book([("50000", "1"), ("49999.5", "2")], [("50010", "1"), ("50010.5", "2")])
        strategy = mm.MarketMaker(**params)
        strategy.ctx = ctx
        ctx.target = strategy
        return strategy, ctx

    return make


def settle(strategy, ctx):
    for update in ctx.settle():
        strategy.on_order(update)


def quotes_of(ctx):
    """Each side's quote price, a pending amend's price included."""
    return {
        o.intent.side: o.pending_amend.limit_price if o.pending_amend else o.intent.limit_price
        for o in ctx.live()
    }


def expected(ctx, inventory=D(0), *, fee=D("0.0002"), mid=D(50_005), best=(D(50_000), D(50_010))):
    return mm.quote_prices(
        mid=mid,
        inventory=inventory,
        maker_fee_rate=fee,
        min_edge_bps=D(1),
        skew_bps_per_unit=D(100),
        tick_size=D("0.5"),
        best_bid=best[0],
        best_ask=best[1],
    )


def test_start_quotes_both_sides_post_only_around_the_mid(setup):
    s, ctx = setup()
    s.on_start()
    submits = ctx.intents("submit")
    assert len(submits) == 2
    for _, _, intent in submits:
        assert intent.post_only and intent.qty == D("0.01") and not intent.reduce_only
    # 50005 -/+ 0.03 % (2 bps maker + 1 bp edge = 15.0015), bid down / ask up to the 0.5 tick
    assert quotes_of(ctx) == {Side.BUY: D("49989.5"), Side.SELL: D("50020.5")}
    q = expected(ctx)
    assert quotes_of(ctx) == {Side.BUY: q.bid, Side.SELL: q.ask}


def test_spread_follows_the_current_fee_tier(setup):
    s, ctx = setup()
    ctx.volume_30d_usd = D(200_000_000)  # maker 0 %: only the 1 bp edge is left
    s.on_start()
    q = expected(ctx, fee=D(0))
    assert quotes_of(ctx) == {Side.BUY: q.bid, Side.SELL: q.ask}
    assert q == mm.Quotes(D("49999.5"), D("50010.5"))


def test_context_without_a_volume_uses_the_entry_tier(setup):
    s, ctx = setup()
    del ctx.volume_30d_usd  # not part of the Context protocol: a backtester may lack it
    assert s.maker_fee_rate() == D("0.0002")


def test_qty_is_rounded_to_the_lot_step_and_too_small_disables(setup):
    s, ctx = setup(qty="0.0129")
    s.on_start()
    assert {i.qty for _, _, i in ctx.intents("submit")} == {D("0.012")}
    s, ctx = setup(qty="0.0005")
    s.on_start()
    assert s.disabled and not ctx.calls and ctx.alerts


def test_small_moves_do_not_amend_big_moves_amend_in_place(setup):
    s, ctx = setup(requote_bps="2")
    s.on_start()
    settle(s, ctx)
    before = list(ctx.calls)
    # 50005 -> 50007.5: 0.5 bps, under the 2 bps threshold
    s.on_book(ctx.set_book([("50002.5", "1")], [("50012.5", "1")]))
    assert ctx.calls == before
    # 50005 -> 50105: 20 bps: both quotes amended, nothing new submitted or cancelled
    s.on_book(ctx.set_book([("50100", "1")], [("50110", "1")]))
    new = ctx.calls[len(before) :]
    assert [c[0] for c in new] == ["amend", "amend"]
    sides = [ctx.orders[c[1]].intent.side for c in new]
    assert sides == [Side.SELL, Side.BUY]  # rising: the ask moves first
    q = expected(ctx, mid=D(50_105), best=(D(50_100), D(50_110)))
    assert {ctx.orders[c[1]].intent.side: c[2] for c in new} == {
        Side.BUY: q.bid,
        Side.SELL: q.ask,
    }
    settle(s, ctx)
    s.on_book(ctx.set_book([("49900", "1")], [("49910", "1")]))
    falling = [ctx.orders[c[1]].intent.side for c in ctx.intents("amend")[2:]]
    assert falling == [Side.BUY, Side.SELL]  # falling: the bid moves first


def test_pending_orders_are_not_amended_until_they_settle(setup):
    s, ctx = setup(requote_bps="0")
    s.on_start()
    s.on_book(ctx.set_book([("50100", "1")], [("50110", "1")]))
    assert not ctx.intents("amend") and len(ctx.intents("submit")) == 2
    settle(s, ctx)  # the acks re-quote at the new fair price
    q = expected(ctx, mid=D(50_105), best=(D(50_100), D(50_110)))
    assert {ctx.orders[c[1]].intent.side: c[2] for c in ctx.intents("amend")} == {
        Side.BUY: q.bid,
        Side.SELL: q.ask,
    }


def test_no_amend_is_sent_when_the_rounded_price_is_unchanged(setup):
    s, ctx = setup(requote_bps="0")
    s.on_start()
    settle(s, ctx)
    s.on_book(ctx.set_book([("50000", "5")], [("50010", "3")]))  # sizes only
    s.on_timer(ctx.now_ms)
    assert not ctx.intents("amend")


def test_fill_skews_quotes_and_inventory_limit_drops_the_growing_side(setup):
    s, ctx = setup(max_inventory="0.02")
    s.on_start()
    settle(s, ctx)
    bid = next(o for o in ctx.live(Side.BUY))
    s.on_fill(ctx.fill(bid.cli_ord_id))  # long 0.01: still room for one more bid
    q = expected(ctx, inventory=D("0.01"))
    assert quotes_of(ctx)[Side.SELL] == q.ask  # ask amended lower (skewed)
    assert len(ctx.live(Side.BUY)) == 1  # a fresh bid was submitted
    settle(s, ctx)
    bid = next(o for o in ctx.live(Side.BUY))
    s.on_fill(ctx.fill(bid.cli_ord_id))  # long 0.02: at the limit
    assert ctx.live(Side.BUY) == [] and len(ctx.live(Side.SELL)) == 1
    settle(s, ctx)
    assert quotes_of(ctx) == {Side.SELL: expected(ctx, inventory=D("0.02")).ask}


def test_over_the_limit_the_bid_is_cancelled(setup):
    s, ctx = setup(max_inventory="0.05")
    s.on_start()
    settle(s, ctx)
    ctx.set_position("0.05")
    s.on_timer(ctx.now_ms)
    assert ctx.live(Side.BUY) == [] and [o.intent.side for o in ctx.live()] == [Side.SELL]
    ctx.set_position("-0.05")
    settle(s, ctx)
    s.on_timer(ctx.now_ms)
    assert ctx.live(Side.SELL) == [] and [o.intent.side for o in ctx.live()] == [Side.BUY]


def test_own_quotes_are_left_out_of_the_mid(setup):
    s, ctx = setup(requote_bps="0")
    s.on_start()
    settle(s, ctx)
    mine = quotes_of(ctx)
    # our quotes are now the best levels of the book, alone at their prices
    ctx.set_book(
        [(str(mine[Side.BUY]), "0.01"), ("50000", "1")],
        [(str(mine[Side.SELL]), "0.01"), ("50010", "1")],
    )
    s.requote(force=True)
    assert not ctx.intents("amend")  # the outside mid is still 50005: nothing to move


def test_state_gate_pulls_quotes_and_resumes(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    ctx.states[SYM] = TradingState.SUSPENDED
    s.on_state(TradingStateChanged(SYM, TradingState.SUSPENDED, TradingState.OPEN, ("x",), 1))
    assert ("cancel_all", SYM) in ctx.calls
    settle(s, ctx)
    assert ctx.live() == []
    n = len(ctx.calls)
    s.on_book(ctx.set_book([("50100", "1")], [("50110", "1")]))
    s.on_timer(ctx.now_ms)
    assert len(ctx.calls) == n  # nothing while suspended
    ctx.states[SYM] = TradingState.POST_ONLY  # post-only quotes are allowed again
    s.on_state(TradingStateChanged(SYM, TradingState.POST_ONLY, TradingState.SUSPENDED, ("y",), 2))
    assert {o.intent.side for o in ctx.live()} == {Side.BUY, Side.SELL}


def test_halt_stops_quoting_for_good(setup):
    s, ctx = setup()
    s.on_start()
    settle(s, ctx)
    s.on_halt(Halted(kind="circuit_breaker", reason="too many rejects", ts_ms=1, strategy="other"))
    assert not s.halted  # another strategy's halt
    s.on_halt(Halted(kind="circuit_breaker", reason="too many rejects", ts_ms=1))
    assert s.halted and ("cancel_all", SYM) in ctx.calls
    settle(s, ctx)
    n = len(ctx.calls)
    s.on_book(ctx.set_book([("50100", "1")], [("50110", "1")]))
    s.on_timer(ctx.now_ms + 3_600_000)
    assert len(ctx.calls) == n


def test_denials_back_off_with_doubling_pauses(setup):
    s, ctx = setup(backoff_s=2.0, max_backoff_s=5.0)
    ctx.deny = Denied("max open orders", Rule.MAX_OPEN_ORDERS)
    s.on_start()
    assert ctx.live() == [] and s._refusals == 1
    ctx.deny = None
    ctx.now_ms += 1_999
    s.on_timer(ctx.now_ms)
    assert ctx.live() == []  # still backing off
    ctx.deny = Denied("max open orders", Rule.MAX_OPEN_ORDERS)
    ctx.now_ms += 1
    s.on_timer(ctx.now_ms)
    assert s._refusals == 2 and s._backoff_until_ms == ctx.now_ms + 4_000
    ctx.deny = None
    ctx.now_ms += 4_000
    s.on_timer(ctx.now_ms)
    assert {o.intent.side for o in ctx.live()} == {Side.BUY, Side.SELL}
    settle(s, ctx)
    assert s._refusals == 0  # acks reset the back-off


def test_a_refused_quote_backs_off(setup):
    s, ctx = setup()
    s.on_start()
    order = ctx.live()[0]
    rejected = ctx.orders[order.cli_ord_id] = replace(order, state=OrderState.REJECTED)
    s.on_order(OrderUpdated(rejected, OrderState.PENDING_NEW, EventKind.REJECTED))
    assert s._backoff_until_ms == ctx.now_ms + 2_000
    n = len(ctx.calls)
    s.on_timer(ctx.now_ms)
    assert len(ctx.calls) == n


def test_hooks_called_from_inside_an_intent_do_not_duplicate_quotes(setup):
    s, ctx = setup()

    def ack_now(order):  # a runtime could call on_order before submit returns
        for update in ctx.settle():
            s.on_order(update)

    ctx.on_submit = ack_now
    s.on_start()
    assert len(ctx.intents("submit")) == 2
    assert sorted(o.intent.side for o in ctx.live()) == [Side.BUY, Side.SELL]


def test_orders_of_other_symbols_and_books_are_ignored(setup, fake_ctx):
    s, ctx = setup()
    s.on_start()
    n = len(ctx.calls)
    other = fake_ctx("PF_ETHUSD").set_book([("3000", "1")], [("3001", "1")])
    s.on_book(other)
    assert len(ctx.calls) == n
