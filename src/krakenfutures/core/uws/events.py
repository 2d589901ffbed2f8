"""What :class:`~krakenfutures.core.uws.session.UwsSession` reports besides channel messages.

Channel messages (:mod:`krakenfutures.core.uws.schema_channels`) are reported as their structs,
except ``heartbeat`` (counted, not reported) and ``status`` (reported as :class:`StatusChanged`
plus one :class:`MaintenanceNotice` per pending maintenance or emergency entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from krakenfutures.core.uws.assumptions import MAINTENANCE_KEYS
from krakenfutures.core.uws.schema import Response
from krakenfutures.core.uws.schema_channels import ChannelMessage


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The server confirmed ``channel`` (for ``symbol``, in the domain spelling)."""

    channel: str
    symbol: str | None = None
    result: Any = None


@dataclass(frozen=True, slots=True)
class SubscribeFailed:
    """The server refused a subscription; it stays wanted and is retried on reconnect.

    An ``Already subscribed...`` refusal also counts the subscription as live."""

    channel: str
    symbol: str | None
    error: str


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """The server confirmed an unsubscription."""

    channel: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class UnsubscribeFailed:
    """The server refused an unsubscription."""

    channel: str
    symbol: str | None
    error: str


@dataclass(frozen=True, slots=True)
class RequestSucceeded:
    """A response with ``success: true`` to our request ``req_id``.

    ``result`` is typed by :func:`~krakenfutures.core.uws.schema_orders.parse_result` (e.g.
    :class:`~krakenfutures.core.uws.schema_orders.AddOrderResult`); ``final`` is True on the last
    response the request gets (``cancel_order`` with several ids gets one per id).
    """

    req_id: int
    method: str
    result: Any
    response: Response
    final: bool = True


@dataclass(frozen=True, slots=True)
class RequestFailed:
    """A response with ``success: false`` (``error`` is Kraken's text, kept opaque)."""

    req_id: int
    method: str
    error: str
    response: Response
    final: bool = True


@dataclass(frozen=True, slots=True)
class RequestLost:
    """The connection closed before (every) response to ``req_id`` came: whether the request
    was carried out is unknown (resolve an order from ``executions`` before any resend)."""

    req_id: int
    method: str


@dataclass(frozen=True, slots=True)
class UnmatchedResponse:
    """A response to no request of ours on this connection (no or an unknown ``req_id``)."""

    response: Response


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """The engine status (on connect and on every change): ``system`` ∈ ``online``,
    ``cancel_only``, ``maintenance``, ``post_only``."""

    system: str
    api_version: str | None = None
    connection_id: int | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class MaintenanceNotice:
    """One ``upcoming_maintenance`` (``kind="maintenance"``) or ``emergency`` entry of a
    ``status`` message, read with :data:`~krakenfutures.core.uws.assumptions.MAINTENANCE_KEYS`;
    ``raw`` is the entry as sent (its key names are unconfirmed)."""

    kind: str
    stage: str | None = None
    services: tuple[str, ...] = ()
    action: str | None = None
    start: str | None = None
    end: str | None = None
    message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SequenceGap:
    """A sequenced channel skipped (``got > expected``) or repeated a ``sequence``: messages
    were lost; rebuild the state (``ledgers``: from REST Ledgers; others: resubscribe)."""

    channel: str
    expected: int
    got: int


@dataclass(frozen=True, slots=True)
class UnknownMessageReceived:
    """A frame we could not use: ``error`` is empty for valid JSON of an unknown kind, else the
    decode error."""

    raw: bytes
    error: str = ""


@dataclass(frozen=True, slots=True)
class UwsReply:
    """Every response one request got (in order); what ``AsyncUwsConnection.request`` returns."""

    req_id: int
    method: str
    responses: tuple[RequestSucceeded | RequestFailed, ...]

    @property
    def ok(self) -> bool:
        """Whether every response succeeded."""
        return all(isinstance(r, RequestSucceeded) for r in self.responses)

    @property
    def result(self) -> Any:
        """The first successful response's typed result (``None`` if none succeeded)."""
        for r in self.responses:
            if isinstance(r, RequestSucceeded):
                return r.result
        return None

    @property
    def results(self) -> tuple[Any, ...]:
        """Every successful response's result, in order."""
        return tuple(r.result for r in self.responses if isinstance(r, RequestSucceeded))

    @property
    def errors(self) -> tuple[str, ...]:
        """Every failed response's error text, in order."""
        return tuple(r.error for r in self.responses if isinstance(r, RequestFailed))


def parse_maintenance(kind: str, entry: Mapping[str, Any]) -> MaintenanceNotice:
    """A :class:`MaintenanceNotice` from one status entry, whatever its key names."""

    def pick(name: str) -> Any:
        for key in MAINTENANCE_KEYS[name]:
            if key in entry:
                return entry[key]
        return None

    services = pick("services")
    if isinstance(services, str):
        services = [s.strip() for s in services.split(",") if s.strip()]
    return MaintenanceNotice(
        kind=kind,
        stage=_text(pick("stage")),
        services=tuple(str(s) for s in services or ()),
        action=_text(pick("action")),
        start=_text(pick("start")),
        end=_text(pick("end")),
        message=_text(pick("message")),
        raw=dict(entry),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


Event = (
    ChannelMessage
    | Subscribed
    | SubscribeFailed
    | Unsubscribed
    | UnsubscribeFailed
    | RequestSucceeded
    | RequestFailed
    | RequestLost
    | UnmatchedResponse
    | StatusChanged
    | MaintenanceNotice
    | SequenceGap
    | UnknownMessageReceived
)
"""Everything :meth:`UwsSession.events` returns."""

__all__ = [
    "Event",
    "MaintenanceNotice",
    "RequestFailed",
    "RequestLost",
    "RequestSucceeded",
    "SequenceGap",
    "StatusChanged",
    "SubscribeFailed",
    "Subscribed",
    "UnknownMessageReceived",
    "UnmatchedResponse",
    "UnsubscribeFailed",
    "Unsubscribed",
    "UwsReply",
    "parse_maintenance",
]
