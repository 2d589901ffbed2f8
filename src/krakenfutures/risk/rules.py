"""Pre-trade risk rules: ``check(intent, state, limits) -> Approved | Denied``. Pure, never raise.

A denial is a value the strategy sees (``Denied(reason, rule)``), not an exception. Rules run in
this order and the first denial wins: trading-state gate, halt, max order qty, max order
notional, price band, max open orders, max position, daily loss. Cancels pass the gate in every
state and skip the other rules: taking an order off the book never adds risk.

Trading-state gate (:data:`GATE`), from :class:`~krakenfutures.core.types.TradingState`:

==============  ==================================================
open            any order, cancels
post_only       post-only orders and cancels
suspended       cancels only
maintenance     cancels only (the exchange may refuse them; trying is harmless)
unknown         cancels only (stale data must not stop us pulling quotes)
==============  ==================================================

Boundaries: a value equal to its limit passes (qty, notional, position, band), except the daily
loss limit, which stops new risk once the loss *reaches* it, and max open orders, which counts
the new order (``open_orders + 1 <= max``). An order that shrinks the worst-case position is
never denied by the position rule, and reduce-only orders pass the position and daily-loss
rules.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import ParamSpec

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.money import notional_usd
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent
from krakenfutures.core.types import OrderType, Side, TradingState, contract_kind
from krakenfutures.errors import ValidationError

P = ParamSpec("P")
ZERO = Decimal(0)
DAY_MS = 86_400_000


class Rule(StrEnum):
    """Which rule denied an intent."""

    TRADING_STATE = "trading_state"
    HALTED = "halted"
    MAX_ORDER_QTY = "max_order_qty"
    MAX_ORDER_NOTIONAL = "max_order_notional"
    PRICE_BAND = "price_band"
    MAX_OPEN_ORDERS = "max_open_orders"
    MAX_POSITION = "max_position"
    DAILY_LOSS = "daily_loss"
    CIRCUIT_BREAKER = "circuit_breaker"
    INVALID_ORDER = "invalid_order"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Approved:
    """The intent may be sent."""


@dataclass(frozen=True, slots=True)
class Denied:
    """The intent must not be sent: ``rule`` said no, ``reason`` says why in words."""

    reason: str
    rule: Rule


Verdict = Approved | Denied
APPROVED = Approved()


class Action(StrEnum):
    """What the trading-state gate distinguishes."""

    CANCEL = "cancel"
    POST_ONLY = "post_only"
    ANY_ORDER = "any_order"


GATE: Mapping[TradingState, frozenset[Action]] = {
    TradingState.OPEN: frozenset({Action.CANCEL, Action.POST_ONLY, Action.ANY_ORDER}),
    TradingState.POST_ONLY: frozenset({Action.CANCEL, Action.POST_ONLY}),
    TradingState.SUSPENDED: frozenset({Action.CANCEL}),
    TradingState.MAINTENANCE: frozenset({Action.CANCEL}),
    TradingState.UNKNOWN: frozenset({Action.CANCEL}),
}
"""Which actions each trading state allows (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits for one symbol (the caller picks the right instance); ``None`` disables a rule.

    ``max_position_qty`` bounds |net position| in contracts counting every open order on the
    same side as filled; ``max_order_notional_usd`` uses the limit (or stop) price, else the
    mark; ``price_band`` is a fraction around the mark (0.05 = 5 %) for limit prices;
    ``trigger_band`` the same for stop prices (off by default: stop-losses rest far away on
    purpose); ``max_daily_loss`` is a positive amount in the currency of ``RiskState.daily_pnl``.
    """

    max_position_qty: Decimal | None = None
    max_order_qty: Decimal | None = None
    max_order_notional_usd: Decimal | None = None
    max_open_orders: int | None = None
    price_band: Decimal | None = Decimal("0.05")
    trigger_band: Decimal | None = None
    max_daily_loss: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskState:
    """What the rules look at, for the intent's symbol.

    ``position_qty`` is the signed net position; ``open_buy_qty``/``open_sell_qty`` the unfilled
    qty of live orders (pending and unknown ones included); ``open_orders`` the count they are
    limited by; ``daily_pnl`` realised + unrealised PnL net of fees and funding since UTC
    midnight (see :func:`utc_day_start_ms`); ``halt_reason`` set stops new orders (auth failure,
    insufficient funds, a tripped breaker).
    """

    trading_state: TradingState
    mark_price: Decimal | None = None
    position_qty: Decimal = ZERO
    open_buy_qty: Decimal = ZERO
    open_sell_qty: Decimal = ZERO
    open_orders: int = 0
    daily_pnl: Decimal = ZERO
    halt_reason: str | None = None


def utc_day_start_ms(now_ms: int) -> int:
    """The last UTC midnight at or before ``now_ms``: where the daily loss window starts."""
    return now_ms - now_ms % DAY_MS


# ------------------------------------------------------------------------------- the rules


def _raw(func: Callable[P, Verdict]) -> Callable[P, Verdict]:
    """The rule without its :func:`_never_raises` guard."""
    return getattr(func, "__wrapped__", func)  # type: ignore[no-any-return]


def _internal(exc: Exception) -> Denied:
    # A malformed input must not crash the caller, and must not let an order through.
    return Denied(f"risk check failed ({type(exc).__name__}: {exc}); refusing", Rule.INTERNAL)


def _never_raises(func: Callable[P, Verdict]) -> Callable[P, Verdict]:
    """Turn any exception of a ``check_*`` function into a :class:`Denied` (fail closed)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Verdict:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            return _internal(exc)

    return wrapper


@_never_raises
def check_trading_state(intent: OrderIntent | CancelIntent, trading_state: TradingState) -> Verdict:
    """The gate alone: is this kind of intent allowed in ``trading_state``?"""
    allowed = GATE.get(trading_state, frozenset())
    if isinstance(intent, CancelIntent):
        if Action.CANCEL in allowed:
            return APPROVED
        return Denied(f"trading state {trading_state.value}: no cancels", Rule.TRADING_STATE)
    post_only = intent.order_type is OrderType.POST
    if (Action.POST_ONLY if post_only else Action.ANY_ORDER) in allowed:
        return APPROVED
    wanted = "post-only orders" if post_only else f"{intent.order_type.value} orders"
    if Action.POST_ONLY in allowed:
        wanted += " (only post-only orders are accepted now)"
    return Denied(f"{intent.symbol} is {trading_state.value}: no {wanted}", Rule.TRADING_STATE)


@_never_raises
def check_order_qty(intent: OrderIntent, limits: RiskLimits) -> Verdict:
    """``qty <= max_order_qty``."""
    if limits.max_order_qty is not None and intent.qty > limits.max_order_qty:
        return Denied(
            f"order qty {intent.qty} exceeds the maximum {limits.max_order_qty} per order",
            Rule.MAX_ORDER_QTY,
        )
    return APPROVED


@_never_raises
def check_order_notional(intent: OrderIntent, state: RiskState, limits: RiskLimits) -> Verdict:
    """USD notional (at the limit/stop price, else the mark) ``<= max_order_notional_usd``."""
    limit = limits.max_order_notional_usd
    if limit is None:
        return APPROVED
    price = intent.limit_price or intent.stop_price or state.mark_price
    if price is None:
        return Denied(
            f"no price to value a {intent.order_type} order and no mark price for "
            f"{intent.symbol}: cannot check the notional limit",
            Rule.MAX_ORDER_NOTIONAL,
        )
    notional = notional_usd(contract_kind(intent.symbol), intent.qty, price)
    if notional > limit:
        return Denied(
            f"order notional {notional} USD exceeds the maximum {limit} USD",
            Rule.MAX_ORDER_NOTIONAL,
        )
    return APPROVED


@_never_raises
def check_price_band(intent: OrderIntent, state: RiskState, limits: RiskLimits) -> Verdict:
    """Limit price within ``mark * (1 +/- price_band)``, stop price within ``trigger_band``
    (both inclusive; ``None`` skips the check)."""
    limit_price, limit_band = intent.limit_price, limits.price_band
    stop_price, stop_band = intent.stop_price, limits.trigger_band
    check_limit = limit_price is not None and limit_band is not None
    check_stop = stop_price is not None and stop_band is not None
    if not (check_limit or check_stop):
        return APPROVED
    mark = state.mark_price
    if mark is None or mark <= 0:
        return Denied(
            f"no mark price for {intent.symbol}: cannot check the price band", Rule.PRICE_BAND
        )
    if check_limit:
        verdict = _band(mark, "limit price", limit_price, limit_band)  # type: ignore[arg-type]
        if isinstance(verdict, Denied):
            return verdict
    if check_stop:
        return _band(mark, "stop price", stop_price, stop_band)  # type: ignore[arg-type]
    return APPROVED


def _band(mark: Decimal, what: str, price: Decimal, band: Decimal) -> Verdict:
    # EXACT's methods compute what the operators compute under ``localcontext(EXACT)``,
    # without copying a context on every order.
    low = EXACT.multiply(mark, EXACT.subtract(1, band))
    high = EXACT.multiply(mark, EXACT.add(1, band))
    if not low <= price <= high:
        return Denied(
            f"{what} {price} is outside {low}..{high} ({band:%} around mark {mark})",
            Rule.PRICE_BAND,
        )
    return APPROVED


@_never_raises
def check_open_orders(state: RiskState, limits: RiskLimits) -> Verdict:
    """One more order keeps the count ``<= max_open_orders``."""
    if limits.max_open_orders is not None and state.open_orders + 1 > limits.max_open_orders:
        return Denied(
            f"{state.open_orders} orders are open; the maximum is {limits.max_open_orders}",
            Rule.MAX_OPEN_ORDERS,
        )
    return APPROVED


@_never_raises
def check_position(intent: OrderIntent, state: RiskState, limits: RiskLimits) -> Verdict:
    """Worst case |position + same-side open orders + this order| ``<= max_position_qty``,
    unless the order makes that worst case smaller, or is reduce-only."""
    limit = limits.max_position_qty
    if limit is None or intent.reduce_only:
        return APPROVED
    # EXACT's methods: the same results as the operators under ``localcontext(EXACT)``.
    same_side = state.open_buy_qty if intent.side is Side.BUY else EXACT.minus(state.open_sell_qty)
    before = EXACT.add(state.position_qty, same_side)
    after = EXACT.add(before, intent.signed_qty)
    if abs(after) > limit and abs(after) > abs(before):
        return Denied(
            f"position could reach {after} on {intent.symbol} (position {state.position_qty}, "
            f"open same side {abs(same_side)}, order {intent.signed_qty}); the maximum is "
            f"{limit}",
            Rule.MAX_POSITION,
        )
    return APPROVED


@_never_raises
def check_daily_loss(intent: OrderIntent, state: RiskState, limits: RiskLimits) -> Verdict:
    """Once today's loss reaches ``max_daily_loss`` only reduce-only orders pass."""
    limit = limits.max_daily_loss
    if limit is None or intent.reduce_only:
        return APPROVED
    if state.daily_pnl <= -limit:
        return Denied(
            f"today's PnL {state.daily_pnl} reached the daily loss limit {limit}: "
            "only reduce-only orders until UTC midnight",
            Rule.DAILY_LOSS,
        )
    return APPROVED


@_never_raises
def check(intent: OrderIntent | CancelIntent, state: RiskState, limits: RiskLimits) -> Verdict:
    """Every rule in order; the first denial wins. Never raises."""
    # The rules are called unwrapped (``__wrapped__``): ``check`` itself never raises, and
    # this runs before every order, where eight exception guards cost more than the rules.
    verdict = _gate(intent, state.trading_state)
    # Every rule returns the APPROVED singleton or a Denied: an identity test per rule.
    if verdict is not APPROVED or isinstance(intent, CancelIntent):
        return verdict
    if state.halt_reason:
        return Denied(f"new orders are halted: {state.halt_reason}", Rule.HALTED)
    verdict = _order_qty(intent, limits)
    if verdict is APPROVED:
        verdict = _order_notional(intent, state, limits)
    if verdict is APPROVED:
        verdict = _price_band(intent, state, limits)
    if verdict is APPROVED:
        verdict = _open_orders(state, limits)
    if verdict is APPROVED:
        verdict = _position(intent, state, limits)
    if verdict is APPROVED:
        verdict = _daily_loss(intent, state, limits)
    return verdict


# The unwrapped rules, looked up once (``check`` runs before every order).
_gate = _raw(check_trading_state)
_order_qty = _raw(check_order_qty)
_order_notional = _raw(check_order_notional)
_price_band = _raw(check_price_band)
_open_orders = _raw(check_open_orders)
_position = _raw(check_position)
_daily_loss = _raw(check_daily_loss)


@_never_raises
def check_amend(
    original: OrderIntent,
    amend: AmendIntent,
    state: RiskState,
    limits: RiskLimits,
    *,
    filled_qty: Decimal = ZERO,
) -> Verdict:
    """Check an amend as the order it would leave resting: the original with the amended
    fields and ``qty - filled_qty`` left, against ``state`` minus the original's own share (one
    open order, its unfilled qty on its side). Never raises."""
    remaining_before = original.qty - filled_qty
    new_total = amend.qty if amend.qty is not None else original.qty
    if new_total <= filled_qty:
        return Denied(
            f"amended qty {new_total} does not exceed the filled {filled_qty}: cancel instead",
            Rule.INVALID_ORDER,
        )
    try:
        merged = replace(
            original,
            qty=new_total - filled_qty,
            limit_price=amend.limit_price or original.limit_price,
            stop_price=amend.stop_price or original.stop_price,
        )
    except ValidationError as exc:
        return Denied(f"the amended order would be invalid: {exc}", Rule.INVALID_ORDER)
    if original.side is Side.BUY:
        without = replace(state, open_buy_qty=max(ZERO, state.open_buy_qty - remaining_before))
    else:
        without = replace(state, open_sell_qty=max(ZERO, state.open_sell_qty - remaining_before))
    without = replace(without, open_orders=max(0, state.open_orders - 1))
    return check(merged, without, limits)


# --------------------------------------------------------------------------- circuit breaker


class BreakerState(StrEnum):
    """Closed: orders flow. Open: tripped, orders denied. Half-open: cooldown over, orders
    flow again until the next result decides (a reject re-trips, a success closes)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class RejectBreaker:
    """Trips when ``max_rejects`` rejects of one kind (Kraken status such as
    ``insufficientAvailableFunds``) fall within ``window_ms`` (timestamps ``t`` with
    ``now - t < window_ms``). After ``cooldown_ms`` it is half-open: the first reject trips it
    again at once, the first success closes it and forgets the history.
    """

    def __init__(
        self, *, max_rejects: int = 3, window_ms: int = 60_000, cooldown_ms: int = 300_000
    ) -> None:
        if max_rejects < 1 or window_ms <= 0 or cooldown_ms < 0:
            raise ValidationError(
                "RejectBreaker needs max_rejects >= 1, window_ms > 0 and cooldown_ms >= 0, got "
                f"{max_rejects}, {window_ms}, {cooldown_ms}"
            )
        self.max_rejects = max_rejects
        self.window_ms = window_ms
        self.cooldown_ms = cooldown_ms
        self._rejects: dict[str, deque[int]] = {}
        self._opened_at_ms: int | None = None
        self.tripped_by: str | None = None
        """The reject kind that tripped the breaker last (kept until it closes)."""

    def state(self, now_ms: int) -> BreakerState:
        """The state at ``now_ms``."""
        if self._opened_at_ms is None:
            return BreakerState.CLOSED
        if now_ms - self._opened_at_ms >= self.cooldown_ms:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def record_reject(self, kind: str, now_ms: int) -> BreakerState:
        """Count a reject of ``kind``; returns the state after it."""
        state = self.state(now_ms)
        if state is BreakerState.HALF_OPEN:
            self._trip(kind, now_ms)
        elif state is BreakerState.CLOSED:
            times = self._rejects.setdefault(kind, deque())
            times.append(now_ms)
            while times and now_ms - times[0] >= self.window_ms:
                times.popleft()
            if len(times) >= self.max_rejects:
                self._trip(kind, now_ms)
        return self.state(now_ms)

    def record_success(self, now_ms: int) -> BreakerState:
        """An order went through; in half-open this closes the breaker."""
        if self.state(now_ms) is BreakerState.HALF_OPEN:
            self._opened_at_ms = None
            self.tripped_by = None
            self._rejects.clear()
        return self.state(now_ms)

    def check(self, now_ms: int) -> Verdict:
        """Denied while open, approved otherwise. Never raises."""
        if self._opened_at_ms is not None and self.state(now_ms) is BreakerState.OPEN:
            until = self._opened_at_ms + self.cooldown_ms
            return Denied(
                f"circuit breaker open after {self.max_rejects} {self.tripped_by} rejects "
                f"within {self.window_ms} ms; orders allowed again from {until} ms",
                Rule.CIRCUIT_BREAKER,
            )
        return APPROVED

    def _trip(self, kind: str, now_ms: int) -> None:
        self._opened_at_ms = now_ms
        self.tripped_by = kind
        self._rejects.clear()


__all__ = [
    "APPROVED",
    "DAY_MS",
    "GATE",
    "Action",
    "Approved",
    "BreakerState",
    "Denied",
    "RejectBreaker",
    "RiskLimits",
    "RiskState",
    "Rule",
    "Verdict",
    "check",
    "check_amend",
    "check_daily_loss",
    "check_open_orders",
    "check_order_notional",
    "check_order_qty",
    "check_position",
    "check_price_band",
    "check_trading_state",
    "utc_day_start_ms",
]
