"""Public test helpers: wire a real client to a real simulator, in memory or over loopback.

``exchange_pair()`` gives a :class:`~krakenfutures.Client` whose transport hands the exact wire
bytes to a :class:`~krakenfutures.sim.app.Simulator` in the same process (no socket, fast);
``running_simulator()`` serves the same simulator over HTTP on a free loopback port. Both use a
:class:`FakeClock` you can move, so funding hours and dead man's switches pass instantly.

Example::

    from krakenfutures.testing import exchange_pair
    client, sim = exchange_pair()
    client.send_order(order_type="lmt", symbol="PF_XBTUSD", side="buy", qty="0.01", limit_price="50000")
    sim.clock.advance(3_600_000)   # one funding hour
    sim.tick()
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from krakenfutures.transport.base import Response

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z: a fixed, hour-aligned exchange time
TEST_SECRET = base64.b64encode(bytes(range(64))).decode()
TEST_KEY = "test-key-main"
READ_KEY = "test-key-readonly"
SPOT_KEY = "test-spot-key"
"""A Spot key (``kind = "spot"``) with the WebSocket permission, on account ``main``
(``sim_config(spot=True)``)."""
SPOT_NO_WS_KEY = "test-spot-key-no-ws"
"""A Spot key without the WebSocket permission, on account ``main`` (``sim_config(spot=True)``)."""
SPOT_SECRET = base64.b64encode(bytes(range(64, 128))).decode()
"""The secret of both test Spot keys (different from :data:`TEST_SECRET`)."""


class FakeClock:
    """A clock tests move by hand (epoch ms)."""

    def __init__(self, start_ms: int = START_MS) -> None:
        self.ms = start_ms

    def now_ms(self) -> int:
        """The current fake time."""
        return self.ms

    def advance(self, ms: int) -> int:
        """Move forward ``ms`` and return the new time."""
        self.ms += ms
        return self.ms

    def sleep(self, seconds: float) -> None:
        """A ``time.sleep`` stand-in that moves the fake clock instead of waiting."""
        self.ms += int(seconds * 1000)


def sim_config(*, seed: int = 1, market: bool = False, spot: bool = False, **changes: Any) -> Any:
    """A simulator config for tests: a full key and a read-only key on account ``main``, no
    synthetic flow unless ``market=True``, Kraken's rate limits on. ``spot=True`` adds the Spot
    keys :data:`SPOT_KEY` (WebSocket permission) and :data:`SPOT_NO_WS_KEY` (none) on ``main``."""
    from krakenfutures.core.rest.endpoint import Permission
    from krakenfutures.sim.config import KeyConfig, SimConfig

    base = SimConfig()
    cfg = dataclasses.replace(
        base,
        seed=seed,
        keys=(
            KeyConfig(api_key=TEST_KEY, api_secret=TEST_SECRET, account="main"),
            KeyConfig(
                api_key=READ_KEY, api_secret=TEST_SECRET, account="main", permission=Permission.READ
            ),
        ),
        market=dataclasses.replace(base.market, enabled=market),
    )
    if spot:
        spot_keys = (
            KeyConfig(api_key=SPOT_KEY, api_secret=SPOT_SECRET, account="main", kind="spot"),
            KeyConfig(
                api_key=SPOT_NO_WS_KEY,
                api_secret=SPOT_SECRET,
                account="main",
                kind="spot",
                websocket=False,
            ),
        )
        cfg = dataclasses.replace(cfg, keys=cfg.keys + spot_keys)
    return dataclasses.replace(cfg, **changes) if changes else cfg


@dataclass
class SimHandle:
    """A simulator under test: the engine, the clock, credentials and an admin shortcut."""

    simulator: Any
    clock: FakeClock
    base_url: str = "http://127.0.0.1:8787"
    api_key: str = TEST_KEY
    api_secret: str = TEST_SECRET
    _server: Any = field(default=None, repr=False)

    @property
    def exchange(self) -> Any:
        """The pure engine (:class:`~krakenfutures.sim.engine.Exchange`)."""
        return self.simulator.exchange

    def tick(self) -> None:
        """Advance the exchange to the fake clock's time (triggers, deadman, funding)."""
        self._run(lambda: self.simulator.tick(self.clock.now_ms()))

    def ctl(self, **command: Any) -> dict[str, Any]:
        """Run an admin command, e.g. ``ctl(cmd="state", symbol="PF_XBTUSD", state="suspended")``."""
        result: dict[str, Any] = self._run(
            lambda: self.simulator.control(command, self.clock.now_ms())
        )
        return result

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        """The in-memory transport function: the wire bytes in, Kraken's reply out."""
        parts = urlsplit(target)
        reply = self.simulator.handle_http(
            method, parts.path, parts.query.encode("latin-1"), headers, body, self.clock.now_ms()
        )
        if reply.drop:
            from krakenfutures.errors import TimeoutError_

            raise TimeoutError_("simulated lost reply: the request was executed, no answer came")
        return Response(reply.status, reply.body, {"content-type": reply.content_type})

    def _run(self, fn: Any) -> Any:
        return self._server.call(fn) if self._server is not None else fn()


def make_simulator(
    config: Any = None, *, clock: FakeClock | None = None, store: Any = None
) -> SimHandle:
    """A simulator (not serving) with a fake clock."""
    from krakenfutures.sim.app import Simulator

    clock = clock or FakeClock()
    sim = Simulator(config or sim_config(), now_ms=clock.now_ms(), store=store)
    return SimHandle(sim, clock)


def _client_kwargs(handle: SimHandle, clock: FakeClock, kwargs: dict[str, Any]) -> dict[str, Any]:
    state = tempfile.mkdtemp(prefix="kf-test-state-")
    return {
        "base_url": handle.base_url,
        "nonce": "memory",
        "clock_ms": clock.now_ms,
        "env": {"KRAKEN_FUTURES_STATE_DIR": state, "HOME": state},
        **kwargs,
    }


def exchange_pair(
    config: Any = None, *, async_client: bool = False, **client_kwargs: Any
) -> tuple[Any, SimHandle]:
    """A client wired in memory to a fresh simulator: ``(client, handle)``.

    ``client_kwargs`` go to the client (e.g. ``api_key=READ_KEY``, ``nonce="none"``).
    """
    from krakenfutures.transport.handler import AsyncHandlerTransport, HandlerTransport

    handle = make_simulator(config)
    kwargs = {
        "api_key": TEST_KEY,
        "api_secret": TEST_SECRET,
        "sleep": handle.clock.sleep,
        **client_kwargs,
    }
    kwargs = _client_kwargs(handle, handle.clock, kwargs)
    if async_client:
        from krakenfutures.client.async_ import AsyncClient

        async def _asleep(seconds: float) -> None:
            handle.clock.sleep(seconds)

        kwargs["sleep"] = _asleep
        return AsyncClient(transport=AsyncHandlerTransport(handle.handle), **kwargs), handle
    from krakenfutures.client.sync import Client

    return Client(transport=HandlerTransport(handle.handle), **kwargs), handle


@contextlib.contextmanager
def running_simulator(
    config: Any = None, *, seed: int = 1, real_clock: bool = False
) -> Iterator[SimHandle]:
    """Serve a simulator over HTTP on a free loopback port for the duration of the block.

    With ``real_clock=False`` (default) the exchange clock is a :class:`FakeClock` that only
    moves when the test moves it, and no background tick runs.
    """
    from krakenfutures.sim.clock import SimClock
    from krakenfutures.sim.server import SimServer, ThreadedServer

    handle = make_simulator(config or sim_config(seed=seed))
    sim = handle.simulator
    clock: Any = SimClock(1.0, handle.clock.now_ms()) if real_clock else handle.clock
    server = SimServer.for_simulator(sim, clock, ticking=real_clock)
    threaded = ThreadedServer(server)
    threaded.start()
    handle._server = threaded
    handle.base_url = threaded.base_url
    try:
        yield handle
    finally:
        threaded.stop()


def loopback_client(handle: SimHandle, **kwargs: Any) -> Any:
    """A real :class:`~krakenfutures.Client` over HTTP to a :func:`running_simulator`."""
    from krakenfutures.client.sync import Client

    base = {"api_key": handle.api_key, "api_secret": handle.api_secret, "sleep": handle.clock.sleep}
    return Client(**_client_kwargs(handle, handle.clock, {**base, **kwargs}))


__all__ = [
    "READ_KEY",
    "SPOT_KEY",
    "SPOT_NO_WS_KEY",
    "SPOT_SECRET",
    "START_MS",
    "TEST_KEY",
    "TEST_SECRET",
    "FakeClock",
    "SimHandle",
    "exchange_pair",
    "loopback_client",
    "make_simulator",
    "running_simulator",
    "sim_config",
]
