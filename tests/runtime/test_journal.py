"""Journal: exact round trips, restore after reopen, kill -9 mid-write, no double booking,
schema versions, one writer per file, secrets redacted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.config import Secret
from krakenfutures.core.events import FundingPaid, Halted, OrderDenied, TradingStateChanged
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.errors import ConfigError, StateError, ValidationError
from krakenfutures.oms import FillRecord, OrderTracker, PositionBook
from krakenfutures.oms.tracker import TrackedOrder
from krakenfutures.runtime import journal as journal_mod
from krakenfutures.runtime.journal import (
    SCHEMA_VERSION,
    Journal,
    JournalState,
    decode_fill,
    decode_funding,
    decode_order,
    decode_request,
    default_journal_path,
    encode_fill,
    encode_funding,
    encode_order,
    encode_request,
    rebuild_positions,
)

SYM = "PF_XBTUSD"
SECRET = "c2VjcmV0LXRlc3Qtc2VjcmV0LWJ5dGVzLTEyMzQ1Ng=="


def intent(cli_ord_id: str = "bot-1", qty: str = "1", price: str = "100") -> OrderIntent:
    return OrderIntent(SYM, Side.BUY, D(qty), limit_price=D(price), cli_ord_id=cli_ord_id)


def order(
    cli_ord_id: str = "bot-1", state: OrderState = OrderState.PENDING_NEW, **kw
) -> TrackedOrder:
    return TrackedOrder(
        intent(cli_ord_id), kw.pop("strategy", "mm"), state, 1, kw.pop("ts", 1), **kw
    )


def fill(
    fill_id: str, side: Side = Side.BUY, qty: str = "1", price: str = "100", **kw
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        order_id=kw.get("order_id", "o1"),
        cli_ord_id=kw.get("cli_ord_id", "bot-1"),
        symbol=kw.get("symbol", SYM),
        side=side,
        qty=D(qty),
        price=D(price),
        fee=D(kw.get("fee", "0.05")),
        fee_currency="USD",
        ts_ms=kw.get("ts_ms", 1),
        maker=True,
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


# ------------------------------------------------------------------ hypothesis strategies

# Digits and exponents drawn directly (st.decimals with bounds is slow); trailing zeros,
# exponents and negative zero are what an inexact encoding would lose.
positive = st.builds(lambda m, e: D(m).scaleb(e), st.integers(1, 10**15), st.integers(-12, 6))
finite = st.builds(
    lambda m, e, neg: D(m).scaleb(e).copy_negate() if neg else D(m).scaleb(e),
    st.integers(0, 10**15),
    st.integers(-12, 12),
    st.booleans(),
)
text = st.text(max_size=12)
ids = st.text(max_size=20)
symbols = st.sampled_from(["PF_XBTUSD", "pi_ethusd", "FF_XBTUSD_240628"])
NEEDS_LIMIT = {OrderType.LMT, OrderType.POST, OrderType.IOC, OrderType.FOK}
NEEDS_STOP = {OrderType.STP, OrderType.TAKE_PROFIT}


@st.composite
def order_intents(draw: st.DrawFn) -> OrderIntent:
    order_type = draw(st.sampled_from(OrderType))
    limit = draw(positive) if order_type in NEEDS_LIMIT or draw(st.booleans()) else None
    stop = draw(positive) if order_type in NEEDS_STOP or draw(st.booleans()) else None
    return OrderIntent(
        symbol=draw(symbols),
        side=draw(st.sampled_from(Side)),
        qty=draw(positive),
        order_type=order_type,
        limit_price=limit,
        stop_price=stop,
        reduce_only=draw(st.booleans()),
        post_only=order_type in (OrderType.LMT, OrderType.POST) and draw(st.booleans()),
        cli_ord_id=draw(ids),
        process_before_ms=draw(st.none() | st.integers(0, 2**62)),
    )


amend_intents = st.builds(
    AmendIntent,
    cli_ord_id=st.text(min_size=1, max_size=20),
    qty=st.none() | positive,
    limit_price=positive,
    stop_price=st.none() | positive,
    order_id=st.none() | ids,
)
cancel_intents = st.builds(
    CancelIntent, cli_ord_id=st.text(min_size=1, max_size=20), order_id=st.none() | ids
)
tracked_orders = st.builds(
    TrackedOrder,
    intent=order_intents(),
    strategy=text,
    state=st.sampled_from(OrderState),
    sent_ts_ms=st.integers(0, 2**62),
    updated_ts_ms=st.integers(0, 2**62),
    order_id=st.none() | ids,
    filled_qty=finite,
    reported_filled_qty=finite,
    acknowledged=st.booleans(),
    unknown_since_ms=st.none() | st.integers(0, 2**62),
    proven_absent=st.booleans(),
    reason=text,
    resend_of=st.none() | ids,
    resent_as=st.none() | ids,
    cancel_wanted=st.booleans(),
    pending_amend=st.none() | amend_intents,
    fill_ids=st.frozensets(ids, max_size=5),
)
fills = st.builds(
    FillRecord,
    fill_id=st.text(min_size=1, max_size=20),
    order_id=ids,
    cli_ord_id=st.none() | ids,
    symbol=symbols,
    side=st.sampled_from(Side),
    qty=positive,
    price=positive,
    fee=finite,
    fee_currency=st.sampled_from(["USD", "XBT"]),
    ts_ms=st.integers(0, 2**62),
    maker=st.booleans(),
)
payments = st.builds(
    FundingPaid,
    symbol=symbols,
    amount=finite,
    ts_ms=st.integers(0, 2**62),
    strategy=text,
    payment_id=ids,
)


def exact(value: object) -> str:
    """JSON of the encoding: equal strings mean equal digits and exponents, not just values."""
    return json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------------------- round trips


@given(tracked_orders)
def test_order_dict_round_trip_is_exact(o: TrackedOrder) -> None:
    data = encode_order(o)
    back = decode_order(json.loads(json.dumps(data)))
    assert back == o
    assert exact(encode_order(back)) == exact(data)
    assert data["fill_ids"] == sorted(o.fill_ids)


@given(fills, payments)
def test_fill_and_funding_dict_round_trips_are_exact(f: FillRecord, p: FundingPaid) -> None:
    assert decode_fill(json.loads(json.dumps(encode_fill(f)))) == f
    assert exact(encode_fill(decode_fill(encode_fill(f)))) == exact(encode_fill(f))
    assert decode_funding(json.loads(json.dumps(encode_funding(p)))) == p
    assert exact(encode_funding(decode_funding(encode_funding(p)))) == exact(encode_funding(p))


@given(order_intents(), amend_intents, cancel_intents)
def test_request_dict_round_trips(
    submit: OrderIntent, amend: AmendIntent, cancel: CancelIntent
) -> None:
    for action, item in (("submit", submit), ("amend", amend), ("cancel", cancel)):
        assert decode_request(json.loads(json.dumps(encode_request(action, item)))) == (
            action,
            item,
        )


@settings(max_examples=40, deadline=None)
@given(tracked_orders, fills, payments, order_intents())
def test_records_round_trip_through_the_file(
    o: TrackedOrder, f: FillRecord, p: FundingPaid, submit: OrderIntent
) -> None:
    stamped = replace(submit, cli_ord_id=submit.cli_ord_id or "x-1")
    with tempfile.TemporaryDirectory() as d:
        with Journal(Path(d) / "j.sqlite") as j:
            j.record_order(o, ts_ms=1)
            j.record_fill(f, strategy="s", ts_ms=2)
            j.record_funding(p, ts_ms=3)
            j.record_request("submit", stamped, strategy="s", ts_ms=4)
        with Journal(Path(d) / "j.sqlite") as j:
            records = list(j.iter_records())
            state = j.restore()
    assert [r.value() for r in records] == [o, f, p, ("submit", stamped)]
    assert exact(records[0].payload) == exact(encode_order(o))
    assert state.orders[0] == o
    assert state.fills[0].fill == f and state.fills[0].strategy == "s"
    assert state.funding[0].payment == p


def test_decoding_damaged_data_raises_state_error() -> None:
    with pytest.raises(StateError, match="cannot be decoded"):
        decode_order({"intent": {"symbol": SYM}})
    with pytest.raises(StateError, match="unknown action"):
        decode_request({"action": "explode", "intent": {}})


# -------------------------------------------------------------------------------- restore


def test_restore_after_reopen_gives_latest_orders_fills_funding_events_and_ids(path: Path) -> None:
    with Journal(path) as j:
        j.record_meta("run_start", {"venue": "sim"}, ts_ms=0)
        j.record_meta("id_prefix", {"prefix": "bot"}, ts_ms=0)
        j.record_order(order("bot-1"), ts_ms=1)
        j.record_order(order("bot-2"), ts_ms=2)
        j.record_order(order("bot-1", OrderState.OPEN, order_id="X1", ts=3), ts_ms=3)
        j.record_fill(fill("f1", order_id="X1"), strategy="mm", ts_ms=4)
        j.record_funding(FundingPaid(SYM, D("0.25"), 5, strategy="mm", payment_id="p1"), ts_ms=5)
        j.record_domain_event(Halted("manual", "operator said stop", 6))
        j.record_event("alert", "spread wide", ts_ms=7, strategy="mm", data={"bps": D("12.5")})
    with Journal(path) as j:
        state = j.restore()
    assert [o.cli_ord_id for o in state.orders] == ["bot-1", "bot-2"]  # first-seen order
    assert state.orders[0].state is OrderState.OPEN and state.orders[0].order_id == "X1"
    assert [(f.strategy, f.fill.fill_id) for f in state.fills] == [("mm", "f1")]
    assert state.funding[0].payment.amount == D("0.25")
    assert [(e.kind, e.text) for e in state.events] == [
        ("halted", "manual: operator said stop"),
        ("alert", "spread wide"),
    ]
    assert state.events[1].data == {"bps": "12.5"} and state.events[1].strategy == "mm"
    assert state.meta["run_start"] == {"venue": "sim"}
    assert state.prefixes == ("bot",)
    assert state.cli_ord_ids == {"bot-1", "bot-2"}
    assert state.in_flight == ("bot-2",)
    assert state.last_seq == 9 and not state.clean_stop

    tracker = OrderTracker(state.id_generator("bot"))
    for o in state.orders:
        tracker.restore(o)
    new = tracker.submit(OrderIntent(SYM, Side.SELL, D(1), limit_price=D(101)), now_ms=10)
    assert new.cli_ord_id == "bot-3"  # never a used id
    assert tracker.find(order_id="X1") is not None


def test_clean_stop_and_empty_journal(path: Path) -> None:
    with Journal(path) as j:
        assert j.restore() == JournalState()
        j.record_meta("run_start", ts_ms=1)
        j.record_order(order(), ts_ms=2)
        assert not j.restore().clean_stop
        j.record_meta("run_stop", ts_ms=3)
        assert j.restore().clean_stop
        assert j.last_seq == 3


def test_request_with_order_is_one_write_and_lone_submit_is_restored_pending(path: Path) -> None:
    with Journal(path) as j:
        pending = order("bot-1")
        j.record_request("submit", pending.intent, strategy="mm", ts_ms=1, order=pending)
        j.record_request(
            "submit", intent("bot-2"), strategy="tt", ts_ms=2
        )  # crash before its order
        cancelling = order("bot-1", OrderState.PENDING_CANCEL, ts=3)
        j.record_request("cancel", CancelIntent("bot-1"), strategy="mm", ts_ms=3, order=cancelling)
        state = j.restore()
        kinds = [(r.kind, r.key) for r in j.iter_records()]
    assert kinds == [
        ("request", "bot-1"),
        ("order", "bot-1"),
        ("request", "bot-2"),
        ("request", "bot-1"),
        ("order", "bot-1"),
    ]
    assert state.orders[0] == cancelling
    lone = state.orders[1]
    assert (lone.cli_ord_id, lone.strategy, lone.state, lone.sent_ts_ms) == (
        "bot-2",
        "tt",
        OrderState.PENDING_NEW,
        2,
    )
    assert state.in_flight == ("bot-1", "bot-2")


def test_duplicates_and_double_replay_never_double(path: Path) -> None:
    with Journal(path) as j:
        j.record_fill(fill("f1", qty="2", price="100"), strategy="a", ts_ms=1)
        j.record_fill(fill("f1", qty="2", price="100"), strategy="a", ts_ms=2)  # reply and feed
        j.record_fill(fill("f2", Side.SELL, qty="1", price="110"), strategy="a", ts_ms=3)
        j.record_fill(fill("f3", qty="5", price="90", cli_ord_id=None), strategy="b", ts_ms=4)
        pay = FundingPaid(SYM, D("0.4"), 5, strategy="a", payment_id="p1")
        j.record_funding(pay, ts_ms=5)
        j.record_funding(pay, ts_ms=6)
        j.record_funding(FundingPaid(SYM, D("-0.1"), 7, strategy="b"), ts_ms=7)
        j.record_funding(FundingPaid(SYM, D("-0.1"), 7, strategy="b"), ts_ms=8)
        first, second = j.restore(), j.restore()
    assert first == second
    assert [f.fill.fill_id for f in first.fills] == ["f1", "f2", "f3"]
    assert len(first.funding) == 2
    book = rebuild_positions(first)
    rebuild_positions(second, book)  # replaying into the same book books nothing again
    a, b = book.get("a", SYM), book.get("b", SYM)
    assert (a.qty, a.entry_price, a.realized_pnl, a.fees_paid, a.funding_paid) == (
        D(1),
        D(100),
        D(10),
        D("0.10"),
        D("0.4"),
    )
    assert (b.qty, b.funding_received, b.fill_count) == (D(5), D("0.1"), 1)
    assert rebuild_positions(second).positions() == book.positions()


def test_iter_records_reads_in_batches_and_since_seq(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_mod, "_BATCH", 3)
    with Journal(path) as j:
        for n in range(10):
            j.record_event("alert", f"n={n}", ts_ms=n)
        assert [r.seq for r in j.iter_records()] == list(range(1, 11))
        tail = list(j.iter_records(since_seq=7))
        assert [(r.seq, r.value().text) for r in tail] == [(8, "n=7"), (9, "n=8"), (10, "n=9")]
        assert len(j.restore(max_events=4).events) == 4


def test_domain_events(path: Path) -> None:
    with Journal(path) as j:
        j.record_domain_event(
            TradingStateChanged(SYM, TradingState.SUSPENDED, TradingState.OPEN, ("suspended",), 1)
        )
        j.record_domain_event(OrderDenied("mm", SYM, "submit", "max_position", "too big", 2))
        with pytest.raises(ValidationError):
            j.record_domain_event("halted")  # type: ignore[arg-type]
        events = j.restore().events
    assert events[0].kind == "trading_state" and "open -> suspended" in events[0].text
    assert events[1].strategy == "mm" and events[1].data["rule"] == "max_position"


# ------------------------------------------------------------------------------- kill -9

CHILD = r"""
import sys
from decimal import Decimal as D
from krakenfutures.core.events import FundingPaid
from krakenfutures.core.orders import OrderIntent, OrderState
from krakenfutures.oms.tracker import TrackedOrder
from krakenfutures.oms.venue import FillRecord
from krakenfutures.runtime.journal import Journal

import asyncio

async def main():
  # "loop": inside an event loop with the SQLite copy put off, so the kill lands with
  # records only in the write-ahead tail; "sync": no loop, every record copied at once.
  j = Journal(sys.argv[1], flush_delay_s=3600.0)
  base = j.last_seq * 10
  i = 0
  while True:
    if sys.argv[2] == "loop":
        await asyncio.sleep(0)
    i += 1
    n = base + i
    strategy = "ab"[n % 2]
    side = "sell" if n % 3 == 0 else "buy"
    qty, price = D(n % 7 + 1) / 1000, D(60000 + n % 100)
    o = TrackedOrder(OrderIntent("PF_XBTUSD", side, qty, limit_price=price, cli_ord_id=f"c-{n}"),
                     strategy, OrderState.PENDING_NEW, n, n)
    seq = j.record_request("submit", o.intent, strategy=strategy, ts_ms=n, order=o)
    f = FillRecord(f"f{n}", f"o{n}", f"c-{n}", "PF_XBTUSD", side, qty, price, D("0.0125"), "USD", n, n % 2 == 0)
    seq = j.record_fill(f, strategy=strategy, ts_ms=n)
    if n % 5 == 0:
        seq = j.record_funding(FundingPaid("PF_XBTUSD", D(n % 3 - 1) / 10, n, strategy, f"p{n}"), ts_ms=n)
    sys.stdout.write(f"{seq}\n")
    sys.stdout.flush()

if sys.argv[2] == "loop":
    asyncio.run(main())
else:
    # no running loop: drive the coroutine by hand (it never suspends in this mode)
    main().send(None)
"""


def _run_and_kill(path: Path, min_seq: int, mode: str) -> int:
    """Start a writer, let it journal past ``min_seq``, SIGKILL it; the last seq it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        last = 0
        for line in child.stdout:
            last = int(line)
            if last >= min_seq:
                break
        time.sleep(0.02)  # keep writing: the kill lands mid-loop, maybe mid-transaction
    finally:
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL
    return max([last, *(int(x) for x in out.split())])


@pytest.mark.parametrize("mode", ["sync", "loop"])
def test_kill_9_mid_write_leaves_a_gap_free_prefix_and_exact_positions(
    path: Path, mode: str
) -> None:
    reported = 0
    for round_min in (200, 500):  # kill, restart on the same journal, kill again
        reported = _run_and_kill(path, round_min, mode)
        with Journal(path) as j:
            records = list(j.iter_records())
            state = j.restore()
        seqs = [r.seq for r in records]
        assert seqs == list(range(1, len(records) + 1))  # contiguous, nothing torn
        assert len(records) >= reported  # every record reported written survived
        values = [r.value() for r in records]  # each payload decodes
        expected = PositionBook()
        for record, value in zip(records, values, strict=True):
            if record.kind == "fill":
                expected.apply_fill(value, strategy=record.strategy)
            elif record.kind == "funding":
                expected.apply_funding_payment(
                    value.strategy,
                    value.symbol,
                    value.amount,
                    ts_ms=value.ts_ms,
                    payment_id=value.payment_id,
                )
        rebuilt = rebuild_positions(state)
        assert rebuilt.positions() == expected.positions()
        assert sum(p.fill_count for p in rebuilt.positions()) == sum(
            r.kind == "fill" for r in records
        )
        assert rebuild_positions(state, rebuilt).positions() == expected.positions()
    assert len(state.cli_ord_ids) == len(state.orders)


def _copy_as_killed(src: Path, dst: Path) -> None:
    """What a ``kill -9`` leaves: the files as they are (SQLite's WAL, the journal's tail)."""
    for suffix in ("", "-wal", "-tail"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")


async def test_records_only_in_the_tail_survive_and_fold_into_sqlite(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    j = Journal(src, flush_delay_s=3600.0)
    j.record_meta("run_start", ts_ms=1)
    j.flush()
    seqs = [j.record_meta(f"m{i}", {"i": i}, ts_ms=i) for i in range(2, 40)]
    assert seqs == list(range(2, 40))
    assert Path(f"{src}-tail").stat().st_size > 0  # the 38 records live only in the tail
    _copy_as_killed(src, dst)
    with Journal(dst) as again:
        names = [r.key for r in again.iter_records()]
        assert names == ["run_start", *(f"m{i}" for i in range(2, 40))]
        assert again.last_seq == 39
        assert Path(f"{dst}-tail").stat().st_size == 0  # folded in, tail emptied
        assert again.record_meta("after", ts_ms=50) == 40  # seq continues without a hole
    j.close()


def test_a_torn_last_tail_line_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    src = tmp_path / "a.sqlite"
    with Journal(src) as j:
        j.record_meta("kept", ts_ms=1)
    tail = Path(f"{src}-tail")
    tail.write_bytes(b'[2,2,"meta",null,"also",{}]\n[3,3,"meta",null,"to')  # power cut
    with Journal(src) as j:
        assert [r.key for r in j.iter_records()] == ["kept", "also"]
        assert j.record_meta("next", ts_ms=4) == 3


def test_a_tail_that_does_not_continue_the_journal_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "a.sqlite"
    Journal(src).close()
    Path(f"{src}-tail").write_bytes(b'[7,2,"meta",null,"x",{}]\n')
    with pytest.raises(StateError, match=r"record 7 follows 0; the tail does not belong"):
        Journal(src)
    Path(f"{src}-tail").unlink()
    with Journal(src) as j:  # moving it away opens the journal
        assert j.last_seq == 0


def test_power_durability_writes_no_tail(tmp_path: Path) -> None:
    src = tmp_path / "a.sqlite"
    with Journal(src, durability="power") as j:
        j.record_meta("x", ts_ms=1)
        assert not Path(f"{src}-tail").exists()
        assert j.last_seq == 1


# ------------------------------------------------------------------ files, versions, locks


def test_newer_schema_version_is_refused(path: Path) -> None:
    Journal(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ConfigError, match=r"schema version 2, newer than .* reads \(1\)"):
        Journal(path)


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(ConfigError, match="holds other data"):
        Journal(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database, just some text" * 100)
    with pytest.raises(ConfigError, match="not a SQLite database"):
        Journal(junk)


def test_one_writer_per_file_and_lock_released_on_close(path: Path) -> None:
    first = Journal(path)
    with pytest.raises(ConfigError, match="in use by another process"):
        Journal(path)
    first.record_order(order(), ts_ms=1)
    first.close()
    first.close()  # idempotent
    with pytest.raises(StateError, match="closed"):
        first.record_order(order(), ts_ms=2)
    with Journal(path) as again:
        assert again.last_seq == 1


def test_file_is_private_and_power_durability_works(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "j.sqlite"
    with Journal(path, durability="power") as j:
        j.record_order(order(), ts_ms=1)
        assert "power" in repr(j)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ValidationError, match="durability"):
        Journal(path, durability="fast")  # type: ignore[arg-type]


def test_only_domain_objects_are_accepted(path: Path) -> None:
    with Journal(path) as j:
        with pytest.raises(ValidationError, match="TrackedOrder"):
            j.record_order({"cli_ord_id": "x"}, ts_ms=1)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="FillRecord"):
            j.record_fill("f1", strategy="", ts_ms=1)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="actions are submit"):
            j.record_request("amend", intent(), strategy="", ts_ms=1)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="needs the order's cli_ord_id"):
            j.record_request("submit", intent(""), strategy="", ts_ms=1)
        with pytest.raises(ValidationError, match="JSON-able"):
            j.record_event("alert", "x", ts_ms=1, data={"obj": object()})
        assert j.last_seq == 0


def test_default_journal_path_is_under_the_state_dir(tmp_path: Path) -> None:
    env = {"KRAKEN_FUTURES_STATE_DIR": str(tmp_path)}
    assert default_journal_path("mm-bot", env) == tmp_path / "journals" / "mm-bot.sqlite"
    assert default_journal_path("mm-bot", env, venue="demo").name == "mm-bot.demo.sqlite"
    assert not (tmp_path / "journals").exists()
    for bad in ("", "../etc", "a/b", ".hidden"):
        with pytest.raises(ValidationError):
            default_journal_path(bad, env)
    with pytest.raises(ValidationError, match="venue="):
        default_journal_path("mm-bot", "demo")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------- secrets


def test_configured_secrets_are_redacted_everywhere(path: Path) -> None:
    api_key = "pubkey-ABCDEFGH12345678"
    with Journal(path, redact=(Secret(SECRET), api_key)) as j:
        j.record_event(
            "alert", f"auth failed for {api_key} with {SECRET}", ts_ms=1, data={"s": [SECRET]}
        )
        j.record_meta("run_start", {"note": f"key {api_key}"}, ts_ms=2)
        j.record_event(f"odd-{api_key}", "kind", ts_ms=3, strategy=SECRET)
        on_disk = b"".join(p.read_bytes() for p in path.parent.iterdir())
        events = j.restore().events
    assert events[0].text == "auth failed for *** with ***"
    assert events[0].data == {"s": ["***"]}
    assert (events[1].kind, events[1].strategy) == ("odd-***", "***")
    on_disk += b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert SECRET.encode() not in on_disk and api_key.encode() not in on_disk
    assert b"***" in on_disk


def test_short_redaction_strings_are_refused(path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 8"):
        Journal(path, redact=("abc",))
