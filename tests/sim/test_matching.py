"""The integer matching core: price-time priority, self-trade modes, changes, invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.sim.matching import (
    BUY,
    SELL,
    STP_CANCEL_MAKER,
    STP_NONE,
    STP_REJECT_TAKER,
    OrderBook,
)


def book_with(*orders: tuple[int, str, int, int, int]) -> OrderBook:
    book = OrderBook()
    for key, owner, side, price, lots in orders:
        book.add(key, owner, side, price, lots)
    book.take_changes()
    return book


def test_price_then_time_priority() -> None:
    book = book_with((1, "a", SELL, 101, 5), (2, "b", SELL, 100, 5), (3, "c", SELL, 100, 5))
    fills, cancelled, stopped, left = book.match(BUY, 101, 12, "t", STP_REJECT_TAKER)
    # best price first (100), oldest first within it (2 before 3), then 101
    assert [(f[0], f[2], f[3], f[4]) for f in fills] == [
        (2, 100, 5, 0),
        (3, 100, 5, 0),
        (1, 101, 2, 3),
    ]
    assert (cancelled, stopped, left) == ([], False, 0)
    assert book.best(SELL) == 101 and book.level_lots(SELL, 101) == 3
    assert book.check() == []


def test_limit_stops_matching_and_returns_the_rest() -> None:
    book = book_with((1, "a", BUY, 99, 4), (2, "a", BUY, 98, 4))
    fills, _, _, left = book.match(SELL, 99, 10, "t", STP_REJECT_TAKER)
    assert [(f[2], f[3]) for f in fills] == [(99, 4)]
    assert left == 6
    assert book.best(BUY) == 98


def test_reject_taker_stops_at_own_order_after_better_fills() -> None:
    book = book_with((1, "x", SELL, 100, 2), (2, "t", SELL, 100, 3), (3, "x", SELL, 100, 5))
    fills, cancelled, stopped, left = book.match(BUY, 100, 10, "t", STP_REJECT_TAKER)
    assert [f[0] for f in fills] == [1]
    assert stopped and left == 8 and cancelled == []
    assert book.level_keys(SELL, 100) == [2, 3]


def test_cancel_maker_removes_own_orders_and_continues() -> None:
    book = book_with(
        (1, "t", SELL, 100, 2),
        (2, "x", SELL, 100, 3),
        (3, "t", SELL, 101, 1),
        (4, "x", SELL, 101, 9),
    )
    fills, cancelled, stopped, left = book.match(BUY, 101, 5, "t", STP_CANCEL_MAKER)
    assert cancelled == [1, 3]
    assert [(f[0], f[3]) for f in fills] == [(2, 3), (4, 2)]
    assert not stopped and left == 0
    assert book.check() == []
    assert 1 not in book and 3 not in book


def test_no_stp_trades_with_itself() -> None:
    book = book_with((1, "t", SELL, 100, 2))
    fills, _, _, left = book.match(BUY, 100, 2, "t", STP_NONE)
    assert len(fills) == 1 and left == 0 and len(book) == 0


def test_fillable_respects_limit_and_self_trade_mode() -> None:
    book = book_with((1, "x", SELL, 100, 2), (2, "t", SELL, 101, 3), (3, "x", SELL, 102, 5))
    assert book.fillable(BUY, 102, 10, "t", STP_NONE) == 10
    assert book.fillable(BUY, 102, 20, "t", STP_NONE) == 10
    assert book.fillable(BUY, 101, 20, "t", STP_CANCEL_MAKER) == 2
    assert book.fillable(BUY, 102, 20, "t", STP_CANCEL_MAKER) == 7
    assert book.fillable(BUY, 102, 20, "t", STP_REJECT_TAKER) == 2
    assert book.fillable(BUY, 99, 1, "t", STP_NONE) == 0


def test_reduce_keeps_priority_and_remove_deletes_level() -> None:
    book = book_with((1, "a", BUY, 50, 5), (2, "b", BUY, 50, 5))
    book.reduce(1, 2)
    assert book.level_keys(BUY, 50) == [1, 2] and book.level_lots(BUY, 50) == 7
    assert book.remove(1) is not None and book.remove(1) is None
    book.remove(2)
    assert book.best(BUY) is None and book.depth(BUY) == []
    with pytest.raises(ValueError):
        book.add(3, "a", BUY, 50, 0)


def test_changes_record_every_level_total_in_order() -> None:
    book = OrderBook()
    book.add(1, "a", SELL, 100, 5)
    book.add(2, "a", SELL, 100, 1)
    book.add(3, "a", BUY, 90, 2)
    book.match(BUY, 100, 5, "t", STP_REJECT_TAKER)
    book.remove(3)
    assert book.take_changes() == [
        (SELL, 100, 5),
        (SELL, 100, 6),
        (BUY, 90, 2),
        (SELL, 100, 1),
        (BUY, 90, 0),
    ]
    assert book.take_changes() == []


def test_depth_and_would_cross() -> None:
    book = book_with(
        (1, "a", BUY, 90, 1), (2, "a", BUY, 95, 2), (3, "a", SELL, 97, 3), (4, "a", SELL, 99, 4)
    )
    assert book.depth(BUY) == [(95, 2), (90, 1)]
    assert book.depth(SELL, 1) == [(97, 3)]
    assert book.would_cross(BUY, 97) and not book.would_cross(BUY, 96)
    assert book.would_cross(SELL, 95) and not book.would_cross(SELL, 96)


def test_heap_compaction_after_level_churn() -> None:
    book = OrderBook(track_changes=False)
    key = 0
    for price in range(1, 2000):
        key += 1
        book.add(key, "a", SELL, 10_000 + price, 1)
        book.remove(key)
    book.add(key + 1, "a", SELL, 10_500, 1)
    assert book.best(SELL) == 10_500
    assert book.check() == []


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "cancel", "match"]),
        st.sampled_from([BUY, SELL]),
        st.integers(95, 105),
        st.integers(1, 5),
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from([STP_NONE, STP_REJECT_TAKER, STP_CANCEL_MAKER]),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_book_matches_a_naive_reference_model(
    sequence: list[tuple[str, int, int, int, str, int]],
) -> None:
    """A list-of-orders model (sorted on every step) must agree with the book on every fill."""
    book = OrderBook()
    model: list[list[int | str]] = []  # [key, owner, side, price, lots], insertion (= time) order
    key = 0
    for kind, side, price, lots, owner, stp in sequence:
        if kind == "add":
            if book.would_cross(side, price):
                continue
            key += 1
            book.add(key, owner, side, price, lots)
            model.append([key, owner, side, price, lots])
        elif kind == "cancel":
            if model:
                victim = model.pop(lots % len(model))
                assert book.remove(int(victim[0])) is not None
        else:
            fills, cancelled, stopped, left = book.match(side, price, lots, owner, stp)
            expected_fills, expected_cancelled, expected_stopped, want = [], [], False, lots
            candidates = [
                o
                for o in model
                if o[2] != side and (o[3] <= price if side == BUY else o[3] >= price)
            ]
            candidates.sort(key=lambda o: (o[3] if side == BUY else -int(o[3]), o[0]))
            for order in candidates:
                if want == 0:
                    break
                if stp and order[1] == owner:
                    if stp == STP_REJECT_TAKER:
                        expected_stopped = True
                        break
                    expected_cancelled.append(order[0])
                    model.remove(order)
                    continue
                qty = min(int(order[4]), want)
                order[4] = int(order[4]) - qty
                want -= qty
                expected_fills.append((order[0], order[3], qty, order[4]))
                if order[4] == 0:
                    model.remove(order)
            assert [(f[0], f[2], f[3], f[4]) for f in fills] == expected_fills
            assert cancelled == expected_cancelled
            assert stopped == expected_stopped
            assert left == want
        assert book.check() == []
        assert len(book) == len(model)
