"""Contract: the real ``Client``/``AsyncClient`` trade against the simulator in memory.

Every endpoint answers decodable typed data; every order type and every refusal status the
engine implies arrive as Kraken sends them (statuses inside ``result: success``); fees and
funding match hand computations.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.core.rest.endpoints import BY_NAME, ENDPOINTS
from krakenfutures.core.rest.schema_account import (
    CashAccount,
    FlexAccount,
    MarginAccount,
    SubaccountsReply,
)
from krakenfutures.core.rest.schema_common import (
    Ack,
    CancelEvent,
    EditEvent,
    ExecutionEvent,
    PlaceEvent,
    RejectEvent,
)
from krakenfutures.core.rest.schema_history import AccountLog, HistoryPage
from krakenfutures.core.rest.schema_market import Candles, InstrumentStatusReply, OrderBook, Ticker
from krakenfutures.core.rest.schema_orders import (
    BatchCancel,
    BatchEdit,
    BatchSend,
    CancelAllStatus,
    CancelStatus,
    DeadManSwitchStatus,
    EditStatus,
    SendStatus,
)
from krakenfutures.core.types import SelfTradeStrategy, TradingState
from krakenfutures.errors import (
    AuthenticationError,
    InvalidArgumentError,
    NotFoundError,
)

D = Decimal
XBT = "PF_XBTUSD"
HOUR = 3_600_000


def lmt(client: Any, side: str, qty: str, price: str, **kw: Any) -> SendStatus:
    return client.send_order(
        order_type="lmt", symbol=XBT, side=side, qty=qty, limit_price=price, **kw
    )


def usd(handle: Any) -> Decimal:
    return handle.exchange.account_state("main").flex.currencies["USD"].quantity


# ------------------------------------------------------------------ every endpoint decodes


def test_every_endpoint_returns_typed_data(client: Any, handle: Any, market: Any) -> None:
    market.order("sell", "1", "60010")
    market.order("buy", "1", "59990")
    placed = lmt(client, "buy", "0.01", "59000", cli_ord_id="c-1")
    client.send_order(order_type="mkt", symbol=XBT, side="buy", qty="0.01")
    oid = placed.order_id
    now_s = handle.clock.now_ms() // 1000
    calls: dict[str, Any] = {
        "get_instruments": lambda: client.get_instruments(),
        "get_instrument_status": lambda: client.get_instrument_status(),
        "get_instrument_status_for": lambda: client.get_instrument_status_for(symbol=XBT),
        "get_tickers": lambda: client.get_tickers(),
        "get_ticker": lambda: client.get_ticker(symbol=XBT),
        "get_orderbook": lambda: client.get_orderbook(symbol=XBT),
        "get_trade_history": lambda: client.get_trade_history(symbol=XBT),
        "get_fee_schedules": lambda: client.get_fee_schedules(),
        "get_historical_funding_rates": lambda: client.get_historical_funding_rates(symbol=XBT),
        "get_historical_funding_rates_v4": lambda: client.get_historical_funding_rates_v4(symbol=XBT),
        "get_fee_schedule_volumes": lambda: client.get_fee_schedule_volumes(),
        "get_accounts": lambda: client.get_accounts(),
        "get_open_positions": lambda: client.get_open_positions(),
        "get_leverage_preferences": lambda: client.get_leverage_preferences(),
        "set_leverage_preferences": lambda: client.set_leverage_preferences(symbol=XBT, max_leverage="10"),
        "get_pnl_preferences": lambda: client.get_pnl_preferences(),
        "set_pnl_preferences": lambda: client.set_pnl_preferences(symbol=XBT, pnl_preference="USDT"),
        "transfer": lambda: client.transfer(from_account="flex", to_account="cash", unit="usd", amount="5"),
        "get_notifications": lambda: client.get_notifications(),
        "get_unwind_queue": lambda: client.get_unwind_queue(),
        "get_self_trade_strategy": lambda: client.get_self_trade_strategy(),
        "set_self_trade_strategy": lambda: client.set_self_trade_strategy(strategy="CANCEL_MAKER_SELF"),
        "get_subaccounts": lambda: client.get_subaccounts(),
        "get_open_orders": lambda: client.get_open_orders(),
        "get_fills": lambda: client.get_fills(),
        "get_order_status": lambda: client.get_order_status(order_ids=[oid]),
        "edit_order": lambda: client.edit_order(order_id=oid, qty="0.02"),
        "cancel_order": lambda: client.cancel_order(order_id=oid),
        "send_order": lambda: lmt(client, "buy", "0.01", "58000"),
        "cancel_all_orders": lambda: client.cancel_all_orders(symbol=XBT),
        "cancel_all_orders_after": lambda: client.cancel_all_orders_after(timeout=60),
        "batch_order": lambda: client.batch_order(instructions=[BatchSend(order_tag="t", order_type="lmt", symbol=XBT, side="buy", qty=D("0.01"), limit_price=D(57000))]),
        "history_executions": lambda: client.history_executions(),
        "history_orders": lambda: client.history_orders(),
        "history_triggers": lambda: client.history_triggers(),
        "history_positions": lambda: client.history_positions(),
        "history_executions_v2": lambda: client.history_executions_v2(),
        "history_orders_v2": lambda: client.history_orders_v2(),
        "history_triggers_v2": lambda: client.history_triggers_v2(),
        "history_account_log": lambda: client.history_account_log(),
        "history_account_log_csv": lambda: client.history_account_log_csv(),
        "history_market_executions": lambda: client.history_market_executions(symbol=XBT),
        "history_market_orders": lambda: client.history_market_orders(symbol=XBT),
        "history_market_price": lambda: client.history_market_price(symbol=XBT),
        "charts_tick_types": lambda: client.charts_tick_types(),
        "charts_symbols": lambda: client.charts_symbols(tick_type="trade"),
        "charts_resolutions": lambda: client.charts_resolutions(tick_type="trade", symbol=XBT),
        "charts_candles": lambda: client.charts_candles(tick_type="trade", symbol=XBT, resolution="1m", from_s=now_s - 3600, to_s=now_s),
    }  # fmt: skip
    refused = {
        "withdrawal": (lambda: client.withdrawal(currency="usd", amount="1"), AuthenticationError),
        "transfer_subaccount": (
            lambda: client.transfer_subaccount(from_user="a", to_user="b", from_account="flex", to_account="flex", unit="usd", amount="1"),
            InvalidArgumentError,
        ),
        "get_subaccount_trading_enabled": (lambda: client.get_subaccount_trading_enabled(subaccount_uid="x"), NotFoundError),
        "set_subaccount_trading_enabled": (lambda: client.set_subaccount_trading_enabled(subaccount_uid="x", trading_enabled=True), NotFoundError),
    }  # fmt: skip
    assert set(calls) | set(refused) == {ep.name for ep in ENDPOINTS}
    results = {name: fn() for name, fn in calls.items()}
    for fn, error in refused.values():
        with pytest.raises(error):
            fn()
    assert isinstance(results["get_orderbook"], OrderBook)
    assert results["get_orderbook"].asks[0] == (D(60010), D("0.99"))
    assert isinstance(results["get_instrument_status_for"], InstrumentStatusReply)
    assert results["get_instrument_status_for"].symbol == XBT
    assert isinstance(results["get_subaccounts"], SubaccountsReply)
    assert results["get_subaccounts"].subaccounts == []
    assert results["get_self_trade_strategy"] is SelfTradeStrategy.REJECT_TAKER
    assert results["set_self_trade_strategy"] is SelfTradeStrategy.CANCEL_MAKER_SELF
    assert isinstance(results["transfer"], Ack)
    assert (
        isinstance(results["edit_order"], EditStatus) and results["edit_order"].status == "edited"
    )
    assert (
        isinstance(results["cancel_order"], CancelStatus)
        and results["cancel_order"].status == "cancelled"
    )
    assert isinstance(results["cancel_all_orders"], CancelAllStatus)
    assert isinstance(results["cancel_all_orders_after"], DeadManSwitchStatus)
    assert [b.status for b in results["batch_order"]] == ["placed"]
    for name in (
        "history_executions",
        "history_orders",
        "history_positions",
        "history_market_executions",
    ):
        page = results[name]
        assert isinstance(page, HistoryPage) and page.length == len(page.elements) > 0, name
    assert isinstance(results["history_account_log"], AccountLog)
    assert results["history_account_log_csv"].startswith("id,date,asset,info")
    assert isinstance(results["charts_candles"], Candles) and results["charts_candles"].candles
    accounts = results["get_accounts"]
    assert isinstance(accounts["cash"], CashAccount)
    assert isinstance(accounts["flex"], FlexAccount)
    assert isinstance(accounts["fi_xbtusd"], MarginAccount)
    assert results["charts_tick_types"] == ["mark", "spot", "trade"]
    prefs = client.get_leverage_preferences()
    assert [(p.symbol, p.max_leverage) for p in prefs] == [(XBT, D(10))]
    assert [(p.symbol, p.pnl_currency) for p in client.get_pnl_preferences()] == [(XBT, "USDT")]


def test_tickers_carry_index_rows_and_funding_fields(client: Any, handle: Any) -> None:
    tickers = {t.symbol: t for t in client.get_tickers()}
    assert {"in_xbtusd", "rr_xbtusd", "in_ethusd", "rr_solusd"} <= set(tickers)
    index = tickers["in_xbtusd"]
    assert index.last == handle.exchange.state.markets[XBT].index_price and index.last_time
    assert index.mark_price is None and index.bid is None
    xbt = tickers[XBT]
    assert xbt.tag == "perpetual" and xbt.pair == "XBT:USD"
    assert xbt.funding_rate is not None and xbt.funding_rate_prediction is not None
    assert client.get_ticker(symbol="in_xbtusd").last == index.last
    assert isinstance(client.get_ticker(symbol="pf_xbtusd"), Ticker)
    names = {i.symbol: i for i in client.get_instruments()}
    assert names["rr_xbtusd"].tradeable is False
    assert names["PI_XBTUSD"].type == "futures_inverse" and names[XBT].type == "flexible_futures"
    assert names["PI_XBTUSD"].margin_levels[0].contracts == 0
    assert names[XBT].margin_levels[0].num_non_contract_units == 0
    assert names[XBT].contract_value_trade_precision == 4
    only_inverse = client.get_tickers(contract_type=["futures_inverse"])
    assert [t.symbol for t in only_inverse] == ["PI_XBTUSD"]


def test_fee_schedule_is_the_engine_schedule_in_percent(client: Any) -> None:
    (schedule,) = client.get_fee_schedules()
    tiers = [(t.usd_volume, t.maker_fee, t.taker_fee) for t in schedule.tiers]
    assert tiers[0] == (D(0), D("0.02"), D("0.05"))
    assert tiers[1] == (D(100000), D("0.015"), D("0.04"))
    assert tiers[-1] == (D(100000000), D(0), D("0.01"))
    assert len(tiers) == 8
    volumes = client.get_fee_schedule_volumes()
    assert volumes == {schedule.uid: D(0)}


# --------------------------------------------------------------------------- order types


def test_limit_and_post_rest_and_report_place_events(client: Any, market: Any) -> None:
    r = lmt(client, "buy", "0.01", "59000", cli_ord_id="a")
    assert r.status == "placed" and r.cli_ord_id == "a"
    (event,) = r.order_events
    assert isinstance(event, PlaceEvent) and event.order is not None
    assert event.order.type == "lmt" and event.order.qty == D("0.01") and event.order.filled == 0
    post = client.send_order(
        order_type="post", symbol=XBT, side="sell", qty="0.01", limit_price="61000"
    )
    assert post.status == "placed" and post.order_events[0].order.type == "post"
    rows = {o.order_id: o for o in client.get_open_orders()}
    assert rows[post.order_id].order_type == "lmt" and rows[r.order_id].status == "untouched"


def test_market_order_is_an_ioc_with_executions(client: Any, market: Any) -> None:
    market.order("sell", "0.05", "60010")
    market.order("sell", "0.05", "60020")
    r = client.send_order(order_type="mkt", symbol=XBT, side="buy", qty="0.08")
    assert r.status == "placed"
    execs = [e for e in r.order_events if isinstance(e, ExecutionEvent)]
    assert [(e.price, e.qty) for e in execs] == [(D(60010), D("0.05")), (D(60020), D("0.03"))]
    prior = execs[0].order_prior_execution
    assert prior.type == "ioc" and prior.limit_price == D(60610)  # best ask + 1 %, floored to tick
    assert client.get_open_orders() == []
    (pos,) = client.get_open_positions()
    assert (pos.side, pos.qty, pos.symbol) == ("long", D("0.08"), XBT)


def test_ioc_partial_and_fok_all_or_nothing(client: Any, market: Any) -> None:
    market.order("sell", "0.05", "60010")
    ioc = client.send_order(
        order_type="ioc", symbol=XBT, side="buy", qty="0.08", limit_price="60010"
    )
    assert ioc.status == "placed"
    assert sum(e.qty for e in ioc.order_events if isinstance(e, ExecutionEvent)) == D("0.05")
    assert client.get_open_orders() == []
    market.order("sell", "0.05", "60010")
    fok = client.send_order(
        order_type="fok", symbol=XBT, side="buy", qty="0.08", limit_price="60010"
    )
    assert fok.status == "iocWouldNotExecute"
    assert isinstance(fok.order_events[0], RejectEvent)
    fok = client.send_order(
        order_type="fok", symbol=XBT, side="buy", qty="0.05", limit_price="60010"
    )
    assert fok.status == "placed" and isinstance(fok.order_events[0], ExecutionEvent)


def test_stop_triggered_by_mark(client: Any, handle: Any, market: Any) -> None:
    market.order("sell", "1", "61010")
    r = client.send_order(
        order_type="stp",
        symbol=XBT,
        side="buy",
        qty="0.01",
        stop_price="61000",
        trigger_signal="mark",
    )
    assert r.status == "placed"
    trig = r.order_events[0].order_trigger
    assert trig is not None and trig.type == "ioc" and trig.trigger_side == "trigger_above"
    assert trig.trigger_signal == "mark_price" and trig.trigger_price == D(61000)
    (row,) = client.get_open_orders()
    assert row.order_type == "stop" and row.trigger_signal == "mark"
    (status,) = client.get_order_status(order_ids=[r.order_id])
    assert status.status == "TRIGGER_PLACED" and status.order.type == "TRIGGER_ORDER"
    assert status.order.price_trigger_options.trigger_side == "TRIGGER_ABOVE"
    handle.exchange.set_mark_price(XBT, D(61000), handle.clock.now_ms())
    assert client.get_open_orders() == []
    (fill,) = client.get_fills()
    assert (fill.price, fill.qty, fill.order_id) == (D(61010), D("0.01"), r.order_id)
    kinds = [next(iter(e.event)) for e in client.history_triggers(sort="asc").elements]
    assert kinds == ["OrderTriggerPlaced", "OrderTriggerActivated"]


def test_take_profit_triggered_by_index(client: Any, handle: Any, market: Any) -> None:
    market.order("buy", "1", "61500")
    r = client.send_order(
        order_type="take_profit",
        symbol=XBT,
        side="sell",
        qty="0.01",
        stop_price="61000",
        limit_price="61500",
        trigger_signal="index",
    )
    trig = r.order_events[0].order_trigger
    assert (
        trig.type == "lmt"
        and trig.trigger_signal == "spot_price"
        and trig.trigger_side == "trigger_above"
    )
    assert client.get_open_orders()[0].trigger_signal == "spot"
    handle.exchange.set_index_price(XBT, D(61200), handle.clock.now_ms())
    (fill,) = client.get_fills()
    assert (fill.side, fill.price) == ("sell", D(61500))


def test_take_profit_triggered_by_last(client: Any, handle: Any, market: Any) -> None:
    r = client.send_order(
        order_type="take_profit",
        symbol=XBT,
        side="buy",
        qty="0.01",
        stop_price="59000",
        limit_price="58900",
        trigger_signal="last",
    )
    assert r.order_events[0].order_trigger.trigger_side == "trigger_below"
    market.order("sell", "0.1", "59000", account="maker")
    market.order("buy", "0.1", "59000", account="maker2")  # a trade prints 59000
    (row,) = client.get_open_orders()
    assert row.order_id == r.order_id and row.order_type == "lmt" and row.limit_price == D(58900)


# ----------------------------------------------------------------------------- refusals


def test_every_refusal_status(client: Any, handle: Any, market: Any) -> None:
    ex, now = handle.exchange, handle.clock.now_ms
    market.order("sell", "1", "60010")
    st = lambda r: r.status  # noqa: E731
    assert (
        st(
            client.send_order(
                order_type="post", symbol=XBT, side="buy", qty="0.01", limit_price="60010"
            )
        )
        == "postWouldExecute"
    )
    assert (
        st(
            client.send_order(
                order_type="ioc", symbol=XBT, side="buy", qty="0.01", limit_price="59000"
            )
        )
        == "iocWouldNotExecute"
    )
    assert st(lmt(client, "buy", "50", "59000")) == "insufficientAvailableFunds"
    assert st(lmt(client, "buy", "0.01", "59000", reduce_only=True)) == "wouldNotReducePosition"
    assert st(lmt(client, "buy", "0.01", "59000.5")) == "invalidPrice"
    assert st(lmt(client, "buy", "0.00001", "59000")) == "invalidSize"
    assert st(lmt(client, "buy", "0.01", "59000", cli_ord_id="dup")) == "placed"
    assert st(lmt(client, "buy", "0.01", "59000", cli_ord_id="dup")) == "clientOrderIdAlreadyExist"
    assert st(lmt(client, "buy", "1300", "100")) == "maxPositionViolation"
    own = client.send_order(
        order_type="post", symbol=XBT, side="sell", qty="0.01", limit_price="60005"
    )
    assert st(own) == "placed"
    self_fill = lmt(client, "buy", "0.01", "60005")
    assert st(self_fill) == "selfFill" and isinstance(self_fill.order_events[0], RejectEvent)
    assert self_fill.order_events[0].reason == "SELF_FILL"
    assert (
        st(client.edit_order(order_id="00000000-0000-4000-8000-000000000000", qty="1"))
        == "orderForEditNotFound"
    )
    assert st(client.cancel_order(order_id="00000000-0000-4000-8000-000000000000")) == "notFound"
    assert (
        st(
            client.send_order(
                order_type="trailing_stop",
                symbol=XBT,
                side="buy",
                qty="0.01",
                trailing_stop_max_deviation="1",
                trailing_stop_deviation_unit="PERCENT",
            )
        )
        == "invalidOrderType"
    )
    assert (
        st(lmt(client, "buy", "0.01", "59000", process_before="2020-01-01T00:00:00.000Z"))
        == "wouldProcessAfterSpecifiedTime"
    )
    ex.set_trading_state(XBT, TradingState.POST_ONLY, now())
    assert st(lmt(client, "buy", "0.01", "59000")) == "marketIsPostOnly"
    assert (
        st(
            client.send_order(
                order_type="post", symbol=XBT, side="buy", qty="0.01", limit_price="59000"
            )
        )
        == "placed"
    )
    ex.set_trading_state(XBT, TradingState.SUSPENDED, now())
    assert st(lmt(client, "buy", "0.01", "59000")) == "marketSuspended"
    assert client.get_tickers(contract_type=["flexible_futures"])[0].suspended is True
    assert handle.exchange.check_invariants() == []


def test_edit_cancel_and_cancel_all_events(client: Any, market: Any) -> None:
    a = lmt(client, "buy", "0.01", "59000", cli_ord_id="e1")
    edited = client.edit_order(cli_ord_id="e1", qty="0.03", limit_price="59100")
    assert edited.status == "edited" and edited.order_id == a.order_id
    (event,) = edited.order_events
    assert isinstance(event, EditEvent) and (event.old.qty, event.new.qty) == (D("0.01"), D("0.03"))
    assert event.new.limit_price == D(59100)
    market.order("buy", "1", "60500")
    crossed = client.send_order(
        order_type="post", symbol=XBT, side="sell", qty="0.01", limit_price="61000"
    )
    moved = client.edit_order(order_id=crossed.order_id, limit_price="60500")
    assert moved.status == "postWouldExecute"
    cancelled = client.cancel_order(order_id=a.order_id)
    assert cancelled.status == "cancelled" and isinstance(cancelled.order_events[0], CancelEvent)
    everything = client.cancel_all_orders()
    assert everything.status == "cancelled" and everything.cancel_only == "all"
    assert [o.order_id for o in everything.cancelled_orders] == [crossed.order_id]
    assert client.cancel_all_orders(symbol=XBT).status == "noOrdersToCancel"


def test_batch_mixes_send_edit_cancel(client: Any, market: Any) -> None:
    a = lmt(client, "buy", "0.01", "59000")
    b = lmt(client, "buy", "0.01", "58000")
    rows = client.batch_order(
        instructions=[
            BatchSend(order_tag="new", order_type="lmt", symbol=XBT, side="sell", qty=D("0.02"), limit_price=D(61000), cli_ord_id="bn"),
            BatchEdit(order_id=a.order_id, qty=D("0.05")),
            BatchCancel(order_id=b.order_id),
            BatchSend(order_tag="bad", order_type="post", symbol=XBT, side="buy", qty=D("0.02"), limit_price=D("58000.5")),
            BatchCancel(order_id="00000000-0000-4000-8000-000000000000"),
        ]
    )  # fmt: skip
    assert [r.status for r in rows] == ["placed", "edited", "cancelled", "invalidPrice", "notFound"]
    assert rows[0].order_tag == "new" and rows[0].cli_ord_id == "bn"
    assert rows[1].order_id == a.order_id and isinstance(rows[1].order_events[0], EditEvent)
    assert isinstance(rows[2].order_events[0], CancelEvent)
    open_ids = {o.order_id: o for o in client.get_open_orders()}
    assert set(open_ids) == {a.order_id, rows[0].order_id}
    assert open_ids[a.order_id].unfilled_size == D("0.05")


def test_dead_mans_switch_cancels_when_time_passes(client: Any, handle: Any) -> None:
    order = lmt(client, "buy", "0.01", "59000")
    armed = client.cancel_all_orders_after(timeout=60)
    assert armed.trigger_time != "0" and armed.current_time < armed.trigger_time
    handle.clock.advance(59_000)
    handle.tick()
    assert len(client.get_open_orders()) == 1
    handle.clock.advance(2_000)
    handle.tick()
    assert client.get_open_orders() == []
    (status,) = client.get_order_status(order_ids=[order.order_id])
    assert (status.status, status.update_reason) == ("CANCELLED", "DEAD_MAN_SWITCH")
    assert client.cancel_all_orders_after(timeout=0).trigger_time == "0"


# -------------------------------------------------------------------------- fees, funding


def test_taker_fee_in_account_log_matches_hand_computation(
    client: Any, handle: Any, market: Any
) -> None:
    market.order("sell", "1", "60000")
    r = client.send_order(order_type="mkt", symbol=XBT, side="buy", qty="0.25")
    exec_id = r.order_events[0].execution_id
    fee = D("0.25") * D(60000) * D("0.0005")  # tier 1 taker: 0.05 % of notional
    assert fee == D("7.5")
    logs = client.history_account_log(sort="asc").logs
    cash = next(e for e in logs if e.asset == "usd" and e.execution == exec_id)
    leg = next(e for e in logs if e.asset == "pf_xbtusd" and e.execution == exec_id)
    assert cash.fee == fee and cash.info == "futures trade" and cash.realized_pnl == 0
    assert (cash.old_balance, cash.new_balance) == (D(100000), D(100000) - fee)
    assert (leg.old_balance, leg.new_balance, leg.new_average_entry_price) == (
        0,
        D("0.25"),
        D(60000),
    )
    assert usd(handle) == D(100000) - fee
    (exe,) = client.history_executions().elements
    assert D(exe.event["Execution"]["execution"]["takerOrderData"]["fee"]) == fee
    # REST /fills carries no fee, as on Kraken
    reply = handle.handle(
        "GET", "/derivatives/api/v3/fills", *_signed_get(client, "/derivatives/api/v3/fills")
    )
    assert b'"fill_id"' in reply.body and b"fee" not in reply.body


def _signed_get(client: Any, path: str) -> tuple[dict[str, str], bytes]:
    from krakenfutures.core.rest.build import build_request

    req = build_request(
        BY_NAME["get_fills"],
        None,
        api_key=client.credentials.api_key,
        key=client.credentials.secret.key(),
        nonce="",
    )
    return req.headers, b""


def test_funding_over_an_hour_boundary_matches_hand_computation(
    client: Any, handle: Any, market: Any
) -> None:
    ex, clock = handle.exchange, handle.clock
    market.order("sell", "1", "60000")
    client.send_order(order_type="mkt", symbol=XBT, side="buy", qty="1")
    ex.set_mark_price(XBT, D(60600), clock.now_ms())  # premium 1 % over the 60,000 index
    hour0 = clock.now_ms() // HOUR * HOUR
    clock.ms = hour0 + HOUR + 1  # first boundary: nothing owed yet, the rate is set
    handle.tick()
    (rate,) = client.get_historical_funding_rates(symbol=XBT)
    relative = D("0.01") / 24  # premium / fundingRateCoefficient, under the 0.25 % cap
    assert rate.relative_funding_rate == relative.quantize(D("1e-12"))  # wire: 12 dp
    assert rate.funding_rate == relative * D(60600)
    balance = usd(handle)
    clock.ms = hour0 + 2 * HOUR + 1  # a whole hour at that rate
    handle.tick()
    paid = D(60600) * D("0.01") / 24  # 1 XBT x mark x relative rate = 25.25 USD, long pays
    assert paid == D("25.25")
    logs = [e for e in client.history_account_log(info="funding rate change").logs]
    (row,) = logs
    assert row.realized_funding.quantize(D("1e-12")) == -paid
    assert (balance - usd(handle)).quantize(D("1e-12")) == paid
    assert row.contract == "pf_xbtusd" and row.date.endswith("T02:00:00.000Z")
    kinds = [
        e.event["PositionUpdate"]["updateReason"]
        for e in client.history_positions(sort="asc").elements
    ]
    assert kinds == ["trade", "funding_realization"]


# ------------------------------------------------------------------ account side, history


def test_transfer_withdrawal_and_account_shapes(client: Any, handle: Any) -> None:
    client.transfer(from_account="flex", to_account="cash", unit="USD", amount="250")
    accounts = client.get_accounts()
    assert accounts["cash"].balances == {"usd": D(250)}
    assert accounts["flex"].currencies["USD"].quantity == D(99750)
    assert accounts["fi_xbtusd"].currency == "xbt" and accounts["fi_xbtusd"].balances["xbt"] == 1
    with pytest.raises(InvalidArgumentError):
        client.transfer(from_account="flex", to_account="cash", unit="USD", amount="-1")


def test_history_pages_and_filters(client: Any) -> None:
    for i in range(5):
        lmt(client, "buy", "0.01", str(59000 - i))
    client.cancel_all_orders()
    first = client.history_orders(count=4, sort="asc")
    assert first.length == 4 and first.continuation_token is not None
    rest = client.history_orders(count=4, sort="asc", continuation_token=first.continuation_token)
    assert rest.length == 4
    second = client.history_orders(count=4, sort="asc", continuation_token=rest.continuation_token)
    assert second.length == 2 and second.continuation_token is None
    opened = client.history_orders(opened=True)
    assert {next(iter(e.event)) for e in opened.elements} == {"OrderPlaced"}
    closed = client.history_orders(closed=True)
    assert {next(iter(e.event)) for e in closed.elements} == {"OrderCancelled"}
    payload = opened.elements[0].event["OrderPlaced"]["order"]
    assert payload["direction"] == "Buy" and payload["orderType"] == "Limit"
    assert isinstance(payload["quantity"], str) and payload["tradeable"] == XBT


# --------------------------------------------------------------------------- async twin


async def test_async_client_trades_the_same_way(async_pair: tuple[Any, Any, Any]) -> None:
    client, handle, market = async_pair
    market.order("sell", "1", "60010")
    r = await client.send_order(order_type="mkt", symbol=XBT, side="buy", qty="0.1")
    assert r.status == "placed" and isinstance(r.order_events[0], ExecutionEvent)
    rows = await client.batch_order(
        instructions=[
            BatchSend(order_tag="1", order_type="lmt", symbol=XBT, side="buy", qty=D("0.01"), limit_price=D(59000)),
            BatchSend(order_tag="2", order_type="post", symbol=XBT, side="buy", qty=D("0.01"), limit_price=D(60010)),
        ]
    )  # fmt: skip
    assert [row.status for row in rows] == ["placed", "postWouldExecute"]
    (pos,) = await client.get_open_positions()
    assert pos.qty == D("0.1")
    accounts = await client.get_accounts()
    assert accounts["flex"].currencies["USD"].quantity == D(100000) - D("0.1") * 60010 * D("0.0005")
    candles = await client.charts_candles(tick_type="trade", symbol=XBT, resolution="1h")
    assert candles.candles[-1].close == D(60010)
    assert handle.exchange.check_invariants() == []
