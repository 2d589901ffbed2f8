"""Open-order margin exposure of simulated accounts, kept incrementally for pre-trade checks.

Every order placement or edit runs a margin check: initial margin of the positions plus the
open orders, before and after the order (see :mod:`krakenfutures.sim.accounts` for the rule).
Recomputing that from scratch costs several tiered-margin evaluations per check, the largest
single cost of the engine's order path. :class:`Exposure` keeps instead:

* per ``(account, symbol)`` the running sums of the resting orders' quantity and price weight
  per side, updated by :meth:`Exposure.track` on every place, cancel, fill and amend; each
  account's symbols are kept in the same relative order as the global map, so the sums come
  out in the same order as the full formula walks them;
* per ``(account, symbol)`` side and per position the last margin term computed, with the
  exact Decimal objects it was computed from. Every update replaces those objects (Decimal
  arithmetic always returns a new object, and the cache holds the old ones alive, so their
  identity cannot be reused), so a term is recomputed exactly when one of its inputs moved:
  no invalidation to forget, whatever code changes the orders or positions.

A check (:meth:`Exposure.margins`: the figure before and after a hypothetical order, in one
pass) then re-evaluates only the sides that changed since the last check plus the order's own
side, and adds the cached terms in the order of the full formula, so every figure is
*identical* (value and digits) to the full recomputation, which
:meth:`Exposure.full_initial_margin` keeps as the reference for tests and invariants.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext
from typing import Any

from krakenfutures.core.decimals import EXACT, ONE
from krakenfutures.core.margin import MarginLevel, initial_margin, margin_rates
from krakenfutures.core.types import ContractKind, Side
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.state import AccountData, OrderState, PositionState

ZERO = Decimal(0)
_INVERSE = ContractKind.INVERSE
_CTX = EXACT.copy()  # EXACT's settings; a private copy so its flags never touch the shared one
_LADDERS: dict[int, tuple[MarginLevel, ...]] = {}  # margin ladders checked (kept alive: ids stay)

_NO_SUMS: dict[str, list[Any]] = {}

OrderOverride = tuple[str, Side, Decimal, Decimal]
"""``(symbol, side, remaining_qty, price)`` of an order being placed or edited."""


class Exposure:
    """Running open-order sums per account and symbol, and the margin terms built on them."""

    def __init__(self, specs: Mapping[str, InstrumentSpec]) -> None:
        self.specs = specs
        # (account, symbol) -> [buy qty, sell qty, buy weight, sell weight, order count,
        #                       buy term cache, sell term cache]; a term cache is
        #                       (qty, weight, position qty, margin term) or None
        self.sums: dict[tuple[str, str], list[Any]] = {}
        # account -> symbol -> the same lists, in the same relative order as ``sums``
        self._by_account: dict[str, dict[str, list[Any]]] = {}
        # order id -> ((account, symbol), side, qty, weight) it added
        self.contrib: dict[str, tuple[tuple[str, str], int, Decimal, Decimal]] = {}
        # (account, symbol) -> (position qty, entry price, initial margin)
        self._position_terms: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]] = {}

    # --------------------------------------------------------------------------- tracking

    def track(self, order: OrderState, resting: bool) -> None:
        """Record (``resting``) or forget an order's exposure; call after every change of a
        resting order's size, price or state."""
        old = self.contrib.pop(order.order_id, None)
        if old is not None:
            key, side, qty, weight = old
            agg = self.sums[key]
            agg[side] -= qty
            agg[side + 2] -= weight
            agg[4] -= 1
            if agg[4] == 0:
                del self.sums[key]
                del self._by_account[key[0]][key[1]]
        if not resting or order.reduce_only or order.limit_price is None or order.remaining <= 0:
            return
        key = (order.account, order.symbol)
        side = 0 if order.side is Side.BUY else 1
        qty = order.remaining
        weight = weight_of(self.specs[order.symbol], qty, order.limit_price)
        agg = self.sums.get(key)
        if agg is None:
            agg = self.sums[key] = [ZERO, ZERO, ZERO, ZERO, 0, None, None]
            self._by_account.setdefault(order.account, {})[order.symbol] = agg
        agg[side] += qty
        agg[side + 2] += weight
        agg[4] += 1
        self.contrib[order.order_id] = (key, side, qty, weight)

    def reset(self) -> None:
        """Forget every tracked order and cached term (before re-tracking after a restore)."""
        self.sums.clear()
        self._by_account.clear()
        self.contrib.clear()
        self._position_terms.clear()

    def open_side_qty(self, account: str, symbol: str, side: Side) -> Decimal:
        """Remaining quantity of the resting, non-reduce-only orders on one side of a symbol."""
        agg = self.sums.get((account, symbol))
        return agg[0 if side is Side.BUY else 1] if agg is not None else ZERO

    # ----------------------------------------------------------------------------- margin

    def initial_margin(
        self,
        acct: AccountData,
        group: str,
        extra: OrderOverride | None = None,
        skip: str | None = None,
    ) -> Decimal:
        """Initial margin of the positions in ``group`` plus the open orders, ``extra`` added
        and the tracked order ``skip`` left out; identical to :meth:`full_initial_margin`."""
        return self.margins(acct, group, extra, skip)[1]

    def margins(
        self,
        acct: AccountData,
        group: str,
        extra: OrderOverride | None = None,
        skip: str | None = None,
    ) -> tuple[Decimal, Decimal]:
        """``(initial margin with orders, the same with extra and without skip)`` in one pass:
        the terms of the full formula, added in its order (positions, then the symbols with
        orders, then the hypothetical order's new symbol, then symbols with a position only)."""
        specs = self.specs
        name = acct.name
        mine = self._by_account.get(name, _NO_SUMS)
        changed: dict[str, tuple[list[Any], tuple[int, ...]]] | None = None
        new_symbol = None
        if skip is not None or extra is not None:
            changed, new_symbol = self._changes(mine, group, extra, skip)
        positions = acct.positions
        before = after = ZERO
        held: list[PositionState] | tuple[()] = ()
        if positions:
            held = [p for p in positions.values() if specs[p.symbol].margin_account == group]
            for pos in held:
                term = self._position_term(name, pos)
                before += term
                after += term
        for symbol, agg in mine.items():
            spec = specs[symbol]
            if spec.margin_account != group:
                continue
            position = positions.get(symbol) if positions else None
            pos_qty = position.qty if position is not None else ZERO
            buy, sell = _buy_term(spec, agg, pos_qty), _sell_term(spec, agg, pos_qty)
            term = max(buy, sell)
            before += term
            if changed is not None and symbol in changed:
                row, sides = changed[symbol]  # hypothetical figures are not worth caching
                if 0 in sides:
                    buy = orders_margin(spec, row[0], row[2], max(-pos_qty, ZERO))
                if 1 in sides:
                    sell = orders_margin(spec, row[1], row[3], max(pos_qty, ZERO))
                term = max(buy, sell)
            after += term
        if new_symbol is not None:
            assert changed is not None
            spec = specs[new_symbol]
            position = positions.get(new_symbol) if positions else None
            pos_qty = position.qty if position is not None else ZERO
            row, sides = changed[new_symbol]
            after += max(
                orders_margin(spec, row[0], row[2], max(-pos_qty, ZERO)) if 0 in sides else ZERO,
                orders_margin(spec, row[1], row[3], max(pos_qty, ZERO)) if 1 in sides else ZERO,
            )  # an untouched side of a symbol without orders: 0, as the full formula finds
        for pos in held:  # symbols with a position only: no orders, a 0 term each
            if pos.symbol not in mine:
                before += ZERO  # as the full formula does (keeps the digits identical)
                if pos.symbol != new_symbol:
                    after += ZERO
        return before, after

    def _changes(
        self, mine: dict[str, list[Any]], group: str, extra: OrderOverride | None, skip: str | None
    ) -> tuple[dict[str, tuple[list[Any], tuple[int, ...]]], str | None]:
        """The order sums that differ from the tracked ones (``skip`` subtracted, then
        ``extra`` added, as the full formula does), with the sides that changed; and the
        symbol of ``extra`` when the account has no orders there yet."""
        specs = self.specs
        changed: dict[str, tuple[list[Any], tuple[int, ...]]] = {}
        if skip is not None and skip in self.contrib:
            (_, symbol), side, qty, weight = self.contrib[skip]
            agg = mine.get(symbol)
            if agg is not None and specs[symbol].margin_account == group:
                row = agg[:4]
                row[side] -= qty
                row[side + 2] -= weight
                changed[symbol] = (row, (side,))
        new_symbol = None
        if extra is not None and specs[extra[0]].margin_account == group:
            symbol, side_, qty, price = extra
            side = 0 if side_ is Side.BUY else 1
            hit = changed.get(symbol)
            if hit is None:
                agg = mine.get(symbol)
                if agg is None:
                    new_symbol = symbol
                row = agg[:4] if agg is not None else [ZERO, ZERO, ZERO, ZERO]
                sides: tuple[int, ...] = (side,)
            else:
                row, sides = hit[0], (*hit[1], side)
            row[side] += qty
            row[side + 2] += weight_of(specs[symbol], qty, price)
            changed[symbol] = (row, sides)
        return changed, new_symbol

    def _position_term(self, account: str, pos: PositionState) -> Decimal:
        key = (account, pos.symbol)
        qty, entry = pos.qty, pos.entry_price
        hit = self._position_terms.get(key)
        if hit is not None and hit[0] is qty and hit[1] is entry:
            return hit[2]
        spec = self.specs[pos.symbol]
        term = initial_margin(spec.kind, qty, entry, spec.margin_levels)
        self._position_terms[key] = (qty, entry, term)
        return term

    def full_initial_margin(
        self,
        acct: AccountData,
        group: str,
        extra: OrderOverride | None = None,
        skip: str | None = None,
    ) -> Decimal:
        """The reference: :meth:`initial_margin` recomputed from the sums alone, every term
        through :func:`krakenfutures.core.margin.initial_margin` (slow; tests, invariants)."""
        sums: dict[str, list[Decimal]] = {}
        for (account, symbol), agg in self.sums.items():
            if account == acct.name and self.specs[symbol].margin_account == group:
                sums[symbol] = [agg[0], agg[1], agg[2], agg[3]]
        if skip is not None and skip in self.contrib:
            (_, symbol), side, qty, weight = self.contrib[skip]
            if symbol in sums:
                sums[symbol][side] -= qty
                sums[symbol][side + 2] -= weight
        if extra is not None and self.specs[extra[0]].margin_account == group:
            symbol, side_, qty, price = extra
            side = 0 if side_ is Side.BUY else 1
            agg_ = sums.setdefault(symbol, [ZERO, ZERO, ZERO, ZERO])
            agg_[side] += qty
            agg_[side + 2] += weight_of(self.specs[symbol], qty, price)
        total = ZERO
        for pos in acct.positions.values():
            spec = self.specs[pos.symbol]
            if spec.margin_account != group:
                continue
            total += initial_margin(spec.kind, pos.qty, pos.entry_price, spec.margin_levels)
            sums.setdefault(pos.symbol, [ZERO, ZERO, ZERO, ZERO])
        for symbol, (buy_qty, sell_qty, buy_weight, sell_weight) in sums.items():
            spec = self.specs[symbol]
            held = acct.positions.get(symbol)
            pos_qty = held.qty if held is not None else ZERO
            im_buy = _reference_orders_margin(spec, buy_qty, buy_weight, max(-pos_qty, ZERO))
            im_sell = _reference_orders_margin(spec, sell_qty, sell_weight, max(pos_qty, ZERO))
            total += max(im_buy, im_sell)
        return total


def _buy_term(spec: InstrumentSpec, agg: list[Any], pos_qty: Decimal) -> Decimal:
    """The tracked buys' margin beyond the short, from the cache while its inputs stand."""
    hit = agg[5]
    if hit is None or hit[0] is not agg[0] or hit[1] is not agg[2] or hit[2] is not pos_qty:
        term = orders_margin(spec, agg[0], agg[2], max(-pos_qty, ZERO))
        hit = agg[5] = (agg[0], agg[2], pos_qty, term)
    return hit[3]  # type: ignore[no-any-return]


def _sell_term(spec: InstrumentSpec, agg: list[Any], pos_qty: Decimal) -> Decimal:
    """The tracked sells' margin beyond the long, from the cache while its inputs stand."""
    hit = agg[6]
    if hit is None or hit[0] is not agg[1] or hit[1] is not agg[3] or hit[2] is not pos_qty:
        term = orders_margin(spec, agg[1], agg[3], max(pos_qty, ZERO))
        hit = agg[6] = (agg[1], agg[3], pos_qty, term)
    return hit[3]  # type: ignore[no-any-return]


def weight_of(spec: InstrumentSpec, qty: Decimal, price: Decimal) -> Decimal:
    """An order's price weight: ``qty * price`` (linear) or ``qty / price`` (inverse), so
    ``sum(weight) / sum(qty)`` (linear) or ``sum(qty) / sum(weight)`` (inverse, the harmonic
    mean: coin notional stays exact) is the orders' average price. Computed under ``EXACT``."""
    if spec.kind is _INVERSE:
        return _CTX.divide(qty, price)
    return _CTX.multiply(qty, price)


def orders_margin(spec: InstrumentSpec, qty: Decimal, weight: Decimal, offset: Decimal) -> Decimal:
    """IM of one side's orders beyond ``offset`` (the opposite position they would close
    first), at the orders' average price; the same digits as
    ``initial_margin(spec.kind, qty - offset, average, spec.margin_levels)`` without its
    per-call context switches and ladder checks (each ladder is checked once)."""
    beyond = qty - offset
    if beyond <= 0 or weight <= 0:
        return ZERO
    inverse = spec.kind is _INVERSE
    price = _CTX.divide(qty, weight) if inverse else _CTX.divide(weight, qty)
    if not price.is_finite() or price <= 0:  # as core's require_positive: never here
        return initial_margin(spec.kind, beyond, price, spec.margin_levels)
    contracts = abs(beyond)
    if inverse:
        size, base = contracts, _CTX.divide(contracts, price)
    else:
        size = base = _CTX.multiply(contracts, price)
    levels = spec.margin_levels
    if _LADDERS.get(id(levels)) is not levels:  # core's checks of the ladder, once per ladder
        margin_rates(levels, ZERO)
        _LADDERS[id(levels)] = levels
    size = abs(size)
    chosen = levels[0]
    for level in levels[1:]:
        if size >= level.threshold:
            chosen = level
        else:
            break
    return _CTX.multiply(_CTX.multiply(base, chosen.initial), ONE)


def _reference_orders_margin(
    spec: InstrumentSpec, qty: Decimal, weight: Decimal, offset: Decimal
) -> Decimal:
    """:func:`orders_margin` through core's :func:`initial_margin` (the reference)."""
    beyond = qty - offset
    if beyond <= 0 or weight <= 0:
        return ZERO
    with localcontext(EXACT):
        price = qty / weight if spec.kind is _INVERSE else weight / qty
    return initial_margin(spec.kind, beyond, price, spec.margin_levels)


__all__ = ["Exposure", "OrderOverride", "orders_margin", "weight_of"]
