"""Wire schema: golden fixtures decode to exact Decimals, re-encode to Kraken's shape, params
encode to wire names only."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.rest import parse
from krakenfutures.core.rest.endpoint import Endpoint
from krakenfutures.core.rest.endpoints import BY_NAME, ENDPOINTS
from krakenfutures.core.rest.parse import parse_response
from krakenfutures.core.rest.schema_account import (
    CashAccount,
    FlexAccount,
    MarginAccount,
    SubaccountsReply,
)
from krakenfutures.core.rest.schema_common import (
    WIRE_ENCODER,
    CancelEvent,
    EditEvent,
    ErrorReply,
    ExecutionEvent,
    PlaceEvent,
    RejectEvent,
    success_envelope,
)
from krakenfutures.core.rest.schema_market import InstrumentStatusReply, Ticker
from krakenfutures.core.rest.schema_orders import (
    BatchCancel,
    BatchEdit,
    BatchOrderParams,
    BatchOrderPayload,
    BatchSend,
    CancelOrderParams,
    EditOrderParams,
    Fill,
    SendOrderParams,
    SendStatus,
)
from krakenfutures.core.types import OrderType, QtyMode, SelfTradeStrategy, Side, TriggerSignal

WIRE = Path(__file__).resolve().parents[2] / "fixtures" / "wire"
D = Decimal

FIXTURES: dict[str, str] = {
    "accounts.json": "get_accounts",
    "sendorder_placed_execution.json": "send_order",
    "sendorder_rejected_funds.json": "send_order",
    "sendorder_post_rejected.json": "send_order",
    "batchorder.json": "batch_order",
    "editorder.json": "edit_order",
    "cancelorder.json": "cancel_order",
    "cancelallorders.json": "cancel_all_orders",
    "cancelallordersafter.json": "cancel_all_orders_after",
    "cancelallordersafter_disarmed.json": "cancel_all_orders_after",
    "tickers.json": "get_tickers",
    "instruments.json": "get_instruments",
    "instruments_status.json": "get_instrument_status",
    "instrument_status_one.json": "get_instrument_status_for",
    "orderbook.json": "get_orderbook",
    "trade_history.json": "get_trade_history",
    "fills.json": "get_fills",
    "openorders.json": "get_open_orders",
    "openpositions.json": "get_open_positions",
    "orders_status.json": "get_order_status",
    "historical_funding.json": "get_historical_funding_rates",
    "notifications.json": "get_notifications",
    "leveragepreferences.json": "get_leverage_preferences",
    "pnlpreferences.json": "get_pnl_preferences",
    "unwindqueue.json": "get_unwind_queue",
    "self_trade_strategy.json": "get_self_trade_strategy",
    "withdrawal.json": "withdrawal",
    "ack.json": "set_leverage_preferences",
    "subaccount_trading_enabled.json": "get_subaccount_trading_enabled",
    "subaccounts.json": "get_subaccounts",
    "history_executions.json": "history_executions",
    "history_orders.json": "history_orders",
    "account_log.json": "history_account_log",
    "charts_candles.json": "charts_candles",
    "charts_tick_types.json": "charts_tick_types",
}


def body_of(name: str) -> bytes:
    return (WIRE / name).read_bytes()


def payload(name: str) -> Any:
    """Decode a fixture the way the client will: the ``key`` field, or the whole body."""
    ep = BY_NAME[FIXTURES[name]]
    if ep.key is None:
        return msgspec.json.decode(body_of(name), type=ep.result)
    env = msgspec.defstruct("Env", [(ep.key, ep.result)])
    return getattr(msgspec.json.decode(body_of(name), type=env), ep.key)


def _num(x: Any) -> Decimal:
    return D(str(x))


def assert_same_wire(orig: Any, new: Any, where: str = "$") -> None:
    """``new`` (our re-encoding) says what ``orig`` (Kraken's body) says, under the same names.

    Allowed differences: numbers may switch between JSON numbers and decimal strings, and
    ``omit_defaults`` may drop a ``null`` or an empty list.
    """
    if isinstance(orig, dict):
        assert isinstance(new, dict), where
        assert set(new) <= set(orig), f"{where}: invented names {set(new) - set(orig)}"
        for k, v in orig.items():
            if k not in new:
                assert v in (None, [], {}), f"{where}.{k} dropped (value {v!r})"
            else:
                assert_same_wire(v, new[k], f"{where}.{k}")
    elif isinstance(orig, list):
        assert isinstance(new, list) and len(new) == len(orig), where
        for i, (a, b) in enumerate(zip(orig, new, strict=True)):
            assert_same_wire(a, b, f"{where}[{i}]")
    elif isinstance(orig, bool) or isinstance(new, bool) or orig is None or new is None:
        assert orig == new and type(orig) is type(new), f"{where}: {orig!r} != {new!r}"
    elif isinstance(orig, (int, Decimal)) or isinstance(new, (int, Decimal)):
        assert _num(orig) == _num(new), f"{where}: {orig!r} != {new!r}"
    else:
        assert orig == new, f"{where}: {orig!r} != {new!r}"


def _loads(raw: bytes) -> Any:
    return json.loads(raw, parse_float=Decimal)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_round_trips_to_the_same_wire_shape(name: str) -> None:
    ep = BY_NAME[FIXTURES[name]]
    value = payload(name)
    encoded = WIRE_ENCODER.encode(value)
    assert msgspec.json.decode(encoded, type=ep.result) == value
    orig = _loads(body_of(name))
    if ep.key is not None:
        orig = orig[ep.key]
    elif ep.envelope and isinstance(orig, dict):  # v3 whole-body replies: envelope optional
        orig = {**orig, "result": orig.get("result", "success")}
    assert_same_wire(orig, _loads(encoded))


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_parse_response_agrees_with_the_table(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # parse caches decoders by endpoint *name*; other tests build same-named ad-hoc endpoints.
    monkeypatch.setattr(parse, "_decoders", {})
    ep = BY_NAME[FIXTURES[name]]
    assert parse_response(ep, 200, body_of(name)) == payload(name)


def test_accounts_three_kinds() -> None:
    accounts = payload("accounts.json")
    cash, margin, flex = accounts["cash"], accounts["fi_xbtusd"], accounts["flex"]
    assert isinstance(cash, CashAccount) and cash.balances["xbt"] == D("141.31756797")
    assert isinstance(margin, MarginAccount) and margin.currency == "xbt"
    assert margin.balances["FI_XBTUSD_260626"] == D("-15000")
    assert margin.auxiliary.af == D("100.73891563") and margin.margin_requirements.lt == D("39.6")
    assert margin.trigger_estimates.tt == D(2830)
    assert isinstance(flex, FlexAccount)
    assert flex.currencies["USD"].available == D("4210.55")
    assert flex.currencies["XBT"].collateral == D("4886.49976674881")
    assert flex.unrealized_funding == D("-0.0073428045972263895")
    assert flex.available_margin == D("13983.19") and flex.initial_margin_with_orders == D("812.3")


def test_sendorder_execution() -> None:
    status = payload("sendorder_placed_execution.json")
    assert isinstance(status, SendStatus) and status.status == "placed"
    assert status.cli_ord_id == "bot-7f3a-0001"
    (event,) = status.order_events
    assert isinstance(event, ExecutionEvent)
    assert (event.price, event.qty) == (D("1869.175"), D("0.5"))
    prior = event.order_prior_execution
    assert prior.type == "ioc" and prior.side is Side.BUY and prior.limit_price == D("1887.85")
    assert event.order_prior_edit is None and event.taker_reduced_quantity is None


def test_sendorder_refusals_are_statuses() -> None:
    funds = payload("sendorder_rejected_funds.json")
    assert funds.status == "insufficientAvailableFunds"
    assert funds.order_id is None and funds.order_events == []
    post = payload("sendorder_post_rejected.json")
    (event,) = post.order_events
    assert isinstance(event, RejectEvent) and event.reason == "POST_WOULD_EXECUTE"
    assert event.order is not None and event.order.qty == D("0.0125") and event.order.reduce_only


def test_batchorder_decimal_strings_and_event_kinds() -> None:
    rows = payload("batchorder.json")
    assert [r.status for r in rows] == [
        "placed",
        "placed",
        "insufficientAvailableFunds",
        "cancelled",
        "notFound",
    ]
    place = rows[0].order_events[0]
    assert isinstance(place, PlaceEvent) and place.order is not None
    assert place.order.filled == 0 and str(place.order.filled) == "0E-11"
    assert place.order.qty == D("0.1") and place.order.limit_price == D(61000)
    trigger = rows[1].order_events[0]
    assert isinstance(trigger, PlaceEvent) and trigger.order is None
    assert trigger.order_trigger is not None and trigger.order_trigger.client_id is None
    assert trigger.order_trigger.trigger_price == D(58500)
    assert trigger.order_trigger.trigger_signal == "mark_price"
    cancel = rows[3].order_events[0]
    assert isinstance(cancel, CancelEvent) and cancel.order is not None
    assert cancel.order.filled == D("0.02")
    assert rows[4].cli_ord_id == "grid-buy-0" and rows[4].order_id is None
    assert rows[0].date_time_received == "2026-03-02T11:03:36.053Z"


def test_edit_cancel_and_dead_man() -> None:
    edit = payload("editorder.json")
    (event,) = edit.order_events
    assert isinstance(event, EditEvent) and event.new.limit_price == D("60750.5")
    assert edit.order_id == "022774bc-2c4a-4f26-9317-436c8d85746d"
    assert payload("cancelorder.json").cli_ord_id == "1234568"
    cancel_all = payload("cancelallorders.json")
    assert cancel_all.cancel_only == "all"
    assert [o.cli_ord_id for o in cancel_all.cancelled_orders] == [None, "mm-ask-3"]
    assert payload("cancelallordersafter_disarmed.json").trigger_time == "0"


def test_tickers_with_index_rows() -> None:
    tickers = {t.symbol: t for t in payload("tickers.json")}
    pf = tickers["PF_XBTUSD"]
    assert pf.last_time == "2026-03-02T12:31:01.835715Z" and pf.vol_24h == D("4812.0714")
    assert tickers["PI_XBTUSD"].funding_rate == D("-6.26e-11")
    ff = tickers["FF_XBTUSD_260626"]
    assert ff.mark_price == D("65490.5") and ff.suspended is True and ff.funding_rate is None
    index = tickers["in_xbtusd"]
    assert index.last == D("64205.43") and index.mark_price is None and index.tag is None
    assert msgspec.json.decode(WIRE_ENCODER.encode(index)) == {
        "symbol": "in_xbtusd",
        "last": 64205.43,
        "lastTime": "2026-03-02T12:31:00.000Z",
    }


def test_instruments_and_status() -> None:
    inst = {i.symbol: i for i in payload("instruments.json")}
    pi = inst["PI_XBTUSD"]
    assert pi.margin_levels[1].contracts == D(500000) and pi.margin_levels[1].initial_margin == D(
        "0.04"
    )
    assert pi.max_relative_funding_rate == D("0.0025") and pi.tick_size == D("0.5")
    pepe = inst["PF_PEPEUSD"]
    assert pepe.tick_size == D("1e-10") and pepe.contract_value_trade_precision == -3
    assert pepe.margin_levels[1].num_non_contract_units == D(250000)
    assert inst["FF_XBTUSD_260626"].post_only and inst["in_xbtusd"].tradeable is False
    status = {s.symbol: s for s in payload("instruments_status.json")}
    assert status["PF_WIFUSD"].price_dislocation_direction == "ABOVE_UPPER_BOUND"
    assert status["PF_WIFUSD"].extreme_volatility_im_multiplier == 2
    assert status["PF_XBTUSD"].price_dislocation_direction is None
    one = payload("instrument_status_one.json")
    assert isinstance(one, InstrumentStatusReply) and one.symbol == "PF_WIFUSD"


def test_book_trades_fills_orders_positions() -> None:
    book = payload("orderbook.json")
    assert book.bids[2] == (D(64205), D("7.2")) and book.asks[0] == (D(64213), D("0.5"))
    trades = payload("trade_history.json")
    assert trades[0].qty == D("0.0042") and trades[0].side is Side.BUY
    assert trades[0].notional_amount == D("269.6904") and trades[1].type == "liquidation"
    fills = payload("fills.json")
    assert fills[0].qty == D("0.0125") and fills[0].cli_ord_id == "bot-7f3a-0001"
    assert fills[1].cli_ord_id is None and fills[1].fill_type == "takerAfterEdit"
    orders = payload("openorders.json")
    assert orders[0].filled_size == D("0.0096") and orders[0].unfilled_size == D("0.0304")
    assert orders[1].stop_price == D("1880.4") and orders[1].trigger_signal == "last"
    pos = payload("openpositions.json")
    assert pos[0].price == D("63392.749993345933") and pos[0].side == "short"
    assert pos[1].unrealized_funding is None and pos[2].max_fixed_leverage == D(5)
    status = payload("orders_status.json")
    assert status[0].status == "FULLY_EXECUTED" and status[0].order.filled == D("1.5")
    trig = status[1].order.price_trigger_options
    assert (
        trig is not None and trig.trigger_price == D(2980) and status[1].order.limit_price is None
    )


def test_account_side_payloads() -> None:
    rates = payload("historical_funding.json")
    assert rates[0].funding_rate == D("-8.15861558e-10") and rates[2].funding_rate == D("0.0002207")
    notes = payload("notifications.json")
    assert notes[0].expected_downtime_minutes == 30 and notes[1].expected_downtime_minutes is None
    assert payload("leveragepreferences.json")[1].max_leverage == D("2.5")
    assert payload("self_trade_strategy.json") is SelfTradeStrategy.CANCEL_MAKER_SELF
    assert payload("withdrawal.json") == "9053db5f-0d5e-48dd-b606-a5c92576b706"
    assert payload("subaccount_trading_enabled.json") is True
    subs = payload("subaccounts.json")
    assert isinstance(subs, SubaccountsReply) and subs.subaccounts[0].full_name is None
    flex = subs.subaccounts[0].flex_account
    assert flex is not None and flex.currencies[0].available == D("0.49999966035931903")
    assert subs.subaccounts[0].futures_accounts[1].available_margin < 0


def test_history_and_charts() -> None:
    page = payload("history_executions.json")
    assert page.length == 1 and page.continuation_token == "c3RyaW5n"
    execution = page.elements[0].event["Execution"]["execution"]
    assert execution["takerOrder"]["direction"] == "Buy"
    orders = payload("history_orders.json")
    assert orders.elements[1].timestamp == "1772454802000" and orders.continuation_token is None
    log = payload("account_log.json")
    cash_leg, position_leg, funding = log.logs
    assert cash_leg.fee == D("0.0035") and cash_leg.realized_pnl == D("-0.0042")
    assert position_leg.old_average_entry_price == D("0.0708") and position_leg.fee is None
    assert funding.realized_funding == D("0.0116") and funding.info == "funding rate change"
    candles = payload("charts_candles.json")
    assert candles.more_candles and candles.candles[0].high == D("64250.5")
    assert candles.candles[1].volume == 0
    assert payload("charts_tick_types.json") == ["mark", "spot", "trade"]


@pytest.mark.parametrize(
    "name", ["error_api_limit.json", "error_authentication.json", "error_errors_array.json"]
)
def test_error_envelopes(name: str) -> None:
    reply = msgspec.json.decode(body_of(name), type=ErrorReply)
    assert reply.result == "error" and (reply.error or reply.errors)
    assert msgspec.json.decode(WIRE_ENCODER.encode(reply), type=ErrorReply) == reply


@pytest.mark.parametrize(
    "size", [b"0.0125", b'"0.0125"', b'"1.25E-2"', b"1.25e-2", b'"0.01250000000"']
)
def test_numbers_and_decimal_strings_decode_alike(size: bytes) -> None:
    body = (
        b'{"fill_id":"f","symbol":"PF_XBTUSD","side":"sell","order_id":"o","size":'
        + size
        + b',"price":"64210","fillTime":"t","fillType":"maker"}'
    )
    assert msgspec.json.decode(body, type=Fill).qty == D("0.0125")


def test_unknown_fields_are_ignored() -> None:
    body = (
        b'{"order_id":"o","status":"placed","newThing":{"a":[1,2]},"orderEvents":[{"type":'
        b'"PLACE","futureField":1,"order":{"orderId":"o","type":"lmt","symbol":"PF_XBTUSD",'
        b'"side":"buy","quantity":1,"filled":0,"limitPrice":1,"reduceOnly":false,'
        b'"timestamp":"t","lastUpdateTimestamp":"t","algoId":null}}]}'
    )
    status = msgspec.json.decode(body, type=SendStatus)
    assert status.order_events[0].order is not None  # type: ignore[union-attr]
    assert msgspec.json.decode(b'{"symbol":"x","extra":true}', type=Ticker).symbol == "x"


def test_success_envelope_shapes() -> None:
    assert success_envelope("status", {"a": 1}, "T") == {
        "result": "success",
        "serverTime": "T",
        "status": {"a": 1},
    }
    body = success_envelope(None, payload("subaccounts.json"), "T2")
    assert body["serverTime"] == "T2" and body["masterAccountUid"].startswith("ba598ca1")
    raw = WIRE_ENCODER.encode(body)
    assert b'"balanceValue":1646.58' in raw
    expected = msgspec.structs.replace(payload("subaccounts.json"), server_time="T2")
    assert msgspec.json.decode(raw, type=SubaccountsReply) == expected


# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------


def test_sendorder_params_wire_order_and_names() -> None:
    params = SendOrderParams(
        order_type=OrderType.STP,
        symbol="PF_XBTUSD",
        side=Side.SELL,
        qty=D("0.5"),
        limit_price=D(60000),
        stop_price=D(60500),
        trigger_signal=TriggerSignal.MARK,
        reduce_only=True,
        cli_ord_id="sl-1",
    )
    assert list(msgspec.to_builtins(params)) == [
        "orderType",
        "symbol",
        "side",
        "size",
        "limitPrice",
        "stopPrice",
        "triggerSignal",
        "reduceOnly",
        "cliOrdId",
    ]


def test_order_id_spelling_differs_between_edit_and_cancel() -> None:
    assert msgspec.to_builtins(EditOrderParams(order_id="x", qty_mode=QtyMode.ABSOLUTE)) == {
        "orderId": "x",
        "qtyMode": "ABSOLUTE",
    }
    assert msgspec.to_builtins(CancelOrderParams(order_id="x")) == {"order_id": "x"}


def test_batch_instructions_encode_as_kraken_json() -> None:
    instructions: list[BatchSend | BatchEdit | BatchCancel] = [
        BatchSend(
            order_tag="1",
            order_type=OrderType.LMT,
            symbol="PF_XBTUSD",
            side=Side.BUY,
            qty=D("0.1"),
            limit_price=D("61000.5"),
            cli_ord_id="grid-1",
        ),
        BatchEdit(order_id="e35d", qty=D(2)),
        BatchCancel(cli_ord_id="grid-0"),
    ]
    raw = WIRE_ENCODER.encode({"batchOrder": instructions})
    assert raw == (
        b'{"batchOrder":[{"order":"send","order_tag":"1","orderType":"lmt","symbol":"PF_XBTUSD",'
        b'"side":"buy","size":0.1,"limitPrice":61000.5,"cliOrdId":"grid-1"},'
        b'{"order":"edit","order_id":"e35d","size":2},{"order":"cancel","cliOrdId":"grid-0"}]}'
    )
    assert msgspec.json.decode(raw, type=BatchOrderPayload).batch_order == instructions
    names = [f.encode_name for f in msgspec.structs.fields(BatchOrderParams)]
    assert names == ["json", "ProcessBefore"]


# Kraken's wire names, in encoding order (checked against the API spec by hand).
WIRE_NAMES = {
    "AccountLogCsvParams": "conversion_details",
    "AccountLogParams": "since before from to sort info count conversion_details",
    "BatchCancel": "order_id cliOrdId",
    "BatchEdit": "order_id cliOrdId size limitPrice stopPrice trailingStopMaxDeviation trailingStopDeviationUnit qtyMode",
    "BatchOrderParams": "json ProcessBefore",
    "BatchSend": "order_tag orderType symbol side size limitPrice stopPrice cliOrdId triggerSignal reduceOnly trailingStopMaxDeviation trailingStopDeviationUnit",
    "CancelAllAfterParams": "timeout",
    "CancelAllParams": "symbol",
    "CancelOrderParams": "order_id cliOrdId processBefore",
    "CandlesParams": "tick_type symbol resolution from to count",
    "ChartResolutionsParams": "tick_type symbol",
    "ChartSymbolsParams": "tick_type",
    "ContractTypesParams": "contractType",
    "EditOrderParams": "orderId cliOrdId size limitPrice stopPrice trailingStopMaxDeviation trailingStopDeviationUnit qtyMode processBefore",
    "FillsParams": "lastFillTime",
    "FundingRatesParams": "symbol",
    "HistoryOrdersParams": "since before sort continuation_token count tradeable opened closed",
    "HistoryParams": "since before sort continuation_token count tradeable",
    "HistoryPositionsParams": "since before sort continuation_token count tradeable opened closed increased decreased reversed no_change trades funding_realization settlement",
    "MarketHistoryParams": "symbol since before sort continuation_token count",
    "OrderBookParams": "symbol",
    "OrderStatusParams": "orderIds cliOrdIds",
    "SendOrderParams": "orderType symbol side size limitPrice stopPrice triggerSignal reduceOnly cliOrdId trailingStopMaxDeviation trailingStopDeviationUnit limitPriceOffsetValue limitPriceOffsetUnit processBefore broker",
    "SetLeverageParams": "symbol maxLeverage",
    "SetPnlPreferenceParams": "symbol pnlPreference",
    "SetSelfTradeStrategyParams": "strategy",
    "SetSubaccountTradingParams": "subaccount_uid tradingEnabled",
    "SubaccountParams": "subaccount_uid",
    "SubaccountTransferParams": "fromUser toUser fromAccount toAccount unit amount",
    "SymbolPathParams": "symbol",
    "TradeHistoryParams": "symbol lastTime",
    "TransferParams": "fromAccount toAccount unit amount",
    "WithdrawalParams": "currency amount sourceWallet",
}


def _all_param_types() -> dict[str, type[msgspec.Struct]]:
    types = {ep.params for ep in ENDPOINTS if ep.params} | {BatchSend, BatchEdit, BatchCancel}
    return {cls.__name__: cls for cls in types}


def test_params_wire_names_are_pinned() -> None:
    types = _all_param_types()
    assert set(types) == set(WIRE_NAMES)
    for name, cls in types.items():
        assert " ".join(f.encode_name for f in msgspec.structs.fields(cls)) == WIRE_NAMES[name]


def _strategy(t: mi.Type) -> st.SearchStrategy[Any]:
    if isinstance(t, mi.UnionType):
        return st.one_of([_strategy(x) for x in t.types])
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.StrType):
        return st.text(min_size=1, max_size=12)
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        return st.integers(min_value=0, max_value=2**40)
    if isinstance(t, mi.DecimalType):
        return st.decimals(min_value=-(10**9), max_value=10**9, places=8)
    if isinstance(t, mi.EnumType):
        return st.sampled_from(list(t.cls))
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(list(t.values))
    if isinstance(t, mi.ListType):
        return st.lists(_strategy(t.item_type), max_size=3)
    if isinstance(t, mi.StructType):
        return st.builds(t.cls, **{f.name: _strategy(f.type) for f in t.fields})
    raise AssertionError(f"no strategy for {t}")


def _assert_wire_names(value: Any, t: mi.Type) -> None:
    """Every key of the encoded struct is a wire name of that struct (recursively)."""
    if isinstance(t, mi.UnionType):
        structs = [x for x in t.types if isinstance(x, mi.StructType)]
        t = next(
            (x for x in structs if isinstance(value, dict) and value.get(x.tag_field) == x.tag),
            t.types[0],
        )
    if isinstance(t, mi.ListType):
        for item in value:
            _assert_wire_names(item, t.item_type)
    elif isinstance(t, mi.StructType):
        wire = {f.encode_name: f for f in t.fields}
        allowed = set(wire) | ({t.tag_field} if t.tag_field else set())
        assert set(value) <= allowed, f"{t.cls.__name__}: {set(value) - allowed}"
        for key, item in value.items():
            if key in wire:
                _assert_wire_names(item, wire[key].type)


PARAM_TYPES = sorted({ep.params for ep in ENDPOINTS if ep.params}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", PARAM_TYPES, ids=lambda c: c.__name__)
def test_params_encode_to_wire_names_only(cls: type[msgspec.Struct]) -> None:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)

    @settings(max_examples=40, deadline=None)
    @given(_strategy(info))
    def check(params: msgspec.Struct) -> None:
        built = msgspec.to_builtins(params)
        _assert_wire_names(built, info)
        assert None not in built.values()  # omit_defaults: absent params stay off the wire
        assert msgspec.convert(built, cls) == params

    check()


def test_every_endpoint_result_type_is_decodable() -> None:
    ep: Endpoint
    for ep in ENDPOINTS:
        msgspec.json.Decoder(ep.result)  # raises TypeError on an unsupported type
