"""Domain events above the wire: what strategies, the runtime and the dashboard see.

These are dialect-independent (legacy WS v1 and the Unified WebSocket both translate into them)
and I/O-free. Order lifecycle events are :class:`krakenfutures.oms.tracker.OrderUpdated`; fills
are :class:`krakenfutures.oms.venue.FillRecord`; books are :class:`krakenfutures.core.book.OrderBook`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from krakenfutures.core.types import Side, TradingState, normalize_symbol

if TYPE_CHECKING:
    from krakenfutures.core.book import OrderBook


@dataclass(frozen=True, slots=True)
class TradeTick:
    """A public trade: ``side`` is the taker's side (Kraken's ``side`` field)."""

    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts_ms: int
    trade_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    """A ticker for ``symbol`` at ``ts_ms``. ``funding_rate`` is Kraken's *absolute* rate (USD
    per contract per hour for linear contracts), ``relative_funding_rate`` a fraction of the
    price; the ``*_prediction`` values are for the next hourly boundary at ``next_funding_ms``.
    ``None`` means the feed did not carry the field (e.g. non-perpetuals have no funding)."""

    symbol: str
    ts_ms: int
    mark_price: Decimal | None = None
    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    index_price: Decimal | None = None
    funding_rate: Decimal | None = None
    relative_funding_rate: Decimal | None = None
    funding_rate_prediction: Decimal | None = None
    relative_funding_rate_prediction: Decimal | None = None
    next_funding_ms: int | None = None
    open_interest: Decimal | None = None
    suspended: bool = False
    post_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))


@dataclass(frozen=True, slots=True)
class FundingPaid:
    """A funding payment booked for ``strategy`` in ``symbol``: ``amount`` > 0 was paid,
    < 0 received, in the contract's settlement currency. ``payment_id`` makes it unique."""

    symbol: str
    amount: Decimal
    ts_ms: int
    strategy: str = ""
    payment_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))

    @property
    def key(self) -> str:
        """What makes the payment unique: ``payment_id``, else strategy, symbol and time
        (the journal files payments under it; venues merge sources by it)."""
        return self.payment_id or f"{self.strategy}|{self.symbol}|{self.ts_ms}"


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    """``symbol``'s trading state moved from ``previous`` to ``state`` (``reasons`` say why)."""

    symbol: str
    state: TradingState
    previous: TradingState
    reasons: tuple[str, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class OrderDenied:
    """A strategy intent was not sent: ``rule`` (a :class:`krakenfutures.risk.rules.Rule`
    value, or ``"halted"``/``"breaker"``) said no because ``reason``. ``cli_ord_id`` is the
    order the intent was about (empty for a new order that never got one)."""

    strategy: str
    symbol: str
    action: str  # "submit" | "amend" | "cancel"
    rule: str
    reason: str
    ts_ms: int
    cli_ord_id: str = ""


@dataclass(frozen=True, slots=True)
class Halted:
    """New orders stopped for ``strategy`` (all strategies when ``None``) because ``reason``.
    Cancels still go out. ``kind`` names the cause (``authentication``, ``insufficient_funds``,
    ``circuit_breaker``, ``reconcile_mismatch``, ``manual``)."""

    kind: str
    reason: str
    ts_ms: int
    strategy: str | None = None


@dataclass(frozen=True, slots=True)
class BookUpdated:
    """The local book of ``symbol`` changed (a snapshot or a delta was applied)."""

    symbol: str
    book: OrderBook
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class FeedReconnected:
    """A market/private data connection dropped and is back after ``downtime_ms``: account
    state must be reconciled with REST, books resync by themselves."""

    downtime_ms: int
    attempt: int = 1


__all__ = [
    "BookUpdated",
    "FeedReconnected",
    "FundingPaid",
    "Halted",
    "OrderDenied",
    "TickerUpdate",
    "TradeTick",
    "TradingStateChanged",
]
