"""Sequence-gap recovery on the private uws socket, end to end over real loopback against the
simulator: executions frames lost on the way in (a cancel and a fill) make the next update
reveal a gap; the connection resubscribes ``executions``; the fresh snapshot replaces the
mirror, which then equals the simulator's open orders; the node gets a FeedReconnected and
reconciles (the order cancelled behind our back ends cancelled); every fill is booked exactly
once although the ``snap_trades`` snapshot repeats the fills already booked."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.core.events import FeedReconnected
from krakenfutures.core.orders import OrderState
from krakenfutures.runtime.clock import ManualClock
from krakenfutures.runtime.journal import Journal
from krakenfutures.runtime.launch import instruments_from_rest
from krakenfutures.runtime.node import Node
from krakenfutures.runtime.unified_market import UnifiedMarket
from krakenfutures.runtime.unified_venue import UnifiedVenue
from krakenfutures.sim.faults import Faults
from krakenfutures.strategy import Strategy
from krakenfutures.testing import SimHandle, loopback_client

from .uws_sim import FAST, OTHER, OpenMonitor, token_provider, until

SYMBOL = "PF_XBTUSD"
D = Decimal


class LossyConnection(AsyncUwsConnection):
    """A real connection that loses the next ``drop`` executions updates on the way in, as a
    network path that drops messages would (the session never sees them)."""

    drop = 0
    dropped: list[bytes]

    def _receive(self, raw: bytes) -> None:
        if self.drop and b'"channel":"executions"' in raw and b'"type":"update"' in raw:
            self.drop -= 1
            self.dropped.append(raw)
            return
        super()._receive(raw)


class Manual(Strategy):
    symbols = (SYMBOL,)


@dataclasses.dataclass
class Bot:
    node: Node
    venue: UnifiedVenue
    private: LossyConnection
    reconnects: list[FeedReconnected]


@pytest.fixture
async def bot(sim: SimHandle, tmp_path: Path) -> AsyncIterator[Bot]:
    public = AsyncUwsConnection(sim.base_url, stale_after_s=None, backoff=FAST)
    private = LossyConnection(
        sim.base_url,
        token_provider=token_provider(sim),
        stale_after_s=None,
        request_timeout_s=3.0,
        backoff=FAST,
    )
    private.dropped = []
    market = UnifiedMarket(public, private, [SYMBOL])
    venue = UnifiedVenue(private, lookup_timeout_s=5.0)
    node = Node(
        [Manual()],
        venue=venue,
        clock=ManualClock(sim.clock.now_ms, sim.clock.advance),
        instruments=instruments_from_rest(loopback_client(sim).get_instruments()),
        market=market,
        monitor=OpenMonitor(),
        journal=Journal(tmp_path / "journal.sqlite"),
        bot_name="gap",
    )
    seen: list[FeedReconnected] = []

    async def feed() -> None:
        async for event in market:
            if isinstance(event, FeedReconnected):
                seen.append(event)
            node.on_market(event)

    feeding = asyncio.create_task(feed())
    try:
        await node.start(background=False)
        await until(lambda: node.mark(SYMBOL) is not None, "a ticker")
        yield Bot(node, venue, private, seen)
    finally:
        feeding.cancel()
        await market.aclose()


def mark(sim: SimHandle) -> Decimal:
    return D(sim.exchange.ticker(SYMBOL).mark_price).to_integral_value()


def open_ids(sim: SimHandle) -> set[str]:
    """The simulator's own view of the account's resting orders."""
    return {o.order_id for o in sim._run(lambda: sim.exchange.open_orders("main"))}


async def submit(bot: Bot, price: Decimal, qty: str, state: OrderState, **kw: Any) -> str:
    ctx = bot.node.contexts["Manual"]
    cli = ctx.submit(symbol=SYMBOL, side="buy", qty=D(qty), limit_price=price, **kw)
    assert isinstance(cli, str), cli
    await bot.node.manager.drain()
    tracker = bot.node.manager.tracker
    await until(lambda: tracker.get(cli).state is state, f"{cli} {state.value}")
    return cli


async def test_lost_executions_resync_the_mirror_and_book_each_fill_once(
    sim: SimHandle, bot: Bot
) -> None:
    node, stream = bot.node, bot.venue.stream
    tracker = node.manager.tracker
    other = loopback_client(sim, api_key=OTHER)
    price = mark(sim)

    def sell(qty: str) -> None:  # another account rests an ask at the mark: the best ask
        other.send_order(
            order_type="lmt", symbol=SYMBOL, side="sell", qty=D(qty), limit_price=price
        )

    b = await submit(bot, price - 600, "0.001", OrderState.OPEN, post_only=True)
    sell("0.001")
    await submit(bot, price, "0.001", OrderState.FILLED)  # a fill seen as it happens
    assert node.manager.positions.net_qty(SYMBOL) == D("0.001")

    # Lost on the way in: the cancel of b (done behind the bot's back) and the first update
    # of d, which fills 0.002 of 0.003 and rests the rest.
    sim.clock.advance(1_000)  # the exchange clock only moves when told: let the orders age
    bot.private.drop = 2
    b_id = tracker.get(b).order_id
    loopback_client(sim).cancel_order(order_id=b_id)
    sell("0.002")
    ctx = node.contexts["Manual"]
    d = ctx.submit(symbol=SYMBOL, side="buy", qty=D("0.003"), limit_price=price)
    assert isinstance(d, str)
    await node.manager.drain()

    await until(lambda: bot.reconnects, "the resync's FeedReconnected")
    assert len(bot.private.dropped) == 2 and stream.gaps >= 1
    [resynced] = bot.reconnects
    assert resynced.attempt == 0  # a resync, not a reconnect: the socket never dropped
    assert bot.private.reconnects == 0
    await until(lambda: tracker.get(b).state is OrderState.CANCELLED, "b cancelled")
    await until(lambda: tracker.get(d).filled_qty == D("0.002"), "d partly filled")

    # The mirror is the exchange's book again (d resting, partly filled); the OMS agrees.
    [resting] = await bot.venue.open_orders()
    assert {resting.order_id} == open_ids(sim) == {tracker.get(d).order_id}
    assert (resting.state, resting.filled_qty) == (OrderState.PARTIALLY_FILLED, D("0.002"))
    assert tracker.get(d).state is OrderState.PARTIALLY_FILLED
    closed = {snap.order_id: snap for snap, _ in stream.closed.values()}
    assert closed[b_id].state is OrderState.CANCELLED

    # Each fill once: the snapshot's snap_trades repeated the first and carried the lost one.
    sim_fills = sim._run(lambda: sim.exchange.fills("main"))
    assert sum(f.qty for f in sim_fills) == D("0.003")
    assert node.manager.positions.net_qty(SYMBOL) == D("0.003")
    assert sum(p.fill_count for p in node.manager.positions.positions()) == len(sim_fills)
    assert {f.fill_id for f in sim_fills} == set(stream.fills)


@pytest.mark.skipif(
    not hasattr(Faults(), "uws_seq_skip_next"), reason="the simulator has no sequence-skip knob"
)
async def test_the_simulators_sequence_skip_resyncs_without_losing_anything(
    sim: SimHandle, bot: Bot
) -> None:
    tracker = bot.node.manager.tracker
    a = await submit(bot, mark(sim) - 500, "0.001", OrderState.OPEN, post_only=True)
    sim.clock.advance(1_000)
    sim.ctl(cmd="faults", set={"uws_seq_skip_next": 1})
    b = await submit(bot, mark(sim) - 600, "0.001", OrderState.OPEN, post_only=True)
    await until(lambda: bot.reconnects, "the resync's FeedReconnected")
    assert bot.venue.stream.gaps == 1 and bot.private.reconnects == 0
    mirror = {o.order_id for o in await bot.venue.open_orders()}
    assert mirror == open_ids(sim) == {tracker.get(a).order_id, tracker.get(b).order_id}
    await bot.node.manager.reconcile(full=True)
    assert tracker.get(a).state is tracker.get(b).state is OrderState.OPEN
