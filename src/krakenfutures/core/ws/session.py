"""The client side of WebSocket v1 as a sans-I/O state machine (websockets' protocol shape).

The I/O layer (the async feed) owns the socket and does four things::

    session.connected()                    # after every (re)connect, before reading
    session.receive(frame)                 # every frame read
    for frame in session.data_to_send():   # after every call above, send these
        await ws.send(frame)
    for event in session.events(): ...     # and handle these

The session remembers the subscriptions you *want* (:meth:`subscribe`/:meth:`unsubscribe`,
callable before connecting) and which the server *confirmed* on this connection. On every
:meth:`connected` it forgets the confirmations and the old challenge, asks for a fresh challenge
if any private feed is wanted, and re-sends every subscription: public ones at once, private
ones as soon as the challenge arrives, each signed with
:func:`~krakenfutures.core.signing.sign_challenge` (reference §2). One challenge serves every
private request of a connection.

No clock, no randomness, no I/O; the API key travels in requests as Kraken requires, the decoded
secret never leaves :func:`~krakenfutures.core.signing.sign_challenge`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from krakenfutures.core.signing import sign_challenge
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.ws.classify import (
    DataMessage,
    MalformedMessage,
    UnknownMessage,
    classify,
)
from krakenfutures.core.ws.schema import (
    AUTH_FAILED,
    PRODUCT_FEEDS,
    AlertReply,
    ChallengeReply,
    ChallengeRequest,
    ErrorReply,
    InfoReply,
    SubscribedFailedReply,
    SubscribedReply,
    SubscribeRequest,
    SubscriptionReply,
    UnsubscribedFailedReply,
    UnsubscribedReply,
    UnsubscribeRequest,
    encode,
    is_private,
)
from krakenfutures.errors import CredentialsError, ValidationError

SubKey = tuple[str, str | None]
"""One subscription: ``(feed, product_id)``; ``product_id`` is ``None`` for feeds without one."""

# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InfoReceived:
    """The server greeted us (``{"event":"info","version":1}``)."""

    version: int


@dataclass(frozen=True, slots=True)
class Subscribed:
    """The server confirmed a subscription (``product_ids`` empty for feeds without one)."""

    feed: str
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscribeFailed:
    """``subscribed_failed``: the subscription stays wanted and is retried on reconnect."""

    feed: str
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """The server confirmed an unsubscription."""

    feed: str
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class UnsubscribeFailed:
    """``unsubscribed_failed``."""

    feed: str
    product_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AuthFailed:
    """Kraken refused our signed challenge: wrong key, secret or a stale challenge.

    ``feeds`` are the private subscriptions that were waiting for confirmation; they stay
    wanted (and are retried with a fresh challenge on the next :meth:`ClientSession.connected`).
    """

    message: str
    feeds: tuple[SubKey, ...] = ()


@dataclass(frozen=True, slots=True)
class ErrorMessage:
    """An ``error`` (``kind="error"``: ``Invalid product id``, ``Invalid feed``, ``Json
    Error``) or an ``alert`` other than the authentication one (``kind="alert"``, e.g.
    ``rate_limited``, ``Bad websocket message``)."""

    message: str
    kind: str = "error"


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """A data message (book, trade, ticker, fills, ...) as its decoded struct."""

    msg: DataMessage


@dataclass(frozen=True, slots=True)
class UnknownMessageReceived:
    """A frame we could not use: ``error`` is empty for valid JSON of an unknown kind, else the
    decode error (not JSON, or a known message that does not fit its schema)."""

    raw: bytes
    error: str = ""


Event = (
    InfoReceived
    | Subscribed
    | SubscribeFailed
    | Unsubscribed
    | UnsubscribeFailed
    | AuthFailed
    | ErrorMessage
    | FeedMessage
    | UnknownMessageReceived
)
"""Everything :meth:`ClientSession.events` returns."""


# ---------------------------------------------------------------------------------------------
# The session
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Connection:
    """What one connection knows; replaced on every :meth:`ClientSession.connected`."""

    challenge_requested: bool = False
    signed: tuple[str, str] | None = None  # (challenge, signature)
    sent: set[SubKey] = field(default_factory=set)  # requested, not confirmed yet
    confirmed: set[SubKey] = field(default_factory=set)


class ClientSession:
    """Subscription and authentication state of one logical feed across reconnects.

    Args:
        api_key: the public API key; needed for private feeds.
        key: the *decoded* API secret (:func:`~krakenfutures.core.signing.decode_secret`);
            needed for private feeds.
    """

    __slots__ = ("_api_key", "_conn", "_desired", "_events", "_key", "_outbox")

    def __init__(self, api_key: str | None = None, key: bytes | None = None) -> None:
        if (api_key is None) != (key is None):
            raise CredentialsError(
                "ClientSession needs both api_key and key (the decoded secret) or neither"
            )
        self._api_key = api_key
        self._key = key
        self._desired: dict[SubKey, None] = {}  # an ordered set
        self._conn: _Connection | None = None
        self._outbox: list[bytes] = []
        self._events: list[Event] = []

    # -- the three verbs ------------------------------------------------------------------------

    def receive(self, raw: bytes | str) -> None:
        """Feed one frame read from the socket; results appear in :meth:`events`."""
        msg = classify(raw)
        handler = _HANDLERS.get(type(msg))
        if handler is None:
            self._events.append(FeedMessage(msg))  # type: ignore[arg-type]
        else:
            handler(self, msg)

    def data_to_send(self) -> list[bytes]:
        """Frames to send now, in order (and forget them)."""
        out, self._outbox = self._outbox, []
        return out

    def events(self) -> list[Event]:
        """Events since the last call, in order (and forget them)."""
        out, self._events = self._events, []
        return out

    # -- connection lifecycle -------------------------------------------------------------------

    def connected(self) -> None:
        """A new connection is open: request a challenge if needed and resubscribe everything.

        Frames from a previous connection still in :meth:`data_to_send` are dropped: they
        carried the old challenge.
        """
        self._conn = _Connection()
        self._outbox = []
        self._flush(list(self._desired))

    def connection_lost(self) -> None:
        """The connection closed: nothing is confirmed any more until :meth:`connected`."""
        self._conn = None
        self._outbox = []

    # -- subscriptions --------------------------------------------------------------------------

    def subscribe(self, feed: str, product_ids: Iterable[str] | None = None) -> None:
        """Want ``feed`` (for ``product_ids`` where the feed takes them), now and after reconnects.

        Raises:
            ValidationError: a product feed (``book``, ``trade``, ``ticker``,
                ``ticker_lite``) without product ids.
            CredentialsError: a private feed on a session without credentials.
        """
        keys = self._keys(feed, product_ids)
        if is_private(feed) and self._key is None:
            raise CredentialsError(
                f"feed {feed!r} is private: create the session with api_key and key "
                "(the decoded API secret) to subscribe to it"
            )
        for k in keys:
            self._desired[k] = None
        if self._conn is not None:
            self._flush(keys)  # also retries keys that failed on this connection

    def unsubscribe(self, feed: str, product_ids: Iterable[str] | None = None) -> None:
        """Stop wanting ``feed`` (for ``product_ids``); tells the server if it was requested."""
        keys = self._keys(feed, product_ids)
        for k in keys:
            self._desired.pop(k, None)
        conn = self._conn
        if conn is None:
            return
        live = [k for k in keys if k in conn.sent or k in conn.confirmed]
        for k in live:  # forgotten now, so a subscribe before the reply is sent again
            conn.sent.discard(k)
            conn.confirmed.discard(k)
        for group_feed, products in _group(live):
            request: SubscribeRequest | UnsubscribeRequest
            request = UnsubscribeRequest(feed=group_feed, product_ids=products)
            if is_private(group_feed):
                if conn.signed is None:
                    continue  # never sent: nothing to undo on the server
                request = self._signed(UnsubscribeRequest, group_feed, products, conn.signed)
            self._outbox.append(encode(request))

    # -- state ----------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Between :meth:`connected` and :meth:`connection_lost`."""
        return self._conn is not None

    @property
    def desired(self) -> frozenset[SubKey]:
        """Every subscription wanted."""
        return frozenset(self._desired)

    @property
    def confirmed(self) -> frozenset[SubKey]:
        """Subscriptions the server confirmed on this connection."""
        return frozenset(self._conn.confirmed) if self._conn is not None else frozenset()

    @property
    def pending(self) -> frozenset[SubKey]:
        """Wanted but not confirmed on this connection (yet)."""
        return self.desired - self.confirmed

    @property
    def has_credentials(self) -> bool:
        """Whether private feeds can be subscribed."""
        return self._key is not None

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "disconnected"
        return (
            f"ClientSession({state}, desired={len(self._desired)}, "
            f"confirmed={len(self.confirmed)}, credentials={self._key is not None})"
        )

    # -- internals ------------------------------------------------------------------------------

    @staticmethod
    def _keys(feed: str, product_ids: Iterable[str] | None) -> list[SubKey]:
        if isinstance(product_ids, str):
            product_ids = [product_ids]  # a lone symbol, not its characters
        products = list(dict.fromkeys(normalize_symbol(p) for p in product_ids or ()))
        if feed in PRODUCT_FEEDS and not products:
            raise ValidationError(
                f"feed {feed!r} needs product_ids, e.g. subscribe({feed!r}, ['PF_XBTUSD'])"
            )
        if not products:
            return [(feed, None)]
        return [(feed, p) for p in products]

    def _flush(self, keys: list[SubKey]) -> None:
        """Send subscribe requests for ``keys`` not sent yet on this connection."""
        conn = self._conn
        assert conn is not None
        todo = [k for k in keys if k not in conn.sent and k not in conn.confirmed]
        for group_feed, products in _group(todo):
            if is_private(group_feed):
                if conn.signed is None:
                    if not conn.challenge_requested:
                        conn.challenge_requested = True
                        self._outbox.append(encode(ChallengeRequest(api_key=self._api_key or "")))
                    continue  # sent when the challenge arrives
                request = self._signed(SubscribeRequest, group_feed, products, conn.signed)
            else:
                request = SubscribeRequest(feed=group_feed, product_ids=products)
            conn.sent.update((group_feed, p) for p in products or (None,))
            self._outbox.append(encode(request))

    def _signed(
        self,
        cls: type[SubscribeRequest] | type[UnsubscribeRequest],
        feed: str,
        products: tuple[str, ...] | None,
        signed: tuple[str, str],
    ) -> SubscribeRequest | UnsubscribeRequest:
        return cls(
            feed=feed,
            product_ids=products,
            api_key=self._api_key,
            original_challenge=signed[0],
            signed_challenge=signed[1],
        )

    def _on_info(self, msg: InfoReply) -> None:
        self._events.append(InfoReceived(msg.version))

    def _on_challenge(self, msg: ChallengeReply) -> None:
        conn = self._conn
        if conn is None or self._key is None:
            return  # not asked for on this connection: nothing to sign
        conn.signed = (msg.message, sign_challenge(self._key, msg.message))
        self._flush([k for k in self._desired if is_private(k[0])])

    def _confirm(self, msg: SubscriptionReply) -> list[SubKey]:
        return [(msg.feed, p) for p in msg.product_ids or (None,)]

    def _on_subscribed(self, msg: SubscribedReply) -> None:
        if self._conn is not None:
            for k in self._confirm(msg):
                self._conn.sent.discard(k)
                self._conn.confirmed.add(k)
        self._events.append(Subscribed(msg.feed, msg.product_ids or ()))

    def _on_subscribe_failed(self, msg: SubscribedFailedReply) -> None:
        if self._conn is not None:
            for k in self._confirm(msg):
                self._conn.sent.discard(k)
        self._events.append(SubscribeFailed(msg.feed, msg.product_ids or ()))

    def _on_unsubscribed(self, msg: UnsubscribedReply) -> None:
        if self._conn is not None:
            for k in self._confirm(msg):
                self._conn.confirmed.discard(k)
        self._events.append(Unsubscribed(msg.feed, msg.product_ids or ()))

    def _on_unsubscribe_failed(self, msg: UnsubscribedFailedReply) -> None:
        self._events.append(UnsubscribeFailed(msg.feed, msg.product_ids or ()))

    def _on_error(self, msg: ErrorReply) -> None:
        self._events.append(ErrorMessage(msg.message, "error"))

    def _on_alert(self, msg: AlertReply) -> None:
        conn = self._conn
        if msg.message != AUTH_FAILED:
            self._events.append(ErrorMessage(msg.message, "alert"))
            return
        waiting: tuple[SubKey, ...] = ()
        if conn is not None:
            waiting = tuple(k for k in self._desired if is_private(k[0]) and k in conn.sent)
            conn.sent.difference_update(waiting)
        self._events.append(AuthFailed(msg.message, waiting))

    def _on_unknown(self, msg: UnknownMessage) -> None:
        self._events.append(UnknownMessageReceived(msg.raw))

    def _on_malformed(self, msg: MalformedMessage) -> None:
        self._events.append(UnknownMessageReceived(msg.raw, msg.error))


def _group(keys: list[SubKey]) -> list[tuple[str, tuple[str, ...] | None]]:
    """One request per feed: its product ids together, or ``None`` for feeds without any."""
    grouped: dict[tuple[str, bool], list[str]] = {}
    for feed, product in keys:
        grouped.setdefault((feed, product is not None), []).extend(
            () if product is None else (product,)
        )
    return [(feed, tuple(ps) if has else None) for (feed, has), ps in grouped.items()]


_HANDLERS: dict[type[Any], Callable[[ClientSession, Any], None]] = {
    InfoReply: ClientSession._on_info,
    ChallengeReply: ClientSession._on_challenge,
    SubscribedReply: ClientSession._on_subscribed,
    SubscribedFailedReply: ClientSession._on_subscribe_failed,
    UnsubscribedReply: ClientSession._on_unsubscribed,
    UnsubscribedFailedReply: ClientSession._on_unsubscribe_failed,
    ErrorReply: ClientSession._on_error,
    AlertReply: ClientSession._on_alert,
    UnknownMessage: ClientSession._on_unknown,
    MalformedMessage: ClientSession._on_malformed,
}

__all__ = [
    "AuthFailed",
    "ClientSession",
    "ErrorMessage",
    "Event",
    "FeedMessage",
    "InfoReceived",
    "SubKey",
    "SubscribeFailed",
    "Subscribed",
    "UnknownMessageReceived",
    "UnsubscribeFailed",
    "Unsubscribed",
]
