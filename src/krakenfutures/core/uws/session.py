"""The client side of the Unified WebSocket as a sans-I/O state machine.

The I/O layer (:class:`~krakenfutures.client.uws.AsyncUwsConnection`) owns the socket, the
clock and the token source, and does four things::

    session.connected(token)               # after every (re)connect (token: private socket)
    session.receive(frame, ts_ms)          # every frame read
    for frame in session.data_to_send():   # after every call, send these in order
        await ws.send(frame)
    for event in session.events(): ...     # and handle these

What the session keeps:

* **requests**: every request gets the next ``req_id``; responses are matched by it and
  reported as :class:`~krakenfutures.core.uws.events.RequestSucceeded` /
  :class:`~krakenfutures.core.uws.events.RequestFailed` with a typed result. A request may get
  several responses (``cancel_order`` answers per id, a subscription per symbol); the last is
  ``final``. Requests still open when the connection drops become
  :class:`~krakenfutures.core.uws.events.RequestLost` (their outcome is unknown). Requests are
  never re-sent by the session.
* **subscriptions**: what you *want* (:meth:`UwsSession.subscribe`, callable before connecting)
  survives reconnects; what the server *confirmed* is per connection. Every :meth:`connected`
  re-sends every subscription, private ones with that connection's token (a fresh one per
  connection: tokens are used within 15 minutes of issue; reference §2.4).
* **liveness**: heartbeats are counted and timestamped (:meth:`UwsSession.check_stale`);
  :meth:`UwsSession.ping` sends an application-level ``ping``.
* **status**: ``status`` messages become ``StatusChanged`` + ``MaintenanceNotice`` events.
* **sequences**: the channels of :attr:`UwsAssumptions.sequenced_channels` are checked for
  gaps (:class:`~krakenfutures.core.uws.events.SequenceGap`).

No clock, no randomness, no I/O. The token travels in ``params.token`` as Kraken requires and
never appears in a repr or an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from krakenfutures.core.uws.assumptions import (
    DEFAULT_ASSUMPTIONS,
    SequenceScope,
    UwsAssumptions,
)
from krakenfutures.core.uws.build import (
    Options,
    SubKey,
    build_authorized,
    build_keys,
    build_options,
    build_subscriptions,
    expected_responses,
)
from krakenfutures.core.uws.classify import MalformedMessage, UnknownMessage, classify
from krakenfutures.core.uws.events import (
    Event,
    RequestFailed,
    RequestLost,
    RequestSucceeded,
    SequenceGap,
    StatusChanged,
    Subscribed,
    SubscribeFailed,
    UnknownMessageReceived,
    UnmatchedResponse,
    Unsubscribed,
    UnsubscribeFailed,
    parse_maintenance,
)
from krakenfutures.core.uws.schema import (
    ASSET_CLASS,
    PRIVATE_CHANNELS,
    PRIVATE_METHODS,
    Request,
    Response,
    encode,
)
from krakenfutures.core.uws.schema_channels import HeartbeatMessage, StatusMessage
from krakenfutures.core.uws.schema_orders import parse_result
from krakenfutures.errors import ConnectError, CredentialsError, ValidationError

_SEQUENCED = ("executions", "balances", "positions", "ledgers")  # messages with a `sequence`


@dataclass(slots=True)
class _Pending:
    """A request waiting for responses; ``keys`` are the subscriptions it carries."""

    method: str
    remaining: int
    keys: list[SubKey] | None = None


@dataclass(slots=True)
class _Connection:
    """What one connection knows; replaced on every :meth:`UwsSession.connected`."""

    token: str | None
    sent: set[SubKey] = field(default_factory=set)  # subscribe sent, not acked
    confirmed: set[SubKey] = field(default_factory=set)
    resync: set[SubKey] = field(default_factory=set)  # unsubscribed to subscribe again
    pending: dict[int, _Pending] = field(default_factory=dict)
    next_seq: dict[str, int] = field(default_factory=dict)


class UwsSession:
    """Requests, subscriptions and liveness of one uws socket across reconnects.

    Args:
        asset_class: the ``asset_class`` put on subscriptions and trading requests.
        assumptions: the open wire facts (symbol spelling, sequences, ...).
        first_req_id: the first ``req_id`` (ids then count up, never reused).
    """

    __slots__ = (
        "_asset_class",
        "_assume",
        "_conn",
        "_desired",
        "_events",
        "_next_req_id",
        "_outbox",
        "heartbeats",
        "last_heartbeat_ms",
        "last_rx_ms",
        "status",
    )

    def __init__(
        self,
        *,
        asset_class: str = ASSET_CLASS,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        first_req_id: int = 1,
    ) -> None:
        self._asset_class = asset_class
        self._assume = assumptions
        self._desired: dict[SubKey, Options] = {}  # key -> options
        self._conn: _Connection | None = None
        self._next_req_id = first_req_id
        self._outbox: list[bytes] = []
        self._events: list[Event] = []
        self.heartbeats = 0
        """Heartbeats received over the session's lifetime."""
        self.last_heartbeat_ms: int | None = None
        """``ts_ms`` of the last heartbeat (when :meth:`receive` was given times)."""
        self.last_rx_ms: int | None = None
        """``ts_ms`` of the last frame of this connection (when given times)."""
        self.status: StatusChanged | None = None
        """The last engine status received."""

    # -- the three verbs ----------------------------------------------------------------------

    def receive(self, raw: bytes | str, ts_ms: int | None = None) -> None:
        """Feed one frame read from the socket (``ts_ms``: when, for liveness checks)."""
        if ts_ms is not None:
            self.last_rx_ms = ts_ms
        msg = classify(raw)
        if isinstance(msg, Response):
            self._on_response(msg)
        elif isinstance(msg, HeartbeatMessage):
            self.heartbeats += 1
            if ts_ms is not None:
                self.last_heartbeat_ms = ts_ms
        elif isinstance(msg, StatusMessage):
            self._on_status(msg)
        elif isinstance(msg, UnknownMessage):
            self._events.append(UnknownMessageReceived(msg.raw))
        elif isinstance(msg, MalformedMessage):
            self._events.append(UnknownMessageReceived(msg.raw, msg.error))
        else:
            channel = msg.__struct_config__.tag
            if channel in _SEQUENCED and channel in self._assume.sequenced_channels:
                self._check_sequence(str(channel), msg)
            self._events.append(msg)

    def data_to_send(self) -> list[bytes]:
        """Frames to send now, in order (and forget them)."""
        out, self._outbox = self._outbox, []
        return out

    def events(self) -> list[Event]:
        """Events since the last call, in order (and forget them)."""
        out, self._events = self._events, []
        return out

    # -- connection lifecycle -----------------------------------------------------------------

    def connected(self, token: str | None = None) -> None:
        """A new connection is open: resubscribe everything wanted (private channels once a
        token is known: ``token`` here or :meth:`set_token`)."""
        self._conn = _Connection(token=token)
        self._outbox = []
        self.last_rx_ms = None
        self._flush(list(self._desired))

    def set_token(self, token: str) -> None:
        """Use ``token`` for the rest of this connection and send the private subscriptions
        that waited for it."""
        conn = self._require_connection("set a token")
        conn.token = token
        self._flush([k for k in self._desired if k[0] in PRIVATE_CHANNELS])

    def connection_lost(self) -> None:
        """The connection closed: open requests become ``RequestLost`` events, nothing is
        confirmed until the next :meth:`connected`."""
        conn, self._conn = self._conn, None
        self._outbox = []
        if conn is None:
            return
        for req_id, pending in sorted(conn.pending.items()):
            if pending.keys is None:
                self._events.append(RequestLost(req_id, pending.method))

    # -- requests -----------------------------------------------------------------------------

    def request(self, method: str, params: Any = None) -> int:
        """Queue ``method`` with ``params`` (a params struct or a mapping); returns its
        ``req_id``. Trading methods get this connection's token and, for mappings without
        one, the session's ``asset_class``.

        Raises:
            ConnectError: not connected (nothing is queued).
            ValidationError: ``subscribe``/``unsubscribe`` (use :meth:`subscribe`).
            CredentialsError: a trading method and no token on this connection.
        """
        conn = self._require_connection(f"send {method}")
        if method in ("subscribe", "unsubscribe"):
            raise ValidationError(f"use UwsSession.{method}() so the session tracks it")
        if method in PRIVATE_METHODS:
            if conn.token is None:
                raise CredentialsError(
                    f"{method} needs a WebSocket token: connect the private socket with a "
                    "token provider (a Spot API key with WebSocket permission)"
                )
            params = build_authorized(
                method, params, conn.token, asset_class=self._asset_class, assumptions=self._assume
            )
        count = expected_responses(method, params, self._assume)
        return self._send(method, params, _Pending(method, count))

    def ping(self) -> int:
        """Queue an application-level ``ping``; the ``pong`` is reported as
        ``RequestSucceeded(method="ping")``. Returns the ``req_id``.

        Raises:
            ConnectError: not connected.
        """
        return self.request("ping")

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self, channel: str, symbols: Iterable[str] | str | None = None, **options: Any
    ) -> None:
        """Want ``channel`` (for ``symbols`` on ``book``/``ticker``/``trade``) now and after
        every reconnect. ``options``: ``depth``, ``snapshot``, ``snap_orders``, ``snap_trades``,
        ``order_status``, ``ratecounter``, ``with_margin``, ``event_trigger``.

        Raises:
            ValidationError: a symbol channel without symbols, symbols on another channel,
                ``status``/``heartbeat`` (sent unasked), an unknown option, a bad ``depth``.
        """
        keys = build_keys(channel, symbols, self._assume)
        frozen = build_options(channel, options)
        for key in keys:
            self._desired[key] = frozen
        if self._conn is not None:
            self._flush(keys)

    def unsubscribe(self, channel: str, symbols: Iterable[str] | str | None = None) -> None:
        """Stop wanting ``channel`` (for ``symbols``); tells the server if it was requested."""
        keys = build_keys(channel, symbols, self._assume)
        conn = self._conn
        options = {k: self._desired.pop(k, ()) for k in keys}
        if conn is None:
            return
        live = [k for k in keys if k in conn.sent or k in conn.confirmed or k in conn.resync]
        for key in live:
            conn.sent.discard(key)
            conn.confirmed.discard(key)
            conn.resync.discard(key)
        self._send_subscriptions("unsubscribe", live, options)

    def resubscribe(self, channel: str, symbols: Iterable[str] | str | None = None) -> None:
        """Ask again for a snapshot (after a book checksum mismatch or a
        :class:`~krakenfutures.core.uws.events.SequenceGap`): unsubscribe what is confirmed and
        subscribe again when the server acknowledges; a subscription still waiting for its ack
        is left alone (its snapshot is on the way). On a per-channel sequence the new snapshot
        is the channel's new baseline (see :meth:`_check_sequence`)."""
        conn = self._conn
        if conn is None:
            return  # the next connected() subscribes afresh
        keys = [k for k in build_keys(channel, symbols, self._assume) if k in self._desired]
        again = [k for k in keys if k in conn.confirmed]
        for key in again:
            conn.confirmed.discard(key)
            conn.resync.add(key)
        self._send_subscriptions("unsubscribe", again, self._desired)
        self._flush([k for k in keys if k not in again and k not in conn.resync])

    # -- state --------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Between :meth:`connected` and :meth:`connection_lost`."""
        return self._conn is not None

    @property
    def has_token(self) -> bool:
        """Whether this connection has a token (private channels and trading)."""
        return self._conn is not None and self._conn.token is not None

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

    def options(self, channel: str, symbol: str | None = None) -> dict[str, Any]:
        """The options ``channel`` (for ``symbol``) is wanted with (``{}`` if not wanted)."""
        return dict(self._desired.get((channel, symbol), ()))

    @property
    def open_requests(self) -> dict[int, str]:
        """Requests waiting for responses on this connection: ``req_id -> method``."""
        conn = self._conn
        if conn is None:
            return {}
        return {r: p.method for r, p in conn.pending.items() if p.keys is None}

    def check_stale(self, now_ms: int, timeout_ms: int) -> bool:
        """Whether the connection looks dead: something is confirmed (so heartbeats should
        flow) and no frame came for more than ``timeout_ms``. A verdict: never raises."""
        conn = self._conn
        if conn is None or not conn.confirmed or self.last_rx_ms is None:
            return False
        return now_ms - self.last_rx_ms > timeout_ms

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "disconnected"
        return (
            f"UwsSession({state}, desired={len(self._desired)}, "
            f"confirmed={len(self.confirmed)}, token={self.has_token})"
        )

    # -- internals: sending -------------------------------------------------------------------

    def _require_connection(self, what: str) -> _Connection:
        if self._conn is None:
            raise ConnectError(f"cannot {what}: the uws connection is not open; nothing was sent")
        return self._conn

    def _send(self, method: str, params: Any, pending: _Pending) -> int:
        conn = self._require_connection(f"send {method}")
        req_id = self._next_req_id
        self._next_req_id += 1
        conn.pending[req_id] = pending
        self._outbox.append(encode(Request(method=method, params=params, req_id=req_id)))
        return req_id

    def _flush(self, keys: list[SubKey]) -> None:
        """Subscribe ``keys`` not sent or confirmed on this connection (private: with token)."""
        conn = self._conn
        if conn is None:
            return
        todo = [
            k
            for k in keys
            if k in self._desired
            and k not in conn.sent
            and k not in conn.confirmed
            and (k[0] not in PRIVATE_CHANNELS or conn.token is not None)
        ]
        conn.sent.update(todo)
        self._send_subscriptions("subscribe", todo, self._desired)

    def _send_subscriptions(
        self, method: str, keys: list[SubKey], options: Mapping[SubKey, Options]
    ) -> None:
        conn = self._conn
        assert conn is not None
        for params, group in build_subscriptions(
            method,
            keys,
            options,
            token=conn.token,
            asset_class=self._asset_class,
            assumptions=self._assume,
        ):
            self._send(method, params, _Pending(method, len(group), list(group)))

    # -- internals: receiving -----------------------------------------------------------------

    def _on_response(self, msg: Response) -> None:
        conn = self._conn
        pending = None
        if conn is not None and msg.req_id is not None:
            pending = conn.pending.get(msg.req_id)
        if pending is None or conn is None or msg.req_id is None:
            self._events.append(UnmatchedResponse(msg))
            return
        req_id = msg.req_id
        pending.remaining -= 1
        final = pending.remaining <= 0
        if final:
            del conn.pending[req_id]
        if pending.keys is not None:
            self._on_subscription_ack(conn, pending, msg)
            return
        result = parse_result(pending.method, msg.result)
        if msg.ok:
            self._events.append(RequestSucceeded(req_id, pending.method, result, msg, final))
        else:
            error = msg.error or "request failed without an error text"
            self._events.append(RequestFailed(req_id, pending.method, error, msg, final))

    def _on_subscription_ack(self, conn: _Connection, pending: _Pending, msg: Response) -> None:
        keys = pending.keys
        assert keys is not None
        result = parse_result(pending.method, msg.result)
        wire = getattr(result, "symbol", None) or msg.symbol
        symbol = self._assume.from_wire_symbol(wire) if wire else None
        key = next((k for k in keys if k[1] == symbol), keys[0] if keys else None)
        if key is None:
            return  # more acks than symbols: nothing left to account for
        keys.remove(key)
        channel, symbol = key
        error = msg.error or "refused without an error text"
        if pending.method == "subscribe":
            conn.sent.discard(key)
            live = msg.ok or "already subscribed" in error.lower()
            if live and key in self._desired:
                conn.confirmed.add(key)
            if msg.ok:
                self._events.append(Subscribed(channel, symbol, result))
            else:
                self._events.append(SubscribeFailed(channel, symbol, error))
            return
        if msg.ok:
            self._events.append(Unsubscribed(channel, symbol))
        else:
            self._events.append(UnsubscribeFailed(channel, symbol, error))
        if key in conn.resync:
            conn.resync.discard(key)
            self._flush([key])

    def _on_status(self, msg: StatusMessage) -> None:
        for data in msg.data:
            status = StatusChanged(data.system, data.api_version, data.connection_id, data.version)
            self.status = status
            self._events.append(status)
            for kind, entries in (
                ("maintenance", data.upcoming_maintenance),
                ("emergency", data.emergency),
            ):
                for entry in entries or ():
                    self._events.append(parse_maintenance(kind, entry))

    def _check_sequence(self, channel: str, msg: Any) -> None:
        """Report a :class:`SequenceGap` when ``msg.sequence`` is not the one expected. A
        snapshot on a per-channel counter starts a new baseline (a resubscription may number
        afresh); on a connection-wide counter it must continue like any message."""
        seq = msg.sequence
        conn = self._conn
        if seq is None or conn is None:
            return
        scope = channel if self._assume.sequence_scope is SequenceScope.CHANNEL else "*"
        expected = conn.next_seq.get(scope)
        baseline = msg.is_snapshot and scope != "*"
        if expected is not None and seq != expected and not baseline:
            self._events.append(SequenceGap(channel, expected, seq))
        conn.next_seq[scope] = seq + 1


__all__ = ["SubKey", "UwsSession"]
