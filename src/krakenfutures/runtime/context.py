"""``StrategyContext``: the runtime's implementation of :class:`krakenfutures.strategy.Context`.

Every intent a strategy makes goes through here in the same order, so that nothing forbidden
ever reaches the wire: validate against the instrument (tick, lot, known symbol), check the
halt flags and the reject circuit breaker, run the pure risk rules (trading-state gate first),
then hand it to the :class:`~krakenfutures.oms.manager.OrderManager`, which journals it before
sending. A refusal is returned as :class:`~krakenfutures.risk.rules.Denied` *and* delivered to
the strategy's ``on_denied`` hook; it never raises into strategy code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypeVar

from krakenfutures.core.events import OrderDenied, TickerUpdate
from krakenfutures.core.money import FeeSchedule
from krakenfutures.core.orders import OrderIntent
from krakenfutures.core.types import OrderType, Side, TradingState, normalize_symbol
from krakenfutures.errors import StateError, ValidationError
from krakenfutures.oms.positions import PositionPnl
from krakenfutures.oms.tracker import TrackedOrder
from krakenfutures.oms.venue import BalanceRecord
from krakenfutures.risk.rules import Denied, Rule, check_amend

if TYPE_CHECKING:
    from krakenfutures.core.book import OrderBook
    from krakenfutures.runtime.node import Node

_E = TypeVar("_E", Side, OrderType)


@dataclass(frozen=True, slots=True)
class Instrument:
    """A contract's order rules: prices are multiples of ``tick_size``; quantities at least
    ``min_qty`` and multiples of ``qty_step``."""

    symbol: str
    tick_size: Decimal
    min_qty: Decimal
    qty_step: Decimal


def check_instrument(intent: OrderIntent, inst: Instrument) -> str | None:
    """Why ``intent`` breaks the instrument's tick/lot rules, or ``None``. Never raises."""
    try:
        if intent.qty < inst.min_qty:
            return f"qty {intent.qty} is below the minimum {inst.min_qty} of {inst.symbol}"
        if inst.qty_step and intent.qty % inst.qty_step != 0:
            return (
                f"qty {intent.qty} is not a multiple of the lot size {inst.qty_step} of "
                f"{inst.symbol}; round it down to a multiple"
            )
        for name, price in (("limit_price", intent.limit_price), ("stop_price", intent.stop_price)):
            if price is not None and inst.tick_size and price % inst.tick_size != 0:
                return (
                    f"{name} {price} is not a multiple of the tick size {inst.tick_size} of "
                    f"{inst.symbol}; round it to a tick (ctx.instrument(symbol).tick_size)"
                )
    except (InvalidOperation, ArithmeticError) as exc:
        return f"cannot check the order against {inst.symbol}'s rules: {exc}"
    return None


_SIDES: dict[object, Side] = {m.value: m for m in Side}
_ORDER_TYPES: dict[object, OrderType] = {m.value: m for m in OrderType}


def _enum(kind: type[_E], by_value: dict[object, _E], value: object) -> _E:
    """``kind(value)`` by one dict lookup for the exact values (every order passes one); any
    other value goes through ``kind(value)`` itself, with its errors."""
    try:
        return by_value[value]
    except (KeyError, TypeError):
        return kind(value)


class StrategyContext:
    """One strategy's view of the runtime (see :class:`krakenfutures.strategy.Context`)."""

    def __init__(self, node: Node, strategy: str) -> None:
        self._node = node
        self._strategy = strategy
        self._log = logging.getLogger(f"krakenfutures.strategy.{strategy}")

    # ------------------------------------------------------------------------ views

    @property
    def now_ms(self) -> int:
        """Venue time, epoch ms."""
        return self._node.clock.now_ms()

    @property
    def strategy(self) -> str:
        """This strategy's name."""
        return self._strategy

    @property
    def log(self) -> logging.Logger:
        """A logger named after the strategy."""
        return self._log

    @property
    def fees(self) -> FeeSchedule:
        """The fee schedule in force."""
        return self._node.fees

    @property
    def volume_30d_usd(self) -> Decimal:
        """The 30-day volume that selects the fee tier."""
        return self._node.volume_30d_usd

    def instrument(self, symbol: str) -> Instrument:
        """Order rules of ``symbol`` (``ValidationError`` for a symbol the venue does not list)."""
        symbol = normalize_symbol(symbol)
        try:
            return self._node.instruments[symbol]
        except KeyError:
            known = ", ".join(sorted(self._node.instruments)) or "none loaded"
            raise ValidationError(f"unknown symbol {symbol!r}; known: {known}") from None

    def book(self, symbol: str) -> OrderBook | None:
        """The local L2 book of ``symbol``, or ``None`` before its snapshot."""
        return self._node.books.get(normalize_symbol(symbol))

    def ticker(self, symbol: str) -> TickerUpdate | None:
        """The latest ticker of ``symbol``."""
        return self._node.tickers.get(normalize_symbol(symbol))

    def trading_state(self, symbol: str) -> TradingState:
        """The trading-state gate for ``symbol``."""
        return self._node.trading_state(normalize_symbol(symbol))

    def position(self, symbol: str) -> PositionPnl:
        """This strategy's position and PnL in ``symbol``."""
        return self._node.manager.positions.get(self._strategy, symbol)

    def open_orders(self, symbol: str | None = None) -> Sequence[TrackedOrder]:
        """This strategy's live orders (in ``symbol`` if given)."""
        sym = normalize_symbol(symbol) if symbol else None
        return tuple(
            o
            for o in self._node.manager.tracker.orders(live_only=True)
            if o.strategy == self._strategy and (sym is None or o.symbol == sym)
        )

    def balances(self) -> Mapping[str, BalanceRecord]:
        """Collateral balances by currency (as last reported)."""
        return dict(self._node.balances)

    # ------------------------------------------------------------------------ intents

    def submit(
        self,
        *,
        symbol: str,
        side: Side | str,
        qty: Decimal | int | str,
        order_type: OrderType | str = OrderType.LMT,
        limit_price: Decimal | int | str | None = None,
        stop_price: Decimal | int | str | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str | Denied:
        """Check and queue a new order; its ``cli_ord_id``, or the :class:`Denied` verdict."""
        intent = OrderIntent(
            symbol=symbol,
            side=_enum(Side, _SIDES, side),
            qty=qty,  # type: ignore[arg-type]  # OrderIntent converts and validates
            order_type=_enum(OrderType, _ORDER_TYPES, order_type),
            limit_price=limit_price,  # type: ignore[arg-type]
            stop_price=stop_price,  # type: ignore[arg-type]
            post_only=post_only,
            reduce_only=reduce_only,
        )
        node = self._node
        inst = node.instruments.get(intent.symbol)
        if inst is None:
            known = ", ".join(sorted(node.instruments)) or "none loaded"
            return self._deny(
                "submit",
                intent.symbol,
                Rule.INVALID_ORDER,
                f"unknown symbol {intent.symbol!r}; known: {known}",
            )
        problem = check_instrument(intent, inst)
        if problem:
            return self._deny("submit", intent.symbol, Rule.INVALID_ORDER, problem)
        verdict = node.check_intent(intent, self._strategy)
        if isinstance(verdict, Denied):
            return self._deny("submit", intent.symbol, verdict.rule, verdict.reason)
        stamped = node.manager.submit(intent, strategy=self._strategy)
        return stamped.cli_ord_id

    def amend(
        self,
        cli_ord_id: str,
        *,
        qty: Decimal | int | str | None = None,
        limit_price: Decimal | int | str | None = None,
    ) -> Denied | None:
        """Check and queue an amend of a resting order; ``None`` when queued."""
        node = self._node
        order = node.manager.tracker.find(cli_ord_id)
        if order is None or order.strategy != self._strategy:
            return self._deny(
                "amend",
                "",
                Rule.INVALID_ORDER,
                f"no order {cli_ord_id!r} of this strategy",
                cli_ord_id,
            )
        try:
            from krakenfutures.core.orders import AmendIntent

            request = AmendIntent(cli_ord_id=cli_ord_id, qty=qty, limit_price=limit_price)  # type: ignore[arg-type]
        except ValidationError as exc:
            return self._deny("amend", order.symbol, Rule.INVALID_ORDER, str(exc), cli_ord_id)
        inst = node.instruments.get(order.symbol)
        if inst is not None and request.limit_price is not None:
            problem = check_instrument(
                OrderIntent(
                    symbol=order.symbol,
                    side=order.intent.side,
                    qty=request.qty or order.intent.qty,
                    limit_price=request.limit_price,
                ),
                inst,
            )
            if problem:
                return self._deny("amend", order.symbol, Rule.INVALID_ORDER, problem, cli_ord_id)
        state = node.risk_state(order.symbol, self._strategy)
        verdict = check_amend(
            order.intent, request, state, node.limits_for(order.symbol), filled_qty=order.filled_qty
        )
        if isinstance(verdict, Denied):
            return self._deny("amend", order.symbol, verdict.rule, verdict.reason, cli_ord_id)
        try:
            node.manager.amend(cli_ord_id, qty=request.qty, limit_price=request.limit_price)
        except (StateError, ValidationError) as exc:
            return self._deny(
                "amend", order.symbol, Rule.INVALID_ORDER, f"cannot amend now: {exc}", cli_ord_id
            )
        return None

    def cancel(self, cli_ord_id: str) -> None:
        """Queue a cancel (cancels pass every gate)."""
        order = self._node.manager.tracker.find(cli_ord_id)
        if order is None or order.strategy != self._strategy:
            self._log.warning("cancel of unknown order %s ignored", cli_ord_id)
            return
        self._node.manager.cancel(cli_ord_id)

    def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every live order of this strategy (in ``symbol`` if given)."""
        self._node.manager.cancel_all(
            strategy=self._strategy, symbol=normalize_symbol(symbol) if symbol else None
        )

    def alert(self, text: str, *, severity: str = "info") -> None:
        """Send ``text`` to the alert sinks."""
        self._node.alert("info", text, severity=severity, strategy=self._strategy)

    # ------------------------------------------------------------------------ internals

    def _deny(
        self, action: str, symbol: str, rule: Rule | str, reason: str, cli_ord_id: str = ""
    ) -> Denied:
        rule_value = Rule(rule) if rule in Rule._value2member_map_ else Rule.INTERNAL
        denied = OrderDenied(
            strategy=self._strategy,
            symbol=symbol,
            action=action,
            rule=str(rule),
            reason=reason,
            ts_ms=self.now_ms,
            cli_ord_id=cli_ord_id,
        )
        self._node.on_denied(denied)
        return Denied(reason, rule_value)


__all__ = ["Instrument", "StrategyContext", "check_instrument"]
