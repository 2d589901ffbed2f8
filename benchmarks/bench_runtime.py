"""Decision-to-wire latency: a strategy's ``ctx.submit`` to the request bytes leaving the client.

Everything a real order goes through is in the measured path: the instrument check, the halt and
breaker checks, every risk rule (with the trading-state gate), the order tracker, the SQLite
journal write (process durability: committed before the send), the asyncio hand-off to the
sender task, the live venue's intent-to-wire mapping and the client's encoding and signing. The
clock stops when the transport is handed the signed bytes: here the in-memory transport, which
is where a socket write would start.

The exchange is out of the measured process: after start-up (which runs against the real
simulator), the transport answers ``sendorder``/``cancelorder`` with Kraken-shaped canned
replies, so the figure is the bot's own path and not the simulator's matching work sharing the
thread (a live bot's exchange runs elsewhere). The reply is still parsed, tracked and journaled.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

TARGET_US = 100.0
_TIME = b'"2026-01-01T00:00:00.000Z"'
_PLACED = (
    b'{"result":"success","sendStatus":{"order_id":"o-CLI","cli_ord_id":"CLI","status":"placed",'
    b'"receivedTime":' + _TIME + b',"orderEvents":[]},"serverTime":' + _TIME + b"}"
)
_CANCELLED = (
    b'{"result":"success","cancelStatus":{"status":"cancelled","order_id":"x",'
    b'"receivedTime":' + _TIME + b',"orderEvents":[]},"serverTime":' + _TIME + b"}"
)


async def _measure(orders: int) -> list[float]:
    from krakenfutures.sim.state import ExchangeConfig
    from krakenfutures.testing import make_simulator, sim_config
    from krakenfutures.testing.node import SYMBOL, make_rig
    from krakenfutures.transport.base import Response

    handle = make_simulator(
        sim_config(rate_limits=False, exchange=ExchangeConfig(max_open_orders=orders + 10))
    )
    stamps: dict[str, int] = {}
    original = handle.handle

    canned = {"on": False}

    def stamped(method: str, target: str, headers: Any, body: bytes) -> Any:
        if target.endswith("/sendorder"):
            now = time.perf_counter_ns()
            text = body.decode()
            cli = text.split("cliOrdId=", 1)[1].split("&", 1)[0]
            stamps[cli] = now
            if canned["on"]:
                return Response(200, _PLACED.replace(b"CLI", cli.encode()))
        if target.endswith("/cancelorder") and canned["on"]:
            return Response(200, _CANCELLED)
        return original(method, target, headers, body)

    handle.handle = stamped  # type: ignore[method-assign]
    journal = Path(tempfile.mkdtemp(prefix="kf-bench-")) / "j.sqlite"
    rig = make_rig(handle=handle, journal_path=journal, record=False)
    await rig.start()
    canned["on"] = True
    ctx = rig.node.contexts["Idle"]
    mark = rig.node.mark(SYMBOL)
    assert mark is not None
    base = (mark * Decimal("0.97")).to_integral_value()
    latencies: list[float] = []
    for i in range(orders):
        t0 = time.perf_counter_ns()
        cli = ctx.submit(
            symbol=SYMBOL,
            side="buy",
            qty=Decimal("0.001"),
            limit_price=base + i % 500,
            post_only=True,
        )
        assert isinstance(cli, str), cli
        while cli not in stamps:
            await asyncio.sleep(0)
        latencies.append((stamps[cli] - t0) / 1000)
        live = ctx.open_orders(SYMBOL)
        if len(live) > 40:  # a quoting bot keeps tens of orders, not thousands
            ctx.cancel(live[0].cli_ord_id)
        # Let every reply be processed before the next decision: the figure is one intent's
        # path, not a queue behind the simulator's work on earlier ones (same thread here).
        await rig.node.manager.drain()
    canned["on"] = False
    await rig.node.shutdown()
    rig.journal.close()
    return latencies[50:]  # warm-up excluded


def bench(orders: int = 1_500, runs: int = 3) -> list[dict[str, object]]:
    """One row: decision-to-wire latency in microseconds, as the best of ``runs`` runs'
    medians (timeit's rule: noise on a shared VM only ever adds; every run's median is
    printed so a noisy machine shows), and the p99 of that run."""
    medians: list[float] = []
    best: list[float] = []
    for _ in range(runs):
        latencies = sorted(asyncio.run(_measure(orders)))
        medians.append(statistics.median(latencies))
        if medians[-1] == min(medians):
            best = latencies
    median = min(medians)
    p99 = best[int(len(best) * 0.99)]
    every = ", ".join(f"{m:.0f}" for m in medians)
    return [
        {
            "name": "runtime: decision-to-wire (submit -> signed bytes)",
            "result": (
                f"median {median:.0f} µs, p99 {p99:.0f} µs (best of {runs} runs of "
                f"{len(best)} orders; run medians {every} µs)"
            ),
            "target": f"median < {TARGET_US:.0f} µs",
            "ok": median < TARGET_US,
        }
    ]


if __name__ == "__main__":
    for row in bench():
        print(row)
