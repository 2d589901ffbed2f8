"""Private state mirrors over loopback: open orders, fills, positions and balances follow the
private feeds, and after a reconnect REST reconciliation recovers what happened while away."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.events import Reconnected
from krakenfutures.client.mirrors import (
    AccountMirror,
    fill_from_rest,
    order_from_rest,
)
from krakenfutures.core.ws.schema_private import (
    BalancesSnapshot,
    FillsUpdate,
    OpenOrdersUpdate,
    OpenPositions,
)
from krakenfutures.testing import TEST_KEY, TEST_SECRET


def _async_rest(sim: Any) -> AsyncClient:
    return AsyncClient(
        TEST_KEY,
        TEST_SECRET,
        base_url=sim.base_url,
        nonce="memory",
        clock_ms=sim.clock.now_ms,
        env={"HOME": "/nonexistent-kf-home"},
    )


def _rest_orders(rest: Any) -> dict[str, Any]:
    return {o.order_id: order_from_rest(o) for o in rest.get_open_orders()}


def _rest_positions(rest: Any) -> dict[str, Decimal]:
    return {p.symbol: p.qty if p.side == "long" else -p.qty for p in rest.get_open_positions()}


async def _next(it: Any, kit: Any, done: Any) -> list[Any]:
    seen: list[Any] = []
    async with asyncio.timeout(30):  # an upper bound for slow CI, not a speed check
        while True:
            event = await anext(it)
            seen.append(event)
            if done(event):
                return seen


async def test_mirror_follows_the_feed_and_matches_rest(
    sim: Any, rest: Any, other: Any, kit: Any
) -> None:
    resting = kit.place(rest, "buy", 58000)  # before the mirror starts: found by reconcile
    mirror = AccountMirror()
    feed = kit.make_feed(sim)
    mirror.subscribe(feed)
    client = _async_rest(sim)
    async with feed:
        it = aiter(mirror.follow(feed, client))
        await _next(it, kit, lambda e: isinstance(e, BalancesSnapshot))
        assert not mirror.stale and mirror.reconciles == 1
        assert set(mirror.orders) == {resting.order_id}
        placed = kit.place(rest, "buy", 59000, qty="0.03")
        await _next(it, kit, lambda e: isinstance(e, OpenOrdersUpdate))
        assert mirror.orders == _rest_orders(rest)
        kit.place(other, "sell", 59000, qty="0.01")  # partial fill of `placed`
        await _next(it, kit, lambda e: isinstance(e, FillsUpdate))
        await _next(it, kit, lambda e: isinstance(e, OpenPositions) and e.positions)
        assert mirror.orders[placed.order_id].filled == Decimal("0.01")
        assert mirror.orders == _rest_orders(rest)
        assert {k: p.qty for k, p in mirror.positions.items()} == _rest_positions(rest)
        fill = mirror.fill_list()[-1]
        assert (fill.order_id, fill.qty, fill.fee_paid is not None) == (
            placed.order_id,
            Decimal("0.01"),
            True,
        )
        rest.cancel_order(order_id=resting.order_id)
        await _next(it, kit, lambda e: isinstance(e, OpenOrdersUpdate) and e.is_cancel)
        assert mirror.orders == _rest_orders(rest)
        assert mirror.balances and all(isinstance(v, Decimal) for v in mirror.balances.values())
    await client.aclose()


async def test_after_a_reconnect_rest_fills_in_what_was_missed(
    sim: Any, rest: Any, other: Any, kit: Any
) -> None:
    mirror = AccountMirror()
    feed = kit.make_feed(sim)
    mirror.subscribe(feed)
    client = _async_rest(sim)
    async with feed:
        it = aiter(mirror.follow(feed, client))
        await _next(it, kit, lambda e: isinstance(e, BalancesSnapshot))
        kit.place(rest, "buy", 59000, qty="0.02")
        await _next(it, kit, lambda e: isinstance(e, OpenOrdersUpdate))
        sim.ctl(cmd="faults", set={"ws_drop_next": 1})
        # While the client is away (it reads nothing during these blocking calls): a fill, a
        # new order and a cancel it never hears about on the old connection.
        kit.place(other, "sell", 59000, qty="0.02")
        late = kit.place(rest, "sell", 62000)
        events = await _next(it, kit, lambda e: isinstance(e, Reconnected))
        assert events[-1].attempt >= 1
        assert mirror.reconciles == 2 and not mirror.stale
        assert mirror.orders == _rest_orders(rest)
        assert late.order_id in mirror.orders
        assert {k: p.qty for k, p in mirror.positions.items()} == _rest_positions(rest)
        rest_fills = {f.fill_id: fill_from_rest(f) for f in rest.get_fills()}
        assert set(rest_fills) <= set(mirror.fills)
        for fill_id, fill in rest_fills.items():
            assert mirror.fills[fill_id] == fill
        # The private subscriptions of the new connection follow the Reconnected event (they
        # wait for the fresh challenge); their snapshots confirm what REST said, and from then
        # on the feed keeps the mirror current.
        await _next(it, kit, lambda e: isinstance(e, BalancesSnapshot))
        assert mirror.orders == _rest_orders(rest)
        kit.place(rest, "buy", 58000)
        await _next(it, kit, lambda e: isinstance(e, OpenOrdersUpdate))
        assert mirror.orders == _rest_orders(rest)
    await client.aclose()
