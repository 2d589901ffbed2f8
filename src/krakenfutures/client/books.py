"""Local order books kept from ``book_snapshot`` + ``book`` messages, with gap accounting.

:class:`BookKeeper` is synchronous and does no I/O: the live feed runs it on every book message
(and asks for a fresh snapshot when it says so), the replayer runs it over a recording, so both
end with the same books.

Rules:

* a ``book_snapshot`` replaces the book; if the book had been dropped (gap, crossed book,
  lost connection), :class:`BookResynced`;
* a ``book`` delta is applied when the book is in sync. A ``seq`` that is not exactly the
  previous + 1 (gap, duplicate, reordering) or a delta that crosses the book drops the book
  (empty, ``is_synced`` False) and returns :class:`BookGapDetected`; the caller resubscribes;
* while a book waits for its snapshot, deltas of the old stream are not applied but their
  ``seq`` is still checked, so every anomaly is counted, not just the first;
* :meth:`BookKeeper.connection_lost` drops every book (no gap: the stream ended) until the
  snapshots of the next connection.
"""

from __future__ import annotations

from collections import Counter

from krakenfutures.client.events import BookGapDetected, BookResynced, GapReason
from krakenfutures.core.book import OrderBook
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.ws.schema_public import BookDelta, BookSnapshot
from krakenfutures.errors import CrossedBookError, SequenceGapError


class BookKeeper:
    """One :class:`~krakenfutures.core.book.OrderBook` per symbol, gaps detected and counted."""

    __slots__ = ("_books", "_stale", "_tracking", "gaps")

    def __init__(self) -> None:
        self._books: dict[str, OrderBook] = {}
        # symbol -> next seq expected from the old stream while the book waits for a snapshot
        self._tracking: dict[str, int] = {}
        self._stale: set[str] = set()  # had a book, lost it: the next snapshot is a resync
        self.gaps: Counter[str] = Counter()
        """Anomalies detected per symbol (gaps, duplicates, crossed books)."""

    def book(self, symbol: str) -> OrderBook:
        """The book of ``symbol`` (created empty, not synced, on first use)."""
        symbol = normalize_symbol(symbol)
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = OrderBook(symbol)
        return book

    @property
    def symbols(self) -> list[str]:
        """Symbols with a book."""
        return list(self._books)

    @property
    def gap_count(self) -> int:
        """Anomalies detected over all symbols."""
        return sum(self.gaps.values())

    def apply(self, msg: BookSnapshot | BookDelta) -> BookGapDetected | BookResynced | None:
        """Apply one book message; returns what happened to the book, if anything notable."""
        if type(msg) is BookDelta:
            book = self._books.get(msg.symbol)
            if book is not None and book.is_synced:
                try:
                    book.apply_delta(msg.side, msg.price, msg.qty, msg.seq)
                except SequenceGapError as exc:
                    book.reset()
                    self._stale.add(msg.symbol)
                    return self._anomaly(msg.symbol, exc.expected, exc.got)
                except CrossedBookError:
                    return self._crossed(book, msg.seq)
                return None
            expected = self._tracking.get(msg.symbol)
            if expected is None:
                return None  # no snapshot on this connection yet: nothing to check against
            if msg.seq == expected:
                self._tracking[msg.symbol] = expected + 1
                return None
            return self._anomaly(msg.symbol, expected, msg.seq)
        assert isinstance(msg, BookSnapshot)
        book = self.book(msg.symbol)
        self._tracking.pop(msg.symbol, None)
        try:
            book.apply_snapshot(
                [(lvl.price, lvl.qty) for lvl in msg.bids],
                [(lvl.price, lvl.qty) for lvl in msg.asks],
                msg.seq,
            )
        except CrossedBookError:
            return self._crossed(book, msg.seq)
        if msg.symbol in self._stale:
            self._stale.discard(msg.symbol)
            return BookResynced(msg.symbol, msg.seq)
        return None

    def _crossed(self, book: OrderBook, seq: int) -> BookGapDetected:
        book.reset()
        self._stale.add(book.symbol)
        self._tracking[book.symbol] = seq + 1
        self.gaps[book.symbol] += 1
        return BookGapDetected(book.symbol, seq, seq, "crossed")

    def _anomaly(self, symbol: str, expected: int, got: int) -> BookGapDetected:
        reason: GapReason = "gap" if got > expected else "duplicate"
        # Keep checking the old stream: after a gap the next is got + 1; after a duplicate or
        # a late message the stream's own position (expected) still stands.
        self._tracking[symbol] = max(expected, got + 1)
        self.gaps[symbol] += 1
        return BookGapDetected(symbol, expected, got, reason)

    def drop(self, symbol: str) -> None:
        """Forget ``symbol``'s book state (no longer subscribed): empty, not synced, no gap."""
        symbol = normalize_symbol(symbol)
        book = self._books.get(symbol)
        if book is not None:
            book.reset()
        self._tracking.pop(symbol, None)
        self._stale.discard(symbol)

    def connection_lost(self) -> None:
        """The stream ended: drop every book until its next snapshot (not a gap)."""
        for book in self._books.values():
            if book.is_synced:
                self._stale.add(book.symbol)
            book.reset()
        self._tracking.clear()

    def __repr__(self) -> str:
        return f"BookKeeper(books={len(self._books)}, gaps={self.gap_count})"


__all__ = ["BookKeeper"]
