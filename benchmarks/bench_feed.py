"""WebSocket feed over loopback: simulator -> client book, deltas per second and latency.

The simulator runs in its own process (aiohttp, one event loop, as `kf sim` does) and makes
book churn inside that process once the client is subscribed; the client (`AsyncFeed` with its
gap-checked `OrderBook`) runs in this process. Latency is measured per delta from the moment
the server produced it (right after the engine call returned) to the moment the client has
applied it to its book and yielded it: both sides read ``time.monotonic_ns()``, one clock for
the whole machine. Two kinds of churn:

* ``engine``: real post-only orders placed and cancelled on the matching engine (one book delta
  each), paced to a rate or as fast as the engine goes (``rate 0``). The engine costs ~50 us an
  order here, so this also measures the simulator.
* ``hub``: level changes published to the simulator's WebSocket hub as the engine publishes
  them (``BookChanged`` to the exchange's listeners), skipping order matching: the wire path
  (encode, fan-out, aiohttp, loopback, websockets, decode, sequence check, book) at a set rate.

Target (issue 4): sustained 20,000 deltas per second with p99 latency under 5 ms.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_RATE = 20_000
TARGET_P99_MS = 5.0
SECONDS = 4.0

_SERVER = r"""
import asyncio, json, sys, time
from decimal import Decimal
from krakenfutures.core.types import Side
from krakenfutures.sim import domain as d
from krakenfutures.sim.app import Simulator
from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.server import SimServer
from krakenfutures.testing import sim_config

port, mode, rate, seconds, out = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
clock = SimClock(1.0)
sim = Simulator(sim_config(rate_limits=False), now_ms=clock.now_ms())
server = SimServer.for_simulator(sim, clock, port=port, ticking=False)
ex = sim.exchange
QTY = Decimal("0.0001")
BATCH = 4 if mode == "engine" else 50  # ops between yields to the writer (engine ops are slow)
SYMBOL = {"engine": "PF_XBTUSD", "hub": "PF_SOLUSD"}[mode]
stamps = []

def engine_ops():
    # 200 bid and 200 ask levels far from the 60,000 mark: place where empty, cancel where not
    prices = [Decimal(50000 - i) for i in range(200)] + [Decimal(70000 + i) for i in range(200)]
    resting = {}
    i = 0
    now = clock.now_ms
    def op():
        nonlocal i
        price = prices[i % 400]
        i += 1
        oid = resting.pop(price, None)
        if oid is None:
            side = "buy" if price < 60000 else "sell"
            r = ex.send_order("main", symbol=SYMBOL, side=side, order_type="post", qty=QTY,
                              limit_price=price, now_ms=now())
            resting[price] = r.order_id
        else:
            ex.cancel_order("main", order_id=oid, now_ms=now())
        return ex.book_seq(SYMBOL)
    return op

def hub_ops():
    listeners = ex.listeners
    seq = ex.book_seq(SYMBOL)
    n = 0
    now = clock.now_ms
    qtys = [Decimal(q) / 10 for q in range(1, 50)]
    def op():
        nonlocal seq, n
        seq += 1
        n += 1
        level = n % 400
        side = Side.BUY if level < 200 else Side.SELL
        price = Decimal(100 - level % 200) if side is Side.BUY else Decimal(101 + level % 200)
        qty = qtys[n % 49] if (n // 400) % 2 == 0 else Decimal(0)
        event = d.BookChanged(SYMBOL, side, price, qty, seq, now())
        for listener in listeners:
            listener(event)
        return seq
    return op

async def churn():
    op = engine_ops() if mode == "engine" else hub_ops()
    loop = asyncio.get_running_loop()
    start = loop.time()
    count = 0
    mono = time.monotonic_ns
    while True:
        elapsed = loop.time() - start
        if elapsed >= seconds:
            break
        due = count + BATCH if rate == 0 else int(elapsed * rate) + 1
        n = min(due - count, BATCH)
        for _ in range(n):
            seq = op()
            stamps.append((seq, mono()))
        count += n
        await asyncio.sleep(0 if n else 0.0002)

async def main():
    await server.start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await churn()
    with open(out, "w") as f:
        json.dump(stamps, f)
    print("done", stamps[-1][0] if stamps else 0, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(mode: str, rate: int, seconds: float) -> dict[str, Any]:
    from krakenfutures.client.feed import AsyncFeed
    from krakenfutures.core.ws.schema_public import BookDelta

    port = _free_port()
    out = Path(tempfile.mkdtemp()) / "stamps.json"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVER,
        str(port),
        mode,
        str(rate),
        str(seconds),
        str(out),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line.startswith(b"ready"), line
        symbol = "PF_XBTUSD" if mode == "engine" else "PF_SOLUSD"
        feed = AsyncFeed(f"http://127.0.0.1:{port}", env={"HOME": tempfile.mkdtemp()})
        feed.subscribe("book", [symbol])
        book = feed.book(symbol)
        recv: dict[int, int] = {}
        mono = time.monotonic_ns
        async with feed:
            async with asyncio.timeout(10):
                async for _ in feed:
                    if book.is_synced:
                        break
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
            stdout = proc.stdout

            async def finish() -> None:
                # The server says the last seq it made; stop once the book has applied it.
                final = int((await stdout.readline()).split()[1])
                while book.seq is None or book.seq < final:
                    await asyncio.sleep(0.005)
                await feed.aclose()

            watcher = asyncio.ensure_future(finish())
            async with asyncio.timeout(seconds + 60):
                async for event in feed:
                    if type(event) is BookDelta:
                        recv[event.seq] = mono()
            await watcher
            gaps = feed.gap_count
        sent = json.loads(out.read_text())
    finally:
        proc.kill()
        await proc.wait()
    latencies = sorted((recv[seq] - t) / 1e6 for seq, t in sent if seq in recv)
    lost = sum(1 for seq, _ in sent if seq not in recv)
    first_sent, last_recv = sent[0][1], max(recv.values())
    rate_achieved = len(sent) / ((last_recv - first_sent) / 1e9)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {
        "deltas": len(sent),
        "rate": rate_achieved,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1],
        "lost": lost,
        "gaps": gaps,
    }


def _row(name: str, r: dict[str, Any], *, target_rate: int) -> dict[str, Any]:
    ok = r["rate"] >= target_rate * 0.98 and r["p99_ms"] < TARGET_P99_MS and not r["lost"]
    return {
        "name": name,
        "result": (
            f"{r['rate']:,.0f} deltas/s over {r['deltas']:,}; latency p50 {r['p50_ms']:.2f} ms, "
            f"p99 {r['p99_ms']:.2f} ms, max {r['max_ms']:.1f} ms; lost {r['lost']}, "
            f"gaps {r['gaps']}"
        ),
        "target": f">= {target_rate:,}/s, p99 < {TARGET_P99_MS:g} ms",
        "ok": ok,
    }


def bench() -> list[dict[str, Any]]:
    """Rows: the wire path at the 20k/s target, and the engine's own churn, paced and flat out."""
    rows = []
    hub = asyncio.run(_run("hub", TARGET_RATE, SECONDS))
    rows.append(
        _row("feed: sim -> client book, 20k deltas/s (hub churn)", hub, target_rate=TARGET_RATE)
    )
    flat = asyncio.run(_run("engine", 0, SECONDS))
    row = _row("feed: sim -> client book, engine orders flat out", flat, target_rate=TARGET_RATE)
    rows.append(row)
    paced_rate = int(min(TARGET_RATE, flat["rate"] * 0.8) // 1000 * 1000) or 1000
    paced = asyncio.run(_run("engine", paced_rate, SECONDS))
    rows.append(
        {
            **_row(f"feed: engine orders paced at {paced_rate:,}/s", paced, target_rate=paced_rate),
            "target": f"p99 < {TARGET_P99_MS:g} ms (rate capped by the engine)",
        }
    )
    return rows


if __name__ == "__main__":
    for r in bench():
        print(f"{r['name']}: {r['result']}  [{r['target']}] {'ok' if r['ok'] else 'MISS'}")
