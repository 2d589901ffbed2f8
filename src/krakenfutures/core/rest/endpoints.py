"""The one declarative table of Kraken Futures' legacy REST surface (v3, v4 funding, history, charts).

Client methods, simulator routes, rate-limit costs, CLI help and docs all read :data:`ENDPOINTS`;
nothing else lists endpoints. Costs and pools follow Kraken's rate-limit page (reference §5).
Where Kraken publishes no cost for a private ``/derivatives`` endpoint (notifications, fee
schedule volumes, subaccounts) we charge 2 like the other account reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.rest.endpoint import Endpoint, Permission, Pool, TypeRef

__all__ = [
    "BY_NAME",
    "ENDPOINTS",
    "account_log_cost",
    "batch_instruction_count",
    "batch_order_cost",
    "fills_cost",
    "lookup",
]

V3 = "/derivatives/api/v3"
HISTORY_V3 = "/api/history/v3"
HISTORY_V2 = "/api/history/v2"
CHARTS = "/api/charts/v1"

_PUBLIC, _READ, _FULL = Permission.PUBLIC, Permission.READ, Permission.FULL
_DERIV, _HIST, _FREE = Pool.DERIVATIVES, Pool.HISTORY, Pool.NONE
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FEES_DEPRECATED = "deprecated by Kraken 2026-06-22: values no longer reflect fees charged"

_SCHEMA = "krakenfutures.core.rest.schema_"


# Params and result types are named, not imported: each schema module loads when an endpoint
# that uses it is first called (see TypeRef). One short helper per schema module keeps the
# table one row per endpoint.
def _a(expr: str) -> TypeRef:
    return TypeRef(_SCHEMA + "account", expr)


def _c(expr: str) -> TypeRef:
    return TypeRef(_SCHEMA + "common", expr)


def _h(expr: str) -> TypeRef:
    return TypeRef(_SCHEMA + "history", expr)


def _m(expr: str) -> TypeRef:
    return TypeRef(_SCHEMA + "market", expr)


def _o(expr: str) -> TypeRef:
    return TypeRef(_SCHEMA + "orders", expr)


# ---------------------------------------------------------------------------------------------
# Cost functions: they receive the wire-named params (values may be python objects or strings)
# ---------------------------------------------------------------------------------------------


def fills_cost(wire_params: Mapping[str, Any]) -> int:
    """``/fills`` costs 2, or 25 when paging back with ``lastFillTime``."""
    return 25 if wire_params.get("lastFillTime") not in (None, "") else 2


def batch_instruction_count(value: Any) -> int:
    """Number of instructions in ``batchorder``'s ``json`` param, whatever form it is in.

    Accepts the python list of instruction structs, a :class:`BatchOrderPayload`, a mapping or
    the raw JSON text (``{"batchOrder": [...]}``); undecodable text counts as 0.
    """
    from krakenfutures.core.rest.schema_orders import BatchOrderPayload

    if value is None:
        return 0
    if isinstance(value, BatchOrderPayload):
        return len(value.batch_order)
    if isinstance(value, (str, bytes, bytearray)):
        try:
            value = msgspec.json.decode(value)
        except msgspec.DecodeError:
            return 0
    if isinstance(value, Mapping):
        value = value.get("batchOrder")
    return len(value) if isinstance(value, (list, tuple)) else 0


def batch_order_cost(wire_params: Mapping[str, Any]) -> int:
    """``/batchorder`` costs 9 plus one per instruction (10 instructions = 19)."""
    return 9 + batch_instruction_count(wire_params.get("json"))


def account_log_cost(wire_params: Mapping[str, Any]) -> int:
    """History-pool cost of ``/account-log`` by ``count`` (default 500)."""
    raw = wire_params.get("count")
    try:
        count = 500 if raw in (None, "") else int(Decimal(str(raw)))
    except (ArithmeticError, ValueError):  # junk, NaN, infinity: Kraken's default
        count = 500
    for upper, cost in ((25, 1), (50, 2), (1000, 3), (5000, 6)):
        if count <= upper:
            return cost
    return 10


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def _ep(
    name: str,
    method: str,
    path: str,
    permission: Permission,
    pool: Pool,
    cost: Any,
    params: TypeRef | None,
    result: Any,
    key: str | None = None,
    *,
    envelope: bool = True,
    deprecated: str = "",
    doc: str = "",
) -> Endpoint:
    return Endpoint(
        name=name,
        method=method,
        path=path,
        permission=permission,
        pool=pool,
        cost=cost,
        params=params,
        result=result,
        key=key,
        envelope=envelope,
        path_params=tuple(_PLACEHOLDER.findall(path)),
        deprecated=deprecated,
        doc=doc,
    )


def _history(name: str, path: str, params: TypeRef, doc: str) -> Endpoint:
    return _ep(
        name, "GET", path, _READ, _HIST, 1, params, _h("HistoryPage"), envelope=False, doc=doc
    )


def _market_history(name: str, kind: str, doc: str) -> Endpoint:
    path = f"{HISTORY_V3}/market/{{symbol}}/{kind}"
    return _ep(
        name,
        "GET",
        path,
        _PUBLIC,
        _FREE,
        0,
        _h("MarketHistoryParams"),
        _h("HistoryPage"),
        envelope=False,
        doc=doc,
    )


# fmt: off
# The table is kept one row per endpoint (as close to one line as fits) so it reads as a table.
_MARKET = (
    _ep("get_instruments", "GET", f"{V3}/instruments", _PUBLIC, _FREE, 0,
        _m("ContractTypesParams"), _m("list[Instrument]"), "instruments",
        doc="Specifications of all contracts and indices."),
    _ep("get_instrument_status", "GET", f"{V3}/instruments/status", _PUBLIC, _FREE, 0,
        _m("ContractTypesParams"), _m("list[InstrumentStatus]"), "instrumentStatus",
        doc="Price-dislocation and volatility flags of all markets."),
    _ep("get_instrument_status_for", "GET", f"{V3}/instruments/{{symbol}}/status", _PUBLIC, _FREE,
        0, _m("SymbolPathParams"), _m("InstrumentStatusReply"),
        doc="Dislocation/volatility flags of one market."),
    _ep("get_tickers", "GET", f"{V3}/tickers", _PUBLIC, _FREE, 0, _m("ContractTypesParams"),
        _m("list[Ticker]"), "tickers", doc="Tickers of all markets, plus index rows (in_/rr_)."),
    _ep("get_ticker", "GET", f"{V3}/tickers/{{symbol}}", _PUBLIC, _FREE, 0,
        _m("SymbolPathParams"), _m("Ticker"), "ticker", doc="Ticker of one market or index."),
    _ep("get_orderbook", "GET", f"{V3}/orderbook", _PUBLIC, _FREE, 0, _m("OrderBookParams"),
        _m("OrderBook"), "orderBook", doc="Whole order book of one market."),
    _ep("get_trade_history", "GET", f"{V3}/history", _PUBLIC, _FREE, 0, _m("TradeHistoryParams"),
        _m("list[PublicTrade]"), "history", doc="Last 100 public trades (before lastTime)."),
    _ep("get_fee_schedules", "GET", f"{V3}/feeschedules", _PUBLIC, _FREE, 0, None,
        _m("list[FeeSchedule]"), "feeSchedules", deprecated=_FEES_DEPRECATED,
        doc="Fee schedules."),
    _ep("get_historical_funding_rates", "GET", f"{V3}/historical-funding-rates", _PUBLIC, _FREE, 0,
        _m("FundingRatesParams"), _m("list[FundingRate]"), "rates",
        doc="Funding rate history of one perpetual, oldest first."),
    _ep("get_historical_funding_rates_v4", "GET", "/derivatives/api/v4/historicalfundingrates",
        _PUBLIC, _FREE, 0, _m("FundingRatesParams"), _m("list[FundingRate]"), "rates",
        doc="Funding rate history of one perpetual (v4 path)."),
)

_SUBACCOUNT_TRADING = f"{V3}/subaccount/{{subaccount_uid}}/trading-enabled"

_ACCOUNT = (
    _ep("get_fee_schedule_volumes", "GET", f"{V3}/feeschedules/volumes", _READ, _DERIV, 2, None,
        dict[str, Decimal], "volumesByFeeSchedule", deprecated=_FEES_DEPRECATED,
        doc="Your 30-day USD volume per fee schedule."),
    _ep("get_accounts", "GET", f"{V3}/accounts", _READ, _DERIV, 2, None,
        _a("dict[str, AnyAccount]"), "accounts",
        doc="All wallets: cash, flex and single-collateral margin accounts."),
    _ep("get_open_positions", "GET", f"{V3}/openpositions", _READ, _DERIV, 2, None,
        _a("list[OpenPosition]"), "openPositions", doc="Open positions."),
    _ep("get_leverage_preferences", "GET", f"{V3}/leveragepreferences", _READ, _DERIV, 2, None,
        _a("list[LeveragePreference]"), "leveragePreferences",
        doc="Isolated-margin leverage settings."),
    _ep("set_leverage_preferences", "PUT", f"{V3}/leveragepreferences", _FULL, _DERIV, 10,
        _a("SetLeverageParams"), _c("Ack"),
        doc="Set a symbol isolated (with max leverage) or cross."),
    _ep("get_pnl_preferences", "GET", f"{V3}/pnlpreferences", _READ, _DERIV, 2, None,
        _a("list[PnlPreference]"), "preferences", doc="PnL currency per symbol."),
    _ep("set_pnl_preferences", "PUT", f"{V3}/pnlpreferences", _FULL, _DERIV, 10,
        _a("SetPnlPreferenceParams"), _c("Ack"), doc="Set the PnL currency of a symbol."),
    _ep("transfer", "POST", f"{V3}/transfer", _FULL, _DERIV, 10, _a("TransferParams"), _c("Ack"),
        doc="Move funds between your wallets."),
    _ep("transfer_subaccount", "POST", f"{V3}/transfer/subaccount", _FULL, _DERIV, 10,
        _a("SubaccountTransferParams"), _c("Ack"), doc="Move funds to or from a subaccount."),
    _ep("withdrawal", "POST", f"{V3}/withdrawal", Permission.WITHDRAWAL, _DERIV, 100,
        _a("WithdrawalParams"), str, "uid",
        doc="Withdraw to the Kraken Spot wallet; returns its uid."),
    _ep("get_notifications", "GET", f"{V3}/notifications", _READ, _DERIV, 2, None,
        _a("list[Notification]"), "notifications", doc="Platform notifications (maintenance...)."),
    _ep("get_unwind_queue", "GET", f"{V3}/unwindqueue", _READ, _DERIV, 200, None,
        _a("list[UnwindQueueEntry]"), "queue",
        doc="Your positions' percentile in the unwind queue."),
    _ep("get_self_trade_strategy", "GET", f"{V3}/self-trade-strategy", _READ, _DERIV, 2, None,
        _a("SelfTradeStrategy"), "strategy", doc="Account-wide self-trade prevention policy."),
    _ep("set_self_trade_strategy", "PUT", f"{V3}/self-trade-strategy", _FULL, _DERIV, 2,
        _a("SetSelfTradeStrategyParams"), _a("SelfTradeStrategy"), "strategy",
        doc="Set the self-trade prevention policy."),
    _ep("get_subaccounts", "GET", f"{V3}/subaccounts", _READ, _DERIV, 2, None,
        _a("SubaccountsReply"), doc="Subaccounts and their wallets."),
    _ep("get_subaccount_trading_enabled", "GET", _SUBACCOUNT_TRADING, _READ, _DERIV, 2,
        _a("SubaccountParams"), bool, "tradingEnabled", doc="Whether a subaccount may trade."),
    _ep("set_subaccount_trading_enabled", "PUT", _SUBACCOUNT_TRADING, _FULL, _DERIV, 2,
        _a("SetSubaccountTradingParams"), bool, "tradingEnabled",
        doc="Enable or disable trading on a subaccount."),
)

_ORDERS = (
    _ep("get_open_orders", "GET", f"{V3}/openorders", _READ, _DERIV, 2, None,
        _o("list[OpenOrder]"), "openOrders", doc="Open orders (untouched or partially filled)."),
    _ep("get_fills", "GET", f"{V3}/fills", _READ, _DERIV, fills_cost, _o("FillsParams"),
        _o("list[Fill]"), "fills", doc="Last 100 fills (before lastFillTime)."),
    _ep("get_order_status", "POST", f"{V3}/orders/status", _FULL, _DERIV, 1,
        _o("OrderStatusParams"), _o("list[OrderStatusDetails]"), "orders",
        doc="Status of orders open or closed in the last 5 s."),
    _ep("send_order", "POST", f"{V3}/sendorder", _FULL, _DERIV, 10, _o("SendOrderParams"),
        _o("SendStatus"), "sendStatus",
        doc="Place an order; refusals come back as a status, not an error."),
    _ep("edit_order", "POST", f"{V3}/editorder", _FULL, _DERIV, 10, _o("EditOrderParams"),
        _o("EditStatus"), "editStatus", doc="Change size or prices of an open order."),
    _ep("cancel_order", "POST", f"{V3}/cancelorder", _FULL, _DERIV, 10, _o("CancelOrderParams"),
        _o("CancelStatus"), "cancelStatus", doc="Cancel one order."),
    _ep("cancel_all_orders", "POST", f"{V3}/cancelallorders", _FULL, _DERIV, 25,
        _o("CancelAllParams"), _o("CancelAllStatus"), "cancelStatus",
        doc="Cancel all orders, or those of one symbol."),
    _ep("cancel_all_orders_after", "POST", f"{V3}/cancelallordersafter", _FULL, _DERIV, 25,
        _o("CancelAllAfterParams"), _o("DeadManSwitchStatus"), "status",
        doc="Dead man's switch: cancel everything after timeout seconds (0 disarms)."),
    _ep("batch_order", "POST", f"{V3}/batchorder", _FULL, _DERIV, batch_order_cost,
        _o("BatchOrderParams"), _o("list[BatchStatus]"), "batchStatus",
        doc="Send, edit and cancel orders in one call."),
)

_HISTORY = (
    _history("history_executions", f"{HISTORY_V3}/executions", _h("HistoryParams"),
             "Your executions."),
    _history("history_orders", f"{HISTORY_V3}/orders", _h("HistoryOrdersParams"),
             "Your order events."),
    _history("history_triggers", f"{HISTORY_V3}/triggers", _h("HistoryOrdersParams"),
             "Your trigger-order events."),
    _history("history_positions", f"{HISTORY_V3}/positions", _h("HistoryPositionsParams"),
             "Your position updates."),
    _history("history_executions_v2", f"{HISTORY_V2}/executions", _h("HistoryParams"),
             "Your executions (v2 path)."),
    _history("history_orders_v2", f"{HISTORY_V2}/orders", _h("HistoryOrdersParams"),
             "Your order events (v2 path)."),
    _history("history_triggers_v2", f"{HISTORY_V2}/triggers", _h("HistoryOrdersParams"),
             "Your trigger-order events (v2 path)."),
    _ep("history_account_log", "GET", f"{HISTORY_V3}/account-log", _READ, _HIST, account_log_cost,
        _h("AccountLogParams"), _h("AccountLog"), envelope=False,
        doc="Every balance and position change."),
    _ep("history_account_log_csv", "GET", f"{HISTORY_V3}/accountlogcsv", _READ, _HIST, 6,
        _h("AccountLogCsvParams"), str, envelope=False,
        doc="Recent account log as CSV text (the body is not JSON)."),
    _market_history("history_market_executions", "executions", "Public trades of one market."),
    _market_history("history_market_orders", "orders", "Public order events of one market."),
    _market_history("history_market_price", "price", "Mark price changes of one market."),
)

_CHARTS = (
    _ep("charts_tick_types", "GET", f"{CHARTS}/", _PUBLIC, _FREE, 0, None, list[str],
        envelope=False, doc="Chart tick types: mark, spot, trade."),
    _ep("charts_symbols", "GET", f"{CHARTS}/{{tick_type}}", _PUBLIC, _FREE, 0,
        _m("ChartSymbolsParams"), list[str], envelope=False,
        doc="Symbols with charts of a tick type."),
    _ep("charts_resolutions", "GET", f"{CHARTS}/{{tick_type}}/{{symbol}}", _PUBLIC, _FREE, 0,
        _m("ChartResolutionsParams"), list[str], envelope=False,
        doc="Candle resolutions of a symbol."),
    _ep("charts_candles", "GET", f"{CHARTS}/{{tick_type}}/{{symbol}}/{{resolution}}", _PUBLIC,
        _FREE, 0, _m("CandlesParams"), _m("Candles"), envelope=False,
        doc="OHLCV candles (from/to in seconds)."),
)

# fmt: on

ENDPOINTS: tuple[Endpoint, ...] = _MARKET + _ACCOUNT + _ORDERS + _HISTORY + _CHARTS
"""Every endpoint, once."""

BY_NAME: dict[str, Endpoint] = {ep.name: ep for ep in ENDPOINTS}
"""Endpoints by python method name (``BY_NAME["send_order"]``)."""


# ---------------------------------------------------------------------------------------------
# Routing a concrete wire path back to its endpoint (the simulator's router)
# ---------------------------------------------------------------------------------------------

_Segment = tuple[bool, str]  # (is_placeholder, literal text or placeholder name)

_EXACT: dict[tuple[str, str], Endpoint] = {
    (ep.method, ep.path): ep for ep in ENDPOINTS if not ep.path_params
}


def _segments(path: str) -> tuple[_Segment, ...]:
    out: list[_Segment] = []
    for part in path.split("/"):
        match = _PLACEHOLDER.fullmatch(part)
        out.append((True, match.group(1)) if match else (False, part))
    return tuple(out)


# Templates with more literal segments first, so a literal route always beats a placeholder.
_TEMPLATES: list[tuple[str, tuple[_Segment, ...], Endpoint]] = sorted(
    ((ep.method, _segments(ep.path), ep) for ep in ENDPOINTS if ep.path_params),
    key=lambda item: -sum(not is_ph for is_ph, _ in item[1]),
)


def lookup(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """Match a concrete request to its endpoint, with the path placeholders it filled.

    ``path`` is the wire path (``/derivatives/api/v3/tickers/PF_XBTUSD``; a ``?query`` is
    ignored). Placeholder values are percent-decoded and keyed by params field name
    (``{"symbol": "PF_XBTUSD"}``). Returns ``None`` for an unknown path or a known path with
    another method.
    """
    from urllib.parse import unquote  # urllib.parse costs ~4 ms to import; only the sim routes

    method = method.upper()
    path = path.split("?", 1)[0]
    ep = _EXACT.get((method, path))
    if ep is not None:
        return ep, {}
    parts = path.split("/")
    for ep_method, segments, ep in _TEMPLATES:
        if ep_method != method or len(segments) != len(parts):
            continue
        values: dict[str, str] = {}
        for (is_ph, text), part in zip(segments, parts, strict=True):
            if is_ph:
                if not part:
                    break
                values[text] = unquote(part)
            elif text != part:
                break
        else:
            return ep, values
    return None
