"""Wiring a bot :class:`~krakenfutures.runtime.node.Node` to the real simulator, in memory on a
fake clock: for the runtime's tests and for users testing their own strategies.

Example::

    rig = make_rig([MyStrategy()])
    await rig.node.start()
    rig.handle.clock.advance(1_000); rig.handle.tick()
    ...
    await rig.node.shutdown()


The client talks to the simulator through the in-memory handler transport (real request bytes,
real signatures, the simulator's real gateway); every request can be recorded together with the
simulator's trading state at that moment, which is what the gating tests check.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.core.retry import RetryPolicy
from krakenfutures.runtime.clock import ManualClock
from krakenfutures.runtime.journal import Journal
from krakenfutures.runtime.launch import instruments_from_rest
from krakenfutures.runtime.live_venue import LiveVenue
from krakenfutures.runtime.monitor import TradingStateMonitor
from krakenfutures.runtime.node import Node, NodeSettings
from krakenfutures.sim.state import ExchangeConfig
from krakenfutures.strategy import Strategy
from krakenfutures.testing import TEST_KEY, TEST_SECRET, make_simulator, sim_config
from krakenfutures.transport.handler import AsyncHandlerTransport

SYMBOL = "PF_XBTUSD"


class Idle(Strategy):
    """A strategy the test drives by hand through ``ctx``; it records what it is told."""

    symbols = (SYMBOL,)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.seen: list[tuple[str, object]] = []

    def on_order(self, update: object) -> None:
        self.seen.append(("order", update))

    def on_fill(self, fill: object) -> None:
        self.seen.append(("fill", fill))

    def on_denied(self, denied: object) -> None:
        self.seen.append(("denied", denied))

    def on_halt(self, halted: object) -> None:
        self.seen.append(("halt", halted))

    def on_state(self, change: object) -> None:
        self.seen.append(("state", change))


@dataclass
class Sent:
    """A request the simulator received, with its trading state of ``SYMBOL`` at that time."""

    path: str
    params: dict[str, list[str]]
    state: str


@dataclass
class Rig:
    """A node, its simulator handle and what went over the wire."""

    node: Node
    handle: Any
    client: AsyncClient
    journal: Journal
    sent: list[Sent] = field(default_factory=list)

    async def start(self) -> None:
        """Load the REST tickers (the rig has no WebSocket feed), then start the node without
        its background loops: on a fake clock the test runs each duty when it wants
        (:meth:`poll_states`, ``node.manager.reconcile``...)."""
        self.handle.clock.advance(1_000)
        self.handle.tick()  # a synthetic market (market=True) posts its first liquidity
        await self.refresh_tickers()
        await self.node.start(background=False)

    async def refresh_tickers(self) -> None:
        """Feed REST tickers to the node as the ticker feed would (mark price, funding)."""
        from krakenfutures.core.events import TickerUpdate

        now = self.handle.clock.now_ms()
        for t in await self.client.get_tickers():
            if t.symbol.upper() in self.node.symbols:
                self.node.on_market(
                    TickerUpdate(
                        symbol=t.symbol,
                        ts_ms=now,
                        mark_price=t.mark_price,
                        last=t.last,
                        bid=t.bid,
                        ask=t.ask,
                        index_price=t.index_price,
                        funding_rate=t.funding_rate,
                        funding_rate_prediction=t.funding_rate_prediction,
                        suspended=bool(t.suspended),
                        post_only=bool(t.post_only),
                    )
                )

    async def duties(self) -> None:
        """One round of what the node's background loops do: poll trading states and re-arm
        the dead man's switch (the fake clock moves fast; the switch must not fire)."""
        from krakenfutures.errors import KrakenFuturesError

        await self.poll_states()
        with contextlib.suppress(KrakenFuturesError):  # the node's loop tolerates a failure too
            await self.node._arm_deadman()

    async def poll_states(self) -> None:
        """Make the monitor look now (as its loop would) and hand changes to the node."""
        assert self.node.monitor is not None
        for change in await self.node.monitor.poll_once():
            self.node._on_state_change(change)

    def exchange_open_orders(self) -> list[Any]:
        """The simulator's own view of the account's resting orders."""
        return list(self.handle.exchange.open_orders("main"))


def make_rig(
    strategies: list[Strategy] | None = None,
    *,
    max_open_orders: int = 500,
    rate_limits: bool = False,
    journal_path: Path | None = None,
    settings: NodeSettings | None = None,
    handle: Any = None,
    client_attempts: int = 3,
    max_age_ms: int = 600_000,
    market: bool = False,
    record: bool = True,
    nonce: str = "memory",
    **node_kwargs: Any,
) -> Rig:
    """A node over an in-memory client to a fresh (or the given) simulator on a fake clock
    (``nonce``: the client's nonce mode; ``kf run`` sends none by default)."""
    if handle is None:
        config = sim_config(
            market=market,
            rate_limits=rate_limits,
            exchange=dataclasses.replace(ExchangeConfig(), max_open_orders=max_open_orders),
        )
        handle = make_simulator(config)
    sent: list[Sent] = []

    def recording(method: str, target: str, headers: Any, body: bytes) -> Any:
        if not record:
            return handle.handle(method, target, headers, body)
        path, _, query = target.partition("?")
        if path.endswith(("/sendorder", "/editorder", "/cancelorder")):
            params = parse_qs(body.decode() or query)
            state = handle.exchange.trading_state(SYMBOL).value
            sent.append(Sent(path.rsplit("/", 1)[-1], params, state))
        return handle.handle(method, target, headers, body)

    clock = handle.clock

    async def asleep(seconds: float) -> None:
        # Concurrent sleepers share one timeline: a wait ends at start + seconds, it does not
        # push the clock on by the sum of every coroutine's waits.
        target = clock.now_ms() + int(seconds * 1000)
        await asyncio.sleep(0)
        clock.ms = max(clock.ms, target)

    state_dir = tempfile.mkdtemp(prefix="kf-node-test-")
    client = AsyncClient(
        TEST_KEY,
        TEST_SECRET,
        base_url=handle.base_url,
        transport=AsyncHandlerTransport(recording),
        nonce=nonce,
        clock_ms=clock.now_ms,
        sleep=asleep,
        rate_limit=rate_limits,
        retry=RetryPolicy(max_attempts=client_attempts),
        env={"KRAKEN_FUTURES_STATE_DIR": state_dir, "HOME": state_dir},
    )
    venue_clock = ManualClock(clock.now_ms, clock.advance)
    strategies = strategies if strategies is not None else [Idle()]
    symbols = sorted({s for st in strategies for s in st.symbols})
    monitor = TradingStateMonitor(
        client, symbols, now_ms=clock.now_ms, poll_s=5.0, max_age_ms=max_age_ms, sleep=asleep
    )
    journal = Journal(journal_path or Path(state_dir) / "journal.sqlite")
    instruments = instruments_from_rest_sync(handle)
    node = Node(
        strategies,
        venue=LiveVenue(client),
        clock=venue_clock,
        instruments=instruments,
        monitor=monitor,
        journal=journal,
        settings=settings or NodeSettings(),
        bot_name="t",
        **node_kwargs,
    )
    rig = Rig(node, handle, client, journal)
    rig.sent = sent
    return rig


def instruments_from_rest_sync(handle: Any) -> dict[str, Any]:
    """Instrument rules as the node would load them (through the REST schema)."""
    from krakenfutures.client.sync import Client
    from krakenfutures.transport.handler import HandlerTransport

    state_dir = tempfile.mkdtemp(prefix="kf-node-test-")
    client = Client(
        base_url=handle.base_url,
        transport=HandlerTransport(handle.handle),
        rate_limit=False,
        env={"KRAKEN_FUTURES_STATE_DIR": state_dir, "HOME": state_dir},
    )
    return instruments_from_rest(client.get_instruments())


__all__ = ["SYMBOL", "Idle", "Rig", "Sent", "make_rig"]
