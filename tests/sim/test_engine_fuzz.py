"""Random operation sequences keep every engine invariant (no crossed book, books equal resting
orders, fill bounds, open interest, no negative equity without liquidation) and survive a
snapshot round trip."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from krakenfutures.core.types import QtyMode, SelfTradeStrategy, Side, TradingState
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange

HOUR = 3_600_000
T0 = 472_222 * HOUR + 10 * 60_000
ACCOUNTS = ("a", "b", "c")
SYMBOLS = ("PF_XBTUSD", "PI_XBTUSD")
TYPES = ("lmt", "lmt", "lmt", "post", "mkt", "ioc", "fok", "stp", "take_profit")

accounts = st.sampled_from(ACCOUNTS)
symbols = st.sampled_from(SYMBOLS)
sides = st.sampled_from([Side.BUY, Side.SELL])


class ExchangeMachine(RuleBasedStateMachine):
    """Drives one exchange with random calls; the engine must never break an invariant."""

    def __init__(self) -> None:
        super().__init__()
        self.ex = Exchange(now_ms=T0)
        for name in ACCOUNTS:
            self.ex.open_account(
                name, flex={"USD": Decimal(3000)}, margin={"fi_xbtusd": {"xbt": Decimal("0.05")}}
            )
        self.now = T0

    def _price(self, symbol: str, offset: int) -> Decimal:
        spec = self.ex.instrument(symbol)
        mark = self.ex.state.markets[symbol].mark_price
        ticks = spec.floor_ticks(mark) + offset * (20 if symbol == "PI_XBTUSD" else 10)
        return spec.ticks_to_price(max(ticks, 1))

    @rule(
        account=accounts,
        symbol=symbols,
        side=sides,
        kind=st.sampled_from(TYPES),
        lots=st.integers(1, 40),
        offset=st.integers(-6, 6),
        reduce_only=st.sampled_from([False, False, False, True]),
        cli=st.sampled_from([None, None, None, "x", "y"]),
        signal=st.sampled_from(["mark", "index", "last"]),
    )
    def send(
        self,
        account: str,
        symbol: str,
        side: Side,
        kind: str,
        lots: int,
        offset: int,
        reduce_only: bool,
        cli: str | None,
        signal: str,
    ) -> None:
        spec = self.ex.instrument(symbol)
        qty = spec.lots_to_qty(lots * (500 if symbol == "PI_XBTUSD" else 100))
        price = self._price(symbol, offset)
        limit = price if kind in ("lmt", "post", "ioc", "fok") else None
        stop = self._price(symbol, offset // 2) if kind in ("stp", "take_profit") else None
        result = self.ex.send_order(
            account,
            symbol=symbol,
            side=side,
            order_type=kind,
            qty=qty,
            limit_price=limit,
            stop_price=stop,
            trigger_signal=signal if stop else None,
            reduce_only=reduce_only,
            cli_ord_id=cli,
            now_ms=self.now,
        )
        assert result.status in {
            "placed",
            "postWouldExecute",
            "iocWouldNotExecute",
            "selfFill",
            "wouldNotReducePosition",
            "insufficientAvailableFunds",
            "clientOrderIdAlreadyExist",
            "maxPositionViolation",
            "marketSuspended",
            "marketIsPostOnly",
            "marketInactive",
            "outsidePriceCollar",
            "tooManyOrders",
        }, result.status

    @precondition(lambda self: any(self.ex.open_orders(a) for a in ACCOUNTS))
    @rule(
        data=st.data(),
        lots=st.none() | st.integers(1, 40),
        offset=st.none() | st.integers(-6, 6),
        absolute=st.booleans(),
    )
    def edit(
        self, data: st.DataObject, lots: int | None, offset: int | None, absolute: bool
    ) -> None:
        account = data.draw(st.sampled_from([a for a in ACCOUNTS if self.ex.open_orders(a)]))
        order = data.draw(st.sampled_from(self.ex.open_orders(account)))
        spec = self.ex.instrument(order.symbol)
        qty = spec.lots_to_qty(lots * 100) if lots is not None else None
        is_trigger = order.is_trigger
        price = self._price(order.symbol, offset) if offset is not None else None
        self.ex.edit_order(
            account,
            order_id=order.order_id,
            qty=qty,
            limit_price=None if is_trigger else price,
            stop_price=price if is_trigger else None,
            qty_mode=QtyMode.ABSOLUTE if absolute else QtyMode.RELATIVE,
            now_ms=self.now,
        )

    @precondition(lambda self: any(self.ex.open_orders(a) for a in ACCOUNTS))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        account = data.draw(st.sampled_from([a for a in ACCOUNTS if self.ex.open_orders(a)]))
        order = data.draw(st.sampled_from(self.ex.open_orders(account)))
        assert (
            self.ex.cancel_order(account, order_id=order.order_id, now_ms=self.now).status
            == "cancelled"
        )

    @rule(account=accounts, symbol=st.none() | symbols)
    def cancel_all(self, account: str, symbol: str | None) -> None:
        self.ex.cancel_all_orders(account, symbol, now_ms=self.now)

    @rule(account=accounts, timeout=st.sampled_from([0, 5, 60]))
    def dead_mans_switch(self, account: str, timeout: int) -> None:
        self.ex.cancel_all_orders_after(account, timeout, now_ms=self.now)

    @rule(step=st.sampled_from([1, 1000, 60_000, 20 * 60_000, HOUR + 7]))
    def advance(self, step: int) -> None:
        self.now += step
        self.ex.advance(self.now)

    @rule(symbol=symbols, bps=st.integers(-300, 300))
    def move_index(self, symbol: str, bps: int) -> None:
        market = self.ex.state.markets[symbol]
        self.ex.set_index_price(
            symbol, (market.index_price * (10000 + bps) / 10000).quantize(Decimal("0.01")), self.now
        )

    @rule(symbol=symbols, bps=st.none() | st.integers(-500, 500))
    def pin_mark(self, symbol: str, bps: int | None) -> None:
        index = self.ex.state.markets[symbol].index_price
        price = None if bps is None else (index * (10000 + bps) / 10000).quantize(Decimal("0.01"))
        self.ex.set_mark_price(symbol, price, self.now)

    @rule(
        symbol=symbols,
        state=st.sampled_from(
            [TradingState.OPEN] * 4 + [TradingState.POST_ONLY, TradingState.SUSPENDED]
        ),
    )
    def trading_state(self, symbol: str, state: TradingState) -> None:
        self.ex.set_trading_state(symbol, state, self.now)

    @rule(account=accounts, strategy=st.sampled_from(list(SelfTradeStrategy)))
    def self_trade_strategy(self, account: str, strategy: SelfTradeStrategy) -> None:
        self.ex.set_self_trade_strategy(account, strategy)

    @rule(account=accounts, side=sides, lots=st.integers(1, 20), offset=st.integers(-3, 3))
    def batch(self, account: str, side: Side, lots: int, offset: int) -> None:
        orders = self.ex.open_orders(account)
        items: list[d.BatchInstruction] = [
            d.SendInstruction(
                "s",
                "PF_XBTUSD",
                side,
                "lmt",
                Decimal(lots) / 100,
                limit_price=self._price("PF_XBTUSD", offset),
            ),
        ]
        if orders:
            items.append(d.CancelInstruction(order_id=orders[0].order_id))
        self.ex.batch(account, items, now_ms=self.now)

    @rule()
    def round_trip(self) -> None:
        snap = self.ex.snapshot()
        twin = Exchange.restore(json.loads(json.dumps(snap)))
        assert twin.snapshot() == snap
        assert twin.check_invariants() == []

    @invariant()
    def invariants_hold(self) -> None:
        assert self.ex.check_invariants() == []


ExchangeMachine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestExchangeMachine = ExchangeMachine.TestCase


def _grid_price(ex: Exchange, symbol: str, offset: int) -> Decimal:
    """A tick-grid price ``offset`` steps (about 2 bp each) from the mark."""
    spec = ex.instrument(symbol)
    mark_ticks = spec.floor_ticks(ex.state.markets[symbol].mark_price)
    return spec.ticks_to_price(max(1, mark_ticks + offset * max(1, mark_ticks // 5000)))


def _lot_unit(ex: Exchange, symbol: str) -> int:
    """About 2,000 USD of notional, in lots."""
    spec = ex.instrument(symbol)
    if spec.kind.value != "linear":
        return 100
    return max(1, int(Decimal(2000) / (ex.state.markets[symbol].mark_price * spec.lot_size)))


def _random_session(seed: int, steps: int) -> Exchange:
    """A long seeded session (deeper than hypothesis reaches): thin accounts, swinging prices,
    every order type and call, invariants checked after every step."""
    rng = random.Random(seed)
    ex = Exchange(now_ms=T0, rng=random.Random(seed))
    names = ("a", "b", "c", "d")
    for name in names:
        ex.open_account(
            name,
            flex={"USD": Decimal(rng.choice([2000, 5000, 50000]))},
            margin={"fi_xbtusd": {"xbt": Decimal("0.05")}},
        )
    now = T0
    for _ in range(steps):
        account, symbol = rng.choice(names), rng.choice((*SYMBOLS, "PF_ETHUSD"))
        spec = ex.instrument(symbol)
        roll = rng.random()
        if roll < 0.45:
            kind = rng.choice(["lmt"] * 4 + ["post", "mkt", "ioc", "fok", "stp", "take_profit"])
            trigger = kind in ("stp", "take_profit")
            with_limit = kind in ("lmt", "post", "ioc", "fok") or (trigger and rng.random() < 0.5)
            ex.send_order(
                account,
                symbol=symbol,
                side=rng.choice([Side.BUY, Side.SELL]),
                order_type=kind,
                qty=spec.lots_to_qty(rng.randint(1, 60) * _lot_unit(ex, symbol)),
                limit_price=_grid_price(ex, symbol, rng.randint(-8, 8)) if with_limit else None,
                stop_price=_grid_price(ex, symbol, rng.randint(-4, 4)) if trigger else None,
                trigger_signal=rng.choice(["mark", "index", "last"]) if trigger else None,
                reduce_only=rng.random() < 0.15,
                cli_ord_id=rng.choice([None] * 5 + ["x", "y"]),
                now_ms=now,
            )
        elif roll < 0.55 and ex.open_orders(account):
            order = rng.choice(ex.open_orders(account))
            unit = _lot_unit(ex, order.symbol)
            new_price = (
                _grid_price(ex, order.symbol, rng.randint(-8, 8)) if rng.random() < 0.6 else None
            )
            ex.edit_order(
                account,
                order_id=order.order_id,
                qty=ex.instrument(order.symbol).lots_to_qty(rng.randint(1, 50) * unit)
                if rng.random() < 0.5
                else None,
                limit_price=None if order.is_trigger else new_price,
                stop_price=new_price if order.is_trigger else None,
                qty_mode=rng.choice(["RELATIVE", "ABSOLUTE"]),
                now_ms=now,
            )
        elif roll < 0.65 and ex.open_orders(account):
            ex.cancel_order(
                account, order_id=rng.choice(ex.open_orders(account)).order_id, now_ms=now
            )
        elif roll < 0.67:
            ex.cancel_all_orders(account, rng.choice([None, symbol]), now_ms=now)
        elif roll < 0.69:
            ex.cancel_all_orders_after(account, rng.choice([0, 1, 30]), now_ms=now)
        elif roll < 0.78:
            now += rng.choice([1, 500, 5000, 60_000, 15 * 60_000, HOUR])
            ex.advance(now)
        elif roll < 0.86:
            index = ex.state.markets[symbol].index_price
            ex.set_index_price(
                symbol,
                (index * (1 + Decimal(rng.randint(-200, 200)) / 10000)).quantize(Decimal("0.01")),
                now,
            )
        elif roll < 0.90:
            index = ex.state.markets[symbol].index_price
            pinned = (index * (1 + Decimal(rng.randint(-800, 800)) / 10000)).quantize(
                Decimal("0.01")
            )
            ex.set_mark_price(symbol, None if rng.random() < 0.4 else pinned, now)
        elif roll < 0.92:
            ex.set_trading_state(
                symbol,
                rng.choice(
                    [TradingState.OPEN] * 5 + [TradingState.POST_ONLY, TradingState.SUSPENDED]
                ),
                now,
            )
        elif roll < 0.94:
            ex.set_self_trade_strategy(account, rng.choice(list(SelfTradeStrategy)))
        else:
            wallets = ["flex", "cash", "fi_xbtusd"]
            ex.transfer(
                account,
                rng.choice(wallets),
                rng.choice(wallets),
                rng.choice(["USD", "XBT"]),
                Decimal(rng.choice(["0.01", "100", "5000"])),
                now,
            )
        assert ex.check_invariants() == []
    return ex


@pytest.mark.parametrize("seed", [1, 2])
def test_long_random_sessions_keep_invariants_and_round_trip(seed: int) -> None:
    ex = _random_session(seed, 700)
    fills = sum(len(a.fills) for a in ex.state.accounts.values())
    liquidations = sum(a.liquidations for a in ex.state.accounts.values())
    assert fills > 20 and liquidations > 0  # the session really traded and blew up an account
    snap = ex.snapshot()
    assert Exchange.restore(json.loads(json.dumps(snap))).snapshot() == snap
