"""Public market-data handlers on the wire: shapes Kraken sends, time units, index rows,
chart windows, and the rule that a read never changes state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.endpoints import ENDPOINTS
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Gateway
from krakenfutures.sim.instruments import DEFAULT_INSTRUMENTS, InstrumentSpec
from krakenfutures.sim.rest import build_handlers
from krakenfutures.sim.state import ExchangeConfig

V3 = "/derivatives/api/v3"
CHARTS = "/api/charts/v1"
D = Decimal
XBT = "PF_XBTUSD"
MINUTE = 60_000


def test_every_endpoint_has_a_handler() -> None:
    handlers = build_handlers(Exchange(now_ms=0))
    assert set(handlers) == {ep.name for ep in ENDPOINTS}


def test_index_ticker_rows_carry_only_last_and_last_time(bench: Any) -> None:
    rows = {t["symbol"]: t for t in bench.body("GET", f"{V3}/tickers", key=None)["tickers"]}
    assert set(rows["in_xbtusd"]) == {"symbol", "last", "lastTime"}
    assert D(rows["in_xbtusd"]["last"]) == D(60000) and rows["rr_xbtusd"]["lastTime"].endswith("Z")
    xbt = rows[XBT]
    assert (
        D(xbt["markPrice"]) == D(60000) and xbt["suspended"] is False and xbt["postOnly"] is False
    )


def test_orderbook_sides_are_sorted_best_first(bench: Any) -> None:
    for price in ("60030", "60010", "60020"):
        bench.send("full-b", orderType="lmt", symbol=XBT, side="sell", size="0.1", limitPrice=price)
    for price in ("59970", "59990", "59980"):
        bench.send("full-b", orderType="lmt", symbol=XBT, side="buy", size="0.2", limitPrice=price)
    book = bench.typed("GET", f"{V3}/orderbook", {"symbol": "pf_xbtusd"}, key=None)
    assert [p for p, _ in book.asks] == [D(60010), D(60020), D(60030)]
    assert [p for p, _ in book.bids] == [D(59990), D(59980), D(59970)]
    assert {q for _, q in book.bids} == {D("0.2")}


def test_trade_history_newest_first_before_last_time(bench: Any) -> None:
    bench.send("full-b", orderType="lmt", symbol=XBT, side="sell", size="1", limitPrice="60010")
    for _minute in range(3):
        bench.now += MINUTE
        bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01")
    trades = bench.typed("GET", f"{V3}/history", {"symbol": XBT}, key=None)
    assert [t.trade_id for t in trades] == [3, 2, 1]
    assert trades[0].side == "buy" and trades[0].type == "fill" and trades[0].price == D(60010)
    older = bench.typed(
        "GET", f"{V3}/history", {"symbol": XBT, "lastTime": trades[0].time}, key=None
    )
    assert [t.trade_id for t in older] == [2, 1]


def test_funding_history_is_ascending_with_iso_timestamps(bench: Any) -> None:
    ex = bench.exchange
    ex.set_mark_price(XBT, D(60300), bench.now)
    for hour in (1, 2):
        ex.advance((bench.now // 3_600_000 + hour) * 3_600_000)
    rates = bench.typed(
        "GET", "/derivatives/api/v4/historicalfundingrates", {"symbol": XBT}, key=None
    )
    assert len(rates) == 2 and rates[0].timestamp < rates[1].timestamp
    assert rates[0].timestamp.endswith(":00:00.000Z")
    assert rates[1].relative_funding_rate == (D("0.005") / 24).quantize(D("1e-12"))  # wire: 12 dp


def test_historical_funding_is_400_for_a_fixed_maturity() -> None:
    fixed = InstrumentSpec(
        symbol="FF_XBTUSD_260626", tick_size=D(1), lot_size=D("0.0001"), base="XBT"
    )
    ex = Exchange(ExchangeConfig(instruments=(*DEFAULT_INSTRUMENTS, fixed)), now_ms=0)
    gateway = Gateway(build_handlers(ex), {})
    reply = gateway.handle(
        "GET", f"{V3}/historical-funding-rates", b"symbol=FF_XBTUSD_260626", {}, b"", 0
    )
    assert reply.status == 400 and b'"invalidArgument"' in reply.body
    rows = gateway.handle("GET", f"{V3}/instruments", b"", {}, b"", 0)
    assert b'"FF_XBTUSD_260626"' in rows.body and b'"lastTradingTime"' not in rows.body


def test_candles_window_in_seconds_and_more_candles(free_bench: Any) -> None:
    bench = free_bench
    bench.send("full-b", orderType="lmt", symbol=XBT, side="sell", size="10", limitPrice="60010")
    start = bench.now // MINUTE * MINUTE
    for minute in range(5):
        bench.now = start + minute * MINUTE + 1_000
        bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01")
    path = f"{CHARTS}/trade/{XBT}/1m"
    frm, to = start // 1000, (start + 4 * MINUTE) // 1000
    full = bench.typed("GET", path, {"from": frm, "to": to}, key=None)
    assert [c.time for c in full.candles] == [start + i * MINUTE for i in range(5)]
    assert full.more_candles is False
    assert full.candles[0].volume == D("0.01") and full.candles[0].close == D(60010)
    cut = bench.typed("GET", path, {"from": frm, "to": to, "count": 2}, key=None)
    assert [c.time for c in cut.candles] == [start, start + MINUTE] and cut.more_candles is True
    latest = bench.typed("GET", path, {"to": to, "count": 2}, key=None)
    assert [c.time for c in latest.candles] == [start + 3 * MINUTE, start + 4 * MINUTE]
    assert bench.typed("GET", path, {"from": to, "to": frm}, key=None).candles == []
    five = bench.typed("GET", f"{CHARTS}/trade/{XBT}/5m", {"from": frm, "to": to}, key=None)
    assert len(five.candles) <= 2 and sum(c.volume for c in five.candles) == D("0.05")
    spot = bench.typed("GET", f"{CHARTS}/spot/{XBT}/1h", {"from": frm - 3600, "to": to}, key=None)
    assert spot.candles and all(c.volume == 0 for c in spot.candles)
    assert spot.candles[0].close == D(60000)


def test_chart_listings(bench: Any) -> None:
    assert bench.typed("GET", f"{CHARTS}/", key=None) == ["mark", "spot", "trade"]
    assert XBT in bench.typed("GET", f"{CHARTS}/spot", key=None)
    assert bench.typed("GET", f"{CHARTS}/mark/{XBT}", key=None)[:3] == ["1m", "5m", "15m"]


def test_instrument_status_rows(bench: Any) -> None:
    rows = bench.body("GET", f"{V3}/instruments/status", key=None)["instrumentStatus"]
    assert rows[0] == {
        "tradeable": XBT,
        "experiencingDislocation": False,
        "priceDislocationDirection": None,
        "experiencingExtremeVolatility": False,
        "extremeVolatilityInitialMarginMultiplier": 1,
    }
    one = bench.body("GET", f"{V3}/instruments/PF_ETHUSD/status", key=None)
    assert one["result"] == "success" and one["tradeable"] == "PF_ETHUSD" and "serverTime" in one


def test_instruments_reflect_trading_state(bench: Any) -> None:
    bench.exchange.set_trading_state(XBT, "post_only", bench.now)
    rows = {i.symbol: i for i in bench.typed("GET", f"{V3}/instruments", key=None)}
    assert rows[XBT].post_only is True and rows["PF_ETHUSD"].post_only is False
    bench.exchange.set_trading_state(XBT, "maintenance", bench.now)
    (note,) = bench.typed("GET", f"{V3}/notifications")
    assert (note.type, note.priority) == ("maintenance", "high")
    ticker = bench.typed("GET", f"{V3}/tickers/{XBT}", key=None)
    assert ticker.suspended is True


def test_reads_never_change_state(free_bench: Any) -> None:
    bench = free_bench
    bench.book_liquidity()
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01")
    bench.now += 2 * 3_600_000  # reads at a later time still do not move the engine
    before = bench.exchange.snapshot()
    reads = [ep for ep in ENDPOINTS if ep.method == "GET"]
    for ep in reads:
        path = ep.path
        for name in ep.path_params:
            path = path.replace(
                "{" + name + "}", {"tick_type": "trade", "resolution": "1h"}.get(name, XBT)
            )
        params = (
            {"symbol": XBT}
            if ep.params is not None and "symbol" in ep.wire_to_field and not ep.path_params
            else None
        )
        reply = bench.call("GET", path, params, key="full-a" if ep.auth else None)
        assert reply.status < 500, (ep.name, reply.body)
    assert bench.exchange.snapshot() == before
