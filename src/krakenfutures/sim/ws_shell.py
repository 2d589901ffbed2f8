"""The socket side of ``/ws/v1``: aiohttp WebSocket connections around the sans-I/O
:class:`~krakenfutures.sim.ws.WsHub`.

One reader (the request handler) and one writer task per connection, both on the server's
event loop, which is also the thread that drives the exchange, so the hub needs no locks. The
writer keeps one outgoing line per connection: frames the hub queued before a request, then
that request's replies and snapshots, then whatever the hub queues later, so a fresh
snapshot is never overtaken by older deltas. Every frame received counts as activity,
protocol pings included (answered here, since aiohttp's autoping would hide them from us);
the server sends no pings of its own, as Kraken.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable

from aiohttp import WSMsgType, web

from krakenfutures.sim.ws import ConnId, WsHub

log = logging.getLogger("krakenfutures.sim")
WS_PATH = "/ws/v1"
_DATA = (WSMsgType.TEXT, WSMsgType.BINARY)


class _Line:
    """One connection's outgoing side."""

    __slots__ = ("out", "request", "wake", "ws")

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.out: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.ws = ws
        self.request = request


class WsShell:
    """Serve a :class:`WsHub` on aiohttp: ``handle`` is the ``GET /ws/v1`` route handler."""

    def __init__(self, hub: WsHub, now_ms: Callable[[], int]) -> None:
        self.hub = hub
        self._now_ms = now_ms
        self._ids = itertools.count(1)
        self._lines: dict[ConnId, _Line] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def _wake(self, conn_id: ConnId) -> None:
        if threading.get_ident() != self._loop_thread:  # the engine was driven elsewhere
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake, conn_id)
            return
        line = self._lines.get(conn_id)
        if line is None:
            return
        request = self.hub.close_request(conn_id)
        if request is not None and request.abort:
            # A dropped connection dies now, even if its writer is stuck on a full socket.
            transport = line.request.transport
            if transport is not None:
                transport.abort()
        line.wake.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Accept the upgrade and serve the connection until either side ends it."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()
            self.hub.waker = self._wake
        ws = web.WebSocketResponse(
            autoping=False, heartbeat=None, compress=False, max_msg_size=1 << 20, timeout=2.0
        )
        await ws.prepare(request)
        hub, cid = self.hub, next(self._ids)
        line = self._lines[cid] = _Line(ws, request)
        line.out.extend(hub.connect(cid, self._now_ms()))
        line.wake.set()
        writer = asyncio.create_task(self._write(cid, line))
        try:
            while True:
                msg = await ws.receive()
                if msg.type in _DATA:
                    replies = hub.receive(cid, msg.data, self._now_ms())
                    line.out.extend(hub.drain(cid))
                    line.out.extend(replies)
                    line.wake.set()
                elif msg.type is WSMsgType.PING:
                    hub.note_activity(cid, self._now_ms())
                    await ws.pong(msg.data)
                elif msg.type is WSMsgType.PONG:
                    hub.note_activity(cid, self._now_ms())
                else:  # close, closing, closed, error
                    break
        except (ConnectionError, RuntimeError):
            pass  # the peer vanished mid-write: same as a close
        finally:
            hub.disconnect(cid)
            self._lines.pop(cid, None)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _write(self, cid: ConnId, line: _Line) -> None:
        hub, ws, out = self.hub, line.ws, line.out
        faults = hub.faults
        try:
            while True:
                await line.wake.wait()
                line.wake.clear()
                out.extend(hub.drain(cid))
                while out:
                    if hub.close_request(cid) is not None:
                        break
                    slow = faults.ws_slow_ms
                    if slow > 0:
                        await asyncio.sleep(slow / 1000)
                    await ws.send_frame(out.popleft(), WSMsgType.TEXT)
                    if not out:
                        out.extend(hub.drain(cid))
                request = hub.close_request(cid)
                if request is not None:
                    out.clear()
                    if not request.abort:  # aborts are done by _wake at once
                        await ws.close(code=request.code, message=request.reason.encode())
                    return
        except (ConnectionError, RuntimeError):
            return  # the reader sees the socket end and cleans up

    async def close_all(self) -> None:
        """Close every connection (server shutdown): code 1001, going away."""
        for line in list(self._lines.values()):
            with contextlib.suppress(Exception):
                await line.ws.close(code=1001, message=b"simulator shutting down")


__all__ = ["WS_PATH", "WsShell"]
