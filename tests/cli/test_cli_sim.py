"""`kf` end to end against the real simulator over loopback (``krakenfutures.testing.
running_simulator``). Skipped only while that helper does not exist yet."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.cli.common import ExitCode

testing = pytest.importorskip("krakenfutures.testing")
if not hasattr(testing, "running_simulator"):
    pytest.skip(
        "krakenfutures.testing.running_simulator is not available yet", allow_module_level=True
    )

SYMBOL = "PF_XBTUSD"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    # The synthetic market on, so there is a book to cross and liquidity to take.
    with testing.running_simulator(testing.sim_config(seed=7, market=True)) as handle:
        handle.tick()
        yield handle


@pytest.fixture
def run(kf, sim, clean_env):
    """``run(*args, keyed=True)``: kf against the simulator with its API key."""
    keyed = {
        **clean_env,
        "KRAKEN_FUTURES_API_KEY": sim.api_key,
        "KRAKEN_FUTURES_API_SECRET": sim.api_secret,
    }

    def invoke(*args: str, keyed_env: bool = True, env: dict[str, Any] | None = None):
        return kf(
            "--base-url", sim.base_url, *args, env={**(keyed if keyed_env else {}), **(env or {})}
        )

    return invoke


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _mark(run) -> Decimal:
    ticker = _json(run("--json", "tickers", SYMBOL))[0]
    price = ticker["mark_price"] or ticker["last"]
    assert price is not None
    return Decimal(price)


def test_read_commands_work_against_the_simulator(run) -> None:
    symbols = {row["symbol"] for row in _json(run("--json", "instruments", keyed_env=False))}
    assert SYMBOL in symbols
    for args in (
        ["instruments"],
        ["tickers"],
        ["book", SYMBOL],
        ["trades", SYMBOL],
        ["status"],
        ["funding", SYMBOL, "--size", "1", "--hours", "8"],
        ["fees"],
        ["balances"],
        ["positions"],
        ["orders"],
        ["fills"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.strip(), args


def test_book_is_sorted(run) -> None:
    doc = _json(run("--json", "book", SYMBOL, "--depth", "5", keyed_env=False))
    bids = [Decimal(p) for p, _ in doc["bids"]]
    asks = [Decimal(p) for p, _ in doc["asks"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    if bids and asks:
        assert bids[0] < asks[0]


def test_status_checks_notifications_with_a_key(run) -> None:
    doc = _json(run("--json", "status", SYMBOL))
    assert doc["notifications_checked"] is True
    assert doc["verdicts"][0]["state"] in {"open", "post_only", "suspended", "maintenance"}
    public = _json(run("--json", "status", SYMBOL, keyed_env=False))
    assert public["notifications_checked"] is False


def test_funding_next_time_is_an_hour_boundary(run) -> None:
    doc = _json(run("--json", "funding", SYMBOL, "--size", "1", "--hours", "8"))
    assert doc["next_funding_time_ms"] % 3_600_000 == 0
    assert doc["cost"]["currency"] == "USD"


def test_resting_post_order_shows_up_and_cancels(run) -> None:
    price = (_mark(run) / 2).quantize(Decimal(1))
    placed = _json(
        run(
            "--json",
            "order",
            "buy",
            SYMBOL,
            "0.001",
            "--limit",
            str(price),
            "--post",
            "--cli-ord-id",
            "cli-test-rest-1",
        )
    )
    assert placed["accepted"] is True and placed["status"] == "placed"
    order_id = placed["order_id"]
    open_ids = {row["order_id"] for row in _json(run("--json", "orders"))}
    assert order_id in open_ids
    assert run("cancel", order_id).exit_code == 0
    again = run("cancel", order_id)
    assert again.exit_code == ExitCode.ORDER_REFUSED
    assert "notFound" in again.stderr


def test_crossing_post_order_is_refused_with_exit_6(run) -> None:
    price = (_mark(run) * Decimal("1.01")).quantize(
        Decimal(1)
    )  # through the ask, inside the collar
    result = run("order", "buy", SYMBOL, "0.001", "--limit", str(price), "--post")
    assert result.exit_code == ExitCode.ORDER_REFUSED, result.stderr
    assert "postWouldExecute" in result.stderr


def test_oversized_order_is_refused_with_exit_6(run) -> None:
    result = run("order", "buy", SYMBOL, "1000")
    assert result.exit_code == ExitCode.ORDER_REFUSED, result.stderr
    assert "not accepted" in result.stderr


def test_small_market_order_is_accepted(run) -> None:
    doc = _json(run("--json", "order", "buy", SYMBOL, "0.001"))
    assert doc["accepted"] is True
    assert doc["order_type"] == "mkt"


def test_deadman_arms_and_disarms(run) -> None:
    assert _json(run("--json", "deadman", "60"))["armed"] is True
    assert _json(run("--json", "deadman", "0"))["armed"] is False


def test_wrong_secret_is_exit_4(run, sim) -> None:
    wrong = base64.b64encode(b"\x01" * 64).decode()
    result = run("balances", env={"KRAKEN_FUTURES_API_SECRET": wrong})
    assert result.exit_code == ExitCode.EXCHANGE
    assert "authenticationError" in result.stderr
    assert wrong not in result.stderr


def test_unknown_symbol_is_a_usage_error(run) -> None:
    result = run("book", "PF_XBTUSDX", keyed_env=False)
    assert result.exit_code == ExitCode.USAGE
    assert "PF_XBTUSD" in result.stderr
