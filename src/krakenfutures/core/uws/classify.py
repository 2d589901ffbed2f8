"""Turn raw uws frames into typed messages without ever raising.

A server frame is either a response (it has ``method``) or a channel message (it has
``channel``). :func:`classify` decodes a two-field probe, then the frame with the decoder of
exactly that type. Book messages, the bulk of the traffic, skip the probe when the frame starts
the way Kraken writes them (``{"channel":"book",``).

Unknown channels (and JSON that is not an object) give :class:`UnknownMessage`; bytes that are
not JSON, or a known message that breaks its schema, give :class:`MalformedMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.uws.schema import Response
from krakenfutures.core.uws.schema_channels import CHANNEL_TYPES, BookMessage, ChannelMessage


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """Valid JSON that is not a message we know (a new channel, not an object)."""

    raw: bytes


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """Bytes that are not JSON, or a known message that does not fit its schema."""

    raw: bytes
    error: str


Message = ChannelMessage | Response | UnknownMessage | MalformedMessage
"""What :func:`classify` returns."""


class _Probe(msgspec.Struct):
    method: str | None = None
    channel: str | None = None


def _tag(cls: type[Any]) -> str:
    tag = msgspec.inspect.type_info(cls).tag  # type: ignore[attr-defined]
    assert isinstance(tag, str)
    return tag


_PROBE = msgspec.json.Decoder(_Probe)
# strict=False: ints and bools may arrive as strings (decimals accept both anyway)
_CHANNELS: dict[str, msgspec.json.Decoder[Any]] = {
    # float_hook: numbers in untyped payloads (``margin``) stay exact Decimals, never floats
    _tag(cls): msgspec.json.Decoder(cls, strict=False, float_hook=Decimal)
    for cls in CHANNEL_TYPES
}
_RESPONSE = msgspec.json.Decoder(Response, strict=False, float_hook=Decimal)
_BOOK = msgspec.json.Decoder(BookMessage, strict=False)
_BOOK_HEAD = b'{"channel":"book",'


def classify(raw: bytes | str) -> Message:
    """Decode one frame a uws server sent. Never raises; ``raw`` may be bytes or text."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if data.startswith(_BOOK_HEAD):
        try:
            book: BookMessage = _BOOK.decode(data)
            return book
        except msgspec.DecodeError:
            pass  # let the general path name the problem
    try:
        probe = _PROBE.decode(data)
    except msgspec.ValidationError:
        return UnknownMessage(data)  # JSON, but not an object with string tags
    except msgspec.DecodeError as exc:
        return MalformedMessage(data, str(exc))
    if probe.channel is not None:
        decoder = _CHANNELS.get(probe.channel)
    elif probe.method is not None:
        decoder = _RESPONSE
    else:
        decoder = None
    if decoder is None:
        return UnknownMessage(data)
    try:
        msg: Message = decoder.decode(data)
    except msgspec.DecodeError as exc:
        return MalformedMessage(data, str(exc))
    return msg


__all__ = ["MalformedMessage", "Message", "UnknownMessage", "classify"]
