"""What :class:`~krakenfutures.client.feed.AsyncFeed` yields, besides the data messages.

An ``async for event in feed`` sees, in the order things happened:

* every data message as its core struct (:class:`~krakenfutures.core.ws.schema_public.BookDelta`,
  :class:`~krakenfutures.core.ws.schema_public.Trade`,
  :class:`~krakenfutures.core.ws.schema_private.FillsUpdate`, ...), Decimal money;
* the session's control events (:class:`~krakenfutures.core.ws.session.Subscribed`,
  :class:`~krakenfutures.core.ws.session.SubscribeFailed`,
  :class:`~krakenfutures.core.ws.session.AuthFailed`,
  :class:`~krakenfutures.core.ws.session.ErrorMessage`,
  :class:`~krakenfutures.core.ws.session.UnknownMessageReceived`, ...);
* the feed's own events defined here: :class:`Reconnected`, :class:`BookGapDetected`,
  :class:`BookResynced`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from krakenfutures.core.ws.classify import DataMessage
from krakenfutures.core.ws.schema_private import PRIVATE_TYPES
from krakenfutures.core.ws.schema_public import PUBLIC_TYPES
from krakenfutures.core.ws.session import (
    AuthFailed,
    ErrorMessage,
    InfoReceived,
    Subscribed,
    SubscribeFailed,
    UnknownMessageReceived,
    Unsubscribed,
    UnsubscribeFailed,
)

GapReason = Literal["gap", "duplicate", "crossed"]
"""Why a book went out of sync: a skipped ``seq``, a repeated or reordered ``seq``, or a delta
that left best bid >= best ask."""


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The connection dropped and is back; every subscription was requested again (private ones
    with a fresh challenge). Messages sent while we were away are lost: state built from the
    feed may be stale until the new snapshots arrive (books resync by themselves; account state
    should be reconciled with REST, see :mod:`krakenfutures.client.mirrors`).

    ``attempt``: connection attempts this outage took (1 = the first retry worked);
    ``downtime_ms``: from noticing the loss to being connected again.
    """

    attempt: int
    downtime_ms: int


@dataclass(frozen=True, slots=True)
class BookGapDetected:
    """The ``symbol`` book's ``seq`` broke (or the book crossed): the local book was dropped and
    a fresh snapshot requested. ``expected``/``got`` are the sequence numbers; ``reason`` is
    ``gap``, ``duplicate`` (also a reordering) or ``crossed``. Every anomaly is reported, also
    those seen while a resync is already under way."""

    symbol: str
    expected: int
    got: int
    reason: GapReason = "gap"


@dataclass(frozen=True, slots=True)
class BookResynced:
    """The ``symbol`` book was rebuilt from a fresh ``book_snapshot`` (after a gap or a
    reconnect) and is usable again from ``seq`` on."""

    symbol: str
    seq: int


FeedStatusEvent = Reconnected | BookGapDetected | BookResynced
"""Events the feed adds to the session's."""

ControlEvent = (
    InfoReceived
    | Subscribed
    | SubscribeFailed
    | Unsubscribed
    | UnsubscribeFailed
    | AuthFailed
    | ErrorMessage
    | UnknownMessageReceived
)
"""Protocol events from :class:`~krakenfutures.core.ws.session.ClientSession`."""

FeedEvent = DataMessage | ControlEvent | FeedStatusEvent
"""Everything ``async for event in feed`` yields."""

STATUS_TYPES: tuple[type[Any], ...] = (Reconnected, BookGapDetected, BookResynced)
CONTROL_TYPES: tuple[type[Any], ...] = (
    InfoReceived,
    Subscribed,
    SubscribeFailed,
    Unsubscribed,
    UnsubscribeFailed,
    AuthFailed,
    ErrorMessage,
    UnknownMessageReceived,
)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


KIND_TYPES: dict[str, type[Any]] = {
    **{str(cls.__struct_config__.tag): cls for cls in PUBLIC_TYPES + PRIVATE_TYPES},
    **{_snake(cls.__name__): cls for cls in CONTROL_TYPES + STATUS_TYPES},
}
"""Every event type by its ``kind``: the ``feed`` tag of data messages (``book``,
``book_snapshot``, ``trade``, ``fills``...), the snake-case class name of the others
(``reconnected``, ``book_gap_detected``, ``subscribed``...)."""

_KIND_OF: dict[type[Any], str] = {cls: kind for kind, cls in KIND_TYPES.items()}


def kind_of(event: object) -> str:
    """The ``kind`` of a feed event (see :data:`KIND_TYPES`).

    Raises:
        ConfigError: ``event`` is not a feed event.
    """
    try:
        return _KIND_OF[type(event)]
    except KeyError:
        from krakenfutures.errors import ConfigError

        raise ConfigError(f"{type(event).__name__} is not a feed event") from None


__all__ = [
    "CONTROL_TYPES",
    "KIND_TYPES",
    "STATUS_TYPES",
    "AuthFailed",
    "BookGapDetected",
    "BookResynced",
    "ControlEvent",
    "ErrorMessage",
    "FeedEvent",
    "FeedStatusEvent",
    "GapReason",
    "InfoReceived",
    "Reconnected",
    "SubscribeFailed",
    "Subscribed",
    "UnknownMessageReceived",
    "UnsubscribeFailed",
    "Unsubscribed",
    "kind_of",
]
