"""Public WebSocket v1 feeds: ``book``, ``trade``, ``ticker``, ``ticker_lite``, ``heartbeat``.

See :mod:`krakenfutures.core.ws.schema` for the conventions. Wire shapes: reference §6 and the
docs.kraken.com ``futures-api/websocket/*`` pages.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from krakenfutures.core.types import Side

_BOOK = {"symbol": "product_id", "ts_ms": "timestamp", "tick_size": "tickSize"}


class BookLevel(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One level of a ``book_snapshot``: ``{"price":...,"qty":...}``."""

    price: Decimal
    qty: Decimal


class BookSnapshot(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="feed", tag="book_snapshot", rename=_BOOK
):
    """The whole book of one product, sent after subscribing to ``book``.

    The next ``book`` delta carries ``seq + 1``. ``tick_size`` is always ``null`` on the wire
    (and always written, hence no ``omit_defaults``).
    """

    symbol: str
    ts_ms: int
    seq: int
    tick_size: Decimal | None = None
    bids: list[BookLevel]
    asks: list[BookLevel]


class BookDelta(
    msgspec.Struct, frozen=True, kw_only=True, gc=False, tag_field="feed", tag="book", rename=_BOOK
):
    """One changed level: ``qty`` is the new total at ``price`` on ``side`` (0 deletes it).

    ``side`` is the book side (``buy`` = bids). ``seq`` is per product, previous + 1.
    """

    symbol: str
    side: Side
    seq: int
    price: Decimal
    qty: Decimal
    ts_ms: int


class Trade(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    gc=False,
    tag_field="feed",
    tag="trade",
    rename={"symbol": "product_id", "ts_ms": "time"},
):
    """A public trade. ``side`` is the taker's; ``type`` is ``fill``, ``liquidation``,
    ``termination`` or ``block``; ``uid`` is the trade's UUID; ``seq`` counts trades."""

    symbol: str
    uid: str
    side: Side
    type: str
    seq: int
    ts_ms: int
    qty: Decimal
    price: Decimal


class TradeSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="feed",
    tag="trade_snapshot",
    rename={"symbol": "product_id"},
):
    """Recent trades of one product, newest first, sent after subscribing to ``trade``.

    Each entry carries ``"feed":"trade"`` and ``product_id`` like a live trade.
    """

    symbol: str
    trades: list[Trade]


class Greeks(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Option greeks on tickers and positions of options (``OF_...``)."""

    iv: Decimal | None = None
    delta: Decimal | None = None
    gamma: Decimal | None = None
    vega: Decimal | None = None
    theta: Decimal | None = None
    rho: Decimal | None = None


_TICKER = {
    "symbol": "product_id",
    "ts_ms": "time",
    "bid_qty": "bid_size",
    "ask_qty": "ask_size",
    "volume_quote": "volumeQuote",
    "open_interest": "openInterest",
    "mark_price": "markPrice",
    "maturity_ts_ms": "maturityTime",
    "next_funding_ts_ms": "next_funding_rate_time",
}


class Ticker(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="ticker",
    rename=_TICKER,
):
    """The ``ticker`` feed: every field on every message, throttled to one per second.

    Funding fields are perpetual-only and *omitted when zero*: ``funding_rate`` is the absolute
    rate (quote per contract per hour), ``relative_funding_rate`` the fraction, each with a
    ``_prediction`` for the next hour; ``next_funding_ts_ms`` is the epoch-ms of the next hour
    boundary (docs say "time until", the data say a timestamp). ``change`` is the 24 h change in
    percent, ``leverage`` text like ``"50x"``, ``dtm`` days to maturity (0 for perpetuals),
    ``maturity_ts_ms`` 0 for perpetuals. ``greeks`` only for options.
    """

    symbol: str
    ts_ms: int | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    bid_qty: Decimal | None = None
    ask_qty: Decimal | None = None
    volume: Decimal | None = None
    volume_quote: Decimal | None = None
    dtm: int | None = None
    leverage: str | None = None
    index: Decimal | None = None
    premium: Decimal | None = None
    last: Decimal | None = None
    change: Decimal | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    suspended: bool | None = None
    tag: str | None = None
    pair: str | None = None
    open_interest: Decimal | None = None
    mark_price: Decimal | None = None
    maturity_ts_ms: int | None = None
    post_only: bool | None = None
    funding_rate: Decimal | None = None
    funding_rate_prediction: Decimal | None = None
    relative_funding_rate: Decimal | None = None
    relative_funding_rate_prediction: Decimal | None = None
    next_funding_ts_ms: int | None = None
    greeks: Greeks | None = None


class TickerSnapshot(Ticker, frozen=True, kw_only=True, omit_defaults=True, tag="ticker_snapshot"):
    """The first ticker message on older servers; the same shape as :class:`Ticker`."""


class TickerLite(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="ticker_lite",
    rename=_TICKER,
):
    """The ``ticker_lite`` feed (one per second): prices, 24 h change and volume only."""

    symbol: str
    bid: Decimal | None = None
    ask: Decimal | None = None
    change: Decimal | None = None
    premium: Decimal | None = None
    volume: Decimal | None = None
    tag: str | None = None
    pair: str | None = None
    dtm: int | None = None
    maturity_ts_ms: int | None = None
    volume_quote: Decimal | None = None
    greeks: Greeks | None = None


class Heartbeat(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    gc=False,
    tag_field="feed",
    tag="heartbeat",
    rename={"ts_ms": "time"},
):
    """``{"feed":"heartbeat","time":<ms>}``: the application-level keepalive feed."""

    ts_ms: int


PUBLIC_TYPES: tuple[type[msgspec.Struct], ...] = (
    BookSnapshot,
    BookDelta,
    TradeSnapshot,
    Trade,
    Ticker,
    TickerSnapshot,
    TickerLite,
    Heartbeat,
)
"""Every public data message type, each tagged with its ``feed``."""

__all__ = [
    "PUBLIC_TYPES",
    "BookDelta",
    "BookLevel",
    "BookSnapshot",
    "Greeks",
    "Heartbeat",
    "Ticker",
    "TickerLite",
    "TickerSnapshot",
    "Trade",
    "TradeSnapshot",
]
