"""History API handlers (``/api/history/v2|v3``): executions, orders, triggers, positions and
the public market history (the account log is in :mod:`~krakenfutures.sim.rest_accountlog`).
Bare JSON, epoch-ms timestamps.

Shapes follow Kraken's (reference §3.5): order payloads with ``direction: "Buy"``,
``orderType: "Limit"``, quantities as strings; pages with ``accountUid``, ``len``,
``continuationToken``. Simplifications:

* An execution's ``uid`` is our fill id (the account log's ``execution`` field carries the
  engine's execution id); only the account's own order appears in ``makerOrder``/``takerOrder``
  (the other side is ``null``), with the fee in ``makerOrderData``/``takerOrderData``.
* Position updates are derived from the account log (position legs and funding rows).
* Public order events are the accounts' own order events with ``accountUid``/``clientId``
  removed; public mark-price changes are one ``MarkPriceChanged`` per minute with a new mark.
* Paging: ``count`` (default 1000, at most 10000), ``since`` inclusive,
  ``before`` exclusive, ``sort`` default ``desc``; ``continuationToken`` is an opaque offset.
  A malformed token is HTTP 400 ``invalidArgument``; an unknown market symbol HTTP 404.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.schema_history import (
    HistoryElement,
    HistoryPage,
)
from krakenfutures.core.types import ContractKind, TriggerSignal
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, Refusal, iso_ms
from krakenfutures.sim.rest_accountlog import account_log_handlers, position_updates
from krakenfutures.sim.rest_wire import account_of, account_uid, page_count

DEFAULT_COUNT = 1000
MAX_COUNT = 10_000
_ORDER_TYPES = {
    "lmt": "Limit",
    "post": "Post",
    "ioc": "IoC",
    "fok": "FoK",
    "mkt": "Market",
    "stp": "Stop",
    "take_profit": "TakeProfit",
    "liquidation": "Liquidation",
}
_SIGNALS = {
    TriggerSignal.MARK: "MARK_PRICE",
    TriggerSignal.LAST: "LAST_PRICE",
    TriggerSignal.INDEX: "SPOT_PRICE",
}
_OPENED = {"OrderPlaced", "OrderTriggerPlaced"}
_CLOSED = {
    "OrderCancelled",
    "OrderRejected",
    "OrderTriggerCancelled",
    "OrderTriggerActivated",
    "OrderTriggerActivationFailed",
}
_MARK_NS = uuid.UUID("0b7d6a4e-1c2f-4e8a-9d3b-5a6c7e8f9012")


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _reason(reason: str | None, default: str) -> str:
    if reason is None:
        return default
    return d.WS_REASONS.get(reason, reason.lower())


def history_order(view: d.OrderView, owner: str | None) -> dict[str, Any]:
    """An order inside a history event; ``owner`` None anonymises it (public market history)."""
    out: dict[str, Any] = {"uid": view.order_id}
    if owner is not None:
        out["accountUid"] = owner
    out.update(
        tradeable=view.symbol,
        direction="Buy" if view.side.value == "buy" else "Sell",
        quantity=str(view.qty),
        filled=str(view.filled),
        timestamp=view.ts_ms,
        limitPrice=_s(view.limit_price),
        orderType=_ORDER_TYPES.get(view.type, view.type),
        reduceOnly=view.reduce_only,
        lastUpdateTimestamp=view.last_update_ts_ms,
    )
    if owner is not None:
        out["clientId"] = view.cli_ord_id or ""
    if view.is_trigger and view.stop_price is not None and view.trigger_signal is not None:
        out["triggerOptions"] = {
            "triggerPrice": str(view.stop_price),
            "triggerSide": (view.trigger_side or "").upper(),
            "triggerSignal": _SIGNALS[view.trigger_signal],
        }
    return out


def _event_payload(exchange: Exchange, e: d.HistoryEvent, owner: str | None) -> dict[str, Any]:
    order = history_order(e.order, owner)
    if e.kind == "Execution":
        assert e.fill is not None
        f = e.fill
        spec = exchange.instrument(f.symbol)
        usd = f.qty if spec.kind is ContractKind.INVERSE else f.qty * f.price
        maker = f.fill_type == "maker"
        execution: dict[str, Any] = {
            "uid": f.fill_id,
            "makerOrder": order if maker else None,
            "takerOrder": None if maker else order,
            "timestamp": f.ts_ms,
            "quantity": str(f.qty),
            "price": str(f.price),
            "markPrice": _s(e.mark_price),
            "limitFilled": f.remaining_qty == 0,
            "usdValue": str(usd),
        }
        if owner is not None:
            data = {"fee": str(f.fee), "feeCurrency": f.fee_currency}
            execution["makerOrderData" if maker else "takerOrderData"] = data
        return {"execution": execution, "takerReducedQuantity": ""}
    if e.kind in ("OrderUpdated", "OrderTriggerUpdated"):
        old = history_order(e.old_order, owner) if e.old_order is not None else order
        return {
            "oldOrder": old,
            "newOrder": order,
            "reason": _reason(e.reason, "edited_by_user"),
            "reducedQuantity": "",
        }
    default = "new_user_order" if e.kind in _OPENED else "cancelled_by_user"
    payload: dict[str, Any] = {"order": order, "reason": _reason(e.reason, default)}
    if e.kind == "OrderPlaced":
        payload["reducedQuantity"] = ""
    return payload


def _element(
    exchange: Exchange, e: d.HistoryEvent, owner: str | None
) -> tuple[int, HistoryElement]:
    body = {e.kind: _event_payload(exchange, e, owner)}
    return e.ts_ms, HistoryElement(uid=e.uid, timestamp=e.ts_ms, event=body)


def _token_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = int(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
    except (ValueError, UnicodeError, binascii.Error):
        raise Refusal("invalidArgument", http_status=400) from None
    if offset < 0:
        raise Refusal("invalidArgument", http_status=400)
    return offset


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode("ascii")).decode("ascii")


def page(
    rows: Iterable[tuple[int, HistoryElement]], p: Any, owner: str | None, server_ms: int
) -> HistoryPage:
    """Filter by ``since``/``before``, sort, and cut one page (``p`` is a history params struct)."""
    picked = [
        (ts, el)
        for ts, el in rows
        if (p.since is None or ts >= p.since) and (p.before is None or ts < p.before)
    ]
    picked.sort(key=lambda item: item[0], reverse=(p.sort or "desc") == "desc")
    offset = _token_offset(p.continuation_token)
    count = page_count(p.count, DEFAULT_COUNT, MAX_COUNT)
    chunk = [el for _, el in picked[offset : offset + count]]
    more = offset + count < len(picked)
    return HistoryPage(
        account_uid=owner,
        length=len(chunk),
        server_time=iso_ms(server_ms),
        elements=chunk,
        continuation_token=_token(offset + count) if more else None,
    )


def history_handlers(exchange: Exchange) -> dict[str, Callable[[Call], Any]]:
    """Handlers of the history API, private and public."""

    def stream(kind: str) -> Callable[[Call], HistoryPage]:
        def handler(call: Call) -> HistoryPage:
            account = account_of(call, exchange)
            owner = account_uid(account)
            p = call.params
            symbol = p.symbol.strip().upper() if p.symbol else None
            opened = getattr(p, "opened", None)
            closed = getattr(p, "closed", None)
            rows = []
            for e in exchange.history(account, kind):
                if symbol is not None and e.order.symbol != symbol:
                    continue
                if (opened or closed) and not (
                    (opened and e.kind in _OPENED) or (closed and e.kind in _CLOSED)
                ):
                    continue
                rows.append(_element(exchange, e, owner))
            return page(rows, p, owner, call.now_ms)

        return handler

    def positions(call: Call) -> HistoryPage:
        account = account_of(call, exchange)
        p = call.params
        symbol = p.symbol.strip().upper() if p.symbol else None
        changes = {
            k
            for k in ("opened", "closed", "increased", "decreased", "reversed", "no_change")
            if getattr(p, k)
        }
        reasons = {
            r
            for k, r in (
                ("trades", "trade"),
                ("funding_realization", "funding_realization"),
                ("settlement", "settlement"),
            )
            if getattr(p, k)
        }
        rows = [
            (ts, el)
            for ts, el, change, reason in position_updates(exchange, account)
            if (symbol is None or el.event["PositionUpdate"]["tradeable"] == symbol)
            and (not changes or change in changes)
            and (not reasons or reason in reasons)
        ]
        return page(rows, p, account_uid(account), call.now_ms)

    def market_symbol(call: Call) -> str:
        symbol: str = call.params.symbol
        if not exchange.has_symbol(symbol):
            raise Refusal("notFound", http_status=404)
        return symbol.strip().upper()

    def market_executions(call: Call) -> HistoryPage:
        symbol = market_symbol(call)
        rows = []
        for t in exchange.recent_trades(symbol, limit=MAX_COUNT):
            taker = {"tradeable": symbol, "direction": "Buy" if t.side.value == "buy" else "Sell"}
            maker = {"tradeable": symbol, "direction": "Sell" if t.side.value == "buy" else "Buy"}
            usd = (
                t.qty
                if exchange.instrument(symbol).kind is ContractKind.INVERSE
                else t.qty * t.price
            )
            execution = {
                "uid": t.uid,
                "makerOrder": maker,
                "takerOrder": taker,
                "timestamp": t.ts_ms,
                "quantity": str(t.qty),
                "price": str(t.price),
                "limitFilled": False,
                "usdValue": str(usd),
            }
            event = {"Execution": {"execution": execution, "takerReducedQuantity": ""}}
            rows.append((t.ts_ms, HistoryElement(uid=t.uid, timestamp=t.ts_ms, event=event)))
        return page(rows, call.params, None, call.now_ms)

    def market_orders(call: Call) -> HistoryPage:
        symbol = market_symbol(call)
        rows = [
            _element(exchange, e, None)
            for name in exchange.account_names()
            for e in exchange.history(name, "orders")
            if e.order.symbol == symbol
        ]
        return page(rows, call.params, None, call.now_ms)

    def market_price(call: Call) -> HistoryPage:
        symbol = market_symbol(call)
        marks = exchange.state.markets[symbol].candles.get("mark", {})
        rows = []
        for minute, bucket in sorted(marks.items()):
            ts = minute * 60_000
            uid = str(uuid.uuid5(_MARK_NS, f"{symbol}:{minute}"))
            event = {"MarkPriceChanged": {"price": str(bucket[3])}}
            rows.append((ts, HistoryElement(uid=uid, timestamp=ts, event=event)))
        return page(rows, call.params, None, call.now_ms)

    return {
        "history_executions": stream("executions"),
        "history_orders": stream("orders"),
        "history_triggers": stream("triggers"),
        "history_executions_v2": stream("executions"),
        "history_orders_v2": stream("orders"),
        "history_triggers_v2": stream("triggers"),
        "history_positions": positions,
        **account_log_handlers(exchange),
        "history_market_executions": market_executions,
        "history_market_orders": market_orders,
        "history_market_price": market_price,
    }


__all__ = [
    "history_handlers",
    "history_order",
    "page",
]
