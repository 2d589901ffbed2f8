"""The endpoint table: names, permissions, costs, envelopes and the path router."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.rest.build import build_request, fill_path
from krakenfutures.core.rest.endpoint import Permission, Pool
from krakenfutures.core.rest.endpoints import (
    BY_NAME,
    ENDPOINTS,
    account_log_cost,
    batch_instruction_count,
    batch_order_cost,
    fills_cost,
    lookup,
)
from krakenfutures.core.rest.schema_orders import (
    BatchCancel,
    BatchOrderParams,
    BatchOrderPayload,
    BatchSend,
    FillsParams,
)
from krakenfutures.core.types import OrderType, Side

REQUIRED_NAMES = [
    "get_instruments",
    "get_instrument_status",
    "get_instrument_status_for",
    "get_tickers",
    "get_ticker",
    "get_orderbook",
    "get_trade_history",
    "get_fee_schedules",
    "get_fee_schedule_volumes",
    "get_historical_funding_rates",
    "get_historical_funding_rates_v4",
    "get_accounts",
    "get_open_positions",
    "get_open_orders",
    "get_fills",
    "get_order_status",
    "send_order",
    "edit_order",
    "cancel_order",
    "cancel_all_orders",
    "cancel_all_orders_after",
    "batch_order",
    "get_leverage_preferences",
    "set_leverage_preferences",
    "get_pnl_preferences",
    "set_pnl_preferences",
    "transfer",
    "transfer_subaccount",
    "withdrawal",
    "get_notifications",
    "get_unwind_queue",
    "get_self_trade_strategy",
    "set_self_trade_strategy",
    "get_subaccounts",
    "get_subaccount_trading_enabled",
    "set_subaccount_trading_enabled",
    "history_executions",
    "history_orders",
    "history_triggers",
    "history_positions",
    "history_account_log",
    "history_market_executions",
    "history_market_orders",
    "history_market_price",
    "history_executions_v2",
    "history_orders_v2",
    "history_triggers_v2",
    "charts_tick_types",
    "charts_symbols",
    "charts_resolutions",
    "charts_candles",
]

# Reference §5 (Kraken's rate-limit page).
KNOWN_COSTS = {
    "send_order": 10,
    "edit_order": 10,
    "cancel_order": 10,
    "get_accounts": 2,
    "get_open_positions": 2,
    "get_open_orders": 2,
    "get_order_status": 1,
    "cancel_all_orders": 25,
    "cancel_all_orders_after": 25,
    "withdrawal": 100,
    "get_unwind_queue": 200,
    "get_leverage_preferences": 2,
    "set_leverage_preferences": 10,
    "get_pnl_preferences": 2,
    "set_pnl_preferences": 10,
    "transfer": 10,
    "transfer_subaccount": 10,
    "get_subaccount_trading_enabled": 2,
    "set_subaccount_trading_enabled": 2,
    "get_self_trade_strategy": 2,
    "set_self_trade_strategy": 2,
    "history_executions": 1,
    "history_orders": 1,
    "history_triggers": 1,
    "history_executions_v2": 1,
    "history_orders_v2": 1,
    "history_triggers_v2": 1,
    "history_account_log_csv": 6,
}

KEYS = {
    "send_order": "sendStatus",
    "edit_order": "editStatus",
    "cancel_order": "cancelStatus",
    "cancel_all_orders": "cancelStatus",
    "cancel_all_orders_after": "status",
    "batch_order": "batchStatus",
    "get_accounts": "accounts",
    "get_open_positions": "openPositions",
    "get_open_orders": "openOrders",
    "get_fills": "fills",
    "get_order_status": "orders",
    "get_tickers": "tickers",
    "get_ticker": "ticker",
    "get_instruments": "instruments",
    "get_instrument_status": "instrumentStatus",
    "get_orderbook": "orderBook",
    "get_trade_history": "history",
    "get_historical_funding_rates": "rates",
    "get_notifications": "notifications",
    "get_pnl_preferences": "preferences",
    "get_leverage_preferences": "leveragePreferences",
    "set_leverage_preferences": None,
    "transfer": None,
    "history_orders": None,
    "charts_candles": None,
}

SAMPLE = {
    "symbol": "PF_XBTUSD",
    "tick_type": "trade",
    "resolution": "1h",
    "subaccount_uid": "7f5c528e-2285-45f0-95f5-83d53d4bfcd2",
}


def test_names_and_routes_are_unique_and_complete() -> None:
    names = [ep.name for ep in ENDPOINTS]
    assert len(names) == len(set(names)) == len(BY_NAME)
    routes = [(ep.method, ep.path) for ep in ENDPOINTS]
    assert len(routes) == len(set(routes))
    assert set(REQUIRED_NAMES) <= set(names)


def test_path_families() -> None:
    for ep in ENDPOINTS:
        assert ep.method in ("GET", "POST", "PUT")
        assert ep.path.startswith(
            (
                "/derivatives/api/v3/",
                "/derivatives/api/v4/",
                "/api/history/v3/",
                "/api/history/v2/",
                "/api/charts/v1/",
            )
        ), ep.path
        if ep.path.startswith("/derivatives/"):
            assert ep.envelope
        else:
            assert not ep.envelope and ep.key is None, ep.name


def test_permissions() -> None:
    for ep in ENDPOINTS:
        private_v3 = ep.path.startswith("/derivatives/api/v3/") and ep.auth
        if private_v3 and ep.method in ("POST", "PUT"):
            expected = Permission.WITHDRAWAL if ep.name == "withdrawal" else Permission.FULL
            assert ep.permission is expected, ep.name
        if private_v3 and ep.method == "GET":
            assert ep.permission is Permission.READ, ep.name
        if ep.permission is Permission.PUBLIC:
            assert ep.pool is Pool.NONE and ep.cost_of({}) == 0, ep.name
            assert ep.method == "GET"
    assert BY_NAME["get_order_status"].permission is Permission.FULL
    for name in ("get_tickers", "get_instruments", "charts_candles", "history_market_price"):
        assert not BY_NAME[name].auth


def test_pools() -> None:
    for ep in ENDPOINTS:
        if ep.path.startswith("/api/history/") and ep.auth:
            assert ep.pool is Pool.HISTORY, ep.name
        elif ep.auth:
            assert ep.pool is Pool.DERIVATIVES, ep.name


@pytest.mark.parametrize(("name", "cost"), sorted(KNOWN_COSTS.items()))
def test_known_costs(name: str, cost: int) -> None:
    assert BY_NAME[name].cost_of({}) == cost


@pytest.mark.parametrize(("name", "key"), sorted(KEYS.items()))
def test_keys(name: str, key: str | None) -> None:
    assert BY_NAME[name].key == key


def test_fills_cost() -> None:
    ep = BY_NAME["get_fills"]
    assert ep.cost_of({}) == 2 and fills_cost({"lastFillTime": None}) == 2
    assert ep.cost_of({"lastFillTime": "2026-03-01T00:00:00.000Z"}) == 25
    request = build_request(
        ep, FillsParams(last_fill_time="2026-03-01T00:00:00.000Z"), api_key="k", key=b"s"
    )
    assert request.cost == 25


@pytest.mark.parametrize(
    ("count", "cost"),
    [
        (None, 3),
        ("", 3),
        (1, 1),
        (25, 1),
        (26, 2),
        (50, 2),
        (51, 3),
        (500, 3),
        (1000, 3),
        (1001, 6),
        (5000, 6),
        (5001, 10),
        (100000, 10),
        ("30", 2),
        ("junk", 3),
        ("NaN", 3),
        ("1e999", 10),
    ],
)
def test_account_log_cost(count: Any, cost: int) -> None:
    assert account_log_cost({} if count is None else {"count": count}) == cost
    assert BY_NAME["history_account_log"].cost_of({"count": count}) == cost


def _send(i: int) -> BatchSend:
    return BatchSend(
        order_tag=str(i),
        order_type=OrderType.LMT,
        symbol="PF_XBTUSD",
        side=Side.BUY,
        qty=Decimal("0.1"),
        limit_price=Decimal(60000 + i),
    )


@given(st.integers(min_value=0, max_value=30))
def test_batch_cost_counts_instructions_in_every_form(n: int) -> None:
    instructions = [_send(i) for i in range(n)]
    text = msgspec.json.encode({"batchOrder": instructions})
    for form in (
        instructions,
        tuple(instructions),
        text,
        text.decode(),
        {"batchOrder": instructions},
        BatchOrderPayload(batch_order=instructions),
    ):
        assert batch_order_cost({"json": form}) == 9 + n


def test_batch_cost_edges_and_build_integration() -> None:
    assert batch_order_cost({}) == 9 and batch_order_cost({"json": "{not json"}) == 9
    assert batch_instruction_count('{"batchOrder": "oops"}') == 0
    params = BatchOrderParams(
        instructions=[_send(i) for i in range(9)] + [BatchCancel(order_id="x")]
    )
    request = build_request(BY_NAME["batch_order"], params, api_key="k", key=b"s")
    assert request.cost == 19
    assert request.body.startswith(b"json=%7B%22batchOrder%22%3A%5B%7B%22order%22%3A%22send%22")


def test_path_params_are_fields_with_unrenamed_names() -> None:
    for ep in ENDPOINTS:
        fields = {f.name: f for f in msgspec.structs.fields(ep.params)} if ep.params else {}
        for name in ep.path_params:
            assert name in fields, (ep.name, name)
            assert fields[name].encode_name == name, (ep.name, name)
        assert ep.wire_to_field == {f.encode_name: f.name for f in fields.values()}


def _concrete(ep: Any) -> tuple[str, dict[str, str]]:
    values = {name: SAMPLE[name] for name in ep.path_params}
    if ep.params is None:
        return ep.path, {}
    fields = msgspec.structs.fields(ep.params)
    kwargs = {f.name: SAMPLE.get(f.name, "x") for f in fields if f.required}
    kwargs.update(values)
    return fill_path(ep, ep.params(**kwargs)), values


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda ep: ep.name)
def test_lookup_routes_every_endpoint(ep: Any) -> None:
    path, values = _concrete(ep)
    assert lookup(ep.method, path) == (ep, values)
    assert lookup(ep.method.lower(), path + "?a=1&b=2") == (ep, values)


def test_lookup_rejects_unknown_and_wrong_method() -> None:
    assert lookup("GET", "/derivatives/api/v3/nope") is None
    assert lookup("GET", "/derivatives/api/v3/tickers/") is None
    assert lookup("GET", "/derivatives/api/v3/tickers/a/b") is None
    assert lookup("GET", "/derivatives/api/v3/sendorder") is None
    assert lookup("DELETE", "/derivatives/api/v3/tickers/PF_XBTUSD") is None
    assert lookup("GET", "/api/v3/tickers") is None
    assert lookup("GET", "") is None


def test_lookup_prefers_literals_and_decodes_placeholders() -> None:
    found = lookup("GET", "/derivatives/api/v3/instruments/status")
    assert found is not None and found[0].name == "get_instrument_status"
    found = lookup("GET", "/derivatives/api/v3/instruments/PF_XBTUSD/status")
    assert found == (BY_NAME["get_instrument_status_for"], {"symbol": "PF_XBTUSD"})
    found = lookup("GET", "/derivatives/api/v3/tickers/PF%5FXBTUSD")
    assert found == (BY_NAME["get_ticker"], {"symbol": "PF_XBTUSD"})
    assert lookup("GET", "/api/charts/v1/")[0].name == "charts_tick_types"  # type: ignore[index]
    found = lookup("PUT", "/derivatives/api/v3/subaccount/abc/trading-enabled")
    assert found == (BY_NAME["set_subaccount_trading_enabled"], {"subaccount_uid": "abc"})
