"""``AsyncUwsConnection``: one Unified WebSocket (uws) socket, reconnecting, as an async stream.

A thin asyncio driver around the sans-I/O :class:`~krakenfutures.core.uws.session.UwsSession`:
the session decides what to send and what each frame means; this module owns the socket, the
clock, the token source and a background reader task.

Example::

    async with AsyncUwsConnection(UWS_PUBLIC_URL) as market:          # no token needed
        market.subscribe("book", ["PF_XBTUSD"], depth=10)
        async for event in market:
            if isinstance(event, BookMessage):
                print(market.book("PF_XBTUSD").best_bid())

    async with AsyncUwsConnection(UWS_PRIVATE_URL, token_provider=fetch_token) as private:
        private.subscribe("executions")
        reply = await private.request("add_order", AddOrderParams(...))

What it does for you:

* **tokens**: ``token_provider`` (an async callable returning a fresh WebSocket token) is
  awaited before every (re)connection, and that token signs the connection's private
  subscriptions and every trading request (tokens are used within 15 minutes of issue and stay
  valid while the connection holds; reference §2.4). Public data needs no provider.
* **requests**: :meth:`AsyncUwsConnection.request` sends a method and awaits every response
  matched to it (a :class:`~krakenfutures.core.uws.events.UwsReply`); a lost connection raises
  :class:`~krakenfutures.errors.TransportError` (outcome unknown: reconcile before resending),
  no reply in time :class:`~krakenfutures.errors.TimeoutError_`. Requests are never re-sent.
* **reconnection** with jittered exponential backoff (:class:`~krakenfutures.client.feed.Backoff`),
  every subscription renewed (private ones with a fresh token), then a
  :class:`~krakenfutures.client.events.Reconnected` event; a connection silent for
  ``stale_after_s`` while subscribed (heartbeats stopped) is dropped and renewed.
* **books**: every ``book`` symbol keeps a :class:`~krakenfutures.core.uws.book.UwsBook`
  (:meth:`AsyncUwsConnection.book`); a checksum mismatch yields
  :class:`~krakenfutures.core.uws.book.ChecksumMismatch`, resubscribes that symbol and yields
  :class:`UwsBookResynced` when the fresh snapshot is in.
* **sequence gaps** on the private channels (:class:`~krakenfutures.core.uws.events.SequenceGap`,
  yielded as it is): ``executions``, ``balances`` and ``positions`` (:data:`RESNAPSHOT_CHANNELS`)
  are resubscribed like a broken book, so a fresh snapshot replaces the doubtful state (the
  session takes it as the new sequence baseline), and :class:`UwsChannelResynced` follows that
  snapshot. ``ledgers`` has no snapshot: its gap is only yielded, and the consumer rebuilds
  from REST Ledgers (reference §3.4). A channel subscribed without a snapshot
  (``snapshot=False``, ``snap_orders=False``) is not resubscribed either: nothing would replace
  the state. With :attr:`~krakenfutures.core.uws.assumptions.SequenceScope.CONNECTION` one
  counter spans the channels, so a gap resubscribes every subscribed one of them.

The iterator yields channel messages as their structs
(:mod:`krakenfutures.core.uws.schema_channels`), the session's events
(:mod:`krakenfutures.core.uws.events`) and the events above, in the order things happened.
Events queue up while nobody iterates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from krakenfutures.client.events import Reconnected
from krakenfutures.client.feed import Backoff, FrameHook
from krakenfutures.core.book import OrderBook
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SequenceScope, UwsAssumptions
from krakenfutures.core.uws.book import ChecksumMismatch, UwsBook
from krakenfutures.core.uws.events import (
    Event,
    RequestFailed,
    RequestLost,
    RequestSucceeded,
    SequenceGap,
    UwsReply,
)
from krakenfutures.core.uws.schema import ASSET_CLASS, PRIVATE_CHANNELS
from krakenfutures.core.uws.schema_channels import (
    BalancesMessage,
    BookData,
    BookMessage,
    ExecutionsMessage,
    PositionsMessage,
)
from krakenfutures.core.uws.session import UwsSession
from krakenfutures.errors import (
    ConfigError,
    ConnectError,
    CredentialsError,
    KrakenFuturesError,
    TimeoutError_,
    TransportError,
)
from krakenfutures.transport.websocket import WebSocketConnection, connect_websocket

UWS_PUBLIC_URL = "wss://uws.kraken.com/v2/public"
"""Kraken's public uws socket: market data (reference §1.3)."""
UWS_PRIVATE_URL = "wss://uws.kraken.com/v2/private"
"""Kraken's private uws socket: account channels and order entry (token required)."""
PUBLIC_PATH = "/v2/public"
PRIVATE_PATH = "/v2/private"

TokenProvider = Callable[[], Awaitable[str]]
"""``await token_provider()`` -> a fresh WebSocket token (Spot ``GetWebSocketsToken``)."""


@dataclass(frozen=True, slots=True)
class UwsBookResynced:
    """The ``symbol`` book was rebuilt from a fresh snapshot after a checksum mismatch."""

    symbol: str


@dataclass(frozen=True, slots=True)
class UwsChannelResynced:
    """The fresh snapshot of ``channel``, resubscribed after ``gap``, has just been yielded:
    state built from it replaces what the lost messages made doubtful (``gap`` is the first
    :class:`~krakenfutures.core.uws.events.SequenceGap` that started the resync)."""

    channel: str
    gap: SequenceGap


RESNAPSHOT_CHANNELS = ("executions", "balances", "positions")
"""Sequenced channels whose gap is repaired by resubscribing (their snapshot replaces the
state); ``ledgers`` has no snapshot, so its gap is left to the consumer (REST Ledgers)."""
_SNAPSHOT_OPTION = {"executions": "snap_orders", "balances": "snapshot", "positions": "snapshot"}
_RESNAPSHOT_TYPES = (ExecutionsMessage, BalancesMessage, PositionsMessage)

UwsEvent = Event | ChecksumMismatch | UwsBookResynced | UwsChannelResynced | Reconnected
"""Everything ``async for event in connection`` yields."""


def uws_url_for(url: str, *, private: bool = False) -> str:
    """The uws URL for ``url``: a ``ws(s)://`` URL unchanged; ``live`` -> Kraken's socket; an
    ``http(s)`` origin (the simulator, ``http://127.0.0.1:8787``) -> ``ws(s)://host/v2/public``
    (or ``/v2/private``).

    Raises:
        ConfigError: anything else.
    """
    text = url.strip()
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("ws", "wss"):
        return text
    if text.lower() == "live":
        return UWS_PRIVATE_URL if private else UWS_PUBLIC_URL
    if scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{url!r} is neither a ws(s):// URL nor an http(s):// origin")
    path = PRIVATE_PATH if private else PUBLIC_PATH
    return urlunsplit(("wss" if scheme == "https" else "ws", parts.netloc, path, "", ""))


class AsyncUwsConnection:
    """A reconnecting uws socket; iterate it for typed events (see the module doc).

    Args:
        url: a ``ws(s)://`` URL (:data:`UWS_PUBLIC_URL`, :data:`UWS_PRIVATE_URL`) or anything
            :func:`uws_url_for` takes (then the private path with a ``token_provider``, else
            the public one).
        token_provider: ``await token_provider()`` returns a fresh token; needed for private
            channels and trading methods, awaited before every connection.
        asset_class, assumptions: see :class:`~krakenfutures.core.uws.session.UwsSession`.
        books: keep a checksum-verified book per ``book`` symbol.
        request_timeout_s: default limit of :meth:`request`.
        stale_after_s: drop a subscribed connection silent this long (``None``: never).
        ping_interval_s, ping_timeout_s, open_timeout_s, compression: the WebSocket transport.
        reconnect, backoff, max_reconnect_attempts: as :class:`~krakenfutures.client.feed.AsyncFeed`.
        on_frame: ``on_frame(raw, ts_recv_ns)`` for every frame read.
    """

    def __init__(
        self,
        url: str,
        *,
        token_provider: TokenProvider | None = None,
        asset_class: str = ASSET_CLASS,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        books: bool = True,
        request_timeout_s: float = 10.0,
        stale_after_s: float | None = 15.0,
        ping_interval_s: float | None = 30.0,
        ping_timeout_s: float | None = 20.0,
        open_timeout_s: float = 10.0,
        compression: bool = False,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        max_reconnect_attempts: int | None = None,
        on_frame: FrameHook | None = None,
    ) -> None:
        self.url = uws_url_for(url, private=token_provider is not None)
        self._token_provider = token_provider
        self._assume = assumptions
        self._session = UwsSession(asset_class=asset_class, assumptions=assumptions)
        self._books: dict[str, UwsBook] | None = {} if books else None
        self._resyncing: set[str] = set()
        self._gaps: dict[str, SequenceGap] = {}  # channel -> the gap its resubscribe repairs
        self._request_timeout_s = request_timeout_s
        self._stale_after_s = stale_after_s
        self._transport = (ping_interval_s, ping_timeout_s, open_timeout_s, compression)
        self._reconnect = reconnect
        self._backoff = backoff or Backoff()
        self._max_attempts = max_reconnect_attempts
        self._on_frame = on_frame
        self._conn: WebSocketConnection | None = None
        self._events: deque[UwsEvent] = deque()
        self._wakeup = asyncio.Event()
        self._waiters: dict[int, tuple[asyncio.Future[UwsReply], list[Any]]] = {}
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._failure: BaseException | None = None
        self._lost_at: float | None = None
        self.reconnects = 0
        """Completed reconnections."""
        self.frames = 0
        """Frames read over the connection's lifetime."""

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(
        self, channel: str, symbols: Iterable[str] | str | None = None, **options: Any
    ) -> None:
        """Want ``channel`` (for ``symbols``) now and after every reconnect; ``options`` as
        :meth:`UwsSession.subscribe <krakenfutures.core.uws.session.UwsSession.subscribe>`.

        Raises:
            CredentialsError: a private channel without a ``token_provider``.
            ValidationError: see the session.
        """
        if channel in PRIVATE_CHANNELS and self._token_provider is None:
            raise CredentialsError(
                f"channel {channel!r} is private: create the connection with a token_provider "
                "(a Spot API key with the WebSocket permission)"
            )
        self._session.subscribe(channel, symbols, **options)
        self._send_soon()

    def unsubscribe(self, channel: str, symbols: Iterable[str] | str | None = None) -> None:
        """Stop wanting ``channel`` (for ``symbols``); an unsubscribed book is dropped."""
        self._session.unsubscribe(channel, symbols)
        if channel == "book" and self._books is not None:
            wanted = {k[1] for k in self._session.desired if k[0] == "book"}
            for symbol in [s for s in self._books if s not in wanted]:
                del self._books[symbol]
                self._resyncing.discard(symbol)
        self._send_soon()

    @property
    def session(self) -> UwsSession:
        """The protocol state (subscriptions, open requests, heartbeats, status)."""
        return self._session

    @property
    def resyncing(self) -> frozenset[str]:
        """Private channels resubscribed after a sequence gap whose snapshot is not in yet."""
        return frozenset(self._gaps)

    def quiet_s(self) -> float | None:
        """Seconds since the last frame of the current connection; ``None`` while not
        connected or before its first frame (a liveness probe for status consumers)."""
        last = self._session.last_rx_ms
        if self._conn is None or last is None:
            return None
        return max(self._now_ms() - last, 0) / 1000

    # -- books --------------------------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook:
        """The local book of ``symbol`` (empty and not synced until its snapshot).

        Raises:
            ConfigError: the connection was created with ``books=False``.
        """
        return self._book(self._assume.from_wire_symbol(symbol)).book

    def _book(self, symbol: str) -> UwsBook:
        if self._books is None:
            raise ConfigError("this connection keeps no books: create it with books=True")
        book = self._books.get(symbol)
        if book is None:
            depth = self._session.options("book", symbol).get("depth", 10)
            book = self._books[symbol] = UwsBook(symbol, depth)
        return book

    # -- requests -----------------------------------------------------------------------------

    async def request(
        self, method: str, params: Any = None, *, timeout_s: float | None = None
    ) -> UwsReply:
        """Send ``method`` with ``params`` and await every response to it.

        Raises:
            ConnectError: not connected (nothing was sent).
            CredentialsError: a trading method without a token.
            TransportError: the connection was lost before the reply (outcome unknown).
            TimeoutError_: no (complete) reply within ``timeout_s`` (outcome unknown).
        """
        if self._failure is not None:
            raise ConnectError(f"the uws connection gave up: {self._failure}")
        if self._conn is None:
            raise ConnectError(f"not connected to {self.url}; {method} was not sent")
        req_id = self._session.request(method, params)
        future: asyncio.Future[UwsReply] = asyncio.get_running_loop().create_future()
        self._waiters[req_id] = (future, [])
        await self._flush()
        limit = self._request_timeout_s if timeout_s is None else timeout_s
        try:
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            self._waiters.pop(req_id, None)
            raise TimeoutError_(
                f"no reply to {method} (req_id {req_id}) within {limit} s; its outcome is "
                "unknown: check executions before resending"
            ) from None

    async def ping(self, *, timeout_s: float | None = None) -> UwsReply:
        """An application-level ``ping``; returns the ``pong``."""
        return await self.request("ping", timeout_s=timeout_s)

    # -- connection ---------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a connection is open now."""
        return self._conn is not None

    async def connect(self) -> None:
        """Open the first connection and start reading (iterating does this too).

        Raises:
            ConnectError: the connection (or the token fetch before it) failed.
        """
        if self._reader is not None or self._closing:
            return
        await self._open()
        self._reader = asyncio.create_task(self._run(), name=f"uws-reader {self.url}")

    async def aclose(self) -> None:
        """Close the connection, fail open requests, end the iteration. Idempotent."""
        self._closing = True
        reader, self._reader = self._reader, None
        for task in [*self._tasks, *([reader] if reader is not None else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        self._session.connection_lost()
        self._dispatch()
        self._wakeup.set()

    async def drop_connection(self) -> None:
        """Break the connection without a closing handshake, as a network failure would."""
        if self._conn is not None:
            self._conn.abort()

    async def __aenter__(self) -> AsyncUwsConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- iteration ----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncUwsConnection:
        return self

    async def __anext__(self) -> UwsEvent:
        if self._reader is None and not self._closing:
            await self.connect()
        while True:
            if self._events:
                return self._events.popleft()
            if self._closing or self._reader is None or self._reader.done():
                if self._failure is not None and not self._closing:
                    raise self._failure
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()

    async def next_event(self, timeout_s: float | None = None) -> UwsEvent:
        """The next event, waiting at most ``timeout_s`` seconds.

        Raises:
            TimeoutError: nothing came in time.
            StopAsyncIteration: the connection was closed.
        """
        async with asyncio.timeout(timeout_s):
            return await self.__anext__()

    # -- internals: the reader ----------------------------------------------------------------

    async def _run(self) -> None:
        try:
            while not self._closing:
                conn = self._conn
                if conn is None:
                    if not self._reconnect:
                        return
                    await self._reconnect_loop()
                    continue
                raw = await self._recv(conn)
                if raw is not None:
                    self._receive(raw)
                    await self._flush()
        except Exception as exc:  # gave up reconnecting, or a bug: the iterator raises it
            self._failure = exc
        finally:
            self._wakeup.set()

    async def _recv(self, conn: WebSocketConnection) -> bytes | None:
        """The next frame, or ``None`` after a loss (handled) or a quiet spell that is fine."""
        stale = self._stale_after_s
        try:
            async with asyncio.timeout(stale):
                return await conn.recv()
        except TimeoutError:
            stale_ms = int((stale or 0) * 1000)
            if self._session.check_stale(self._now_ms(), stale_ms):
                conn.abort()  # heartbeats stopped: treat as lost
                self._lost(conn)
            return None
        except TransportError:
            self._lost(conn)
            return None

    def _receive(self, raw: bytes) -> None:
        self.frames += 1
        if self._on_frame is not None:
            self._on_frame(raw, time.time_ns())
        self._session.receive(raw, self._now_ms())
        self._dispatch()

    def _dispatch(self) -> None:
        """Move the session's events to the queue, resolving requests and feeding books."""
        push = self._events.append
        for event in self._session.events():
            push(event)
            if isinstance(event, RequestSucceeded | RequestFailed):
                waiter = self._waiters.get(event.req_id)
                if waiter is not None:
                    waiter[1].append(event)
                    if event.final:
                        del self._waiters[event.req_id]
                        reply = UwsReply(event.req_id, event.method, tuple(waiter[1]))
                        if not waiter[0].done():
                            waiter[0].set_result(reply)
            elif isinstance(event, RequestLost):
                lost = self._waiters.pop(event.req_id, None)
                if lost is not None and not lost[0].done():
                    lost[0].set_exception(
                        TransportError(
                            f"the uws connection was lost before the reply to {event.method} "
                            f"(req_id {event.req_id}); it may or may not have been carried out"
                        )
                    )
            elif isinstance(event, BookMessage) and self._books is not None:
                for data in event.data:
                    self._apply_book(data, snapshot=event.is_snapshot)
            elif isinstance(event, SequenceGap):
                self._on_gap(event)
            elif self._gaps and isinstance(event, _RESNAPSHOT_TYPES):
                self._check_resynced(event)
        self._wakeup.set()

    def gap_channels(self, gap: SequenceGap) -> tuple[str, ...]:
        """The channels ``gap`` makes this connection resubscribe (see the module docstring):
        empty for ``ledgers``, for a channel not wanted here or wanted without a snapshot."""
        if self._assume.sequence_scope is SequenceScope.CHANNEL:
            channels = [gap.channel]
        else:  # one counter across channels: the lost message could be any of theirs
            channels = [c for c in RESNAPSHOT_CHANNELS if c in self._assume.sequenced_channels]
        wanted = {k[0] for k in self._session.desired}
        return tuple(
            c
            for c in channels
            if c in RESNAPSHOT_CHANNELS
            and c in wanted
            and self._session.options(c).get(_SNAPSHOT_OPTION[c], True) is not False
        )

    def _on_gap(self, gap: SequenceGap) -> None:
        for channel in self.gap_channels(gap):
            if channel not in self._gaps:  # else resubscribed already: its snapshot is coming
                self._gaps[channel] = gap
                self._session.resubscribe(channel)

    def _check_resynced(self, message: Any) -> None:
        # The channel's earlier snapshot came before any update (a gap needs updates), so the
        # next snapshot is the resubscription's, whether or not its ack came first.
        channel = str(message.__struct_config__.tag)
        gap = self._gaps.get(channel)
        if gap is not None and message.is_snapshot:
            del self._gaps[channel]
            self._events.append(UwsChannelResynced(channel, gap))

    def _apply_book(self, data: BookData, *, snapshot: bool) -> None:
        symbol = self._assume.from_wire_symbol(data.symbol)
        book = self._book(symbol)
        mismatch = book.apply(data, snapshot=snapshot)
        if mismatch is not None:
            self._events.append(mismatch)
            self._resyncing.add(symbol)
            self._session.resubscribe("book", [symbol])
        elif snapshot and symbol in self._resyncing and book.is_synced:
            self._resyncing.discard(symbol)
            self._events.append(UwsBookResynced(symbol))

    def _lost(self, conn: WebSocketConnection) -> None:
        if self._conn is not conn:
            return
        self._conn = None
        self._lost_at = time.monotonic()
        self._session.connection_lost()
        for book in (self._books or {}).values():
            book.reset()
        self._resyncing.clear()
        self._gaps.clear()  # the reconnect renews every snapshot (and says Reconnected)
        self._dispatch()

    async def _open(self) -> None:
        token = await self._token_provider() if self._token_provider is not None else None
        ping_interval_s, ping_timeout_s, open_timeout_s, compression = self._transport
        conn = await connect_websocket(
            self.url,
            ping_interval_s=ping_interval_s,
            ping_timeout_s=ping_timeout_s,
            open_timeout_s=open_timeout_s,
            compression=compression,
        )
        if self._closing:
            await conn.close()
            return
        self._conn = conn
        self._session.connected(token)
        await self._flush()

    async def _reconnect_loop(self) -> None:
        lost_at = self._lost_at if self._lost_at is not None else time.monotonic()
        attempt = 0
        while not self._closing:
            attempt += 1
            await asyncio.sleep(self._backoff.delay_s(attempt))
            try:
                await self._open()
            except KrakenFuturesError as exc:
                retry = isinstance(exc, TransportError) or getattr(exc, "retryable", False)
                if not retry or (self._max_attempts is not None and attempt >= self._max_attempts):
                    raise ConnectError(
                        f"gave up reconnecting to {self.url} after {attempt} attempt(s): {exc}"
                    ) from exc
                continue
            if self._conn is None:
                return  # closed while connecting
            self.reconnects += 1
            downtime_ms = int((time.monotonic() - lost_at) * 1000)
            self._events.append(Reconnected(attempt, downtime_ms))
            self._wakeup.set()
            return

    # -- internals: sending -------------------------------------------------------------------

    async def _flush(self) -> None:
        """Send what the session queued, in its order (one sender at a time)."""
        async with self._send_lock:
            frames = self._session.data_to_send()
            conn = self._conn
            if conn is None or not frames:
                return  # connected() renews every subscription anyway
            for frame in frames:
                try:
                    await conn.send(frame)
                except TransportError:
                    return  # the reader notices the loss (open requests become lost)
                except asyncio.CancelledError:
                    conn.abort()  # a half-sent batch: drop, the reconnect renews all
                    raise

    def _send_soon(self) -> None:
        if self._conn is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: sent with the next frame read
        task = loop.create_task(self._flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    def _now_ms() -> int:
        return int(time.monotonic() * 1000)

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "disconnected"
        who = "token" if self._token_provider is not None else "public"
        return f"AsyncUwsConnection({self.url!r}, {state}, {who}, reconnects={self.reconnects})"


__all__ = [
    "PRIVATE_PATH",
    "PUBLIC_PATH",
    "RESNAPSHOT_CHANNELS",
    "UWS_PRIVATE_URL",
    "UWS_PUBLIC_URL",
    "AsyncUwsConnection",
    "TokenProvider",
    "UwsBookResynced",
    "UwsChannelResynced",
    "UwsEvent",
    "uws_url_for",
]
