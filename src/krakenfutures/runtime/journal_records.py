"""The journal's records as objects: payload encoding, the record types a reader gets back, what
a restart restores (:class:`JournalState`) and the replay of fills and funding into positions.

:mod:`krakenfutures.runtime.journal` writes and reads the file; this module is what its rows
mean. Payloads are JSON (Decimals as strings, enums by value), so ``sqlite3 FILE "select
json_extract(payload, '$.state') from records"`` works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from krakenfutures.core.events import FundingPaid
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.errors import StateError, ValidationError
from krakenfutures.oms.positions import PositionBook
from krakenfutures.oms.tracker import CliOrdIdGenerator, TrackedOrder
from krakenfutures.oms.venue import FillRecord

Action = Literal["submit", "amend", "cancel"]

_INTENT_TYPES: dict[str, type[Any]] = {
    "submit": OrderIntent,
    "amend": AmendIntent,
    "cancel": CancelIntent,
}
_PENDING = frozenset({OrderState.PENDING_NEW, OrderState.PENDING_CANCEL, OrderState.PENDING_AMEND})

decode_any = msgspec.json.Decoder().decode
"""A payload's JSON text as builtins."""


# ---------------------------------------------------------------------------- dict encoding


def to_dict(value: object) -> dict[str, Any]:
    """A domain object (dataclass, struct) as JSON-able builtins, keys in a stable order."""
    result: dict[str, Any] = msgspec.to_builtins(value, order="deterministic")
    return result


def _convert(data: object, kind: type[Any], what: str) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise StateError(f"{what} cannot be decoded ({exc}): damaged or foreign data") from None


def encode_order(order: TrackedOrder) -> dict[str, Any]:
    """A :class:`TrackedOrder` as JSON-able builtins (the ``order`` record payload)."""
    return to_dict(order)


def decode_order(data: Mapping[str, Any]) -> TrackedOrder:
    """The inverse of :func:`encode_order`; :class:`StateError` on data that does not fit."""
    order: TrackedOrder = _convert(data, TrackedOrder, "order record")
    return order


def encode_fill(fill: FillRecord) -> dict[str, Any]:
    """A :class:`FillRecord` as JSON-able builtins (the ``fill`` record payload)."""
    return to_dict(fill)


def decode_fill(data: Mapping[str, Any]) -> FillRecord:
    """The inverse of :func:`encode_fill`."""
    fill: FillRecord = _convert(data, FillRecord, "fill record")
    return fill


def encode_funding(payment: FundingPaid) -> dict[str, Any]:
    """A :class:`FundingPaid` as JSON-able builtins (the ``funding`` record payload)."""
    return to_dict(payment)


def decode_funding(data: Mapping[str, Any]) -> FundingPaid:
    """The inverse of :func:`encode_funding`."""
    payment: FundingPaid = _convert(data, FundingPaid, "funding record")
    return payment


def encode_request(
    action: Action, intent: OrderIntent | AmendIntent | CancelIntent
) -> dict[str, Any]:
    """A request as JSON-able builtins: ``{"action": ..., "intent": {...}}``."""
    check_request(action, intent)
    return {"action": action, "intent": to_dict(intent)}


def decode_request(
    data: Mapping[str, Any],
) -> tuple[Action, OrderIntent | AmendIntent | CancelIntent]:
    """The inverse of :func:`encode_request`: ``(action, intent)``."""
    action = data.get("action")
    if action not in _INTENT_TYPES:
        raise StateError(f"request record with unknown action {action!r}: damaged or foreign data")
    intent = _convert(data.get("intent"), _INTENT_TYPES[action], f"{action} request")
    return action, intent


def check_request(action: str, intent: object) -> str:
    """The key a request record is filed under (its ``cli_ord_id``, else ``order_id``);
    :class:`ValidationError` when ``action`` and the intent's type do not match."""
    wanted = _INTENT_TYPES.get(action)
    if wanted is None or type(intent) is not wanted:
        raise ValidationError(
            f"record_request({action!r}, {type(intent).__name__}): actions are submit "
            "(OrderIntent), amend (AmendIntent) and cancel (CancelIntent)"
        )
    key: str = getattr(intent, "cli_ord_id", "") or getattr(intent, "order_id", None) or ""
    return key


# -------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class JournalRecord:
    """One row as written: ``payload`` is the decoded JSON (see :meth:`value` for objects)."""

    seq: int
    ts_ms: int
    kind: str
    strategy: str | None
    key: str | None
    payload: Any

    def value(self) -> object:
        """The domain object: TrackedOrder, ``(action, intent)``, FillRecord, FundingPaid,
        :class:`JournalEvent` or the meta dict."""
        if self.kind == "order":
            return decode_order(self.payload)
        if self.kind == "request":
            return decode_request(self.payload)
        if self.kind == "fill":
            return decode_fill(self.payload)
        if self.kind == "funding":
            return decode_funding(self.payload)
        if self.kind == "event":
            return event_of(self.seq, self.ts_ms, self.key, self.strategy, self.payload)
        return self.payload


@dataclass(frozen=True, slots=True)
class JournalFill:
    """A journaled fill and the strategy it was booked for."""

    seq: int
    strategy: str
    fill: FillRecord


@dataclass(frozen=True, slots=True)
class JournalFunding:
    """A journaled funding payment."""

    seq: int
    payment: FundingPaid


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """A journaled event: ``kind`` (``halted``, ``trading_state``, ``order_denied``, ``alert``...),
    a human ``text`` and optional structured ``data``."""

    seq: int
    ts_ms: int
    kind: str
    text: str
    strategy: str | None = None
    data: Mapping[str, Any] | None = None


def event_of(
    seq: int, ts_ms: int, kind: str | None, strategy: str | None, payload: Any
) -> JournalEvent:
    """An ``event`` row's payload as a :class:`JournalEvent`."""
    return JournalEvent(
        seq, ts_ms, kind or "", payload.get("text", ""), strategy, payload.get("data")
    )


@dataclass(frozen=True, slots=True)
class JournalState:
    """What a journal remembers (see the module docstring for how to use it after a restart)."""

    orders: tuple[TrackedOrder, ...] = ()
    """The latest snapshot of every order, in the order they were first journaled."""
    fills: tuple[JournalFill, ...] = ()
    """Every fill once (first record per ``fill_id`` wins), in journal order."""
    funding: tuple[JournalFunding, ...] = ()
    """Every funding payment once (per ``payment_id``, else strategy, symbol and time)."""
    events: tuple[JournalEvent, ...] = ()
    """The last events, oldest first."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """The latest data of each meta record name."""
    cli_ord_ids: frozenset[str] = frozenset()
    """Every ``cli_ord_id`` the journal has seen (orders, requests, fills)."""
    prefixes: tuple[str, ...] = ()
    """``cli_ord_id`` prefixes recorded with ``record_meta("id_prefix", {"prefix": ...})``."""
    last_seq: int = 0
    clean_stop: bool = True
    """False when records follow the last ``run_stop`` meta record (the last run crashed)."""

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Orders with a request on the wire when the journal stopped (``pending_*``)."""
        return tuple(o.cli_ord_id for o in self.orders if o.state in _PENDING)

    def next_counter(self, prefix: str) -> int:
        """The first ``n`` after every used ``f"{prefix}-{n}"`` id (1 if none was used)."""
        pattern = re.compile(re.escape(prefix) + r"-(\d+)")
        used = (pattern.fullmatch(i) for i in self.cli_ord_ids)
        return max((int(m.group(1)) for m in used if m), default=0) + 1

    def id_generator(self, prefix: str) -> CliOrdIdGenerator:
        """A :class:`CliOrdIdGenerator` for ``prefix`` that continues after every used id."""
        return CliOrdIdGenerator(prefix, start=self.next_counter(prefix))


def rebuild_positions(state: JournalState, book: PositionBook | None = None) -> PositionBook:
    """Replay the journaled fills and funding payments, in journal order, into ``book`` (a new
    one by default). Each is booked once: the book itself ignores a ``fill_id`` or payment it
    has seen, so replaying twice changes nothing."""
    book = PositionBook() if book is None else book
    bookings: list[JournalFill | JournalFunding] = [*state.fills, *state.funding]
    bookings.sort(key=lambda b: b.seq)
    for item in bookings:
        if isinstance(item, JournalFill):
            book.apply_fill(item.fill, strategy=item.strategy)
        else:
            p = item.payment
            book.apply_funding_payment(
                p.strategy, p.symbol, p.amount, ts_ms=p.ts_ms, payment_id=p.payment_id or None
            )
    return book


__all__ = [
    "Action",
    "JournalEvent",
    "JournalFill",
    "JournalFunding",
    "JournalRecord",
    "JournalState",
    "check_request",
    "decode_any",
    "decode_fill",
    "decode_funding",
    "decode_order",
    "decode_request",
    "encode_fill",
    "encode_funding",
    "encode_order",
    "encode_request",
    "event_of",
    "rebuild_positions",
    "to_dict",
]
