"""The uws account channels ``positions``, ``margin`` and ``ledgers`` over real loopback, talked to
with the ``websockets`` library, checked against legacy REST v3 on the same port (one account,
two dialects): snapshots equal ``/openpositions`` and ``/accounts``, a fill made over legacy REST
moves ``positions`` and ``ledgers`` (entries = the account log's rows), sequences are contiguous
as :class:`~krakenfutures.core.uws.session.UwsSession` checks them, and the
``uws_seq_skip_next`` fault makes it report exactly one :class:`SequenceGap`."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.core.uws.events import SequenceGap
from krakenfutures.core.uws.schema_channels import LedgersMessage, PositionsMessage
from krakenfutures.core.uws.session import UwsSession
from krakenfutures.runtime.unified_feed import UnifiedFeedTranslator
from krakenfutures.sim.config import KeyConfig
from krakenfutures.testing import SimHandle

from .test_uws_loopback import UWS_KEYS, XBT, Probe, connect, spot_token

D = Decimal
ETH = "PF_ETHUSD"


@pytest.fixture
def sim_keys() -> tuple[KeyConfig, ...]:
    return UWS_KEYS


async def private(sim: SimHandle) -> tuple[Probe, dict[str, Any]]:
    probe = await connect(sim, private=True)
    return probe, {"token": spot_token(sim)}


def order(client: Any, side: str, qty: str, price: str, symbol: str = XBT) -> Any:
    return client.send_order(
        order_type="lmt", symbol=symbol, side=side, qty=D(qty), limit_price=D(price)
    )


def trade(rest: Any, other: Any, side: str, qty: str, price: str, symbol: str = XBT) -> None:
    """``main`` takes ``qty`` from a resting ``other`` order over legacy REST."""
    against = "sell" if side == "buy" else "buy"
    order(other, against, qty, price, symbol)
    order(rest, side, qty, price, symbol)


def by_channel(frames: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("channel") == channel]


async def test_snapshots_equal_legacy_rest(sim: SimHandle, rest: Any, other: Any) -> None:
    trade(rest, other, "buy", "0.2", "60000")
    trade(rest, other, "sell", "1.5", "3000", symbol=ETH)  # a short
    order(rest, "buy", "0.1", "55000")  # order margin: initial_margin_with_orders moves
    sim.clock.advance(600_000)
    sim.ctl(cmd="mark", symbol=XBT, price="61000")
    probe, auth = await private(sim)
    ack, snapshot = await probe.request("subscribe", channel="positions", asset_class="derivatives",
                                        **auth)  # fmt: skip
    assert ack["success"] is True and ack["result"] == {"channel": "positions", "snapshot": True}
    assert snapshot["type"] == "snapshot" and snapshot["sequence"] == 1
    (section,) = snapshot["data"]
    assert section["options"] == []
    wire = {p["symbol"]: p for p in section["futures"]}
    legacy = rest.get_open_positions()
    assert set(wire) == {p.symbol for p in legacy} == {XBT, ETH}
    for p in legacy:
        entry = wire[p.symbol]
        assert entry["size"] == (p.qty if p.side == "long" else -p.qty)
        assert (entry["side"], entry["entry_price"]) == (p.side, p.price)
        assert entry["unrealized_funding"] == p.unrealized_funding
        assert entry["timestamp"][:23] == p.fill_time[:23]
    assert wire[XBT]["mark_price"] == 61000 and wire[XBT]["unrealized_pnl"] == 200  # 0.2 x 1000
    assert wire[ETH]["size"] == D("-1.5")
    ack, multi, single = await probe.request("subscribe", channel="margin",
                                             asset_class="derivatives", **auth)  # fmt: skip
    assert ack["success"] is True
    assert (multi["type"], single["type"]) == ("multi_collateral", "single_collateral")
    accounts = rest.get_accounts()
    flex, (wallet,) = accounts["flex"], single["data"]
    (margin,) = multi["data"]
    assert margin["initial_margin"] == flex.initial_margin_with_orders > flex.initial_margin
    assert margin["initial_margin_without_orders"] == flex.initial_margin
    for name in ("balance_value", "portfolio_value", "collateral_value", "maintenance_margin",
                 "pnl", "unrealized_funding", "total_unrealized", "total_unrealized_as_margin",
                 "margin_equity", "available_margin"):  # fmt: skip
        assert margin[name] == getattr(flex, name), name
    usd = flex.currencies["USD"]
    assert margin["currencies"]["USD"]["quantity"] == usd.quantity
    assert margin["currencies"]["USD"]["available"] == usd.available
    inverse = accounts["fi_xbtusd"]
    assert wallet["name"] == "F-XBT:USD" and wallet["balance"] == inverse.balances["xbt"]
    assert wallet["portfolio_value"] == inverse.auxiliary.pv
    assert wallet["initial_margin"] == inverse.margin_requirements.im
    (refused,) = await probe.request("subscribe", channel="margin", asset_class="derivatives",
                                     **auth)  # fmt: skip
    assert refused["error"] == "Already subscribed to margin channel"
    (refused,) = await probe.request("subscribe", channel="positions", asset_class="derivatives",
                                     **auth)  # fmt: skip
    assert refused["error"] == "Already subscribed to positions channel"
    await probe.ws.close()


async def test_a_rest_fill_moves_positions_ledgers_and_margin(
    sim: SimHandle, rest: Any, other: Any
) -> None:
    probe, auth = await private(sim)
    session = UwsSession()
    session.connected(auth["token"])
    await probe.request("subscribe", channel="positions", asset_class="derivatives", **auth)
    await probe.request("subscribe", channel="margin", asset_class="derivatives", **auth)
    (ack,) = await probe.request("subscribe", channel="ledgers", **auth)
    assert ack["result"] == {"channel": "ledgers", "snapshot": False}  # documented: no snapshot
    log_before = {e.id for e in rest.history_account_log().logs}
    trade(rest, other, "buy", "0.3", "60000")  # opens
    trade(rest, other, "buy", "0.1", "60100")  # grows
    trade(rest, other, "sell", "0.4", "60200")  # closes: flat
    frames = await probe.barrier(raw=True)
    for frame in frames:
        session.receive(frame)
    events = session.events()
    assert not [e for e in events if isinstance(e, SequenceGap)]
    positions = [e for e in events if isinstance(e, PositionsMessage)]
    ledgers = [e for e in events if isinstance(e, LedgersMessage)]
    assert [m.sequence for m in positions] == [2, 3, 4]  # the snapshot was 1
    assert [m.sequence for m in ledgers] == list(range(1, len(ledgers) + 1))
    sizes = [(p.symbol, p.size, p.entry_price) for m in positions for p in m.sections[0].futures]
    assert sizes == [(XBT, D("0.3"), D(60000)), (XBT, D("0.4"), D(60025)), (XBT, D(0), None)]
    # Flat positions reach the runtime as qty 0 and leave its set of held symbols.
    translator = UnifiedFeedTranslator()
    records = [r for frame in frames for r in translator(frame)]
    assert [r.qty for r in records if type(r).__name__ == "PositionRecord"] == [
        D("0.3"),
        D("0.4"),
        D(0),
    ]
    assert translator.positions == set()
    # Every new account-log row is one ledger entry with the same id and figures.
    rows = {e.id: e for e in rest.history_account_log().logs if e.id not in log_before}
    entries = {int(x.ledger_id): x for m in ledgers for x in m.data}
    assert set(entries) == set(rows) and len(rows) == 6  # per fill: a USD row, a position row
    for row_id, row in rows.items():
        entry = entries[row_id]
        assert entry.balance == row.new_balance and entry.category == row.info
        assert entry.amount == row.new_balance - row.old_balance
        if row.asset == "usd":
            assert (entry.asset, entry.fee, entry.realized_pnl) == (
                "USD",
                row.fee,
                row.realized_pnl,
            )
        else:
            assert entry.asset is None and entry.symbol == XBT
            assert entry.new_average_entry_price == row.new_average_entry_price
    assert sum(e.realized_pnl or 0 for e in entries.values()) == D("0.3") * 200 + D("0.1") * 100
    margins = by_channel([json.loads(f, parse_float=D) for f in frames], "margin")
    (last,) = [m for m in margins if m["type"] == "multi_collateral"][-1:]
    flex = rest.get_accounts()["flex"]
    assert last["data"][0]["balance_value"] == flex.balance_value
    assert last["data"][0]["initial_margin"] == flex.initial_margin_with_orders == 0
    await probe.ws.close()


async def test_sequence_skip_fault_makes_exactly_one_gap(
    sim: SimHandle, rest: Any, other: Any
) -> None:
    probe, auth = await private(sim)
    session = UwsSession()
    session.connected(auth["token"])
    for channel, extra in (("ledgers", {}), ("positions", {"asset_class": "derivatives"})):
        await probe.request("subscribe", channel=channel, **extra, **auth)
    trade(rest, other, "buy", "0.1", "60000")  # ledgers 1, 2 (a USD row, a position row)
    sim.ctl(cmd="faults", set={"uws_seq_skip_next": 1})
    trade(rest, other, "sell", "0.1", "60000")  # ledgers 4, 5: 3 is skipped
    trade(rest, other, "buy", "0.1", "60000")  # 6, 7
    for frame in await probe.barrier(raw=True):
        session.receive(frame)
    events = session.events()
    gaps = [e for e in events if isinstance(e, SequenceGap)]
    assert gaps == [SequenceGap("ledgers", 3, 4)]
    seqs = [e.sequence for e in events if isinstance(e, LedgersMessage)]
    assert seqs == [1, 2, 4, 5, 6, 7]
    positions = [e.sequence for e in events if isinstance(e, PositionsMessage)]
    assert positions == [2, 3, 4]  # after the snapshot (1); not checked by default: no skip
    assert sim.ctl(cmd="status")["faults"]["uws_seq_skip_next"] == 0
    await probe.ws.close()
