"""WebSocket v1 wire vocabulary: feed names, Kraken's reply texts, control messages, the encoder.

Conventions for every ``core/ws/schema*.py`` module (classify, both sessions and the simulator
rely on them):

* Every struct is ``frozen, kw_only``. Python names follow the glossary (``symbol``, ``qty``,
  ``ts_ms``...) and are renamed to the exact wire names (``product_id``/``instrument``,
  ``bid_size``, ``time``/``timestamp``...). Wire names stop here.
* Messages are tagged structs: control messages by ``event`` (``tag_field="event"``), data
  messages by ``feed``. The tag is not a field; it is written first when encoding and checked
  when decoding. Requests (client -> server) and replies (server -> client) are separate types
  because both directions use ``event: challenge``.
* Decoding ignores unknown fields. Every price, size, money and rate field is
  :class:`~decimal.Decimal` and accepts JSON numbers or decimal strings; epoch-ms times are
  ints. Fields Kraken may leave out default to ``None``.
* Structs encode back to Kraken's shape (the simulator sends them): structs whose absent fields
  Kraken *omits* use ``omit_defaults`` (``None`` is then left off the wire); fields Kraken always
  sends have no default, so they are always written. Encode with :func:`encode` so decimals go
  out as JSON numbers, as Kraken sends them.
"""

from __future__ import annotations

from typing import Any

import msgspec

WIRE_ENCODER = msgspec.json.Encoder(decimal_format="number")
"""JSON encoder for WebSocket frames: decimals as numbers (``34981.5``), never quoted."""


def encode(msg: Any) -> bytes:
    """Encode one message (a struct from these schemas, or plain builtins) as a JSON frame."""
    return WIRE_ENCODER.encode(msg)


# ---------------------------------------------------------------------------------------------
# Feeds
# ---------------------------------------------------------------------------------------------

PRODUCT_FEEDS = frozenset({"book", "trade", "ticker", "ticker_lite"})
"""Public feeds that need ``product_ids`` in the subscribe request."""

PUBLIC_FEEDS = PRODUCT_FEEDS | {"heartbeat"}
"""Feeds anyone may subscribe to."""

PRIVATE_FEEDS = frozenset(
    {
        "open_orders",
        "open_orders_verbose",
        "fills",
        "open_positions",
        "balances",
        "account_log",
        "notifications_auth",
    }
)
"""Feeds that need ``api_key``/``original_challenge``/``signed_challenge`` (``fills`` also takes an
optional ``product_ids`` filter)."""

LEGACY_PRIVATE_FEEDS = frozenset({"account_balances_and_margins", "deposits_withdrawals"})
"""Private feeds from Kraken's 2018 sample, superseded by ``balances``: a client may still
subscribe to them (they are signed like the others); the simulator does not serve them."""

FEEDS = PUBLIC_FEEDS | PRIVATE_FEEDS
"""Every feed the simulator serves; anything else is ``Invalid feed``."""

SUBSCRIPTION_FEED: dict[str, str] = {
    "book_snapshot": "book",
    "trade_snapshot": "trade",
    "ticker_snapshot": "ticker",
    "open_orders_snapshot": "open_orders",
    "open_orders_verbose_snapshot": "open_orders_verbose",
    "fills_snapshot": "fills",
    "balances_snapshot": "balances",
    "account_log_snapshot": "account_log",
}
"""The subscription a snapshot message belongs to; other data feeds are their own name."""


def is_private(feed: str) -> bool:
    """Whether subscribing to ``feed`` needs the signed challenge."""
    return feed in PRIVATE_FEEDS or feed in LEGACY_PRIVATE_FEEDS


# ---------------------------------------------------------------------------------------------
# Kraken's texts (reference §2, §4, §6)
# ---------------------------------------------------------------------------------------------

AUTH_FAILED = "Failed to subscribe to authenticated feed"
"""``alert`` for a private subscribe with a bad key, challenge or signature."""
INVALID_PRODUCT = "Invalid product id"
"""``error`` for an unknown product id."""
INVALID_FEED = "Invalid feed"
"""``error`` for an unknown feed name."""
JSON_ERROR = "Json Error"
"""``error`` for a request that is not JSON or lacks a required field."""
BAD_MESSAGE = "Bad websocket message"
"""``alert`` for a JSON request with an unknown ``event`` (measured in reply to ``ping``)."""
RATE_LIMITED = "rate_limited"
"""``alert`` when a connection exceeds 100 requests per second (nautilus_trader PR #4093,
2026-05-19, logged from production); the request is dropped."""
NOT_SUBSCRIBED = "Not subscribed to feed"
"""``alert`` for unsubscribing from a feed the connection is not subscribed to (same source)."""


# ---------------------------------------------------------------------------------------------
# Requests: client -> server
# ---------------------------------------------------------------------------------------------


class ChallengeRequest(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag="challenge"
):
    """``{"event":"challenge","api_key":...}``: ask for a UUID to sign (one per connection)."""

    api_key: str


class SubscriptionRequest(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="event"
):
    """Fields shared by subscribe and unsubscribe; private feeds add the three auth fields."""

    feed: str
    product_ids: tuple[str, ...] | None = None
    api_key: str | None = None
    original_challenge: str | None = None
    signed_challenge: str | None = None


class SubscribeRequest(SubscriptionRequest, frozen=True, kw_only=True, tag="subscribe"):
    """``{"event":"subscribe","feed":...,"product_ids":[...]}`` (+ auth fields if private)."""


class UnsubscribeRequest(SubscriptionRequest, frozen=True, kw_only=True, tag="unsubscribe"):
    """``{"event":"unsubscribe",...}``: the same shape as :class:`SubscribeRequest`."""


Request = ChallengeRequest | SubscribeRequest | UnsubscribeRequest
"""Everything a client may send."""


# ---------------------------------------------------------------------------------------------
# Control replies: server -> client
# ---------------------------------------------------------------------------------------------


class InfoReply(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag="info"):
    """The greeting sent on connect: ``{"event":"info","version":1}``."""

    version: int = 1


class ChallengeReply(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag="challenge"):
    """``{"event":"challenge","message":"<uuid>"}``: the challenge to sign."""

    message: str


class SubscriptionReply(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="event"
):
    """Fields shared by the four subscription replies; private replies echo the auth fields."""

    feed: str
    product_ids: tuple[str, ...] | None = None
    api_key: str | None = None
    original_challenge: str | None = None
    signed_challenge: str | None = None


class SubscribedReply(SubscriptionReply, frozen=True, kw_only=True, tag="subscribed"):
    """``{"event":"subscribed","feed":...,"product_ids":[...]}``."""


class SubscribedFailedReply(SubscriptionReply, frozen=True, kw_only=True, tag="subscribed_failed"):
    """``{"event":"subscribed_failed",...}``."""


class UnsubscribedReply(SubscriptionReply, frozen=True, kw_only=True, tag="unsubscribed"):
    """``{"event":"unsubscribed",...}``."""


class UnsubscribedFailedReply(
    SubscriptionReply, frozen=True, kw_only=True, tag="unsubscribed_failed"
):
    """``{"event":"unsubscribed_failed",...}``."""


class ErrorReply(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag="error"):
    """``{"event":"error","message":"Invalid product id"|"Invalid feed"|"Json Error"}``."""

    message: str


class AlertReply(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag="alert"):
    """``{"event":"alert","message":...}``, e.g. :data:`AUTH_FAILED`, :data:`RATE_LIMITED`."""

    message: str


ControlMessage = (
    InfoReply
    | ChallengeReply
    | SubscribedReply
    | SubscribedFailedReply
    | UnsubscribedReply
    | UnsubscribedFailedReply
    | ErrorReply
    | AlertReply
)
"""Every ``event`` message a server sends."""

CONTROL_TYPES: tuple[type[Any], ...] = (
    InfoReply,
    ChallengeReply,
    SubscribedReply,
    SubscribedFailedReply,
    UnsubscribedReply,
    UnsubscribedFailedReply,
    ErrorReply,
    AlertReply,
)
"""The control reply types, each tagged with its ``event`` (classify's registry)."""
REQUEST_TYPES: tuple[type[Any], ...] = (ChallengeRequest, SubscribeRequest, UnsubscribeRequest)
"""The request types, each tagged with its ``event``."""
