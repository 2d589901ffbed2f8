"""uws order methods: the params and results of ``add_order``, ``amend_order``,
``cancel_order``, ``cancel_all``, ``cancel_all_orders_after``, ``batch_add``, ``batch_cancel``
(reference §4.1-4.8), and the typed reading of any response's ``result``.

Conventions: :mod:`krakenfutures.core.uws.schema`. Build a request with a params struct here
(``None`` fields are not sent) and give it to
:meth:`~krakenfutures.core.uws.session.UwsSession.request`, which adds the token.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.types import Side
from krakenfutures.core.uws.schema import Params, Result, SubscribeResult, SubscriptionParams


class Triggers(Params, frozen=True, kw_only=True):
    """The trigger of a ``stop-loss*``/``take-profit*``/``trailing-stop*`` order (§4.1):
    ``reference`` ``index|last`` (default last), ``price_type`` ``static|pct|quote``."""

    price: Decimal
    reference: str | None = None
    price_type: str | None = None


class Conditional(Params, frozen=True, kw_only=True):
    """The OTO secondary close order of ``add_order`` (derivatives support unconfirmed)."""

    order_type: str
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None


class _OrderFields(Params, frozen=True, kw_only=True):
    """Per-order fields shared by ``add_order`` and the rows of ``batch_add`` (§4.1, §4.7)."""

    order_type: str
    side: Side
    order_qty: Decimal
    limit_price: Decimal | None = None
    limit_price_type: str | None = None
    triggers: Triggers | None = None
    time_in_force: str | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    effective_time: str | None = None
    expire_time: str | None = None
    display_qty: Decimal | None = None
    fee_preference: str | None = None
    margin: bool | None = None
    stp_type: str | None = None
    conditional: Conditional | None = None


class AddOrderParams(_OrderFields, frozen=True, kw_only=True):
    """``add_order`` params. ``order_type`` ∈ limit, market, stop-loss, stop-loss-limit,
    take-profit, take-profit-limit, trailing-stop, trailing-stop-limit; ``deadline`` RFC 3339,
    0.5-60 s ahead; ``validate`` checks without placing (``order_id`` then ``""``)."""

    asset_class: str
    symbol: str
    deadline: str | None = None
    validate: bool | None = None
    token: str | None = None


class BatchOrder(_OrderFields, frozen=True, kw_only=True):
    """One row of ``batch_add`` (the symbol sits at batch level)."""


class AmendOrderParams(Params, frozen=True, kw_only=True):
    """``amend_order`` params: one of ``order_id``/``cl_ord_id``; in place, priority kept
    where possible; ``order_qty`` is the new total (below the filled part cancels the rest)."""

    asset_class: str
    order_id: str | None = None
    cl_ord_id: str | None = None
    order_qty: Decimal | None = None
    limit_price: Decimal | None = None
    limit_price_type: str | None = None
    trigger_price: Decimal | None = None
    trigger_price_type: str | None = None
    post_only: bool | None = None
    display_qty: Decimal | None = None
    deadline: str | None = None
    token: str | None = None


class CancelOrderParams(Params, frozen=True, kw_only=True):
    """``cancel_order`` params: exactly one id family (derivatives ids are UUIDs;
    ``order_userref`` is not available for derivatives)."""

    asset_class: str
    order_id: list[str] | None = None
    cl_ord_id: list[str] | None = None
    order_userref: list[int] | None = None
    token: str | None = None


class CancelAllParams(Params, frozen=True, kw_only=True):
    """``cancel_all`` params (no symbol filter in the retrieved schema; §4.5)."""

    asset_class: str
    token: str | None = None


class CancelAllOrdersAfterParams(Params, frozen=True, kw_only=True):
    """``cancel_all_orders_after``: ``timeout`` seconds, 0 disarms (§4.6)."""

    timeout: int
    asset_class: str | None = None
    token: str | None = None


class BatchAddParams(Params, frozen=True, kw_only=True):
    """``batch_add``: 2-15 orders of one ``symbol``, validated all-or-nothing (§4.7)."""

    asset_class: str
    symbol: str
    orders: list[BatchOrder]
    deadline: str | None = None
    validate: bool | None = None
    token: str | None = None


class BatchCancelParams(Params, frozen=True, kw_only=True):
    """``batch_cancel``: 2-50 ids in total, ``orders`` (order ids) and/or ``cl_ord_id`` (§4.8)."""

    asset_class: str
    orders: list[str] | None = None
    cl_ord_id: list[str] | None = None
    token: str | None = None


METHOD_PARAMS: dict[str, type[Any]] = {
    "subscribe": SubscriptionParams,
    "unsubscribe": SubscriptionParams,
    "add_order": AddOrderParams,
    "amend_order": AmendOrderParams,
    "cancel_order": CancelOrderParams,
    "cancel_all": CancelAllParams,
    "cancel_all_orders_after": CancelAllOrdersAfterParams,
    "batch_add": BatchAddParams,
    "batch_cancel": BatchCancelParams,
}
"""The params struct of each method that takes params (``ping`` takes none)."""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class AddOrderResult(Result, frozen=True, kw_only=True):
    """``add_order``: the order's UUID (``""`` with ``validate``) and echoed ids (§4.1)."""

    order_id: str = ""
    cl_ord_id: str | None = None
    order_userref: int | None = None


class AmendOrderResult(Result, frozen=True, kw_only=True):
    """``amend_order``: ``amend_id`` (``""`` in the derivatives example) and echoed ids."""

    amend_id: str | None = None
    order_id: str | None = None
    cl_ord_id: str | None = None


class CancelOrderResult(Result, frozen=True, kw_only=True):
    """One ``cancel_order`` response (one per cancelled order; §3.2)."""

    order_id: str | None = None
    cl_ord_id: str | None = None


class CountResult(Result, frozen=True, kw_only=True):
    """``cancel_all``/``batch_cancel``: how many orders were cancelled."""

    count: int = 0


class CancelAfterResult(Result, frozen=True, kw_only=True):
    """``cancel_all_orders_after``: now and when the switch fires (field names unconfirmed:
    Spot v2 spells them ``currentTime``/``triggerTime``; both spellings are read)."""

    current_time: str | None = None
    trigger_time: str | None = None


class BatchAddRow(Result, frozen=True, kw_only=True):
    """One order of a ``batch_add`` result: ``order_id`` or ``error`` (siblings stay live)."""

    order_id: str | None = None
    cl_ord_id: str | None = None
    order_userref: int | None = None
    error: str | None = None


METHOD_RESULTS: dict[str, Any] = {
    "subscribe": SubscribeResult,
    "unsubscribe": SubscribeResult,
    "add_order": AddOrderResult,
    "amend_order": AmendOrderResult,
    "cancel_order": CancelOrderResult,
    "cancel_all": CountResult,
    "batch_cancel": CountResult,
    "cancel_all_orders_after": CancelAfterResult,
    "batch_add": list[BatchAddRow],
}
"""The result type of each method that has one (``ping`` has none)."""

_CAMEL = {"currentTime": "current_time", "triggerTime": "trigger_time"}


def parse_result(method: str, result: Any) -> Any:
    """``result`` of a response to ``method`` as its result struct; the value unchanged when
    the method has no result type or the shape does not fit (never raises)."""
    kind = METHOD_RESULTS.get(method)
    if kind is None or result is None:
        return result
    if method == "cancel_all_orders_after" and isinstance(result, dict):
        result = {_CAMEL.get(k, k): v for k, v in result.items()}
    try:
        return msgspec.convert(result, kind, strict=False)
    except msgspec.ValidationError:
        return result


def parse_params(method: str, params: Any) -> Any:
    """``params`` of a request (builtins, as :func:`decode_request` gives them) as the method's
    params struct (the server side's view).

    Raises:
        msgspec.ValidationError: ``params`` does not fit the method's struct.
    """
    kind = METHOD_PARAMS.get(method)
    if kind is None:
        return params
    return msgspec.convert(params or {}, kind, strict=False)


__all__ = [
    "METHOD_PARAMS",
    "METHOD_RESULTS",
    "AddOrderParams",
    "AddOrderResult",
    "AmendOrderParams",
    "AmendOrderResult",
    "BatchAddParams",
    "BatchAddRow",
    "BatchCancelParams",
    "BatchOrder",
    "CancelAfterResult",
    "CancelAllOrdersAfterParams",
    "CancelAllParams",
    "CancelOrderParams",
    "CancelOrderResult",
    "Conditional",
    "CountResult",
    "Triggers",
    "parse_params",
    "parse_result",
]
