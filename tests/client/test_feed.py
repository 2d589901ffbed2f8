"""AsyncFeed against the simulator over a real loopback WebSocket: every public and private
feed arrives as typed structs with Decimal money, private authentication good and bad, odd
frames reported (never raised), clean close and a fast failure on a dead address."""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.server import serve

from krakenfutures.client.events import Reconnected
from krakenfutures.core.ws.schema_private import (
    AccountLogSnapshot,
    AccountLogUpdate,
    BalancesSnapshot,
    BalancesUpdate,
    FillsSnapshot,
    FillsUpdate,
    Notifications,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenOrdersVerboseSnapshot,
    OpenOrdersVerboseUpdate,
    OpenPositions,
)
from krakenfutures.core.ws.schema_public import (
    BookDelta,
    BookSnapshot,
    Heartbeat,
    Ticker,
    TickerLite,
    Trade,
    TradeSnapshot,
)
from krakenfutures.core.ws.session import AuthFailed, ErrorMessage, Subscribed
from krakenfutures.core.ws.session import UnknownMessageReceived as Unknown
from krakenfutures.errors import ConnectError


def _types(events: list[Any]) -> set[type]:
    return {type(e) for e in events}


async def test_every_public_feed_arrives_typed(sim: Any, rest: Any, other: Any, kit: Any) -> None:
    sym = kit.SYMBOL
    feed = kit.make_feed(sim, keyed=False)
    for name in ("book", "trade", "ticker", "ticker_lite"):
        feed.subscribe(name, [sym])
    feed.subscribe("heartbeat")
    async with feed:
        first = await kit.collect_until(feed, lambda e: isinstance(e, TickerLite))
        assert {BookSnapshot, TradeSnapshot, Ticker, TickerLite} <= _types(first)
        kit.place(rest, "buy", 59000)
        kit.place(rest, "sell", 61000, qty="0.02")
        kit.place(other, "sell", 59000)  # takes main's bid: a trade and a level removal
        sim.clock.advance(5_000)
        sim.tick()  # tickers (1/s throttle) and the heartbeat (every 5 s)
        rest_of = await kit.collect_until(feed, lambda e: isinstance(e, Heartbeat))
        events = first + rest_of
        if not any(isinstance(e, Ticker) for e in rest_of):
            events += await kit.collect_until(feed, lambda e: isinstance(e, Ticker))
    assert {BookDelta, Trade, Heartbeat, Ticker} <= _types(events)
    trade = next(e for e in events if isinstance(e, Trade))
    assert (trade.symbol, trade.side.value, trade.price, trade.qty) == (
        sym,
        "sell",
        Decimal(59000),
        Decimal("0.01"),
    )
    deltas = [e for e in events if isinstance(e, BookDelta)]
    assert [d.seq for d in deltas] == list(range(deltas[0].seq, deltas[0].seq + len(deltas)))
    assert all(isinstance(d.price, Decimal) and isinstance(d.qty, Decimal) for d in deltas)
    ticker = [e for e in events if isinstance(e, Ticker)][-1]
    assert ticker.symbol == sym and isinstance(ticker.mark_price, Decimal)
    assert feed.book(sym).levels() == kit.sim_levels(sim)
    assert feed.book(sym).best_ask() == (Decimal(61000), Decimal("0.02"))
    assert feed.gap_count == 0


PRIVATE = (
    "open_orders",
    "open_orders_verbose",
    "fills",
    "open_positions",
    "balances",
    "account_log",
    "notifications_auth",
)


async def test_private_feeds_with_a_good_key(sim: Any, rest: Any, other: Any, kit: Any) -> None:
    feed = kit.make_feed(sim)
    for name in PRIVATE:
        feed.subscribe(name)
    snapshots = {
        OpenOrdersSnapshot,
        OpenOrdersVerboseSnapshot,
        FillsSnapshot,
        OpenPositions,
        BalancesSnapshot,
        AccountLogSnapshot,
        Notifications,
    }
    async with feed:
        seen: list[Any] = []
        while not snapshots <= _types(seen):
            seen += await kit.collect_until(feed, lambda e: type(e) in snapshots)
        assert not any(isinstance(e, AuthFailed) for e in seen)
        assert {s.feed for s in seen if isinstance(s, Subscribed)} == set(PRIVATE)
        order = kit.place(rest, "buy", 59000, cli_ord_id="mine-1")
        kit.place(other, "sell", 59000)  # fills main's order completely
        wanted = {OpenOrdersUpdate, OpenOrdersVerboseUpdate, FillsUpdate, AccountLogUpdate}
        after: list[Any] = []
        while not wanted <= _types(after) or not any(
            isinstance(e, OpenPositions) and e.positions for e in after
        ):
            after += await kit.collect_until(feed, lambda e: True)
    fill = next(f for e in after if isinstance(e, FillsUpdate) for f in e.fills)
    assert (fill.side.value, fill.qty, fill.price) == ("buy", Decimal("0.01"), Decimal(59000))
    assert fill.cli_ord_id == "mine-1" and fill.order_id == order.order_id
    assert isinstance(fill.fee_paid, Decimal) and fill.fee_currency
    updates = [e for e in after if type(e) is OpenOrdersUpdate]
    assert updates[0].reason == "new_placed_order_by_user" and not updates[0].is_cancel
    assert updates[-1].is_cancel and updates[-1].reason == "full_fill"
    position = next(e for e in after if isinstance(e, OpenPositions) and e.positions).positions[0]
    assert (position.symbol, position.qty) == (kit.SYMBOL, Decimal("0.01"))
    assert any(isinstance(e, BalancesUpdate | BalancesSnapshot) for e in seen + after)


async def test_a_bad_secret_is_refused_and_public_feeds_go_on(sim: Any, kit: Any) -> None:
    wrong = base64.b64encode(b"\x01" * 64).decode()
    feed = kit.make_feed(sim, secret=wrong)
    feed.subscribe("open_orders")
    feed.subscribe("book", [kit.SYMBOL])
    async with feed:
        events = await kit.collect_until(feed, lambda e: isinstance(e, AuthFailed))
        if not any(isinstance(e, BookSnapshot) for e in events):
            events += await kit.collect_until(feed, lambda e: isinstance(e, BookSnapshot))
    failed = next(e for e in events if isinstance(e, AuthFailed))
    assert failed.message == "Failed to subscribe to authenticated feed"
    assert ("open_orders", None) in failed.feeds
    assert not any(isinstance(e, OpenOrdersSnapshot) for e in events)
    assert feed.book(kit.SYMBOL).is_synced


async def test_an_unknown_product_is_an_error_event_not_an_exception(sim: Any, kit: Any) -> None:
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("book", ["PF_NOPEUSD"])
    async with feed:
        events = await kit.collect_until(feed, lambda e: isinstance(e, ErrorMessage))
    assert events[-1] == ErrorMessage("Invalid product id", "error")


async def test_odd_frames_become_events_and_the_loop_goes_on(kit: Any) -> None:
    """Frames no simulator sends on purpose: served by a bare WebSocket server."""
    frames = [
        '{"event":"info","version":1}',
        "not json at all",
        '{"feed":"brand_new_feed","x":1}',
        '{"feed":"book","product_id":"PF_XBTUSD","side":"buy"}',  # a delta missing fields
        "[1,2,3]",
        '{"feed":"heartbeat","time":1534262350627}',
    ]

    async def handler(ws: Any) -> None:
        for frame in frames:
            await ws.send(frame)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        from krakenfutures.client.feed import AsyncFeed

        feed = AsyncFeed(f"ws://127.0.0.1:{port}/ws/v1", env={"HOME": "/nonexistent"})
        async with feed:
            events = await kit.collect_until(feed, lambda e: isinstance(e, Heartbeat))
    unknown = [e for e in events if isinstance(e, Unknown)]
    assert [u.raw for u in unknown] == [f.encode() for f in frames[1:5]]
    assert unknown[0].error and not unknown[1].error  # not JSON vs a feed we do not know
    assert unknown[2].error  # a known feed that does not fit its schema
    assert events[-1] == Heartbeat(ts_ms=1534262350627)


async def test_connect_failure_is_a_connect_error_and_close_ends_iteration(
    sim: Any, kit: Any
) -> None:
    from krakenfutures.client.feed import AsyncFeed

    dead = AsyncFeed("http://127.0.0.1:9", env={"HOME": "/nonexistent"}, open_timeout_s=2)
    with pytest.raises(ConnectError):
        await dead.connect()
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("heartbeat")
    await feed.connect()
    first = await feed.next_event(30)
    assert first is not None

    async def close_soon() -> None:
        await asyncio.sleep(0.05)
        await feed.aclose()

    closer = asyncio.create_task(close_soon())
    rest = [e async for e in feed]  # ends when closed, no exception
    await closer
    assert not any(isinstance(e, Reconnected) for e in rest)
    assert not feed.is_connected
