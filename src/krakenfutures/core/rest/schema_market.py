"""Public market data on the wire: instruments, status, tickers, book, trades, funding, fees, charts.

See :mod:`krakenfutures.core.rest.schema_common` for the conventions every struct follows.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from krakenfutures.core.rest.schema_common import camel_names
from krakenfutures.core.types import Side

# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------


class ContractTypesParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"contract_type": "contractType"},
):
    """Optional filter of ``/instruments``, ``/instruments/status`` and ``/tickers``.

    ``contract_type`` values: ``futures_inverse``, ``futures_vanilla``, ``flexible_futures``
    (sent as repeated ``contractType`` keys).
    """

    contract_type: list[str] | None = None


class SymbolPathParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A symbol that goes into the path (``/tickers/{symbol}``)."""

    symbol: str


class OrderBookParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /orderbook?symbol=``: Kraken errors without a symbol."""

    symbol: str


class TradeHistoryParams(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"last_time": "lastTime"}
):
    """``GET /history``: the 100 public trades before ``last_time`` (ISO), 7 days back at most."""

    symbol: str
    last_time: str | None = None


class FundingRatesParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Historical funding of one perpetual (HTTP 400 for a fixed-maturity symbol)."""

    symbol: str


class ChartSymbolsParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/api/charts/v1/{tick_type}``: ``tick_type`` is ``mark``, ``spot`` or ``trade``."""

    tick_type: str


class ChartResolutionsParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/api/charts/v1/{tick_type}/{symbol}``."""

    tick_type: str
    symbol: str


class CandlesParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"from_s": "from", "to_s": "to"},
):
    """``/api/charts/v1/{tick_type}/{symbol}/{resolution}?from=&to=&count=``.

    ``resolution``: ``1m 5m 15m 30m 1h 4h 12h 1d 1w``. ``from_s``/``to_s`` are epoch **seconds**.
    """

    tick_type: str
    symbol: str
    resolution: str
    from_s: int | None = None
    to_s: int | None = None
    count: int | None = None


# ---------------------------------------------------------------------------------------------
# Instruments and their status
# ---------------------------------------------------------------------------------------------


class MarginLevel(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()
):
    """One margin tier: from ``contracts`` (inverse) or ``num_non_contract_units`` (linear, USD)."""

    contracts: Decimal | None = None
    num_non_contract_units: Decimal | None = None
    initial_margin: Decimal
    maintenance_margin: Decimal


class Instrument(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()
):
    """One row of ``/instruments``: contracts, indices and expired contracts alike.

    ``tradeable`` is per instrument, not an exchange status. ``contract_value_trade_precision``
    is the number of size decimals (negative: multiples of ``10**-n``); integral in practice.
    """

    symbol: str
    type: str | None = None
    underlying: str | None = None
    pair: str | None = None
    base: str | None = None
    quote: str | None = None
    tick_size: Decimal | None = None
    contract_size: Decimal | None = None
    tradeable: bool
    impact_mid_size: Decimal | None = None
    max_position_size: Decimal | None = None
    opening_date: str | None = None
    last_trading_time: str | None = None
    margin_levels: list[MarginLevel] = []
    retail_margin_levels: list[MarginLevel] = []
    funding_rate_coefficient: Decimal | None = None
    max_relative_funding_rate: Decimal | None = None
    isin: str | None = None
    contract_value_trade_precision: Decimal | None = None
    post_only: bool | None = None
    fee_schedule_uid: str | None = None
    category: str | None = None
    tags: list[str] = []
    tradfi: bool | None = None
    mtf: bool | None = None


class InstrumentStatus(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    rename=camel_names(
        symbol="tradeable",
        extreme_volatility_im_multiplier="extremeVolatilityInitialMarginMultiplier",
    ),
):
    """Price-dislocation and volatility flags of one market (``instrumentStatus[]``).

    The wire calls the symbol ``tradeable``. ``price_dislocation_direction`` is
    ``ABOVE_UPPER_BOUND``, ``BELOW_LOWER_BOUND`` or ``None``.
    """

    symbol: str
    experiencing_dislocation: bool = False
    price_dislocation_direction: str | None = None
    experiencing_extreme_volatility: bool = False
    extreme_volatility_im_multiplier: int = 1


class InstrumentStatusReply(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    rename=camel_names(
        symbol="tradeable",
        extreme_volatility_im_multiplier="extremeVolatilityInitialMarginMultiplier",
    ),
):
    """``/instruments/{symbol}/status``: one status merged into the success envelope."""

    result: str = "success"
    server_time: str | None = None
    symbol: str
    experiencing_dislocation: bool = False
    price_dislocation_direction: str | None = None
    experiencing_extreme_volatility: bool = False
    extreme_volatility_im_multiplier: int = 1


# ---------------------------------------------------------------------------------------------
# Tickers, book, trades
# ---------------------------------------------------------------------------------------------


class Ticker(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()):
    """A market ticker, or an index row (``in_xbtusd``/``rr_xbtusd``) with only ``last``/``last_time``.

    ``vol_24h`` is in contracts; ``change_24h`` in percent; ``funding_rate`` is the *absolute*
    hourly rate (perpetuals only). ``last_time`` may carry microseconds.
    """

    symbol: str
    tag: str | None = None
    pair: str | None = None
    mark_price: Decimal | None = None
    bid: Decimal | None = None
    bid_size: Decimal | None = None
    ask: Decimal | None = None
    ask_size: Decimal | None = None
    vol_24h: Decimal | None = None
    volume_quote: Decimal | None = None
    open_interest: Decimal | None = None
    open_24h: Decimal | None = None
    high_24h: Decimal | None = None
    low_24h: Decimal | None = None
    index_price: Decimal | None = None
    last: Decimal | None = None
    last_time: str | None = None
    last_size: Decimal | None = None
    suspended: bool | None = None
    funding_rate: Decimal | None = None
    funding_rate_prediction: Decimal | None = None
    post_only: bool | None = None
    change_24h: Decimal | None = None
    is_underlying_market_closed: bool | None = None


class OrderBook(msgspec.Struct, frozen=True, kw_only=True):
    """Whole non-cumulative book: ``[price, qty]`` pairs, bids descending, asks ascending."""

    bids: list[tuple[Decimal, Decimal]] = []
    asks: list[tuple[Decimal, Decimal]] = []


class PublicTrade(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"qty": "size"}
):
    """One ``/history`` row. ``side`` is the taker's; ``type`` is ``fill``, ``liquidation``,
    ``assignment``, ``termination`` or ``block``. Index rows have only ``time`` and ``price``."""

    time: str
    trade_id: int | None = None
    price: Decimal
    qty: Decimal | None = None
    side: Side | None = None
    type: str | None = None
    uid: str | None = None
    instrument_identification_type: str | None = None
    isin: str | None = None
    execution_venue: str | None = None
    price_notation: str | None = None
    price_currency: str | None = None
    notional_amount: Decimal | None = None
    notional_currency: str | None = None
    publication_time: str | None = None
    publication_venue: str | None = None
    transaction_identification_code: str | None = None
    to_be_cleared: bool | None = None


# ---------------------------------------------------------------------------------------------
# Funding, fees
# ---------------------------------------------------------------------------------------------


class FundingRate(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """One historical funding period: ``funding_rate`` absolute, ``relative_funding_rate`` a fraction."""

    timestamp: str
    funding_rate: Decimal
    relative_funding_rate: Decimal


class FeeTier(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """Fees in **percent** from ``usd_volume`` (30-day USD volume, lower bound) up."""

    maker_fee: Decimal
    taker_fee: Decimal
    usd_volume: Decimal


class FeeSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """A named fee schedule (deprecated by Kraken on 2026-06-22)."""

    uid: str
    name: str
    tiers: list[FeeTier] = []


# ---------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------


class Candle(msgspec.Struct, frozen=True, kw_only=True):
    """OHLCV bar; ``time`` is its start in epoch ms; prices and volume arrive as strings."""

    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class Candles(msgspec.Struct, frozen=True, kw_only=True):
    """Charts reply: bars and whether more exist in the requested range."""

    candles: list[Candle] = []
    more_candles: bool = False


__all__ = [
    "Candle",
    "Candles",
    "CandlesParams",
    "ChartResolutionsParams",
    "ChartSymbolsParams",
    "ContractTypesParams",
    "FeeSchedule",
    "FeeTier",
    "FundingRate",
    "FundingRatesParams",
    "Instrument",
    "InstrumentStatus",
    "InstrumentStatusReply",
    "MarginLevel",
    "OrderBook",
    "OrderBookParams",
    "PublicTrade",
    "SymbolPathParams",
    "Ticker",
    "TradeHistoryParams",
]
