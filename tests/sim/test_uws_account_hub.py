"""The uws account channels on the hub in memory (no sockets): subscription rules and verbatim
errors, ``with_margin`` figures equal to the legacy ``open_positions`` ones, ledger entries for
funding and transfers, the opt-in ledgers snapshot, connection-wide sequences and the other
readings of :class:`~krakenfutures.core.uws.assumptions.UwsAssumptions`. The loopback tests
(``test_uws_account.py``) cover the same channels against legacy REST on real sockets."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SequenceScope
from krakenfutures.core.uws.events import SequenceGap
from krakenfutures.core.uws.session import UwsSession
from krakenfutures.runtime.unified_feed import translate
from krakenfutures.sim.config import SPOT_KEY, KeyConfig
from krakenfutures.sim.uws import UwsHub
from krakenfutures.sim.uws_auth import SpotKey
from krakenfutures.sim.ws_wire import build_open_positions
from krakenfutures.testing import TEST_SECRET, SimHandle, make_simulator, sim_config

XBT = "PF_XBTUSD"
HOUR = 3_600_000
D = Decimal
DERIV = {"asset_class": "derivatives"}


def config(**changes: Any) -> Any:
    base = sim_config()
    keys = (KeyConfig("spot", TEST_SECRET, "main", kind=SPOT_KEY),)
    return dataclasses.replace(base, keys=(*base.keys, *keys), **changes)


@pytest.fixture
def sim() -> SimHandle:
    return make_simulator(config())


class Conn:
    """One private in-memory connection of ``hub`` with a token of ``main``."""

    ids = 0

    def __init__(self, handle: SimHandle, hub: UwsHub | None = None) -> None:
        Conn.ids += 1
        self.handle, self.hub = handle, hub or handle.simulator.uws_hub
        self.cid = (True, Conn.ids)
        self.hub.connect(self.cid, handle.clock.now_ms())
        spot = handle.simulator.spot_keys["spot"]
        assert isinstance(spot, SpotKey)
        self.token = handle.simulator.tokens.issue(spot, handle.clock.now_ms()).token

    def raw(self, channel: str, **params: Any) -> list[bytes]:
        msg = {"method": "subscribe", "params": {"channel": channel, "token": self.token, **params}}
        return self.hub.receive(self.cid, json.dumps(msg), self.handle.clock.now_ms())

    def subscribe(self, channel: str, **params: Any) -> list[dict[str, Any]]:
        return [json.loads(b, parse_float=D) for b in self.raw(channel, **params)]

    def drain(self) -> list[dict[str, Any]]:
        return [json.loads(b, parse_float=D) for b in self.hub.drain(self.cid)]


def fill(sim: SimHandle, side: str, qty: str, price: str = "60000", symbol: str = XBT) -> None:
    """``main`` trades ``qty`` against ``other`` in the engine."""
    ex, now = sim.exchange, sim.clock.now_ms()
    if "other" not in ex.account_names():
        ex.open_account("other")
    against = "sell" if side == "buy" else "buy"
    for account, s, kind in (("other", against, "lmt"), ("main", side, "ioc")):
        ex.send_order(account, symbol=symbol, side=s, order_type=kind, qty=D(qty),
                      limit_price=D(price), now_ms=now)  # fmt: skip


def test_subscription_rules_and_verbatim_errors(sim: SimHandle) -> None:
    conn = Conn(sim)
    (refused,) = conn.subscribe("margin", snapshot=True, **DERIV)
    assert refused["error"] == "'params.snapshot' is not valid for the margin channel"
    (refused,) = conn.subscribe("positions", with_margin=True, snapshot=True, **DERIV)
    assert "with_margin cannot be combined" in refused["error"]
    (refused,) = conn.subscribe("positions")
    assert "asset_class is required" in refused["error"]
    (refused,) = conn.subscribe("ledgers", asset_class="spot")
    assert "derivatives only" in refused["error"]
    (ack,) = conn.subscribe("positions", snapshot=False, **DERIV)
    assert ack["result"] == {"channel": "positions", "snapshot": False}
    fill(sim, "buy", "0.1")
    (update,) = [m for m in conn.drain() if m["channel"] == "positions"]
    assert update["sequence"] == 1  # no snapshot: the first update is 1
    msg = {"method": "unsubscribe", "params": {"channel": "positions", **DERIV}, "req_id": 7}
    (unsub,) = [json.loads(b) for b in conn.hub.receive(conn.cid, json.dumps(msg), 0)]
    assert unsub["success"] is True
    fill(sim, "buy", "0.1")
    assert conn.drain() == []


def test_with_margin_carries_the_legacy_position_margin_figures(sim: SimHandle) -> None:
    fill(sim, "buy", "0.5")
    sim.exchange.set_mark_price(XBT, D(61000), sim.clock.now_ms())
    conn = Conn(sim)
    (ack,) = conn.subscribe("positions", with_margin=True, **DERIV)
    assert ack["result"] == {"channel": "positions", "snapshot": False, "with_margin": True}
    fill(sim, "buy", "0.1", price="61000")
    (update,) = [m for m in conn.drain() if m["channel"] == "positions"]
    (entry,) = update["data"][0]["futures"]
    (legacy,) = build_open_positions(sim.exchange, "main", 1).positions
    assert entry["size"] == legacy.qty == D("0.6")
    assert entry["unrealized_pnl"] == legacy.pnl.quantize(D("1e-12"))  # 12 decimals on uws
    assert entry["initial_margin"] == legacy.initial_margin
    assert entry["maintenance_margin"] == legacy.maintenance_margin
    assert entry["effective_leverage"] == legacy.effective_leverage.quantize(D("1e-12"))
    assert entry["return_on_equity"] == legacy.return_on_equity.quantize(D("1e-12"))


def test_funding_and_transfers_are_ledger_entries(sim: SimHandle) -> None:
    conn = Conn(sim)
    conn.subscribe("ledgers")
    conn.subscribe("positions", **DERIV)
    conn.subscribe("margin", **DERIV)
    fill(sim, "buy", "1")
    conn.drain()
    sim.exchange.set_mark_price(XBT, D(60300), sim.clock.now_ms())  # a premium: longs pay
    for _ in range(2):
        sim.clock.advance(HOUR)
        sim.tick()
    frames = conn.drain()
    funding = [e for m in frames if m["channel"] == "ledgers" for e in m["data"]]
    assert funding and {e["type"] for e in funding} == {"funding"}
    row = next(r for r in sim.exchange.account_log("main") if r.info == "funding rate change")
    first = funding[0]
    assert (first["ledger_id"], first["funding"]) == (str(row.id), row.realized_funding)
    assert first["funding"] < 0 and first["asset"] == "USD" and first["symbol"] == XBT
    assert not [m for m in frames if m["channel"] == "positions"]  # funding is not a fill
    margins = {m["type"] for m in frames if m["channel"] == "margin"}
    assert margins == {"multi_collateral"}  # the inverse wallet did not change: not resent
    assert sim.exchange.transfer("main", "flex", "cash", "USD", D(100), sim.clock.now_ms())
    out, back = [e for m in conn.drain() if m["channel"] == "ledgers" for e in m["data"]]
    assert (out["type"], out["wallet_type"], out["amount"]) == ("transfer", "flex", -100)
    assert (back["type"], back["wallet_type"], back["amount"]) == ("transfer", "spot", 100)


def test_ledgers_snapshot_on_request_then_updates_continue(sim: SimHandle) -> None:
    fill(sim, "buy", "0.1")
    fill(sim, "sell", "0.1")
    conn = Conn(sim)
    ack, snapshot = conn.subscribe("ledgers", snapshot=True)
    assert ack["result"] == {"channel": "ledgers", "snapshot": True}
    log = sim.exchange.account_log("main")
    assert [e["ledger_id"] for e in snapshot["data"]] == [str(r.id) for r in log]
    assert snapshot["sequence"] == 1
    fill(sim, "buy", "0.1")
    assert [m["sequence"] for m in conn.drain() if m["channel"] == "ledgers"] == [2, 3]


def test_connection_wide_sequences_when_assumed(sim: SimHandle) -> None:
    rules = dataclasses.replace(DEFAULT_ASSUMPTIONS, sequence_scope=SequenceScope.CONNECTION)
    hub = UwsHub(sim.exchange, sim.simulator.tokens, assumptions=rules)
    conn = Conn(sim, hub)
    session = UwsSession(assumptions=rules)
    session.connected(conn.token)
    for channel, params in (("executions", DERIV), ("ledgers", {}), ("positions", DERIV)):
        for frame in conn.raw(channel, **params):
            session.receive(frame)
    fill(sim, "buy", "0.1")
    fill(sim, "sell", "0.1")
    frames = hub.drain(conn.cid)
    for frame in frames:
        session.receive(frame)
    assert not [e for e in session.events() if isinstance(e, SequenceGap)]
    shared = [m["sequence"] for m in map(json.loads, frames) if m["channel"] != "positions"]
    assert shared == list(range(2, len(shared) + 2))  # the executions snapshot was 1


def test_pair_spelling_and_unsigned_sizes(sim: SimHandle) -> None:
    paired = make_simulator(config(uws_symbol_format="pair"))
    fill(paired, "sell", "0.2")
    conn = Conn(paired)
    _, snapshot = conn.subscribe("positions", **DERIV)
    (entry,) = snapshot["data"][0]["futures"]
    assert (entry["symbol"], entry["side"], entry["size"]) == ("BTC/USD", "short", D("-0.2"))
    rules = dataclasses.replace(DEFAULT_ASSUMPTIONS, position_size_signed=False)
    hub = UwsHub(sim.exchange, sim.simulator.tokens, assumptions=rules)
    fill(sim, "sell", "0.2")
    _, frame = Conn(sim, hub).raw("positions", **DERIV)
    (record,) = translate(frame, assumptions=rules)
    assert json.loads(frame)["data"][0]["futures"][0]["size"] == 0.2
    assert record.qty == D("-0.2")  # "side" says short
