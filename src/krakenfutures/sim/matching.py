"""The simulator's matching core: a price-time priority order book on integer ticks and lots.

Everything here is plain integers so the hot loop never touches Decimal: prices are ticks
(``price / tickSize``), quantities are lots (``qty / lot``), sides are ``BUY = 0`` /
``SELL = 1``. The engine (:mod:`krakenfutures.sim.engine`) converts at the edge.

Layout, chosen for speed:

* one :class:`Level` per price, holding its resting orders in an ``OrderedDict`` (O(1) append,
  O(1) removal from anywhere, O(1) peek at the head; a plain dict degrades when drained from the
  front);
* per side a dict ``price -> Level`` plus a binary heap of prices (bids negated) with lazy
  deletion: a level that empties is dropped from the dict and its heap entry is discarded the
  next time it reaches the top. The heap is rebuilt when stale entries outnumber live levels.

Every change to a level's total is appended to :attr:`OrderBook.changes` as
``(side, price, lots_after)`` (``lots_after == 0`` deletes the level), in order, so the engine
can number them (``seq``) and publish ``book`` deltas exactly as they happened.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from heapq import heapify, heappop, heappush

BUY = 0
SELL = 1

STP_NONE = 0
"""No self-trade check: an owner may trade against itself."""
STP_REJECT_TAKER = 1
"""Stop matching at the first resting order of the taker's owner (Kraken's REJECT_TAKER)."""
STP_CANCEL_MAKER = 2
"""Remove the taker owner's resting orders in the way and keep matching (CANCEL_MAKER_*)."""

Fill = tuple[int, str, int, int, int]
"""One match: ``(maker_key, maker_owner, price_ticks, lots, maker_lots_left)``."""


class BookOrder:
    """A resting order: ``key`` (unique, also the time-priority rank), ``owner`` (account),
    ``side`` (BUY/SELL), ``price`` (ticks), ``lots`` (remaining)."""

    __slots__ = ("key", "lots", "owner", "price", "side")

    def __init__(self, key: int, owner: str, side: int, price: int, lots: int) -> None:
        self.key = key
        self.owner = owner
        self.side = side
        self.price = price
        self.lots = lots

    def __repr__(self) -> str:
        return f"BookOrder(key={self.key}, owner={self.owner!r}, side={self.side}, price={self.price}, lots={self.lots})"


class Level:
    """All resting orders at one price, oldest first, and their total ``lots``."""

    __slots__ = ("lots", "orders", "price")

    def __init__(self, price: int) -> None:
        self.price = price
        self.lots = 0
        self.orders: OrderedDict[int, BookOrder] = OrderedDict()


class OrderBook:
    """One instrument's order book. Not thread-safe; the engine serialises access."""

    __slots__ = ("_heaps", "_in_heap", "_levels", "_orders", "changes", "track_changes")

    def __init__(self, *, track_changes: bool = True) -> None:
        self._levels: tuple[dict[int, Level], dict[int, Level]] = ({}, {})
        # Heap keys: -price for bids (so the heap top is the best bid), price for asks.
        self._heaps: tuple[list[int], list[int]] = ([], [])
        self._in_heap: tuple[set[int], set[int]] = (set(), set())
        self._orders: dict[int, BookOrder] = {}
        self.track_changes = track_changes
        self.changes: list[tuple[int, int, int]] = []

    # ------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, key: int) -> bool:
        return key in self._orders

    def order(self, key: int) -> BookOrder | None:
        """The resting order with ``key``, or None."""
        return self._orders.get(key)

    def orders(self) -> Iterator[BookOrder]:
        """Every resting order, in no particular order."""
        return iter(self._orders.values())

    def best(self, side: int) -> int | None:
        """Best price in ticks on ``side`` (highest bid / lowest ask), or None when empty."""
        heap = self._heaps[side]
        levels = self._levels[side]
        in_heap = self._in_heap[side]
        sign = -1 if side == BUY else 1
        while heap:
            price = heap[0] * sign
            if price in levels:
                return price
            in_heap.discard(heappop(heap))
        return None

    def level_lots(self, side: int, price: int) -> int:
        """Total resting lots at ``price`` on ``side`` (0 when no level)."""
        level = self._levels[side].get(price)
        return level.lots if level is not None else 0

    def level_keys(self, side: int, price: int) -> list[int]:
        """Keys of the orders resting at ``price``, in time priority."""
        level = self._levels[side].get(price)
        return list(level.orders) if level is not None else []

    def iter_levels(self, side: int) -> Iterator[tuple[int, int]]:
        """``(price, lots)`` per level, best first. Sorts the side: for snapshots, not hot paths."""
        levels = self._levels[side]
        for price in sorted(levels, reverse=side == BUY):
            yield price, levels[price].lots

    def depth(self, side: int, n: int | None = None) -> list[tuple[int, int]]:
        """The best ``n`` levels (all when None) of ``side`` as ``(price, lots)``, best first."""
        out: list[tuple[int, int]] = []
        for item in self.iter_levels(side):
            if n is not None and len(out) >= n:
                break
            out.append(item)
        return out

    def would_cross(self, side: int, price: int) -> bool:
        """Whether an order on ``side`` at ``price`` would match a resting order now."""
        best = self.best(side ^ 1)
        if best is None:
            return False
        return best <= price if side == BUY else best >= price

    def fillable(self, side: int, limit: int, lots: int, owner: str, stp: int) -> int:
        """How many of ``lots`` a taker on ``side`` limited at ``limit`` would fill now, under
        the same self-trade rule :meth:`match` applies (used for fill-or-kill)."""
        opposite = side ^ 1
        levels = self._levels[opposite]
        if side == BUY:
            prices = sorted(p for p in levels if p <= limit)
        else:
            prices = sorted((p for p in levels if p >= limit), reverse=True)
        total = 0
        for price in prices:
            level = levels[price]
            if stp == STP_NONE:
                total += level.lots
            else:
                for order in level.orders.values():
                    if order.owner == owner:
                        if stp == STP_REJECT_TAKER:
                            return min(total, lots)
                        continue
                    total += order.lots
                    if total >= lots:
                        return lots
            if total >= lots:
                return lots
        return total

    # ----------------------------------------------------------------------------- mutation

    def add(self, key: int, owner: str, side: int, price: int, lots: int) -> BookOrder:
        """Rest an order at the back of its price level (no matching: call :meth:`match` first)."""
        orders = self._orders
        if key in orders:
            raise KeyError(f"order key {key} is already resting in the book")
        if lots <= 0:
            raise ValueError(f"cannot rest {lots} lots: the quantity must be positive")
        order = orders[key] = BookOrder(key, owner, side, price, lots)
        levels = self._levels[side]
        level = levels.get(price)
        if level is None:
            level = levels[price] = Level(price)
            heap_key = -price if side == BUY else price
            in_heap = self._in_heap[side]
            if heap_key not in in_heap:
                heappush(self._heaps[side], heap_key)
                in_heap.add(heap_key)
        level.orders[key] = order
        level.lots += lots
        if self.track_changes:
            self.changes.append((side, price, level.lots))
        return order

    def remove(self, key: int) -> BookOrder | None:
        """Take an order out of the book; None when it is not resting."""
        order = self._orders.pop(key, None)
        if order is None:
            return None
        side = order.side
        levels = self._levels[side]
        level = levels[order.price]
        del level.orders[key]
        level.lots -= order.lots
        if not level.orders:
            del levels[order.price]
            if len(self._heaps[side]) > 2 * len(levels) + 256:
                self._maybe_compact(side)
        if self.track_changes:
            self.changes.append((side, order.price, level.lots))
        return order

    def reduce(self, key: int, lots: int) -> None:
        """Set a resting order's remaining ``lots`` (0 < lots), keeping its time priority."""
        if lots <= 0:
            raise ValueError(f"cannot reduce to {lots} lots: use remove() to take an order out")
        order = self._orders[key]
        level = self._levels[order.side][order.price]
        level.lots += lots - order.lots
        order.lots = lots
        if self.track_changes:
            self.changes.append((order.side, order.price, level.lots))

    def match(
        self, side: int, limit: int, lots: int, owner: str, stp: int
    ) -> tuple[list[Fill], list[int], bool, int]:
        """Match a taker on ``side`` for ``lots`` at prices no worse than ``limit`` (ticks).

        Returns ``(fills, cancelled_maker_keys, stopped_by_self_trade, lots_left)``. Fully
        filled makers leave the book. With ``STP_REJECT_TAKER`` matching stops at the first
        resting order of ``owner``; with ``STP_CANCEL_MAKER`` such orders are removed (their
        keys returned) and matching continues. The taker never rests here: the caller decides
        what to do with ``lots_left``.
        """
        opposite = side ^ 1
        levels = self._levels[opposite]
        heap = self._heaps[opposite]
        in_heap = self._in_heap[opposite]
        orders = self._orders
        sign = -1 if opposite == BUY else 1
        track = self.track_changes
        changes = self.changes
        fills: list[Fill] = []
        cancelled: list[int] = []
        stopped = False
        while lots > 0:
            while heap:
                price = heap[0] * sign
                if price in levels:
                    break
                in_heap.discard(heappop(heap))
            else:
                break
            if (price > limit) if side == BUY else (price < limit):
                break
            level = levels[price]
            queue = level.orders
            while lots > 0 and queue:
                maker = next(iter(queue.values()))
                if stp and maker.owner == owner:
                    if stp == STP_REJECT_TAKER:
                        stopped = True
                        break
                    del queue[maker.key]
                    del orders[maker.key]
                    level.lots -= maker.lots
                    cancelled.append(maker.key)
                    continue
                qty = maker.lots if maker.lots < lots else lots
                maker.lots -= qty
                level.lots -= qty
                lots -= qty
                if maker.lots == 0:
                    del queue[maker.key]
                    del orders[maker.key]
                fills.append((maker.key, maker.owner, price, qty, maker.lots))
            if not queue:
                del levels[price]
            if track:
                changes.append((opposite, price, level.lots))
            if stopped:
                break
        if len(heap) > 2 * len(levels) + 256:
            self._maybe_compact(opposite)
        return fills, cancelled, stopped, lots

    def take_changes(self) -> list[tuple[int, int, int]]:
        """Return and forget the level changes recorded since the last call."""
        changes = self.changes
        self.changes = []
        return changes

    def _maybe_compact(self, side: int) -> None:
        heap = self._heaps[side]
        levels = self._levels[side]
        if len(heap) > 2 * len(levels) + 256:
            fresh = [-p for p in levels] if side == BUY else list(levels)
            heapify(fresh)
            self._heaps = (fresh, self._heaps[1]) if side == BUY else (self._heaps[0], fresh)
            in_heap = set(fresh)
            self._in_heap = (
                (in_heap, self._in_heap[1]) if side == BUY else (self._in_heap[0], in_heap)
            )

    # --------------------------------------------------------------------------- invariants

    def check(self) -> list[str]:
        """Structural problems (empty list when healthy): crossed book, level totals that do
        not equal the sum of their orders, empty or misfiled levels, unindexed orders."""
        problems: list[str] = []
        bid, ask = self.best(BUY), self.best(SELL)
        if bid is not None and ask is not None and bid >= ask:
            problems.append(f"crossed book: best bid {bid} >= best ask {ask}")
        seen = 0
        for side in (BUY, SELL):
            sign = -1 if side == BUY else 1
            heap_prices = {k * sign for k in self._heaps[side]}
            for price, level in self._levels[side].items():
                if level.price != price:
                    problems.append(f"level filed at {price} says price {level.price}")
                if not level.orders:
                    problems.append(f"empty level kept at side {side} price {price}")
                total = 0
                for key, order in level.orders.items():
                    seen += 1
                    total += order.lots
                    if order.lots <= 0:
                        problems.append(f"order {key} rests with {order.lots} lots")
                    if order.side != side or order.price != price or order.key != key:
                        problems.append(f"order {key} is misfiled in level {side}/{price}")
                    if self._orders.get(key) is not order:
                        problems.append(f"order {key} is in a level but not in the index")
                if total != level.lots:
                    problems.append(
                        f"level {side}/{price} total {level.lots} != sum of orders {total}"
                    )
                if price not in heap_prices:
                    problems.append(f"level {side}/{price} is missing from the price heap")
        if seen != len(self._orders):
            problems.append(f"index holds {len(self._orders)} orders, levels hold {seen}")
        return problems


__all__ = [
    "BUY",
    "SELL",
    "STP_CANCEL_MAKER",
    "STP_NONE",
    "STP_REJECT_TAKER",
    "BookOrder",
    "Fill",
    "Level",
    "OrderBook",
]
