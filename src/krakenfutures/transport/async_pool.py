"""A lean async keep-alive HTTP/1.1 client for the order path: asyncio protocol + httptools.

Why not aiohttp here: a signed ``sendorder`` spends ~250-300 µs of client CPU inside aiohttp's
request machinery before its bytes reach the socket, three times the rest of the bot's
decision-to-wire path. This transport writes the request with one ``transport.write()`` as soon
as it is called (no ``await`` before the write when a kept-alive connection is free), so an
order sent from a strategy's ``submit`` has left before ``submit`` returns; replies are parsed by
``httptools`` (llhttp, the parser of Node.js and uvicorn: chunked bodies, keep-alive rules).

The error contract is :class:`~krakenfutures.transport.http_pool.HttpPool`'s:
:class:`ConnectError` only when nothing was sent (the connection could not be opened);
:class:`TimeoutError_` when no complete reply came in time after sending; any other failure after
the write is :class:`TransportError` (the outcome is unknown: the caller reconciles). Nothing is
retried here. Bodies are not compressed (no ``Accept-Encoding`` is sent).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

from krakenfutures.errors import ConfigError, ConnectError, TimeoutError_, TransportError
from krakenfutures.transport.base import Response
from krakenfutures.transport.http_pool import USER_AGENT

_MAX_IDLE = 8
MAX_CONNECTIONS = 32
"""Requests in flight at once (one connection each); more wait for a free one (aiohttp's
default is 100 per host; a bot rarely has more than tens of requests out)."""


class _Connection(asyncio.Protocol):
    """One kept-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.keep_alive = True
        self._reply: asyncio.Future[Response] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self.where = ""  # "POST /path" of the request in flight, for error messages
        self.origin = ""

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # bytes nobody asked for: the connection is not reusable
            self._fail(TransportError("unexpected bytes from the server between requests"))
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"unreadable HTTP reply ({exc})"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError(f"the connection closed before the reply ({exc or 'EOF'})"))

    # -- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser, reply = self._parser, self._reply
        self._parser = self._reply = None
        if parser is None or reply is None or reply.done():
            return
        self.keep_alive = parser.should_keep_alive()
        reply.set_result(Response(parser.get_status_code(), b"".join(self._body), self._headers))

    # -- ours
    def send(self, data: bytes, reply: asyncio.Future[Response]) -> None:
        """Write one request; its reply resolves ``reply``."""
        assert self.transport is not None
        self.transport.write(data)  # first: the bytes leave before anything else is set up
        # (no reply byte can be read before the event loop runs again)
        self._reply, self._headers, self._body = reply, {}, []
        self._parser = httptools.HttpResponseParser(self)

    def _fail(self, exc: Exception) -> None:
        reply, self._reply, self._parser = self._reply, None, None
        self.keep_alive = False
        if reply is not None and not reply.done():
            error = TransportError(
                f"connection to {self.origin} failed during {self.where}: {exc}; the request "
                "may have been executed"
            )
            error.__cause__ = exc
            reply.set_exception(error)
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def usable(self) -> bool:
        return (
            not self.closed
            and self.keep_alive
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def abort(self) -> None:
        self.keep_alive = False
        if self.transport is not None:
            self.transport.abort()


class _Slots:
    """The in-flight cap: a counting semaphore whose free slot can also be taken without a
    coroutine (:meth:`AsyncHttpPool.start` writes from plain code)."""

    def __init__(self, count: int) -> None:
        self.free = count
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        while self.free <= 0 or self.waiters:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: pass the slot on
                raise
            finally:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
            if self.free > 0:
                break
        self.free -= 1

    def give(self) -> None:
        self.free += 1
        self._wake()

    def _wake(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
                return


class AsyncHttpPool:
    """Keep-alive async HTTP/1.1 to one origin (``scheme://host[:port]``); ``https`` verifies
    the server's certificate and host name (``ssl_context`` replaces the default one)."""

    def __init__(
        self,
        origin: str,
        *,
        timeout_s: float = 10.0,
        max_connections: int = MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base URL {origin!r} is not an http(s) origin")
        self.origin = origin.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        # https: the system's CAs and hostname checks (``ssl_context`` for a private CA).
        self._ssl = (
            (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        )
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        host = self._host if default_port else f"{self._host}:{self._port}"
        self._head = f"Host: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
        self._timeout = timeout_s
        self._idle: list[_Connection] = []
        self._closed = False
        self._slots = _Slots(max_connections)
        self._tail = f" HTTP/1.1\r\n{self._head}"

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Send one request; see :meth:`HttpPool.request` for the errors raised."""
        if self._closed:
            raise ConnectError(f"the HTTP pool for {self.origin} is closed; nothing was sent")
        data = self._frame(method, target, headers, body)
        await self._slots.take()
        try:
            conn = self._take()
            if conn is None:
                conn = await self._connect()
        except BaseException:
            self._slots.give()
            raise
        return await self._send_on(conn, data, method, target)

    def start(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> asyncio.Future[Response] | None:
        """Write one request now, from plain (non-async) code, and return its reply's future;
        ``None`` (nothing sent) when that needs waiting: no kept-alive connection is free, the
        in-flight cap is reached, or the pool is closed. Then call :meth:`request`.

        This is the order path's way to the wire: the bytes leave within the caller's call,
        before any task or coroutine is set up for the reply. The future fails as
        :meth:`request` would raise; cancelling it abandons the reply (the connection is
        closed, not reused)."""
        slots = self._slots
        if self._closed or slots.free <= 0 or slots.waiters:
            return None
        data = self._frame(method, target, headers, body)
        conn = self._take()
        if conn is None:
            return None
        slots.free -= 1
        return self._send_on(conn, data, method, target)

    def _frame(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> bytes:
        lines = [method, " ", target, self._tail]
        lines += [f"{name}: {value}\r\n" for name, value in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1") + body

    def _send_on(
        self, conn: _Connection, data: bytes, method: str, target: str
    ) -> asyncio.Future[Response]:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Response] = loop.create_future()
        conn.send(data, reply)  # first: everything below is bookkeeping for the reply
        conn.origin, conn.where = self.origin, f"{method} {target.split('?')[0]}"
        timer = loop.call_at(loop.time() + self._timeout, self._expire, conn, reply)
        reply.add_done_callback(lambda done: self._settle(conn, timer, done))
        return reply

    def _expire(self, conn: _Connection, reply: asyncio.Future[Response]) -> None:
        if not reply.done():
            reply.set_exception(
                TimeoutError_(
                    f"no reply from {self.origin} within {self._timeout} s for {conn.where}; the "
                    "request may have been executed"
                )
            )
        conn.abort()

    def _settle(
        self, conn: _Connection, timer: asyncio.TimerHandle, reply: asyncio.Future[Response]
    ) -> None:
        """The reply is in, failed, timed out or abandoned: free the slot, keep or drop the
        connection (an abandoned reply would arrive for nobody: never reuse that one)."""
        timer.cancel()
        self._slots.give()
        if (
            not reply.cancelled()
            and reply.exception() is None
            and conn.usable()
            and len(self._idle) < _MAX_IDLE
            and not self._closed
        ):
            self._idle.append(conn)
        else:
            conn.abort()

    def _take(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if conn.usable():
                return conn
            conn.abort()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                _, conn = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError:
            raise ConnectError(f"connecting to {self.origin} timed out; nothing was sent") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectError(f"cannot connect to {self.origin}: {exc}; nothing was sent") from exc
        return conn

    async def aclose(self) -> None:
        """Close every idle connection (requests in flight keep theirs until answered)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            if conn.transport is not None:
                conn.transport.close()

    def __repr__(self) -> str:
        return f"AsyncHttpPool({self.origin!r}, idle={len(self._idle)})"


__all__ = ["AsyncHttpPool"]
