"""The ``Venue`` port: what the OMS, strategies and backtester may ask of an exchange.

A venue is the live exchange (REST + private feeds), the simulator or the backtest engine; the
OMS sees only this protocol and these domain types (Decimal, no wire names). The intents
(:class:`OrderIntent`, :class:`AmendIntent`, :class:`CancelIntent`) are defined in
:mod:`krakenfutures.core.orders` so the ``risk`` layer can use them too; they are re-exported here.

Error contract, which :class:`~krakenfutures.oms.tracker.OrderTracker` relies on:

* :class:`~krakenfutures.errors.ConnectError`: nothing was sent; the request surely had no
  effect (``tracker.on_send_failed``).
* any other :class:`~krakenfutures.errors.TransportError` (timeout, disconnect) and
  :class:`~krakenfutures.errors.UnavailableError` (5xx): the request may or may not have been
  carried out (``tracker.on_reply_lost``, then reconcile).
* an order *refusal* is not an exception: it is a result with ``accepted=False`` and Kraken's
  status string (``postWouldExecute``...).
* other :class:`~krakenfutures.errors.ExchangeError` (``authenticationError``...) are the
  runtime's error policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from krakenfutures.core.orders import (
    AmendIntent,
    CancelIntent,
    OrderIntent,
    OrderState,
)
from krakenfutures.core.types import OrderType, Side, normalize_symbol
from krakenfutures.errors import ValidationError

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution of one of our orders.

    ``fee`` is in ``fee_currency`` (the contract's settlement currency: USD for linear, the base
    coin for inverse), positive = paid, negative = rebate. ``fill_id`` is unique per execution
    (Kraken's ``fill_id``, the same UUID as the ``executionId`` of a send/edit reply), so the
    same fill reported by a reply, the feed and a REST lookup is booked once. ``cli_ord_id`` is
    ``None`` for orders placed without one (or outside this bot).
    """

    fill_id: str
    order_id: str
    cli_ord_id: str | None
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str
    ts_ms: int
    maker: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "side", Side(self.side))
        if not self.fill_id:
            raise ValidationError("a fill needs a fill_id")
        if self.qty <= 0 or self.price <= 0:
            raise ValidationError(
                f"fill {self.fill_id}: qty and price must be above zero, "
                f"got qty={self.qty} price={self.price}"
            )

    @property
    def signed_qty(self) -> Decimal:
        """``qty`` with the side's sign: positive for buy, negative for sell."""
        return self.qty if self.side is Side.BUY else -self.qty


@dataclass(frozen=True, slots=True)
class OrderSnapshot:
    """An order as the venue reports it (open orders, ``orders/status``).

    ``state`` is one of ``open``, ``partially_filled`` (resting), ``filled``, ``cancelled``,
    ``rejected`` (closed; ``orders/status`` reports closed orders only for ~5 s). ``qty`` is
    the total order quantity, ``filled_qty`` what has executed.
    """

    order_id: str
    cli_ord_id: str | None
    symbol: str
    side: Side
    qty: Decimal
    filled_qty: Decimal
    state: OrderState
    order_type: OrderType = OrderType.LMT
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    ts_ms: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        if self.state not in _SNAPSHOT_STATES:
            raise ValidationError(
                f"order {self.order_id}: a venue reports open, partially_filled, filled, "
                f"cancelled or rejected, not {self.state.value!r}"
            )


_SNAPSHOT_STATES = frozenset(
    {
        OrderState.OPEN,
        OrderState.PARTIALLY_FILLED,
        OrderState.FILLED,
        OrderState.CANCELLED,
        OrderState.REJECTED,
    }
)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The venue's answer to :meth:`Venue.submit_order`.

    ``accepted`` with Kraken's ``status`` (``placed``) and the ``order_id``; or refused with the
    status (``postWouldExecute``, ``insufficientAvailableFunds``...) and a human ``reason``.
    ``fills`` are executions reported in the reply itself; ``remainder_cancelled`` is set when
    the unfilled rest did not rest (IOC, market, FOK, self-trade).
    """

    cli_ord_id: str
    accepted: bool
    status: str
    order_id: str | None = None
    reason: str = ""
    fills: tuple[FillRecord, ...] = ()
    remainder_cancelled: bool = False


@dataclass(frozen=True, slots=True)
class AmendResult:
    """The venue's answer to :meth:`Venue.amend_order`: ``edited`` or a refusal status
    (``orderForEditNotFound`` means the order is gone: filled, cancelled or never existed)."""

    cli_ord_id: str
    accepted: bool
    status: str
    reason: str = ""


class CancelOutcome(StrEnum):
    """``cancelorder`` outcomes: cancelled now, was already filled, or not found."""

    CANCELLED = "cancelled"
    FILLED = "filled"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class CancelResult:
    """The venue's answer to :meth:`Venue.cancel_order`."""

    cli_ord_id: str
    outcome: CancelOutcome
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelAllResult:
    """What :meth:`Venue.cancel_all` cancelled (empty tuples: nothing was open)."""

    order_ids: tuple[str, ...] = ()
    cli_ord_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PositionRecord:
    """The venue's net position in ``symbol``: signed ``qty`` (long > 0) at ``entry_price``."""

    symbol: str
    qty: Decimal
    entry_price: Decimal
    ts_ms: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))


@dataclass(frozen=True, slots=True)
class BalanceRecord:
    """A collateral balance: ``balance`` held and ``available`` for new margin, in ``currency``."""

    currency: str
    balance: Decimal
    available: Decimal


class Venue(Protocol):
    """An exchange as the OMS sees it. All methods are coroutines; see the module docstring
    for which exceptions mean what. Implementations: the live venue (runtime), the simulator
    venue and the backtest engine."""

    async def submit_order(self, intent: OrderIntent) -> SubmitResult:
        """Send a new order (``intent.cli_ord_id`` set, ``process_before_ms`` honoured)."""
        ...

    async def amend_order(self, intent: AmendIntent) -> AmendResult:
        """Edit a resting order (``qty`` is the new total, fills included)."""
        ...

    async def cancel_order(self, intent: CancelIntent) -> CancelResult:
        """Cancel one order by ``cli_ord_id`` or ``order_id``."""
        ...

    async def cancel_all(self, symbol: str | None = None) -> CancelAllResult:
        """Cancel every open order, or those of one ``symbol``."""
        ...

    async def open_orders(self) -> Sequence[OrderSnapshot]:
        """Every resting order of the account (a complete snapshot)."""
        ...

    async def order_status(self, cli_ord_ids: Sequence[str]) -> Sequence[OrderSnapshot]:
        """Orders by ``cli_ord_id`` that are open or closed recently (Kraken: ~5 s)."""
        ...

    async def fills(self, since_ms: int | None = None) -> Sequence[FillRecord]:
        """Our fills at or after ``since_ms`` (all recent ones when ``None``), oldest first."""
        ...

    async def positions(self) -> Sequence[PositionRecord]:
        """Net positions per symbol (flat symbols may be left out)."""
        ...

    async def balances(self) -> Sequence[BalanceRecord]:
        """Collateral balances."""
        ...

    async def arm_deadman(self, timeout_s: int) -> None:
        """Cancel everything ``timeout_s`` seconds from now unless re-armed; 0 disarms."""
        ...


__all__ = [
    "AmendIntent",
    "AmendResult",
    "BalanceRecord",
    "CancelAllResult",
    "CancelIntent",
    "CancelOutcome",
    "CancelResult",
    "FillRecord",
    "OrderIntent",
    "OrderSnapshot",
    "PositionRecord",
    "SubmitResult",
    "Venue",
]
