"""UwsBook: uws book messages into the shared OrderBook, truncated to depth, checksum verified.

The property test runs random message streams against a plain dict model of the v2 rules
(reference §4.11), whose checksum the "exchange" sends: the book must never report a mismatch
and must hold exactly the model's levels; a corrupted checksum must be caught."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.uws.book import ChecksumMismatch, UwsBook
from krakenfutures.core.uws.checksum import book_checksum, checksum_of
from krakenfutures.core.uws.classify import classify
from krakenfutures.core.uws.schema_channels import BookData, BookLevel, BookMessage
from krakenfutures.errors import ValidationError

from .golden import CHECKSUM_VECTOR_CRC, VECTOR_ASKS, VECTOR_BIDS, book_frame, vector_snapshot

D = Decimal


def apply(book: UwsBook, raw: bytes) -> list[ChecksumMismatch]:
    msg = classify(raw)
    assert isinstance(msg, BookMessage), msg
    out = [book.apply(d, snapshot=msg.is_snapshot) for d in msg.data]
    return [m for m in out if m is not None]


def test_vector_snapshot_verifies_and_fills_the_book() -> None:
    book = UwsBook("PF_XBTUSD")
    assert apply(book, vector_snapshot()) == []
    assert book.is_synced
    assert book.book.best_bid() == (D("45283.5"), D("0.10000000"))
    assert book.book.best_ask() == (D("45285.2"), D("0.00100000"))
    assert len(book.book) == 20


def test_update_changes_removes_inserts_and_truncates_to_depth() -> None:
    book = UwsBook("PF_XBTUSD", depth=10)
    apply(book, vector_snapshot())
    # a new best bid pushes the 10th bid out of range: Kraken sends no qty 0 for it
    bids = [*VECTOR_BIDS, ("45284.0", "2.5")]
    model_bids = sorted(bids, key=lambda lv: -D(lv[0]))[:10]
    asks = [a for a in VECTOR_ASKS if a[0] != "45286.4"]  # removed below
    crc = book_checksum([(D(p), D(q)) for p, q in asks], [(D(p), D(q)) for p, q in model_bids])
    update = book_frame(
        "update",
        "PF_XBTUSD",
        [("45284.0", "2.5")],
        [("45286.4", "0")],
        crc,
        "2023-10-06T17:35:55.440295Z",
    )
    assert apply(book, update) == []
    b, a = book.book.levels()
    assert [(str(p), str(q)) for p, q in b] == [(p, q) for p, q in model_bids]
    assert len(a) == 9
    assert D("45276.6") not in [p for p, _ in b]  # truncated


def test_mismatch_empties_the_book_and_ignores_updates_until_a_snapshot() -> None:
    book = UwsBook("PF_XBTUSD")
    apply(book, vector_snapshot())
    bad = book_frame("update", "PF_XBTUSD", [("45283.5", "0.2")], [], 12345)
    [mismatch] = apply(book, bad)
    assert mismatch.symbol == "PF_XBTUSD"
    assert mismatch.expected == 12345
    assert mismatch.computed != 12345
    assert not book.is_synced and len(book.book) == 0
    assert book.mismatches == 1
    assert apply(book, book_frame("update", "PF_XBTUSD", [("1", "1")], [], 1)) == []
    assert len(book.book) == 0  # ignored
    assert apply(book, vector_snapshot()) == []
    assert book.is_synced


def test_a_message_may_cross_halfway_and_settle() -> None:
    # price moves up: the new bid (listed first) is above the old best ask until the asks of
    # the same message remove it; only the final state is judged
    book = UwsBook("PF_XBTUSD")
    apply(book, book_frame("snapshot", "PF_XBTUSD", [("100", "1")], [("101", "1")], None))
    final_bids, final_asks = [(D("101.5"), D("1")), (D("100"), D("1"))], [(D("102"), D("1"))]
    crc = book_checksum(final_asks, final_bids)
    update = book_frame("update", "PF_XBTUSD", [("101.5", "1")], [("101", "0"), ("102", "1")], crc)
    assert apply(book, update) == []
    assert book.book.levels() == (final_bids, final_asks)


def test_entry_without_checksum_is_applied_unverified() -> None:
    book = UwsBook("PF_XBTUSD")
    assert apply(book, book_frame("snapshot", "PF_XBTUSD", [("1", "2")], [], None)) == []
    assert book.book.best_bid() == (D("1"), D("2"))


def test_depth_must_be_a_channel_depth() -> None:
    with pytest.raises(ValidationError, match="depth"):
        UwsBook("PF_XBTUSD", depth=7)


def test_reset_drops_everything() -> None:
    book = UwsBook("PF_XBTUSD")
    apply(book, vector_snapshot())
    book.reset()
    assert not book.is_synced and len(book.book) == 0
    assert "synced=False" in repr(book)


# ------------------------------------------------------------------- model-based property

prices = st.integers(1, 60).map(lambda i: D(i) / 2)  # tick 0.5 like PF_XBTUSD
qtys = st.sampled_from([D(0), D("0.0010"), D("1"), D("2.50"), D("10")])
side_levels = st.lists(st.tuples(prices, qtys), max_size=8)


class Model:
    """The v2 rules on plain dicts: the exchange's view of the subscribed book."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def set(self, side: dict[Decimal, Decimal], levels: list[tuple[Decimal, Decimal]]) -> None:
        for price, qty in levels:
            if qty:
                side[price] = qty
            else:
                side.pop(price, None)

    def truncate(self) -> None:
        for side, best_first in ((self.bids, True), (self.asks, False)):
            keep = sorted(side, reverse=best_first)[: self.depth]
            for price in list(side):
                if price not in keep:
                    del side[price]

    def top(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        bids = [(p, self.bids[p]) for p in sorted(self.bids, reverse=True)]
        asks = [(p, self.asks[p]) for p in sorted(self.asks)]
        return bids, asks

    def crc(self) -> int:
        bids, asks = self.top()
        return book_checksum(asks, bids)


def data(
    symbol: str, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], crc: int
) -> BookData:
    return BookData(
        symbol=symbol,
        bids=tuple(BookLevel(price=p, qty=q) for p, q in bids),
        asks=tuple(BookLevel(price=p, qty=q) for p, q in asks),
        checksum=crc,
    )


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([10, 25]),
    st.tuples(side_levels, side_levels),
    st.lists(st.tuples(side_levels, side_levels), max_size=12),
    st.booleans(),
)
def test_random_streams_match_the_model(
    depth: int,
    snapshot: tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]],
    updates: list[tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]],
    corrupt_last: bool,
) -> None:
    model = Model(depth)
    model.set(model.bids, snapshot[0])
    model.set(model.asks, snapshot[1])
    model.truncate()
    bids, asks = model.top()
    book = UwsBook("PF_XBTUSD", depth=depth)
    assert book.apply(data("PF_XBTUSD", bids, asks, model.crc()), snapshot=True) is None
    for i, (ub, ua) in enumerate(updates):
        model.set(model.bids, ub)
        model.set(model.asks, ua)
        model.truncate()
        crc = model.crc()
        wrong = corrupt_last and i == len(updates) - 1
        result = book.apply(data("PF_XBTUSD", ub, ua, crc ^ 0x5A if wrong else crc), snapshot=False)
        if wrong:
            assert isinstance(result, ChecksumMismatch)
            assert not book.is_synced
            return
        assert result is None
        assert book.book.levels() == model.top()
        assert book.checksum() == checksum_of(book.book) == crc  # the cached texts agree


def test_wire_numbers_survive_decoding_for_the_checksum() -> None:
    # the vector book's qty texts have trailing zeros: decoding must keep them
    msg = msgspec.json.decode(vector_snapshot(), type=BookMessage)
    assert str(msg.data[0].asks[0].qty) == "0.00100000"
    assert msg.data[0].checksum == CHECKSUM_VECTOR_CRC
