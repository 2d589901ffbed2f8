"""Simulator throughput: authenticated sendorder requests per second over loopback HTTP.

The simulator runs in its own process (aiohttp, one event loop, as `kf sim` does) with Kraken's
rate limits switched off (they would cap one key at 50 orders per 10 s); three load processes
each send signed sendorders with our `Client` over keep-alive connections, one key each.
Orders are post-only limit orders away from the market, with a cancel-all every 100 orders
so the book stays realistic. Target: >= 1,000 requests per second on this 2-core machine.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
import subprocess
import sys
import tempfile
import time

N_PER_WORKER = 1000
WORKERS = 3

_SERVER = r"""
import asyncio, dataclasses, sys
from krakenfutures.sim.app import Simulator
from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.config import KeyConfig
from krakenfutures.sim.server import SimServer
from krakenfutures.testing import TEST_SECRET, sim_config

port = int(sys.argv[1])
keys = tuple(KeyConfig(api_key=f"bench-{i}", api_secret=TEST_SECRET, account=f"acct{i}") for i in range(4))
cfg = sim_config(rate_limits=False, keys=keys)
clock = SimClock(1.0)
sim = Simulator(cfg, now_ms=clock.now_ms())
server = SimServer.for_simulator(sim, clock, port=port)
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


def _worker(base_url: str, index: int, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from decimal import Decimal

    from krakenfutures import Client
    from krakenfutures.testing import TEST_SECRET

    state = tempfile.mkdtemp()
    client = Client(
        f"bench-{index}",
        TEST_SECRET,
        base_url=base_url,
        rate_limit=False,
        env={"KRAKEN_FUTURES_STATE_DIR": state},
    )
    client.get_accounts()  # warm the connection
    t0 = time.perf_counter()
    refused = 0
    for i in range(n):
        side = "buy" if i % 2 else "sell"
        price = Decimal(40000 - i % 50) if side == "buy" else Decimal(90000 + i % 50)
        st = client.send_order(
            order_type="post",
            symbol="PF_XBTUSD",
            side=side,
            qty=Decimal("0.001"),
            limit_price=price,
        )
        refused += st.status != "placed"
        if i % 100 == 99:
            client.cancel_all_orders()
    out.put((n, time.perf_counter() - t0, refused))
    client.close()


def bench() -> dict[str, object]:
    """Run the load and report requests per second."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("simulator did not start")
        base_url = f"http://127.0.0.1:{port}"
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        procs = [
            ctx.Process(target=_worker, args=(base_url, i, N_PER_WORKER, out))
            for i in range(WORKERS)
        ]
        t0 = time.perf_counter()
        for p in procs:
            p.start()
        results = [out.get(timeout=300) for _ in procs]
        wall = time.perf_counter() - t0
        for p in procs:
            p.join()
        total = sum(r[0] for r in results)
        busiest = max(r[1] for r in results)
        refused = sum(r[2] for r in results)
        # Throughput over the span the workers were sending (start-up of spawn excluded).
        rate = total / busiest
        return {
            "name": "sim: authenticated sendorder over loopback",
            "result": f"{rate:,.0f} req/s ({total} orders, {refused} refused, wall {wall:.1f} s)",
            "target": ">= 1,000 req/s",
            "ok": rate >= 1000 and refused == 0,
        }
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    print(bench())
