"""UnifiedVenue and UnifiedMarket over real loopback against the simulator's uws endpoints: order
entry, refusals, the executions mirror, one account across both dialects, lost replies resolved
by the OMS tracker without duplicates, and a real Node trading on uws."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import OrderType, Side
from krakenfutures.errors import TransportError
from krakenfutures.oms.tracker import CliOrdIdGenerator, OrderTracker
from krakenfutures.oms.venue import CancelIntent, CancelOutcome, OrderIntent
from krakenfutures.runtime.clock import ManualClock
from krakenfutures.runtime.journal import Journal
from krakenfutures.runtime.launch import instruments_from_rest
from krakenfutures.runtime.live_venue import LiveVenue
from krakenfutures.runtime.node import Node
from krakenfutures.runtime.unified_market import UnifiedMarket
from krakenfutures.runtime.unified_venue import UnifiedVenue, check_order_error
from krakenfutures.strategy import Strategy
from krakenfutures.testing import SimHandle, loopback_client

from .uws_sim import FAST, OTHER, OpenMonitor, token_provider, until

SYMBOL = "PF_XBTUSD"
D = Decimal


def private_conn(sim: SimHandle, timeout_s: float = 3.0) -> AsyncUwsConnection:
    return AsyncUwsConnection(
        sim.base_url,
        token_provider=token_provider(sim),
        stale_after_s=None,
        request_timeout_s=timeout_s,
        backoff=FAST,
    )


@pytest.fixture
async def venue(sim: SimHandle) -> AsyncIterator[UnifiedVenue]:
    conn = private_conn(sim)
    v = UnifiedVenue(conn, lookup_timeout_s=5.0)
    await v.start()
    try:
        yield v
    finally:
        await conn.aclose()


@pytest.fixture
async def legacy(sim: SimHandle) -> AsyncIterator[LiveVenue]:
    """The same account through the legacy REST venue (the reference for uws figures)."""
    client = AsyncClient(
        sim.api_key,
        sim.api_secret,
        base_url=sim.base_url,
        nonce="memory",
        clock_ms=sim.clock.now_ms,
        rate_limit=False,
        env={"HOME": "/nonexistent-kf-home"},
    )
    yield LiveVenue(client)
    await client.aclose()


def mark(sim: SimHandle) -> Decimal:
    return D(sim.exchange.ticker(SYMBOL).mark_price).to_integral_value()


def intent(cli: str, price: Decimal, **kw: Any) -> OrderIntent:
    fields: dict[str, Any] = {"symbol": SYMBOL, "side": Side.BUY, "qty": D("0.001")}
    fields.update(kw)
    return OrderIntent(cli_ord_id=cli, limit_price=price, **fields)


def exchange_orders(sim: SimHandle) -> list[Any]:
    return list(sim._run(lambda: sim.exchange.open_orders("main")))


async def test_submit_amend_cancel_visible_through_legacy_rest(
    sim: SimHandle, venue: UnifiedVenue
) -> None:
    price = mark(sim) - 500
    placed = await venue.submit_order(intent("uws-a", price, post_only=True))
    assert placed.accepted and placed.status == "placed" and placed.order_id

    rest = loopback_client(sim)  # the legacy dialect sees the same account
    rows = rest.get_open_orders()
    assert [(r.order_id, r.cli_ord_id) for r in rows] == [(placed.order_id, "uws-a")]

    [snap] = await venue.open_orders()
    assert (snap.order_id, snap.cli_ord_id, snap.state) == (
        placed.order_id,
        "uws-a",
        OrderState.OPEN,
    )
    assert snap.limit_price == price and snap.order_type is OrderType.POST

    from krakenfutures.oms.venue import AmendIntent

    amended = await venue.amend_order(
        AmendIntent(cli_ord_id="uws-a", order_id=placed.order_id, limit_price=price - 1)
    )
    assert amended.accepted and amended.status == "edited"
    [snap] = await venue.open_orders()
    assert snap.limit_price == price - 1
    assert rest.get_open_orders()[0].limit_price == price - 1

    # An order placed over legacy REST shows on uws executions too.
    rest.send_order(order_type="lmt", symbol=SYMBOL, side="buy", qty=D("0.002"), limit_price=price)
    assert {o.qty for o in await venue.open_orders()} == {D("0.001"), D("0.002")}

    cancelled = await venue.cancel_order(CancelIntent(cli_ord_id="uws-a", order_id=placed.order_id))
    assert cancelled.outcome is CancelOutcome.CANCELLED
    [status] = await venue.order_status(["uws-a"])
    assert status.state is OrderState.CANCELLED
    assert [o.cli_ord_id for o in await venue.open_orders()] == [None]
    assert [r.cli_ord_id for r in rest.get_open_orders()] == [None]


async def test_refusals_are_results_not_exceptions(sim: SimHandle, venue: UnifiedVenue) -> None:
    price = mark(sim)
    reduce = await venue.submit_order(intent("uws-r", price, side=Side.SELL, reduce_only=True))
    assert not reduce.accepted and reduce.status == "wouldNotReducePosition"
    assert reduce.reason.startswith("EOrder:")
    broke = await venue.submit_order(intent("uws-big", price - 1000, qty=D(500)))
    assert not broke.accepted and broke.status == "insufficientAvailableFunds"
    ok = await venue.submit_order(intent("uws-dup", price - 1000))
    dup = await venue.submit_order(intent("uws-dup", price - 1001))
    assert ok.accepted and not dup.accepted and dup.status == "clientOrderIdAlreadyExist"

    from krakenfutures.oms.venue import AmendIntent

    gone = "00000000-0000-4000-8000-000000000000"
    amend = await venue.amend_order(AmendIntent(cli_ord_id="x", order_id=gone, limit_price=price))
    assert not amend.accepted and amend.status == "orderForEditNotFound"
    cancel = await venue.cancel_order(CancelIntent(cli_ord_id="x", order_id=gone))
    assert cancel.outcome is CancelOutcome.NOT_FOUND
    assert len(exchange_orders(sim)) == 1


def test_error_texts_map_to_statuses_or_exceptions() -> None:
    from krakenfutures.errors import AuthenticationError, RateLimitError, UnavailableError

    assert check_order_error("EOrder:Post only order", "add_order") == "postWouldExecute"
    assert check_order_error("EGeneral:Invalid arguments:order_qty", "x") == "invalidSize"
    assert isinstance(check_order_error("ESession:Invalid session", "x"), AuthenticationError)
    assert isinstance(check_order_error("EService:Unavailable", "x"), UnavailableError)
    assert isinstance(check_order_error("EOrder:Rate limit exceeded", "x"), RateLimitError)
    assert check_order_error("EOrder:Something new", "x") == "EOrder:Something new"


async def test_cancel_all_by_symbol_and_the_dead_mans_switch(
    sim: SimHandle, venue: UnifiedVenue
) -> None:
    price = mark(sim) - 800
    a = await venue.submit_order(intent("uws-c1", price))
    b = await venue.submit_order(intent("uws-c2", price - 1))
    result = await venue.cancel_all(SYMBOL)
    assert set(result.order_ids) == {a.order_id, b.order_id}
    assert set(result.cli_ord_ids) == {"uws-c1", "uws-c2"}
    assert await venue.open_orders() == [] and exchange_orders(sim) == []

    await venue.submit_order(intent("uws-c3", price))
    everything = await venue.cancel_all()
    assert everything.cli_ord_ids == ("uws-c3",) and exchange_orders(sim) == []

    await venue.submit_order(intent("uws-d", price))
    await venue.arm_deadman(5)
    sim.clock.advance(6_000)
    sim.tick()
    assert exchange_orders(sim) == []
    [status] = await venue.order_status(["uws-d"])
    assert status.state is OrderState.CANCELLED
    await venue.arm_deadman(0)


async def test_fills_balances_and_positions_from_the_private_channels(
    sim: SimHandle, venue: UnifiedVenue
) -> None:
    price = mark(sim)
    other = loopback_client(sim, api_key=OTHER)
    other.send_order(
        order_type="lmt", symbol=SYMBOL, side="sell", qty=D("0.003"), limit_price=price
    )
    since = sim.clock.now_ms()
    bought = await venue.submit_order(intent("uws-f", price, qty=D("0.002")))
    assert bought.accepted
    [fill] = await venue.fills(since_ms=since)
    assert (fill.order_id, fill.cli_ord_id, fill.qty, fill.price) == (
        bought.order_id,
        "uws-f",
        D("0.002"),
        price,
    )
    assert not fill.maker and fill.fee > 0
    [status] = await venue.order_status(["uws-f"])
    assert status.state is OrderState.FILLED
    [position] = await venue.positions()  # from the uws positions channel (no fallback set)
    assert (position.symbol, position.qty, position.entry_price) == (SYMBOL, D("0.002"), price)
    balances = {b.currency: b for b in await venue.balances()}
    assert balances and all(b.balance == b.available for b in balances.values())


async def test_funding_payments_from_ledgers_match_the_legacy_account_log(
    sim: SimHandle, venue: UnifiedVenue, legacy: LiveVenue
) -> None:
    price = mark(sim)
    other = loopback_client(sim, api_key=OTHER)
    other.send_order(order_type="lmt", symbol=SYMBOL, side="sell", qty=D("0.01"), limit_price=price)
    assert (await venue.submit_order(intent("uws-long", price, qty=D("0.01")))).accepted
    sim.ctl(cmd="mark", symbol=SYMBOL, price=str(price * D("1.01")))  # a premium: longs pay
    for _ in range(3):
        sim.clock.advance(3_600_000)
        sim.tick()
    expected = await legacy.funding_payments(since_ms=0)
    assert len(expected) >= 2 and all(p.amount > 0 for p in expected)
    await until(lambda: len(venue.stream.funding) >= len(expected), "funding on ledgers")
    streamed = await venue.funding_payments(since_ms=0)  # ledgers only: no fallback set
    assert streamed == expected  # same payments, amounts, times and ids as the account log
    both = UnifiedVenue(venue.conn, fallback=legacy)  # same socket, same stream
    assert await both.funding_payments(since_ms=0) == expected  # each payment once
    assert await venue.funding_payments(since_ms=expected[-1].ts_ms + 1) == []


async def test_margin_figures_from_the_margin_channel_equal_legacy_accounts(
    sim: SimHandle, venue: UnifiedVenue, legacy: LiveVenue
) -> None:
    price = mark(sim)
    other = loopback_client(sim, api_key=OTHER)
    other.send_order(order_type="lmt", symbol=SYMBOL, side="sell", qty=D("0.02"), limit_price=price)
    assert (await venue.submit_order(intent("uws-m", price, qty=D("0.02")))).accepted
    await legacy.balances()  # fills legacy.margin from REST /accounts
    assert legacy.margin is not None and legacy.margin[1] > 0  # a position needs margin
    await until(lambda: venue.margin == legacy.margin, "the margin channel's figures")
    assert all(type(v) is Decimal for v in venue.margin or ())  # exact, never floats


async def test_batch_add_and_batch_cancel_over_the_socket(
    sim: SimHandle, venue: UnifiedVenue
) -> None:
    from krakenfutures.core.uws.schema_orders import BatchAddParams, BatchCancelParams, BatchOrder

    price = mark(sim) - 800
    rows = [
        BatchOrder(
            order_type="limit",
            side=Side.BUY,
            order_qty=D("0.001"),
            limit_price=price - i,
            post_only=True,
            cl_ord_id=f"uws-b{i}",
        )
        for i in range(3)
    ]
    reply = await venue.conn.request(
        "batch_add", BatchAddParams(asset_class="derivatives", symbol=SYMBOL, orders=rows)
    )
    assert reply.ok, reply.errors
    placed = reply.result  # typed rows, one per order
    assert [(r.cl_ord_id, bool(r.order_id), r.error) for r in placed] == [
        (f"uws-b{i}", True, None) for i in range(3)
    ]
    assert sorted(o.cli_ord_id for o in exchange_orders(sim)) == ["uws-b0", "uws-b1", "uws-b2"]
    reply = await venue.conn.request(
        "batch_cancel",
        BatchCancelParams(asset_class="derivatives", cl_ord_id=["uws-b0", "uws-b2"]),
    )
    assert reply.ok and reply.result.count == 2
    assert [o.cli_ord_id for o in exchange_orders(sim)] == ["uws-b1"]
    # all-or-nothing validation: one bad row refuses the whole batch, nothing placed
    bad = [rows[0], BatchOrder(order_type="limit", side=Side.BUY, order_qty=D("0.001"))]
    reply = await venue.conn.request(
        "batch_add", BatchAddParams(asset_class="derivatives", symbol=SYMBOL, orders=bad)
    )
    assert not reply.ok and reply.errors
    assert [o.cli_ord_id for o in exchange_orders(sim)] == ["uws-b1"]


async def test_lost_replies_end_with_exactly_one_order_through_the_tracker(
    sim: SimHandle,
) -> None:
    conn = private_conn(sim, timeout_s=1.0)
    venue = UnifiedVenue(conn, lookup_timeout_s=5.0)
    await venue.start()
    tracker = OrderTracker(CliOrdIdGenerator("t"))
    price = mark(sim) - 700
    try:
        # 1. Executed, never answered: a timeout, resolved from the mirror as resting.
        sim.ctl(cmd="faults", set={"uws_drop_reply_next": 1})
        first = tracker.submit(intent("", price), now_ms=sim.clock.now_ms())
        with pytest.raises(TransportError):
            await venue.submit_order(first)
        await resolve(sim, tracker, venue, first.cli_ord_id)
        assert tracker.get(first.cli_ord_id).state is OrderState.OPEN

        # 2. Executed, then the socket dropped before the answer: raised, then resolved after
        # the reconnect from the fresh executions snapshot.
        sim.ctl(cmd="faults", set={"uws_drop_reply_next": 1})
        second = tracker.submit(intent("", price - 1), now_ms=sim.clock.now_ms())
        sending = asyncio.create_task(venue.submit_order(second))
        await asyncio.sleep(0.2)
        sim.ctl(cmd="faults", set={"uws_drop_next": 1})
        sim.tick()
        with pytest.raises(TransportError):
            await sending
        await resolve(sim, tracker, venue, second.cli_ord_id)
        assert tracker.get(second.cli_ord_id).state is OrderState.OPEN
        assert conn.reconnects >= 1

        mine = [o.cli_ord_id for o in exchange_orders(sim)]
        assert sorted(mine) == sorted([first.cli_ord_id, second.cli_ord_id])
        assert not tracker.may_resend(first.cli_ord_id)
        assert not tracker.may_resend(second.cli_ord_id)
    finally:
        await conn.aclose()


async def resolve(sim: SimHandle, tracker: OrderTracker, venue: UnifiedVenue, cli: str) -> None:
    """What the OMS does after a lost reply: look up, then apply (no resend)."""
    need = tracker.on_reply_lost(cli, now_ms=sim.clock.now_ms())
    assert need is not None
    started = sim.clock.now_ms()
    tracker.reconcile(
        open_orders=await venue.open_orders(),
        statuses=await venue.order_status(need.cli_ord_ids),
        fills=await venue.fills(since_ms=need.fills_since_ms),
        now_ms=started,
    )


class Manual(Strategy):
    """Driven by the test through its context."""

    symbols = (SYMBOL,)


async def test_a_node_trades_on_the_unified_dialect(sim: SimHandle, tmp_path: Path) -> None:
    public = AsyncUwsConnection(sim.base_url, stale_after_s=None, backoff=FAST)
    private = private_conn(sim)
    market = UnifiedMarket(public, private, [SYMBOL])
    venue = UnifiedVenue(private)
    instruments = instruments_from_rest(loopback_client(sim).get_instruments())
    strategy = Manual()
    node = Node(
        [strategy],
        venue=venue,
        clock=ManualClock(sim.clock.now_ms, sim.clock.advance),
        instruments=instruments,
        market=market,
        monitor=OpenMonitor(),
        journal=Journal(tmp_path / "journal.sqlite"),
        bot_name="uws",
    )
    feeding = asyncio.create_task(_feed(node, market))
    try:
        await node.start(background=False)
        await until(lambda: node.mark(SYMBOL) is not None, "a ticker")
        ctx = node.contexts["Manual"]
        price = mark(sim) - 600
        cli = ctx.submit(symbol=SYMBOL, side="buy", qty=D("0.001"), limit_price=price)
        assert isinstance(cli, str), cli
        await node.manager.drain()
        await until(lambda: node.manager.tracker.get(cli).state is OrderState.OPEN, "open")
        [resting] = exchange_orders(sim)
        assert resting.cli_ord_id == cli

        ctx.cancel(cli)
        await node.manager.drain()
        await until(lambda: node.manager.tracker.get(cli).state is OrderState.CANCELLED, "cancel")
        assert exchange_orders(sim) == []

        again = ctx.submit(symbol=SYMBOL, side="buy", qty=D("0.001"), limit_price=price)
        assert isinstance(again, str)
        await node.manager.drain()
        await node.shutdown()  # cancels what the bot placed and disarms the switch
        assert exchange_orders(sim) == []
        assert node.manager.tracker.get(again).state is OrderState.CANCELLED
    finally:
        feeding.cancel()
        await market.aclose()


async def _feed(node: Node, market: UnifiedMarket) -> None:
    async for event in market:
        node.on_market(event)
