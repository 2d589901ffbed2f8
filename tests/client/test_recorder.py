"""The Parquet recorder and its replay: exact round trip of every event type, partitions by day
and symbol, flush-based durability, books rebuilt identically; and a live recording from the
simulator over loopback with nothing lost."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from krakenfutures.client.books import BookKeeper
from krakenfutures.client.events import BookGapDetected, BookResynced, Reconnected
from krakenfutures.client.recorder import (
    Recorder,
    read_events,
    read_raw,
    replay,
    replay_books,
    replay_paced,
)
from krakenfutures.core.types import Side
from krakenfutures.core.ws import classify, encode
from krakenfutures.core.ws.classify import UnknownMessage
from krakenfutures.core.ws.schema_public import BookDelta, BookLevel, BookSnapshot, Ticker, Trade
from krakenfutures.core.ws.session import AuthFailed, Subscribed, UnknownMessageReceived

DAY1 = 1_795_600_000_000_000_000  # 2026-11-25T...Z in ns
DAY2 = DAY1 + 86_400 * 10**9


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def _book_stream() -> list[object]:
    snap = BookSnapshot(
        symbol="PF_XBTUSD",
        ts_ms=5,
        seq=10,
        bids=[BookLevel(price=Decimal("34981.50"), qty=Decimal("0.0010"))],
        asks=[BookLevel(price=Decimal("34990"), qty=Decimal("2"))],
    )
    return [
        Subscribed("book", ("PF_XBTUSD",)),
        snap,
        BookDelta(
            symbol="PF_XBTUSD",
            side=Side.BUY,
            seq=11,
            price=Decimal("34982.5"),
            qty=Decimal("1E-4"),
            ts_ms=6,
        ),
        Trade(
            symbol="PF_ETHUSD",
            uid="u-1",
            side=Side.SELL,
            type="fill",
            seq=3,
            ts_ms=7,
            qty=Decimal("0.5"),
            price=Decimal("1800.25"),
        ),
        BookGapDetected("PF_XBTUSD", 12, 14, "gap"),
        Reconnected(2, 350),
        BookResynced("PF_XBTUSD", 20),
        AuthFailed("Failed to subscribe to authenticated feed", (("fills", None),)),
        UnknownMessageReceived(b"\xffnot json", "malformed"),
    ]


def _record(rec: Recorder, clock: Clock, events: list[object]) -> None:
    """Feed events as the live feed would: a frame, then the event(s) it produced."""
    for event in events:
        clock.ns += 1_000_000
        if not isinstance(event, Reconnected):
            raw = event.raw if isinstance(event, UnknownMessageReceived) else encode(event)
            rec.on_frame(raw, clock.ns)
        rec.record(event)


def test_every_event_round_trips_exactly(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock)
    events = _book_stream()
    _record(rec, clock, events)
    rec.close()
    assert list(replay(tmp_path)) == events
    back = list(replay(tmp_path))
    assert str(back[1].bids[0].price) == "34981.50"  # digits as received, not normalised
    assert str(back[2].qty) == "0.0001" or back[2].qty == Decimal("1E-4")
    raw = [frame for _, frame in read_raw(tmp_path)]
    assert len(raw) == len(events) - 1  # Reconnected has no frame
    assert raw[-1] == b"\xffnot json"


def test_partitions_by_day_and_symbol_with_exact_columns(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock)
    _record(rec, clock, _book_stream()[:3])
    clock.ns = DAY2
    _record(rec, clock, _book_stream()[3:4])
    rec.close()
    folders = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet"))
    day1 = "date=2026-11-25"
    day2 = "date=2026-11-26"
    assert f"events/{day1}/symbol=PF_XBTUSD" in folders
    assert f"events/{day1}/symbol=_" in folders  # the subscribed reply
    assert f"events/{day2}/symbol=PF_ETHUSD" in folders
    assert f"raw/{day2}/symbol=PF_ETHUSD" in folders
    table = read_events(tmp_path)
    rows = table.to_pylist()
    assert [r["kind"] for r in rows] == ["subscribed", "book_snapshot", "book", "trade"]
    delta_row = rows[2]
    assert delta_row["price"] == "34982.5" and delta_row["side"] == "buy"
    assert delta_row["seq"] == 11 and delta_row["ts_event_ms"] == 6
    assert delta_row["ts_recv_ns"] > DAY1 and delta_row["frame"] == 3
    assert rows[1]["seq"] == 10 and rows[1]["price"] is None
    assert list(replay(tmp_path, symbols=["PF_ETHUSD"]))[-1] == _book_stream()[3]


def test_a_crash_loses_only_what_was_not_flushed(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock, flush_interval_s=1.0, flush_rows=1000)
    events = _book_stream()
    _record(rec, clock, events[:4])
    clock.ns += 2_000_000_000
    rec.maybe_flush()  # the interval passed: written
    _record(rec, clock, events[4:])
    del rec  # "crash": no close, the buffered rows are gone
    assert list(replay(tmp_path)) == events[:4]
    assert not list(tmp_path.rglob("*.tmp"))
    for part in tmp_path.rglob("*.parquet"):
        pq.read_table(part)  # every file on disk is complete


def test_flushes_when_enough_rows_are_buffered(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock, flush_interval_s=3600, flush_rows=10)
    events = [
        BookDelta(
            symbol="PF_XBTUSD", side=Side.BUY, seq=i, price=Decimal(i), qty=Decimal(1), ts_ms=i
        )
        for i in range(1, 8)
    ]
    _record(rec, clock, events)  # 14 rows (frame + event each): one flush at 10
    assert rec.files_written == 2
    rec.close()
    assert list(replay(tmp_path)) == events


def test_replayed_books_equal_the_live_books(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock)
    live = BookKeeper()
    stream: list[object] = [
        BookSnapshot(
            symbol="PF_XBTUSD",
            ts_ms=0,
            seq=1,
            bids=[BookLevel(price=Decimal(99), qty=Decimal(1))],
            asks=[BookLevel(price=Decimal(101), qty=Decimal(1))],
        )
    ]
    for seq in range(2, 40):
        if seq == 20:
            stream.append(Reconnected(1, 10))
            stream.append(
                BookSnapshot(
                    symbol="PF_XBTUSD",
                    ts_ms=0,
                    seq=seq,
                    bids=[BookLevel(price=Decimal(95), qty=Decimal(3))],
                    asks=[BookLevel(price=Decimal(105), qty=Decimal(3))],
                )
            )
            continue
        side = Side.BUY if seq % 2 else Side.SELL
        price = Decimal(90 + seq % 7) if side is Side.BUY else Decimal(102 + seq % 5)
        skip = 1 if seq >= 30 else 0  # one gap: every seq from 30 on shifted
        stream.append(
            BookDelta(
                symbol="PF_XBTUSD",
                side=side,
                seq=seq + skip,
                price=price,
                qty=Decimal(seq % 3),
                ts_ms=seq,
            )
        )
    for event in stream:
        if isinstance(event, BookDelta | BookSnapshot):
            extra = live.apply(event)
        else:
            live.connection_lost()
            extra = None
        _record(rec, clock, [event] + ([extra] if extra is not None else []))
    rec.close()
    replayed = replay_books(tmp_path)
    assert replayed.book("PF_XBTUSD").levels() == live.book("PF_XBTUSD").levels()
    assert replayed.book("PF_XBTUSD").seq == live.book("PF_XBTUSD").seq
    assert replayed.gap_count == live.gap_count == 1


async def test_paced_replay_keeps_order_and_can_run_flat_out(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock)
    events = _book_stream()
    _record(rec, clock, events)  # 1 ms apart
    rec.close()
    fast = [e async for e in replay_paced(tmp_path, speed=0)]
    paced = [e async for e in replay_paced(tmp_path, speed=100.0)]
    assert fast == paced == events


def test_unknown_frames_are_kept_raw(tmp_path: Path) -> None:
    msg = classify(b"[1,2]")
    assert isinstance(msg, UnknownMessage)
    clock = Clock(DAY1)
    rec = Recorder(tmp_path, clock_ns=clock)
    rec.on_frame(b"[1,2]", DAY1)
    rec.record(UnknownMessageReceived(b"[1,2]"))
    rec.close()
    assert list(replay(tmp_path)) == [UnknownMessageReceived(b"[1,2]")]


def test_replay_of_a_directory_that_is_not_a_recording(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not a recording"):
        list(replay(tmp_path))


# ---------------------------------------------------------------------------------------------
# A live recording from the simulator over loopback
# ---------------------------------------------------------------------------------------------


async def test_a_live_recording_loses_nothing_and_replays_to_the_same_books(
    sim: Any, rest: Any, other: Any, kit: Any, tmp_path: Path
) -> None:
    rec = Recorder(tmp_path, flush_interval_s=0.05, flush_rows=7)  # many small flushes
    feed = kit.make_feed(sim, keyed=False, on_frame=rec.on_frame)
    for name in ("book", "trade", "ticker"):
        feed.subscribe(name, [kit.SYMBOL, "PF_ETHUSD"])
    delivered: list[Any] = []

    def churn() -> None:
        for i in range(12):
            kit.place(rest, "buy", 59000 + i)
            kit.place(rest, "sell", 61000 + i)
            if i == 4:
                sim.ctl(cmd="faults", set={"ws_gap_next": 1})
            if i == 8:
                deadline = time.monotonic() + 5
                while feed.gap_count < 1 and time.monotonic() < deadline:
                    time.sleep(0.002)  # let the gap reach the client before the drop
                sim.ctl(cmd="faults", set={"ws_drop_next": 1})
        kit.place(other, "sell", 59011, qty="0.02")  # trades
        kit.place(rest, "buy", 1000, symbol="PF_ETHUSD", qty="0.1")

    async with feed:
        delivered += await kit.collect_until(feed, lambda e: isinstance(e, Ticker))
        for event in delivered:
            rec.record(event)
        worker = asyncio.create_task(asyncio.to_thread(churn))
        targets: dict[str, int] | None = None

        def caught_up() -> bool:
            return (
                targets is not None
                and any(isinstance(e, Trade) or getattr(e, "trades", None) for e in delivered)
                and all(
                    feed.book(s).is_synced and feed.book(s).seq == seq for s, seq in targets.items()
                )
            )

        async with asyncio.timeout(60):  # an upper bound for slow CI, not a speed check
            async for event in feed:
                delivered.append(event)
                rec.record(event)
                rec.maybe_flush()
                if worker.done() and targets is None:
                    await worker
                    targets = sim._server.call(
                        lambda: {s: sim.exchange.book_seq(s) for s in (kit.SYMBOL, "PF_ETHUSD")}
                    )
                if caught_up():
                    break
    rec.close()
    kinds = {type(e) for e in delivered}
    assert {BookSnapshot, BookDelta, Reconnected, BookGapDetected, BookResynced} <= kinds
    assert list(replay(tmp_path)) == delivered  # every event, in order, exactly
    assert rec.frames_recorded == feed.frames == len(list(read_raw(tmp_path)))
    assert rec.files_written > 4
    books = replay_books(tmp_path)
    for symbol in (kit.SYMBOL, "PF_ETHUSD"):
        assert books.book(symbol).levels() == feed.book(symbol).levels()
        assert books.book(symbol).seq == feed.book(symbol).seq
    assert books.book(kit.SYMBOL).levels() == kit.sim_levels(sim)
    assert books.gap_count == feed.gap_count == 1
