"""Unified WebSocket (uws) costs: order round trip vs legacy REST, and checksummed book updates.

**Order round trip** (issue 6). The simulator runs in its own process (aiohttp, one event loop,
as ``kf sim`` does) on a loopback port; this process is the client. Each sample is one order,
timed from building its params to having the acknowledgement in hand:

* uws: ``AddOrderParams`` (post-only limit, a fresh UUID ``cl_ord_id``) sent with
  ``AsyncUwsConnection.request("add_order", ...)`` on the private socket (token from Spot REST
  ``GetWebSocketsToken`` via ``AsyncSpotRest`` + ``TokenPolicy``, key ``SPOT_KEY``), until its
  ``add_order`` response is matched. No channel is subscribed, so the socket carries requests
  and replies only, as REST does.
* legacy REST: ``AsyncClient.send_order`` (same order, Futures key, ``rate_limit=False``,
  ``nonce="none"``) until its ``sendStatus`` is parsed.

Orders rest far below the market and each is cancelled (same dialect, not timed) right after
its ack, so the account never nears the simulator's 500 open orders and every order meets the
same book. The two dialects run interleaved in blocks against one server, so drift in machine
load hits both. Both paths include the simulator's own work (order checks, the matching
engine: one engine for both dialects); the rest is the wire, the server shell and the client.

The uws row is ``ok`` when its median is at most the legacy median: uws was adopted partly
because order entry on an open socket skips per-request HTTP framing and signing, so a uws
path slower than REST on the same loopback and engine would point at a client or server
regression worth a look. It is a comparison, not a latency promise (no figure in the issue).

**Book updates**. Frames are produced by the simulator's own uws book code
(:class:`krakenfutures.sim.uws_books.UwsBooks` over a real :class:`~krakenfutures.sim.engine.Exchange`,
encoded with :mod:`krakenfutures.sim.uws_wire` exactly as the hub sends them) while post-only
orders are placed and cancelled around the top of a ``PF_ETHUSD`` book (tick 0.1, lot 0.001),
so most updates touch the top 10 levels and some bring levels into or push them out of range.
Timed, in process: ``classify(raw)`` (decode into ``BookMessage``, Decimal prices and
quantities as sent) then ``UwsBook.apply`` (set levels, truncate to depth, CRC32 of the top 10
levels compared with the frame's checksum); every frame must verify. A comparison row times
the checksum alone (``checksum_of`` on a book at the same state). Best of several runs, no
target in the issue: ``ok`` None.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROUND_TRIPS = 500  # per dialect
BLOCK = 50  # orders per dialect before switching to the other
SYMBOL_RT = "PF_XBTUSD"
PRICE_RT = Decimal(50000)  # 1/6 below the 60,000 reference: rests, inside no collar
QTY_RT = Decimal("0.0001")

BOOK_SYMBOL = "PF_ETHUSD"
BOOK_DEPTH = 10
BOOK_MESSAGES = 12_000
BOOK_REPEAT = 7

_SERVER = r"""
import asyncio, sys
from krakenfutures.sim.app import Simulator
from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.server import SimServer
from krakenfutures.testing import sim_config

port = int(sys.argv[1])
clock = SimClock(1.0)
sim = Simulator(sim_config(spot=True, rate_limits=False), now_ms=clock.now_ms())
server = SimServer.for_simulator(sim, clock, port=port, ticking=False)

async def main():
    await server.start()
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(samples: list[int], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] / 1000


async def _round_trips(n: int) -> tuple[list[int], list[int]]:
    """Nanoseconds per order round trip: (uws samples, legacy REST samples)."""
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.client.spot_rest import AsyncSpotRest
    from krakenfutures.client.uws import AsyncUwsConnection
    from krakenfutures.client.uws_token import TokenPolicy
    from krakenfutures.core.types import Side
    from krakenfutures.core.uws.schema import ASSET_CLASS
    from krakenfutures.core.uws.schema_orders import AddOrderParams, CancelOrderParams
    from krakenfutures.testing import SPOT_KEY, SPOT_SECRET, TEST_KEY, TEST_SECRET

    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SERVER, str(port), stdout=asyncio.subprocess.PIPE, env=env
    )
    assert proc.stdout is not None
    state = tempfile.mkdtemp(prefix="kf-bench-uws-")
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"ready"), line
        spot = AsyncSpotRest(SPOT_KEY, SPOT_SECRET, base_url=origin, nonce="memory")
        conn = AsyncUwsConnection(origin, token_provider=TokenPolicy(spot))
        rest = AsyncClient(
            TEST_KEY,
            TEST_SECRET,
            base_url=origin,
            rate_limit=False,
            nonce="none",
            env={"KRAKEN_FUTURES_STATE_DIR": state, "HOME": state},
        )
        await conn.connect()
        clock = time.perf_counter_ns
        ours: list[int] = []
        legacy: list[int] = []

        async def uws_once() -> int:
            t0 = clock()
            params = AddOrderParams(
                asset_class=ASSET_CLASS,
                symbol=SYMBOL_RT,
                order_type="limit",
                side=Side.BUY,
                order_qty=QTY_RT,
                limit_price=PRICE_RT,
                post_only=True,
                cl_ord_id=str(uuid.uuid4()),
            )
            reply = await conn.request("add_order", params)
            elapsed = clock() - t0
            if not reply.ok:
                raise RuntimeError(f"add_order refused: {reply.errors}")
            cancel = CancelOrderParams(asset_class=ASSET_CLASS, order_id=[reply.result.order_id])
            done = await conn.request("cancel_order", cancel)
            if not done.ok:
                raise RuntimeError(f"cancel_order refused: {done.errors}")
            return elapsed

        async def rest_once() -> int:
            t0 = clock()
            status = await rest.send_order(
                order_type="post",
                symbol=SYMBOL_RT,
                side="buy",
                qty=QTY_RT,
                limit_price=PRICE_RT,
                cli_ord_id=str(uuid.uuid4()),
            )
            elapsed = clock() - t0
            if status.status != "placed":
                raise RuntimeError(f"sendorder not placed: {status.status}")
            await rest.cancel_order(order_id=status.order_id)
            return elapsed

        try:
            for _ in range(20):  # warm both connections and code paths
                await uws_once()
                await rest_once()
            while len(ours) < n:
                ours += [await uws_once() for _ in range(BLOCK)]
                legacy += [await rest_once() for _ in range(BLOCK)]
        finally:
            await conn.aclose()
            await spot.aclose()
            await rest.aclose()
        return ours, legacy
    finally:
        proc.kill()
        await proc.wait()


def bench_round_trip(n: int = ROUND_TRIPS) -> list[dict[str, Any]]:
    """uws ``add_order`` vs legacy ``sendorder``: median and p99 per order, one row each."""
    ours, legacy = asyncio.run(_round_trips(n))
    ours_med, legacy_med = statistics.median(ours) / 1000, statistics.median(legacy) / 1000
    ratio = ours_med / legacy_med
    return [
        {
            "name": "uws: order round trip (add_order -> ack) on the simulator",
            "result": (
                f"median {ours_med:,.0f} µs, p99 {_pct(ours, 0.99):,.0f} µs over {len(ours)}; "
                f"{ratio:.2f}x legacy REST"
            ),
            "target": "median <= legacy REST median",
            "ok": ratio <= 1.0,
        },
        {
            "name": "legacy REST: sendorder round trip on the simulator",
            "result": (
                f"median {legacy_med:,.0f} µs, p99 {_pct(legacy, 0.99):,.0f} µs over {len(legacy)}"
            ),
            "target": "comparison",
            "ok": None,
        },
    ]


# ------------------------------------------------------------------------------ book updates


def _book_frames(n: int, seed: int) -> tuple[bytes, list[bytes]]:
    """A ``book`` snapshot frame and ``n`` update frames as the simulator's hub encodes them."""
    from krakenfutures.sim import uws_wire as w
    from krakenfutures.sim.app import Simulator
    from krakenfutures.sim.uws_books import UwsBooks
    from krakenfutures.testing import START_MS, sim_config

    rng = random.Random(seed)
    ex = Simulator(sim_config(rate_limits=False), now_ms=START_MS).exchange
    books = UwsBooks(ex, lambda s: s)
    tick = Decimal("0.1")
    mid = Decimal(3000)
    resting: dict[tuple[str, Decimal], list[str]] = {}
    open_count = 0
    now = START_MS

    def place(side: str, price: Decimal) -> None:
        nonlocal open_count
        qty = Decimal(rng.randint(1, 20_000)) / 1000
        r = ex.send_order(
            "main",
            symbol=BOOK_SYMBOL,
            side=side,
            order_type="post",
            qty=qty,
            limit_price=price,
            now_ms=now,
        )
        if r.order_id and r.status == "placed":
            resting.setdefault((side, price), []).append(r.order_id)
            open_count += 1

    def cancel(key: tuple[str, Decimal]) -> None:
        nonlocal open_count
        ids = resting[key]
        ex.cancel_order("main", order_id=ids.pop(rng.randrange(len(ids))), now_ms=now)
        open_count -= 1
        if not ids:
            del resting[key]

    # A starting book: 30 levels a side, the best 0.1 apart around the mid.
    for i in range(30):
        place("buy", mid - tick * (1 + i))
        place("sell", mid + tick * (1 + i))
    snapshot = w.encode(w.channel("book", "snapshot", [books.snapshot(BOOK_SYMBOL, BOOK_DEPTH)]))
    frames: list[bytes] = []
    while len(frames) < n:
        now += 1
        side = "buy" if rng.random() < 0.5 else "sell"
        offset = 1 + min(40, int(rng.expovariate(1 / 6)))  # the top moves most
        price = mid - tick * offset if side == "buy" else mid + tick * offset
        key = (side, price)
        if key in resting and (open_count > 400 or rng.random() < 0.5):
            cancel(key)
        elif open_count < 450:
            place(side, price)
        entry = books.update(BOOK_SYMBOL, BOOK_DEPTH, now)
        if entry is not None:
            frames.append(w.encode(w.channel("book", "update", [entry])))
    return snapshot, frames


def _fresh_book(snapshot: bytes) -> Any:
    from krakenfutures.core.uws.book import UwsBook
    from krakenfutures.core.uws.classify import classify

    book = UwsBook(BOOK_SYMBOL, BOOK_DEPTH)
    msg = classify(snapshot)
    assert book.apply(msg.data[0], snapshot=True) is None  # type: ignore[union-attr]
    return book


def _classify_apply(snapshot: bytes, frames: list[bytes]) -> float:
    from krakenfutures.core.uws.classify import classify

    book = _fresh_book(snapshot)
    apply = book.apply
    start = time.perf_counter()
    for raw in frames:
        for data in classify(raw).data:  # type: ignore[union-attr]
            if apply(data, snapshot=False) is not None:
                raise RuntimeError("checksum mismatch on a simulator frame")
    return time.perf_counter() - start


def _checksum_only(snapshot: bytes, frames: list[bytes]) -> float:
    """``checksum_of`` (from scratch) once per frame, on the book as it stands after it."""
    from krakenfutures.core.uws.checksum import checksum_of
    from krakenfutures.core.uws.classify import classify

    books = []
    book = _fresh_book(snapshot)
    # Copies of the book at a spread of states would cost memory; the checksum's cost hardly
    # depends on which levels are in the top 10, so hash the states of a 200-frame prefix.
    for raw in frames[:200]:
        for data in classify(raw).data:  # type: ignore[union-attr]
            book.apply(data, snapshot=False)
        clone = _fresh_book(snapshot)
        bids, asks = book.book.depth(BOOK_DEPTH)
        clone.book.apply_snapshot(bids, asks, 1)
        books.append(clone.book)
    reps = -(-len(frames) // len(books))
    start = time.perf_counter()
    for _ in range(reps):
        for b in books:
            checksum_of(b)
    return (time.perf_counter() - start) * len(frames) / (reps * len(books))


def _cached_checksum(snapshot: bytes, frames: list[bytes]) -> float:
    """``UwsBook.checksum`` (the level texts kept as levels are set) after every frame."""
    from krakenfutures.core.uws.classify import classify

    book = _fresh_book(snapshot)
    spent = 0
    clock = time.perf_counter_ns
    for raw in frames:
        for data in classify(raw).data:  # type: ignore[union-attr]
            book.apply(data, snapshot=False)
        start = clock()
        book.checksum()
        spent += clock() - start
    return spent / 1e9


def bench_book(repeat: int = BOOK_REPEAT) -> list[dict[str, Any]]:
    """Best-of-``repeat`` messages per second: classify + apply (verified), checksum alone."""
    snapshot, frames = _book_frames(BOOK_MESSAGES, seed=6)
    levels = sum(raw.count(b'"price"') for raw in frames)  # level changes the frames carry
    best = {"apply": float("inf"), "checksum": float("inf"), "cached": float("inf")}
    for _ in range(repeat):
        best["apply"] = min(best["apply"], _classify_apply(snapshot, frames))
        best["checksum"] = min(best["checksum"], _checksum_only(snapshot, frames))
        best["cached"] = min(best["cached"], _cached_checksum(snapshot, frames))
    rate = {k: int(len(frames) / v) for k, v in best.items()}
    per = best["apply"] / len(frames) * 1e6
    return [
        {
            "name": "uws book: decode + checksum + apply (classify, UwsBook.apply, depth 10)",
            "result": (
                f"{rate['apply']:,} msgs/s ({per:.1f} µs/msg; {len(frames):,} sim frames, "
                f"{levels / len(frames):.2f} levels/msg)"
            ),
            "target": "comparison",
            "ok": None,
        },
        {
            "name": "uws book: CRC32 of the top 10 levels from scratch (checksum_of)",
            "result": f"{rate['checksum']:,} /s ({1e6 / rate['checksum']:.1f} µs each)",
            "target": "comparison",
            "ok": None,
        },
        {
            "name": "uws book: CRC32 as verified per message (UwsBook.checksum, cached texts)",
            "result": f"{rate['cached']:,} /s ({1e6 / rate['cached']:.1f} µs each)",
            "target": "comparison",
            "ok": None,
        },
    ]


def bench() -> list[dict[str, Any]]:
    """All uws rows: the order round trip, then the book path."""
    return [*bench_round_trip(), *bench_book()]


if __name__ == "__main__":
    for row in bench():
        print(f"{row['name']}: {row['result']}  [{row['target']}] {row['ok']}")
