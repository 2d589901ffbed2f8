"""Global invariants of the simulated exchange, checked by tests and fuzzers.

:func:`check_invariants` returns a list of human-readable problems (empty when healthy):

* every book is structurally sound and not crossed, and holds exactly the resting orders,
  each with its remaining size and limit price on the grid;
* every open order has ``0 <= filled < qty``; ids, ``cliOrdId`` index, trigger lists, the
  book-key map, the reduce-only index and the margin exposure aggregates all agree, and the
  incremental initial margin with orders has the digits of a full recomputation;
* positions are never flat, their holders are indexed, open interest equals the sum of longs;
* no margin account has negative equity unless the account was liquidated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from krakenfutures.core.types import Side
from krakenfutures.sim import domain as d
from krakenfutures.sim.accounts import FLEX
from krakenfutures.sim.matching import BUY, SELL

if TYPE_CHECKING:
    from krakenfutures.sim.core import EngineCore

ZERO = Decimal(0)


def check_invariants(ex: EngineCore) -> list[str]:
    """Broken invariants (empty when healthy): book structure and crossing, books equal
    resting orders, order fill bounds, indexes, open interest, and no account with negative
    margin equity that was never liquidated."""
    problems: list[str] = []
    resting: dict[str, int] = dict.fromkeys(ex.specs, 0)
    longs: dict[str, Decimal] = dict.fromkeys(ex.specs, ZERO)
    for acct in ex.state.accounts.values():
        for oid, order in acct.orders.items():
            where = f"{acct.name}/{oid}"
            if order.order_id != oid or order.account != acct.name:
                problems.append(f"{where}: filed under the wrong id or account")
            if not ZERO <= order.filled < order.qty:
                problems.append(f"{where}: open order with filled {order.filled} of {order.qty}")
            if order.cli_ord_id is not None and acct.cli_index.get(order.cli_ord_id) != oid:
                problems.append(f"{where}: cliOrdId {order.cli_ord_id!r} not indexed")
            if order.type in d.TRIGGER_TYPES:
                if oid not in ex.state.markets[order.symbol].triggers:
                    problems.append(f"{where}: trigger order missing from its market")
                continue
            resting[order.symbol] += 1
            spec = ex.specs[order.symbol]
            book_order = ex.books[order.symbol].order(order.key)
            if book_order is None or ex.by_key.get(order.key) is not order:
                problems.append(f"{where}: open order not resting in the book")
                continue
            assert order.limit_price is not None
            if book_order.lots != spec.check_qty(
                order.remaining
            ) or book_order.price != spec.check_price(order.limit_price):
                problems.append(
                    f"{where}: book holds {book_order.lots} lots @ {book_order.price}, order says {order.remaining} @ {order.limit_price}"
                )
            if book_order.side != (BUY if order.side is Side.BUY else SELL):
                problems.append(f"{where}: book side differs")
        for cli, oid in acct.cli_index.items():
            if oid not in acct.orders:
                problems.append(f"{acct.name}: cliOrdId {cli!r} points at closed order {oid}")
        for symbol, pos in acct.positions.items():
            if pos.qty == 0:
                problems.append(f"{acct.name}/{symbol}: flat position kept")
            longs[symbol] += max(pos.qty, ZERO)
            if acct.name not in ex.holders[symbol]:
                problems.append(f"{acct.name}/{symbol}: holder not indexed")
        groups = {FLEX, *ex.ledger.groups(acct)}
        for group in groups:
            equity = ex.ledger.equity(acct, group, ex.state.now_ms)
            if equity < 0 and acct.liquidations == 0:
                problems.append(
                    f"{acct.name}/{group}: margin equity {equity} < 0 without liquidation"
                )
    problems.extend(_check_indexes(ex))
    for symbol, book in ex.books.items():
        problems.extend(f"{symbol}: {p}" for p in book.check())
        if len(book) != resting[symbol]:
            problems.append(f"{symbol}: book holds {len(book)} orders, accounts {resting[symbol]}")
        market = ex.state.markets[symbol]
        if market.long_oi != longs[symbol]:
            problems.append(
                f"{symbol}: open interest {market.long_oi} != sum of longs {longs[symbol]}"
            )
    return problems


def _check_indexes(ex: EngineCore) -> list[str]:
    """Derived indexes (key map, reduce-only orders, margin exposure) match the orders."""
    problems: list[str] = []
    for key, order in ex.by_key.items():
        if (
            order.key != key
            or ex.state.accounts[order.account].orders.get(order.order_id) is not order
        ):
            problems.append(f"key {key} maps to an order that is not open under that key")
    for acct in ex.state.accounts.values():
        expected = {o.order_id for o in acct.orders.values() if o.reduce_only and o.key}
        if set(ex.reduce_only.get(acct.name, {})) != expected:
            problems.append(f"{acct.name}: reduce-only index differs from the open orders")
        for symbol in ex.specs:
            for side in (Side.BUY, Side.SELL):
                want = sum(
                    (
                        o.remaining
                        for o in acct.orders.values()
                        if o.symbol == symbol and o.side is side and o.key and not o.reduce_only
                    ),
                    ZERO,
                )
                got = ex.ledger.open_side_qty(acct.name, symbol, side)
                if want != got:
                    problems.append(
                        f"{acct.name}/{symbol}/{side}: margin exposure {got} != open orders {want}"
                    )
        for group in sorted({FLEX, *ex.ledger.groups(acct)}):
            fast = ex.ledger.initial_margin_with_orders(acct, group)
            full = ex.ledger.exposure.full_initial_margin(acct, group)
            if str(fast) != str(full):
                problems.append(
                    f"{acct.name}/{group}: incremental order margin {fast} != recomputed {full}"
                )
    return problems


__all__ = ["check_invariants"]
