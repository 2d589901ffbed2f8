"""Turn raw WebSocket v1 frames into typed messages without ever raising.

:func:`classify` (server -> client frames) looks at ``event``/``feed`` first and then decodes
with a cached decoder for exactly that type:

1. Book deltas, the bulk of the traffic, are recognised by one byte: the ``b`` of
   ``{"feed":"book",`` (as Kraken and our encoder write them; indexing a byte costs less than
   slicing and comparing the prefix) and decoded straight into :class:`BookDelta` by a
   dedicated decoder: one pass, no probe. The decoder checks the ``feed`` tag and every field,
   so a frame it refuses (``book_snapshot``, ``balances``, odd field order or types) simply
   takes the general path below.
2. Anything else is decoded once into a two-field probe (``event``, ``feed``; msgspec skips the
   rest), then by the decoder registered for that ``event`` (control replies) or, without an
   ``event``, that ``feed`` (data).

Unknown ``event``/``feed`` values (and JSON that is not an object) give :class:`UnknownMessage`;
bytes that are not JSON, or a known message missing fields / with wrong types, give
:class:`MalformedMessage`. :func:`classify_request` does the same for client -> server frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from krakenfutures.core.ws.schema import (
    CONTROL_TYPES,
    REQUEST_TYPES,
    ChallengeRequest,
    ControlMessage,
    SubscribeRequest,
    UnsubscribeRequest,
)
from krakenfutures.core.ws.schema_private import (
    PRIVATE_TYPES,
    AccountLogSnapshot,
    AccountLogUpdate,
    BalancesSnapshot,
    BalancesUpdate,
    FillsSnapshot,
    FillsUpdate,
    Notifications,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenOrdersVerboseSnapshot,
    OpenOrdersVerboseUpdate,
    OpenPositions,
)
from krakenfutures.core.ws.schema_public import (
    PUBLIC_TYPES,
    BookDelta,
    BookSnapshot,
    Heartbeat,
    Ticker,
    TickerLite,
    TickerSnapshot,
    Trade,
    TradeSnapshot,
)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """Valid JSON that is not a message we know (new feed, new event, not an object)."""

    raw: bytes


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """Bytes that are not JSON, or a known message that does not fit its schema."""

    raw: bytes
    error: str


DataMessage = (
    BookSnapshot
    | BookDelta
    | TradeSnapshot
    | Trade
    | Ticker
    | TickerSnapshot
    | TickerLite
    | Heartbeat
    | OpenOrdersSnapshot
    | OpenOrdersVerboseSnapshot
    | OpenOrdersUpdate
    | OpenOrdersVerboseUpdate
    | FillsSnapshot
    | FillsUpdate
    | OpenPositions
    | BalancesSnapshot
    | BalancesUpdate
    | AccountLogSnapshot
    | AccountLogUpdate
    | Notifications
)
"""Every ``feed`` message a server sends."""

Message = DataMessage | ControlMessage | UnknownMessage | MalformedMessage
"""What :func:`classify` returns."""

RequestMessage = (
    ChallengeRequest | SubscribeRequest | UnsubscribeRequest | UnknownMessage | MalformedMessage
)
"""What :func:`classify_request` returns."""


class _Probe(msgspec.Struct):
    event: str | None = None
    feed: str | None = None


def _tag(cls: type[Any]) -> str:
    tag = msgspec.inspect.type_info(cls).tag  # type: ignore[attr-defined]
    assert isinstance(tag, str)
    return tag


def _decoders(types: tuple[type[Any], ...]) -> dict[str, msgspec.json.Decoder[Any]]:
    # strict=False: ints and bools may arrive as strings, ints as 1.0 (decimals take both anyway)
    return {_tag(cls): msgspec.json.Decoder(cls, strict=False) for cls in types}


_PROBE = msgspec.json.Decoder(_Probe)
_CONTROL = _decoders(CONTROL_TYPES)
_DATA = _decoders(PUBLIC_TYPES + PRIVATE_TYPES)
_REQUESTS = _decoders(REQUEST_TYPES)
_book_decode = msgspec.json.Decoder(BookDelta).decode
_B = ord("b")  # raw[9] of '{"feed":"book",...' (bytes index to ints, str to 1-char strings)
_ValidationError = msgspec.ValidationError
_DecodeError = msgspec.DecodeError


def classify(raw: bytes | str) -> Message:
    """Decode one frame a server sent into its message struct. Never raises.

    ``raw`` may be ``bytes`` or the ``str`` a WebSocket library hands over for text frames.
    """
    try:
        head = raw[9]
    except IndexError:  # shorter than any book delta
        head = None
    if head == _B or head == "b":
        try:
            return _book_decode(raw)
        except (_DecodeError, UnicodeError):
            pass  # another feed, odd field order or types: the general path decides
    result: Message = _classify(raw, _CONTROL, _DATA)
    return result


def classify_request(raw: bytes | str) -> RequestMessage:
    """Decode one frame a client sent (challenge, subscribe, unsubscribe). Never raises.

    A JSON object with an unknown or missing ``event`` is an :class:`UnknownMessage`.
    """
    result: RequestMessage = _classify(raw, _REQUESTS, {})
    return result


def _classify(
    raw: bytes | str,
    by_event: dict[str, msgspec.json.Decoder[Any]],
    by_feed: dict[str, msgspec.json.Decoder[Any]],
) -> Any:
    try:
        probe = _PROBE.decode(raw)
    except _ValidationError:
        return UnknownMessage(_as_bytes(raw))  # JSON, but not an object with string tags
    except (_DecodeError, UnicodeError) as exc:  # UnicodeError: text with lone surrogates
        return MalformedMessage(_as_bytes(raw), str(exc))
    if probe.event is not None:
        decoder = by_event.get(probe.event)
    elif probe.feed is not None:
        decoder = by_feed.get(probe.feed)
    else:
        decoder = None
    if decoder is None:
        return UnknownMessage(_as_bytes(raw))
    try:
        return decoder.decode(raw)
    except _DecodeError as exc:
        return MalformedMessage(_as_bytes(raw), str(exc))


def _as_bytes(raw: bytes | str | bytearray | memoryview) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    return bytes(raw)


__all__ = [
    "ControlMessage",
    "DataMessage",
    "MalformedMessage",
    "Message",
    "RequestMessage",
    "UnknownMessage",
    "classify",
    "classify_request",
]
