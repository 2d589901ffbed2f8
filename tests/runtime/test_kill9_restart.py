"""``kill -9`` a running bot (a real ``kf run`` process) mid-session, restart it, and check that
its journal, positions and PnL equal the simulator's account: nothing lost, nothing doubled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from krakenfutures.runtime.journal import Journal, rebuild_positions
from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.server import SimServer, ThreadedServer
from krakenfutures.testing import (
    SPOT_KEY,
    SPOT_SECRET,
    TEST_KEY,
    TEST_SECRET,
    loopback_client,
    make_simulator,
    sim_config,
)

ROOT = Path(__file__).resolve().parents[2]
SYMBOL = "PF_XBTUSD"


def _bot(
    base_url: str, journal: Path, state: Path, duration: str, dialect: str
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "KRAKEN_FUTURES_API_KEY": TEST_KEY,
        "KRAKEN_FUTURES_API_SECRET": TEST_SECRET,
        "KRAKEN_SPOT_API_KEY": SPOT_KEY,
        "KRAKEN_SPOT_API_SECRET": SPOT_SECRET,
        "KRAKEN_FUTURES_STATE_DIR": str(state),
        "HOME": str(state),
    }
    cmd = [
        sys.executable, "-m", "krakenfutures.cli", "--base-url", base_url, "run",
        str(ROOT / "examples" / "market_maker.py"), "--env", "sim", "--journal", str(journal),
        "--name", "k9", "--no-dashboard", "--json", "--duration", duration, "--dialect", dialect,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.timeout(300)  # two bot processes on a loaded machine: generous upper bound
@pytest.mark.parametrize("dialect", ["legacy", "unified"])
def test_kill_minus_9_and_restart_lose_and_double_nothing(tmp_path: Path, dialect: str) -> None:
    handle = make_simulator(sim_config(market=True, seed=11, speed=30.0, spot=True))
    clock = SimClock(30.0, handle.clock.now_ms())  # 30x: fills come within seconds
    server = ThreadedServer(SimServer.for_simulator(handle.simulator, clock, ticking=True))
    server.start()
    handle.base_url = server.base_url
    first = second = None
    try:
        client = loopback_client(handle, rate_limit=False, nonce="none")
        journal = tmp_path / "bot.sqlite"
        first = _bot(server.base_url, journal, tmp_path, "120", dialect)
        deadline = (
            time.monotonic() + 120
        )  # an upper bound for a loaded CI machine, not a speed check
        while time.monotonic() < deadline and len(client.get_fills()) < 4:
            time.sleep(0.3)
        assert len(client.get_fills()) >= 4, (
            first.stderr.read() if first.poll() is not None else "no fills"
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL

        second = _bot(server.base_url, journal, tmp_path, "6", dialect)
        try:
            out, err = second.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            second.kill()
            out, err = second.communicate()
            raise AssertionError(f"the restarted bot did not stop: {err[-4000:]}") from None
        assert second.returncode == 0, err[-3000:]
        summary = json.loads(out)
        assert summary["halts"] == {}, summary["halts"]

        state = Journal(journal).restore()
        book = rebuild_positions(state)
        fills = client.get_fills()
        ours = {f.fill.fill_id for f in state.fills}
        theirs = {f.fill_id for f in fills}
        missing = [
            (f.fill_id, f.cli_ord_id, f.fill_time, f.qty) for f in fills if f.fill_id not in ours
        ]
        assert ours == theirs, (
            missing,
            summary["exchange_time"],
            err[-4000:],
        )  # none lost or invented
        assert len(state.fills) == len(ours)
        exchange_qty = {
            p.symbol: p.qty if p.side == "long" else -p.qty for p in client.get_open_positions()
        }
        assert book.net_qty(SYMBOL) == exchange_qty.get(SYMBOL, Decimal(0))
        log = client.history_account_log(count=1000).logs
        trades = [e for e in log if e.info == "futures trade"]
        position = book.get("MarketMaker", SYMBOL)
        assert position.fees_paid == sum((e.fee or Decimal(0) for e in trades), Decimal(0))
        # The exchange reports 12 decimals; our running sum keeps every digit of the averaged
        # entry price (a quotient), so compare at the exchange's precision.
        exchange_pnl = sum((e.realized_pnl or Decimal(0) for e in trades), Decimal(0))
        assert abs(position.realized_pnl - exchange_pnl) < Decimal("1e-10")
        assert client.get_open_orders() == []  # the clean stop cancelled what it placed
    finally:
        for bot in (first, second):  # a failed assertion must not leave a bot running
            if bot is not None and bot.poll() is None:
                bot.kill()
                bot.wait(10)
        server.stop()
