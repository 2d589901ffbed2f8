"""uws order methods mapped onto the simulator's engine (the one legacy REST uses), sans-I/O.

``add_order``, ``amend_order``, ``cancel_order``, ``cancel_all``, ``cancel_all_orders_after``,
``batch_add`` and ``batch_cancel`` (reference §4.1-§4.8) take the request's ``params`` (JSON
numbers already Decimal) and return the ``result`` or raise :class:`UwsError` with the
``error`` text. The account comes from the token (:mod:`krakenfutures.sim.uws`).

Mapping and our readings of the gaps (reference §9):

* ``order_type`` ``limit`` -> ``lmt`` (``post_only`` -> ``post``; ``time_in_force`` ``ioc``
  -> ``ioc``, ``fok`` -> ``fok``; ``gtd`` is refused for derivatives), ``market`` -> ``mkt``,
  ``stop-loss[-limit]`` -> ``stp``, ``take-profit[-limit]`` -> ``take_profit`` with
  ``triggers.price`` as the stop price and ``triggers.reference`` ``last`` (default) or
  ``index``; only ``price_type: static``; trailing stops are not simulated. ``order_qty`` is
  the contract quantity (:class:`~krakenfutures.core.uws.assumptions.QtyUnit` ``contracts``).
* Parameter checks (unknown fields, what derivatives refuse, UUID ids, deadlines) live in
  :mod:`~krakenfutures.sim.uws_params`.
* An order the engine accepts, even one cancelled at once (post-only that would cross, IOC
  without a match, self-trade), succeeds with its ``order_id``; ``executions`` then reports its
  fate. Refusals before an order exists map engine statuses to ``E<Cat>:<Desc>`` texts
  (:data:`STATUS_ERRORS`).
* ``amend_order``: ``order_qty`` is the new total including what filled; ``limit_price``,
  ``trigger_price``; the result is ``{"amend_id": "", "order_id"|"cl_ord_id": <as given>}``
  (the documented derivatives example). ``post_only`` on an amend is accepted and ignored
  (the engine refuses a crossing edit of a post-only order anyway).
* ``cancel_order`` answers once per identifier (:meth:`UwsOrders.cancel_order` returns one
  outcome each); ``cancel_all`` and ``batch_cancel`` answer ``{"count": n}``;
  ``cancel_all_orders_after`` answers ``{"currentTime", "triggerTime"}`` (``"0"`` when off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from krakenfutures.core.types import QtyMode
from krakenfutures.errors import ValidationError
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.uws_params import (
    INVALID,
    OrderRequest,
    UwsError,
    check_asset_class,
    check_deadline,
    decimal_param,
    flag_param,
    ids_param,
    parse_order,
    text_param,
)
from krakenfutures.sim.uws_wire import iso_us

ORDER_METHODS = frozenset(
    {
        "add_order",
        "amend_order",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_add",
        "batch_cancel",
    }
)
"""Private methods that trade (they need a token with trading rights)."""
STATUS_ERRORS = {
    "clientOrderIdTooBig": f"{INVALID}:cl_ord_id is too long",
    "marketSuspended": "EService:Unavailable",
    "marketInactive": "EService:Unavailable",
    "marketIsPostOnly": "EService:Market in post_only mode",
    "invalidSize": f"{INVALID}:order_qty",
    "invalidPrice": "EOrder:Invalid price",
    "clientOrderIdAlreadyExist": "EOrder:Duplicate cl_ord_id",
    "tooManyOrders": "EOrder:Orders limit exceeded",
    "outsidePriceCollar": "EOrder:Invalid price:outside the price band",
    "wouldNotReducePosition": "EOrder:Reduce only:No position exists",
    "maxPositionViolation": "EOrder:Margin position size exceeded",
    "insufficientAvailableFunds": "EOrder:Insufficient margin",
    "orderForEditNotFound": "EOrder:Unknown order",
    "orderForEditNotAStop": f"{INVALID}:trigger_price on an order without triggers",
    "notFound": "EOrder:Unknown order",
    "filled": "EOrder:Unknown order",
    "postWouldExecute": "EOrder:Post only order",
    "selfFill": "EOrder:Self trade prevented",
    "iocWouldNotExecute": "EOrder:Immediate or cancel order not filled",
}
"""Engine statuses -> uws ``error`` texts (our choice; Kraken's derivatives texts are a gap)."""
_ACCEPTED = {"placed", "postWouldExecute", "iocWouldNotExecute", "selfFill"}
MAX_DMS_TIMEOUT_S = 86_400


class UwsOrders:
    """Run order methods against ``exchange``; ``symbol_in`` maps a wire symbol to a listed
    contract or raises :class:`UwsError`."""

    def __init__(self, exchange: Exchange, symbol_in: Callable[[Any], str]) -> None:
        self.exchange = exchange
        self._symbol_in = symbol_in

    def execute(self, method: str, account: str, params: Mapping[str, Any], now_ms: int) -> Any:
        """Dispatch one of :data:`ORDER_METHODS`."""
        handler: Callable[[str, Mapping[str, Any], int], Any] = getattr(self, method)
        return handler(account, params, now_ms)

    # -- add -----------------------------------------------------------------------------------

    def _check_grid(self, order: OrderRequest) -> None:
        spec = self.exchange.instrument(order.symbol)
        if spec.check_qty(order.qty) is None:
            raise UwsError(STATUS_ERRORS["invalidSize"])
        for price in (order.limit_price, order.stop_price):
            if price is not None and spec.check_price(price) is None:
                raise UwsError(STATUS_ERRORS["invalidPrice"])

    def _send(self, account: str, order: OrderRequest, now_ms: int) -> dict[str, Any]:
        try:
            r = self.exchange.send_order(
                account,
                symbol=order.symbol,
                side=order.side,
                order_type=order.kind,
                qty=order.qty,
                limit_price=order.limit_price,
                stop_price=order.stop_price,
                trigger_signal=order.signal,
                reduce_only=order.reduce_only,
                cli_ord_id=order.cli_ord_id,
                now_ms=now_ms,
            )
        except ValidationError:
            raise UwsError(INVALID) from None
        if r.status not in _ACCEPTED or r.order_id is None:
            raise UwsError(STATUS_ERRORS.get(r.status, f"EOrder:{r.status}"))
        return _ids_result(r.order_id, order.cli_ord_id)

    def add_order(self, account: str, params: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        """``add_order``: ``{"order_id", "cl_ord_id"?}`` (``order_id`` ``""`` when validating)."""
        check_asset_class(params)
        order = parse_order(params, self._symbol_in(params.get("symbol")))
        check_deadline(params, now_ms)
        if flag_param(params, "validate"):
            self._check_grid(order)
            return _ids_result("", order.cli_ord_id)
        return self._send(account, order, now_ms)

    def batch_add(
        self, account: str, params: Mapping[str, Any], now_ms: int
    ) -> list[dict[str, Any]]:
        """``batch_add``: 2-15 orders of one symbol, validated all-or-nothing, then each placed
        or refused on its own (a row is ``{"order_id", ...}`` or ``{"error", ...}``)."""
        check_asset_class(params)
        symbol = self._symbol_in(params.get("symbol"))
        rows = params.get("orders")
        if not isinstance(rows, list) or not 2 <= len(rows) <= 15:
            raise UwsError(f"{INVALID}:orders must list 2 to 15 orders")
        orders = []
        for row in rows:
            if not isinstance(row, dict):
                raise UwsError(f"{INVALID}:each order must be an object")
            if "symbol" in row and self._symbol_in(row["symbol"]) != symbol:
                raise UwsError(f"{INVALID}:batch_add orders share the batch's symbol")
            orders.append(parse_order({k: v for k, v in row.items() if k != "symbol"}, symbol))
        check_deadline(params, now_ms)
        if flag_param(params, "validate"):
            for order in orders:
                self._check_grid(order)
            return [_ids_result("", o.cli_ord_id) for o in orders]
        out = []
        for order in orders:
            try:
                out.append(self._send(account, order, now_ms))
            except UwsError as exc:
                out.append({"error": exc.code, **_ids_result(None, order.cli_ord_id)})
        return out

    # -- amend ---------------------------------------------------------------------------------

    def amend_order(self, account: str, params: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        """``amend_order``: in place; ``{"amend_id": "", <the identifier given>}``."""
        check_asset_class(params, required=False)
        order_id, cli = text_param(params, "order_id"), text_param(params, "cl_ord_id")
        if (order_id is None) == (cli is None):
            raise UwsError(f"{INVALID}:give one of order_id or cl_ord_id")
        if order_id is not None:
            ids_param({"order_id": [order_id]}, "order_id")
        qty = decimal_param(params, "order_qty")
        limit = decimal_param(params, "limit_price")
        trigger = decimal_param(params, "trigger_price")
        if params.get("trigger_price_type", "static") != "static":
            raise UwsError(f"{INVALID}:trigger_price_type must be static for derivatives")
        if qty is None and limit is None and trigger is None:
            raise UwsError(f"{INVALID}:nothing to amend (order_qty, limit_price, trigger_price)")
        check_deadline(params, now_ms)
        try:
            r = self.exchange.edit_order(
                account,
                order_id=order_id,
                cli_ord_id=cli if order_id is None else None,
                qty=qty,
                limit_price=limit,
                stop_price=trigger,
                qty_mode=QtyMode.ABSOLUTE,
                now_ms=now_ms,
            )
        except ValidationError:
            raise UwsError(INVALID) from None
        if r.status != "edited":
            raise UwsError(STATUS_ERRORS.get(r.status, f"EOrder:{r.status}"))
        out: dict[str, Any] = {"amend_id": ""}
        out.update({"order_id": order_id} if order_id is not None else {"cl_ord_id": cli})
        return out

    # -- cancels -------------------------------------------------------------------------------

    def cancel_order(
        self, account: str, params: Mapping[str, Any], now_ms: int
    ) -> list[tuple[dict[str, Any] | None, str | None]]:
        """``cancel_order``: one ``(result, None)`` or ``(None, error)`` per identifier."""
        check_asset_class(params)
        if "order_userref" in params:
            raise UwsError(f"{INVALID}:order_userref is not available for derivatives")
        ids, clis = ids_param(params, "order_id"), ids_param(params, "cl_ord_id")
        if bool(ids) == bool(clis):
            raise UwsError(f"{INVALID}:give order_id or cl_ord_id (a non-empty list), not both")
        out: list[tuple[dict[str, Any] | None, str | None]] = []
        for oid, cli in [(i, None) for i in ids] + [(None, c) for c in clis]:
            r = self.exchange.cancel_order(account, order_id=oid, cli_ord_id=cli, now_ms=now_ms)
            if r.status == "cancelled":
                out.append((_ids_result(r.order_id, r.cli_ord_id), None))
            else:
                out.append((None, STATUS_ERRORS.get(r.status, f"EOrder:{r.status}")))
        return out

    def cancel_all(self, account: str, params: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        """``cancel_all``: every open order of the account; ``{"count": n}``."""
        check_asset_class(params)
        r = self.exchange.cancel_all_orders(account, None, now_ms=now_ms)
        return {"count": len(r.cancelled)}

    def cancel_all_orders_after(
        self, account: str, params: Mapping[str, Any], now_ms: int
    ) -> dict[str, Any]:
        """The dead man's switch: ``timeout`` seconds (0 disarms), restarted by each call."""
        check_asset_class(params, required=False)
        timeout = params.get("timeout")
        if not isinstance(timeout, int) or isinstance(timeout, bool):
            raise UwsError(f"{INVALID}:params.timeout (integer seconds) is required")
        if not 0 <= timeout <= MAX_DMS_TIMEOUT_S:
            raise UwsError(f"{INVALID}:timeout must be 0 to {MAX_DMS_TIMEOUT_S} seconds")
        r = self.exchange.cancel_all_orders_after(account, timeout, now_ms=now_ms)
        trigger = iso_us(r.trigger_ms) if r.trigger_ms else "0"
        return {"currentTime": iso_us(r.current_ms), "triggerTime": trigger}

    def batch_cancel(self, account: str, params: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        """``batch_cancel``: 2-50 ``orders`` (UUIDs) and/or ``cl_ord_id``; ``{"count": n}``
        counts the orders actually cancelled."""
        check_asset_class(params)
        ids, clis = ids_param(params, "orders"), ids_param(params, "cl_ord_id")
        if not 2 <= len(ids) + len(clis) <= 50:
            raise UwsError(f"{INVALID}:batch_cancel takes 2 to 50 identifiers")
        count = 0
        for oid, cli in [(i, None) for i in ids] + [(None, c) for c in clis]:
            r = self.exchange.cancel_order(account, order_id=oid, cli_ord_id=cli, now_ms=now_ms)
            count += r.status == "cancelled"
        return {"count": count}


def _ids_result(order_id: str | None, cli_ord_id: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if order_id is not None:
        out["order_id"] = order_id
    if cli_ord_id is not None:
        out["cl_ord_id"] = cli_ord_id
    return out


__all__ = [
    "INVALID",
    "ORDER_METHODS",
    "STATUS_ERRORS",
    "UwsError",
    "UwsOrders",
    "check_asset_class",
]
