"""The feed's book keeping without a socket: gaps, duplicates and crossed books are detected,
counted (every one) and healed by the next snapshot; URL derivation and backoff."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.client.books import BookKeeper
from krakenfutures.client.events import BookGapDetected, BookResynced
from krakenfutures.client.feed import AsyncFeed, Backoff, ws_url_for
from krakenfutures.core.types import Side
from krakenfutures.core.ws.schema_public import BookDelta, BookLevel, BookSnapshot
from krakenfutures.errors import ConfigError

SYM = "PF_XBTUSD"


def snapshot(seq: int, bids: dict[int, int], asks: dict[int, int]) -> BookSnapshot:
    return BookSnapshot(
        symbol=SYM,
        ts_ms=0,
        seq=seq,
        bids=[BookLevel(price=Decimal(p), qty=Decimal(q)) for p, q in bids.items()],
        asks=[BookLevel(price=Decimal(p), qty=Decimal(q)) for p, q in asks.items()],
    )


def delta(seq: int, side: str, price: int, qty: int) -> BookDelta:
    return BookDelta(
        symbol=SYM, side=Side(side), seq=seq, price=Decimal(price), qty=Decimal(qty), ts_ms=0
    )


def test_snapshot_then_deltas_build_the_book() -> None:
    keeper = BookKeeper()
    assert keeper.apply(snapshot(10, {99: 1}, {101: 2})) is None  # a first snapshot: no resync
    assert keeper.apply(delta(11, "buy", 100, 3)) is None
    assert keeper.apply(delta(12, "sell", 101, 0)) is None
    book = keeper.book(SYM)
    assert book.best_bid() == (Decimal(100), Decimal(3))
    assert book.best_ask() is None
    assert keeper.gap_count == 0


def test_gap_drops_the_book_counts_and_the_next_snapshot_resyncs() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(10, {99: 1}, {101: 2}))
    event = keeper.apply(delta(12, "buy", 100, 3))
    assert event == BookGapDetected(SYM, 11, 12, "gap")
    assert not keeper.book(SYM).is_synced and len(keeper.book(SYM)) == 0
    # the old stream goes on until the resubscription: checked, not applied
    assert keeper.apply(delta(13, "buy", 98, 1)) is None
    assert keeper.apply(delta(15, "buy", 98, 1)) == BookGapDetected(SYM, 14, 15, "gap")
    assert keeper.apply(snapshot(20, {97: 1}, {103: 1})) == BookResynced(SYM, 20)
    assert keeper.book(SYM).levels() == ([(Decimal(97), Decimal(1))], [(Decimal(103), Decimal(1))])
    assert keeper.gaps[SYM] == 2


def test_duplicate_and_crossed_are_anomalies_too() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(1, {99: 1}, {101: 1}))
    keeper.apply(delta(2, "buy", 98, 1))
    assert keeper.apply(delta(2, "buy", 98, 1)) == BookGapDetected(SYM, 3, 2, "duplicate")
    keeper.apply(snapshot(5, {99: 1}, {101: 1}))
    assert keeper.apply(delta(6, "buy", 102, 1)) == BookGapDetected(SYM, 6, 6, "crossed")
    assert keeper.apply(snapshot(9, {99: 1}, {99: 1})) == BookGapDetected(SYM, 9, 9, "crossed")
    assert keeper.gap_count == 3


def test_connection_lost_drops_books_without_counting_a_gap() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(1, {99: 1}, {101: 1}))
    keeper.connection_lost()
    assert not keeper.book(SYM).is_synced
    assert keeper.apply(delta(7, "buy", 98, 1)) is None  # no snapshot on this connection yet
    assert keeper.apply(snapshot(8, {99: 1}, {101: 1})) == BookResynced(SYM, 8)
    assert keeper.gap_count == 0


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["ok", "ok", "ok", "gap", "dup"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(1, 20),
            st.integers(0, 5),
            st.integers(2, 5),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_every_injected_anomaly_is_counted(steps: list[tuple[str, str, int, int, int]]) -> None:
    """A stream with gaps (k seqs skipped) and duplicates (the last delta again) at random:
    the keeper reports exactly one anomaly per injection, none missed, none invented."""
    keeper = BookKeeper()
    keeper.apply(snapshot(100, {}, {}))
    seq = 100
    injected = 0
    last: BookDelta | None = None
    reported = []
    for kind, side, offset, qty, skip in steps:
        if kind == "dup" and last is not None:
            injected += 1
            msg = last
        else:
            if kind == "gap":
                injected += 1
                seq += skip
            else:
                seq += 1
            # bids below 100, asks above: never crossed
            price = 100 - offset if side == "buy" else 100 + offset
            msg = last = delta(seq, side, price, qty)
        out = keeper.apply(msg)
        if isinstance(out, BookGapDetected):
            reported.append(out)
    assert len(reported) == injected == keeper.gap_count


def test_ws_url_from_rest_origin() -> None:
    assert ws_url_for("https://futures.kraken.com") == "wss://futures.kraken.com/ws/v1"
    assert ws_url_for("http://127.0.0.1:8787") == "ws://127.0.0.1:8787/ws/v1"
    assert ws_url_for("live") == "wss://futures.kraken.com/ws/v1"
    assert ws_url_for("ws://127.0.0.1:9/custom") == "ws://127.0.0.1:9/custom"
    with pytest.raises(ConfigError):
        ws_url_for("ftp://example.com")


def test_feed_finds_credentials_like_the_rest_client(tmp_path) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    public = AsyncFeed("http://127.0.0.1:1", env=env)
    assert public.credentials is None and public.url == "ws://127.0.0.1:1/ws/v1"
    secret = "a" * 88
    keyed = AsyncFeed("http://127.0.0.1:1", "key-1234567", secret, env=env)
    assert keyed.credentials is not None
    assert secret not in repr(keyed) and "key-1234567" not in repr(keyed)
    with pytest.raises(Exception, match="private"):
        public.subscribe("open_orders")


def test_backoff_is_jittered_exponential_and_capped() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(3))
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (40, 8.0)]:
        delays = [backoff.delay_s(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered
    with pytest.raises(ConfigError):
        Backoff(2.0, 1.0)


def test_drop_forgets_a_book_without_a_gap() -> None:
    keeper = BookKeeper()
    keeper.apply(snapshot(1, {99: 1}, {101: 1}))
    keeper.drop(SYM.lower())
    assert not keeper.book(SYM).is_synced and keeper.gap_count == 0
    assert keeper.apply(delta(2, "buy", 98, 1)) is None
    assert keeper.apply(snapshot(5, {99: 1}, {101: 1})) is None  # a fresh start, not a resync
