"""`kf watch`, `kf record` and `kf replay` against the simulator over loopback WebSocket."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from krakenfutures.cli.common import ExitCode
from krakenfutures.testing import TEST_SECRET, loopback_client, running_simulator, sim_config

SYMBOL = "PF_XBTUSD"
OTHER_KEY = "test-key-other"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A simulator with a resting book, one trade and a position for account ``main``."""
    from krakenfutures.sim.config import KeyConfig

    cfg = sim_config()
    other_key = KeyConfig(api_key=OTHER_KEY, api_secret=TEST_SECRET, account="other")
    cfg = dataclasses.replace(cfg, keys=(*cfg.keys, other_key))
    with running_simulator(cfg) as handle:
        main = loopback_client(handle)
        other = loopback_client(handle, api_key=OTHER_KEY)

        def order(client: Any, side: str, price: int, qty: str = "0.01", **kw: Any) -> Any:
            return client.send_order(
                order_type="lmt",
                symbol=kw.pop("symbol", SYMBOL),
                side=side,
                qty=Decimal(qty),
                limit_price=Decimal(price),
                **kw,
            )

        order(main, "buy", 59000, qty="0.02")
        order(main, "buy", 58990)
        order(other, "sell", 59000)  # a trade: main is long 0.01, 0.01 left at 59000
        order(other, "sell", 61000, qty="0.05")
        order(main, "sell", 3100, symbol="PF_ETHUSD", qty="0.1")
        handle.orders = main.get_open_orders()
        main.close()
        other.close()
        yield handle


@pytest.fixture
def run(kf: Any, sim: Any, clean_env: dict[str, Any]) -> Any:
    keyed = {
        **clean_env,
        "KRAKEN_FUTURES_API_KEY": sim.api_key,
        "KRAKEN_FUTURES_API_SECRET": sim.api_secret,
    }

    def invoke(*args: str, keyed_env: bool = True, env: dict[str, Any] | None = None) -> Any:
        base = keyed if keyed_env else clean_env
        return kf("--base-url", sim.base_url, *args, env={**base, **(env or {})})

    return invoke


def _lines(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _norm(levels: Any) -> list[list[str]]:
    """Levels as ``[price, qty]`` texts of normalised decimals (dicts or pairs)."""
    pairs = [(lv["price"], lv["qty"]) if isinstance(lv, dict) else lv for lv in levels]
    return [[str(Decimal(p).normalize()), str(Decimal(q).normalize())] for p, q in pairs]


def _sim_levels(sim: Any, symbol: str = SYMBOL) -> tuple[list[list[str]], list[list[str]]]:
    view = sim._server.call(lambda: sim.exchange.book(symbol))
    return _norm(view.bids), _norm(view.asks)


def test_watch_book_json_streams_the_snapshot(run: Any, sim: Any) -> None:
    events = _lines(run("watch", "book", SYMBOL.lower(), "--seconds", "0.5", "--json"))
    kinds = [e["kind"] for e in events]
    assert kinds[:3] == ["info_received", "subscribed", "book_snapshot"]
    snap = events[2]
    assert (_norm(snap["bids"]), _norm(snap["asks"])) == _sim_levels(sim)
    assert snap["symbol"] == SYMBOL and isinstance(snap["seq"], int)


def test_watch_book_draws_a_ladder(run: Any) -> None:
    result = run("watch", "book", SYMBOL, "--seconds", "0.5", "--depth", "2", keyed_env=False)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "bid qty" in out and "ask qty" in out
    assert "59000" in out and "58990" in out and "61000" in out
    assert "spread 2000" in out and "mid 60000" in out


def test_watch_trades_and_tickers(run: Any) -> None:
    result = run("watch", "trades", SYMBOL, "--seconds", "0.5", keyed_env=False)
    assert result.exit_code == 0, result.stderr
    assert re.search(r"sell\s+0\.010* @ 59000", result.stdout)
    events = _lines(run("watch", "ticker", SYMBOL, "PF_ETHUSD", "--seconds", "0.5", "--json"))
    tickers = {e["symbol"]: e for e in events if e["kind"] == "ticker"}
    assert set(tickers) == {SYMBOL, "PF_ETHUSD"}
    assert Decimal(tickers[SYMBOL]["bid"]) == Decimal(59000)
    table = run("watch", "ticker", SYMBOL, "--seconds", "0.5", keyed_env=False)
    assert table.exit_code == 0 and "Tickers" in table.stdout and "59000" in table.stdout


def test_watch_private_views(run: Any, sim: Any) -> None:
    orders = run("watch", "orders", "--seconds", "0.5")
    assert orders.exit_code == 0, orders.stderr
    for order in sim.orders:
        assert order.order_id in orders.stdout
    fills = run("watch", "fills", "--seconds", "0.5")
    assert fills.exit_code == 0, fills.stderr
    assert re.search(r"buy\s+0\.010* @ 59000", fills.stdout)
    positions = run("watch", "positions", "--seconds", "0.5")
    assert positions.exit_code == 0, positions.stderr
    assert SYMBOL in positions.stdout and "0.01" in positions.stdout
    events = _lines(run("watch", "orders", "--seconds", "0.5", "--json"))
    snapshot = next(e for e in events if e["kind"] == "open_orders_snapshot")
    assert {o["order_id"] for o in snapshot["orders"]} == {o.order_id for o in sim.orders}


def test_watch_errors_map_to_exit_codes(run: Any, kf: Any) -> None:
    no_key = run("watch", "orders", "--seconds", "0.3", keyed_env=False)
    assert no_key.exit_code == ExitCode.CONFIG and "API key" in no_key.stderr
    wrong = base64.b64encode(b"\x02" * 64).decode()
    bad_key = run("watch", "fills", "--seconds", "2", env={"KRAKEN_FUTURES_API_SECRET": wrong})
    assert bad_key.exit_code == ExitCode.EXCHANGE and "authenticat" in bad_key.stderr.lower()
    unknown = run("watch", "book", "PF_NOPEUSD", "--seconds", "2", keyed_env=False)
    assert unknown.exit_code == ExitCode.USAGE and "Invalid product id" in unknown.stderr
    dead = kf("--base-url", "http://127.0.0.1:9", "watch", "book", SYMBOL, "--seconds", "1")
    assert dead.exit_code == ExitCode.TRANSPORT and "cannot connect" in dead.stderr


def test_record_then_replay(run: Any, sim: Any, tmp_path: Path) -> None:
    out = tmp_path / "rec"
    result = run(
        "record",
        "--symbols",
        f"{SYMBOL},pf_ethusd",
        "--feeds",
        "book,trade,ticker",
        "--out",
        str(out),
        "--seconds",
        "0.7",
        keyed_env=False,
    )
    assert result.exit_code == 0, result.stderr
    assert "recorded" in result.stderr
    assert list((out / "raw").glob("date=*/symbol=PF_XBTUSD/part-*.parquet"))
    assert list((out / "events").glob("date=*/symbol=PF_ETHUSD/part-*.parquet"))
    events = _lines(run("replay", str(out), "--json"))
    kinds = [e["kind"] for e in events]
    assert kinds.count("book_snapshot") == 2 and "trade_snapshot" in kinds and "ticker" in kinds
    from krakenfutures.client.recorder import replay_books

    book = replay_books(out).book(SYMBOL)
    bids, asks = book.levels()
    assert (_norm(bids), _norm(asks)) == _sim_levels(sim)
    text = run("replay", str(out), "--symbols", "PF_ETHUSD")
    assert text.exit_code == 0 and "book_snapshot  PF_ETHUSD" in text.stdout
    assert "book_snapshot  PF_XBTUSD" not in text.stdout


def test_record_usage_errors(run: Any, tmp_path: Path) -> None:
    bad = run("record", "--symbols", SYMBOL, "--feeds", "book,fills", "--out", str(tmp_path))
    assert bad.exit_code == ExitCode.USAGE and "fills" in bad.stderr


def test_record_stops_cleanly_on_ctrl_c(
    sim: Any, tmp_path: Path, clean_env: dict[str, Any]
) -> None:
    """A real process: SIGINT flushes what was buffered (the flush interval is never reached)."""
    out = tmp_path / "rec"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_FUTURES_")}
    env.update({k: v for k, v in clean_env.items() if v is not None})
    args = ["--base-url", sim.base_url, "record", "--symbols", SYMBOL, "--feeds", "book,trade"]
    args += ["--out", str(out), "--flush-seconds", "3600"]
    code = "from krakenfutures.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        # wait until it is connected: the simulator sees a subscription
        hub = sim.simulator.ws_hub
        while time.monotonic() < deadline:
            conns = sim._server.call(lambda: [hub.subscriptions(c) for c in hub.connections])
            if any(("trade", SYMBOL) in subs for subs in conns):
                break
            time.sleep(0.05)
        else:
            pytest.fail("kf record did not subscribe")
        time.sleep(0.2)
        assert not list(out.rglob("*.parquet"))  # nothing flushed yet
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr.decode()
    from krakenfutures.client.recorder import replay

    kinds = [type(e).__name__ for e in replay(out)]
    assert "BookSnapshot" in kinds and "TradeSnapshot" in kinds
