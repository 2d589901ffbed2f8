"""`--state FILE`: the simulator survives a restart with nothing lost (snapshot + journal)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from krakenfutures.errors import AuthenticationError
from krakenfutures.sim.persist import StateStore
from krakenfutures.testing import FakeClock, make_simulator, sim_config
from krakenfutures.transport.handler import HandlerTransport


def _client(handle):  # the real client, in memory
    from krakenfutures.client.sync import Client
    from krakenfutures.testing import TEST_KEY, TEST_SECRET

    return Client(
        TEST_KEY,
        TEST_SECRET,
        base_url="http://127.0.0.1:8787",
        nonce="memory",
        clock_ms=handle.clock.now_ms,
        sleep=handle.clock.sleep,
        rate_limit=False,
        transport=HandlerTransport(handle.handle),
        env={"KRAKEN_FUTURES_STATE_DIR": "/tmp/kf-test-state"},
    )


def test_restart_without_a_clean_shutdown_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "sim.sqlite"
    clock = FakeClock()
    cfg = sim_config(seed=5, market=True)
    first = make_simulator(cfg, clock=clock, store=StateStore(db))
    client = _client(first)
    for _ in range(20):
        clock.advance(250)
        first.tick()
    mark = client.get_ticker(symbol="PF_XBTUSD").mark_price
    placed = client.send_order(
        order_type="lmt",
        symbol="PF_XBTUSD",
        side="buy",
        qty=Decimal("0.01"),
        limit_price=(mark * Decimal("0.95")).quantize(Decimal(1)),
        cli_ord_id="keep-me",
    )
    taken = client.send_order(
        order_type="mkt", symbol="PF_XBTUSD", side="sell", qty=Decimal("0.02")
    )
    assert placed.status == "placed" and taken.status == "placed"
    # A refused request (bad signature) must not be replayed as if it had been accepted.
    bad = _client(first)
    bad._ctx.key = b"x" * 64
    with pytest.raises(AuthenticationError):
        bad.get_accounts()
    first.ctl(cmd="state", symbol="PF_ETHUSD", state="post_only")
    for _ in range(8):
        clock.advance(500)
        first.tick()
    before = first.exchange.snapshot()
    first.simulator.store.close()  # a crash: no final snapshot, only the journal

    second = make_simulator(cfg, clock=clock, store=StateStore(db))
    assert second.exchange.snapshot() == before
    assert second.exchange.trading_state("PF_ETHUSD").value == "post_only"
    assert [o.cli_ord_id for o in second.exchange.open_orders("main")] == ["keep-me"]
    second.simulator.store.close()
