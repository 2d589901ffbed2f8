"""Kraken's legacy switch-off (2027-03-01), end to end: a Node built exactly as ``kf run --dialect
unified`` builds it (runtime/launch.py ``build_node``, unchanged) runs its own background loops
against the simulator over real loopback, with the legacy REST status endpoints gone.

The seam is a loopback reverse proxy in front of the simulator, standing in for Kraken after the
switch-off as far as the order rules and trading-state inputs go: ``/instruments``,
``/instruments/status`` and ``/notifications`` answer 404 (the node takes its tick/lot rules from
the uws ``instrument`` channel instead); everything else (legacy REST, Spot REST, both uws sockets) passes through unchanged,
and every order method sent on a uws socket is noted on the way in: the exchange side's record
of what reached it. The node's monitor finds the endpoints gone, switches once to the uws status
channels (one alert through the node's alert router), and the gate then follows the
simulator's forced ``status`` ``system`` value: post_only lets only post-only orders out,
maintenance nothing, online everything again. (test_monitor_uws.py tests the monitor alone.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from yarl import URL

from krakenfutures.core.types import TradingState
from krakenfutures.risk.rules import Denied, Rule
from krakenfutures.runtime.bot_config import BotConfig
from krakenfutures.runtime.clock import FollowClock
from krakenfutures.runtime.launch import Wiring, build_node
from krakenfutures.runtime.monitor import GONE_POLLS
from krakenfutures.testing import (
    SPOT_KEY,
    SPOT_SECRET,
    TEST_KEY,
    TEST_SECRET,
    SimHandle,
    running_simulator,
    sim_config,
)
from krakenfutures.testing.node import SYMBOL, Idle

from .uws_sim import until

QTY = Decimal("0.001")
GONE = ("/instruments/status", "/notifications", "/instruments")
SWITCH_TEXT = "from now on the gate reads the uws status"
ORDER_PLACING = ("add_order", "batch_add", "amend_order", "edit_order")
HOP_BY_HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "accept-encoding",
}


@dataclass(frozen=True)
class Arrived:
    """An order-placing uws request that reached the simulator, and the forced status then."""

    phase: str
    method: str
    params: dict[str, Any]


class SwitchedOffKraken:
    """A reverse proxy on loopback in front of the simulator: the legacy REST status endpoints
    answer 404 as removed endpoints do; other requests and WebSocket frames pass through as
    they are (signed bodies and paths untouched). ``phase`` labels what :attr:`arrived` notes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.phase = "online"
        self.gone_hits: Counter[str] = Counter()
        self.arrived: list[Arrived] = []
        self.rest_paths: list[str] = []
        self.base_url = ""
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on a free loopback port (:attr:`base_url`)."""
        self._session = aiohttp.ClientSession()  # replies decompressed: re-sent plain
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def aclose(self) -> None:
        """Close the listener (and the sockets still open through it)."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        gone = next((g for g in GONE if path.endswith(g)), None)
        if gone is not None:
            self.gone_hits[gone] += 1
            return web.Response(
                status=404, text="<html>404 Not Found</html>", content_type="text/html"
            )
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        self.rest_paths.append(path)
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as reply:
            payload = await reply.read()
            kept = {
                k: v
                for k, v in reply.headers.items()
                if k.lower() not in HOP_BY_HOP | {"content-encoding", "date", "server"}
            }
            return web.Response(status=reply.status, body=payload, headers=kept)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        assert self._session is not None
        down = web.WebSocketResponse(max_msg_size=0)
        await down.prepare(request)
        url = URL("ws" + self.upstream.removeprefix("http") + request.raw_path, encoded=True)
        async with self._session.ws_connect(url, max_msg_size=0) as up:

            async def inbound() -> None:  # client -> exchange, noting order methods
                async for msg in down:
                    if msg.type is WSMsgType.TEXT:
                        self._note(msg.data)
                        await up.send_str(msg.data)
                    elif msg.type is WSMsgType.BINARY:
                        await up.send_bytes(msg.data)
                await up.close()

            async def outbound() -> None:  # exchange -> client
                async for msg in up:
                    if msg.type is WSMsgType.TEXT:
                        await down.send_str(msg.data)
                    elif msg.type is WSMsgType.BINARY:
                        await down.send_bytes(msg.data)
                await down.close(code=up.close_code or 1000)

            tasks = [asyncio.create_task(inbound()), asyncio.create_task(outbound())]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
        return down

    def _note(self, text: str) -> None:
        with contextlib.suppress(ValueError):
            message = json.loads(text)
            if isinstance(message, dict) and message.get("method") in ORDER_PLACING:
                self.arrived.append(Arrived(self.phase, message["method"], message["params"]))


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    """The simulator over loopback (fake clock, no rate limits) with the Spot keys of ``main``."""
    with running_simulator(sim_config(spot=True, rate_limits=False)) as handle:
        yield handle


@pytest.fixture
async def kraken(sim: SimHandle) -> AsyncIterator[SwitchedOffKraken]:
    """The simulator as Kraken after 2027-03-01: legacy status endpoints gone."""
    proxy = SwitchedOffKraken(sim.base_url)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.aclose()


@pytest.fixture
async def wiring(
    sim: SimHandle, kraken: SwitchedOffKraken, tmp_path: Path
) -> AsyncIterator[Wiring]:
    """What ``kf run --dialect unified`` builds (polling the trading state every 50 ms), on the
    switched-off origin; not started."""
    env = {"KRAKEN_FUTURES_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    wired = await build_node(
        [Idle()],
        BotConfig(name="switchoff", dialect="unified", monitor_poll_s=0.05),
        base_url=kraken.base_url,
        clock=FollowClock(sim.clock.now_ms, 1.0),
        api_key=TEST_KEY,
        api_secret=TEST_SECRET,
        spot_key=SPOT_KEY,
        spot_secret=SPOT_SECRET,
        env=env,
        journal_path=tmp_path / "journal.sqlite",
    )
    try:
        yield wired
    finally:
        with contextlib.suppress(Exception):
            await wired.node.shutdown()  # idempotent: a no-op after the test's own
        await wired.aclose()  # idempotent too (the test closes it to flush the alerts)


def force_status(sim: SimHandle, kraken: SwitchedOffKraken, system: str) -> None:
    """The simulator's uws ``status`` says ``system`` from its next tick on."""
    kraken.phase = system
    sim.ctl(cmd="faults", set={"uws_status": system})
    sim.tick()


def exchange_orders(sim: SimHandle) -> dict[str, Any]:
    """The simulator's own view of the account's resting orders, by cli_ord_id."""
    return {o.cli_ord_id: o for o in sim._run(lambda: sim.exchange.open_orders("main"))}


async def test_switch_off_moves_the_gate_to_uws_status_and_no_forbidden_order_leaves(
    sim: SimHandle,
    kraken: SwitchedOffKraken,
    wiring: Wiring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    node = wiring.node
    monitor: Any = node.monitor
    strategy: Any = node.strategies[0]
    ctx = node.contexts[strategy.name]

    await node.start()  # as node.run does: the start-up poll, then the background loops
    await until(lambda: monitor.on_uws, f"the monitor's switch after {GONE_POLLS} polls")
    await until(lambda: node.trading_state(SYMBOL) is TradingState.OPEN, "OPEN from uws status")
    await until(lambda: node.mark(SYMBOL) is not None, "a ticker on the uws market feed")
    assert any("uws status + instrument" in r for r in monitor.verdict(SYMBOL).reasons)
    # Each gone endpoint was asked exactly GONE_POLLS times, then never again (/instruments
    # once more: build_node asked it first, then took the order rules from uws instead).
    assert kraken.gone_hits == {**dict.fromkeys(GONE, GONE_POLLS), "/instruments": GONE_POLLS + 1}
    assert SYMBOL in node.instruments and node.instruments[SYMBOL].tick_size > 0

    mark = node.mark(SYMBOL)
    assert mark is not None
    low = (mark * Decimal("0.97")).to_integral_value()  # rests: below the mark, in the band

    def submit(price: Decimal, *, post_only: bool) -> str | Denied:
        return ctx.submit(
            symbol=SYMBOL, side="buy", qty=QTY, limit_price=price, post_only=post_only
        )

    def denied_by_state(verdict: str | Denied) -> bool:
        return isinstance(verdict, Denied) and verdict.rule is Rule.TRADING_STATE

    # post_only: a plain limit is denied before the wire; a post-only one goes out and rests.
    force_status(sim, kraken, "post_only")
    await until(lambda: node.trading_state(SYMBOL) is TradingState.POST_ONLY, "POST_ONLY")
    limit = submit(low, post_only=False)
    assert denied_by_state(limit), limit
    post = submit(low - 1, post_only=True)
    assert isinstance(post, str), post
    await until(lambda: post in exchange_orders(sim), "the post-only order resting")
    assert exchange_orders(sim)[post].type == "post"

    # maintenance: nothing goes out, post-only or not.
    force_status(sim, kraken, "maintenance")
    await until(lambda: node.trading_state(SYMBOL) is TradingState.MAINTENANCE, "MAINTENANCE")
    for post_only in (False, True):
        verdict = submit(low - 2, post_only=post_only)
        assert denied_by_state(verdict), verdict

    # online again: a plain limit goes out and rests.
    force_status(sim, kraken, "online")
    await until(lambda: node.trading_state(SYMBOL) is TradingState.OPEN, "OPEN again")
    again = submit(low - 3, post_only=False)
    assert isinstance(again, str), again
    await until(lambda: again in exchange_orders(sim), "the limit order resting")
    await node.manager.drain(timeout_s=5.0)

    # The exchange side: exactly the two allowed orders reached it, each in its phase.
    assert set(exchange_orders(sim)) == {post, again}
    assert exchange_orders(sim)[again].type == "lmt"
    assert [(a.phase, a.method, a.params.get("cl_ord_id")) for a in kraken.arrived] == [
        ("post_only", "add_order", post),
        ("online", "add_order", again),
    ]
    assert kraken.arrived[0].params.get("post_only") is True
    assert "post_only" not in kraken.arrived[1].params
    assert not [p for p in kraken.rest_paths if p.endswith(("sendorder", "batchorder"))]
    denials = [u for kind, u in strategy.seen if kind == "denied"]
    assert len(denials) == 3 and all(d.rule == "trading_state" for d in denials)

    # The switch was told exactly once (many uws polls later), and the node saw the states.
    assert monitor.on_uws
    changes = [(u.previous, u.state) for kind, u in strategy.seen if kind == "state"]
    assert changes[-3:] == [
        (TradingState.OPEN, TradingState.POST_ONLY),
        (TradingState.POST_ONLY, TradingState.MAINTENANCE),
        (TradingState.MAINTENANCE, TradingState.OPEN),
    ]
    # Through the node: on the dashboard's recent alerts and in the journal, not only sent.
    assert [a for a in node.recent if SWITCH_TEXT in a.text]
    journaled = [r for r in wiring.journal.iter_records() if r.kind == "event"]
    assert any(SWITCH_TEXT in str(r.value()) for r in journaled)
    await node.shutdown()
    assert exchange_orders(sim) == {}  # the stop cancels what the bot placed
    await wiring.aclose()  # flushes the alert router's queue through its sinks
    delivered = [
        r.getMessage()
        for r in caplog.records
        if r.name == "krakenfutures.alerts" and SWITCH_TEXT in r.getMessage()
    ]
    assert len(delivered) == 1, delivered
    assert "404" in delivered[0] and "instrument status" in delivered[0]
    monitor_lines = [r for r in caplog.records if r.name == "krakenfutures.runtime.monitor"]
    assert len([r for r in monitor_lines if SWITCH_TEXT in r.getMessage()]) == 1
