"""Unified WebSocket (uws) envelope and subscriptions: the Spot-v2 message format.

Wire facts: reference ``unified-websocket.md`` §3. Order methods are in
:mod:`krakenfutures.core.uws.schema_orders`, channel data in :mod:`~.schema_channels`.

Conventions (shared with the channel schema):

* Every struct is ``frozen, kw_only``; decoding ignores unknown fields, so a field Kraken adds
  never breaks a client. Prices, quantities and money are :class:`~decimal.Decimal` and accept
  JSON numbers or decimal strings (the official SDK sends numbers; reference §3.1).
* Request structs use ``omit_defaults``: a ``None`` field is left off the wire (Spot v2 rejects
  unknown or unexpected fields with ``Unsupported field``). Encode with :func:`encode`, which
  writes decimals as JSON numbers.
* Wire names (``order_qty``, ``cl_ord_id``, ``req_id``) are kept as they are: uws already uses
  snake case; the glossary names (``qty``, ``cli_ord_id``) start above this package.
* Times are RFC 3339 text on the wire; :func:`parse_time_ms` gives epoch ms.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import msgspec

ASSET_CLASS: Final = "derivatives"
"""The ``asset_class`` of every derivatives request (``spot`` comes in Q1 2027; §1.4)."""

_ENCODER = msgspec.json.Encoder(decimal_format="number")


def encode(msg: Any) -> bytes:
    """One JSON frame for a struct of this package (or builtins); decimals as JSON numbers."""
    return _ENCODER.encode(msg)


# ---------------------------------------------------------------------------------------------
# Vocabulary (§1.3, §1.4, §3, §4.9, §4.10)
# ---------------------------------------------------------------------------------------------

SYMBOL_CHANNELS = frozenset({"book", "ticker", "trade"})
"""Channels subscribed per symbol; the server acks each symbol separately (§3.3)."""
PUBLIC_CHANNELS = SYMBOL_CHANNELS | {"instrument", "status", "heartbeat"}
"""Channels of ``/v2/public``; ``status`` and ``heartbeat`` come unasked (§3.5)."""
AUTO_CHANNELS = frozenset({"status", "heartbeat"})
"""Channels the server sends without a subscription (and refuses to subscribe)."""
PRIVATE_CHANNELS = frozenset({"executions", "balances", "margin", "positions", "ledgers"})
"""Channels of ``/v2/private``: their subscribe needs ``params.token``."""
ASSET_CLASS_CHANNELS = frozenset(
    {"ticker", "book", "instrument", "executions", "margin", "positions"}
)
"""Subscriptions whose params carry ``asset_class`` (§1.4; not ``trade``, ``balances``,
``ledgers``)."""
SINGLETON_CHANNELS = frozenset({"margin", "positions"})
"""At most one subscription per connection (§3.3)."""
BOOK_DEPTHS = (10, 25, 100, 500, 1000)
"""``depth`` values of the ``book`` channel; 10 is the default (§4.9)."""
CHECKSUM_DEPTH = 10
"""Levels per side the book checksum covers, whatever the depth (§4.11)."""

PRIVATE_METHODS = frozenset(
    {
        "add_order",
        "amend_order",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_add",
        "batch_cancel",
    }
)
"""Trading methods: ``/v2/private`` only, ``params.token`` on every request (§2.4)."""
PUBLIC_METHODS = frozenset({"subscribe", "unsubscribe", "ping"})
"""Methods of both sockets (a private ``subscribe`` adds the token)."""

ALREADY_SUBSCRIBED_MARGIN = "Already subscribed to margin channel"
"""Verbatim error of a second ``margin`` subscription (§3.3)."""
ALREADY_SUBSCRIBED_POSITIONS = "Already subscribed to positions channel"
"""Verbatim error of a second ``positions`` subscription (§3.3)."""
MARGIN_SNAPSHOT_INVALID = "'params.snapshot' is not valid for the margin channel"
"""Verbatim error of ``snapshot`` on a ``margin`` subscription (§3.3)."""


# ---------------------------------------------------------------------------------------------
# Envelope (§3.1, §3.2)
# ---------------------------------------------------------------------------------------------


class Request(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``{"method":...,"params":{...},"req_id":n}``; ``params`` is one of the ``*Params``
    structs below (or a mapping); ``req_id`` is echoed in the response."""

    method: str
    params: Any = None
    req_id: int | None = None


class Response(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A reply to a request: ``result`` when ``success``, ``error`` otherwise.

    ``method`` echoes the request's (``pong`` for ``ping``); ``success`` is ``None`` when the
    server left it out (``pong`` may); ``result`` is decoded to builtins (decimals exact) and
    typed by :func:`~krakenfutures.core.uws.schema_orders.parse_result`; ``time_in``/``time_out`` are RFC 3339 text; ``symbol`` is set
    on some subscription errors. ``warnings`` may also sit inside ``result``.
    """

    method: str
    success: bool | None = None
    result: Any = None
    error: str | None = None
    req_id: int | None = None
    time_in: str | None = None
    time_out: str | None = None
    symbol: str | None = None
    warnings: list[str] | None = None

    @property
    def ok(self) -> bool:
        """True unless the server said ``success: false`` or sent an ``error``."""
        return self.success is not False and self.error is None


# ---------------------------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------------------------


class Params(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every request params struct: ``None`` fields are not sent."""


class SubscriptionParams(Params, frozen=True, kw_only=True):
    """``subscribe``/``unsubscribe`` params (§3.3, §4.9, §4.10); ``symbol`` is a list."""

    channel: str
    symbol: list[str] | None = None
    asset_class: str | None = None
    depth: int | None = None
    snapshot: bool | None = None
    snap_orders: bool | None = None
    snap_trades: bool | None = None
    order_status: bool | None = None
    ratecounter: bool | None = None
    with_margin: bool | None = None
    event_trigger: str | None = None
    token: str | None = None


class Result(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every response result struct: optional ``warnings``."""

    warnings: list[str] | None = None


class SubscribeResult(Result, frozen=True, kw_only=True):
    """A subscription ack; ``symbol`` is one string (one ack per symbol; §3.3)."""

    channel: str
    symbol: str | None = None
    snapshot: bool | None = None
    depth: int | None = None


_REQUEST = msgspec.json.Decoder(Request, float_hook=Decimal)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def decode_request(raw: bytes | str) -> Request:
    """A client frame as a :class:`Request`, ``params`` as builtins with exact decimals.

    Raises:
        msgspec.DecodeError: not JSON, or not a request object.
    """
    return _REQUEST.decode(raw)


def parse_time_ms(text: str | None) -> int | None:
    """Epoch ms of an RFC 3339 time (``2023-09-26T13:09:48.463201Z``; any number of fraction
    digits, nanoseconds included), ``None`` when absent or unreadable."""
    if not text:
        return None
    head, dot, tail = text.strip().partition(".")
    zone = ""
    if dot:
        digits = len(tail) - len(tail.lstrip("0123456789"))
        fraction, zone = tail[:digits], tail[digits:]
        text = f"{head}.{(fraction + '000000')[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return (parsed - _EPOCH) // _MS  # integer arithmetic: no float rounding


def format_time_ms(ts_ms: int) -> str:
    """RFC 3339 text of epoch ms with millisecond precision (``2024-07-21T09:53:59.050Z``),
    the form of ``deadline``."""
    moment = _EPOCH + ts_ms * _MS
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


__all__ = [
    "ALREADY_SUBSCRIBED_MARGIN",
    "ALREADY_SUBSCRIBED_POSITIONS",
    "ASSET_CLASS",
    "ASSET_CLASS_CHANNELS",
    "AUTO_CHANNELS",
    "BOOK_DEPTHS",
    "CHECKSUM_DEPTH",
    "MARGIN_SNAPSHOT_INVALID",
    "PRIVATE_CHANNELS",
    "PRIVATE_METHODS",
    "PUBLIC_CHANNELS",
    "PUBLIC_METHODS",
    "SINGLETON_CHANNELS",
    "SYMBOL_CHANNELS",
    "Params",
    "Request",
    "Response",
    "Result",
    "SubscribeResult",
    "SubscriptionParams",
    "decode_request",
    "encode",
    "format_time_ms",
    "parse_time_ms",
]
