"""Public market-data handlers: instruments, status, tickers, book, trades, funding, fees, charts.

Read-only: none of these moves the exchange clock or changes state (a GET never does), so
24-hour ticker statistics are computed up to the request time without advancing the engine.

Choices where Kraken's answer is not documented (reference §3.2, §4):

* An unknown symbol on a symbol-keyed read (``/tickers/{symbol}``, ``/orderbook``, ``/history``,
  ``/instruments/{symbol}/status``) answers ``contractNotFound`` (the code ccxt maps for
  Kraken Futures); historical funding answers HTTP 400 ``invalidArgument`` for anything that
  is not a listed perpetual, as Kraken documents for non-perpetuals.
* Index rows: one ``in_<base><quote>`` (real-time index) and one ``rr_<base><quote>``
  (reference rate) per underlying, both at the simulator's index price; ``/instruments`` lists
  them with ``tradeable: false`` and ``/tickers`` with only ``last``/``lastTime``.
* Charts: an unknown tick type, symbol or resolution is HTTP 404 ``notFound`` (a path that does
  not exist); ``from``/``to`` are epoch seconds; at most 2000 candles per call (ccxt's cap),
  ``more_candles`` says the requested range holds more.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.schema_market import (
    Candle,
    Candles,
    FeeSchedule,
    FeeTier,
    FundingRate,
    Instrument,
    InstrumentStatus,
    MarginLevel,
    OrderBook,
    PublicTrade,
    Ticker,
)
from krakenfutures.core.types import ContractKind, TradingState
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, Refusal, iso_ms
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.marketdata import CANDLE_KINDS, RESOLUTIONS_MS
from krakenfutures.sim.rest_wire import parse_iso_ms

MAX_CANDLES = 2000
TRADE_HISTORY_MS = 7 * 86_400_000
_FEES_NS = uuid.UUID("3f0e6f7e-52b1-4d2a-a3c4-7c1d5e9b8a20")


def fee_schedule_uid(name: str) -> str:
    """The stable uid of a named fee schedule (``feeScheduleUid`` of every instrument)."""
    return str(uuid.uuid5(_FEES_NS, name))


def contract_type(spec: InstrumentSpec) -> str:
    """Kraken's ``type`` of a contract: ``futures_inverse`` or ``flexible_futures``."""
    return "futures_inverse" if spec.kind is ContractKind.INVERSE else "flexible_futures"


def index_names(exchange: Exchange) -> dict[str, Decimal]:
    """``in_xbtusd``/``rr_xbtusd`` style index rows -> index price (first listed contract wins)."""
    out: dict[str, Decimal] = {}
    for spec in exchange.instruments():
        pair = f"{spec.base}{spec.quote}".lower()
        price = exchange.state.markets[spec.symbol].index_price
        out.setdefault(f"in_{pair}", price)
        out.setdefault(f"rr_{pair}", price)
    return out


def _spec_or_refuse(exchange: Exchange, symbol: str, code: str = "contractNotFound") -> str:
    if not exchange.has_symbol(symbol):
        raise Refusal(code)
    return symbol.strip().upper()


def _wanted(types: list[str] | None) -> Callable[[InstrumentSpec], bool]:
    if not types:
        return lambda spec: True
    chosen = set(types)
    return lambda spec: contract_type(spec) in chosen


def _margin_levels(spec: InstrumentSpec) -> list[MarginLevel]:
    inverse = spec.kind is ContractKind.INVERSE
    return [
        MarginLevel(
            contracts=lv.threshold if inverse else None,
            num_non_contract_units=None if inverse else lv.threshold,
            initial_margin=lv.initial,
            maintenance_margin=lv.maintenance,
        )
        for lv in spec.margin_levels
    ]


def instrument_row(exchange: Exchange, spec: InstrumentSpec) -> Instrument:
    """One ``/instruments`` row of a listed contract."""
    state = exchange.trading_state(spec.symbol)
    levels = _margin_levels(spec)
    return Instrument(
        symbol=spec.symbol,
        type=contract_type(spec),
        underlying=f"rr_{spec.base}{spec.quote}".lower(),
        pair=spec.pair,
        base=spec.base,
        quote=spec.quote,
        tick_size=spec.tick_size,
        contract_size=spec.contract_size,
        tradeable=state is not TradingState.UNKNOWN,
        impact_mid_size=spec.impact_mid_size,
        max_position_size=spec.max_position_size,
        opening_date=iso_ms(spec.opening_ts_ms),
        margin_levels=levels,
        retail_margin_levels=levels,
        funding_rate_coefficient=spec.funding_rate_coefficient if spec.perpetual else None,
        max_relative_funding_rate=spec.max_relative_funding_rate if spec.perpetual else None,
        contract_value_trade_precision=Decimal(spec.size_precision),
        post_only=state is TradingState.POST_ONLY,
        fee_schedule_uid=fee_schedule_uid(exchange.config.fee_schedule.name),
        category="",
        tags=[],
        tradfi=False,
        mtf=False,
    )


def ticker_row(t: d.Ticker) -> Ticker:
    """A domain ticker as a ``/tickers`` row."""
    return Ticker(
        symbol=t.symbol,
        tag=t.tag,
        pair=t.pair,
        mark_price=t.mark_price,
        bid=t.bid,
        bid_size=t.bid_size,
        ask=t.ask,
        ask_size=t.ask_size,
        vol_24h=t.vol24h,
        volume_quote=t.volume_quote,
        open_interest=t.open_interest,
        open_24h=t.open24h,
        high_24h=t.high24h,
        low_24h=t.low24h,
        index_price=t.index_price,
        last=t.last,
        last_time=iso_ms(t.last_ts_ms) if t.last_ts_ms is not None else None,
        last_size=t.last_size,
        suspended=t.suspended,
        funding_rate=t.funding_rate,
        funding_rate_prediction=t.funding_rate_prediction,
        post_only=t.post_only,
        change_24h=t.change24h,
    )


def market_handlers(exchange: Exchange) -> dict[str, Callable[[Call], Any]]:
    """Handlers of the public ``/derivatives`` market-data endpoints and the charts API."""

    def now_of(call: Call) -> int:
        return max(call.now_ms, exchange.now_ms)

    def get_instruments(call: Call) -> list[Instrument]:
        types = call.params.contract_type if call.params is not None else None
        wanted = _wanted(types)
        rows = [instrument_row(exchange, s) for s in exchange.instruments() if wanted(s)]
        if not types:
            rows += [
                Instrument(symbol=name, type="spot index", tradeable=False)
                for name in index_names(exchange)
            ]
        return rows

    def get_instrument_status(call: Call) -> list[InstrumentStatus]:
        types = call.params.contract_type if call.params is not None else None
        wanted = _wanted(types)
        return [InstrumentStatus(symbol=s.symbol) for s in exchange.instruments() if wanted(s)]

    def get_instrument_status_for(call: Call) -> dict[str, Any]:
        symbol = _spec_or_refuse(exchange, call.params.symbol)
        # key-less envelope: the gateway merges a mapping into the success body
        return {
            "tradeable": symbol,
            "experiencingDislocation": False,
            "priceDislocationDirection": None,
            "experiencingExtremeVolatility": False,
            "extremeVolatilityInitialMarginMultiplier": 1,
        }

    def get_tickers(call: Call) -> list[Ticker]:
        types = call.params.contract_type if call.params is not None else None
        wanted = _wanted(types)
        now = now_of(call)
        rows = [
            ticker_row(exchange.ticker(s.symbol, now)) for s in exchange.instruments() if wanted(s)
        ]
        if not types:
            last_time = iso_ms(exchange.now_ms)
            rows += [
                Ticker(symbol=name, last=price, last_time=last_time)
                for name, price in index_names(exchange).items()
            ]
        return rows

    def get_ticker(call: Call) -> Ticker:
        symbol: str = call.params.symbol
        indices = index_names(exchange)
        if symbol.strip().lower() in indices:
            name = symbol.strip().lower()
            return Ticker(symbol=name, last=indices[name], last_time=iso_ms(exchange.now_ms))
        symbol = _spec_or_refuse(exchange, symbol)
        return ticker_row(exchange.ticker(symbol, now_of(call)))

    def get_orderbook(call: Call) -> OrderBook:
        view = exchange.book(_spec_or_refuse(exchange, call.params.symbol))
        return OrderBook(bids=list(view.bids), asks=list(view.asks))

    def get_trade_history(call: Call) -> list[PublicTrade]:
        symbol = _spec_or_refuse(exchange, call.params.symbol)
        before = parse_iso_ms(call.params.last_time)
        horizon = (before if before is not None else now_of(call)) - TRADE_HISTORY_MS
        trades = exchange.recent_trades(symbol, before_ts_ms=before, limit=100)
        return [
            PublicTrade(
                time=iso_ms(t.ts_ms),
                trade_id=t.seq,
                price=t.price,
                qty=t.qty,
                side=t.side,
                type=t.type,
                uid=t.uid,
            )
            for t in trades
            if t.ts_ms >= horizon
        ]

    def get_fee_schedules(call: Call) -> list[FeeSchedule]:
        schedule = exchange.config.fee_schedule
        tiers = [
            FeeTier(
                maker_fee=(t.maker * 100).normalize(),
                taker_fee=(t.taker * 100).normalize(),
                usd_volume=t.min_volume_usd,
            )
            for t in schedule.tiers
        ]
        return [FeeSchedule(uid=fee_schedule_uid(schedule.name), name=schedule.name, tiers=tiers)]

    def get_historical_funding_rates(call: Call) -> list[FundingRate]:
        symbol = call.params.symbol
        if not exchange.has_symbol(symbol) or not exchange.instrument(symbol).perpetual:
            raise Refusal("invalidArgument", http_status=400)
        return [
            FundingRate(
                timestamp=iso_ms(r.ts_ms),
                funding_rate=r.absolute,
                relative_funding_rate=r.relative,
            )
            for r in exchange.funding_history(symbol)
        ]

    return {
        "get_instruments": get_instruments,
        "get_instrument_status": get_instrument_status,
        "get_instrument_status_for": get_instrument_status_for,
        "get_tickers": get_tickers,
        "get_ticker": get_ticker,
        "get_orderbook": get_orderbook,
        "get_trade_history": get_trade_history,
        "get_fee_schedules": get_fee_schedules,
        "get_historical_funding_rates": get_historical_funding_rates,
        "get_historical_funding_rates_v4": get_historical_funding_rates,
        **chart_handlers(exchange),
    }


def chart_handlers(exchange: Exchange) -> dict[str, Callable[[Call], Any]]:
    """Handlers of ``/api/charts/v1``: tick types, symbols, resolutions, candles."""

    def symbols() -> list[str]:
        return [s.symbol for s in exchange.instruments()]

    def check_path(tick_type: str, symbol: str | None = None, resolution: str | None = None) -> str:
        if tick_type not in CANDLE_KINDS:
            raise Refusal("notFound", http_status=404)
        if symbol is not None and not exchange.has_symbol(symbol):
            raise Refusal("notFound", http_status=404)
        if resolution is not None and resolution not in RESOLUTIONS_MS:
            raise Refusal("notFound", http_status=404)
        return symbol.strip().upper() if symbol is not None else ""

    def tick_types(call: Call) -> list[str]:
        return sorted(CANDLE_KINDS)  # Kraken lists mark, spot, trade

    def chart_symbols(call: Call) -> list[str]:
        check_path(call.params.tick_type)
        return symbols()

    def resolutions(call: Call) -> list[str]:
        check_path(call.params.tick_type, call.params.symbol)
        return list(RESOLUTIONS_MS)

    def candles(call: Call) -> Candles:
        p = call.params
        symbol = check_path(p.tick_type, p.symbol, p.resolution)
        if p.count is not None and p.count <= 0:
            raise Refusal("invalidArgument", http_status=400)
        limit = min(p.count or MAX_CANDLES, MAX_CANDLES)
        width = RESOLUTIONS_MS[p.resolution]
        to_ms = p.to_s * 1000 if p.to_s is not None else max(call.now_ms, exchange.now_ms)
        from_ms = p.from_s * 1000 if p.from_s is not None else to_ms - (limit - 1) * width
        if from_ms > to_ms:
            return Candles(candles=[], more_candles=False)
        rows = exchange.candles(symbol, p.tick_type, p.resolution, from_ms, to_ms)
        more = len(rows) > limit
        picked: Iterable[Any] = rows[:limit] if p.from_s is not None else rows[-limit:]
        return Candles(
            candles=[
                Candle(time=t, open=o, high=h, low=lo, close=c, volume=v)
                for t, o, h, lo, c, v in picked
            ],
            more_candles=more and p.from_s is not None,
        )

    return {
        "charts_tick_types": tick_types,
        "charts_symbols": chart_symbols,
        "charts_resolutions": resolutions,
        "charts_candles": candles,
    }


__all__ = [
    "chart_handlers",
    "contract_type",
    "fee_schedule_uid",
    "index_names",
    "instrument_row",
    "market_handlers",
    "ticker_row",
]
