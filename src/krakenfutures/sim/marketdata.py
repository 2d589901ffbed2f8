"""Per-instrument market data: mark price model, funding prediction, candles, tickers.

Mark price (reference §10.8 says ``Mark = Index + EMA30(...)``, the rest unpublished): here
``mark = index + premium`` where ``premium`` is an exponential moving average of
``impact_mid - index``. The impact mid is the mean of the average prices a market order of
``impactMidSize`` would get on each side; when either side is too thin the sample is 0, so the
premium decays back to the index. The EMA weight of a sample taken ``dt`` ms after the previous
one is ``min(1, dt / mark_ema_ms)`` (a linear stand-in for ``1 - exp(-dt/tau)``), samples are
taken at most every ``mark_update_ms`` and the premium is clamped to
``+/- mark_premium_band * index``. ``Exchange.set_mark_price`` pins the mark instead.

Candles are per-minute ``[open, high, low, close, volume, quote_volume]`` buckets for ``trade`` (trades), ``mark`` and ``spot`` (index)
prices, kept for 7 days; wider resolutions aggregate them.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.money import (
    absolute_from_relative,
    next_funding_time_ms,
    relative_funding_rate,
)
from krakenfutures.core.types import TradingState
from krakenfutures.sim.domain import Ticker
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.matching import BUY, SELL, OrderBook
from krakenfutures.sim.state import ExchangeConfig, MarketState

ZERO = Decimal(0)
MINUTE_MS = 60_000
DAY_MS = 86_400_000
CANDLE_RETENTION_MINUTES = 7 * 24 * 60
CANDLE_KINDS = ("trade", "mark", "spot")
RESOLUTIONS_MS = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
    "1w": 7 * DAY_MS,
}


def impact_price(book: OrderBook, spec: InstrumentSpec, side: int) -> Decimal | None:
    """Average price of taking ``impact_mid_size`` from ``side`` of the book (None if thin)."""
    want = spec.floor_lots(spec.impact_mid_size)
    if want <= 0:
        want = 1
    got = 0
    cost = 0
    for price, lots in book.iter_levels(side):
        take = min(lots, want - got)
        got += take
        cost += take * price
        if got >= want:
            with localcontext(EXACT):
                return spec.tick_size * cost / got
    return None


def impact_mid(book: OrderBook, spec: InstrumentSpec) -> Decimal | None:
    """Mean of the bid and ask impact prices, or None when either side is too thin."""
    bid = impact_price(book, spec, BUY)
    ask = impact_price(book, spec, SELL)
    if bid is None or ask is None:
        return None
    with localcontext(EXACT):
        return (bid + ask) / 2


def mark_quantum(spec: InstrumentSpec) -> Decimal:
    """Marks carry two more decimals than the tick."""
    return (spec.tick_size / 100).normalize()


def update_mark(
    market: MarketState,
    spec: InstrumentSpec,
    book: OrderBook,
    config: ExchangeConfig,
    now_ms: int,
    *,
    force: bool = False,
) -> bool:
    """Advance the premium EMA to ``now_ms``; True when the mark changed."""
    if market.mark_pinned:
        market.mark_ts_ms = now_ms
        return False
    dt = now_ms - market.mark_ts_ms
    if not force and dt < config.mark_update_ms:
        return False
    index = market.index_price
    mid = impact_mid(book, spec)
    sample = (mid - index) if mid is not None else ZERO
    with localcontext(EXACT):
        weight = (
            min(Decimal(1), Decimal(max(dt, 0)) / config.mark_ema_ms)
            if config.mark_ema_ms > 0
            else Decimal(1)
        )
        premium = market.premium + weight * (sample - market.premium)
        band = config.mark_premium_band * index
        premium = max(-band, min(band, premium))
        mark = (index + premium).quantize(mark_quantum(spec))
    market.premium = premium
    market.mark_ts_ms = now_ms
    if mark <= 0:
        mark = index
    changed = mark != market.mark_price
    market.mark_price = mark
    if changed:
        record_candle(market, "mark", now_ms, mark, ZERO)
    return changed


def predicted_relative_rate(market: MarketState, spec: InstrumentSpec) -> Decimal | None:
    """The relative funding rate the current premium implies (ticker prediction)."""
    if not spec.perpetual or market.index_price <= 0 or market.mark_price <= 0:
        return None
    return relative_funding_rate(
        market.mark_price,
        market.index_price,
        max_relative=spec.max_relative_funding_rate,
        coefficient=spec.funding_rate_coefficient,
    )


# ------------------------------------------------------------------------------------ candles


def record_candle(
    market: MarketState, kind: str, ts_ms: int, price: Decimal, volume: Decimal
) -> None:
    """Fold a price (and traded volume) into the minute bucket of ``kind``."""
    buckets = market.candles.setdefault(kind, {})
    minute = ts_ms // MINUTE_MS
    bucket = buckets.get(minute)
    if bucket is None:
        buckets[minute] = [price, price, price, price, volume, volume * price]
        if len(buckets) > CANDLE_RETENTION_MINUTES + 60:
            for old in [m for m in buckets if m <= minute - CANDLE_RETENTION_MINUTES]:
                del buckets[old]
        return
    if price > bucket[1]:
        bucket[1] = price
    if price < bucket[2]:
        bucket[2] = price
    bucket[3] = price
    if volume:
        bucket[4] += volume
        bucket[5] += volume * price


def candles(
    market: MarketState, kind: str, resolution: str, from_ms: int, to_ms: int
) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
    """``(time_ms, open, high, low, close, volume)`` per bucket of ``resolution`` with data,
    buckets starting in ``[from_ms, to_ms]``, ascending."""
    width = RESOLUTIONS_MS[resolution]
    out: dict[int, list[Decimal]] = {}
    for minute in sorted(market.candles.get(kind, {})):
        ts = minute * MINUTE_MS
        start = ts - ts % width
        if start < from_ms - from_ms % width or start > to_ms:
            continue
        o, h, low, c, v, _ = market.candles[kind][minute]
        agg = out.get(start)
        if agg is None:
            out[start] = [o, h, low, c, v]
        else:
            agg[1] = max(agg[1], h)
            agg[2] = min(agg[2], low)
            agg[3] = c
            agg[4] += v
    return [(t, a[0], a[1], a[2], a[3], a[4]) for t, a in sorted(out.items())]


def stats_24h(
    market: MarketState, now_ms: int
) -> tuple[Decimal, Decimal, Decimal | None, Decimal | None, Decimal | None]:
    """``(volume, quote_volume, open, high, low)`` of trades in the last 24 hours (minute
    granularity)."""
    first = (now_ms - DAY_MS) // MINUTE_MS + 1
    buckets = market.candles.get("trade", {})
    volume = quote = ZERO
    open_ = high = low = None
    for minute in sorted(m for m in buckets if m >= first):
        o, h, lo, _, v, qv = buckets[minute]
        if open_ is None:
            open_ = o
        high = h if high is None or h > high else high
        low = lo if low is None or lo < low else low
        volume += v
        quote += qv
    return volume, quote, open_, high, low


def build_ticker(market: MarketState, spec: InstrumentSpec, book: OrderBook, now_ms: int) -> Ticker:
    """The domain ticker of one instrument at ``now_ms``."""
    bid = book.best(BUY)
    ask = book.best(SELL)
    volume, quote, open_, high, low = stats_24h(market, now_ms)
    change = None
    if open_ is not None and market.last_price is not None and open_ > 0:
        with localcontext(EXACT):
            change = (market.last_price - open_) / open_ * 100
    rate = prediction = rel = rel_prediction = None
    next_funding = None
    if spec.perpetual:
        rel = market.funding_rel
        rate = absolute_from_relative(rel, market.mark_price, spec.kind)
        rel_prediction = predicted_relative_rate(market, spec)
        if rel_prediction is not None:
            prediction = absolute_from_relative(rel_prediction, market.mark_price, spec.kind)
        next_funding = next_funding_time_ms(now_ms)
    state = market.trading_state
    return Ticker(
        symbol=spec.symbol,
        ts_ms=now_ms,
        tag="perpetual" if spec.perpetual else "month",
        pair=spec.pair,
        bid=spec.ticks_to_price(bid) if bid is not None else None,
        bid_size=spec.lots_to_qty(book.level_lots(BUY, bid)) if bid is not None else None,
        ask=spec.ticks_to_price(ask) if ask is not None else None,
        ask_size=spec.lots_to_qty(book.level_lots(SELL, ask)) if ask is not None else None,
        last=market.last_price,
        last_ts_ms=market.last_ts_ms,
        last_size=market.last_qty,
        mark_price=market.mark_price,
        index_price=market.index_price,
        vol24h=volume,
        volume_quote=quote,
        open24h=open_,
        high24h=high,
        low24h=low,
        change24h=change,
        open_interest=market.long_oi,
        funding_rate=rate,
        funding_rate_prediction=prediction,
        relative_funding_rate=rel,
        relative_funding_rate_prediction=rel_prediction,
        next_funding_ms=next_funding,
        suspended=state in (TradingState.SUSPENDED, TradingState.MAINTENANCE, TradingState.UNKNOWN),
        post_only=state is TradingState.POST_ONLY,
    )


__all__ = [
    "CANDLE_KINDS",
    "RESOLUTIONS_MS",
    "build_ticker",
    "candles",
    "impact_mid",
    "impact_price",
    "mark_quantum",
    "predicted_relative_rate",
    "record_candle",
    "stats_24h",
    "update_mark",
]
