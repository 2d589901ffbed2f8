"""``AsyncFeed``: Kraken Futures WebSocket v1 as a reconnecting ``async for`` stream.

A thin asyncio driver around the sans-I/O :class:`~krakenfutures.core.ws.session.ClientSession`
(the websockets protocol/connection split): the session decides what to send and what each frame
means, this module owns the socket, the clock and the randomness.

Example::

    async with AsyncFeed("http://127.0.0.1:8787") as feed:
        feed.subscribe("book", ["PF_XBTUSD"])
        feed.subscribe("open_orders")                    # private: needs credentials
        async for event in feed:
            if isinstance(event, BookDelta):
                print(feed.book("PF_XBTUSD").best_bid())
            elif isinstance(event, Reconnected):
                ...                                      # state may be stale: reconcile

What it does for you:

* the URL: a REST origin (``https://futures.kraken.com``, ``http://127.0.0.1:8787``) becomes
  ``wss://…/ws/v1`` (``ws://`` for ``http``); a ``ws(s)://`` URL is used as given;
* credentials as the REST client finds them (arguments, environment, credentials file, the
  simulator's key pair for its loopback origin); private feeds are signed with a fresh challenge
  on every (re)connection;
* keepalive ping frames every 30 s (Kraken closes connections idle for 60 s);
* reconnection with jittered exponential backoff, every subscription renewed, then a
  :class:`~krakenfutures.client.events.Reconnected` event;
* local books (``books=True``): every ``book`` subscription keeps a
  :class:`~krakenfutures.core.book.OrderBook` (:meth:`AsyncFeed.book`); a sequence gap, a
  duplicate or a crossed book yields :class:`~krakenfutures.client.events.BookGapDetected`, and
  the book resubscribes for a fresh snapshot by itself
  (:class:`~krakenfutures.client.events.BookResynced`);
* unknown or malformed frames become
  :class:`~krakenfutures.core.ws.session.UnknownMessageReceived` events, never exceptions.

The first connection's failure raises :class:`~krakenfutures.errors.ConnectError` (a wrong
URL should fail fast); later losses are retried (forever unless ``max_reconnect_attempts``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from krakenfutures.client.books import BookKeeper
from krakenfutures.client.events import BookGapDetected, FeedEvent, Reconnected
from krakenfutures.config import (
    Credentials,
    load_credentials,
    resolve_base_url,
    sim_credentials_for,
)
from krakenfutures.core.book import OrderBook
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.ws.schema_public import BookDelta, BookSnapshot
from krakenfutures.core.ws.session import ClientSession, FeedMessage, Unsubscribed
from krakenfutures.errors import ConfigError, ConnectError, TransportError
from krakenfutures.transport.websocket import WebSocketConnection, connect_websocket

WS_PATH = "/ws/v1"
FrameHook = Callable[[bytes, int], None]
"""``on_frame(raw, ts_recv_ns)``: called with every frame read, before it is interpreted."""


def ws_url_for(url: str) -> str:
    """The WebSocket v1 URL for a REST origin (``https`` -> ``wss``, ``http`` -> ``ws``, path
    ``/ws/v1``); a ``ws://``/``wss://`` URL is returned unchanged.

    Raises:
        ConfigError: not an http(s) origin or ws(s) URL.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in ("ws", "wss"):
        return url.strip()
    origin = resolve_base_url(url)
    parts = urlsplit(origin)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, WS_PATH, "", ""))


def _origin_of(ws_url: str) -> str:
    parts = urlsplit(ws_url)
    return urlunsplit(("https" if parts.scheme == "wss" else "http", parts.netloc, "", "", ""))


class Backoff:
    """Jittered exponential backoff: attempt ``n`` waits a uniform draw in ``[d/2, d]`` where
    ``d = min(max_s, initial_s * 2 ** (n - 1))`` (half fixed, half random, so a fleet of
    clients does not reconnect in lockstep after an outage)."""

    __slots__ = ("initial_s", "max_s", "rng")

    def __init__(
        self, initial_s: float = 0.25, max_s: float = 30.0, rng: random.Random | None = None
    ) -> None:
        if not 0 <= initial_s <= max_s:
            raise ConfigError("backoff needs 0 <= initial_s <= max_s")
        self.initial_s = initial_s
        self.max_s = max_s
        self.rng = rng or random.Random()

    def delay_s(self, attempt: int) -> float:
        """Seconds to wait before connection attempt ``attempt`` (1-based) of an outage."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(attempt - 1, 62))
        return ceiling / 2 + self.rng.random() * ceiling / 2


class AsyncFeed:
    """A reconnecting WebSocket v1 feed; iterate it for typed events (see the module doc).

    Args:
        url: a REST origin or a ``ws(s)://`` URL; ``None`` means ``KRAKEN_FUTURES_BASE_URL``,
            the credentials file's ``base_url``, else live Kraken.
        api_key, api_secret: for private feeds (else found like the REST client finds them).
        credentials_file: a TOML credentials file (see :mod:`krakenfutures.config`).
        books: keep a local :class:`~krakenfutures.core.book.OrderBook` per ``book``
            subscription and resync it on gaps.
        ping_interval_s, ping_timeout_s: keepalive ping frames.
        open_timeout_s: limit for opening one connection.
        reconnect: reconnect after a loss (else the iteration ends).
        backoff: the wait between connection attempts (:class:`Backoff`).
        max_reconnect_attempts: give up (raise :class:`~krakenfutures.errors.ConnectError`)
            after this many failed attempts in one outage; ``None`` retries forever.
        on_frame: ``on_frame(raw, ts_recv_ns)`` for every frame read (the recorder's tap).
        compression: negotiate permessage-deflate (less bandwidth, more CPU).
        env: the environment mapping to read (tests pass a dict).
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        credentials_file: str | Path | None = None,
        books: bool = True,
        ping_interval_s: float | None = 30.0,
        ping_timeout_s: float | None = 20.0,
        open_timeout_s: float = 10.0,
        reconnect: bool = True,
        backoff: Backoff | None = None,
        max_reconnect_attempts: int | None = None,
        on_frame: FrameHook | None = None,
        compression: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        creds = load_credentials(api_key, api_secret, path=credentials_file, env=env)
        if url is not None and urlsplit(url.strip()).scheme.lower() in ("ws", "wss"):
            self.url = url.strip()
            origin = _origin_of(self.url)
        else:
            origin = resolve_base_url(
                url, env=env, fallback=creds.base_url if creds is not None else None
            )
            self.url = ws_url_for(origin)
        self.origin = origin
        """The REST origin of the same server (``https://futures.kraken.com``), for a REST
        client next to the feed."""
        if creds is None:
            creds = sim_credentials_for(origin, env)
        self.credentials: Credentials | None = creds
        self._session = (
            ClientSession(creds.api_key, creds.secret.key()) if creds else ClientSession()
        )
        self._keeper: BookKeeper | None = BookKeeper() if books else None
        self._ping = (ping_interval_s, ping_timeout_s)
        self._open_timeout_s = open_timeout_s
        self._reconnect = reconnect
        self._backoff = backoff or Backoff()
        self._max_attempts = max_reconnect_attempts
        self._on_frame = on_frame
        self._compression = compression
        self._conn: WebSocketConnection | None = None
        self._pending: deque[FeedEvent] = deque()
        self._resync_wait: set[str] = set()  # books unsubscribed for a resync, awaiting reply
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()
        self._ever_connected = False
        self._lost_at: float | None = None
        self.reconnects = 0
        """Completed reconnections."""
        self.frames = 0
        """Frames read over the feed's lifetime."""

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(self, feed: str, product_ids: Iterable[str] | str | None = None) -> None:
        """Want ``feed`` (for ``product_ids`` on product feeds), now and after every reconnect.

        Callable before connecting. Public feeds: ``book``, ``trade``, ``ticker``,
        ``ticker_lite``, ``heartbeat``; private: ``open_orders``, ``open_orders_verbose``,
        ``fills``, ``open_positions``, ``balances``, ``account_log``, ``notifications_auth``.
        The server's answer arrives as a ``Subscribed``/``SubscribeFailed``/``AuthFailed``
        event.

        Raises:
            ValidationError: a product feed without product ids.
            CredentialsError: a private feed without credentials.
        """
        self._session.subscribe(feed, product_ids)
        self._send_soon()

    def unsubscribe(self, feed: str, product_ids: Iterable[str] | str | None = None) -> None:
        """Stop wanting ``feed`` (for ``product_ids``); an unsubscribed book is dropped (it would
        go stale)."""
        if feed == "book" and product_ids is not None:
            ids = [product_ids] if isinstance(product_ids, str) else list(product_ids)
            for symbol in (normalize_symbol(p) for p in ids):
                self._resync_wait.discard(symbol)
                if self._keeper is not None:
                    self._keeper.drop(symbol)
        self._session.unsubscribe(feed, product_ids)
        self._send_soon()

    @property
    def session(self) -> ClientSession:
        """The protocol state (desired/confirmed subscriptions)."""
        return self._session

    # -- books --------------------------------------------------------------------------------

    def book(self, symbol: str) -> OrderBook:
        """The local book of ``symbol`` (empty and ``is_synced`` False until its snapshot).

        Raises:
            ConfigError: the feed was created with ``books=False``.
        """
        if self._keeper is None:
            raise ConfigError("this feed keeps no books: create it with books=True")
        return self._keeper.book(symbol)

    @property
    def books(self) -> BookKeeper | None:
        """The book keeper (``gaps`` counts anomalies per symbol), ``None`` if ``books=False``."""
        return self._keeper

    @property
    def gap_count(self) -> int:
        """Book anomalies (gaps, duplicates, crossed books) detected so far."""
        return self._keeper.gap_count if self._keeper is not None else 0

    # -- connection ---------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a connection is open now."""
        return self._conn is not None

    async def connect(self) -> None:
        """Open the first connection (iterating does this too) and send the subscriptions.

        Raises:
            ConnectError: the connection failed.
        """
        if self._conn is None and not self._closing.is_set():
            await self._open()

    async def aclose(self) -> None:
        """Close the connection and end the iteration. Idempotent."""
        self._closing.set()
        for task in list(self._tasks):
            task.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
        self._session.connection_lost()

    async def drop_connection(self) -> None:
        """Break the current connection without a closing handshake, as a network failure
        would (tests and drills: the feed reconnects as after any loss)."""
        if self._conn is not None:
            self._conn.abort()

    async def __aenter__(self) -> AsyncFeed:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- iteration ----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncFeed:
        return self

    async def __anext__(self) -> FeedEvent:
        pending = self._pending
        while True:
            if pending:
                return pending.popleft()
            if self._closing.is_set():
                raise StopAsyncIteration
            conn = self._conn
            if conn is None:
                if not self._ever_connected:
                    await self._open()
                elif not self._reconnect:
                    raise StopAsyncIteration
                else:
                    await self._reconnect_loop()
                continue
            try:
                raw = await conn.recv()
            except TransportError:
                if self._conn is conn:
                    self._lost()
                continue
            self._receive(raw)
            out = self._session.data_to_send()
            if out:  # something to say (a book resync, private subscribes after the challenge)
                await self._send(out)

    async def next_event(self, timeout_s: float | None = None) -> FeedEvent:
        """The next event, waiting at most ``timeout_s`` seconds.

        Raises:
            TimeoutError: nothing came in time.
            StopAsyncIteration: the feed was closed.
        """
        async with asyncio.timeout(timeout_s):
            return await self.__anext__()

    # -- internals ----------------------------------------------------------------------------

    def _receive(self, raw: bytes) -> None:
        self.frames += 1
        if self._on_frame is not None:
            self._on_frame(raw, time.time_ns())
        session = self._session
        session.receive(raw)
        pending = self._pending
        keeper = self._keeper
        for event in session.events():
            if type(event) is FeedMessage:
                msg = event.msg
                pending.append(msg)
                if keeper is not None and (type(msg) is BookDelta or type(msg) is BookSnapshot):
                    status = keeper.apply(msg)
                    if status is not None:
                        pending.append(status)
                        if type(status) is BookGapDetected:
                            self._resync(status.symbol)
                continue
            pending.append(event)  # type: ignore[arg-type]
            if type(event) is Unsubscribed and event.feed == "book":
                for symbol in event.product_ids:
                    if symbol in self._resync_wait:
                        self._resync_wait.discard(symbol)
                        session.subscribe("book", [symbol])  # the fresh snapshot follows

    def _resync(self, symbol: str) -> None:
        """Ask for a fresh snapshot: unsubscribe now, subscribe again when the server confirms
        (the session sends a subscribe only for keys it does not hold as confirmed)."""
        if symbol in self._resync_wait or ("book", symbol) not in self._session.desired:
            return
        self._resync_wait.add(symbol)
        self._session.unsubscribe("book", [symbol])

    def _lost(self) -> None:
        self._conn = None
        self._lost_at = time.monotonic()
        self._session.connection_lost()
        if self._keeper is not None:
            self._keeper.connection_lost()

    async def _open(self) -> None:
        conn = await connect_websocket(
            self.url,
            ping_interval_s=self._ping[0],
            ping_timeout_s=self._ping[1],
            open_timeout_s=self._open_timeout_s,
            compression=self._compression,
        )
        if self._closing.is_set():
            await conn.close()
            return
        # Books waiting for an `unsubscribed` will not get it on the new connection: want them
        # again so that connected() renews them with the rest.
        for symbol in self._resync_wait:
            self._session.subscribe("book", [symbol])
        self._resync_wait.clear()
        self._conn = conn
        self._ever_connected = True
        self._session.connected()
        await self._send(self._session.data_to_send())

    async def _reconnect_loop(self) -> None:
        lost_at = self._lost_at if self._lost_at is not None else time.monotonic()
        attempt = 0
        while not self._closing.is_set():
            attempt += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._backoff.delay_s(attempt)):
                    await self._closing.wait()
            if self._closing.is_set():
                return
            try:
                await self._open()
            except (ConnectError, TransportError) as exc:
                if self._max_attempts is not None and attempt >= self._max_attempts:
                    raise ConnectError(
                        f"gave up reconnecting to {self.url} after {attempt} attempts: {exc}"
                    ) from exc
                continue
            if self._conn is None:
                return  # closed while connecting
            self.reconnects += 1
            downtime_ms = int((time.monotonic() - lost_at) * 1000)
            # First in line: before anything the new connection delivers.
            self._pending.appendleft(Reconnected(attempt, downtime_ms))
            return

    async def _send(self, frames: list[bytes]) -> None:
        # Callers take frames from the session and enter here without awaiting in between, and
        # asyncio.Lock is first come first served: frames go out in the session's order.
        async with self._send_lock:
            conn = self._conn
            if conn is None:
                return  # the next connected() renews every subscription anyway
            for frame in frames:
                try:
                    await conn.send(frame)
                except TransportError:
                    return  # the reader notices the loss and reconnects (renewing everything)
                except asyncio.CancelledError:
                    # The frames not sent are gone from the session: rather than leave a
                    # subscription half made, drop the connection; the reconnect renews all.
                    conn.abort()
                    raise

    def _send_soon(self) -> None:
        """Send what the session queued, from the running loop (subscribe is synchronous)."""
        if self._conn is None:
            return  # connected() sends everything wanted
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop running: sent after the next frame read
        frames = self._session.data_to_send()
        if frames:
            task = loop.create_task(self._send(frames))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "disconnected"
        who = self.credentials.masked_key() if self.credentials else "public"
        return f"AsyncFeed({self.url!r}, {state}, key={who}, reconnects={self.reconnects})"


__all__ = ["WS_PATH", "AsyncFeed", "Backoff", "FrameHook", "ws_url_for"]
