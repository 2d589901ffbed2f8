"""A small in-memory :class:`krakenfutures.strategy.Context` for driving the example strategies.

It records every intent, keeps orders as :class:`~krakenfutures.oms.tracker.TrackedOrder` values
in the states the real order manager would put them in (pending until :meth:`settle`), checks
prices against the tick like the runtime does, and can refuse intents (calling ``on_denied``
synchronously, as the runtime does) or call ``on_order`` from inside ``submit`` to expose
re-entrancy. End-to-end runs against the simulator live elsewhere (runtime tests).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, NamedTuple

import pytest

from krakenfutures.core.book import OrderBook
from krakenfutures.core.events import OrderDenied, TickerUpdate
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE
from krakenfutures.core.orders import AmendIntent, EventKind, OrderIntent, OrderState
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.oms.positions import PositionPnl
from krakenfutures.oms.tracker import OrderUpdated, TrackedOrder
from krakenfutures.oms.venue import FillRecord
from krakenfutures.risk.rules import Denied

T0 = 472_222 * 3_600_000 + 60_000  # epoch ms, one minute past an hourly funding boundary


class Inst(NamedTuple):
    symbol: str
    tick_size: Decimal
    min_qty: Decimal
    qty_step: Decimal


class FakeContext:
    """Implements the Context protocol in memory; see the module docstring."""

    def __init__(
        self,
        symbol: str = "PF_XBTUSD",
        *,
        tick: str = "0.5",
        min_qty: str = "0.001",
        qty_step: str = "0.001",
    ) -> None:
        self.now_ms = T0
        self.strategy = "test"
        self.log = logging.getLogger("tests.examples")
        self.fees = DEFAULT_FEE_SCHEDULE
        self.volume_30d_usd = Decimal(0)
        self.symbol = symbol
        self.instruments = {
            symbol: Inst(symbol, Decimal(tick), Decimal(min_qty), Decimal(qty_step))
        }
        self.books: dict[str, OrderBook] = {}
        self.tickers: dict[str, TickerUpdate] = {}
        self.states: dict[str, TradingState] = {}
        self.positions: dict[str, PositionPnl] = {}
        self.orders: dict[str, TrackedOrder] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.alerts: list[tuple[str, str]] = []
        self.deny: Denied | None = None
        self.target: Any = None  # the strategy, for synchronous on_denied / on_order
        self.on_submit: Callable[[TrackedOrder], None] | None = None
        self._n = 0
        self._seq = 0

    # ------------------------------------------------------------------ views

    def instrument(self, symbol: str) -> Inst:
        return self.instruments[symbol]

    def book(self, symbol: str) -> OrderBook | None:
        return self.books.get(symbol)

    def ticker(self, symbol: str) -> TickerUpdate | None:
        return self.tickers.get(symbol)

    def trading_state(self, symbol: str) -> TradingState:
        return self.states.get(symbol, TradingState.OPEN)

    def position(self, symbol: str) -> PositionPnl:
        return self.positions.get(symbol) or PositionPnl(self.strategy, symbol)

    def open_orders(self, symbol: str | None = None) -> tuple[TrackedOrder, ...]:
        return tuple(
            o
            for o in self.orders.values()
            if not o.state.is_terminal and (symbol is None or o.symbol == symbol)
        )

    def balances(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ intents

    def submit(
        self,
        *,
        symbol: str,
        side: Side | str,
        qty: Decimal | int | str,
        order_type: OrderType | str = OrderType.LMT,
        limit_price: Decimal | int | str | None = None,
        stop_price: Decimal | int | str | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str | Denied:
        if self.deny is not None:
            return self._denied("submit", symbol, "")
        self._n += 1
        intent = OrderIntent(
            symbol=symbol,
            side=Side(side),
            qty=qty,  # type: ignore[arg-type]
            order_type=OrderType(order_type),
            limit_price=limit_price,  # type: ignore[arg-type]
            stop_price=stop_price,  # type: ignore[arg-type]
            post_only=post_only,
            reduce_only=reduce_only,
            cli_ord_id=f"t-{self._n}",
        )
        inst = self.instruments[intent.symbol]
        if intent.limit_price is not None:
            assert intent.limit_price % inst.tick_size == 0, f"off-tick {intent.limit_price}"
        assert intent.qty >= inst.min_qty and intent.qty % inst.qty_step == 0
        order = TrackedOrder(
            intent=intent,
            strategy=self.strategy,
            state=OrderState.PENDING_NEW,
            sent_ts_ms=self.now_ms,
            updated_ts_ms=self.now_ms,
        )
        self.orders[intent.cli_ord_id] = order
        self.calls.append(("submit", intent.cli_ord_id, intent))
        if self.on_submit is not None:
            self.on_submit(order)
        return intent.cli_ord_id

    def amend(
        self,
        cli_ord_id: str,
        *,
        qty: Decimal | int | str | None = None,
        limit_price: Decimal | int | str | None = None,
    ) -> Denied | None:
        order = self.orders[cli_ord_id]
        if self.deny is not None:
            return self._denied("amend", order.symbol, cli_ord_id)
        assert order.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED), order.state
        request = AmendIntent(cli_ord_id=cli_ord_id, qty=qty, limit_price=limit_price)  # type: ignore[arg-type]
        if request.limit_price is not None:
            tick = self.instruments[order.symbol].tick_size
            assert request.limit_price % tick == 0, f"off-tick {request.limit_price}"
        self.orders[cli_ord_id] = replace(
            order, state=OrderState.PENDING_AMEND, pending_amend=request
        )
        self.calls.append(("amend", cli_ord_id, request.limit_price))
        return None

    def cancel(self, cli_ord_id: str) -> None:
        self.calls.append(("cancel", cli_ord_id))
        self._cancel(cli_ord_id)

    def cancel_all(self, symbol: str | None = None) -> None:
        self.calls.append(("cancel_all", symbol))
        for order in self.open_orders(symbol):
            self._cancel(order.cli_ord_id)

    def alert(self, text: str, *, severity: str = "info") -> None:
        self.alerts.append((severity, text))

    # ------------------------------------------------------------------ the venue side

    def set_book(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> OrderBook:
        """Replace the book of :attr:`symbol` (prices/qty as strings)."""
        self._seq += 1
        book = OrderBook(self.symbol, self.instruments[self.symbol].tick_size)
        book.apply_snapshot(
            [(Decimal(p), Decimal(q)) for p, q in bids],
            [(Decimal(p), Decimal(q)) for p, q in asks],
            self._seq,
        )
        self.books[self.symbol] = book
        return book

    def set_position(self, qty: str | Decimal) -> None:
        self.positions[self.symbol] = PositionPnl(self.strategy, self.symbol, qty=Decimal(qty))

    def settle(self) -> list[OrderUpdated]:
        """Let every pending request complete: new -> open, amend -> applied, cancel -> done."""
        updates = []
        for cli, order in list(self.orders.items()):
            previous = order.state
            if order.state is OrderState.PENDING_NEW:
                state = OrderState.CANCELLED if order.cancel_wanted else OrderState.OPEN
                new, event = replace(order, state=state, acknowledged=True), EventKind.ACKNOWLEDGED
            elif order.state is OrderState.PENDING_AMEND:
                assert order.pending_amend is not None
                intent = replace(order.intent, limit_price=order.pending_amend.limit_price)
                new = replace(order, state=OrderState.OPEN, intent=intent, pending_amend=None)
                event = EventKind.AMENDED
            elif order.state is OrderState.PENDING_CANCEL:
                new, event = replace(order, state=OrderState.CANCELLED), EventKind.CANCELLED
            else:
                continue
            self.orders[cli] = new
            updates.append(OrderUpdated(order=new, previous=previous, event=event))
        return updates

    def fill(self, cli_ord_id: str, qty: str | None = None) -> FillRecord:
        """Fill ``qty`` (default: all that is left) of a resting order at its limit price."""
        order = self.orders[cli_ord_id]
        amount = Decimal(qty) if qty is not None else order.remaining_qty
        filled = order.filled_qty + amount
        state = OrderState.FILLED if filled >= order.intent.qty else OrderState.PARTIALLY_FILLED
        self.orders[cli_ord_id] = replace(order, state=state, filled_qty=filled)
        signed = amount if order.intent.side is Side.BUY else -amount
        self.set_position(self.position(self.symbol).qty + signed)
        self._n += 1
        return FillRecord(
            fill_id=f"f-{self._n}",
            order_id=f"o-{cli_ord_id}",
            cli_ord_id=cli_ord_id,
            symbol=order.symbol,
            side=order.intent.side,
            qty=amount,
            price=order.intent.limit_price or Decimal(1),
            fee=Decimal(0),
            fee_currency="USD",
            ts_ms=self.now_ms,
            maker=True,
        )

    def intents(self, kind: str) -> list[tuple[Any, ...]]:
        """Recorded calls of one kind (``submit``, ``amend``, ``cancel``, ``cancel_all``)."""
        return [c for c in self.calls if c[0] == kind]

    def live(self, side: Side | None = None) -> list[TrackedOrder]:
        """Live orders not being cancelled (on ``side`` if given)."""
        return [
            o
            for o in self.open_orders()
            if not o.cancel_wanted
            and o.state is not OrderState.PENDING_CANCEL
            and (side is None or o.intent.side is side)
        ]

    # ------------------------------------------------------------------ internals

    def _cancel(self, cli_ord_id: str) -> None:
        order = self.orders[cli_ord_id]
        if order.state is OrderState.PENDING_NEW:
            self.orders[cli_ord_id] = replace(order, cancel_wanted=True)
        elif not order.state.is_terminal:
            self.orders[cli_ord_id] = replace(order, state=OrderState.PENDING_CANCEL)

    def _denied(self, action: str, symbol: str, cli_ord_id: str) -> Denied:
        assert self.deny is not None
        if self.target is not None:
            self.target.on_denied(
                OrderDenied(
                    strategy=self.strategy,
                    symbol=symbol,
                    action=action,
                    rule=str(self.deny.rule),
                    reason=self.deny.reason,
                    ts_ms=self.now_ms,
                    cli_ord_id=cli_ord_id,
                )
            )
        return self.deny


@pytest.fixture
def fake_ctx() -> type[FakeContext]:
    """The :class:`FakeContext` class (tests build it with their own instrument rules)."""
    return FakeContext
