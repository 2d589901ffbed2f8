"""The strategy API: plain classes with event hooks, and the :class:`Context` they act through.

A strategy knows nothing about REST or WebSocket. The runtime (live or simulator), and later the
backtester, call its hooks with domain events and give it a :class:`Context` whose intent
methods go through the risk rules, the journal and the order manager before anything reaches a
venue. Hooks are plain (non-async) methods and should return quickly: intents are queued and
sent by the runtime, so :meth:`Context.submit` returns at once with the order's ``cli_ord_id``
(or a :class:`~krakenfutures.risk.rules.Denied` saying why it was not sent).

Example::

    from decimal import Decimal
    from krakenfutures.strategy import Strategy

    class Dip(Strategy):
        symbols = ("PF_XBTUSD",)

        def on_trade(self, trade):
            if trade.qty > 5 and not self.ctx.open_orders(trade.symbol):
                self.ctx.submit(symbol=trade.symbol, side="buy", qty=Decimal("0.01"),
                                limit_price=trade.price * Decimal("0.99"), post_only=True)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from krakenfutures.core.events import (
    FundingPaid,
    Halted,
    OrderDenied,
    TickerUpdate,
    TradeTick,
    TradingStateChanged,
)
from krakenfutures.core.money import FeeSchedule
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.oms.positions import PositionPnl
from krakenfutures.oms.tracker import OrderUpdated, TrackedOrder
from krakenfutures.oms.venue import BalanceRecord, FillRecord
from krakenfutures.risk.rules import Denied

if TYPE_CHECKING:
    from krakenfutures.core.book import OrderBook


class InstrumentSpec(Protocol):
    """What a strategy needs to know about a contract to price and size orders."""

    symbol: str
    tick_size: Decimal
    min_qty: Decimal
    qty_step: Decimal


class Context(Protocol):
    """What a strategy sees and does. Implemented by the runtime node (live and simulator) and
    the backtester, so the same strategy runs on each unchanged."""

    @property
    def now_ms(self) -> int:
        """The venue clock (simulated in backtests), epoch ms."""
        ...

    @property
    def strategy(self) -> str:
        """This strategy's name (positions, PnL and orders are kept per strategy)."""
        ...

    @property
    def log(self) -> logging.Logger:
        """A logger named after the strategy."""
        ...

    @property
    def fees(self) -> FeeSchedule:
        """The fee model in force (maker/taker rates by 30-day volume tier)."""
        ...

    @property
    def volume_30d_usd(self) -> Decimal:
        """The account's 30-day volume in USD, which selects the fee tier."""
        ...

    def instrument(self, symbol: str) -> InstrumentSpec:
        """Tick size, minimum and step of quantity for ``symbol``."""
        ...

    def book(self, symbol: str) -> OrderBook | None:
        """The local L2 book (``None`` until its snapshot arrived)."""
        ...

    def ticker(self, symbol: str) -> TickerUpdate | None:
        """The latest ticker (mark, funding rate and prediction, next funding time)."""
        ...

    def trading_state(self, symbol: str) -> TradingState:
        """The gate in force: orders are only sent when it allows them."""
        ...

    def position(self, symbol: str) -> PositionPnl:
        """This strategy's position and PnL in ``symbol`` (flat if never traded)."""
        ...

    def open_orders(self, symbol: str | None = None) -> Sequence[TrackedOrder]:
        """This strategy's live orders (pending and unknown ones included: they may rest)."""
        ...

    def balances(self) -> Mapping[str, BalanceRecord]:
        """Collateral balances by currency, as last reported by the venue."""
        ...

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
        """Queue a new order; returns its ``cli_ord_id``, or the :class:`Denied` verdict (the
        strategy also gets ``on_denied``). Raises only for a malformed intent."""
        ...

    def amend(
        self,
        cli_ord_id: str,
        *,
        qty: Decimal | int | str | None = None,
        limit_price: Decimal | int | str | None = None,
    ) -> Denied | None:
        """Queue an amend of a resting order (``qty`` is the new total, fills included)."""
        ...

    def cancel(self, cli_ord_id: str) -> None:
        """Queue a cancel (deferred until the order is known to rest, never refused)."""
        ...

    def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every live order of this strategy (in ``symbol`` if given)."""
        ...

    def alert(self, text: str, *, severity: str = "info") -> None:
        """Send ``text`` to the configured alert sinks."""
        ...


class Strategy:
    """Base class for strategies: override the hooks you need; each gets one event.

    Set :attr:`symbols` (what to subscribe to) and optionally :attr:`timer_s` (how often
    :meth:`on_timer` runs). ``self.ctx`` is set before :meth:`on_start`. ``params`` holds the
    ``[strategy.params]`` table of the bot config, passed to ``__init__``.
    """

    symbols: ClassVar[tuple[str, ...]] = ()
    timer_s: ClassVar[float | None] = None
    ctx: Context

    def __init__(self, **params: Any) -> None:
        self.params = params

    @property
    def name(self) -> str:
        """The strategy's name: the class name unless ``params['name']`` sets one."""
        return str(self.params.get("name") or type(self).__name__)

    def on_start(self) -> None:
        """Called once, after the first reconciliation, before any market event."""

    def on_book(self, book: OrderBook) -> None:
        """The local book of ``book.symbol`` changed."""

    def on_trade(self, trade: TradeTick) -> None:
        """A public trade printed."""

    def on_ticker(self, ticker: TickerUpdate) -> None:
        """A new ticker (mark price, funding rate and prediction)."""

    def on_fill(self, fill: FillRecord) -> None:
        """One of this strategy's orders executed (booked into the position already)."""

    def on_order(self, update: OrderUpdated) -> None:
        """One of this strategy's orders changed state."""

    def on_denied(self, denied: OrderDenied) -> None:
        """An intent was refused before it went out (risk rule, trading state, halt)."""

    def on_funding(self, payment: FundingPaid) -> None:
        """A funding payment was booked for one of this strategy's positions."""

    def on_state(self, change: TradingStateChanged) -> None:
        """A subscribed instrument's trading state changed."""

    def on_halt(self, halted: Halted) -> None:
        """New orders were halted (authentication failure, no funds, circuit breaker...)."""

    def on_timer(self, now_ms: int) -> None:
        """Called every :attr:`timer_s` seconds."""

    def on_stop(self) -> None:
        """Called once when the bot stops (its orders are cancelled afterwards)."""


__all__ = ["Context", "InstrumentSpec", "Strategy"]
