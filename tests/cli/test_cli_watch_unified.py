"""`kf watch orders|fills|positions --dialect unified` against the simulator over loopback:
orders, fills and the position they made, placed over legacy REST, show up on the Unified
WebSocket views (one account, two dialects), in the legacy views' shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.cli.common import ExitCode
from krakenfutures.testing import SPOT_KEY, SPOT_SECRET, loopback_client

from .sim_accounts import OTHER_KEY, running_with_other

SYMBOL = "PF_XBTUSD"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A simulator with Spot keys on ``main``, an ask at 61000 from account ``other``, and on
    ``main`` one resting bid (``order_id`` at ``order_price``) and one fill (an IOC buy of 0.01
    taking that ask, ``fill_order_id`` at ``fill_price``), both placed over legacy REST."""
    with running_with_other(spot=True, market=True) as handle:
        maker = loopback_client(handle, api_key=OTHER_KEY)
        maker.send_order(order_type="lmt", symbol=SYMBOL, side="sell", qty=Decimal("0.05"),
                         limit_price=Decimal(61000))  # fmt: skip
        maker.close()
        client = loopback_client(handle)
        resting = client.send_order(order_type="lmt", symbol=SYMBOL, side="buy",
                                    qty=Decimal("0.01"), limit_price=Decimal(58000),
                                    cli_ord_id="watch-uws-1")  # fmt: skip
        taking = client.send_order(order_type="ioc", symbol=SYMBOL, side="buy",
                                   qty=Decimal("0.01"), limit_price=Decimal(61000))  # fmt: skip
        client.close()
        handle.order_id, handle.order_price = resting.order_id, Decimal(58000)
        handle.fill_order_id, handle.fill_price = taking.order_id, Decimal(61000)
        yield handle


@pytest.fixture
def run(kf: Any, sim: Any, clean_env: dict[str, Any]) -> Any:
    """``run(*args, spot=True)``: `kf --base-url <sim> watch ... --dialect unified` with the
    Spot key in the environment and no Futures key (so nothing can fall back to legacy)."""

    def invoke(*args: str, spot: bool = True) -> Any:
        keys = {
            "KRAKEN_FUTURES_DIALECT": None,
            "KRAKEN_FUTURES_API_KEY": None,
            "KRAKEN_FUTURES_API_SECRET": None,
            "KRAKEN_SPOT_API_KEY": SPOT_KEY if spot else None,
            "KRAKEN_SPOT_API_SECRET": SPOT_SECRET if spot else None,
        }
        return kf("--base-url", sim.base_url, "watch", *args, "--dialect", "unified",
                  env={**clean_env, **keys})  # fmt: skip

    return invoke


def _lines(result: Any) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_an_order_placed_over_rest_is_in_the_unified_orders_view(run: Any, sim: Any) -> None:
    events = _lines(run("orders", "--seconds", "0.5", "--json"))
    snapshot = next(e for e in events if e["kind"] == "open_orders_snapshot")
    orders = {o["order_id"]: o for o in snapshot["orders"]}
    assert sim.fill_order_id not in orders  # the IOC filled: not open
    order = orders[sim.order_id]
    assert order["symbol"] == SYMBOL and order["side"] == "buy" and order["type"] == "limit"
    assert order["cli_ord_id"] == "watch-uws-1"
    assert Decimal(order["qty"]) == Decimal("0.01") and Decimal(order["filled"]) == 0
    assert Decimal(order["limit_price"]) == sim.order_price


def test_the_unified_orders_table_lists_the_order(run: Any, sim: Any) -> None:
    result = run("orders", "--seconds", "0.5")
    assert result.exit_code == 0, result.stderr
    assert "Open orders (1)" in result.stdout and sim.order_id in result.stdout


def test_a_fill_is_in_the_unified_fills_view(run: Any, sim: Any) -> None:
    events = _lines(run("fills", "--seconds", "0.5", "--json"))
    fills = [f for e in events if e["kind"] == "fills" for f in e["fills"]]
    mine = [f for f in fills if f["order_id"] == sim.fill_order_id]
    assert len(mine) == 1, fills
    fill = mine[0]
    assert fill["symbol"] == SYMBOL and fill["side"] == "buy" and fill["fill_type"] == "taker"
    assert Decimal(fill["qty"]) == Decimal("0.01") and Decimal(fill["price"]) == sim.fill_price
    assert fill["fee_currency"] == "USD" and Decimal(fill["fee_paid"]) > 0
    lines = run("fills", "--seconds", "0.5")
    assert lines.exit_code == 0, lines.stderr
    assert re.search(rf"buy\s+0\.010* @ {sim.fill_price.normalize():f}\s+taker", lines.stdout)


def test_unified_watch_needs_a_spot_key(run: Any) -> None:
    for view in ("orders", "fills", "positions"):
        result = run(view, "--seconds", "0.3", spot=False)
        assert result.exit_code == ExitCode.CONFIG, result.stderr
        assert "KRAKEN_SPOT_API_KEY" in result.stderr


def test_the_position_from_the_fill_is_in_the_unified_positions_view(run: Any, sim: Any) -> None:
    events = _lines(run("positions", "--seconds", "0.5", "--json"))
    first = next(e for e in events if e["kind"] == "open_positions")
    (position,) = first["positions"]
    assert position["symbol"] == SYMBOL and Decimal(position["qty"]) == Decimal("0.01")
    assert Decimal(position["entry_price"]) == sim.fill_price
    table = run("positions", "--seconds", "0.5")
    assert table.exit_code == 0, table.stderr
    assert "Positions (1)" in table.stdout and SYMBOL in table.stdout and "0.01" in table.stdout
