"""The state file: snapshot + journal in SQLite; a crash loses nothing that was recorded.

The crash test runs this file as a script in a subprocess that records a seeded scenario and
dies with ``os._exit`` (no close, no checkpoint); the test then restores and replays and must land
on exactly the state of the same scenario run without a crash.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.errors import ConfigError, StateError
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.market import MarketConfig, SyntheticMarket
from krakenfutures.sim.persist import StateStore

HOUR = 3_600_000
T0 = 491_000 * HOUR + 59 * 60_000  # a minute before an hour boundary: funding gets replayed too
MARKET = MarketConfig(symbols=("PF_XBTUSD", "PI_XBTUSD"))


# ------------------------------------------------------------------------------- the scenario


def apply(ex: Exchange, market: SyntheticMarket, kind: str, payload: dict[str, Any]) -> None:
    """Apply one journalled input (what the Simulator's replay does, in miniature)."""
    if kind == "tick":
        market.step(payload["now_ms"])
        ex.advance(payload["now_ms"])
    elif kind == "send":
        ex.send_order(
            payload["account"],
            symbol=payload["symbol"],
            side=payload["side"],
            order_type=payload["order_type"],
            qty=Decimal(payload["qty"]),
            limit_price=Decimal(payload["limit_price"]) if payload["limit_price"] else None,
            now_ms=payload["now_ms"],
        )
    elif kind == "cancel_all":
        ex.cancel_all_orders(payload["account"], now_ms=payload["now_ms"])
    else:  # pragma: no cover
        raise AssertionError(kind)


def fresh() -> tuple[Exchange, SyntheticMarket]:
    ex = Exchange(rng=random.Random(1), now_ms=T0)
    ex.open_account("user")
    return ex, SyntheticMarket(ex, MARKET, random.Random(2))


def full_snapshot(ex: Exchange, market: SyntheticMarket) -> dict[str, Any]:
    return {"exchange": ex.snapshot(), "market": market.snapshot()}


def scenario(
    steps: int,
    record: Callable[[str, dict[str, Any]], None],
    snapshot: Callable[[dict[str, Any]], None],
) -> tuple[Exchange, SyntheticMarket]:
    """Ticks every 2 s with a user trading; a snapshot at the start and one half way."""
    ex, market = fresh()
    snapshot(full_snapshot(ex, market))
    rng = random.Random(3)
    for i in range(steps):
        now = T0 + (i + 1) * 2_000
        inputs: list[tuple[str, dict[str, Any]]] = [("tick", {"now_ms": now})]
        if i % 3 == 0:
            symbol = rng.choice(("PF_XBTUSD", "PI_XBTUSD"))
            spec = ex.instrument(symbol)
            kind = rng.choice(("lmt", "mkt", "post"))
            ticks = spec.floor_ticks(ex.ticker(symbol).mark_price) + rng.randint(-15, 15)
            lots = rng.randint(1, 30) * (1 if symbol == "PI_XBTUSD" else 10)
            inputs.append(
                (
                    "send",
                    {
                        "account": "user",
                        "symbol": symbol,
                        "side": rng.choice(("buy", "sell")),
                        "order_type": kind,
                        "qty": str(spec.lots_to_qty(lots)),
                        "limit_price": None if kind == "mkt" else str(spec.ticks_to_price(ticks)),
                        "now_ms": now,
                    },
                )
            )
        if i % 40 == 39:
            inputs.append(("cancel_all", {"account": "user", "now_ms": now}))
        for kind_, payload in inputs:
            apply(ex, market, kind_, payload)
            record(kind_, payload)  # after applying, before any reply would go out
        if i == steps // 2:
            snapshot(full_snapshot(ex, market))
    return ex, market


def restore_and_replay(store: StateStore) -> tuple[Exchange, SyntheticMarket]:
    snap, journal = store.load()
    assert snap is not None
    ex = Exchange.restore(snap["exchange"])
    market = SyntheticMarket(ex, MarketConfig(), random.Random(0))
    market.restore(snap["market"])
    for kind, payload in journal:
        apply(ex, market, kind, payload)
    return ex, market


STEPS = 90


def test_crash_then_restore_and_replay_lands_on_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    done = subprocess.run(
        [sys.executable, __file__, str(path), str(STEPS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert Path(f"{path}-wal").exists(), "the crashed writer never checkpointed"

    expected_ex, expected_market = scenario(STEPS, lambda k, p: None, lambda s: None)
    with StateStore(path) as store:
        assert store.journal_size > 0
        ex, market = restore_and_replay(store)
    assert ex.snapshot() == expected_ex.snapshot()
    assert market.snapshot() == expected_market.snapshot()
    assert ex.fills("user"), "the scenario traded"
    assert ex.funding_history("PF_XBTUSD"), "an hour boundary was replayed"


def test_close_without_snapshot_then_reopen_replays(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = StateStore(path)
    original, original_market = scenario(40, store.record, store.write_snapshot)
    store.close()  # no final snapshot: the journal since the half-way one carries the rest
    with StateStore(path) as reopened:
        assert reopened.journal_size == len(reopened.load()[1]) > 0
        ex, market = restore_and_replay(reopened)
    assert ex.snapshot() == original.snapshot()
    assert market.snapshot() == original_market.snapshot()


# ------------------------------------------------------------------------------ store basics


def test_new_file_is_empty_and_record_needs_a_base_snapshot(tmp_path: Path) -> None:
    with StateStore(tmp_path / "s.db") as store:
        assert store.load() == (None, [])
        assert not store.has_snapshot
        with pytest.raises(StateError, match="write_snapshot"):
            store.record("tick", {"now_ms": 1})


def test_snapshot_truncates_the_journal_and_seq_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateStore(path) as store:
        store.write_snapshot({"v": 1})
        store.record("tick", {"now_ms": 1})
        store.record("http", {"body": "YQ==", "price": Decimal("1.50")})
        assert store.journal_size == 2
        assert store.load() == (
            {"v": 1},
            [("tick", {"now_ms": 1}), ("http", {"body": "YQ==", "price": "1.50"})],
        )
        store.write_snapshot({"v": 2})
        assert store.journal_size == 0
        assert store.load() == ({"v": 2}, [])
        store.record("tick", {"now_ms": 2})
    with StateStore(path) as store:
        assert store.has_snapshot and store.journal_size == 1
        store.record("tick", {"now_ms": 3})
        assert store.load() == ({"v": 2}, [("tick", {"now_ms": 2}), ("tick", {"now_ms": 3})])
    with closing(sqlite3.connect(path)) as db:  # seq kept growing across the reopen
        assert [r[0] for r in db.execute("SELECT seq FROM journal ORDER BY seq")] == [3, 4]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "s.db")
    store.close()
    store.close()  # idempotent
    with pytest.raises(StateError, match="closed"):
        store.load()


def test_a_second_simulator_on_the_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with StateStore(path), pytest.raises(ConfigError, match="in use by another simulator"):
        StateStore(path)
    StateStore(path).close()  # free again once the first one closed


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all, just some text " * 20)
    with pytest.raises(ConfigError, match="not a SQLite database"):
        StateStore(text)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
        db.commit()
    with pytest.raises(ConfigError, match="holds other data"):
        StateStore(other)
    wrong = tmp_path / "wrong.db"
    StateStore(wrong).close()
    with closing(sqlite3.connect(wrong)) as db:
        db.execute("UPDATE meta SET value = 'other/9' WHERE key = 'format'")
        db.commit()
    with pytest.raises(ConfigError, match="other/9"):
        StateStore(wrong)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=25, deadline=None)
@given(payloads=st.lists(st.dictionaries(st.text(), json_values, max_size=5), max_size=5))
def test_payloads_round_trip_exactly(
    tmp_path_factory: pytest.TempPathFactory, payloads: list[dict[str, Any]]
) -> None:
    path = tmp_path_factory.mktemp("rt") / "s.db"
    with StateStore(path) as store:
        store.write_snapshot({"floats": [0.1, 1e-300, -2.5e300]})
        for payload in payloads:
            store.record("k", payload)
    with StateStore(path) as store:
        snap, journal = store.load()
    assert snap == {"floats": [0.1, 1e-300, -2.5e300]}
    assert journal == [("k", p) for p in payloads]
    assert json.dumps(journal)  # plain JSON values only


if __name__ == "__main__":  # the crashing writer of the crash test
    target, steps = sys.argv[1], int(sys.argv[2])
    writer = StateStore(target)
    scenario(steps, writer.record, writer.write_snapshot)
    os._exit(0)  # die without closing: no checkpoint, the WAL holds the tail
