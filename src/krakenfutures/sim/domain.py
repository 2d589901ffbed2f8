"""What the simulated exchange returns and publishes: frozen domain values, never wire structs.

The REST/WS layers turn these into Kraken's shapes (``order_id`` vs ``orderId``, ISO times,
numbers as strings...). Money and quantities are Decimal; times are epoch milliseconds.

Order results
    :class:`OrderResult` (``status`` is Kraken's exact ``sendStatus``/``editStatus``/
    ``cancelStatus`` string) carries :data:`OrderEvent` values mirroring Kraken's
    ``orderEvents``: :class:`Placed`, :class:`Cancelled`, :class:`Rejected`, :class:`Edited`,
    :class:`Executed`, :class:`TriggerPlaced`, :class:`TriggerActivated`.
Published events (to listeners, see ``Exchange.add_listener``)
    :class:`BookChanged`, :class:`TradeExecuted`, :class:`OrderUpdated`, :class:`FillExecuted`,
    :class:`PositionChanged`, :class:`AccountLogged`, :class:`FundingSettled`.
Market data and account reports (:class:`Ticker`, :class:`BookView`, :class:`AccountState`...)
    are defined in :mod:`krakenfutures.sim.reports` and re-exported here.

The values made on every order operation (:class:`OrderView`, :class:`HistoryEvent`, the order
events, :class:`OrderResult`, :class:`BookChanged`, :class:`OrderUpdated`) are frozen
:class:`msgspec.Struct` s rather than frozen dataclasses: the same fields, equality, hashing and
immutability, built in C (a frozen dataclass sets each field through ``object.__setattr__``,
which made their constructors a fifth of the engine's order path). The leaf records that pile
up in accounts' histories are ``gc=False``: they hold only atomic values, so the garbage
collector need not walk them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec

from krakenfutures.core.types import QtyMode, Side, TriggerSignal
from krakenfutures.sim.reports import (
    AccountLogEntry,
    AccountState,
    BookView,
    CurrencyBalance,
    FlexAccountState,
    FundingRecord,
    MarginAccountState,
    Notification,
    Ticker,
)

TRIGGER_TYPES = frozenset({"stp", "take_profit"})

# Cancel / reject reasons (orders/status ``updateReason`` style). WS ``open_orders`` reasons
# for the same events are in WS_REASONS.
CANCELLED_BY_USER = "CANCELLED_BY_USER"
DEAD_MAN_SWITCH = "DEAD_MAN_SWITCH"
POST_WOULD_EXECUTE = "POST_WOULD_EXECUTE"
IOC_WOULD_NOT_EXECUTE = "IOC_WOULD_NOT_EXECUTE"
SELF_FILL = "SELF_FILL"
WOULD_NOT_REDUCE_POSITION = "WOULD_NOT_REDUCE_POSITION"
INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
MAX_POSITION_VIOLATION = "MAX_POSITION_VIOLATION"
MARKET_SUSPENDED = "MARKET_SUSPENDED"
MARKET_IS_POST_ONLY = "MARKET_IS_POST_ONLY"
LIQUIDATION = "LIQUIDATION"
FULL_FILL = "FULL_FILL"
PARTIAL_FILL = "PARTIAL_FILL"
NEW_ORDER = "NEW_PLACED_ORDER_BY_USER"
EDITED_BY_USER = "EDITED_BY_USER"
STOP_ORDER_TRIGGERED = "STOP_ORDER_TRIGGERED"

WS_REASONS = {
    CANCELLED_BY_USER: "cancelled_by_user",
    DEAD_MAN_SWITCH: "dead_man_switch",
    POST_WOULD_EXECUTE: "post_order_failed_because_it_would_filled",
    IOC_WOULD_NOT_EXECUTE: "ioc_order_failed_because_it_would_not_be_executed",
    SELF_FILL: "would_execute_self",
    WOULD_NOT_REDUCE_POSITION: "would_not_reduce_position",
    INSUFFICIENT_MARGIN: "not_enough_margin",
    MAX_POSITION_VIOLATION: "not_enough_margin",
    MARKET_SUSPENDED: "market_inactive",
    MARKET_IS_POST_ONLY: "market_inactive",
    LIQUIDATION: "liquidation",
    FULL_FILL: "full_fill",
    PARTIAL_FILL: "partial_fill",
    NEW_ORDER: "new_placed_order_by_user",
    EDITED_BY_USER: "edited_by_user",
    STOP_ORDER_TRIGGERED: "stop_order_triggered",
}
"""Our reason constants -> Kraken's WS ``open_orders`` ``reason`` strings (reference §6)."""


# ------------------------------------------------------------------------------------ orders


class OrderView(msgspec.Struct, frozen=True, gc=False):
    """An order as the exchange reports it. ``type`` is Kraken's order type after
    normalisation: ``lmt``, ``post``, ``ioc`` (also ``mkt`` orders, limited at the collar),
    ``fok``, ``stp``, ``take_profit`` (untriggered), ``liquidation``. ``qty`` is the total size,
    ``filled`` the executed part."""

    order_id: str
    cli_ord_id: str | None
    type: str
    symbol: str
    side: Side
    qty: Decimal
    filled: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    trigger_signal: TriggerSignal | None
    reduce_only: bool
    ts_ms: int
    last_update_ts_ms: int

    @property
    def remaining(self) -> Decimal:
        """Unfilled quantity."""
        return self.qty - self.filled

    @property
    def is_trigger(self) -> bool:
        """An untriggered stop or take-profit order."""
        return self.type in TRIGGER_TYPES

    @property
    def trigger_side(self) -> str | None:
        """``trigger_above`` / ``trigger_below`` for trigger orders, else None."""
        if not self.is_trigger:
            return None
        above = (self.type == "stp") == (self.side is Side.BUY)
        return "trigger_above" if above else "trigger_below"

    @property
    def open_status(self) -> str:
        """``/openorders`` status: ``untouched`` or ``partiallyFilled``."""
        return "partiallyFilled" if self.filled > 0 else "untouched"


class Placed(msgspec.Struct, frozen=True):
    """PLACE: the order (or its remainder) now rests; ``reduced_qty`` when reduce-only shrank it."""

    order: OrderView
    reduced_qty: Decimal | None = None


class Cancelled(msgspec.Struct, frozen=True):
    """CANCEL: the order left the book without filling completely."""

    order: OrderView
    reason: str


class Rejected(msgspec.Struct, frozen=True):
    """REJECT: the order was assessed and refused (``POST_WOULD_EXECUTE``...)."""

    order: OrderView
    reason: str


class Edited(msgspec.Struct, frozen=True):
    """EDIT: ``old`` became ``new``."""

    old: OrderView
    new: OrderView
    reduced_qty: Decimal | None = None


class Executed(msgspec.Struct, frozen=True):
    """EXECUTION of the result's own order: ``qty`` at ``price``; ``order_prior`` is the order
    just before this execution, ``order_prior_edit`` the order before an edit made it cross."""

    execution_id: str
    price: Decimal
    qty: Decimal
    order_prior: OrderView
    order_prior_edit: OrderView | None = None
    taker_reduced_qty: Decimal | None = None


class TriggerPlaced(msgspec.Struct, frozen=True):
    """PLACE of a trigger order (``orderTrigger`` on the wire)."""

    order: OrderView


class TriggerActivated(msgspec.Struct, frozen=True):
    """A trigger fired: ``order`` is the order it became (``lmt`` or ``ioc``)."""

    order: OrderView


OrderEvent = Placed | Cancelled | Rejected | Edited | Executed | TriggerPlaced | TriggerActivated


class OrderResult(msgspec.Struct, frozen=True):
    """Outcome of one send/edit/cancel. ``status`` is Kraken's string (``placed``,
    ``insufficientAvailableFunds``...); ``order_id`` is None when no order came to exist."""

    status: str
    order_id: str | None
    cli_ord_id: str | None
    received_ts_ms: int
    events: tuple[OrderEvent, ...] = ()

    @property
    def accepted(self) -> bool:
        """The order was placed, edited or cancelled as asked."""
        return self.status in ("placed", "edited", "cancelled", "filled")


@dataclass(frozen=True, slots=True)
class CancelAllResult:
    """``cancelallorders``: status ``cancelled`` or ``noOrdersToCancel``; ``cancel_only`` is
    ``"all"`` or the symbol."""

    status: str
    cancel_only: str
    cancelled: tuple[OrderView, ...]
    received_ts_ms: int
    events: tuple[OrderEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class DeadMansSwitch:
    """``cancelallordersafter`` reply: ``trigger_ms`` 0 when disarmed."""

    current_ms: int
    trigger_ms: int


@dataclass(frozen=True, slots=True)
class SendInstruction:
    """A batch ``send`` (same fields as ``Exchange.send_order``)."""

    order_tag: str
    symbol: str
    side: Side
    order_type: str
    qty: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trigger_signal: TriggerSignal | None = None
    reduce_only: bool = False
    cli_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class EditInstruction:
    """A batch ``edit`` (same fields as ``Exchange.edit_order``)."""

    order_id: str | None = None
    cli_ord_id: str | None = None
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    qty_mode: QtyMode = QtyMode.RELATIVE
    order_tag: str | None = None


@dataclass(frozen=True, slots=True)
class CancelInstruction:
    """A batch ``cancel``."""

    order_id: str | None = None
    cli_ord_id: str | None = None
    order_tag: str | None = None


BatchInstruction = SendInstruction | EditInstruction | CancelInstruction


@dataclass(frozen=True, slots=True)
class BatchItemResult:
    """One ``batchStatus`` row: the instruction's ``order_tag`` and its result."""

    order_tag: str | None
    instruction: str
    result: OrderResult


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """``orders/status`` row. ``status``: ENTERED_BOOK, FULLY_EXECUTED, REJECTED, CANCELLED,
    TRIGGER_PLACED or TRIGGER_ACTIVATION_FAILURE."""

    order: OrderView
    status: str
    update_reason: str | None = None
    error: str | None = None
    trigger_ts_ms: int | None = None


# ------------------------------------------------------------------------- fills and trades


@dataclass(frozen=True, slots=True)
class Fill:
    """A private execution. ``fill_type``: maker, taker, takerAfterEdit or liquidation.
    ``fee`` in ``fee_currency`` (USD for linear, the coin for inverse; negative = rebate)."""

    fill_id: str
    order_id: str
    cli_ord_id: str | None
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts_ms: int
    fill_type: str
    fee: Decimal
    fee_currency: str
    remaining_qty: Decimal = Decimal(0)
    order_type: str = "lmt"


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade. ``side`` is the taker's; ``type`` fill or liquidation; ``seq`` per symbol."""

    uid: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts_ms: int
    type: str
    seq: int


@dataclass(frozen=True, slots=True)
class Position:
    """One net position. ``qty`` unsigned with ``side`` long/short; ``unrealized_funding`` is
    what the holder has accrued and not yet settled (negative = owes), in ``pnl_currency``."""

    symbol: str
    side: str
    qty: Decimal
    entry_price: Decimal
    unrealized_funding: Decimal
    fill_ts_ms: int
    unrealized_pnl: Decimal
    mark_price: Decimal
    pnl_currency: str


# ----------------------------------------------------------------------------------- history


class HistoryEvent(msgspec.Struct, frozen=True, gc=False):
    """A history-API element. ``kind``: OrderPlaced, OrderUpdated, OrderCancelled,
    OrderRejected, OrderTriggerPlaced, OrderTriggerUpdated, OrderTriggerActivated,
    OrderTriggerCancelled, OrderTriggerActivationFailed, Execution. ``fill`` and
    ``mark_price`` for executions; ``old_order`` for updates (edits)."""

    uid: str
    ts_ms: int
    kind: str
    order: OrderView
    reason: str | None = None
    old_order: OrderView | None = None
    fill: Fill | None = None
    mark_price: Decimal | None = None

    @property
    def stream(self) -> str:
        """Which history endpoint serves it: ``executions``, ``triggers`` or ``orders``."""
        if self.kind == "Execution":
            return "executions"
        if self.kind.startswith("OrderTrigger"):
            return "triggers"
        return "orders"


# ------------------------------------------------------------------------- published events


class BookChanged(msgspec.Struct, frozen=True, gc=False):
    """A book level changed: ``qty`` is the level's new total (0 = level removed)."""

    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    seq: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class TradeExecuted:
    """A public trade happened."""

    trade: Trade


class OrderUpdated(msgspec.Struct, frozen=True):
    """A private order changed: ``reason`` one of this module's reason constants;
    ``is_cancel`` when it left the book (filled, cancelled, rejected)."""

    account: str
    order: OrderView
    reason: str
    is_cancel: bool


@dataclass(frozen=True, slots=True)
class FillExecuted:
    """A private fill."""

    account: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class PositionChanged:
    """An account's position in ``symbol`` changed (read it with ``Exchange.positions``)."""

    account: str
    symbol: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class AccountLogged:
    """A new account-log row."""

    account: str
    entry: AccountLogEntry


@dataclass(frozen=True, slots=True)
class FundingSettled:
    """Funding settled on ``symbol`` at the hour boundary ``ts_ms``; ``record`` is the rate
    that takes effect for the next hour."""

    symbol: str
    ts_ms: int
    record: FundingRecord


ExchangeEvent = (
    BookChanged
    | TradeExecuted
    | OrderUpdated
    | FillExecuted
    | PositionChanged
    | AccountLogged
    | FundingSettled
)

__all__ = [
    "CANCELLED_BY_USER",
    "DEAD_MAN_SWITCH",
    "EDITED_BY_USER",
    "FULL_FILL",
    "INSUFFICIENT_MARGIN",
    "IOC_WOULD_NOT_EXECUTE",
    "LIQUIDATION",
    "MARKET_IS_POST_ONLY",
    "MARKET_SUSPENDED",
    "MAX_POSITION_VIOLATION",
    "NEW_ORDER",
    "PARTIAL_FILL",
    "POST_WOULD_EXECUTE",
    "SELF_FILL",
    "STOP_ORDER_TRIGGERED",
    "TRIGGER_TYPES",
    "WOULD_NOT_REDUCE_POSITION",
    "WS_REASONS",
    "AccountLogEntry",
    "AccountLogged",
    "AccountState",
    "BatchInstruction",
    "BatchItemResult",
    "BookChanged",
    "BookView",
    "CancelAllResult",
    "CancelInstruction",
    "Cancelled",
    "CurrencyBalance",
    "DeadMansSwitch",
    "EditInstruction",
    "Edited",
    "ExchangeEvent",
    "Executed",
    "Fill",
    "FillExecuted",
    "FlexAccountState",
    "FundingRecord",
    "FundingSettled",
    "HistoryEvent",
    "MarginAccountState",
    "Notification",
    "OrderEvent",
    "OrderResult",
    "OrderStatus",
    "OrderUpdated",
    "OrderView",
    "Placed",
    "Position",
    "PositionChanged",
    "Rejected",
    "SendInstruction",
    "Ticker",
    "Trade",
    "TradeExecuted",
    "TriggerActivated",
    "TriggerPlaced",
]
