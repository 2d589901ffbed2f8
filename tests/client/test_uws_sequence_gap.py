"""Sequence-gap recovery of AsyncUwsConnection over real loopback, against a small scripted uws
server: a gap on ``executions``/``balances`` resubscribes that channel, the fresh snapshot is the
new sequence baseline and :class:`UwsChannelResynced` follows it; a ``ledgers`` gap (no snapshot)
and a channel subscribed without a snapshot are only reported; a connection-wide counter
resubscribes every snapshot channel; a lost connection abandons the resync (the reconnect
renews everything)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from krakenfutures.client.events import Reconnected
from krakenfutures.client.uws import AsyncUwsConnection, UwsChannelResynced
from krakenfutures.core.uws.assumptions import SequenceScope, UwsAssumptions
from krakenfutures.core.uws.events import SequenceGap, Subscribed, Unsubscribed
from krakenfutures.core.uws.schema_channels import (
    BalancesMessage,
    ExecutionsMessage,
    LedgersMessage,
)

from .uws_fake import FAST, LoopbackUws, serving, until

BASE = {"time_in": "2024-01-01T00:00:00Z", "time_out": "2024-01-01T00:00:00Z"}


class ScriptedUws(LoopbackUws):
    """Acks every (un)subscribe, answers ping, and sends a snapshot (``sequence`` 1) on each
    subscribe of a snapshot channel: executions lists :attr:`open_orders`. ``url`` is where it
    is served."""

    def __init__(self) -> None:
        super().__init__()
        self.open_orders: list[str] = ["o-1"]
        self.answer_unsubscribe = True
        self.url = ""

    async def answer(self, ws: ServerConnection, req: dict[str, Any]) -> None:
        method, params, rid = req["method"], req.get("params") or {}, req.get("req_id")
        if method == "ping":
            await ws.send(json.dumps({"method": "pong", "req_id": rid, **BASE}))
            return
        channel = params.get("channel")
        if method == "unsubscribe" and not self.answer_unsubscribe:
            return
        result = {"channel": channel}
        await ws.send(json.dumps({"method": method, "success": True, "result": result,
                                  "req_id": rid, **BASE}))  # fmt: skip
        if method != "subscribe":
            return
        if channel == "executions" and params.get("snap_orders", True):
            rows = [{"exec_type": "new", "order_id": o, "order_status": "new"}
                    for o in self.open_orders]  # fmt: skip
            await ws.send(frame("executions", "snapshot", 1, rows))
        elif channel == "balances" and params.get("snapshot", True):
            await ws.send(frame("balances", "snapshot", 1, [{"asset": "USD", "balance": 10}]))

    def sent(self, method: str, channel: str) -> int:
        return sum(
            1 for r in self.requests if r["method"] == method and r["params"]["channel"] == channel
        )


def frame(channel: str, kind: str, seq: int, data: Any = None) -> str:
    return json.dumps({"channel": channel, "type": kind, "sequence": seq, "data": data or []})


def update(seq: int, order_id: str = "o-1", exec_type: str = "new") -> str:
    return frame("executions", "update", seq, [{"exec_type": exec_type, "order_id": order_id}])


@pytest.fixture
async def fake() -> AsyncIterator[ScriptedUws]:
    """The scripted server, served on loopback."""
    server = ScriptedUws()
    async with serving(server, "/v2/private") as url:
        server.url = url
        yield server


async def token() -> str:
    return "t"


def connect(url: str, **kw: Any) -> AsyncUwsConnection:
    return AsyncUwsConnection(url, token_provider=token, backoff=FAST, stale_after_s=None, **kw)


@pytest.fixture
async def conn(fake: ScriptedUws) -> AsyncIterator[AsyncUwsConnection]:
    """A connection to ``fake`` with the default options, open for the whole test."""
    async with connect(fake.url) as opened:
        yield opened


async def quiet(conn: AsyncUwsConnection) -> list[Any]:
    """Everything queued after a ping round trip (what the server sent before its pong)."""
    await conn.ping()
    return await until(conn, lambda e: getattr(e, "method", None) == "ping")


async def test_an_executions_gap_resubscribes_and_the_new_snapshot_is_the_baseline(
    fake: ScriptedUws, conn: AsyncUwsConnection
) -> None:
    conn.subscribe("executions", snap_trades=True)
    await until(conn, lambda e: isinstance(e, ExecutionsMessage))
    await fake.push(update(2))
    fake.open_orders = ["o-2"]  # o-1 ended in the message we are about to lose
    await fake.push(update(4, "o-2"))  # 3 never comes
    events = await until(conn, lambda e: isinstance(e, UwsChannelResynced))
    gap = next(e for e in events if isinstance(e, SequenceGap))
    assert (gap.channel, gap.expected, gap.got) == ("executions", 3, 4)
    snapshot = events[-2]
    assert isinstance(snapshot, ExecutionsMessage) and snapshot.is_snapshot
    assert [e.order_id for e in snapshot.data] == ["o-2"]
    assert events[-1] == UwsChannelResynced("executions", gap)
    assert any(isinstance(e, Unsubscribed) for e in events)
    assert conn.resyncing == frozenset()
    assert fake.sent("unsubscribe", "executions") == 1
    assert fake.sent("subscribe", "executions") == 2
    resub = [r for r in fake.requests if r["method"] == "subscribe"][-1]["params"]
    assert resub["snap_trades"] is True and resub["token"] == "t"  # same options, token

    await fake.push(update(2, "o-2"))  # the new subscription counts from its snapshot
    after = await quiet(conn)
    assert not any(isinstance(e, SequenceGap) for e in after)


async def test_more_gaps_before_the_snapshot_resubscribe_once(
    fake: ScriptedUws, conn: AsyncUwsConnection
) -> None:
    conn.subscribe("executions")
    await until(conn, lambda e: isinstance(e, ExecutionsMessage))
    for seq in (3, 5, 7):  # three gaps in a row, sent before the unsubscribe is read
        await fake.push(update(seq))
    events = await until(conn, lambda e: isinstance(e, UwsChannelResynced))
    assert sum(isinstance(e, SequenceGap) for e in events) == 3
    assert events[-1].gap.got == 3  # the first gap started the resync
    assert fake.sent("unsubscribe", "executions") == 1


async def test_ledgers_gaps_and_snapshotless_channels_are_only_reported(
    fake: ScriptedUws, conn: AsyncUwsConnection
) -> None:
    conn.subscribe("ledgers")
    conn.subscribe("balances", snapshot=False)
    await until(conn, lambda e: isinstance(e, Subscribed) and e.channel == "balances")
    await fake.push(frame("ledgers", "update", 1, [{"asset": "USD", "amount": 1}]))
    await fake.push(frame("ledgers", "update", 3, [{"asset": "USD", "amount": 1}]))
    await fake.push(frame("balances", "update", 1, [{"asset": "USD", "balance": 1}]))
    await fake.push(frame("balances", "update", 5, [{"asset": "USD", "balance": 1}]))
    events = await quiet(conn)
    gaps = [(e.channel, e.expected, e.got) for e in events if isinstance(e, SequenceGap)]
    assert gaps == [("ledgers", 2, 3), ("balances", 2, 5)]
    assert sum(isinstance(e, LedgersMessage) for e in events) == 2
    assert not any(isinstance(e, UwsChannelResynced) for e in events)
    assert fake.sent("unsubscribe", "ledgers") == fake.sent("unsubscribe", "balances") == 0
    assert conn.resyncing == frozenset()


async def test_a_connection_wide_counter_resyncs_every_snapshot_channel(fake: ScriptedUws) -> None:
    shared = UwsAssumptions(sequence_scope=SequenceScope.CONNECTION)
    async with connect(fake.url, assumptions=shared) as conn:
        conn.subscribe("executions")
        conn.subscribe("balances")
        await until(conn, lambda e: isinstance(e, BalancesMessage))
        await fake.push(frame("balances", "update", 9, [{"asset": "USD", "balance": 1}]))
        events: list[Any] = []
        while len([e for e in events if isinstance(e, UwsChannelResynced)]) < 2:
            events += await until(conn, lambda e: isinstance(e, UwsChannelResynced))
        resynced = {e.channel for e in events if isinstance(e, UwsChannelResynced)}
        assert resynced == {"executions", "balances"}
        assert fake.sent("unsubscribe", "executions") == fake.sent("unsubscribe", "balances") == 1


async def test_a_lost_connection_abandons_the_resync(
    fake: ScriptedUws, conn: AsyncUwsConnection
) -> None:
    conn.subscribe("executions")
    await until(conn, lambda e: isinstance(e, ExecutionsMessage))
    fake.answer_unsubscribe = False  # the resync never gets past its unsubscribe
    await fake.push(update(5))
    await until(conn, lambda e: isinstance(e, SequenceGap))
    assert conn.resyncing == frozenset({"executions"})
    await conn.drop_connection()
    events = await until(conn, lambda e: isinstance(e, ExecutionsMessage) and e.is_snapshot)
    assert any(isinstance(e, Reconnected) for e in events)
    assert conn.resyncing == frozenset()
    assert not any(isinstance(e, UwsChannelResynced) for e in events)
