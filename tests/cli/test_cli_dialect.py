"""`--dialect unified` on the trading commands and `kf watch`, against the simulator over
loopback: orders placed over the Unified WebSocket are seen by legacy REST (one account, two
dialects), and the output shapes and exit codes match the legacy ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.cli.common import ExitCode
from krakenfutures.testing import SPOT_KEY, SPOT_NO_WS_KEY, SPOT_SECRET, loopback_client

from .sim_accounts import OTHER_KEY, running_with_other

SYMBOL = "PF_XBTUSD"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A simulator with Spot keys on ``main`` and a book made by account ``other`` (so that
    ``main`` cancelling everything leaves it): bids 59000/58990, asks 61000, ETH 3100."""
    with running_with_other(spot=True, market=True) as handle:
        client = loopback_client(handle, api_key=OTHER_KEY)
        for side, price, qty, symbol in (
            ("buy", 59000, "0.02", SYMBOL),
            ("buy", 58990, "0.01", SYMBOL),
            ("sell", 61000, "0.05", SYMBOL),
            ("sell", 3100, "0.1", "PF_ETHUSD"),
        ):
            client.send_order(order_type="lmt", symbol=symbol, side=side, qty=Decimal(qty),
                              limit_price=Decimal(price))  # fmt: skip
        client.close()
        handle.best_bid, handle.best_ask = Decimal(59000), Decimal(61000)
        yield handle


@pytest.fixture
def run(kf: Any, sim: Any, clean_env: dict[str, Any]) -> Any:
    """``run(*args, spot=True, futures=True, env=...)``: `kf --base-url <sim> ...` with the
    Spot and/or Futures key in the environment and no dialect set there."""

    def invoke(
        *args: str, spot: bool = True, futures: bool = True, env: dict[str, Any] | None = None
    ) -> Any:
        keys: dict[str, Any] = {
            "KRAKEN_FUTURES_DIALECT": None,
            "KRAKEN_SPOT_API_KEY": SPOT_KEY if spot else None,
            "KRAKEN_SPOT_API_SECRET": SPOT_SECRET if spot else None,
        }
        if futures:
            keys |= {
                "KRAKEN_FUTURES_API_KEY": sim.api_key,
                "KRAKEN_FUTURES_API_SECRET": sim.api_secret,
            }
        return kf("--base-url", sim.base_url, *args, env={**clean_env, **keys, **(env or {})})

    return invoke


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _lines(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _legacy_orders(run: Any) -> dict[str, Any]:
    return {o["order_id"]: o for o in _json(run("orders", "--json"))}


def _bid_below(sim: Any, ticks: int) -> str:
    return str(sim.best_bid - ticks * 10)


# ------------------------------------------------------------------------------------ trading


def test_order_over_uws_is_visible_to_legacy_rest_and_cancels_by_cli_ord_id(
    run: Any, sim: Any
) -> None:
    price = _bid_below(sim, 50)
    placed = _json(
        run("order", "buy", SYMBOL.lower(), "0.01", "--limit", price, "--cli-ord-id", "uws-1",
            "--dialect", "unified", "--json")
    )  # fmt: skip
    assert placed["accepted"] is True and placed["status"] == "placed"
    assert placed["cli_ord_id"] == "uws-1" and placed["order_type"] == "lmt"
    assert placed["executions"] == []
    legacy = _legacy_orders(run)[placed["order_id"]]
    assert legacy["cli_ord_id"] == "uws-1" and legacy["symbol"] == SYMBOL
    assert Decimal(legacy["limit_price"]) == Decimal(price)

    cancelled = _json(run("cancel", "--cli-ord-id", "uws-1", "--dialect", "unified", "--json"))
    assert cancelled["accepted"] is True and cancelled["status"] == "cancelled"
    assert placed["order_id"] not in _legacy_orders(run)

    again = run("cancel", "--cli-ord-id", "uws-1", "--dialect", "unified")
    assert again.exit_code == ExitCode.ORDER_REFUSED
    assert "notFound" in again.stderr and "notFound" in again.stdout


def test_the_dialect_comes_from_the_environment_and_a_table_is_printed(run: Any, sim: Any) -> None:
    env = {"KRAKEN_FUTURES_DIALECT": "unified"}
    # Without a Futures key the legacy path would fail with exit 3: the order went over uws.
    result = run("order", "buy", SYMBOL, "0.01", "--limit", _bid_below(sim, 60),
                 "--cli-ord-id", "env-1", futures=False, env=env)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "placed (accepted)" in result.stdout and "env-1" in result.stdout
    bad = run("order", "buy", SYMBOL, "0.01", env={"KRAKEN_FUTURES_DIALECT": "v2"})
    assert bad.exit_code == ExitCode.CONFIG and "KRAKEN_FUTURES_DIALECT" in bad.stderr
    run("cancel", "--cli-ord-id", "env-1", env=env, futures=False)


def test_a_refused_order_exits_6_with_the_legacy_status(run: Any, sim: Any) -> None:
    crossing = str(sim.best_ask + 100)
    result = run("order", "buy", SYMBOL, "0.01", "--limit", crossing, "--post",
                 "--dialect", "unified", "--json")  # fmt: skip
    assert result.exit_code == ExitCode.ORDER_REFUSED, result.stderr
    doc = json.loads(result.stdout)
    assert doc["accepted"] is False and doc["status"] == "postWouldExecute"
    assert doc["error"] and doc["order_id"]


def test_cancel_all_over_uws_names_the_cancelled_orders(run: Any, sim: Any) -> None:
    ids = []
    for n, ticks in enumerate((70, 71)):
        doc = _json(run("order", "buy", SYMBOL, "0.01", "--limit", _bid_below(sim, ticks),
                        "--cli-ord-id", f"all-{n}", "--dialect", "unified", "--json"))  # fmt: skip
        ids.append(doc["order_id"])
    result = _json(run("cancel", "--all", "--symbol", SYMBOL, "--dialect", "unified", "--json"))
    assert result["accepted"] is True and result["cancel_only"] == SYMBOL
    gone = {ref["order_id"]: ref["cli_ord_id"] for ref in result["cancelled_orders"]}
    assert gone == {ids[0]: "all-0", ids[1]: "all-1"}
    assert not set(ids) & set(_legacy_orders(run))
    nothing = _json(run("cancel", "--all", "--dialect", "unified", "--json"))
    assert nothing["status"] == "noOrdersToCancel" and nothing["cancelled_orders"] == []


def test_deadman_over_uws_arms_and_disarms(run: Any) -> None:
    armed = _json(run("deadman", "60", "--dialect", "unified", "--json"))
    assert armed["armed"] is True and armed["timeout_s"] == 60
    table = run("deadman", "0", "--dialect", "unified")
    assert table.exit_code == 0, table.stderr
    assert "disarmed" in table.stdout


def test_missing_spot_credentials_exit_3_before_any_network_call(run: Any) -> None:
    for args in (
        ("order", "buy", SYMBOL, "0.01", "--limit", "1000"),
        ("cancel", "--cli-ord-id", "x"),
        ("deadman", "60"),
    ):
        result = run(*args, "--dialect", "unified", spot=False)
        assert result.exit_code == ExitCode.CONFIG, result.stderr
        assert "KRAKEN_SPOT_API_KEY" in result.stderr and "KRAKEN_SPOT_API_SECRET" in result.stderr
        assert "Futures key" in result.stderr and "does not work on uws" in result.stderr


def test_a_spot_key_without_the_websocket_permission_is_an_auth_error(run: Any) -> None:
    result = run("deadman", "60", "--dialect", "unified",
                 env={"KRAKEN_SPOT_API_KEY": SPOT_NO_WS_KEY})  # fmt: skip
    assert result.exit_code == ExitCode.EXCHANGE, result.stderr


def test_mark_trigger_is_a_usage_error_on_uws(run: Any) -> None:
    result = run("order", "sell", SYMBOL, "0.01", "--stop", "1000", "--trigger", "mark",
                 "--dialect", "unified")  # fmt: skip
    assert result.exit_code == ExitCode.USAGE and "mark-price" in result.stderr


# -------------------------------------------------------------------------------------- watch


def _sim_levels(sim: Any, depth: int) -> tuple[list[list[str]], list[list[str]]]:
    view = sim._server.call(lambda: sim.exchange.book(SYMBOL))

    def norm(levels: Any) -> list[list[str]]:
        pairs = [(lv["price"], lv["qty"]) if isinstance(lv, dict) else lv for lv in levels]
        return [[str(Decimal(p).normalize()), str(Decimal(q).normalize())] for p, q in pairs]

    return norm(view.bids)[:depth], norm(view.asks)[:depth]


def test_watch_book_over_uws_streams_a_checksummed_snapshot(run: Any, sim: Any) -> None:
    events = _lines(run("watch", "--dialect", "unified", "book", SYMBOL.lower(),
                        "--seconds", "0.5", "--json", futures=False, spot=False))  # fmt: skip
    snap = next(e for e in events if e["kind"] == "book_snapshot")
    assert snap["symbol"] == SYMBOL and isinstance(snap["checksum"], int)
    levels = (
        [
            [str(Decimal(lv["price"]).normalize()), str(Decimal(lv["qty"]).normalize())]
            for lv in side
        ]
        for side in (snap["bids"], snap["asks"])
    )
    assert tuple(levels) == _sim_levels(sim, 10)
    assert not [e for e in events if e["kind"] == "book_checksum_mismatch"]


def test_watch_book_over_uws_draws_the_same_ladder(run: Any, sim: Any) -> None:
    result = run("watch", "book", SYMBOL, "--seconds", "0.5", "--depth", "2",
                 "--dialect", "unified", futures=False, spot=False)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "bid qty" in result.stdout and "ask qty" in result.stdout
    spread = sim.best_ask - sim.best_bid
    assert f"spread {spread.normalize():f}" in result.stdout
    assert f"{sim.best_bid.normalize():f}" in result.stdout


def test_watch_ticker_over_uws(run: Any, sim: Any) -> None:
    events = _lines(run("watch", "ticker", SYMBOL, "PF_ETHUSD", "--seconds", "0.5", "--json",
                        "--dialect", "unified", futures=False, spot=False))  # fmt: skip
    tickers = {e["symbol"]: e for e in events if e["kind"] in ("ticker", "ticker_snapshot")}
    assert set(tickers) == {SYMBOL, "PF_ETHUSD"}
    assert Decimal(tickers[SYMBOL]["bid"]) == sim.best_bid
    assert any(e["kind"] == "subscribed" for e in events)
    table = run("watch", "ticker", SYMBOL, "--seconds", "0.5", "--dialect", "unified")
    assert table.exit_code == 0 and "Tickers" in table.stdout
    assert f"{sim.best_bid.normalize():f}" in table.stdout


def test_watch_trades_over_uws_prints_lines(run: Any) -> None:
    result = run("watch", "trades", SYMBOL, "--seconds", "0.5", "--dialect", "unified")
    assert result.exit_code == 0, result.stderr


def test_watch_unknown_symbol_over_uws_is_a_usage_error(run: Any) -> None:
    result = run("watch", "book", "PF_NOPEUSD", "--seconds", "2", "--dialect", "unified")
    assert result.exit_code == ExitCode.USAGE, result.stderr
    assert "refused" in result.stderr


def test_watch_positions_over_uws_shows_what_legacy_shows(run: Any) -> None:
    def rows(*dialect: str) -> dict[str, tuple[Decimal, Decimal]]:
        result = run("watch", *dialect, "positions", "--seconds", "0.5", "--json")
        assert result.exit_code == 0, result.stderr
        events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        first = next(e for e in events if e["kind"] == "open_positions")
        return {
            p["symbol"]: (Decimal(p["qty"]), Decimal(p["entry_price"])) for p in first["positions"]
        }

    assert rows("--dialect", "unified") == rows("--dialect", "legacy")
