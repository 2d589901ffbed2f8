"""Order lifecycle as one transition table, plus the order intents every layer shares.

The table is role-agnostic (as in h11's ``_state.py``): the OMS drives it from replies, feeds and
reconciliation; a simulator or backtester can drive it from its matching engine. States:

* ``pending_new``: the intent was sent, no reply yet.
* ``open`` / ``partially_filled``: resting on the book, without / with fills.
* ``pending_cancel`` / ``pending_amend``: a cancel / amend was sent, no reply yet.
* ``unknown``: a reply was lost, or the order went missing from the open orders: it may rest,
  may have filled or may never have existed. It stays ``unknown`` until *proven* otherwise
  (a ``found_*``/``not_found*`` event from reconciliation, or an authoritative exchange event
  that ends it: complete fill, cancellation, rejection).
* ``filled``, ``cancelled``, ``rejected``: terminal. ``rejected`` means "never became an order",
  including an order proven never to have reached the exchange.

Events (:class:`EventKind`; ``_pf`` = the order already has fills, a flag the caller knows)::

    event                   from                                   to
    ----------------------  -------------------------------------  -------------------------
    acknowledged            pending_new                            open
                            open, partially_filled, pending_*,     (unchanged: duplicate or
                            unknown, filled, cancelled              late ack)
    rejected                pending_new, unknown                   rejected
                            rejected                               (unchanged)
    filled_partial          pending_new, open                      partially_filled
                            partially_filled, pending_*, unknown,  (unchanged)
                            cancelled
    filled_complete         any non-terminal                       filled
    cancel_requested        open, partially_filled, pending_amend  pending_cancel
    amend_requested         open, partially_filled                 pending_amend
    cancelled               any non-terminal                       cancelled
                            cancelled                              (unchanged)
    amended                 pending_amend                          open
                            open, pending_cancel, unknown          (unchanged)
    amended_pf              pending_amend                          partially_filled
                            partially_filled, pending_cancel,      (unchanged)
                            unknown
    amend_refused           pending_amend                          open
                            open, pending_cancel, unknown          (unchanged)
    amend_refused_pf        pending_amend                          partially_filled
                            partially_filled, pending_cancel,      (unchanged)
                            unknown
    cancel_refused          pending_cancel                         open
    cancel_refused_pf       pending_cancel                         partially_filled
    reply_lost              pending_new, pending_cancel,           unknown
                            pending_amend
                            open, partially_filled, unknown        (unchanged)
    disappeared             open, partially_filled, pending_*      unknown
                            unknown                                (unchanged)
    found_open              pending_new, unknown                   open
                            open, partially_filled, pending_*      (unchanged)
    found_pf                pending_new, open, unknown             partially_filled
                            partially_filled, pending_*            (unchanged)
    found_filled            any non-terminal                       filled
                            filled                                 (unchanged)
    found_cancelled         any non-terminal                       cancelled
                            cancelled                              (unchanged)
    found_rejected          pending_new, unknown                   rejected
                            rejected                               (unchanged)
    not_found               unknown                                rejected
    not_found_after_ack     unknown                                cancelled

    Terminal states also absorb late replies: amended*, amend_refused*, cancel_refused*,
    reply_lost and disappeared leave filled / cancelled / rejected unchanged.
    Every other (state, event) pair is illegal: apply_order_event raises StateError.

Why some pairs are what they are:

* ``reply_lost`` in ``open``/``partially_filled``: a feed (WebSocket executions, fills)
  can show a request's outcome before its reply arrives; when the reply is then lost, the
  order's state already says what happened.
* ``unknown`` ignores acks, partial fills and amend replies: they prove the order existed, not
  that it still rests. Only proofs of the present (``found_*``, ``not_found*``) or of an end
  (complete fill, cancellation, rejection) leave it.
* ``not_found`` (never acknowledged, no fills) ends in ``rejected``: the order does not exist
  and may be resent. ``not_found_after_ack`` ends in ``cancelled``: it existed and is gone.
* ``filled_partial`` on ``cancelled`` is legal because a fill report may arrive after the cancel
  confirmation; a *complete* fill of a cancelled order, or any fill of a rejected one, breaks an
  invariant.
* Cancelling ``pending_new`` or ``unknown`` is illegal here: the OMS defers such a cancel until
  the order is proven to rest.
* Found-open after a terminal state is illegal: a snapshot staler than an exchange event must be
  filtered by the caller, never allowed to reopen an order.

Intents (:class:`OrderIntent`, :class:`AmendIntent`, :class:`CancelIntent`) live here rather
than in ``oms`` so that ``risk`` can check them without importing ``oms`` (the two are
independent layers); ``krakenfutures.oms`` re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar

from krakenfutures.core.types import OrderType, Side, normalize_symbol
from krakenfutures.errors import StateError, ValidationError

MAX_CLI_ORD_ID_LEN = 100
"""Kraken refuses longer ``cliOrdId`` values (``clientOrderIdTooBig``)."""


class OrderState(StrEnum):
    """Where an order is in its lifecycle (see the module docstring)."""

    PENDING_NEW = "pending_new"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_AMEND = "pending_amend"
    UNKNOWN = "unknown"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"

    @property
    def is_terminal(self) -> bool:
        """Filled, cancelled or rejected: nothing will change it any more."""
        return self in TERMINAL_STATES

    @property
    def is_working(self) -> bool:
        """Resting on the book with no request outstanding (open or partially filled)."""
        return self in WORKING_STATES


TERMINAL_STATES = frozenset({OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED})
WORKING_STATES = frozenset({OrderState.OPEN, OrderState.PARTIALLY_FILLED})
LIVE_STATES = frozenset(OrderState) - TERMINAL_STATES
"""Every non-terminal state: the order may rest, or may come to rest."""

INITIAL_STATE = OrderState.PENDING_NEW


class EventKind(StrEnum):
    """The key of the transition table; each event class maps to one kind."""

    ACKNOWLEDGED = "acknowledged"
    REJECTED = "rejected"
    FILLED_PARTIAL = "filled_partial"
    FILLED_COMPLETE = "filled_complete"
    CANCEL_REQUESTED = "cancel_requested"
    AMEND_REQUESTED = "amend_requested"
    CANCELLED = "cancelled"
    AMENDED = "amended"
    AMENDED_PF = "amended_pf"
    AMEND_REFUSED = "amend_refused"
    AMEND_REFUSED_PF = "amend_refused_pf"
    CANCEL_REFUSED = "cancel_refused"
    CANCEL_REFUSED_PF = "cancel_refused_pf"
    REPLY_LOST = "reply_lost"
    DISAPPEARED = "disappeared"
    FOUND_OPEN = "found_open"
    FOUND_PF = "found_pf"
    FOUND_FILLED = "found_filled"
    FOUND_CANCELLED = "found_cancelled"
    FOUND_REJECTED = "found_rejected"
    NOT_FOUND = "not_found"
    NOT_FOUND_AFTER_ACK = "not_found_after_ack"


# ------------------------------------------------------------------------------------ events


class _FixedKind:
    """An event whose table key does not depend on its fields."""

    __slots__ = ()
    KIND: ClassVar[EventKind]

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return self.KIND


@dataclass(frozen=True, slots=True)
class Acknowledged(_FixedKind):
    """The exchange accepted the new order (``placed``)."""

    KIND = EventKind.ACKNOWLEDGED


@dataclass(frozen=True, slots=True)
class Rejected(_FixedKind):
    """The exchange refused the new order, or it was surely never sent."""

    KIND = EventKind.REJECTED


@dataclass(frozen=True, slots=True)
class Filled:
    """A fill; ``complete`` when the cumulative filled qty reached the order qty."""

    complete: bool

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.FILLED_COMPLETE if self.complete else EventKind.FILLED_PARTIAL


@dataclass(frozen=True, slots=True)
class CancelRequested(_FixedKind):
    """We sent a cancel."""

    KIND = EventKind.CANCEL_REQUESTED


@dataclass(frozen=True, slots=True)
class AmendRequested(_FixedKind):
    """We sent an amend (``editorder``)."""

    KIND = EventKind.AMEND_REQUESTED


@dataclass(frozen=True, slots=True)
class Cancelled(_FixedKind):
    """The exchange cancelled the order (our cancel, IOC remainder, dead man's switch...)."""

    KIND = EventKind.CANCELLED


@dataclass(frozen=True, slots=True)
class Amended:
    """The exchange confirmed an edit; the order still rests."""

    partially_filled: bool = False

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.AMENDED_PF if self.partially_filled else EventKind.AMENDED


@dataclass(frozen=True, slots=True)
class AmendRefused:
    """The edit was refused or surely not sent; the order still rests unchanged."""

    partially_filled: bool = False

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.AMEND_REFUSED_PF if self.partially_filled else EventKind.AMEND_REFUSED


@dataclass(frozen=True, slots=True)
class CancelRefused:
    """The cancel was surely not carried out (never sent); the order still rests."""

    partially_filled: bool = False

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.CANCEL_REFUSED_PF if self.partially_filled else EventKind.CANCEL_REFUSED


@dataclass(frozen=True, slots=True)
class ReplyLost(_FixedKind):
    """A request's outcome is unknown: timeout, dropped reply, 5xx, disconnect."""

    KIND = EventKind.REPLY_LOST


@dataclass(frozen=True, slots=True)
class Disappeared(_FixedKind):
    """The order is missing from a complete open-orders snapshot, or a cancel/edit said
    ``notFound``: it may have filled, been cancelled, or never existed."""

    KIND = EventKind.DISAPPEARED


@dataclass(frozen=True, slots=True)
class FoundOpen:
    """Reconciliation found the order resting (open orders, or ``ENTERED_BOOK`` status)."""

    partially_filled: bool = False

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.FOUND_PF if self.partially_filled else EventKind.FOUND_OPEN


@dataclass(frozen=True, slots=True)
class FoundFilled(_FixedKind):
    """Reconciliation proved the order completely filled (status or fills)."""

    KIND = EventKind.FOUND_FILLED


@dataclass(frozen=True, slots=True)
class FoundCancelled(_FixedKind):
    """Reconciliation found the order cancelled (status ``CANCELLED``)."""

    KIND = EventKind.FOUND_CANCELLED


@dataclass(frozen=True, slots=True)
class FoundRejected(_FixedKind):
    """Reconciliation found the order rejected (status ``REJECTED``)."""

    KIND = EventKind.FOUND_REJECTED


@dataclass(frozen=True, slots=True)
class NotFound:
    """Reconciliation after the settle window found the order nowhere: not open, no status, no
    fills. ``acknowledged``: it is known to have existed (so it ended, it did not fail)."""

    acknowledged: bool = False

    @property
    def kind(self) -> EventKind:
        """Table key."""
        return EventKind.NOT_FOUND_AFTER_ACK if self.acknowledged else EventKind.NOT_FOUND


OrderEvent = (
    Acknowledged
    | Rejected
    | Filled
    | CancelRequested
    | AmendRequested
    | Cancelled
    | Amended
    | AmendRefused
    | CancelRefused
    | ReplyLost
    | Disappeared
    | FoundOpen
    | FoundFilled
    | FoundCancelled
    | FoundRejected
    | NotFound
)
"""Every event :func:`apply_order_event` accepts."""


# ------------------------------------------------------------------------------------- table


def _build_table() -> Mapping[tuple[OrderState, EventKind], OrderState]:
    s, k = OrderState, EventKind
    pending = {s.PENDING_CANCEL, s.PENDING_AMEND}
    live = set(LIVE_STATES)
    table: dict[tuple[OrderState, EventKind], OrderState] = {}

    def rule(kind: EventKind, sources: set[OrderState], target: OrderState | None) -> None:
        for source in sources:
            assert (source, kind) not in table, (source, kind)
            table[source, kind] = source if target is None else target

    rule(k.ACKNOWLEDGED, {s.PENDING_NEW}, s.OPEN)
    rule(
        k.ACKNOWLEDGED,
        {s.OPEN, s.PARTIALLY_FILLED, s.UNKNOWN, s.FILLED, s.CANCELLED} | pending,
        None,
    )
    rule(k.REJECTED, {s.PENDING_NEW, s.UNKNOWN}, s.REJECTED)
    rule(k.REJECTED, {s.REJECTED}, None)
    rule(k.FILLED_PARTIAL, {s.PENDING_NEW, s.OPEN}, s.PARTIALLY_FILLED)
    rule(k.FILLED_PARTIAL, {s.PARTIALLY_FILLED, s.UNKNOWN, s.CANCELLED} | pending, None)
    rule(k.FILLED_COMPLETE, live, s.FILLED)
    rule(k.CANCEL_REQUESTED, {s.OPEN, s.PARTIALLY_FILLED, s.PENDING_AMEND}, s.PENDING_CANCEL)
    rule(k.AMEND_REQUESTED, {s.OPEN, s.PARTIALLY_FILLED}, s.PENDING_AMEND)
    rule(k.CANCELLED, live, s.CANCELLED)
    rule(k.CANCELLED, {s.CANCELLED}, None)
    # An amend confirmed and an amend refused move the order alike: back to resting.
    for plain, with_fills in ((k.AMENDED, k.AMENDED_PF), (k.AMEND_REFUSED, k.AMEND_REFUSED_PF)):
        rule(plain, {s.PENDING_AMEND}, s.OPEN)
        rule(plain, {s.OPEN, s.PENDING_CANCEL, s.UNKNOWN}, None)
        rule(with_fills, {s.PENDING_AMEND}, s.PARTIALLY_FILLED)
        rule(with_fills, {s.PARTIALLY_FILLED, s.PENDING_CANCEL, s.UNKNOWN}, None)
    rule(k.CANCEL_REFUSED, {s.PENDING_CANCEL}, s.OPEN)
    rule(k.CANCEL_REFUSED_PF, {s.PENDING_CANCEL}, s.PARTIALLY_FILLED)
    rule(k.REPLY_LOST, {s.PENDING_NEW} | pending, s.UNKNOWN)
    # A reply lost after a feed already showed what the request did (an ack, an amend, a fill
    # reached us first: the order rests): nothing is left to learn from it.
    rule(k.REPLY_LOST, {s.OPEN, s.PARTIALLY_FILLED, s.UNKNOWN}, None)
    rule(k.DISAPPEARED, {s.OPEN, s.PARTIALLY_FILLED} | pending, s.UNKNOWN)
    rule(k.DISAPPEARED, {s.UNKNOWN}, None)
    rule(k.FOUND_OPEN, {s.PENDING_NEW, s.UNKNOWN}, s.OPEN)
    rule(k.FOUND_OPEN, {s.OPEN, s.PARTIALLY_FILLED} | pending, None)
    rule(k.FOUND_PF, {s.PENDING_NEW, s.OPEN, s.UNKNOWN}, s.PARTIALLY_FILLED)
    rule(k.FOUND_PF, {s.PARTIALLY_FILLED} | pending, None)
    rule(k.FOUND_FILLED, live, s.FILLED)
    rule(k.FOUND_FILLED, {s.FILLED}, None)
    rule(k.FOUND_CANCELLED, live, s.CANCELLED)
    rule(k.FOUND_CANCELLED, {s.CANCELLED}, None)
    rule(k.FOUND_REJECTED, {s.PENDING_NEW, s.UNKNOWN}, s.REJECTED)
    rule(k.FOUND_REJECTED, {s.REJECTED}, None)
    rule(k.NOT_FOUND, {s.UNKNOWN}, s.REJECTED)
    rule(k.NOT_FOUND_AFTER_ACK, {s.UNKNOWN}, s.CANCELLED)
    late_replies = {
        k.AMENDED,
        k.AMENDED_PF,
        k.AMEND_REFUSED,
        k.AMEND_REFUSED_PF,
        k.CANCEL_REFUSED,
        k.CANCEL_REFUSED_PF,
        k.REPLY_LOST,
        k.DISAPPEARED,
    }
    for kind in late_replies:
        rule(kind, set(TERMINAL_STATES), None)
    return MappingProxyType(table)


TRANSITIONS: Mapping[tuple[OrderState, EventKind], OrderState] = _build_table()
"""``(state, event kind) -> next state``; a missing key is an illegal transition."""


def apply_order_event(state: OrderState, event: OrderEvent) -> OrderState:
    """The state after ``event``; raise :class:`StateError` if the table forbids the pair.

    An illegal transition means our picture of the order contradicts the exchange's (or a
    caller bug): stop and reconcile rather than guess.
    """
    kind = event.kind
    try:
        return TRANSITIONS[state, kind]
    except KeyError:
        allowed = ", ".join(sorted(legal_events(state))) or "none"
        raise StateError(
            f"illegal order transition: event {kind.value!r} in state {state.value!r} "
            f"(legal here: {allowed}); reconcile the order with the exchange"
        ) from None


def legal_events(state: OrderState) -> frozenset[EventKind]:
    """The event kinds the table accepts in ``state``."""
    return frozenset(kind for (source, kind) in TRANSITIONS if source is state)


# ----------------------------------------------------------------------------------- intents


def _qty(value: object, what: str) -> Decimal:
    if type(value) is Decimal and value.is_finite() and value > 0:
        return value  # the common case, on every order: no conversion needed
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ValidationError(
            f"{what} must be a Decimal, int or numeric string, got {type(value).__name__} "
            "(floats are refused: they cannot represent prices and sizes exactly)"
        )
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValidationError(f"{what}: {value!r} is not a decimal number") from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(f"{what} must be a finite number above zero, got {value!r}")
    return number


def _optional_qty(value: object, what: str) -> Decimal | None:
    return None if value is None else _qty(value, what)


def _check_cli_ord_id(cli_ord_id: str) -> None:
    if len(cli_ord_id) > MAX_CLI_ORD_ID_LEN:
        raise ValidationError(
            f"cli_ord_id is {len(cli_ord_id)} characters; Kraken allows at most "
            f"{MAX_CLI_ORD_ID_LEN}"
        )


_put = object.__setattr__  # a frozen dataclass's own fields are set this way
_NEEDS_LIMIT = frozenset({OrderType.LMT, OrderType.POST, OrderType.IOC, OrderType.FOK})
_NEEDS_STOP = frozenset({OrderType.STP, OrderType.TAKE_PROFIT})


@dataclass(frozen=True, slots=True, init=False)
class OrderIntent:
    """A new order as a strategy means it (domain words; the wire calls ``qty`` ``size``).

    ``post_only`` and ``order_type=POST`` are one thing on Kraken: either sets both. ``qty`` and
    prices accept Decimal, int or str (never float). ``cli_ord_id`` is filled in by the OMS when
    empty; ``process_before_ms`` (epoch ms) makes the exchange refuse the order if it arrives
    later, which is what lets the OMS prove a lost order never happened. Raises
    :class:`ValidationError` for a request Kraken would refuse.
    """

    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.LMT
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    post_only: bool = False
    cli_ord_id: str = ""
    process_before_ms: int | None = None

    # Written out rather than generated: the generated frozen ``__init__`` sets every field and
    # a ``__post_init__`` then sets most of them again, twice the work on every order's path to
    # the wire. This validates first and sets each field once (same signature, same errors).
    def __init__(
        self,
        symbol: str,
        side: Side | str,
        qty: Decimal | int | str,
        order_type: OrderType | str = OrderType.LMT,
        limit_price: Decimal | int | str | None = None,
        stop_price: Decimal | int | str | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        cli_ord_id: str = "",
        process_before_ms: int | None = None,
    ) -> None:
        symbol = normalize_symbol(symbol)
        if not symbol:
            raise ValidationError("symbol is empty")
        try:
            if type(side) is not Side:  # enums already: skip the lookups (every order)
                side = Side(side)
            if type(order_type) is not OrderType:
                order_type = OrderType(order_type)
        except ValueError as exc:
            raise ValidationError(f"{exc}; sides: buy/sell, types: {list(OrderType)}") from None
        # _qty's own fast path inline: Decimals above zero need no conversion (every order).
        if type(qty) is not Decimal or not qty.is_finite() or not qty > 0:
            qty = _qty(qty, "qty")
        if limit_price is not None and (
            type(limit_price) is not Decimal or not limit_price.is_finite() or not limit_price > 0
        ):
            limit_price = _qty(limit_price, "limit_price")
        if stop_price is not None:
            stop_price = _qty(stop_price, "stop_price")
        if post_only or order_type is OrderType.POST:
            if order_type is not OrderType.LMT and order_type is not OrderType.POST:
                raise ValidationError(
                    f"post_only needs a limit order, got order_type {order_type.value!r}"
                )
            post_only, order_type = True, OrderType.POST
        if limit_price is None and order_type in _NEEDS_LIMIT:
            raise ValidationError(f"{order_type.value} orders need a limit_price")
        if stop_price is None and order_type in _NEEDS_STOP:
            raise ValidationError(f"{order_type.value} orders need a stop_price")
        _check_cli_ord_id(cli_ord_id)
        put = _put
        put(self, "symbol", symbol)
        put(self, "side", side)
        put(self, "qty", qty)
        put(self, "order_type", order_type)
        put(self, "limit_price", limit_price)
        put(self, "stop_price", stop_price)
        put(self, "reduce_only", reduce_only)
        put(self, "post_only", post_only)
        put(self, "cli_ord_id", cli_ord_id)
        put(self, "process_before_ms", process_before_ms)

    @property
    def signed_qty(self) -> Decimal:
        """``qty`` with the side's sign: positive for buy, negative for sell."""
        return self.qty if self.side is Side.BUY else -self.qty


@dataclass(frozen=True, slots=True)
class AmendIntent:
    """Change a resting order. ``qty`` is the new *total* quantity including what already filled
    (Kraken's ``qtyMode=ABSOLUTE``); ``None`` leaves a field as it is."""

    cli_ord_id: str
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    order_id: str | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "qty", _optional_qty(self.qty, "qty"))
        put(self, "limit_price", _optional_qty(self.limit_price, "limit_price"))
        put(self, "stop_price", _optional_qty(self.stop_price, "stop_price"))
        if not self.cli_ord_id and not self.order_id:
            raise ValidationError("an amend needs the order's cli_ord_id or order_id")
        _check_cli_ord_id(self.cli_ord_id)
        if self.qty is None and self.limit_price is None and self.stop_price is None:
            raise ValidationError("an amend must change qty, limit_price or stop_price")


@dataclass(frozen=True, slots=True)
class CancelIntent:
    """Cancel one order, by ``cli_ord_id`` (ours) or ``order_id`` (the exchange's)."""

    cli_ord_id: str
    order_id: str | None = None

    def __post_init__(self) -> None:
        if not self.cli_ord_id and not self.order_id:
            raise ValidationError("a cancel needs the order's cli_ord_id or order_id")
        _check_cli_ord_id(self.cli_ord_id)


__all__ = [
    "INITIAL_STATE",
    "LIVE_STATES",
    "MAX_CLI_ORD_ID_LEN",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "WORKING_STATES",
    "Acknowledged",
    "AmendIntent",
    "AmendRefused",
    "AmendRequested",
    "Amended",
    "CancelIntent",
    "CancelRefused",
    "CancelRequested",
    "Cancelled",
    "Disappeared",
    "EventKind",
    "Filled",
    "FoundCancelled",
    "FoundFilled",
    "FoundOpen",
    "FoundRejected",
    "NotFound",
    "OrderEvent",
    "OrderIntent",
    "OrderState",
    "Rejected",
    "ReplyLost",
    "apply_order_event",
    "legal_events",
]
