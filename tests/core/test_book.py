"""OrderBook: equal to a naive dict model under any delta sequence; gaps, duplicates and crossed
books refused; the analytics computed by hand."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.book import OrderBook, apply_book_message
from krakenfutures.core.types import Side
from krakenfutures.core.ws.classify import classify
from krakenfutures.core.ws.schema import encode
from krakenfutures.core.ws.schema_public import BookDelta, BookLevel, BookSnapshot
from krakenfutures.errors import CrossedBookError, SequenceGapError, StateError, ValidationError

D = Decimal
TICK = D("0.5")


def book_of(bids: list[tuple[str, str]], asks: list[tuple[str, str]], seq: int = 10) -> OrderBook:
    book = OrderBook("PF_XBTUSD", TICK)
    book.apply_snapshot([(D(p), D(q)) for p, q in bids], [(D(p), D(q)) for p, q in asks], seq)
    return book


# ---------------------------------------------------------------------------------------------
# Model equivalence
# ---------------------------------------------------------------------------------------------

# bids live on ticks 1..400, asks on 401..800: the book can never cross, so the model is a plain
# dict per side and every delta must be accepted.
bid_ticks = st.integers(1, 400)
ask_ticks = st.integers(401, 800)
sizes = st.one_of(st.just(0), st.integers(1, 10**6))  # 0 deletes
deltas = st.lists(
    st.one_of(
        st.tuples(st.just(Side.BUY), bid_ticks, sizes),
        st.tuples(st.just(Side.SELL), ask_ticks, sizes),
    ),
    max_size=300,
)
snapshots = (
    st.dictionaries(bid_ticks, st.integers(1, 10**6), max_size=40),
    st.dictionaries(ask_ticks, st.integers(1, 10**6), max_size=40),
)


def price(tick: int) -> Decimal:
    return tick * TICK


def qty(size: int) -> Decimal:
    return D(size) / 1000


@settings(max_examples=200, deadline=None)
@given(bids=snapshots[0], asks=snapshots[1], deltas=deltas, seq0=st.integers(0, 10**12))
def test_book_equals_a_naive_model(
    bids: dict[int, int], asks: dict[int, int], deltas: list[tuple[Side, int, int]], seq0: int
) -> None:
    model = {
        Side.BUY: {price(t): qty(s) for t, s in bids.items()},
        Side.SELL: {price(t): qty(s) for t, s in asks.items()},
    }
    book = OrderBook("PF_XBTUSD")
    book.apply_snapshot(list(model[Side.BUY].items()), list(model[Side.SELL].items()), seq0)
    for i, (side, tick, size) in enumerate(deltas, start=1):
        # fresh Decimal objects with another spelling each time: equal prices must meet
        p, q = D(str(price(tick)) + "0"), qty(size)
        book.apply_delta(side, p, q, seq0 + i)
        if q:
            model[side][p] = q
        else:
            model[side].pop(p, None)
        best_bid = max(model[Side.BUY], default=None)
        best_ask = min(model[Side.SELL], default=None)
        assert book.best_bid() == (
            None if best_bid is None else (best_bid, model[Side.BUY][best_bid])
        )
        assert book.best_ask() == (
            None if best_ask is None else (best_ask, model[Side.SELL][best_ask])
        )
    expected_bids = sorted(model[Side.BUY].items(), reverse=True)
    expected_asks = sorted(model[Side.SELL].items())
    assert book.levels() == (expected_bids, expected_asks)
    assert book.depth(5) == (expected_bids[:5], expected_asks[:5])
    assert book.seq == seq0 + len(deltas)
    assert len(book) == len(expected_bids) + len(expected_asks)


@settings(max_examples=50, deadline=None)
@given(
    moves=st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=1, max_size=2_000),
)
def test_best_prices_survive_heavy_churn_at_the_top(moves: list[tuple[bool, int]]) -> None:
    """Add/delete near the top over and over: lazy heap deletion and rebuilds stay correct."""
    book = OrderBook("X")
    book.apply_snapshot([(D(100), D(1))], [(D(1000), D(1))], 0)
    live = {D(100)}
    for seq, (add, offset) in enumerate(moves, start=1):
        p = D(101 + offset)
        book.apply_delta(Side.BUY, p, D(1) if add else D(0), seq)
        if add:
            live.add(p)
        else:
            live.discard(p)
        best = book.best_bid()
        assert best is not None and best[0] == max(live)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_heap_rebuilds_keep_best_prices_right(seed: int) -> None:
    """Random churn piles up stale heap entries and forces rebuilds; peeling the book from the
    top afterwards proves every live level is still reachable."""
    rng = random.Random(seed)
    book = OrderBook("X")
    book.apply_snapshot([], [], 0)
    live = {Side.BUY: set[Decimal](), Side.SELL: set[Decimal]()}
    seq = 0
    for _ in range(6_000):
        side = rng.choice((Side.BUY, Side.SELL))
        p = D(rng.randint(1, 150)) if side == Side.BUY else D(rng.randint(151, 300))
        add = rng.random() < 0.5
        seq += 1
        book.apply_delta(side, p, D(1) if add else D(0), seq)
        (live[side].add if add else live[side].discard)(p)
        assert book.best_bid() == ((max(live[Side.BUY]), D(1)) if live[Side.BUY] else None)
        assert book.best_ask() == ((min(live[Side.SELL]), D(1)) if live[Side.SELL] else None)
    for side in (Side.BUY, Side.SELL):
        while live[side]:
            top = max(live[side]) if side == Side.BUY else min(live[side])
            assert (book.best_bid() if side == Side.BUY else book.best_ask()) == (top, D(1))
            seq += 1
            book.apply_delta(side, top, D(0), seq)
            live[side].discard(top)
    assert book.best_bid() is None and book.best_ask() is None and len(book) == 0


# ---------------------------------------------------------------------------------------------
# Sequence and crossing
# ---------------------------------------------------------------------------------------------


def test_gap_duplicate_and_reorder_raise_without_applying() -> None:
    book = book_of([("100", "1")], [("101", "1")], seq=10)
    with pytest.raises(SequenceGapError) as gap:
        book.apply_delta(Side.BUY, D(99), D(5), 12)
    assert (gap.value.expected, gap.value.got) == (11, 12)
    assert "gap" in str(gap.value) and "PF_XBTUSD" in str(gap.value)
    book.apply_delta(Side.BUY, D(99), D(5), 11)
    with pytest.raises(SequenceGapError, match="duplicate") as dup:
        book.apply_delta(Side.BUY, D(98), D(5), 11)
    assert (dup.value.expected, dup.value.got) == (12, 11)
    with pytest.raises(SequenceGapError):
        book.apply_delta(Side.BUY, D(98), D(5), 5)
    assert book.volume_at(Side.BUY, D(98)) == 0 and book.seq == 11


def test_delta_before_snapshot_is_a_state_error() -> None:
    book = OrderBook("PF_XBTUSD")
    assert not book.is_synced and book.seq is None
    with pytest.raises(StateError, match="before any book_snapshot"):
        book.apply_delta(Side.BUY, D(1), D(1), 1)
    book.apply_snapshot([], [], 7)
    book.apply_delta(Side.BUY, D(1), D(1), 8)
    book.reset()
    assert not book.is_synced and book.best_bid() is None
    with pytest.raises(StateError):
        book.apply_delta(Side.BUY, D(1), D(1), 9)


@pytest.mark.parametrize(
    ("side", "price_", "crossing"),
    [
        (Side.BUY, "101", True),  # bid at the ask: locked counts as crossed
        (Side.BUY, "102", True),
        (Side.SELL, "100", True),
        (Side.SELL, "99.5", True),
        (Side.BUY, "100.5", False),
        (Side.SELL, "100.5", False),
    ],
)
def test_crossed_book_detected_after_the_delta(side: Side, price_: str, crossing: bool) -> None:
    book = book_of([("100", "1")], [("101", "1")], seq=1)
    if not crossing:
        book.apply_delta(side, D(price_), D(2), 2)
        return
    with pytest.raises(CrossedBookError) as err:
        book.apply_delta(side, D(price_), D(2), 2)
    assert isinstance(err.value, StateError)
    assert err.value.seq == 2 and err.value.symbol == "PF_XBTUSD"
    bid, ask = err.value.best_bid, err.value.best_ask
    assert bid is not None and ask is not None and bid >= ask
    assert book.seq == 2  # applied: the book mirrors the wire until resynchronised


def test_crossed_snapshot_is_refused() -> None:
    with pytest.raises(CrossedBookError):
        book_of([("101", "1")], [("100", "1")])


def test_zero_levels_in_a_snapshot_are_dropped_and_unknown_deletes_ignored() -> None:
    book = book_of([("100", "0"), ("99", "2")], [("101", "3")])
    assert book.best_bid() == (D(99), D(2))
    book.apply_delta(Side.SELL, D(150), D(0), 11)  # not in the book: nothing happens
    assert book.levels() == ([(D(99), D(2))], [(D(101), D(3))])


# ---------------------------------------------------------------------------------------------
# Analytics
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def ladder() -> OrderBook:
    return book_of(
        [("99.5", "2"), ("99", "3"), ("98", "5")],
        [("100", "1"), ("100.5", "4"), ("102", "10")],
    )


def test_top_of_book(ladder: OrderBook) -> None:
    assert ladder.best_bid() == (D("99.5"), D(2))
    assert ladder.best_ask() == (D(100), D(1))
    assert ladder.mid() == D("99.75")
    assert ladder.spread() == D("0.5")
    assert ladder.spread_ticks() == 1
    assert ladder.volume_at(Side.BUY, D(99)) == D(3)
    assert ladder.volume_at(Side.SELL, D(99)) == 0
    assert ladder.depth(2) == (
        [(D("99.5"), D(2)), (D(99), D(3))],
        [(D(100), D(1)), (D("100.5"), D(4))],
    )


def test_impact_price_walks_the_book(ladder: OrderBook) -> None:
    assert ladder.impact_price(Side.BUY, D(1)) == D(100)
    # 1 @ 100 + 4 @ 100.5 + 1 @ 102 = 604 over 6
    assert ladder.impact_price(Side.BUY, D(6)) == D(604) / 6
    # 2 @ 99.5 + 3 @ 99 + 0.5 @ 98 = 545 over 5.5
    assert ladder.impact_price(Side.SELL, D("5.5")) == D(545) / D("5.5")
    # exactly the whole side: 100 + 402 + 1020
    assert ladder.impact_price(Side.BUY, D(15)) == D(1522) / 15
    assert ladder.impact_price(Side.BUY, D(16)) is None
    assert ladder.impact_price(Side.SELL, D(0)) is None


def test_impact_price_deeper_than_the_first_sorted_chunk() -> None:
    book = book_of([], [(str(100 + i), "1") for i in range(200)])
    assert book.impact_price(Side.BUY, D(150)) == D(sum(100 + i for i in range(150))) / 150


def test_imbalance(ladder: OrderBook) -> None:
    assert ladder.imbalance(1) == (D(2) - D(1)) / (D(2) + D(1))
    assert ladder.imbalance(2) == (D(5) - D(5)) / D(10)
    assert ladder.imbalance(3) == (D(10) - D(15)) / D(25)
    assert OrderBook("X").imbalance(5) == 0


def test_empty_sides() -> None:
    book = book_of([("10", "1")], [])
    assert book.best_ask() is None and book.mid() is None and book.spread() is None
    assert book.spread_ticks() is None


# ---------------------------------------------------------------------------------------------
# From wire messages
# ---------------------------------------------------------------------------------------------


def test_apply_book_message_from_decoded_frames() -> None:
    snapshot = BookSnapshot(
        symbol="PF_XBTUSD",
        ts_ms=1,
        seq=100,
        bids=[BookLevel(price=D(60000), qty=D(1))],
        asks=[BookLevel(price=D("60000.5"), qty=D(2))],
    )
    book = OrderBook("PF_XBTUSD", TICK)
    for msg in (
        snapshot,
        BookDelta(
            symbol="PF_XBTUSD", side=Side.BUY, seq=101, price=D("59999.5"), qty=D(4), ts_ms=2
        ),
        BookDelta(
            symbol="PF_XBTUSD", side=Side.SELL, seq=102, price=D("60000.5"), qty=D(0), ts_ms=3
        ),
    ):
        decoded = classify(encode(msg))
        assert isinstance(decoded, (BookSnapshot, BookDelta))
        apply_book_message(book, decoded)
    assert book.levels() == ([(D(60000), D(1)), (D("59999.5"), D(4))], [])
    with pytest.raises(ValidationError, match="PF_ETHUSD"):
        apply_book_message(
            book,
            BookDelta(symbol="PF_ETHUSD", side=Side.BUY, seq=103, price=D(1), qty=D(1), ts_ms=4),
        )


def test_repr_is_short() -> None:
    assert repr(book_of([("1", "1")], [("2", "1")], seq=3)) == (
        "OrderBook('PF_XBTUSD', seq=3, bids=1, asks=1, best=1/2)"
    )
