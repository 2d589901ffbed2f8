"""uws schema: golden frames from the reference decode into the structs, requests encode to the
documented shapes, unknown fields are tolerated, and the open facts live in one place."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.types import Side
from krakenfutures.core.uws.assumptions import (
    DEFAULT_ASSUMPTIONS,
    QtyUnit,
    SymbolFormat,
    UwsAssumptions,
)
from krakenfutures.core.uws.classify import MalformedMessage, UnknownMessage, classify
from krakenfutures.core.uws.schema import (
    Request,
    Response,
    SubscriptionParams,
    decode_request,
    encode,
    parse_time_ms,
)
from krakenfutures.core.uws.schema_channels import (
    BalancesMessage,
    BookMessage,
    ExecutionsMessage,
    HeartbeatMessage,
    InstrumentMessage,
    LedgersMessage,
    MarginMessage,
    PositionsMessage,
    StatusMessage,
    TickerMessage,
    TradeMessage,
)
from krakenfutures.core.uws.schema_orders import (
    AddOrderParams,
    AddOrderResult,
    AmendOrderParams,
    AmendOrderResult,
    BatchAddParams,
    BatchAddRow,
    BatchCancelParams,
    BatchOrder,
    CancelAfterResult,
    CancelAllParams,
    CountResult,
    Triggers,
    parse_params,
    parse_result,
)
from krakenfutures.errors import ValidationError

from .golden import (
    AMEND_REQUEST_CL_ORD_ID,
    AMEND_REQUEST_ORDER_ID,
    AMEND_RESPONSE,
    BATCH_CANCEL_IDS,
    CANCEL_ALL_REQUEST,
    CANCEL_ALL_RESPONSE,
    HEARTBEAT_FRAME,
    PING_REQUEST,
    STATUS_FRAME,
    vector_snapshot,
)

D = Decimal


# ------------------------------------------------------------------------ responses


def test_cancel_all_response_golden() -> None:
    msg = classify(CANCEL_ALL_RESPONSE)
    assert isinstance(msg, Response)
    assert msg.ok and msg.req_id == 1234567890 and msg.method == "cancel_all"
    assert parse_result("cancel_all", msg.result) == CountResult(count=1)
    assert parse_time_ms(msg.time_in) == 1695733788463
    assert parse_time_ms(msg.time_out) == 1695733788471


def test_amend_response_golden_has_empty_amend_id() -> None:
    msg = classify(AMEND_RESPONSE)
    assert isinstance(msg, Response) and msg.req_id is None
    result = parse_result("amend_order", msg.result)
    assert result == AmendOrderResult(amend_id="", cl_ord_id="2c6be801-1f53-4f79-a0bb-4ea1c95dfae9")


def test_error_response_and_pong() -> None:
    err = classify(
        b'{"method":"add_order","error":"EOrder:Insufficient funds","success":false,"req_id":3}'
    )
    assert isinstance(err, Response) and not err.ok and err.error == "EOrder:Insufficient funds"
    pong = classify(
        b'{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}'
    )
    assert isinstance(pong, Response) and pong.ok and pong.success is None


def test_results_are_typed_and_tolerant() -> None:
    assert parse_result("add_order", {"order_id": "u-1", "cl_ord_id": "c", "extra": 1}) == (
        AddOrderResult(order_id="u-1", cl_ord_id="c")
    )
    assert parse_result("batch_add", [{"order_id": "a"}, {"error": "EOrder:x"}]) == [
        BatchAddRow(order_id="a"),
        BatchAddRow(error="EOrder:x"),
    ]
    camel = {"currentTime": "2023-09-21T15:49:29Z", "triggerTime": "2023-09-21T15:51:09Z"}
    snake = {"current_time": "2023-09-21T15:49:29Z", "trigger_time": "2023-09-21T15:51:09Z"}
    assert (
        parse_result("cancel_all_orders_after", camel)
        == parse_result("cancel_all_orders_after", snake)
        == CancelAfterResult(current_time=camel["currentTime"], trigger_time=camel["triggerTime"])
    )
    assert parse_result("batch_cancel", {"count": 3}) == CountResult(count=3)
    assert parse_result("add_order", "odd") == "odd"  # unknown shape: left as sent
    assert parse_result("ping", None) is None


# ------------------------------------------------------------------------- requests


def test_documented_amend_requests_round_trip() -> None:
    for text in (AMEND_REQUEST_CL_ORD_ID, AMEND_REQUEST_ORDER_ID):
        req = decode_request(text)
        params = parse_params(req.method, req.params)
        assert isinstance(params, AmendOrderParams)
        assert json.loads(encode(Request(method=req.method, params=params))) == json.loads(text)
    params = parse_params("amend_order", decode_request(AMEND_REQUEST_CL_ORD_ID).params)
    assert params.limit_price == D("490795") and params.order_qty == D("1.2")


def test_documented_cancel_all_request() -> None:
    req = decode_request(CANCEL_ALL_REQUEST)
    assert parse_params("cancel_all", req.params) == CancelAllParams(
        asset_class="derivatives", token="TOKEN"
    )
    assert (
        encode(
            Request(
                method="cancel_all",
                params=CancelAllParams(asset_class="derivatives", token="TOKEN"),
                req_id=7,
            )
        )
        == CANCEL_ALL_REQUEST.encode()
    )


def test_ping_request_shape() -> None:
    assert encode(Request(method="ping", req_id=101)) == PING_REQUEST.encode()


def test_add_order_sends_numbers_and_omits_unset_fields() -> None:
    params = AddOrderParams(
        asset_class="derivatives",
        symbol="PF_XBTUSD",
        order_type="stop-loss-limit",
        side=Side.SELL,
        order_qty=D("0.0100"),
        limit_price=D("61000.5"),
        triggers=Triggers(price=D("61010"), reference="index"),
        cl_ord_id="my-1",
        reduce_only=True,
    )
    body = encode(params)
    assert b'"order_qty":0.0100' in body and b'"limit_price":61000.5' in body
    assert json.loads(body) == {
        "order_type": "stop-loss-limit",
        "side": "sell",
        "order_qty": 0.01,
        "limit_price": 61000.5,
        "triggers": {"price": 61010, "reference": "index"},
        "reduce_only": True,
        "cl_ord_id": "my-1",
        "asset_class": "derivatives",
        "symbol": "PF_XBTUSD",
    }
    assert parse_params("add_order", json.loads(body, parse_float=D)) == params


def test_batch_requests() -> None:
    batch = BatchAddParams(
        asset_class="derivatives",
        symbol="PF_XBTUSD",
        orders=[
            BatchOrder(order_type="limit", side=Side.BUY, order_qty=D(1), limit_price=D(100)),
            BatchOrder(order_type="limit", side=Side.BUY, order_qty=D(1), limit_price=D(99)),
        ],
    )
    assert json.loads(encode(batch))["orders"][1] == {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 1,
        "limit_price": 99,
    }
    cancel = BatchCancelParams(asset_class="derivatives", orders=BATCH_CANCEL_IDS)
    assert json.loads(encode(cancel)) == {"asset_class": "derivatives", "orders": BATCH_CANCEL_IDS}


def test_params_refuse_a_wrong_shape() -> None:
    with pytest.raises(msgspec.ValidationError):
        parse_params("add_order", {"order_type": "limit"})
    assert parse_params("ping", None) is None


# ------------------------------------------------------------------------- channels


def test_status_golden_with_big_connection_id() -> None:
    msg = classify(STATUS_FRAME)
    assert isinstance(msg, StatusMessage)
    [status] = msg.data
    assert status.system == "online" and status.connection_id == 13834774380200032777
    assert status.upcoming_maintenance is None


def test_heartbeat_and_book_frames() -> None:
    assert classify(HEARTBEAT_FRAME) == HeartbeatMessage()
    book = classify(vector_snapshot())
    assert isinstance(book, BookMessage) and book.is_snapshot
    # the fast path and the general path agree (the field order differs here)
    reordered = json.dumps({"type": "snapshot", "channel": "book", "data": []}).encode()
    assert classify(reordered) == BookMessage(type="snapshot")


def test_spot_v2_shaped_channel_frames() -> None:
    ticker = classify(
        b'{"channel":"ticker","type":"snapshot","data":[{"symbol":"PF_XBTUSD","bid":61000.5,'
        b'"bid_qty":1.2,"ask":61001.0,"ask_qty":0.5,"last":61000.5,"volume":1234.5,'
        b'"vwap":60000,"low":59000,"high":62000,"change":100,"change_pct":0.16,"new_field":1}]}'
    )
    assert isinstance(ticker, TickerMessage) and ticker.data[0].ask == D("61001.0")
    trade = classify(
        b'{"channel":"trade","type":"update","data":[{"symbol":"PF_XBTUSD","side":"sell",'
        b'"price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,'
        b'"timestamp":"2023-09-25T07:49:37.708706Z"}]}'
    )
    assert isinstance(trade, TradeMessage) and trade.data[0].side is Side.SELL
    assert trade.data[0].qty == D("40.0") and trade.data[0].trade_id == 4665906
    instrument = classify(
        b'{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"USD"}],'
        b'"pairs":[{"symbol":"PF_XBTUSD","price_increment":0.5,"qty_increment":0.0001,'
        b'"qty_min":0.0001,"price_precision":1}]}}'
    )
    assert isinstance(instrument, InstrumentMessage)
    assert instrument.pairs[0].price_increment == D("0.5")
    executions = classify(
        b'{"channel":"executions","type":"update","sequence":7,"data":[{"exec_type":"trade",'
        b'"order_id":"u","symbol":"PF_XBTUSD","side":"buy","last_qty":0.5,"last_price":100.5,'
        b'"liquidity_ind":"m","fees":[{"asset":"USD","qty":0.01}],"exec_id":"e-1",'
        b'"timestamp":"2024-01-01T00:00:00Z"}]}'
    )
    assert isinstance(executions, ExecutionsMessage) and executions.sequence == 7
    assert executions.data[0].fees is not None and executions.data[0].fees[0].qty == D("0.01")
    balances = classify(
        b'{"channel":"balances","type":"snapshot","sequence":1,"data":[{"asset":"USD",'
        b'"asset_class":"currency","balance":1000.25,"wallets":[{"type":"spot","id":"main",'
        b'"balance":1000.25}]}]}'
    )
    assert isinstance(balances, BalancesMessage) and balances.data[0].balance == D("1000.25")
    positions = classify(
        b'{"channel":"positions","type":"snapshot","data":{"futures":[{"symbol":"PF_XBTUSD",'
        b'"size":-0.25,"entry_price":60000.5}],"options":[]}}'
    )
    assert isinstance(positions, PositionsMessage)
    assert positions.sections[0].futures[0].size == D("-0.25")
    ledgers = classify(
        b'{"channel":"ledgers","type":"update","sequence":3,"data":[{"asset":"USD","amount":-1.5}]}'
    )
    assert isinstance(ledgers, LedgersMessage) and ledgers.sequence == 3
    margin = classify(b'{"channel":"margin","type":"multi_collateral","data":{"x":1}}')
    assert isinstance(margin, MarginMessage) and margin.type == "multi_collateral"


def test_unknown_and_malformed_frames_never_raise() -> None:
    assert isinstance(classify(b'{"channel":"ohlc","data":[]}'), UnknownMessage)
    assert isinstance(classify(b"[1,2]"), UnknownMessage)
    assert isinstance(classify(b'{"x":1}'), UnknownMessage)
    assert isinstance(classify(b"not json"), MalformedMessage)
    assert isinstance(classify(b'{"channel":"trade","data":[{"symbol":1}]}'), MalformedMessage)
    assert isinstance(
        classify(b'{"channel":"book","type":"update","data":[{"bids":1}]}'), MalformedMessage
    )
    assert isinstance(classify("\ud800"), MalformedMessage)


@settings(deadline=None)
@given(st.binary(max_size=64))
def test_classify_never_raises(raw: bytes) -> None:
    classify(raw)


# --------------------------------------------------------------------------- times


def test_parse_time_ms() -> None:
    assert parse_time_ms("2023-09-26T13:09:48.463201Z") == 1695733788463
    assert parse_time_ms("2023-09-26T13:09:48.463201123Z") == 1695733788463  # nanoseconds
    assert parse_time_ms("2023-09-26T13:09:48Z") == 1695733788000
    assert parse_time_ms("2023-09-26T15:09:48.5+02:00") == 1695733788500
    assert parse_time_ms("2023-09-26T13:09:48") is None  # no zone: not RFC 3339
    assert parse_time_ms("") is None and parse_time_ms(None) is None
    assert parse_time_ms("garbage") is None


# --------------------------------------------------------------------- assumptions


def test_defaults_are_the_documented_readings() -> None:
    a = DEFAULT_ASSUMPTIONS
    assert a.symbol_format is SymbolFormat.NATIVE and a.qty_unit is QtyUnit.CONTRACTS
    assert (a.tif_gtc, a.tif_ioc, a.tif_fok) == ("gtc", "ioc", "fok")
    assert "ledgers" in a.sequenced_channels
    assert a.to_wire_symbol("pf_xbtusd") == "PF_XBTUSD" == a.from_wire_symbol("pf_xbtusd")


def test_pair_symbol_spelling() -> None:
    a = UwsAssumptions(symbol_format=SymbolFormat.PAIR, pair_symbols={"PI_XBTUSD": "XBT/USD:INV"})
    assert a.to_wire_symbol("PF_XBTUSD") == "BTC/USD"
    assert a.to_wire_symbol("PF_ETHUSD") == "ETH/USD"
    assert a.from_wire_symbol("BTC/USD") == "PF_XBTUSD"
    assert a.to_wire_symbol("PI_XBTUSD") == "XBT/USD:INV"
    assert a.from_wire_symbol("xbt/usd:inv") == "PI_XBTUSD"
    assert a.from_wire_symbol("PF_SOLUSD") == "PF_SOLUSD"  # a native spelling passes
    with pytest.raises(ValidationError, match="pair_symbols"):
        a.to_wire_symbol("FI_XBTUSD_260327")


def test_subscription_params_shape() -> None:
    params = SubscriptionParams(
        channel="book", symbol=["PF_XBTUSD"], depth=25, asset_class="derivatives"
    )
    assert json.loads(encode(params)) == {
        "channel": "book",
        "symbol": ["PF_XBTUSD"],
        "asset_class": "derivatives",
        "depth": 25,
    }
