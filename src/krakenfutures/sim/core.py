"""The engine's base: state, books, indexes and the primitives that open and close orders.

The exchange is assembled in layers, each a class adding one concern on top of the last:
:class:`EngineCore` (here: state, lookups, resting/closing orders, book deltas, history) ->
:class:`~krakenfutures.sim.settlement.Settlement` (clock, fills, funding, triggers,
liquidation) -> :class:`~krakenfutures.sim.orders.OrderEntry` (send) ->
:class:`~krakenfutures.sim.amend.Amendments` (edit, cancel, batch) ->
:class:`~krakenfutures.sim.queries.Queries` (read-only views) ->
:class:`~krakenfutures.sim.engine.Exchange` (the public API).

Derived indexes live here and are rebuilt from the state after a restore: the matching books
(from the open orders, in ``key`` = time-priority order), ``by_key`` (book key -> order),
``holders`` (symbol -> accounts with a position), ``reduce_only`` (account -> resting
reduce-only orders) and the ledger's margin exposure per account and symbol.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from random import Random

from krakenfutures.core.types import SelfTradeStrategy, Side
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.accounts import Ledger
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.matching import BUY, SELL, STP_CANCEL_MAKER, STP_REJECT_TAKER, OrderBook
from krakenfutures.sim.state import (
    AccountData,
    ClosedOrder,
    ExchangeConfig,
    ExchangeState,
    OrderState,
    new_uuid,
    trim,
)

ZERO = Decimal(0)
Listener = Callable[[d.ExchangeEvent], None]


def side_index(side: Side) -> int:
    """Side -> matching-core side."""
    return BUY if side is Side.BUY else SELL


def stp_mode(strategy: SelfTradeStrategy) -> int:
    """Account strategy -> matching-core self-trade mode. Without subaccounts the CHILD and ANY
    variants reach the same orders as SELF."""
    return STP_REJECT_TAKER if strategy is SelfTradeStrategy.REJECT_TAKER else STP_CANCEL_MAKER


class EngineCore:
    """State, clock and settlement machinery shared by order entry and queries."""

    def __init__(self, config: ExchangeConfig, rng: Random, state: ExchangeState) -> None:
        self.config = config
        self.rng = rng
        self.state = state
        self.specs: dict[str, InstrumentSpec] = {spec.symbol: spec for spec in config.instruments}
        self.books: dict[str, OrderBook] = {symbol: OrderBook() for symbol in self.specs}
        self.ledger = Ledger(self.specs, state.markets, config)
        self.listeners: list[Listener] = []
        self.by_key: dict[int, OrderState] = {}
        self.holders: dict[str, set[str]] = {symbol: set() for symbol in self.specs}
        self.reduce_only: dict[
            str, dict[str, OrderState]
        ] = {}  # account -> resting reduce-only orders
        self._touched: set[str] = set()
        self._moved: set[str] = set()
        self._rebuild_indexes()

    def _rebuild_indexes(self) -> None:
        """Books, key index and holders from the state (after construction or restore)."""
        resting: list[OrderState] = []
        for acct in self.state.accounts.values():
            for pos in acct.positions.values():
                self.holders[pos.symbol].add(acct.name)
            resting.extend(o for o in acct.orders.values() if o.key)
        for order in sorted(resting, key=lambda o: o.key):
            self._rest(order)
        for book in self.books.values():
            book.take_changes()

    # ----------------------------------------------------------------------------- lookups

    def _uuid(self) -> str:
        return new_uuid(self.rng)

    def _acct(self, account: str) -> AccountData:
        acct = self.state.accounts.get(account)
        if acct is None:
            raise ValidationError(
                f"unknown account {account!r}: open it with Exchange.open_account first"
            )
        return acct

    def _symbol(self, symbol: str) -> str:
        key = symbol.strip().upper() if isinstance(symbol, str) else ""
        if key not in self.specs:
            raise ValidationError(
                f"unknown symbol {symbol!r}; listed: {', '.join(sorted(self.specs))}"
            )
        return key

    def _emit(self, event: d.ExchangeEvent) -> None:
        for listener in list(self.listeners):
            listener(event)

    # ------------------------------------------------------------------------------ orders

    def _rest(self, order: OrderState, ticks: int | None = None, lots: int | None = None) -> None:
        """Put ``order`` in its book under ``order.key``; ``ticks``/``lots`` when the caller
        already converted its limit price and remaining size."""
        spec = self.specs[order.symbol]
        assert order.limit_price is not None
        self.books[order.symbol].add(
            order.key,
            order.account,
            side_index(order.side),
            spec.price_to_ticks(order.limit_price) if ticks is None else ticks,
            spec.qty_to_lots(order.remaining) if lots is None else lots,
        )
        self.by_key[order.key] = order
        self.ledger.track(order, True)
        if order.reduce_only:
            self.reduce_only.setdefault(order.account, {})[order.order_id] = order

    def _next_key(self) -> int:
        key = self.state.next_key
        self.state.next_key += 1
        return key

    def _flush_book(self, symbol: str, now_ms: int) -> None:
        changes = self.books[symbol].take_changes()
        if not changes:
            return
        market = self.state.markets[symbol]
        start = market.book_seq
        market.book_seq += len(changes)
        if self.listeners:
            spec = self.specs[symbol]
            for offset, (side, ticks, lots) in enumerate(changes, 1):
                self._emit(
                    d.BookChanged(
                        symbol,
                        Side.BUY if side == BUY else Side.SELL,
                        spec.ticks_to_price(ticks),
                        spec.lots_to_qty(lots),
                        start + offset,
                        now_ms,
                    )
                )

    def _history(
        self, acct: AccountData, kind: str, order: d.OrderView, now_ms: int, **extra: object
    ) -> None:
        acct.history.append(d.HistoryEvent(self._uuid(), now_ms, kind, order, **extra))  # type: ignore[arg-type]
        trim(acct.history, self.config.record_cap)

    def _close(
        self, order: OrderState, status: str, reason: str | None, now_ms: int, history: str | None
    ) -> d.OrderView:
        """Take an order out of book, triggers and account; remember it as closed."""
        acct = self.state.accounts[order.account]
        was_trigger = order.type in d.TRIGGER_TYPES
        self.ledger.track(order, False)
        if order.reduce_only:
            self.reduce_only.get(order.account, {}).pop(order.order_id, None)
        if order.key:
            self.books[order.symbol].remove(order.key)
            self.by_key.pop(order.key, None)
        if was_trigger and order.order_id in self.state.markets[order.symbol].triggers:
            self.state.markets[order.symbol].triggers.remove(order.order_id)
        acct.orders.pop(order.order_id, None)
        if order.cli_ord_id is not None and acct.cli_index.get(order.cli_ord_id) == order.order_id:
            del acct.cli_index[order.cli_ord_id]
        order.last_update_ts_ms = now_ms
        view = order.view()
        acct.closed[order.order_id] = ClosedOrder(view, now_ms, status, reason, was_trigger)
        if order.cli_ord_id is not None:
            acct.closed_cli[order.cli_ord_id] = now_ms
        self._forget_closed(acct, now_ms)
        if history is not None:
            self._history(acct, history, view, now_ms, reason=reason)
        if self.listeners:
            self._emit(d.OrderUpdated(acct.name, view, reason or d.FULL_FILL, True))
        return view

    def _forget_closed(self, acct: AccountData, now_ms: int) -> None:
        """Drop closed orders older than ``closed_memory_ms`` (or beyond ``record_cap``). Both
        dicts are in closing order, so only the front needs looking at."""
        horizon = now_ms - self.config.closed_memory_ms
        cap = self.config.record_cap
        closed, clis = acct.closed, acct.closed_cli
        while closed:
            oid = next(iter(closed))
            if closed[oid].closed_ms >= horizon and len(closed) <= cap:
                break
            del closed[oid]
        while clis:
            cli = next(iter(clis))
            if clis[cli] >= horizon and len(clis) <= cap:
                break
            del clis[cli]

    def _cancel_all(
        self, acct: AccountData, symbol: str | None, now_ms: int, reason: str
    ) -> list[d.OrderView]:
        views = []
        for order in list(acct.orders.values()):
            if symbol is None or order.symbol == symbol:
                views.append(
                    self._close(order, "CANCELLED", reason, now_ms, self._cancel_kind(order))
                )
                self._flush_book(order.symbol, now_ms)
        return views

    @staticmethod
    def _cancel_kind(order: OrderState) -> str:
        return "OrderTriggerCancelled" if order.type in d.TRIGGER_TYPES else "OrderCancelled"


__all__ = ["EngineCore", "Listener", "side_index", "stp_mode"]
