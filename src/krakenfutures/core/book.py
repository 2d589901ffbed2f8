"""A local L2 order book built from Kraken's ``book_snapshot`` + ``book`` deltas.

Kraken's ``book`` feed (reference §6) sends the whole book once (``book_snapshot``) and then one
message per changed level: ``{side, price, qty, seq}`` where ``qty`` is the new total at that
price and ``0`` deletes the level. ``seq`` is per product and goes up by exactly one; there is no
checksum, so the sequence check and the crossed-book check are the only ways to notice that the
local copy drifted. Both raise (:class:`~krakenfutures.errors.SequenceGapError`,
:class:`~krakenfutures.errors.CrossedBookError`, both :class:`~krakenfutures.errors.StateError`):
the caller drops the book and resubscribes for a fresh snapshot.

Speed (a benchmark target of 500,000 deltas per second, decode included): each side keeps a
dict of live levels (price -> :class:`_Level`, a mutable ``price``/``qty`` cell) and caches the
best price; a binary heap per side with lazy deletion finds the next best when the best level
goes (a level that disappears stays in the heap until it reaches the top; the heap is rebuilt
when stale entries outnumber live ones). Sorted views (depth, impact price, imbalance) are
computed on demand with ``heapq.nlargest``/``nsmallest``.

Hashing a fresh :class:`~decimal.Decimal` costs about a microsecond (its hash must agree with
equal ints and floats), more than the rest of a delta together, while a string hashes in a few
nanoseconds. So deltas find their level through the price *text* (``str(price)``): each side
maps every price text it has seen to the level cell of that value. The common delta, a size
change of an existing level, is then one string-keyed lookup and one attribute store; a new
Decimal is hashed only the first time its text is seen (to join spellings of one value such as
``34981`` and ``34981.0``).

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
_SLACK = 64  # stale heap entries tolerated beyond 2x the live levels before a rebuild
_MAX_TEXTS = 100_000  # price texts remembered per side before the map is rebuilt from live levels


class _Level:
    """One price level's cell: shared by every spelling of its price; ``qty`` None = no level."""

    __slots__ = ("price", "qty")

    def __init__(self, price: Decimal) -> None:
        self.price = price
        self.qty: Decimal | None = None


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
        "_ask_heap",
        "_ask_texts",
        "_ask_values",
        "_asks",
        "_best_ask",
        "_best_bid",
        "_bid_heap",
        "_bid_texts",
        "_bid_values",
        "_bids",
        "_next_seq",
        "symbol",
        "tick_size",
    )

    def __init__(self, symbol: str, tick_size: Decimal | None = None) -> None:
        self.symbol = symbol
        self.tick_size = tick_size
        self._next_seq: int | None = None
        self._best_bid: Decimal | None = None
        self._best_ask: Decimal | None = None
        # per side: live levels (price -> cell), every price text seen (text -> cell), every
        # cell by value (joins spellings), and the heap
        self._bids: dict[Decimal, _Level] = {}
        self._asks: dict[Decimal, _Level] = {}
        self._bid_texts: dict[str, _Level] = {}
        self._ask_texts: dict[str, _Level] = {}
        self._bid_values: dict[Decimal, _Level] = {}
        self._ask_values: dict[Decimal, _Level] = {}
        # heapq is a min-heap: bids go in as (-price, price), so the top maps back to the
        # level's own Decimal (hash cached) rather than a fresh negated one
        self._bid_heap: list[tuple[Decimal, Decimal]] = []
        self._ask_heap: list[Decimal] = []

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
        self._bids, self._bid_texts, self._bid_values = _side_from(bids)
        self._asks, self._ask_texts, self._ask_values = _side_from(asks)
        self._bid_heap = _bid_heap(self._bids)
        self._ask_heap = list(self._asks)
        heapify(self._ask_heap)
        self._best_bid = self._bid_heap[0][1] if self._bid_heap else None
        self._best_ask = self._ask_heap[0] if self._ask_heap else None
        self._next_seq = seq + 1
        bid, ask = self._best_bid, self._best_ask
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
                level = _cell(self._bid_texts, self._bid_values, self._bids, price)
            if qty:
                if level.qty is not None:
                    level.qty = qty  # most deltas: a size change, best prices unchanged
                    return
                level.qty = qty
                self._add_bid(level, seq)
            elif level.qty is not None:
                level.qty = None
                price = level.price
                del self._bids[price]
                if price == self._best_bid:
                    self._best_bid = self._top_bid()
        else:
            try:
                level = self._ask_texts[str(price)]
            except KeyError:
                level = _cell(self._ask_texts, self._ask_values, self._asks, price)
            if qty:
                if level.qty is not None:
                    level.qty = qty
                    return
                level.qty = qty
                self._add_ask(level, seq)
            elif level.qty is not None:
                level.qty = None
                price = level.price
                del self._asks[price]
                if price == self._best_ask:
                    self._best_ask = self._top_ask()

    def _add_bid(self, level: _Level, seq: int) -> None:
        price = level.price
        levels = self._bids
        levels[price] = level
        heap = self._bid_heap
        heappush(heap, (-price, price))
        if len(heap) > 2 * len(levels) + _SLACK:
            self._bid_heap = _bid_heap(levels)
        best = self._best_bid
        if best is None or price > best:
            self._best_bid = price
            ask = self._best_ask
            if ask is not None and price >= ask:
                raise self._crossed(seq)

    def _add_ask(self, level: _Level, seq: int) -> None:
        price = level.price
        levels = self._asks
        levels[price] = level
        heap = self._ask_heap
        heappush(heap, price)
        if len(heap) > 2 * len(levels) + _SLACK:
            self._ask_heap = list(levels)
            heapify(self._ask_heap)
        best = self._best_ask
        if best is None or price < best:
            self._best_ask = price
            bid = self._best_bid
            if bid is not None and price <= bid:
                raise self._crossed(seq)

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

    def _top_bid(self) -> Decimal | None:
        heap, levels = self._bid_heap, self._bids
        while heap:
            price = heap[0][1]
            if price in levels:
                return price
            heappop(heap)
        return None

    def _top_ask(self) -> Decimal | None:
        heap, levels = self._ask_heap, self._asks
        while heap:
            price = heap[0]
            if price in levels:
                return price
            heappop(heap)
        return None

    # -----------------------------------------------------------------------------------------
    # Queries
    # -----------------------------------------------------------------------------------------

    def best_bid(self) -> Level | None:
        """The highest bid as ``(price, qty)``, or ``None`` when there are no bids."""
        price = self._best_bid
        return None if price is None else (price, _qty(self._bids[price]))

    def best_ask(self) -> Level | None:
        """The lowest ask as ``(price, qty)``, or ``None`` when there are no asks."""
        price = self._best_ask
        return None if price is None else (price, _qty(self._asks[price]))

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
        bids, asks = self._bids, self._asks
        return (
            [(p, _qty(bids[p])) for p in nlargest(n, bids)],
            [(p, _qty(asks[p])) for p in nsmallest(n, asks)],
        )

    def levels(self) -> tuple[list[Level], list[Level]]:
        """Every level, sorted best first: compare two books (client vs simulator) with this."""
        bids, asks = self._bids, self._asks
        return (
            [(p, _qty(bids[p])) for p in sorted(bids, reverse=True)],
            [(p, _qty(asks[p])) for p in sorted(asks)],
        )

    def volume_at(self, side: Side, price: Decimal) -> Decimal:
        """The qty resting at ``price`` on ``side`` (``buy`` = bids), 0 when no level."""
        level = (self._bids if side == _BUY else self._asks).get(price)
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
        levels = self._bids if bids else self._asks
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
        return len(self._bids) + len(self._asks)

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, seq={self.seq}, bids={len(self._bids)}, "
            f"asks={len(self._asks)}, best={self._best_bid}/{self._best_ask})"
        )


def _qty(level: _Level) -> Decimal:
    qty = level.qty
    assert qty is not None  # only live levels are in the level dicts
    return qty


def _side_from(
    pairs: Iterable[Level],
) -> tuple[dict[Decimal, _Level], dict[str, _Level], dict[Decimal, _Level]]:
    """Fresh (levels, texts, values) maps of one side from snapshot pairs."""
    levels: dict[Decimal, _Level] = {}
    for price, qty in pairs:
        if qty:
            level = levels.get(price)
            if level is None:
                level = levels[price] = _Level(price)
            level.qty = qty
    texts = {str(p): level for p, level in levels.items()}
    return levels, texts, dict(levels)


def _cell(
    texts: dict[str, _Level],
    values: dict[Decimal, _Level],
    levels: dict[Decimal, _Level],
    price: Decimal,
) -> _Level:
    """The cell of ``price`` for a text not seen yet: the value's cell if known, else a new one."""
    if len(texts) >= _MAX_TEXTS:  # forget dead cells and alternative spellings
        texts.clear()
        texts.update((str(p), level) for p, level in levels.items())
        values.clear()
        values.update(levels)
    level = values.get(price)
    if level is None:
        level = values[price] = _Level(price)
    texts[str(price)] = level
    return level


def _bid_heap(levels: dict[Decimal, _Level]) -> list[tuple[Decimal, Decimal]]:
    """A fresh bid heap of the live prices (no stale entries)."""
    heap = [(-p, p) for p in levels]
    heapify(heap)
    return heap


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
