"""TradingStateMonitor after the legacy REST status endpoints are gone (2027-03-01): over real
loopback, the simulator's REST answers 404 for ``/instruments/status`` and ``/notifications``
(a test-only transport wrapper) or refuses connections altogether; after GONE_POLLS such polls
the monitor switches, once and loudly, to the uws ``status`` + ``instrument`` channels, and
the gate follows them: post_only lets only post-only orders through, maintenance and
cancel_only block new orders, a pair's own status counts per symbol, and a dead status socket
ages into UNKNOWN so nothing goes out. Outages (5xx) never switch, nor does a monitor without
a uws watch (the legacy dialect)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.feed import Backoff
from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.core.events import TickerUpdate
from krakenfutures.core.orders import CancelIntent, OrderIntent
from krakenfutures.core.retry import RetryPolicy
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.risk.rules import Approved, check_trading_state
from krakenfutures.runtime.monitor import GONE_POLLS, TradingStateMonitor
from krakenfutures.runtime.uws_status import UwsStatusWatch
from krakenfutures.signals.alerts import Alert
from krakenfutures.testing import TEST_KEY, TEST_SECRET, SimHandle, running_simulator, sim_config
from krakenfutures.transport.async_pool import AsyncHttpPool
from krakenfutures.transport.base import Response

from .states import MAINTENANCE, OPEN, POST_ONLY, SUSPENDED, UNKNOWN

XBT, ETH = "PF_XBTUSD", "PF_ETHUSD"
MAX_AGE = 30_000
FAST = Backoff(initial_s=0.01, max_s=0.05)
GONE = ("/instruments/status", "/notifications")


class GoneTransport:
    """The real HTTP transport, except that paths ending in ``gone`` answer 404 as a removed
    endpoint would (the simulator itself is left as it is)."""

    def __init__(self, origin: str, gone: tuple[str, ...]) -> None:
        self.inner = AsyncHttpPool(origin)
        self.gone = gone

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        if target.split("?")[0].endswith(self.gone):
            return Response(404, b"<html>404 Not Found</html>", {"content-type": "text/html"})
        return await self.inner.request(method, target, headers, body)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Alerts:
    published: list[Alert] = field(default_factory=list)

    def publish(self, alert: Alert) -> None:
        self.published.append(alert)


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(sim_config(rate_limits=False)) as handle:
        yield handle


@dataclass
class Rig:
    monitor: TradingStateMonitor
    watch: UwsStatusWatch
    alerts: Alerts
    client: AsyncClient


@pytest.fixture
async def rig(sim: SimHandle, request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    mode = getattr(request, "param", "gone")  # how legacy REST answers: gone/refused/working
    if mode == "refused":  # nothing listens there: every fetch is a ConnectError
        client = AsyncClient(
            TEST_KEY, TEST_SECRET, base_url="http://127.0.0.1:9", retry=RetryPolicy(max_attempts=1)
        )
    else:
        transport = GoneTransport(sim.base_url, GONE if mode == "gone" else ())
        client = AsyncClient(
            TEST_KEY,
            TEST_SECRET,
            base_url=sim.base_url,
            transport=transport,
            retry=RetryPolicy(max_attempts=1),
            rate_limit=False,
        )
    watch = UwsStatusWatch(AsyncUwsConnection(sim.base_url, stale_after_s=None, backoff=FAST))
    alerts = Alerts()
    monitor = TradingStateMonitor(
        client,
        (XBT, ETH),
        now_ms=sim.clock.now_ms,
        poll_s=10.0,
        max_age_ms=MAX_AGE,
        uws=watch,
        alerts=alerts,
    )
    try:
        yield Rig(monitor, watch, alerts, client)
    finally:
        await watch.aclose()
        await client.aclose()


async def poll(rig: Rig, sim: SimHandle, times: int = 1) -> list[Any]:
    events: list[Any] = []
    for _ in range(times):
        sim.clock.advance(10_000)
        events += await rig.monitor.poll_once()
    return events


async def switched(rig: Rig, sim: SimHandle) -> None:
    await poll(rig, sim, GONE_POLLS - 1)
    assert not rig.monitor.on_uws and rig.alerts.published == []
    assert rig.monitor.state(XBT) is UNKNOWN  # REST never completed a poll
    await poll(rig, sim)
    assert rig.monitor.on_uws


async def until_state(rig: Rig, symbol: str, state: TradingState, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while rig.monitor.state(symbol) is not state:
        assert time.monotonic() < deadline, rig.monitor.verdict(symbol)
        await asyncio.sleep(0.01)


def gate(state: TradingState) -> dict[str, bool]:
    """What the node's trading-state rule lets out in ``state``."""
    post = OrderIntent(XBT, Side.BUY, Decimal("0.001"), OrderType.POST, limit_price=Decimal(1))
    limit = OrderIntent(XBT, Side.BUY, Decimal("0.001"), OrderType.LMT, limit_price=Decimal(1))
    market = OrderIntent(XBT, Side.BUY, Decimal("0.001"), OrderType.MKT)
    return {
        name: isinstance(check_trading_state(intent, state), Approved)
        for name, intent in (("post", post), ("limit", limit), ("market", market))
    } | {"cancel": isinstance(check_trading_state(CancelIntent("c-1"), state), Approved)}


def force_status(sim: SimHandle, system: str) -> None:
    sim.ctl(cmd="faults", set={"uws_status": system})
    sim.tick()  # the hub sends the status change on its next tick


async def test_the_switch_is_announced_once_and_the_uws_status_gates(
    sim: SimHandle, rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="krakenfutures.runtime.monitor")
    await switched(rig, sim)
    [alert] = rig.alerts.published
    assert alert.severity == "warning" and "instrument status" in alert.text
    assert "404" in alert.text and "dislocation" in alert.text  # why, and what is lost
    switch_lines = [r for r in caplog.records if "from now on" in r.getMessage()]
    assert len(switch_lines) == 1
    assert rig.monitor.state(XBT) is rig.monitor.state(ETH) is OPEN
    assert any("uws status + instrument" in r for r in rig.monitor.verdict(XBT).reasons)
    assert gate(OPEN) == {"post": True, "limit": True, "market": True, "cancel": True}

    force_status(sim, "post_only")
    await until_state(rig, XBT, POST_ONLY)
    assert any("system post_only" in r for r in rig.monitor.verdict(XBT).reasons)
    assert gate(rig.monitor.state(XBT)) == {
        "post": True,
        "limit": False,
        "market": False,
        "cancel": True,
    }

    force_status(sim, "maintenance")
    await until_state(rig, XBT, MAINTENANCE)
    assert rig.monitor.state(ETH) is MAINTENANCE  # engine-wide
    assert not any(gate(MAINTENANCE)[k] for k in ("post", "limit", "market"))

    force_status(sim, "cancel_only")
    await until_state(rig, XBT, SUSPENDED)
    assert gate(SUSPENDED) == {"post": False, "limit": False, "market": False, "cancel": True}

    force_status(sim, "")  # the real state again: online
    await until_state(rig, XBT, OPEN)
    await poll(rig, sim, 3)  # polls keep it fresh while the socket lives; no second switch
    assert rig.monitor.state(XBT) is OPEN and len(rig.alerts.published) == 1


async def test_a_pair_status_gates_its_symbol_and_tickers_still_count(
    sim: SimHandle, rig: Rig
) -> None:
    await switched(rig, sim)
    sim.ctl(cmd="state", symbol=XBT, state="suspended")
    sim.tick()  # instrument update for the pair whose state changed
    await until_state(rig, XBT, SUSPENDED)
    assert rig.monitor.state(ETH) is OPEN
    reasons = " | ".join(rig.monitor.verdict(XBT).reasons)
    assert "instrument channel (pair status" in reasons and "not tradeable" in reasons

    sim.ctl(cmd="state", symbol=XBT, state="open")
    sim.tick()
    await until_state(rig, XBT, OPEN)
    now = sim.clock.now_ms()
    rig.monitor.apply_ticker(TickerUpdate(symbol=ETH, ts_ms=now, post_only=True))
    assert rig.monitor.state(ETH) is POST_ONLY  # a WebSocket ticker flag still restricts


async def test_a_dead_status_socket_ages_into_unknown_and_nothing_goes_out(
    sim: SimHandle, rig: Rig
) -> None:
    await switched(rig, sim)
    assert rig.monitor.state(XBT) is OPEN
    await rig.watch.conn.aclose()  # the status socket is gone for good
    await poll(rig, sim)  # 10 s: the last known status still holds
    assert rig.monitor.state(XBT) is OPEN
    assert any("not connected" in r for r in rig.monitor.verdict(XBT).reasons)
    events = await poll(rig, sim, 3)  # 40 s since it was last live (max 30 s)
    assert [(e.symbol, e.previous, e.state) for e in events] == [
        (XBT, OPEN, UNKNOWN),
        (ETH, OPEN, UNKNOWN),
    ]
    assert any("uws status is" in r and "old" in r for r in rig.monitor.verdict(XBT).reasons)
    assert not any(gate(rig.monitor.state(XBT))[k] for k in ("post", "limit", "market"))


@pytest.mark.parametrize("rig", ["refused"], indirect=True)
async def test_refused_connections_also_switch(sim: SimHandle, rig: Rig) -> None:
    await switched(rig, sim)
    assert "ConnectError" in rig.alerts.published[0].text
    assert rig.monitor.state(XBT) is OPEN


@pytest.mark.parametrize("rig", ["working"], indirect=True)
async def test_outages_do_not_switch(sim: SimHandle, rig: Rig) -> None:
    await poll(rig, sim)
    assert rig.monitor.state(XBT) is OPEN
    sim.ctl(cmd="faults", set={"http_5xx_rate": 1.0})
    await poll(rig, sim, GONE_POLLS + 2)
    assert not rig.monitor.on_uws and rig.alerts.published == []
    assert rig.monitor.state(XBT) is UNKNOWN  # aged, as before 2027


async def test_without_a_watch_the_monitor_stays_on_rest(sim: SimHandle) -> None:
    client = AsyncClient(
        TEST_KEY,
        TEST_SECRET,
        base_url=sim.base_url,
        transport=GoneTransport(sim.base_url, GONE),
        retry=RetryPolicy(max_attempts=1),
        rate_limit=False,
    )
    monitor = TradingStateMonitor(client, (XBT,), now_ms=sim.clock.now_ms, max_age_ms=MAX_AGE)
    try:
        for _ in range(GONE_POLLS + 2):
            sim.clock.advance(10_000)
            await monitor.poll_once()
        assert not monitor.on_uws and monitor.state(XBT) is UNKNOWN
    finally:
        await client.aclose()
