"""Shared by the :class:`~krakenfutures.client.uws.AsyncUwsConnection` tests that talk to a small
uws server written in the test (not the simulator): the server's connection loop, serving it on
a loopback port, fast reconnects, and reading a connection's events up to an awaited one."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from krakenfutures.client.feed import Backoff
from krakenfutures.client.uws import AsyncUwsConnection

FAST = Backoff(initial_s=0.01, max_s=0.05)


class LoopbackUws:
    """A uws server's connection loop: ``greeting`` (if any) sent on connect, then every request
    recorded in :attr:`requests` and answered by :meth:`answer`, which a test's server defines."""

    greeting: str | None = None

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.connections: list[ServerConnection] = []

    async def handler(self, ws: ServerConnection) -> None:
        self.connections.append(ws)
        if self.greeting is not None:
            await ws.send(self.greeting)
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                req = json.loads(raw)
                self.requests.append(req)
                await self.answer(ws, req)

    async def answer(self, ws: ServerConnection, req: dict[str, Any]) -> None:
        raise NotImplementedError

    async def push(self, frame: bytes | str) -> None:
        """Send ``frame`` on the newest connection."""
        await self.connections[-1].send(frame)


@contextlib.asynccontextmanager
async def serving(fake: LoopbackUws, path: str) -> AsyncIterator[str]:
    """Serve ``fake`` on a free loopback port; yields its ``ws://`` URL ending in ``path``."""
    async with serve(fake.handler, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}{path}"


async def until(
    conn: AsyncUwsConnection, pred: Callable[[Any], bool], timeout_s: float = 5.0
) -> list[Any]:
    """Events up to and including the first that satisfies ``pred``."""
    seen: list[Any] = []
    async with asyncio.timeout(timeout_s):
        async for event in conn:
            seen.append(event)
            if pred(event):
                return seen
    raise AssertionError(f"stream ended before the event; saw {seen}")
