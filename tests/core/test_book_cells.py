"""OrderBook internals under churn: price cells, the queued-once heap and the bounded text map.

The book finds levels through price *texts* and keeps each price's cell in its side's heap at
most once (a deleted level stays queued until it reaches the top). These tests force every
rebuild path (dead heap entries outnumbering live levels, the text map reaching its bound) and
compare the book with a plain dict model after every delta, best prices included.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core import book as book_module
from krakenfutures.core.book import OrderBook
from krakenfutures.core.types import Side

D = Decimal


def _spellings(tick: int) -> list[Decimal]:
    """Equal prices written differently: 12.5, 12.50, 12.5000, 1.25E+1 ..."""
    value = D(tick) / 2
    return [
        value,
        value.quantize(D("0.01")),
        value.quantize(D("0.0001")),
        value.normalize(),
        D(f"{value:E}"),
    ]


def _check(book: OrderBook, model: dict[Side, dict[Decimal, Decimal]]) -> None:
    bids, asks = model[Side.BUY], model[Side.SELL]
    top_bid = max(bids, default=None)
    top_ask = min(asks, default=None)
    assert book.best_bid() == (None if top_bid is None else (top_bid, bids[top_bid]))
    assert book.best_ask() == (None if top_ask is None else (top_ask, asks[top_ask]))
    assert len(book) == len(bids) + len(asks)


@settings(max_examples=60, deadline=None)
@given(
    moves=st.lists(
        st.tuples(st.booleans(), st.integers(0, 40), st.integers(0, 4), st.integers(0, 3)),
        max_size=400,
    )
)
def test_any_spelling_any_churn_matches_the_model(
    moves: list[tuple[bool, int, int, int]],
) -> None:
    """Bids on ticks 1..100, asks on 101..200, re-added and deleted at the top over and over
    in every spelling: the same level whatever the text, best prices always right."""
    book = OrderBook("X")
    book.apply_snapshot([], [], 0)
    model: dict[Side, dict[Decimal, Decimal]] = {Side.BUY: {}, Side.SELL: {}}
    for seq, (buy, depth, spelling, size) in enumerate(moves, start=1):
        side = Side.BUY if buy else Side.SELL
        tick = 100 - depth if buy else 101 + depth
        price = _spellings(tick)[spelling]
        qty = D(size)
        book.apply_delta(side, price, qty, seq)
        if qty:
            model[side][price] = qty
        else:
            model[side].pop(price, None)
        _check(book, model)
    assert book.levels() == (
        sorted(model[Side.BUY].items(), reverse=True),
        sorted(model[Side.SELL].items()),
    )


@pytest.mark.parametrize("seed", [5, 6])
def test_bounded_text_map_rebuilds_keep_the_book(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """With a tiny text bound the maps are rebuilt from the live levels again and again (and
    the heap with them): dead cells are forgotten, live ones keep their place."""
    monkeypatch.setattr(book_module, "_MAX_TEXTS", 12)
    rng = random.Random(seed)
    book = OrderBook("X")
    book.apply_snapshot([(D(i), D(1)) for i in range(90, 100)], [(D(101), D(1))], 0)
    model: dict[Side, dict[Decimal, Decimal]] = {
        Side.BUY: {D(i): D(1) for i in range(90, 100)},
        Side.SELL: {D(101): D(1)},
    }
    for seq in range(1, 3_000):
        buy = rng.random() < 0.5
        side = Side.BUY if buy else Side.SELL
        tick = rng.randint(120, 200) if buy else rng.randint(202, 300)
        price = rng.choice(_spellings(tick))
        qty = D(rng.randint(0, 2))
        book.apply_delta(side, price, qty, seq)
        if qty:
            model[side][price] = qty
        else:
            model[side].pop(price, None)
        _check(book, model)
        assert len(book._bid.texts) <= 13 + len(model[Side.BUY])


def test_a_level_deleted_below_the_top_comes_back_without_a_second_heap_entry() -> None:
    book = OrderBook("X")
    book.apply_snapshot([(D(10), D(1)), (D(9), D(1)), (D(8), D(1))], [(D(11), D(1))], 0)
    heap_before = list(book._bid.heap)
    for seq in range(1, 201, 2):  # delete and re-add 9 (not the best) a hundred times
        book.apply_delta(Side.BUY, D(9), D(0), seq)
        book.apply_delta(Side.BUY, D("9.0"), D(2), seq + 1)
    assert sorted(book._bid.heap) == sorted(heap_before)
    assert book.best_bid() == (D(10), D(1))
    book.apply_delta(Side.BUY, D(10), D(0), 201)  # the best goes: 9 is next
    assert book.best_bid() == (D(9), D(2))


def test_dead_entries_are_dropped_when_they_outnumber_the_live_levels() -> None:
    book = OrderBook("X")
    book.apply_snapshot([(D(1), D(1))], [(D(100_000), D(1))], 0)
    seq = 0
    for tick in range(2, 2_000):  # each new best deletes the old one: dead cells pile up
        seq += 1
        book.apply_delta(Side.BUY, D(tick), D(1), seq)
        seq += 1
        book.apply_delta(Side.BUY, D(tick - 1), D(0), seq)
    assert book.best_bid() == (D(1_999), D(1)) and len(book) == 2
    assert len(book._bid.heap) <= 2 * len(book._bid.levels) + book_module._SLACK + 1
