"""A local L2 order book built from Kraken's ``book_snapshot`` + ``book`` deltas.

Kraken's ``book`` feed (reference §6) sends the whole book once (``book_snapshot``) and then one
message per changed level: ``{side, price, qty, seq}`` where ``qty`` is the new total at that
price and ``0`` deletes the level. ``seq`` is per product and goes up by exactly one; there is no
checksum, so the sequence check and the crossed-book check are the only ways to notice that the
local copy drifted. Both raise (:class:`~krakenfutures.errors.SequenceGapError`,
:class:`~krakenfutures.errors.CrossedBookError`, both :class:`~krakenfutures.errors.StateError`):
the caller drops the book and resubscribes for a fresh snapshot.

Speed (a benchmark target of 500,000 deltas per second, decode included):

* Hashing a fresh :class:`~decimal.Decimal` costs about a microsecond (its hash must agree with
  equal ints and floats), more than the rest of a delta together, while a string hashes in a
  few nanoseconds. So deltas find their level through the price *text* (``str(price)``): each
  side maps every price text it has seen to the *cell* of that value (:class:`_Level`, a
  mutable ``qty``; ``None`` = no level). The common delta, a size change of an existing level,
  is one string-keyed lookup and one attribute store. A new Decimal is hashed only the first
  time its text is seen (to join spellings of one value such as ``34981`` and ``34981.0``).
* Each side caches its best price and keeps a binary heap of its cells' keys (the price for
  asks, the negated price for bids) to find the next best when the best level goes. Deletion
  is lazy and a cell is in the heap at most once (``queued``): a level deleted below the top
  stays queued, so when it comes back (most adds revive a recent level near the top) nothing
  is pushed at all. Dead cells leave the heap when they reach the top; the heap is rebuilt
  when they outnumber the live levels. Adding or deleting a level below the best is O(1) and
  costs no price comparison beyond the one against the best.
* Sorted views (depth, impact price, imbalance) are computed on demand with
  ``heapq.nlargest``/``nsmallest``.

Prices and quantities are :class:`~decimal.Decimal` as decoded from the wire; ``34981`` and
``34981.0`` are the same level.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from heapq import heapify, heappop, heappush, nlargest, nsmallest

from krakenfutures.core.types import Side
from krakenfutures.core.ws.schema_public import BookDelta, BookSnapshot
from krakenfutures.errors import CrossedBookError, SequenceGapError, StateError, ValidationError

Level = tuple[Decimal, Decimal]
"""One price level: ``(price, qty)``."""

_BUY = Side.BUY
_ZERO = Decimal(0)
_TWO = Decimal(2)
_SLACK = 64  # dead heap entries tolerated beyond the live levels before a rebuild
_MAX_TEXTS = 100_000  # price texts remembered per side before the maps are rebuilt from live levels


class _Level:
    """One price's cell, shared by every spelling of the price.

    ``qty`` is None while there is no level at the price; ``key`` orders the side's heap (the
    price for asks, the exactly negated price for bids); ``queued`` says the key is in the heap.
    """

    __slots__ = ("key", "price", "qty", "queued")

    def __init__(self, price: Decimal, key: Decimal) -> None:
        self.price = price
        self.key = key
        self.qty: Decimal | None = None
        self.queued = False


class _Side:
    """Every cell of one book side and its heap; the live levels are the dict ``levels``."""

    __slots__ = ("bids", "cells", "heap", "levels", "texts", "values")

    def __init__(self, *, bids: bool) -> None:
        self.bids = bids
        self.levels: dict[Decimal, _Level] = {}  # live levels: price -> cell
        self.texts: dict[str, _Level] = {}  # every price text seen -> cell
        self.values: dict[Decimal, _Level] = {}  # every cell by price (joins spellings)
        self.cells: dict[Decimal, _Level] = {}  # every cell by heap key
        self.heap: list[Decimal] = []  # keys; each cell at most once

    def load(self, pairs: Iterable[Level]) -> None:
        """Replace the side with the snapshot ``pairs`` (``qty`` 0 skipped)."""
        self.levels, self.texts, self.values, self.cells = {}, {}, {}, {}
        for price, qty in pairs:
            if qty:
                self.cell(price).qty = qty
        for level in self.values.values():
            if level.qty is not None:
                self.levels[level.price] = level
        self.reheap()

    def cell(self, price: Decimal) -> _Level:
        """The cell of ``price`` whose text is not mapped yet: the value's cell, else a new one."""
        texts = self.texts
        if len(texts) >= _MAX_TEXTS:  # forget dead cells and alternative spellings
            live = self.levels
            texts.clear()
            texts.update((str(p), level) for p, level in live.items())
            self.values = dict(live)
            self.cells = {level.key: level for level in live.values()}
            self.reheap()
        level = self.values.get(price)
        if level is None:
            level = _Level(price, price.copy_negate() if self.bids else price)
            self.values[price] = level
            self.cells[level.key] = level
        texts[str(price)] = level
        return level

    def push(self, level: _Level) -> None:
        """Queue a cell that just became live (no-op when its key is still in the heap)."""
        if level.queued:
            return
        level.queued = True
        heap = self.heap
        heappush(heap, level.key)
        if len(heap) > 2 * len(self.levels) + _SLACK:
            self.reheap()

    def reheap(self) -> None:
        """A fresh heap of the live levels only."""
        cells = self.cells
        for key in self.heap:
            level = cells.get(key)
            if level is not None:
                level.queued = False
        heap = []
        for level in self.levels.values():
            level.queued = True
            heap.append(level.key)
        heapify(heap)
        self.heap = heap

    def top(self) -> Decimal | None:
        """The best live price (dropping dead cells from the top of the heap), or None."""
        heap, cells = self.heap, self.cells
        while heap:
            level = cells[heap[0]]
            if level.qty is not None:
                return level.price
            heappop(heap)
            level.queued = False
        return None


class OrderBook:
    """L2 book of one symbol: apply a snapshot, then deltas in ``seq`` order.

    Args:
        symbol: the product id (``PF_XBTUSD``); messages for other symbols are refused by
            :func:`apply_book_message`.
        tick_size: the instrument's tick, used only by :meth:`spread_ticks`.

    Until the first :meth:`apply_snapshot` the book is empty and :meth:`apply_delta` raises
    :class:`~krakenfutures.errors.StateError`.
    """

    __slots__ = (
        "_ask",
        "_ask_texts",
        "_best_ask",
        "_best_bid",
        "_bid",
        "_bid_texts",
        "_next_seq",
        "symbol",
        "tick_size",
    )

    def __init__(self, symbol: str, tick_size: Decimal | None = None) -> None:
        self.symbol = symbol
        self.tick_size = tick_size
        self._next_seq: int | None = None
        # the best prices are always the cell's own Decimal (identity tells "is the best")
        self._best_bid: Decimal | None = None
        self._best_ask: Decimal | None = None
        self._bid = _Side(bids=True)
        self._ask = _Side(bids=False)
        self._bid_texts = self._bid.texts  # the hot path's one lookup, without a hop
        self._ask_texts = self._ask.texts

    # -----------------------------------------------------------------------------------------
    # Applying wire data
    # -----------------------------------------------------------------------------------------

    @property
    def seq(self) -> int | None:
        """The ``seq`` of the last snapshot or delta applied, or ``None`` before a snapshot."""
        return None if self._next_seq is None else self._next_seq - 1

    @property
    def is_synced(self) -> bool:
        """True once a snapshot was applied (and not :meth:`reset` since)."""
        return self._next_seq is not None

    def reset(self) -> None:
        """Forget every level and the sequence: the next message must be a snapshot."""
        self.apply_snapshot((), (), 0)
        self._next_seq = None

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level], seq: int) -> None:
        """Replace the whole book; the next delta must carry ``seq + 1``.

        Levels with ``qty`` 0 are skipped (Kraken has sent them in snapshots).

        Raises:
            CrossedBookError: the snapshot's best bid is at or above its best ask (the book is
                kept as sent, so it can be inspected).
        """
        self._bid.load(bids)
        self._ask.load(asks)
        self._bid_texts = self._bid.texts
        self._ask_texts = self._ask.texts
        self._best_bid = bid = self._bid.top()
        self._best_ask = ask = self._ask.top()
        self._next_seq = seq + 1
        if bid is not None and ask is not None and bid >= ask:
            raise self._crossed(seq)

    def apply_delta(self, side: Side, price: Decimal, qty: Decimal, seq: int) -> None:
        """Set the level ``price`` on ``side`` to ``qty`` (0 deletes it).

        ``side`` is the side of the book (``buy`` = bids); a plain ``"buy"``/``"sell"`` string
        works too. Deleting a level the book does not hold is a no-op.

        Raises:
            SequenceGapError: ``seq`` is not exactly the previous ``seq + 1`` (a gap, a
                duplicate or a reordering); nothing is applied.
            StateError: no snapshot was applied yet.
            CrossedBookError: after the delta the best bid is at or above the best ask. The
                delta *is* applied and ``seq`` advanced; rebuild from a fresh snapshot.
        """
        if seq != self._next_seq:
            self._reject(seq)
        self._next_seq = seq + 1
        if side == _BUY:
            try:
                level = self._bid_texts[str(price)]
            except KeyError:  # a price text not seen on this side yet: rare
                level = self._bid.cell(price)
            if qty:
                if level.qty is not None:
                    level.qty = qty  # most deltas: a size change, best prices unchanged
                    return
                level.qty = qty
                book_side = self._bid
                price = level.price
                book_side.levels[price] = level
                if not level.queued:
                    book_side.push(level)
                best = self._best_bid
                if best is None or price > best:
                    self._best_bid = price
                    ask = self._best_ask
                    if ask is not None and price >= ask:
                        raise self._crossed(seq)
            elif level.qty is not None:
                level.qty = None
                price = level.price
                del self._bid.levels[price]
                if price is self._best_bid:
                    self._best_bid = self._bid.top()
        else:
            try:
                level = self._ask_texts[str(price)]
            except KeyError:
                level = self._ask.cell(price)
            if qty:
                if level.qty is not None:
                    level.qty = qty
                    return
                level.qty = qty
                book_side = self._ask
                price = level.price
                book_side.levels[price] = level
                if not level.queued:
                    book_side.push(level)
                best = self._best_ask
                if best is None or price < best:
                    self._best_ask = price
                    bid = self._best_bid
                    if bid is not None and price <= bid:
                        raise self._crossed(seq)
            elif level.qty is not None:
                level.qty = None
                price = level.price
                del self._ask.levels[price]
                if price is self._best_ask:
                    self._best_ask = self._ask.top()

    def _reject(self, seq: int) -> None:
        expected = self._next_seq
        if expected is None:
            raise StateError(
                f"{self.symbol}: book delta seq {seq} arrived before any book_snapshot; "
                "apply the snapshot first (subscribe to 'book' and wait for book_snapshot)"
            )
        kind = "gap" if seq > expected else "duplicate or reordered message"
        raise SequenceGapError(
            f"{self.symbol}: book seq {kind}: expected {expected}, got {seq}; "
            "the local book is stale, resubscribe for a fresh snapshot",
            expected=expected,
            got=seq,
        )

    def _crossed(self, seq: int) -> CrossedBookError:
        return CrossedBookError(
            f"{self.symbol}: crossed book after seq {seq}: best bid {self._best_bid} >= "
            f"best ask {self._best_ask}; a delta was missed, resubscribe for a fresh snapshot",
            symbol=self.symbol,
            best_bid=self._best_bid,
            best_ask=self._best_ask,
            seq=seq,
        )

    # -----------------------------------------------------------------------------------------
    # Queries
    # -----------------------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        """The highest bid as ``(price, qty)``, or ``None`` when there are no bids."""
        price = self._best_bid
        return None if price is None else (price, _qty(self._bid.levels[price]))

    def best_ask(self) -> Level | None:
        """The lowest ask as ``(price, qty)``, or ``None`` when there are no asks."""
        price = self._best_ask
        return None if price is None else (price, _qty(self._ask.levels[price]))

    def mid(self) -> Decimal | None:
        """``(best bid + best ask) / 2``, or ``None`` when a side is empty."""
        bid, ask = self._best_bid, self._best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / _TWO

    def spread(self) -> Decimal | None:
        """``best ask - best bid``, or ``None`` when a side is empty."""
        bid, ask = self._best_bid, self._best_ask
        if bid is None or ask is None:
            return None
        return ask - bid

    def spread_ticks(self) -> int | None:
        """The spread in ticks (needs ``tick_size``), or ``None`` when unknown."""
        spread = self.spread()
        if spread is None or not self.tick_size:
            return None
        return int(spread / self.tick_size)

    def depth(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best ``n`` levels per side: bids high to low, asks low to high."""
        bids, asks = self._bid.levels, self._ask.levels
        return (
            [(p, _qty(bids[p])) for p in nlargest(n, bids)],
            [(p, _qty(asks[p])) for p in nsmallest(n, asks)],
        )

    def levels(self) -> tuple[list[Level], list[Level]]:
        """Every level, sorted best first: compare two books (client vs simulator) with this."""
        bids, asks = self._bid.levels, self._ask.levels
        return (
            [(p, _qty(bids[p])) for p in sorted(bids, reverse=True)],
            [(p, _qty(asks[p])) for p in sorted(asks)],
        )

    def volume_at(self, side: Side, price: Decimal) -> Decimal:
        """The qty resting at ``price`` on ``side`` (``buy`` = bids), 0 when no level."""
        level = (self._bid if side == _BUY else self._ask).levels.get(price)
        return _ZERO if level is None else _qty(level)

    def impact_price(self, side: Side, qty: Decimal) -> Decimal | None:
        """Volume-weighted average price a taker order of ``qty`` on ``side`` would pay.

        A ``buy`` walks the asks from the best up, a ``sell`` the bids from the best down.
        ``None`` when the book is too thin to fill ``qty`` (or ``qty`` is not positive).
        """
        if qty <= 0:
            return None
        remaining = qty
        cost = _ZERO
        for price, level_qty in self._walk(bids=side != _BUY):
            take = level_qty if level_qty < remaining else remaining
            cost += take * price
            remaining -= take
            if not remaining:
                return cost / qty
        return None

    def imbalance(self, n: int) -> Decimal:
        """Book imbalance over the best ``n`` levels: ``(bid qty - ask qty) / (bid + ask)``.

        In ``[-1, 1]``: positive when bids outweigh asks; 0 for an empty book.
        """
        bids, asks = self.depth(n)
        bid_qty = sum((q for _, q in bids), _ZERO)
        ask_qty = sum((q for _, q in asks), _ZERO)
        total = bid_qty + ask_qty
        if not total:
            return _ZERO
        return (bid_qty - ask_qty) / total

    def _walk(self, *, bids: bool) -> Iterator[Level]:
        """Levels of one book side best first, sorting only as deep as the caller reads."""
        levels = (self._bid if bids else self._ask).levels
        pick = nlargest if bids else nsmallest
        done = 0
        k = 32
        while True:
            prices = pick(k, levels)
            for price in prices[done:]:
                yield price, _qty(levels[price])
            if len(prices) < k:
                return
            done, k = k, k * 4

    def __len__(self) -> int:
        """Number of price levels on both sides."""
        return len(self._bid.levels) + len(self._ask.levels)

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, seq={self.seq}, bids={len(self._bid.levels)}, "
            f"asks={len(self._ask.levels)}, best={self._best_bid}/{self._best_ask})"
        )


def _qty(level: _Level) -> Decimal:
    qty = level.qty
    assert qty is not None  # only live levels are in the level dicts
    return qty


def apply_book_message(book: OrderBook, msg: BookSnapshot | BookDelta) -> None:
    """Apply a decoded ``book_snapshot`` or ``book`` message to ``book``.

    Raises:
        ValidationError: the message is for another symbol (a routing bug).
        SequenceGapError, CrossedBookError, StateError: as :meth:`OrderBook.apply_delta`.
    """
    if msg.symbol != book.symbol:
        raise ValidationError(
            f"book message for {msg.symbol} applied to the {book.symbol} book; "
            "route messages by their symbol"
        )
    if isinstance(msg, BookDelta):
        book.apply_delta(msg.side, msg.price, msg.qty, msg.seq)
    else:
        book.apply_snapshot(
            [(lvl.price, lvl.qty) for lvl in msg.bids],
            [(lvl.price, lvl.qty) for lvl in msg.asks],
            msg.seq,
        )


__all__ = ["Level", "OrderBook", "apply_book_message"]
