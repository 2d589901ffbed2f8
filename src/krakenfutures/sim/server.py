"""The loopback shell around the simulator: aiohttp serving the sans-I/O :class:`Gateway`.

It only moves bytes: raw path, raw query string, raw body and headers go to the gateway exactly
as received (signatures are checked over them), and a background task advances the exchange
clock (triggers, dead man's switches, funding, synthetic market flow). ``GET /ws/v1`` on the
same port serves the simulator's WebSocket v1 feeds (:mod:`krakenfutures.sim.ws_shell`), and
``GET /v2/public`` and ``/v2/private`` the Unified WebSocket (:mod:`krakenfutures.sim.uws`, through
the same socket shell).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.gateway import Gateway, Reply
from krakenfutures.sim.uws import PRIVATE_PATH, PUBLIC_PATH, UwsHub
from krakenfutures.sim.ws import WsHub
from krakenfutures.sim.ws_shell import WS_PATH, WsShell

log = logging.getLogger("krakenfutures.sim")
CONTROL_PATH = "/_sim/ctl"


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is a loopback address (the control endpoint answers only those)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class SimServer:
    """Serve a gateway over HTTP on ``host:port``; ``port=0`` picks a free port.

    ``ws_hub`` serves ``/ws/v1``, ``uws_hub`` ``/v2/public`` and ``/v2/private``.
    :meth:`for_simulator` wires a whole
    :class:`~krakenfutures.sim.app.Simulator` (what ``kf sim``, the demo and the test helpers use).
    """

    def __init__(
        self,
        gateway: Gateway,
        clock: SimClock,
        *,
        host: str = "127.0.0.1",
        port: int = 8787,
        tick: Callable[[int], None] | None = None,
        control: Callable[[dict[str, Any], int], dict[str, Any]] | None = None,
        tick_interval_s: float = 0.05,
        extra_routes: Callable[[web.Application], None] | None = None,
        handle: Callable[..., Reply] | None = None,
        ws_hub: WsHub | None = None,
        uws_hub: UwsHub | None = None,
    ) -> None:
        self.gateway = gateway
        self.clock = clock
        self.host = host
        self.port = port
        self._tick = tick
        self._control = control
        self._tick_interval = tick_interval_s
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._extra_routes = extra_routes
        # The Simulator's handle_http journals state changes; a bare gateway serves too.
        self._handle_http = handle or gateway.handle
        self.ws = WsShell(ws_hub, clock.now_ms) if ws_hub is not None else None
        self.uws: dict[str, WsShell] = {}
        if uws_hub is not None:  # the v1 shell drives any hub with its interface
            for path, private in ((PUBLIC_PATH, False), (PRIVATE_PATH, True)):
                endpoint: Any = uws_hub.endpoint(private)
                self.uws[path] = WsShell(endpoint, clock.now_ms)

    @classmethod
    def for_simulator(
        cls, sim: Any, clock: Any, *, host: str = "127.0.0.1", port: int = 0, ticking: bool = True
    ) -> SimServer:
        """Serve a Simulator: REST (journalled), ``/ws/v1``, uws, the control endpoint, and, when
        ``ticking``, a background clock (off for tests that move a fake clock by hand)."""
        return cls(
            sim.gateway,
            clock,
            host=host,
            port=port,
            tick=sim.tick if ticking else None,
            control=sim.control,
            handle=sim.handle_http,
            ws_hub=sim.ws_hub,
            uws_hub=getattr(sim, "uws_hub", None),
        )

    @property
    def base_url(self) -> str:
        """The origin clients pass as ``base_url``."""
        return f"http://{self.host}:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        latency = self.gateway.faults.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        url = request.rel_url
        reply: Reply = self._handle_http(
            request.method,
            url.raw_path,
            url.raw_query_string.encode("latin-1"),
            request.headers,
            body,
            self.clock.now_ms(),
        )
        if reply.drop:
            # Executed, but the reply is lost: the client sees the connection die.
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        return web.Response(
            status=reply.status,
            body=reply.body,
            content_type=reply.content_type,
            headers=reply.headers,
        )

    async def _handle_control(self, request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            return web.json_response(
                {"error": "control endpoint answers loopback only"}, status=403
            )
        if self._control is None:
            return web.json_response({"error": "no control handler"}, status=404)
        try:
            command = await request.json()
            result = self._control(command, self.clock.now_ms())
        except Exception as exc:  # bad admin input: tell the operator, keep serving
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result, dumps=_dumps)

    async def _tick_loop(self) -> None:
        assert self._tick is not None
        while True:
            await asyncio.sleep(self._tick_interval)
            try:
                self._tick(self.clock.now_ms())
            except Exception:
                log.exception("simulator tick failed")

    async def start(self) -> str:
        """Bind and start serving; returns the base URL."""
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("POST", CONTROL_PATH, self._handle_control)
        if self._extra_routes is not None:
            self._extra_routes(app)
        if self.ws is not None:
            app.router.add_route("GET", WS_PATH, self.ws.handle)
        for path, shell in self.uws.items():
            app.router.add_route("GET", path, shell.handle)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        if self._tick is not None:
            self._ticker = asyncio.create_task(self._tick_loop())
        return self.base_url

    async def stop(self) -> None:
        """Stop serving and the clock task."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self.ws is not None:
            await self.ws.close_all()
        for shell in self.uws.values():
            await shell.close_all()
        if self._runner is not None:
            await self._runner.cleanup()


def _dumps(obj: Any) -> str:
    import msgspec

    return msgspec.json.encode(obj, enc_hook=str).decode()


class ThreadedServer:
    """Run a :class:`SimServer` on its own event loop in a daemon thread (tests, demo, bench)."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="kf-sim", daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The origin clients pass as ``base_url``."""
        return self.server.base_url

    def start(self) -> str:
        """Start the thread and wait until the port is bound."""
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop thread (safe access to engine state)."""

        async def _run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(_run(), self.loop).result(10)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
