"""The engine's incremental pre-trade margin equals a full recomputation, digit for digit.

:class:`~krakenfutures.sim.exposure.Exposure` keeps running order sums and cached margin terms;
these tests drive real exchanges through random order sequences (places that rest, cross and
fill, cancels, edits, mass cancels, price moves, liquidations) and compare, after every step,
the incremental ``initial margin with orders`` (plain, with a hypothetical extra order, with
a tracked order left out, and both: what placing and editing ask) against
:meth:`Exposure.full_initial_margin`, which recomputes everything through
:func:`krakenfutures.core.margin.initial_margin`.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakenfutures.core.margin import MarginLevel
from krakenfutures.core.types import QtyMode, Side
from krakenfutures.sim.accounts import FLEX
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.exposure import _reference_orders_margin, orders_margin, weight_of
from krakenfutures.sim.instruments import DEFAULT_INSTRUMENTS, InstrumentSpec
from krakenfutures.sim.state import ExchangeConfig

HOUR = 3_600_000
T0 = 472_222 * HOUR + 10 * 60_000
D = Decimal
ACCOUNTS = ("a", "b")
SYMBOLS = ("PF_XBTUSD", "PF_ETHUSD", "PI_XBTUSD")
GROUPS = (FLEX, "fi_xbtusd")
# a tight ladder so that ordinary sizes cross tiers (thresholds in USD notional / contracts)
LADDER = (
    MarginLevel(D(0), D("0.02"), D("0.01")),
    MarginLevel(D(2_000), D("0.04"), D("0.02")),
    MarginLevel(D(9_000), D("0.1"), D("0.05")),
)


def _exchange(ladder: tuple[MarginLevel, ...] | None = None) -> Exchange:
    config = None
    if ladder is not None:
        instruments = tuple(replace(s, margin_levels=ladder) for s in DEFAULT_INSTRUMENTS)
        config = ExchangeConfig(instruments=instruments)
    ex = Exchange(config, now_ms=T0)
    for name in ACCOUNTS:
        ex.open_account(name, flex={"USD": D(40_000)}, margin={"fi_xbtusd": {"xbt": D("0.4")}})
    return ex


def _agree(ex: Exchange) -> None:
    """Incremental == full for every account and group, plain and with hypothetical orders."""
    ledger = ex.ledger
    exposure = ledger.exposure
    for name in ACCOUNTS:
        acct = ex.state.accounts[name]
        open_ids = sorted(o.order_id for o in acct.orders.values() if o.key)
        extras = [
            ("PF_XBTUSD", Side.BUY, D("0.0137"), D(59_990)),
            ("PF_ETHUSD", Side.SELL, D("0.3"), D("3001.7")),
            ("PI_XBTUSD", Side.SELL, D(70), D("60010.5")),
            ("PF_SOLUSD", Side.BUY, D("3.21"), D("150.33")),  # a symbol nobody trades here
        ]
        skips: list[str | None] = [None, *open_ids[:3]]
        for group in GROUPS:
            for extra in (None, *extras):
                for skip in skips:
                    fast = ledger.initial_margin_with_orders(acct, group, extra, skip)
                    full = exposure.full_initial_margin(acct, group, extra, skip)
                    assert str(fast) == str(full), (name, group, extra, skip)
            # an edit: the order itself left out and re-added with a new size and price
            for oid in open_ids[:3]:
                order = acct.orders[oid]
                assert order.limit_price is not None
                extra = (order.symbol, order.side, order.remaining * 3, order.limit_price)
                fast = ledger.initial_margin_with_orders(acct, group, extra, oid)
                full = exposure.full_initial_margin(acct, group, extra, oid)
                assert str(fast) == str(full), (name, group, "edit", oid)


op = st.one_of(
    st.tuples(
        st.just("send"),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(SYMBOLS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from(["lmt", "lmt", "post", "ioc", "mkt"]),
        st.integers(1, 60),  # size, in units of the symbol's step below
        st.integers(-5, 5),  # price offset from the mark, in steps
    ),
    st.tuples(st.just("cancel"), st.sampled_from(ACCOUNTS), st.integers(0, 50)),
    st.tuples(
        st.just("edit"),
        st.sampled_from(ACCOUNTS),
        st.integers(0, 50),
        st.integers(1, 60),
        st.integers(-5, 5),
    ),
    st.tuples(st.just("cancel_all"), st.sampled_from(ACCOUNTS)),
    st.tuples(  # one account rests an order, the other takes (part of) it: fills, positions
        st.just("trade"),
        st.sampled_from(ACCOUNTS),
        st.sampled_from(SYMBOLS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 60),
        st.integers(1, 80),
    ),
    st.tuples(st.just("index"), st.sampled_from(SYMBOLS), st.integers(-400, 400)),
)
STEP = {"PF_XBTUSD": (D("0.01"), 10), "PF_ETHUSD": (D("0.1"), 2), "PI_XBTUSD": (D(50), 20)}


def _price(ex: Exchange, symbol: str, offset: int) -> Decimal:
    spec = ex.instrument(symbol)
    ticks = spec.floor_ticks(ex.state.markets[symbol].mark_price) + offset * STEP[symbol][1]
    return spec.ticks_to_price(max(ticks, 1))


def _run(ex: Exchange, ops: list[tuple[object, ...]]) -> None:
    now = T0
    for item in ops:
        now += 250
        kind, *args = item
        if kind == "send":
            account, symbol, side, order_type, size, offset = args
            assert isinstance(symbol, str) and isinstance(size, int) and isinstance(offset, int)
            ex.send_order(
                str(account),
                symbol=symbol,
                side=side,  # type: ignore[arg-type]
                order_type=str(order_type),
                qty=STEP[symbol][0] * size,
                limit_price=None if order_type == "mkt" else _price(ex, symbol, offset),
                now_ms=now,
            )
        elif kind in ("cancel", "edit"):
            account, pick, *rest = args
            orders = ex.open_orders(str(account))
            if not orders:
                continue
            order = orders[int(pick) % len(orders)]  # type: ignore[call-overload]
            if kind == "cancel":
                ex.cancel_order(str(account), order_id=order.order_id, now_ms=now)
            else:
                size, offset = rest
                assert isinstance(size, int) and isinstance(offset, int)
                ex.edit_order(
                    str(account),
                    order_id=order.order_id,
                    qty=STEP[order.symbol][0] * size,
                    limit_price=_price(ex, order.symbol, offset),
                    qty_mode=QtyMode.RELATIVE,
                    now_ms=now,
                )
        elif kind == "cancel_all":
            ex.cancel_all_orders(str(args[0]), now_ms=now)
        elif kind == "trade":
            maker, symbol, side, size, take = args
            assert isinstance(symbol, str) and isinstance(size, int) and isinstance(take, int)
            assert isinstance(side, Side)
            taker = ACCOUNTS[1 - ACCOUNTS.index(str(maker))]
            step = STEP[symbol][0]
            price = _price(ex, symbol, -1 if side is Side.BUY else 1)
            ex.send_order(
                str(maker), symbol=symbol, side=side, order_type="lmt", qty=step * size,
                limit_price=price, now_ms=now,
            )  # fmt: skip
            ex.send_order(
                taker, symbol=symbol, side=side.opposite, order_type="ioc", qty=step * take,
                limit_price=price, now_ms=now,
            )  # fmt: skip
        else:
            symbol, bps = args
            assert isinstance(symbol, str) and isinstance(bps, int)
            index = ex.state.markets[symbol].index_price
            ex.set_index_price(symbol, (index * (10_000 + bps) / 10_000).quantize(D("0.5")), now)
        _agree(ex)
    assert ex.check_invariants() == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40))
def test_incremental_margin_equals_full_recomputation(ops: list[tuple[object, ...]]) -> None:
    _run(_exchange(), ops)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40))
def test_incremental_margin_with_a_tiered_ladder(ops: list[tuple[object, ...]]) -> None:
    """Sizes cross the ladder's tiers all the time: the tier of each term must match too."""
    _run(_exchange(LADDER), ops)


def test_a_busy_book_of_one_account() -> None:
    """The benchmark's pattern: hundreds of resting orders placed and cancelled in waves."""
    ex = _exchange()
    acct = ex.state.accounts["a"]
    prices = [D(59_000 - i) for i in range(40)] + [D(61_000 + i) for i in range(40)]
    resting: dict[Decimal, str] = {}
    now = T0
    for i in range(400):
        now += 1
        price = prices[i % len(prices)]
        oid = resting.pop(price, None)
        if oid is None:
            side = Side.BUY if price < 60_000 else Side.SELL
            r = ex.send_order(
                "a", symbol="PF_XBTUSD", side=side, order_type="post", qty=D("0.0101"),
                limit_price=price, now_ms=now,
            )  # fmt: skip
            assert r.status == "placed" and r.order_id is not None
            resting[price] = r.order_id
        else:
            ex.cancel_order("a", order_id=oid, now_ms=now)
        extra = ("PF_XBTUSD", Side.SELL, D("0.5"), D(61_500))
        assert str(ex.ledger.initial_margin_with_orders(acct, FLEX, extra)) == str(
            ex.ledger.exposure.full_initial_margin(acct, FLEX, extra)
        )
    assert ex.check_invariants() == []


specs = st.sampled_from(
    [
        InstrumentSpec("PF_XBTUSD", tick_size=D(1), lot_size=D("0.0001"), base="XBT"),
        InstrumentSpec("PI_XBTUSD", tick_size=D("0.5"), lot_size=D(1), base="XBT"),
        InstrumentSpec(
            "PF_ETHUSD", tick_size=D("0.1"), lot_size=D("0.001"), base="ETH", margin_levels=LADDER
        ),
        InstrumentSpec(
            "PI_ETHUSD", tick_size=D("0.05"), lot_size=D(1), base="ETH", margin_levels=LADDER
        ),
    ]
)
amounts = st.decimals(min_value=D("0.0001"), max_value=D(10**6), places=4)
prices = st.decimals(min_value=D("0.05"), max_value=D(200_000), places=2)


@settings(max_examples=300, deadline=None)
@given(
    spec=specs,
    orders=st.lists(st.tuples(amounts, prices), min_size=1, max_size=4),
    offset=st.one_of(st.just(D(0)), amounts),
)
def test_fast_orders_margin_has_core_digits(
    spec: InstrumentSpec, orders: list[tuple[Decimal, Decimal]], offset: Decimal
) -> None:
    qty = sum((q for q, _ in orders), D(0))
    weight = sum((weight_of(spec, q, p) for q, p in orders), D(0))
    fast = orders_margin(spec, qty, weight, offset)
    assert str(fast) == str(_reference_orders_margin(spec, qty, weight, offset))
    assert (fast > 0) == (qty > offset)


def test_a_fill_elsewhere_moves_the_offset_of_resting_orders() -> None:
    """Orders are margined beyond the opposite position: when a trade changes the position
    while the resting orders stay as they were, their (cached) terms must move with it."""
    ex = _exchange()
    acct = ex.state.accounts["a"]
    now = T0

    def place(account: str, side: Side, order_type: str, qty: str, price: int) -> None:
        nonlocal now
        now += 1
        ex.send_order(
            account, symbol="PF_XBTUSD", side=side, order_type=order_type, qty=D(qty),
            limit_price=D(price), now_ms=now,
        )  # fmt: skip

    def check() -> None:
        for extra in (None, ("PF_XBTUSD", Side.BUY, D("0.02"), D(59_500))):
            fast = ex.ledger.initial_margin_with_orders(acct, FLEX, extra)
            assert str(fast) == str(ex.ledger.exposure.full_initial_margin(acct, FLEX, extra))

    place("a", Side.BUY, "post", "0.3", 59_000)  # rests, margined in full
    place("a", Side.SELL, "post", "0.1", 61_000)
    check()
    before = ex.ledger.initial_margin_with_orders(acct, FLEX)
    for _ in range(3):  # a sells into b's bids: short 0.15, then 0.3, then 0.45
        place("b", Side.BUY, "post", "0.15", 60_100)
        place("a", Side.SELL, "ioc", "0.15", 60_100)
        check()
    assert acct.positions["PF_XBTUSD"].qty == D("-0.45")
    # the 0.3 of resting buys would now only close the short: no order margin left for them
    assert ex.ledger.initial_margin_with_orders(acct, FLEX) != before
    assert ex.check_invariants() == []
