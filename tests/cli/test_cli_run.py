"""`kf run` (what `make run` does) against the embedded simulator, `kf kill`, and the bot config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from krakenfutures.errors import ConfigError
from krakenfutures.runtime.bot_config import parse_bot_config
from krakenfutures.testing import (
    TEST_KEY,
    TEST_SECRET,
    loopback_client,
    running_simulator,
    sim_config,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dialect", ["legacy", "unified"])
def test_kf_run_trades_the_market_maker_on_the_embedded_simulator(
    kf: Any, tmp_path: Path, dialect: str
) -> None:
    result = kf(
        "run", str(ROOT / "examples" / "market_maker.py"), "--duration", "10", "--json",
        "--dialect", dialect,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["fills"] > 0
    assert summary["halts"] == {}
    assert summary["order_states"].get("open", 0) == 0  # a clean stop leaves nothing resting
    assert summary["pnl"]["USD"]["fees"] != "0"
    assert Path(summary["journal"]).exists()
    assert summary["base_url"].startswith("http://127.0.0.1:")


def test_kf_run_refuses_a_non_loopback_target_in_sim_mode(kf: Any) -> None:
    result = kf(
        "--base-url", "https://futures.kraken.com", "run", "--env", "sim", "--duration", "1"
    )
    assert result.exit_code == 3
    assert "simulator on this machine" in result.stderr


def test_kf_run_explains_a_bad_strategy_path(kf: Any, tmp_path: Path) -> None:
    result = kf("run", str(tmp_path / "nope.py"), "--duration", "1")
    assert result.exit_code == 3 and "not found" in result.stderr


@pytest.mark.timeout(300)  # a bot process on a loaded machine: generous upper bound
def test_kf_kill_cancels_everything_and_stops_the_bot(tmp_path: Path) -> None:
    with running_simulator(sim_config(market=True), real_clock=True) as handle:
        env = {
            **os.environ,
            "KRAKEN_FUTURES_API_KEY": TEST_KEY,
            "KRAKEN_FUTURES_API_SECRET": TEST_SECRET,
            "KRAKEN_FUTURES_STATE_DIR": str(tmp_path),
            "HOME": str(tmp_path),
        }
        bot = subprocess.Popen(
            [sys.executable, "-m", "krakenfutures.cli", "--base-url", handle.base_url, "run",
             str(ROOT / "examples" / "market_maker.py"), "--name", "killme", "--no-dashboard",
             "--json", "--journal", str(tmp_path / "j.sqlite")],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        client = loopback_client(handle, rate_limit=False, nonce="none")
        deadline = (
            time.monotonic() + 120
        )  # an upper bound for a loaded CI machine, not a speed check
        while time.monotonic() < deadline and not client.get_open_orders():
            time.sleep(0.2)
        assert client.get_open_orders(), "the bot never quoted"
        killed = subprocess.run(
            [sys.executable, "-m", "krakenfutures.cli", "--json", "kill", "--name", "killme"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert killed.returncode == 0, killed.stderr
        report = json.loads(killed.stdout)
        assert report["bot_stopped"] and report["cancelled_orders"] >= 1
        bot.wait(30)
        assert bot.returncode == 0  # SIGTERM is a clean stop, not a crash
        assert client.get_open_orders() == []
        assert not (tmp_path / "bot-killme.pid").exists()


def test_bot_config_defaults_and_refusals() -> None:
    config = parse_bot_config({})
    assert (config.env, config.dialect, config.nonce, config.sim_speed) == (
        "sim",
        "legacy",
        "none",
        120.0,
    )
    full = parse_bot_config(
        {
            "bot": {"name": "mm", "env": "live"},
            "risk": {
                "max_position_qty": "1",
                "max_open_orders": 4,
                "PF_ETHUSD": {"max_position_qty": "10"},
            },
            "runtime": {"deadman_interval_s": 20, "large_fill_usd": "1000"},
            "strategy": {"path": "x.py", "params": {"qty": "0.1"}},
        }
    )
    limits = full.limits()
    assert (
        str(limits["*"].max_position_qty) == "1"
        and str(limits["PF_ETHUSD"].max_position_qty) == "10"
    )
    assert limits["PF_ETHUSD"].max_open_orders == 4  # per-symbol tables inherit the defaults
    assert full.settings.deadman_interval_s == 20.0
    for raw, words in (
        ({"bot": {"api_secret": "x"}}, "never go in the bot config"),
        ({"alerts": {"telegram_token": "1:x"}}, "KRAKEN_FUTURES_TELEGRAM_TOKEN"),
        ({"risk": {"max_position": "1"}}, "unknown key"),
        ({"risk": {"max_order_qty": 0.5}}, "not floats"),
        ({"bot": {"env": "demo"}}, "use one of sim, live"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_bot_config(raw)


def test_sigterm_is_a_clean_stop(tmp_path: Path) -> None:
    env = {**os.environ, "KRAKEN_FUTURES_STATE_DIR": str(tmp_path), "HOME": str(tmp_path)}
    bot = subprocess.Popen(
        [sys.executable, "-m", "krakenfutures.cli", "run", str(ROOT / "examples" / "market_maker.py"),
         "--no-dashboard", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(6)
    bot.send_signal(signal.SIGTERM)
    out, err = bot.communicate(timeout=60)
    assert bot.returncode == 0, err[-2000:]
    assert json.loads(out)["order_states"].get("open", 0) == 0
