"""`kf watch positions --dialect unified` following the uws ``positions`` channel live, against
the simulator over loopback: a fill made over legacy REST while the view runs prints the new
position, closing it prints it gone, and the rows match the legacy view's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.testing import SPOT_KEY, SPOT_SECRET, loopback_client

from .sim_accounts import OTHER_KEY, running_with_other

SYMBOL = "PF_XBTUSD"


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A simulator with Spot keys on ``main`` (flat) and a second account ``other``."""
    with running_with_other(spot=True) as handle:
        yield handle


@pytest.fixture
def run(kf: Any, sim: Any, clean_env: dict[str, Any]) -> Any:
    """``run(*args, dialect=...)``: `kf --base-url <sim> watch positions ...` with both keys."""

    def invoke(*args: str, dialect: str = "unified") -> Any:
        keys = {
            "KRAKEN_FUTURES_DIALECT": None,
            "KRAKEN_FUTURES_API_KEY": sim.api_key,
            "KRAKEN_FUTURES_API_SECRET": sim.api_secret,
            "KRAKEN_SPOT_API_KEY": SPOT_KEY,
            "KRAKEN_SPOT_API_SECRET": SPOT_SECRET,
        }
        return kf("--base-url", sim.base_url, "watch", "positions", "--dialect", dialect, *args,
                  env={**clean_env, **keys})  # fmt: skip

    return invoke


def _trade_once_watched(sim: Any, side: str) -> threading.Thread:
    """In the background: once a new ``positions`` subscription of ``main`` is live (so its
    snapshot is out), ``main`` trades 0.01 ``side`` against ``other`` over legacy REST."""

    index, key = sim.simulator.uws_hub._index, ("positions", "main")
    earlier = set(index.get(key, ()))  # a previous view's connection may still be closing

    def trade() -> None:
        deadline = time.monotonic() + 10
        while not set(index.get(key, ())) - earlier and time.monotonic() < deadline:
            time.sleep(0.01)
        maker, taker = loopback_client(sim, api_key=OTHER_KEY), loopback_client(sim)
        against = "sell" if side == "buy" else "buy"
        maker.send_order(order_type="lmt", symbol=SYMBOL, side=against, qty=Decimal("0.01"),
                         limit_price=Decimal(60000))  # fmt: skip
        taker.send_order(order_type="ioc", symbol=SYMBOL, side=side, qty=Decimal("0.01"),
                         limit_price=Decimal(60000))  # fmt: skip
        maker.close()
        taker.close()

    thread = threading.Thread(target=trade, daemon=True)
    thread.start()
    return thread


def _position_lines(result: Any) -> list[dict[str, tuple[Decimal, Decimal]]]:
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [
        {p["symbol"]: (Decimal(p["qty"]), Decimal(p["entry_price"])) for p in e["positions"]}
        for e in events
        if e["kind"] == "open_positions"
    ]


def test_a_fill_while_watching_prints_the_position_then_closing_removes_it(
    run: Any, sim: Any
) -> None:
    opening = _trade_once_watched(sim, "buy")
    lines = _position_lines(run("--seconds", "1.5", "--json"))
    opening.join(5)
    assert lines[0] == {}  # the snapshot: flat
    assert lines[-1] == {SYMBOL: (Decimal("0.01"), Decimal(60000))}
    legacy = run("--seconds", "0.5", "--json", dialect="legacy")
    assert legacy.exit_code == 0, legacy.stderr
    events = [json.loads(line) for line in legacy.stdout.splitlines() if line.strip()]
    snapshot = next(e for e in events if e["kind"] == "open_positions")
    assert {
        p["symbol"]: (Decimal(p["qty"]), Decimal(p["entry_price"])) for p in snapshot["positions"]
    } == lines[-1]
    closing = _trade_once_watched(sim, "sell")
    lines = _position_lines(run("--seconds", "1.5", "--json"))
    closing.join(5)
    assert lines[0] == {SYMBOL: (Decimal("0.01"), Decimal(60000))}
    assert lines[-1] == {}  # size 0 on the channel: flat, left out as the legacy view does
    table = run("--seconds", "0.3")
    assert table.exit_code == 0, table.stderr
    assert "Positions (0)" in table.stdout
