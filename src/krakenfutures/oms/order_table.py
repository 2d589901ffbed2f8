"""What the order tracker stores: the order records and the table that indexes them.

:class:`TrackedOrder` (one order as the tracker knows it, immutable), :class:`OrderUpdated`
and :class:`ReconcileNeeded` (what the tracker reports), :class:`CliOrdIdGenerator` (our order
ids), and ``OrderTable``: orders by ``cli_ord_id`` with the indices the order manager and the
risk rules ask about on every order and reply. The state machine that changes the records is
:mod:`krakenfutures.oms.tracker`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from krakenfutures.core.orders import AmendIntent, EventKind, OrderIntent, OrderState
from krakenfutures.core.types import Side
from krakenfutures.errors import ValidationError

ZERO = Decimal(0)
_ID_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,59}")


class CliOrdIdGenerator:
    """Deterministic ``cli_ord_id`` values: ``f"{prefix}-{n}"`` for n = start, start+1, ...

    Ids must never repeat across restarts: persist :attr:`next_n` (the journal does) or put a
    run id in ``prefix``.
    """

    def __init__(self, prefix: str, start: int = 1) -> None:
        if not _ID_PREFIX.fullmatch(prefix):
            raise ValidationError(
                f"cli_ord_id prefix {prefix!r}: use 1-60 of A-Z a-z 0-9 _ . : - "
                "(starting with a letter or digit)"
            )
        if start < 0:
            raise ValidationError(f"cli_ord_id counter start must be >= 0, got {start}")
        self.prefix = prefix
        self.next_n = start

    def __call__(self) -> str:
        value = f"{self.prefix}-{self.next_n}"
        self.next_n += 1
        return value


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """What the tracker knows about one order (immutable; each change makes a new one).

    ``acknowledged``: the exchange showed any sign of the order (ack, fill, snapshot).
    ``proven_absent``: the order is known not to exist and never filled (refused, not sent,
    or found nowhere after the proof time). ``reported_filled_qty``: the highest filled qty a
    venue snapshot reported; above ``filled_qty`` it means fills are still to be booked.
    """

    intent: OrderIntent
    strategy: str
    state: OrderState
    sent_ts_ms: int
    updated_ts_ms: int
    order_id: str | None = None
    filled_qty: Decimal = ZERO
    reported_filled_qty: Decimal = ZERO
    acknowledged: bool = False
    unknown_since_ms: int | None = None
    proven_absent: bool = False
    reason: str = ""
    resend_of: str | None = None
    resent_as: str | None = None
    cancel_wanted: bool = False
    pending_amend: AmendIntent | None = None
    fill_ids: frozenset[str] = field(default_factory=frozenset)

    @property
    def cli_ord_id(self) -> str:
        """Our id of the order."""
        return self.intent.cli_ord_id

    @property
    def symbol(self) -> str:
        """The order's symbol."""
        return self.intent.symbol

    @property
    def remaining_qty(self) -> Decimal:
        """Quantity not filled yet (zero once terminal: nothing more can fill)."""
        return ZERO if self.state.is_terminal else self.intent.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """An order changed: it was ``previous`` and is now ``order`` (after ``event``)."""

    order: TrackedOrder
    previous: OrderState
    event: EventKind

    @property
    def cli_ord_id(self) -> str:
        """The order's ``cli_ord_id``."""
        return self.order.cli_ord_id


@dataclass(frozen=True, slots=True)
class ReconcileNeeded:
    """Look these up, then call :meth:`OrderTracker.reconcile`: the venue's open orders,
    ``order_status(cli_ord_ids)`` and ``fills(since_ms=fills_since_ms)``. Absence can be
    proven only by lookups sent at or after ``not_before_ms``; earlier ones still resolve
    orders that are found."""

    cli_ord_ids: tuple[str, ...]
    fills_since_ms: int
    not_before_ms: int


class OrderTable(dict[str, "TrackedOrder"]):
    """Orders by ``cli_ord_id`` that also keeps apart what the order manager asks about after
    every reply or on every timer, so those questions cost O(live orders), never a scan of
    every order since start (a market maker places hundreds of thousands a day): the live
    (non-terminal) orders, per (strategy, symbol) their count and unfilled qty per side (the
    risk rules, before every order), the orders with fills still to book, and the orders that
    may be resent."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[str, TrackedOrder] = {}
        self.sums: dict[tuple[str, str], list[Decimal | int]] = {}  # [count, buy, sell]
        self.fills_due: dict[str, TrackedOrder] = {}
        self.resendable: dict[str, TrackedOrder] = {}

    def __setitem__(self, key: str, order: TrackedOrder) -> None:
        old = self.live.get(key)
        if old is not None:
            self._add(old, -1)
        super().__setitem__(key, order)
        if order.state.is_terminal:
            self.live.pop(key, None)
            if may_resend(order):
                self.resendable[key] = order
            else:
                self.resendable.pop(key, None)
        else:
            self.live[key] = order
            self._add(order, 1)
            self.resendable.pop(key, None)
        if order.reported_filled_qty > order.filled_qty:
            self.fills_due[key] = order
        else:
            self.fills_due.pop(key, None)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.fills_due.pop(key, None)
        self.resendable.pop(key, None)

    def _add(self, order: TrackedOrder, sign: int) -> None:
        sums = self.sums.setdefault((order.strategy, order.intent.symbol), [0, ZERO, ZERO])
        sums[0] += sign
        side = 1 if order.intent.side is Side.BUY else 2
        sums[side] += sign * (order.intent.qty - order.filled_qty)


def may_resend(order: TrackedOrder) -> bool:
    """Proven never to exist, never filled, not resent already (the no-duplicates rule)."""
    return (
        order.state is OrderState.REJECTED
        and order.proven_absent
        and order.filled_qty == 0
        and order.resent_as is None
    )


__all__ = [
    "CliOrdIdGenerator",
    "OrderTable",
    "OrderUpdated",
    "ReconcileNeeded",
    "TrackedOrder",
    "may_resend",
]
