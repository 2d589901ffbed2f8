"""Order handlers: open orders, fills, orders/status, send/edit/cancel/cancel-all/deadman/batch.

Order outcomes are statuses inside ``result: success`` with ``orderEvents`` converted from the
engine's domain events (:mod:`krakenfutures.sim.rest_wire`). Screens applied before the engine:

* Unknown symbol (sendorder, batch send, cancelallorders): ``invalidArgument`` for the whole
  request - Kraken's order-status enum has no value for it. A batch with one unknown symbol
  therefore changes nothing.
* A limit-type order without ``limitPrice`` or a trigger order without ``stopPrice``:
  ``requiredArgumentMissing``; edit/cancel naming no order: ``requiredArgumentMissing``.
* Numbers that are not finite or absurdly large/small (``size=1e400``, ``NaN``) are the order's
  ``invalidSize``/``invalidPrice`` status; nothing reaches the engine.
* ``trailing_stop`` is not simulated: status ``invalidOrderType``.
* ``processBefore`` in the past: status ``wouldProcessAfterSpecifiedTime``.
* ``limitPriceOffsetValue``/``Unit`` and ``broker`` are accepted and ignored.
* ``/fills`` returns the newest 100 fills (before ``lastFillTime``), newest first, no fee.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.schema_common import OrderIdRef
from krakenfutures.core.rest.schema_orders import (
    BatchCancel,
    BatchEdit,
    BatchSend,
    BatchStatus,
    CachedOrder,
    CancelAllStatus,
    CancelStatus,
    DeadManSwitchStatus,
    EditStatus,
    Fill,
    OpenOrder,
    OrderStatusDetails,
    SendStatus,
    TriggerOptions,
)
from krakenfutures.core.types import OrderType, QtyMode, TriggerSignal
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, Refusal, iso_ms
from krakenfutures.sim.rest_wire import account_of, order_events, parse_iso_ms, sane

_LIMIT_TYPES = {OrderType.LMT, OrderType.POST, OrderType.IOC, OrderType.FOK}
_TRIGGER_TYPES = {OrderType.STP, OrderType.TAKE_PROFIT}
_OPEN_TYPE = {"stp": "stop", "take_profit": "take_profit"}
_OPEN_SIGNAL = {TriggerSignal.MARK: "mark", TriggerSignal.LAST: "last", TriggerSignal.INDEX: "spot"}
_STATUS_SIGNAL = {
    TriggerSignal.MARK: "MARK_PRICE",
    TriggerSignal.LAST: "LAST_PRICE",
    TriggerSignal.INDEX: "SPOT_PRICE",
}
MAX_FILLS = 100


def screen_send(
    exchange: Exchange,
    symbol: str,
    order_type: OrderType,
    qty: Decimal,
    limit_price: Decimal | None,
    stop_price: Decimal | None,
) -> str | None:
    """Checks a new order must pass before the engine sees it: returns a refusal status, or
    None to go ahead; raises :class:`Refusal` for request-level errors."""
    if not exchange.has_symbol(symbol):
        raise Refusal("invalidArgument")
    if order_type is OrderType.TRAILING_STOP:
        return "invalidOrderType"
    if order_type in _LIMIT_TYPES and limit_price is None:
        raise Refusal("requiredArgumentMissing")
    if order_type in _TRIGGER_TYPES and stop_price is None:
        raise Refusal("requiredArgumentMissing")
    if not sane(qty):
        return "invalidSize"
    if not sane(limit_price) or not sane(stop_price):
        return "invalidPrice"
    return None


def screen_edit(
    qty: Decimal | None, limit_price: Decimal | None, stop_price: Decimal | None
) -> str | None:
    """Number screens of an edit: a refusal status or None."""
    if not sane(qty):
        return "invalidSize"
    if not sane(limit_price) or not sane(stop_price):
        return "invalidPrice"
    return None


def _too_late(process_before: str | None, now_ms: int) -> bool:
    deadline = parse_iso_ms(process_before)
    return deadline is not None and now_ms > deadline


def open_order_row(view: d.OrderView) -> OpenOrder:
    """An ``openOrders`` row (post-only orders show as ``lmt``, triggers as ``stop``/``take_profit``)."""
    return OpenOrder(
        order_id=view.order_id,
        cli_ord_id=view.cli_ord_id,
        symbol=view.symbol,
        side=view.side,
        order_type=_OPEN_TYPE.get(view.type, "lmt"),
        limit_price=view.limit_price,
        stop_price=view.stop_price,
        unfilled_size=view.remaining,
        received_time=iso_ms(view.ts_ms),
        status=view.open_status,
        filled_size=view.filled,
        reduce_only=view.reduce_only,
        trigger_signal=_OPEN_SIGNAL.get(view.trigger_signal) if view.trigger_signal else None,
        last_update_time=iso_ms(view.last_update_ts_ms),
    )


def status_row(s: d.OrderStatus) -> OrderStatusDetails:
    """An ``orders/status`` row."""
    v = s.order
    options = None
    if v.stop_price is not None and v.trigger_signal is not None and v.trigger_side is not None:
        options = TriggerOptions(
            trigger_price=v.stop_price,
            trigger_side=v.trigger_side.upper(),
            trigger_signal=_STATUS_SIGNAL[v.trigger_signal],
        )
    return OrderStatusDetails(
        order=CachedOrder(
            type="TRIGGER_ORDER" if v.is_trigger else "ORDER",
            order_id=v.order_id,
            cli_ord_id=v.cli_ord_id,
            symbol=v.symbol,
            side=v.side.value,
            qty=v.qty,
            filled=v.filled,
            limit_price=v.limit_price,
            reduce_only=v.reduce_only,
            timestamp=iso_ms(v.ts_ms),
            last_update_timestamp=iso_ms(v.last_update_ts_ms),
            price_trigger_options=options,
            trigger_time=iso_ms(s.trigger_ts_ms) if s.trigger_ts_ms is not None else None,
        ),
        status=s.status,
        update_reason=s.update_reason,
        error=s.error,
    )


def fill_row(f: d.Fill) -> Fill:
    """A ``fills`` row: no fee, as on Kraken."""
    return Fill(
        fill_id=f.fill_id,
        symbol=f.symbol,
        side=f.side,
        order_id=f.order_id,
        cli_ord_id=f.cli_ord_id,
        qty=f.qty,
        price=f.price,
        fill_time=iso_ms(f.ts_ms),
        fill_type=f.fill_type,
    )


def order_handlers(exchange: Exchange) -> dict[str, Callable[[Call], Any]]:
    """Handlers of the order endpoints."""

    def get_open_orders(call: Call) -> list[OpenOrder]:
        return [open_order_row(v) for v in exchange.open_orders(account_of(call, exchange))]

    def get_fills(call: Call) -> list[Fill]:
        account = account_of(call, exchange)
        before = parse_iso_ms(call.params.last_fill_time if call.params else None)
        fills = exchange.fills(account, before_ts_ms=before, limit=MAX_FILLS)
        return [fill_row(f) for f in reversed(fills)]  # newest first

    def get_order_status(call: Call) -> list[OrderStatusDetails]:
        account = account_of(call, exchange)
        p = call.params
        rows = exchange.order_status(
            account,
            (p.order_ids or []) if p else [],
            (p.cli_ord_ids or []) if p else [],
            now_ms=call.now_ms,
        )
        return [status_row(s) for s in rows]

    def send_order(call: Call) -> SendStatus:
        account = account_of(call, exchange)
        p = call.params
        received = iso_ms(max(call.now_ms, exchange.now_ms))
        status = screen_send(exchange, p.symbol, p.order_type, p.qty, p.limit_price, p.stop_price)
        if status is None and _too_late(p.process_before, call.now_ms):
            status = "wouldProcessAfterSpecifiedTime"
        if status is not None:
            return SendStatus(status=status, received_time=received, cli_ord_id=p.cli_ord_id)
        r = exchange.send_order(
            account,
            symbol=p.symbol,
            side=p.side,
            order_type=p.order_type.value,
            qty=p.qty,
            limit_price=p.limit_price,
            stop_price=p.stop_price,
            trigger_signal=p.trigger_signal,
            reduce_only=bool(p.reduce_only),
            cli_ord_id=p.cli_ord_id,
            now_ms=call.now_ms,
        )
        return SendStatus(
            order_id=r.order_id,
            status=r.status,
            received_time=iso_ms(r.received_ts_ms),
            cli_ord_id=r.cli_ord_id,
            order_events=order_events(r.events),
        )

    def edit_order(call: Call) -> EditStatus:
        account = account_of(call, exchange)
        p = call.params
        if p.order_id is None and p.cli_ord_id is None:
            raise Refusal("requiredArgumentMissing")
        status = screen_edit(p.qty, p.limit_price, p.stop_price)
        if status is None and _too_late(p.process_before, call.now_ms):
            status = "wouldProcessAfterSpecifiedTime"
        if status is not None:
            return EditStatus(
                status=status,
                order_id=p.order_id,
                cli_ord_id=p.cli_ord_id,
                received_time=iso_ms(max(call.now_ms, exchange.now_ms)),
            )
        r = exchange.edit_order(
            account,
            order_id=p.order_id,
            cli_ord_id=p.cli_ord_id,
            qty=p.qty,
            limit_price=p.limit_price,
            stop_price=p.stop_price,
            qty_mode=p.qty_mode or QtyMode.RELATIVE,
            now_ms=call.now_ms,
        )
        return EditStatus(
            status=r.status,
            order_id=r.order_id,
            received_time=iso_ms(r.received_ts_ms),
            cli_ord_id=r.cli_ord_id,
            order_events=order_events(r.events),
        )

    def cancel_order(call: Call) -> CancelStatus:
        account = account_of(call, exchange)
        p = call.params
        if p.order_id is None and p.cli_ord_id is None:
            raise Refusal("requiredArgumentMissing")
        if _too_late(p.process_before, call.now_ms):
            return CancelStatus(
                status="wouldProcessAfterSpecifiedTime",
                order_id=p.order_id,
                cli_ord_id=p.cli_ord_id,
                received_time=iso_ms(max(call.now_ms, exchange.now_ms)),
            )
        r = exchange.cancel_order(
            account, order_id=p.order_id, cli_ord_id=p.cli_ord_id, now_ms=call.now_ms
        )
        return CancelStatus(
            status=r.status,
            order_id=r.order_id,
            received_time=iso_ms(r.received_ts_ms),
            cli_ord_id=r.cli_ord_id,
            order_events=order_events(r.events),
        )

    def cancel_all_orders(call: Call) -> CancelAllStatus:
        account = account_of(call, exchange)
        symbol = call.params.symbol if call.params is not None else None
        if symbol is not None and not exchange.has_symbol(symbol):
            raise Refusal("invalidArgument")
        r = exchange.cancel_all_orders(account, symbol, now_ms=call.now_ms)
        return CancelAllStatus(
            received_time=iso_ms(r.received_ts_ms),
            cancel_only=r.cancel_only,
            status=r.status,
            cancelled_orders=[
                OrderIdRef(order_id=v.order_id, cli_ord_id=v.cli_ord_id) for v in r.cancelled
            ],
            order_events=order_events(r.events),
        )

    def cancel_all_orders_after(call: Call) -> DeadManSwitchStatus:
        account = account_of(call, exchange)
        r = exchange.cancel_all_orders_after(account, call.params.timeout, now_ms=call.now_ms)
        return DeadManSwitchStatus(
            current_time=iso_ms(r.current_ms),
            trigger_time=iso_ms(r.trigger_ms) if r.trigger_ms else "0",
        )

    def batch_order(call: Call) -> list[BatchStatus]:
        account = account_of(call, exchange)
        p = call.params
        received = iso_ms(max(call.now_ms, exchange.now_ms))
        late = _too_late(p.process_before, call.now_ms)
        rows: list[BatchStatus | None] = []
        todo: list[d.BatchInstruction] = []
        for item in p.instructions:
            early = _screen_batch_item(exchange, item)
            if late:
                early = "wouldProcessAfterSpecifiedTime"
            if early is None:
                todo.append(_instruction(item))
                rows.append(None)
            else:
                rows.append(_early_row(item, early, received))
        results = iter(exchange.batch(account, todo, now_ms=call.now_ms) if todo else [])
        out: list[BatchStatus] = []
        for item, row in zip(p.instructions, rows, strict=True):
            if row is not None:
                out.append(row)
                continue
            res = next(results).result
            out.append(
                BatchStatus(
                    status=res.status,
                    order_tag=item.order_tag if isinstance(item, BatchSend) else None,
                    order_id=res.order_id,
                    cli_ord_id=res.cli_ord_id,
                    date_time_received=iso_ms(res.received_ts_ms),
                    order_events=order_events(res.events),
                )
            )
        return out

    return {
        "get_open_orders": get_open_orders,
        "get_fills": get_fills,
        "get_order_status": get_order_status,
        "send_order": send_order,
        "edit_order": edit_order,
        "cancel_order": cancel_order,
        "cancel_all_orders": cancel_all_orders,
        "cancel_all_orders_after": cancel_all_orders_after,
        "batch_order": batch_order,
    }


def _screen_batch_item(exchange: Exchange, item: BatchSend | BatchEdit | BatchCancel) -> str | None:
    if isinstance(item, BatchSend):
        return screen_send(
            exchange, item.symbol, item.order_type, item.qty, item.limit_price, item.stop_price
        )
    if item.order_id is None and item.cli_ord_id is None:
        raise Refusal("requiredArgumentMissing")
    if isinstance(item, BatchEdit):
        return screen_edit(item.qty, item.limit_price, item.stop_price)
    return None


def _instruction(item: BatchSend | BatchEdit | BatchCancel) -> d.BatchInstruction:
    if isinstance(item, BatchSend):
        return d.SendInstruction(
            order_tag=item.order_tag,
            symbol=item.symbol,
            side=item.side,
            order_type=item.order_type.value,
            qty=item.qty,
            limit_price=item.limit_price,
            stop_price=item.stop_price,
            trigger_signal=item.trigger_signal,
            reduce_only=bool(item.reduce_only),
            cli_ord_id=item.cli_ord_id,
        )
    if isinstance(item, BatchEdit):
        return d.EditInstruction(
            order_id=item.order_id,
            cli_ord_id=item.cli_ord_id,
            qty=item.qty,
            limit_price=item.limit_price,
            stop_price=item.stop_price,
            qty_mode=item.qty_mode or QtyMode.RELATIVE,
        )
    return d.CancelInstruction(order_id=item.order_id, cli_ord_id=item.cli_ord_id)


def _early_row(
    item: BatchSend | BatchEdit | BatchCancel, status: str, received: str
) -> BatchStatus:
    if isinstance(item, BatchSend):
        return BatchStatus(
            status=status,
            order_tag=item.order_tag,
            cli_ord_id=item.cli_ord_id,
            date_time_received=received,
        )
    return BatchStatus(
        status=status,
        order_id=item.order_id,
        cli_ord_id=item.cli_ord_id,
        date_time_received=received,
    )


__all__ = [
    "MAX_FILLS",
    "fill_row",
    "open_order_row",
    "order_handlers",
    "screen_edit",
    "screen_send",
    "status_row",
]
