"""WebSocket fault knobs over real loopback: each produces exactly the disturbance asked.

Knobs are set the way operators set them (``kf sim ctl faults`` / the control command); book
deltas come from resting REST orders at distinct prices, one level change (one ``seq``) each.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websockets
from click.testing import CliRunner

from krakenfutures.cli.main import main
from krakenfutures.testing import SimHandle, loopback_client, running_simulator

XBT = "PF_XBTUSD"
BARRIER = {"event": "error", "message": "Invalid feed"}


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator() as handle:
        yield handle


async def connect(sim: SimHandle) -> Any:
    url = sim.base_url.replace("http://", "ws://") + "/ws/v1"
    ws = await websockets.connect(url, ping_interval=None)
    assert json.loads(await ws.recv()) == {"event": "info", "version": 1}
    return ws


async def recv(ws: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return result


async def barrier(ws: Any) -> list[dict[str, Any]]:
    """What arrives before the reply to an invalid request (the line is ordered)."""
    await ws.send(json.dumps({"event": "subscribe", "feed": "barrier"}))
    out = []
    while (msg := await recv(ws)) != BARRIER:
        out.append(msg)
    return out


async def book_seq_after(sim: SimHandle, orders: int, **faults: int) -> tuple[int, list[int]]:
    """Subscribe to the book, set ``faults``, rest ``orders`` bids; (snapshot seq, seqs seen)."""
    ws = await connect(sim)
    await ws.send(json.dumps({"event": "subscribe", "feed": "book", "product_ids": [XBT]}))
    _, snapshot = await barrier(ws)
    sim.ctl(cmd="faults", set=faults)
    client = loopback_client(sim)
    for i in range(orders):
        client.send_order(
            order_type="lmt", symbol=XBT, side="buy", qty=Decimal("0.01"), limit_price=59000 + i
        )
    seqs = [m["seq"] for m in await barrier(ws)]
    await ws.close()
    return snapshot["seq"], seqs


async def test_gap_withholds_exactly_one_delta(sim: SimHandle) -> None:
    s, seqs = await book_seq_after(sim, 3, ws_gap_next=1)
    assert seqs == [s + 2, s + 3]


async def test_duplicate_sends_one_delta_twice(sim: SimHandle) -> None:
    s, seqs = await book_seq_after(sim, 3, ws_duplicate_next=1)
    assert seqs == [s + 1, s + 1, s + 2, s + 3]


async def test_reorder_swaps_one_delta_with_its_successor(sim: SimHandle) -> None:
    s, seqs = await book_seq_after(sim, 3, ws_reorder_next=1)
    assert seqs == [s + 2, s + 1, s + 3]


async def test_drop_aborts_the_oldest_connection_only(sim: SimHandle) -> None:
    first, second = await connect(sim), await connect(sim)
    status = sim.ctl(cmd="faults", set={"ws_drop_next": 1})
    assert status["faults"]["ws_drop_next"] == 0  # applied at once
    with pytest.raises(websockets.ConnectionClosedError):
        await recv(first)
    assert first.close_code == 1006  # no close frame: the TCP connection just died
    assert await barrier(second) == []
    assert len(sim.simulator.ws_hub.connections) == 1
    await second.close()


async def test_a_new_connection_after_a_drop_gets_a_fresh_snapshot_and_deltas(
    sim: SimHandle,
) -> None:
    first = await connect(sim)
    await first.send(json.dumps({"event": "subscribe", "feed": "book", "product_ids": [XBT]}))
    await barrier(first)
    sim.ctl(cmd="faults", set={"ws_drop_next": 1})
    client = loopback_client(sim)
    client.send_order(order_type="lmt", symbol=XBT, side="buy", qty="0.01", limit_price=59000)
    again = await connect(sim)
    await again.send(json.dumps({"event": "subscribe", "feed": "book", "product_ids": [XBT]}))
    _, snapshot = await barrier(again)
    assert snapshot["seq"] == sim.exchange.book_seq(XBT) and snapshot["bids"]
    client.send_order(order_type="lmt", symbol=XBT, side="buy", qty="0.01", limit_price=59001)
    assert [m["seq"] for m in await barrier(again)] == [snapshot["seq"] + 1]
    await again.close()


async def test_slow_delays_every_frame(sim: SimHandle) -> None:
    ws = await connect(sim)
    sim.ctl(cmd="faults", set={"ws_slow_ms": 100})
    started = time.monotonic()
    replies = [await barrier(ws) for _ in range(3)]
    # A lower bound on an injected delay, not a speed claim: 3 frames x 100 ms at least.
    assert replies == [[], [], []] and time.monotonic() - started >= 0.29
    await ws.close()


def test_kf_sim_ctl_faults_accepts_the_ws_knobs(sim: SimHandle) -> None:
    args = ["sim", "ctl", "--url", sim.base_url, "faults", "ws_gap_next=2", "ws_slow_ms=5"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    faults = json.loads(result.stdout)["faults"]
    assert (faults["ws_gap_next"], faults["ws_slow_ms"]) == (2, 5)
