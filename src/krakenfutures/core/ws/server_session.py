"""The server side of WebSocket v1 for the simulator: one :class:`ServerSession` per connection.

The simulator's socket shell calls :meth:`ServerSession.connected` once (it returns the greeting)
and :meth:`ServerSession.receive` for every frame; both return actions in order:

* :class:`Reply` -- bytes to send back on this connection;
* :class:`FeedStarted` -- the connection now wants ``feed`` (for ``product_id``): send that feed's
  snapshot next, then its updates (for private feeds ``api_key`` names the account);
* :class:`FeedStopped` -- stop sending it.

For fan-out, :meth:`ServerSession.wants` says whether a message of ``feed``/``product_id``
goes to this connection. What it answers follows Kraken (reference §2, §4, §6):

* ``challenge`` -> ``{"event":"challenge","message":<uuid>}`` from the injected
  ``new_challenge``; every challenge issued on the connection is remembered with its key.
* private subscribe/unsubscribe must carry ``api_key``, ``original_challenge`` (issued on this
  connection for that key) and ``signed_challenge`` (checked with
  :func:`~krakenfutures.core.signing.verify_challenge`); otherwise
  ``{"event":"alert","message":"Failed to subscribe to authenticated feed"}``. A connection
  serves one account: a second, different key is refused the same way (our choice).
* unknown feed -> ``error`` ``Invalid feed``; unknown product -> ``error`` ``Invalid product
  id``; not JSON, a missing field, or a product feed without ``product_ids`` -> ``error``
  ``Json Error``; a JSON object with an unknown ``event`` (``ping``) -> ``alert`` ``Bad
  websocket message``.
* success -> ``subscribed``/``unsubscribed`` echoing ``feed``, ``product_ids`` and, for
  private feeds, the three auth fields; unsubscribing from nothing subscribed -> ``alert``
  ``Not subscribed to feed``.
* more than 100 requests per second (a token bucket of
  :data:`WS_REQUEST_BUDGET`, every frame counts) -> ``alert`` ``rate_limited`` and the request
  is dropped (what Kraken did in production, nautilus_trader PR #4093).

Pure: time comes in as ``now_ms``, challenges from ``new_challenge``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from krakenfutures.core.ratelimit import Budget, CostBucket
from krakenfutures.core.signing import verify_challenge
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.ws.classify import MalformedMessage, UnknownMessage, classify_request
from krakenfutures.core.ws.schema import (
    AUTH_FAILED,
    BAD_MESSAGE,
    FEEDS,
    INVALID_FEED,
    INVALID_PRODUCT,
    JSON_ERROR,
    NOT_SUBSCRIBED,
    PRIVATE_FEEDS,
    PRODUCT_FEEDS,
    RATE_LIMITED,
    AlertReply,
    ChallengeReply,
    ChallengeRequest,
    ErrorReply,
    InfoReply,
    SubscribedReply,
    SubscriptionRequest,
    UnsubscribedReply,
    UnsubscribeRequest,
    encode,
)
from krakenfutures.core.ws.session import SubKey

WS_REQUEST_BUDGET = Budget(100, 1_000)
"""Kraken's WebSocket request limit: 100 requests per second per connection (reference §5)."""

IDLE_TIMEOUT_MS = 60_000
"""Kraken closes connections that sent no ping for 60 s (reference §6)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """Send ``data`` (one JSON frame) back on this connection."""

    data: bytes


@dataclass(frozen=True, slots=True)
class FeedStarted:
    """The connection subscribed: send the feed's snapshot now, then its updates.

    ``product_id`` is ``None`` for feeds without products (``heartbeat``, private feeds, an
    unfiltered ``fills``); ``api_key`` is the account of a private feed, else ``None``.
    """

    feed: str
    product_id: str | None
    api_key: str | None = None


@dataclass(frozen=True, slots=True)
class FeedStopped:
    """The connection unsubscribed: send nothing more of this feed/product."""

    feed: str
    product_id: str | None


ServerAction = Reply | FeedStarted | FeedStopped
"""What :meth:`ServerSession.connected` and :meth:`ServerSession.receive` return."""

_ALERT_AUTH = encode(AlertReply(message=AUTH_FAILED))
_ALERT_BAD = encode(AlertReply(message=BAD_MESSAGE))
_ALERT_RATE = encode(AlertReply(message=RATE_LIMITED))
_ALERT_NOT_SUBSCRIBED = encode(AlertReply(message=NOT_SUBSCRIBED))
_ERROR_JSON = encode(ErrorReply(message=JSON_ERROR))
_ERROR_FEED = encode(ErrorReply(message=INVALID_FEED))
_ERROR_PRODUCT = encode(ErrorReply(message=INVALID_PRODUCT))


class ServerSession:
    """Protocol state of one simulator WebSocket connection.

    Args:
        keys: API key -> decoded secret of every account the simulator knows.
        new_challenge: returns a fresh challenge string (the simulator passes a UUID4 maker).
        products: the valid product ids (upper case); ``None`` accepts any.
        budget: the request rate limit (default :data:`WS_REQUEST_BUDGET`).
    """

    def __init__(
        self,
        keys: Mapping[str, bytes],
        new_challenge: Callable[[], str],
        *,
        products: Collection[str] | None = None,
        budget: Budget = WS_REQUEST_BUDGET,
    ) -> None:
        self._keys = keys
        self._new_challenge = new_challenge
        self._products = products
        self._budget = budget
        self._bucket: CostBucket | None = None
        self._challenges: dict[str, str] = {}  # challenge -> api_key it was issued for
        self._subs: set[SubKey] = set()
        self._api_key: str | None = None
        self._last_activity_ms = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def connected(self, now_ms: int) -> list[ServerAction]:
        """The connection opened: returns the greeting ``{"event":"info","version":1}``."""
        self._bucket = CostBucket(self._budget, now_ms)
        self._last_activity_ms = now_ms
        return [Reply(encode(InfoReply(version=1)))]

    def note_activity(self, now_ms: int) -> None:
        """Record a keepalive (a WebSocket ping frame) at ``now_ms``."""
        self._last_activity_ms = now_ms

    def is_idle(self, now_ms: int, timeout_ms: int = IDLE_TIMEOUT_MS) -> bool:
        """True when nothing (no frame, no ping) arrived for ``timeout_ms``: close the socket."""
        return now_ms - self._last_activity_ms >= timeout_ms

    # -- requests -------------------------------------------------------------------------------

    def receive(self, raw: bytes | str, now_ms: int) -> list[ServerAction]:
        """Handle one frame from the client and return the actions, in order."""
        self._last_activity_ms = now_ms
        if self._bucket is None:
            self._bucket = CostBucket(self._budget, now_ms)
        if not self._bucket.try_spend(1, now_ms):
            return [Reply(_ALERT_RATE)]
        msg = classify_request(raw)
        if isinstance(msg, MalformedMessage):
            return [Reply(_ERROR_JSON)]
        if isinstance(msg, UnknownMessage):
            return [Reply(_ALERT_BAD)]
        if isinstance(msg, ChallengeRequest):
            challenge = self._new_challenge()
            self._challenges[challenge] = msg.api_key
            return [Reply(encode(ChallengeReply(message=challenge)))]
        return self._subscription(msg)

    def _subscription(self, msg: SubscriptionRequest) -> list[ServerAction]:
        feed = msg.feed
        if feed not in FEEDS:
            return [Reply(_ERROR_FEED)]
        products = tuple(dict.fromkeys(normalize_symbol(p) for p in msg.product_ids or ()))
        if feed in PRODUCT_FEEDS and not products:
            return [Reply(_ERROR_JSON)]
        known = self._products
        if products and known is not None and any(p not in known for p in products):
            return [Reply(_ERROR_PRODUCT)]
        private = feed in PRIVATE_FEEDS
        if private and not self._authentic(msg):
            return [Reply(_ALERT_AUTH)]
        if feed not in PRODUCT_FEEDS and feed != "fills":
            products = ()  # product ids mean nothing to these feeds
        keys = [(feed, p) for p in products] if products else [(feed, None)]
        api_key = msg.api_key if private else None
        unsubscribe = isinstance(msg, UnsubscribeRequest)
        reply_cls = UnsubscribedReply if unsubscribe else SubscribedReply
        reply = Reply(
            encode(
                reply_cls(
                    feed=feed,
                    product_ids=products or None,
                    api_key=api_key,
                    original_challenge=msg.original_challenge if private else None,
                    signed_challenge=msg.signed_challenge if private else None,
                )
            )
        )
        if unsubscribe:
            live = [k for k in keys if k in self._subs]
            if not live:
                return [Reply(_ALERT_NOT_SUBSCRIBED)]
            self._subs.difference_update(live)
            return [reply, *(FeedStopped(f, p) for f, p in live)]
        if private:
            self._api_key = api_key
        self._subs.update(keys)
        return [reply, *(FeedStarted(f, p, api_key) for f, p in keys)]

    def _authentic(self, msg: SubscriptionRequest) -> bool:
        api_key, original, signed = msg.api_key, msg.original_challenge, msg.signed_challenge
        if api_key is None or original is None or signed is None:
            return False
        if self._challenges.get(original) != api_key:
            return False  # not issued on this connection, or issued for another key
        if self._api_key is not None and api_key != self._api_key:
            return False  # one account per connection
        key = self._keys.get(api_key)
        return key is not None and verify_challenge(key, original, signed)

    # -- fan-out --------------------------------------------------------------------------------

    def wants(self, feed: str, product_id: str | None = None) -> bool:
        """Whether a message of ``feed`` about ``product_id`` goes to this connection.

        Pass the message's product for product feeds and ``fills`` (whose subscription may
        filter by product), ``None`` for the others.
        """
        subs = self._subs
        return (feed, product_id) in subs or (product_id is not None and (feed, None) in subs)

    @property
    def subscriptions(self) -> frozenset[SubKey]:
        """Every ``(feed, product_id)`` this connection is subscribed to."""
        return frozenset(self._subs)

    @property
    def api_key(self) -> str | None:
        """The account this connection authenticated as (after a private subscribe)."""
        return self._api_key

    def __repr__(self) -> str:
        return f"ServerSession(subscriptions={len(self._subs)}, account={self._api_key!r})"


__all__ = [
    "IDLE_TIMEOUT_MS",
    "WS_REQUEST_BUDGET",
    "FeedStarted",
    "FeedStopped",
    "Reply",
    "ServerAction",
    "ServerSession",
]
