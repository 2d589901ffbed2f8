"""Client <-> simulator pairs for the contract tests.

The pair comes from :func:`krakenfutures.testing.exchange_pair` (the real ``Simulator``). While
that wiring is not importable (the simulator app still being assembled), a minimal local pair
stands in: the same ``Exchange`` + ``Gateway`` + ``build_handlers`` behind a
``HandlerTransport``, with the same keys, account and fake clock. Tests only use what both
provide: ``handle.exchange``, ``handle.clock``, ``handle.tick()`` and ``handle.handle(...)``.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.sim.auth import ApiKey
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Gateway
from krakenfutures.sim.rest import RestExtras, build_handlers
from krakenfutures.transport.base import Response

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
TEST_SECRET = base64.b64encode(bytes(range(64))).decode()
TEST_KEY = "test-key-main"
READ_KEY = "test-key-readonly"


def _app_ready() -> bool:
    try:
        from krakenfutures.testing import sim_config

        sim_config()
    except ImportError:
        return False
    return True


class _Clock:
    def __init__(self) -> None:
        self.ms = START_MS

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> int:
        self.ms += ms
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


class LocalHandle:
    """Stand-in for ``krakenfutures.testing.SimHandle`` (engine + gateway, no app)."""

    api_key = TEST_KEY
    api_secret = TEST_SECRET

    def __init__(self) -> None:
        self.clock = _Clock()
        self.exchange = Exchange(now_ms=START_MS, accounts=["main"])
        keys = {
            TEST_KEY: ApiKey(TEST_KEY, TEST_SECRET, "main"),
            READ_KEY: ApiKey(READ_KEY, TEST_SECRET, "main", Permission.READ),
        }
        self.gateway = Gateway(build_handlers(self.exchange, RestExtras()), keys)

    def tick(self) -> None:
        self.exchange.advance(self.clock.now_ms())

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response:
        parts = urlsplit(target)
        reply = self.gateway.handle(
            method, parts.path, parts.query.encode("latin-1"), headers, body, self.clock.now_ms()
        )
        return Response(reply.status, reply.body, {"content-type": reply.content_type})


def _local_pair(async_client: bool, **kwargs: Any) -> tuple[Any, Any]:
    from krakenfutures.transport.handler import AsyncHandlerTransport, HandlerTransport

    handle = LocalHandle()
    state = tempfile.mkdtemp(prefix="kf-test-state-")
    args: dict[str, Any] = {
        "api_key": TEST_KEY,
        "api_secret": TEST_SECRET,
        "base_url": "http://127.0.0.1:8787",
        "nonce": "memory",
        "clock_ms": handle.clock.now_ms,
        "env": {"KRAKEN_FUTURES_STATE_DIR": state, "HOME": state},
        **kwargs,
    }
    if async_client:
        from krakenfutures.client.async_ import AsyncClient

        async def _asleep(seconds: float) -> None:
            handle.clock.sleep(seconds)

        return AsyncClient(
            transport=AsyncHandlerTransport(handle.handle), sleep=_asleep, **args
        ), handle
    from krakenfutures.client.sync import Client

    return Client(
        transport=HandlerTransport(handle.handle), sleep=handle.clock.sleep, **args
    ), handle


def make_pair(async_client: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    """``(client, handle)``: the real testing wiring when available, else the local stand-in."""
    if _app_ready():
        from krakenfutures.testing import exchange_pair

        return exchange_pair(async_client=async_client, **kwargs)
    return _local_pair(async_client, **kwargs)


class Market:
    """Counterparties placed straight into the engine (accounts ``maker``/``maker2``)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        ex = handle.exchange
        for name in ("maker", "maker2"):
            if name not in ex.account_names():
                ex.open_account(name, flex={"USD": Decimal(10_000_000)})

    def order(
        self,
        side: str,
        qty: str,
        price: str,
        *,
        symbol: str = "PF_XBTUSD",
        account: str = "maker",
        order_type: str = "lmt",
    ) -> Any:
        r = self.handle.exchange.send_order(
            account,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=Decimal(qty),
            limit_price=Decimal(price),
            now_ms=self.handle.clock.now_ms(),
        )
        assert r.status == "placed", r
        return r


@pytest.fixture
def pair() -> Iterator[tuple[Any, Any]]:
    client, handle = make_pair()
    handle.clock.advance(10 * 60_000)  # ten minutes into the first hour
    yield client, handle
    client.close()


@pytest.fixture
def client(pair: tuple[Any, Any]) -> Any:
    return pair[0]


@pytest.fixture
def handle(pair: tuple[Any, Any]) -> Any:
    return pair[1]


@pytest.fixture
def market(handle: Any) -> Market:
    return Market(handle)


@pytest.fixture
async def async_pair() -> Any:
    client, handle = make_pair(async_client=True)
    handle.clock.advance(10 * 60_000)
    yield client, handle, Market(handle)
    await client.aclose()


@pytest.fixture
def served() -> Iterator[Any]:
    """A simulator over real loopback HTTP: ``running_simulator()`` when available, else the
    local pair behind ``SimServer`` on a free port. Yields a handle with ``base_url``."""
    if _app_ready():
        from krakenfutures.testing import running_simulator

        with running_simulator() as handle:
            handle.clock.advance(10 * 60_000)
            yield handle
        return
    from krakenfutures.sim.server import SimServer, ThreadedServer

    handle = LocalHandle()
    handle.clock.advance(10 * 60_000)
    server = ThreadedServer(SimServer(handle.gateway, handle.clock, host="127.0.0.1", port=0))  # type: ignore[arg-type]
    server.start()
    handle.base_url = server.base_url  # type: ignore[attr-defined]
    try:
        yield handle
    finally:
        server.stop()


def loopback_kwargs(handle: Any) -> dict[str, Any]:
    """Client arguments for a served simulator (real HTTP transport, fake clock)."""
    state = tempfile.mkdtemp(prefix="kf-test-state-")
    return {
        "api_key": TEST_KEY,
        "api_secret": TEST_SECRET,
        "base_url": handle.base_url,
        "nonce": "memory",
        "clock_ms": handle.clock.now_ms,
        "sleep": handle.clock.sleep,
        "env": {"KRAKEN_FUTURES_STATE_DIR": state, "HOME": state},
    }


@pytest.fixture
def loopback(served: Any) -> Any:
    """Factory of loopback client kwargs (``loopback()`` -> dict)."""
    return lambda: loopback_kwargs(served)
