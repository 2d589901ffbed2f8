"""AsyncFeed under the simulator's WebSocket fault knobs: dropped connections (reconnect, fresh
challenge, book equal to the simulator's), sequence gaps, duplicates and reorderings (every one
detected and counted, the book healed from a fresh snapshot), idle closes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from krakenfutures.client.events import BookGapDetected, BookResynced, Reconnected
from krakenfutures.core.ws.schema_public import BookDelta
from krakenfutures.core.ws.session import Subscribed


def _faults(sim: Any, **knobs: int) -> None:
    sim.ctl(cmd="faults", set=knobs)


async def _synced_to(feed: Any, sim: Any, kit: Any) -> None:
    """Read until the client book reaches the simulator's current seq, then compare."""
    target = sim._server.call(lambda: sim.exchange.book_seq(kit.SYMBOL))
    book = feed.book(kit.SYMBOL)
    if not (book.is_synced and book.seq == target):
        await kit.collect_until(
            feed,
            lambda e: book.is_synced and book.seq == target,
        )
    assert book.levels() == kit.sim_levels(sim)


async def test_reconnects_after_drops_with_fresh_challenges_and_an_equal_book(
    sim: Any, rest: Any, kit: Any
) -> None:
    challenges: list[str] = []

    def tap(raw: bytes, ts_ns: int) -> None:
        if b'"challenge"' in raw:
            challenges.append(json.loads(raw)["message"])

    feed = kit.make_feed(sim, on_frame=tap)
    feed.subscribe("book", [kit.SYMBOL])
    feed.subscribe("open_orders")
    price = 59000
    async with feed:
        await kit.collect_until(
            feed, lambda e: isinstance(e, Subscribed) and e.feed == "open_orders"
        )
        for round_ in range(3):
            for _ in range(3):
                price += 1
                kit.place(rest, "buy", price)
            _faults(sim, ws_drop_next=1)  # aborts the connection now, no close frame
            kit.place(rest, "sell", 61000 + round_)  # made while the client is away
            events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
            assert any(isinstance(e, Reconnected) for e in events)
            await _synced_to(feed, sim, kit)
        after = await kit.collect_until(
            feed, lambda e: isinstance(e, Subscribed) and e.feed == "open_orders"
        )
        assert after  # the private feed was renewed on the last connection too
        kit.place(rest, "buy", 58000)
        await _synced_to(feed, sim, kit)
    assert feed.reconnects == 3
    assert len(challenges) == 4 and len(set(challenges)) == 4  # one fresh challenge each
    assert feed.gap_count == 0  # a reconnect is not a gap


async def test_every_injected_gap_is_detected_counted_and_healed(
    sim: Any, rest: Any, kit: Any
) -> None:
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("book", [kit.SYMBOL])
    injected = 0
    price = 50000
    async with feed:
        await kit.collect_until(feed, lambda e: feed.book(kit.SYMBOL).is_synced)
        for burst in (1, 5, 2):
            # Blocking REST calls: the feed reads nothing meanwhile, so every withheld delta
            # sits in the old stream between delivered ones and must be noticed.
            for _ in range(burst):
                _faults(sim, ws_gap_next=1)
                price += 1
                kit.place(rest, "buy", price)  # withheld
                price += 1
                kit.place(rest, "buy", price)  # delivered: the seq jumps by 2
                injected += 1
            events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
            gaps = [e for e in events if isinstance(e, BookGapDetected)]
            assert len(gaps) == burst
            assert all(g.reason == "gap" and g.got == g.expected + 1 for g in gaps)
            await _synced_to(feed, sim, kit)
    assert feed.gap_count == injected == 8
    assert feed.books.gaps[kit.SYMBOL] == 8


async def test_duplicates_and_reorders_are_anomalies_too(sim: Any, rest: Any, kit: Any) -> None:
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("book", [kit.SYMBOL])
    async with feed:
        await kit.collect_until(feed, lambda e: feed.book(kit.SYMBOL).is_synced)
        _faults(sim, ws_duplicate_next=1)
        kit.place(rest, "buy", 59000)
        kit.place(rest, "buy", 59001)
        events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
        dup = [e for e in events if isinstance(e, BookGapDetected)]
        assert [g.reason for g in dup] == ["duplicate"]
        await _synced_to(feed, sim, kit)
        _faults(sim, ws_reorder_next=1)
        kit.place(rest, "buy", 59002)  # held back ...
        kit.place(rest, "buy", 59003)  # ... and sent after this one
        events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
        reorder = [e for e in events if isinstance(e, BookGapDetected)]
        # n+1 before n: a gap, then a late (duplicate-or-reordered) message
        assert [g.reason for g in reorder] == ["gap", "duplicate"]
        await _synced_to(feed, sim, kit)
    assert feed.gap_count == 3


async def test_deltas_before_a_resync_are_delivered_but_not_applied(
    sim: Any, rest: Any, kit: Any
) -> None:
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("book", [kit.SYMBOL])
    async with feed:
        await kit.collect_until(feed, lambda e: feed.book(kit.SYMBOL).is_synced)
        _faults(sim, ws_gap_next=1)
        for price in (59000, 59001, 59002, 59003):
            kit.place(rest, "buy", price)
        events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
    # every delta that reached us is still yielded, in order, with the gap right after the
    # delta that revealed it
    deltas = [e.seq for e in events if isinstance(e, BookDelta)]
    assert deltas == sorted(deltas) and len(deltas) == 3
    gap_at = next(i for i, e in enumerate(events) if isinstance(e, BookGapDetected))
    assert isinstance(events[gap_at - 1], BookDelta) and events[gap_at - 1].seq == deltas[0]
    assert feed.book(kit.SYMBOL).levels() == kit.sim_levels(sim)


async def test_an_idle_close_by_the_server_is_recovered(sim: Any, rest: Any, kit: Any) -> None:
    feed = kit.make_feed(sim, keyed=False)
    feed.subscribe("book", [kit.SYMBOL])
    async with feed:
        await kit.collect_until(feed, lambda e: feed.book(kit.SYMBOL).is_synced)
        # The simulator's idle clock is its (fake) exchange clock: 61 s without a frame from us.
        sim.clock.advance(61_000)
        sim.tick()
        kit.place(rest, "sell", 61000)
        events = await kit.collect_until(feed, lambda e: isinstance(e, BookResynced))
        assert any(isinstance(e, Reconnected) for e in events)
        await _synced_to(feed, sim, kit)


async def test_keepalive_pings_keep_an_idle_subscription_open(
    sim: Any, rest: Any, kit: Any
) -> None:
    """Kraken closes a connection that sent nothing for 60 s; protocol pings count. With pings
    (here every 50 ms of real time) the simulator's idle clock restarts; without them it closes."""
    pinging = kit.make_feed(sim, keyed=False, ping_interval_s=0.05)
    silent = kit.make_feed(sim, keyed=False, ping_interval_s=None)
    for feed in (pinging, silent):
        feed.subscribe("book", [kit.SYMBOL])
        await feed.connect()
        await kit.collect_until(feed, lambda e, f=feed: f.book(kit.SYMBOL).is_synced)
    sim.clock.advance(40_000)
    await asyncio.sleep(0.3)  # a few pings, noted at exchange time +40 s
    sim.clock.advance(40_000)  # +80 s: the silent one is idle, the pinging one only 40 s
    sim.tick()
    kit.place(rest, "buy", 59000)
    await kit.collect_until(pinging, lambda e: isinstance(e, BookDelta))
    events = await kit.collect_until(silent, lambda e: isinstance(e, BookResynced))
    assert any(isinstance(e, Reconnected) for e in events)
    assert pinging.reconnects == 0 and silent.reconnects == 1
    await pinging.aclose()
    await silent.aclose()
