"""A local book fed by uws ``book`` messages, its checksum verified after every message.

:class:`UwsBook` keeps the shared :class:`~krakenfutures.core.book.OrderBook` (the same class
the legacy feed fills, so every consumer reads one API) and follows the v2 rules of reference
§4.11:

* a snapshot replaces the book; an update sets each listed level (``qty`` 0 removes it);
* every level of a message is applied before anything is judged: the book may cross halfway
  through a message (a new best bid listed before the ask it replaces), so a crossing is not an
  error here, the checksum is;
* after each message the book is cut to the subscribed ``depth`` (Kraken sends no ``qty: 0``
  for levels pushed out of range), then the CRC32 of the top 10 levels is compared with the
  message's ``checksum``.

A mismatch empties the book and returns :class:`ChecksumMismatch`: the caller resubscribes for
a fresh snapshot; updates until then are ignored. uws books carry no sequence numbers, so the
``seq`` the shared book wants is a private counter (one per level applied).
"""

from __future__ import annotations

import zlib
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal

from krakenfutures.core.book import OrderBook
from krakenfutures.core.types import Side
from krakenfutures.core.uws.checksum import format_number
from krakenfutures.core.uws.schema import BOOK_DEPTHS, CHECKSUM_DEPTH
from krakenfutures.core.uws.schema_channels import BookData, BookLevel
from krakenfutures.errors import CrossedBookError, ValidationError

_BUY, _SELL = Side.BUY, Side.SELL
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class ChecksumMismatch:
    """The ``symbol`` book no longer hashes to Kraken's checksum: it was emptied and needs a
    fresh snapshot (resubscribe). ``expected`` is Kraken's CRC32, ``computed`` ours."""

    symbol: str
    expected: int
    computed: int


class UwsBook:
    """One symbol's book from uws ``book`` messages (see the module docstring).

    Args:
        symbol: the book's symbol (the domain spelling, e.g. ``PF_XBTUSD``).
        depth: the subscribed depth (10, 25, 100, 500 or 1000).
        tick_size: passed to the :class:`~krakenfutures.core.book.OrderBook`.

    Raises:
        ValidationError: ``depth`` is not a depth the ``book`` channel offers.
    """

    __slots__ = ("_seq", "_text", "book", "depth", "messages", "mismatches")

    def __init__(self, symbol: str, depth: int = 10, tick_size: Decimal | None = None) -> None:
        if depth not in BOOK_DEPTHS:
            raise ValidationError(f"book depth must be one of {BOOK_DEPTHS}, got {depth}")
        self.book = OrderBook(symbol, tick_size)
        """The shared order book (read it; :class:`UwsBook` writes it)."""
        self.depth = depth
        self._seq = 0
        # Per side, price -> the level's checksum text (price then qty, as sent), made once
        # when the level is set: the checksum after every message then formats nothing (it
        # was 70% of the cost of applying a message). Keyed by the level's price, the text
        # is always that of the Decimals the book holds for it.
        self._text: tuple[dict[Decimal, str], dict[Decimal, str]] = ({}, {})
        self.messages = 0
        """Book messages applied (snapshots and updates)."""
        self.mismatches = 0
        """Checksum mismatches detected."""

    @property
    def symbol(self) -> str:
        """The book's symbol."""
        return self.book.symbol

    @property
    def is_synced(self) -> bool:
        """True from a snapshot until a mismatch or :meth:`reset`."""
        return self.book.is_synced

    def reset(self) -> None:
        """Empty the book: the next usable message is a snapshot (after a reconnect)."""
        self.book.reset()
        self._text[0].clear()
        self._text[1].clear()

    def apply(self, data: BookData, *, snapshot: bool) -> ChecksumMismatch | None:
        """Apply one symbol's entry of a ``book`` message and verify its checksum.

        Returns :class:`ChecksumMismatch` when the book does not hash to ``data.checksum``
        (the book is then emptied), else ``None``. An update while no snapshot is applied is
        ignored (``None``); an entry without a checksum is applied unverified.
        """
        book = self.book
        if snapshot:
            self._seq += 1
            with suppress(CrossedBookError):  # the checksum below is the judge
                book.apply_snapshot(_pairs(data.bids), _pairs(data.asks), self._seq)
            for text, levels in zip(self._text, (data.bids, data.asks), strict=True):
                text.clear()
                for level in levels:
                    if level.qty:
                        text[level.price] = _level_text(level.price, level.qty)
            grown_bids, grown_asks = len(data.bids), len(data.asks)
        elif not book.is_synced:
            return None
        else:
            grown_bids = self._update(_BUY, data.bids)
            grown_asks = self._update(_SELL, data.asks)
        if grown_bids or grown_asks:
            self._truncate(max(grown_bids, grown_asks))
        self.messages += 1
        expected = data.checksum
        if expected is None:
            return None
        computed = self.checksum()
        if computed == expected:
            return None
        self.mismatches += 1
        self.reset()
        return ChecksumMismatch(book.symbol, expected, computed)

    def _update(self, side: Side, levels: tuple[BookLevel, ...]) -> int:
        """Apply ``levels`` to ``side``; returns how many set a quantity (possible new levels)."""
        book = self.book
        text = self._text[0 if side is _BUY else 1]
        grown = 0
        for level in levels:
            self._seq += 1
            qty = level.qty
            if qty:
                grown += 1
                text[level.price] = _level_text(level.price, qty)
            else:
                text.pop(level.price, None)
            with suppress(CrossedBookError):  # mid-message crossings are normal
                book.apply_delta(side, level.price, qty, self._seq)
        return grown

    def _truncate(self, grown: int) -> None:
        """Drop the levels beyond ``depth`` (each side held at most ``depth`` before the
        message, which added at most ``grown`` per side)."""
        depth = self.depth
        book = self.book
        if len(book) <= depth:
            return  # neither side can be over
        bids, asks = book.depth(depth + grown)
        for side, levels, text in ((_BUY, bids, self._text[0]), (_SELL, asks, self._text[1])):
            for price, _ in levels[depth:]:
                text.pop(price, None)
                self._seq += 1
                book.apply_delta(side, price, _ZERO, self._seq)  # a removal never crosses

    def checksum(self) -> int:
        """The book's CRC32 over its top 10 levels per side, from the level texts kept as
        levels are set (equal to :func:`~krakenfutures.core.uws.checksum.checksum_of`)."""
        bids, asks = self.book.depth(CHECKSUM_DEPTH)
        bid_text, ask_text = self._text
        parts = [ask_text.get(price) or _level_text(price, qty) for price, qty in asks]
        parts += [bid_text.get(price) or _level_text(price, qty) for price, qty in bids]
        return zlib.crc32("".join(parts).encode("ascii"))

    def __repr__(self) -> str:
        return (
            f"UwsBook({self.symbol!r}, depth={self.depth}, synced={self.is_synced}, "
            f"messages={self.messages}, mismatches={self.mismatches})"
        )


def _level_text(price: Decimal, qty: Decimal) -> str:
    return format_number(price) + format_number(qty)


def _pairs(levels: tuple[BookLevel, ...]) -> list[tuple[Decimal, Decimal]]:
    return [(level.price, level.qty) for level in levels]


__all__ = ["ChecksumMismatch", "UwsBook"]
