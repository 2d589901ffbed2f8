"""Money side of the simulated exchange: fees, funding, margin, liquidation, inverse accounts,
transfers, market data, events and snapshot/restore. Amounts are computed by hand."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from krakenfutures.core.types import Side
from krakenfutures.errors import ConfigError, ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.state import ExchangeConfig

HOUR = 3_600_000
H0 = 472_222 * HOUR
T0 = H0 + 10 * 60_000  # ten minutes past the hour
XBT = "PF_XBTUSD"
PI = "PI_XBTUSD"
D = Decimal


@pytest.fixture
def ex() -> Exchange:
    exchange = Exchange(now_ms=T0, accounts=["alice", "bob", "carol"])
    exchange.set_index_price(XBT, D(60000), T0)
    return exchange


def lmt(
    ex: Exchange,
    account: str,
    side: str,
    qty: str,
    price: str,
    *,
    now: int = T0,
    symbol: str = XBT,
    order_type: str = "lmt",
) -> d.OrderResult:
    return ex.send_order(
        account,
        symbol=symbol,
        side=side,
        order_type=order_type,
        qty=D(qty),
        limit_price=D(price),
        now_ms=now,
    )


def trade(
    ex: Exchange, buyer: str, seller: str, qty: str, price: str, *, now: int = T0, symbol: str = XBT
) -> None:
    """``seller`` rests, ``buyer`` takes."""
    assert lmt(ex, seller, "sell", qty, price, now=now, symbol=symbol).status == "placed"
    assert lmt(ex, buyer, "buy", qty, price, now=now, symbol=symbol).status == "placed"


def usd(ex: Exchange, account: str) -> Decimal:
    return ex.account_state(account).flex.currencies["USD"].quantity


# ------------------------------------------------------------------------------------- fees


def test_fee_tiers_follow_30_day_volume(ex: Exchange) -> None:
    assert ex.fee_rates("alice") == (D("0.0002"), D("0.0005"))
    trade(ex, "alice", "bob", "2", "60000")  # 120,000 USD each
    assert ex.volume_30d("alice") == D(120000)
    assert ex.fee_rates("alice") == (D("0.00015"), D("0.0004"))
    trade(ex, "alice", "bob", "0.1", "60000")
    assert ex.fills("alice")[-1].fee == D("2.4")  # 6000 * 0.04 %
    assert ex.fills("bob")[-1].fee == D("0.9")  # 6000 * 0.015 %
    assert usd(ex, "alice") == D(100000) - D(60) - D("2.4")
    ex.advance(T0 + 30 * 24 * HOUR)  # the volume ages out
    assert ex.fee_rates("alice") == (D("0.0002"), D("0.0005"))


def test_account_log_has_a_cash_and_a_position_leg_per_fill(ex: Exchange) -> None:
    trade(ex, "alice", "bob", "1", "60000")
    trade(ex, "bob", "alice", "0.4", "60100")
    log = ex.account_log("alice")
    assert [e.id for e in log] == [1, 2, 3, 4]
    cash, position = log[2], log[3]
    assert (cash.asset, cash.info, cash.realized_pnl, cash.fee) == (
        "usd",
        "futures trade",
        D(40),
        D("4.808"),
    )
    assert cash.new_balance == cash.old_balance + D(40) - D("4.808")  # type: ignore[operator]
    assert (position.asset, position.old_balance, position.new_balance) == (
        "pf_xbtusd",
        D(1),
        D("0.6"),
    )
    assert position.new_average_entry_price == D(60000) and cash.execution == position.execution
    assert [e.kind for e in ex.history("alice", "executions")] == ["Execution", "Execution"]


# ---------------------------------------------------------------------------------- funding


def test_funding_accrues_and_settles_on_the_hour(ex: Exchange) -> None:
    ex.set_mark_price(XBT, D(60720), T0)  # premium 1.2 % / 24 = 0.0005 per hour
    trade(ex, "alice", "bob", "1", "60000")  # alice long, bob short, 10 minutes past H0
    assert usd(ex, "alice") == D(99970)
    ex.advance(H0 + HOUR)  # first boundary: the rate in effect so far was 0
    assert ex.funding_history(XBT) == [d.FundingRecord(H0 + HOUR, D("30.36"), D("0.0005"))]
    ticker = ex.ticker(XBT)
    assert (ticker.funding_rate, ticker.relative_funding_rate) == (D("30.36"), D("0.0005"))
    assert ticker.next_funding_ms == H0 + 2 * HOUR
    assert usd(ex, "alice") == D(99970)
    ex.advance(H0 + HOUR + HOUR // 2)
    assert ex.positions("alice")[0].unrealized_funding == D("-15.18")
    assert ex.positions("bob")[0].unrealized_funding == D("15.18")
    assert ex.account_state("alice").flex.unrealized_funding == D("-15.18")
    ex.advance(H0 + 2 * HOUR)
    assert usd(ex, "alice") == D(99970) - D("30.36")
    assert ex.positions("alice")[0].unrealized_funding == 0
    row = ex.account_log("alice")[-1]
    assert (row.info, row.realized_funding, row.funding_rate, row.ts_ms) == (
        "funding rate change",
        D("-30.36"),
        D("30.36"),
        H0 + 2 * HOUR,
    )
    # a position change settles what accrued so far: a quarter hour
    before = usd(ex, "bob")
    trade(ex, "bob", "carol", "0.5", "60000", now=H0 + 2 * HOUR + HOUR // 4)
    funding_row = [r for r in ex.account_log("bob") if r.info == "funding rate change"][-1]
    assert funding_row.realized_funding == D("7.59")
    assert usd(ex, "bob") == before + D("7.59") - D(15)  # taker fee 0.5 * 60000 * 0.05 %


def test_funding_rate_is_clamped_and_predicted(ex: Exchange) -> None:
    ex.set_mark_price(XBT, D(66000), T0)  # 10 % premium / 24 > 0.25 %
    ticker = ex.ticker(XBT)
    assert ticker.relative_funding_rate_prediction == D("0.0025")
    assert ticker.funding_rate_prediction == D("165")  # 0.0025 * 66000
    assert ticker.relative_funding_rate == 0
    ex.set_mark_price(XBT, D(59280), T0)  # -1.2 % / 24
    assert ex.ticker(XBT).relative_funding_rate_prediction == D("-0.0005")


def test_inverse_funding_is_paid_in_coin() -> None:
    ex = Exchange(now_ms=T0, accounts=["a", "b"])
    ex.set_index_price(PI, D(50000), T0)
    ex.set_mark_price(PI, D(50600), T0)  # 1.2 %: 0.0005
    trade(ex, "a", "b", "10120", "50000", symbol=PI)
    ex.advance(H0 + 2 * HOUR)
    # one full hour at 0.0005: 10120 / 50600 * 0.0005 = 0.0001 XBT
    rows = [r for r in ex.account_log("a") if r.info == "funding rate change"]
    assert [r.realized_funding for r in rows] == [D("-0.0001")]
    assert rows[0].asset == "xbt" and rows[0].margin_account == "f-xbt:usd"


# ----------------------------------------------------------------------- margin, liquidation


def test_account_state_reports_margin_by_hand(ex: Exchange) -> None:
    trade(ex, "alice", "bob", "1", "60000")
    lmt(ex, "alice", "buy", "0.5", "59000")
    ex.set_mark_price(XBT, D(60500), T0)
    flex = ex.account_state("alice").flex
    assert flex.pnl == D(500) and flex.unrealized_funding == 0
    assert flex.initial_margin == D(1200) and flex.maintenance_margin == D(600)
    assert flex.initial_margin_with_orders == D(1200) + D(590)  # 0.5 * 59000 * 2 %
    assert flex.balance_value == D(99970) and flex.collateral_value == D(99970)
    assert flex.portfolio_value == D(100470) and flex.margin_equity == D(100470)
    assert flex.available_margin == D(100470) - D(1790)
    assert flex.currencies["USD"].available == D(98680)  # min(balance, available margin)


def test_liquidation_closes_at_the_mark(ex: Exchange) -> None:
    ex.open_account("poor", flex={"USD": D(1000)})
    lmt(ex, "bob", "sell", "0.8", "60000")
    assert lmt(ex, "poor", "buy", "0.8", "60000").status == "placed"  # IM 960, fee 24
    assert lmt(ex, "poor", "sell", "0.8", "70000").status == "placed"  # a take-profit order
    ex.set_mark_price(XBT, D(59400), T0 + 1)  # equity 976 - 480 = 496 >= MM 480
    assert ex.positions("poor") and ex.state.accounts["poor"].liquidations == 0
    ex.set_mark_price(XBT, D(59300), T0 + 2)  # equity 416 < 480
    assert ex.positions("poor") == [] and ex.open_orders("poor") == []
    liq = ex.fills("poor")[-1]
    assert (liq.fill_type, liq.side, liq.qty, liq.price, liq.fee) == (
        "liquidation",
        Side.SELL,
        D("0.8"),
        D(59300),
        D("23.72"),
    )
    assert usd(ex, "poor") == D("392.28")  # 976 - 560 - 23.72
    assert ex.recent_trades(XBT)[0].type == "liquidation"
    assert ex.account_log("poor")[-1].info == "futures liquidation"
    assert ex.check_invariants() == []


def test_inverse_account_pnl_fees_and_margin() -> None:
    ex = Exchange(now_ms=T0, accounts=["a", "b", "c"])
    ex.set_index_price(PI, D(50000), T0)
    trade(ex, "a", "b", "10000", "50000", symbol=PI)
    acct = ex.account_state("a").margin_accounts["fi_xbtusd"]
    assert acct.balances == {"xbt": D("0.9999"), PI: D(10000)}  # taker fee 0.2 XBT * 0.05 %
    assert (acct.im, acct.mm, acct.lt, acct.tt) == (D("0.004"), D("0.002"), D("0.002"), D("0.001"))
    assert ex.fills("b")[0].fee == D("0.00004") and ex.fills("b")[0].fee_currency == "xbt"
    ex.set_index_price(PI, D(62500), T0 + 1)
    lmt(ex, "c", "buy", "10000", "62500", symbol=PI, now=T0 + 1)
    lmt(ex, "a", "sell", "10000", "62500", symbol=PI, now=T0 + 1)
    # PnL 10000 * (1/50000 - 1/62500) = 0.04 XBT; fee 0.16 XBT * 0.05 % = 0.00008
    assert ex.account_state("a").margin_accounts["fi_xbtusd"].balances == {"xbt": D("1.03982")}
    assert ex.positions("a") == []


# ------------------------------------------------------------------------------- transfers


def test_transfers_between_wallets(ex: Exchange) -> None:
    assert ex.transfer("alice", "flex", "cash", "USD", D(1000), T0) == "success"
    state = ex.account_state("alice")
    assert state.cash == {"usd": D(1000)} and state.flex.currencies["USD"].quantity == D(99000)
    assert ex.transfer("alice", "fi_xbtusd", "flex", "XBT", D("0.5"), T0) == "success"
    xbt = ex.account_state("alice").flex.currencies["XBT"]
    assert (xbt.quantity, xbt.value, xbt.collateral) == (D("0.5"), D(30000), D(29400))
    assert ex.transfer("alice", "flex", "cash", "USD", D(10**6), T0) == "insufficientFunds"
    assert ex.transfer("alice", "flex", "nowhere", "USD", D(1), T0) == "invalidAccount"
    assert ex.transfer("alice", "fi_xbtusd", "flex", "USD", D(1), T0) == "invalidUnit"
    assert ex.transfer("alice", "flex", "cash", "USD", D(0), T0) == "invalidAmount"
    assert [r.info for r in ex.account_log("alice")] == ["transfer"] * 4


# ------------------------------------------------------------------------- market data, events


def test_ticker_book_trades_and_candles(ex: Exchange) -> None:
    lmt(ex, "alice", "buy", "1", "59990")
    lmt(ex, "alice", "sell", "2", "60010")
    trade(ex, "bob", "carol", "0.5", "60000", now=T0 + 60_000)
    trade(ex, "carol", "bob", "0.25", "59995", now=T0 + 120_000)
    t = ex.ticker(XBT)
    assert (t.bid, t.bid_size, t.ask, t.ask_size) == (D(59990), D(1), D(60010), D(2))
    assert (t.last, t.last_size, t.last_ts_ms) == (D(59995), D("0.25"), T0 + 120_000)
    assert (t.vol24h, t.open24h, t.high24h, t.low24h) == (D("0.75"), D(60000), D(60000), D(59995))
    assert t.volume_quote == D("0.5") * 60000 + D("0.25") * 59995
    assert t.open_interest == D("0.25")  # bob long 0.5 then sold 0.25; carol short 0.25
    assert ex.ticker(XBT, T0 + 24 * HOUR + 60_000).vol24h == D("0.25")
    candles = ex.candles(XBT, "trade", "1h", H0, H0 + HOUR)
    assert candles == [(H0, D(60000), D(60000), D(59995), D(59995), D("0.75"))]
    assert ex.book(XBT, depth=1).bids == ((D(59990), D(1)),)


def test_book_events_replay_to_the_book(ex: Exchange) -> None:
    events: list[d.ExchangeEvent] = []
    ex.add_listener(events.append)
    start = ex.book_seq(XBT)
    lmt(ex, "alice", "buy", "1", "59990")
    lmt(ex, "alice", "sell", "2", "60010")
    a = lmt(ex, "bob", "buy", "0.5", "59985")
    lmt(ex, "carol", "sell", "0.6", "59990")
    ex.cancel_order("bob", order_id=a.order_id, now_ms=T0)
    book_events = [e for e in events if isinstance(e, d.BookChanged) and e.symbol == XBT]
    assert [e.seq for e in book_events] == list(range(start + 1, ex.book_seq(XBT) + 1))
    levels: dict[tuple[Side, Decimal], Decimal] = {}
    for e in book_events:
        if e.qty == 0:
            levels.pop((e.side, e.price), None)
        else:
            levels[(e.side, e.price)] = e.qty
    view = ex.book(XBT)
    assert sorted((p, q) for (s, p), q in levels.items() if s is Side.BUY) == sorted(view.bids)
    assert sorted((p, q) for (s, p), q in levels.items() if s is Side.SELL) == sorted(view.asks)
    assert any(isinstance(e, d.TradeExecuted) for e in events)
    assert any(isinstance(e, d.FillExecuted) and e.account == "carol" for e in events)
    cancels = [e for e in events if isinstance(e, d.OrderUpdated) and e.is_cancel]
    assert [(e.account, e.reason) for e in cancels] == [
        ("carol", d.FULL_FILL),
        ("bob", d.CANCELLED_BY_USER),
    ]


# ------------------------------------------------------------------------------ persistence


def busy(ex: Exchange) -> None:
    ex.set_mark_price(XBT, D(60720), T0)
    trade(ex, "alice", "bob", "1", "60000")
    lmt(ex, "alice", "buy", "0.5", "59000")
    lmt(ex, "carol", "sell", "0.5", "61000")
    ex.send_order(
        "bob",
        symbol=XBT,
        side="buy",
        order_type="stp",
        qty=D(1),
        stop_price=D(61000),
        reduce_only=True,
        now_ms=T0,
        cli_ord_id="stop-1",
    )
    ex.cancel_all_orders_after("carol", 3600, now_ms=T0)
    trade(ex, "alice", "carol", "100", "50000", symbol=PI)
    ex.advance(H0 + 2 * HOUR + 5)


def test_snapshot_restore_round_trip_is_exact_and_deterministic(ex: Exchange) -> None:
    ex.set_index_price(PI, D(50000), T0)
    busy(ex)
    snap = ex.snapshot()
    text = json.dumps(snap)
    twin = Exchange.restore(json.loads(text))
    assert twin.snapshot() == snap
    assert twin.check_invariants() == [] and ex.check_invariants() == []
    assert twin.open_orders("alice") == ex.open_orders("alice")
    assert twin.positions("bob") == ex.positions("bob")
    assert twin.account_state("carol") == ex.account_state("carol")
    assert twin.book(XBT) == ex.book(XBT) and twin.book_seq(XBT) == ex.book_seq(XBT)
    assert twin.fills("alice") == ex.fills("alice") and twin.account_log("alice") == ex.account_log(
        "alice"
    )
    # both continue identically, ids included
    now = H0 + 2 * HOUR + 10
    for exchange in (ex, twin):
        exchange.set_mark_price(XBT, D(61000), now)
        lmt(exchange, "carol", "buy", "0.2", "59000", now=now)
    assert twin.snapshot() == ex.snapshot()
    assert twin.open_orders("carol") == ex.open_orders("carol")


# ---------------------------------------------------------------------------- configuration


def test_config_from_tables_round_trips_and_drives_the_engine() -> None:
    config = ExchangeConfig.from_dict(
        {
            "instruments": [
                {
                    "symbol": "pf_dogeusd",
                    "tick_size": "0.00001",
                    "size_precision": 0,
                    "reference_price": "0.1",
                }
            ],
            "fee_schedule": {
                "name": "flat",
                "tiers": [{"min_volume_usd": "0", "maker_pct": "0.01", "taker_pct": "0.03"}],
            },
            "max_open_orders": 10,
            "default_flex": {"USD": "500"},
        }
    )
    assert ExchangeConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    ex = Exchange(config, now_ms=T0, accounts=["a", "b"])
    spec = ex.instrument("PF_DOGEUSD")
    assert (spec.symbol, spec.base, spec.lot_size, spec.size_precision) == (
        "PF_DOGEUSD",
        "DOGE",
        D(1),
        0,
    )
    assert ex.account_state("a").flex.currencies["USD"].quantity == D(500)
    trade(ex, "b", "a", "1000", "0.1", symbol="PF_DOGEUSD")
    assert [f.fee for f in ex.fills("b")] == [D("0.03")]  # 100 USD * 0.03 %
    with pytest.raises(ConfigError, match="unknown keys"):
        ExchangeConfig.from_dict({"max_orders": 3})
    with pytest.raises(ConfigError):
        ExchangeConfig.from_dict({"instruments": [{"symbol": "PF_X", "tick_size": "0"}]})


def test_instrument_grid_helpers() -> None:
    spec = Exchange().instrument("PI_XBTUSD")
    assert (spec.kind.value, spec.margin_account, spec.settlement_currency) == (
        "inverse",
        "fi_xbtusd",
        "XBT",
    )
    assert spec.price_to_ticks(D("60000.5")) == 120001 and spec.ticks_to_price(120001) == D(
        "60000.5"
    )
    assert spec.check_price(D("60000.25")) is None and spec.check_qty(D("1.5")) is None
    with pytest.raises(ValidationError, match="tick size"):
        spec.price_to_ticks(D("60000.25"))
    with pytest.raises(ValidationError, match="lot size"):
        spec.qty_to_lots(D(0))
    assert (spec.floor_ticks(D("100.7")), spec.ceil_ticks(D("100.2"))) == (201, 201)
