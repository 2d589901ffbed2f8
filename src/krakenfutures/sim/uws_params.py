"""Checking uws order-method parameters (reference §4.1-§4.8), before anything reaches the
engine: :class:`UwsError` carries the response's ``error`` text.

Readings of the gaps (reference §9, see :mod:`~krakenfutures.sim.uws_orders` for the mapping):
unknown ``add_order`` fields are refused with ``Unsupported field: '<name>'`` (Spot v2);
``order_userref``, ``display_qty``, ``expire_time``, ``fee_preference`` and ``margin`` are "not
available for derivatives"; ``time_in_force`` is ``gtc``/``ioc``/``fok``; triggers take
``reference`` ``last`` (default) or ``index`` and ``price_type`` ``static``; derivatives order
ids must be UUIDs; a ``deadline`` in the past is ``EOrder:Deadline elapsed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from krakenfutures.core.timefmt import parse_iso_ms
from krakenfutures.core.types import TriggerSignal

INVALID = "EGeneral:Invalid arguments"
"""Prefix of argument errors (``EGeneral:Invalid arguments:<what>``)."""
_ADD_FIELDS = frozenset(
    {
        "order_type",
        "side",
        "order_qty",
        "symbol",
        "limit_price",
        "limit_price_type",
        "time_in_force",
        "post_only",
        "reduce_only",
        "cl_ord_id",
        "triggers",
        "deadline",
        "validate",
        "asset_class",
        "token",
    }
)
_NOT_FOR_DERIVATIVES = ("order_userref", "display_qty", "expire_time", "fee_preference", "margin")
_TRIGGER_KINDS = {
    "stop-loss": "stp",
    "stop-loss-limit": "stp",
    "take-profit": "take_profit",
    "take-profit-limit": "take_profit",
}
_REFERENCES = {"last": TriggerSignal.LAST, "index": TriggerSignal.INDEX}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class UwsError(Exception):
    """A refusal: ``code`` is the response's ``error`` text."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def check_asset_class(params: Mapping[str, Any], *, required: bool = True) -> None:
    """``asset_class`` must be ``derivatives`` (the simulator serves nothing else)."""
    value = params.get("asset_class")
    if value is None:
        if required:
            raise UwsError(f"{INVALID}:params.asset_class is required (derivatives)")
        return
    if value != "derivatives":
        raise UwsError(f"{INVALID}:asset_class {value!r} is not served here (derivatives only)")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A checked ``add_order``: engine order kind and arguments."""

    symbol: str
    side: str
    kind: str
    qty: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    signal: TriggerSignal | None
    reduce_only: bool
    cli_ord_id: str | None


def decimal_param(
    params: Mapping[str, Any], name: str, *, required: bool = False
) -> Decimal | None:
    """A positive finite number (JSON number or numeric text) as Decimal, or ``None``."""
    value = params.get(name)
    if value is None:
        if required:
            raise UwsError(f"{INVALID}:params.{name} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise UwsError(f"{INVALID}:{name} must be a number")
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise UwsError(f"{INVALID}:{name} must be a number") from None
    if not number.is_finite() or number <= 0 or abs(number.adjusted()) > 30:
        raise UwsError(f"{INVALID}:{name} must be a positive number")
    return number


def flag_param(params: Mapping[str, Any], name: str) -> bool:
    """A boolean parameter (default false)."""
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise UwsError(f"{INVALID}:{name} must be true or false")
    return value


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    """A string parameter, or ``None``."""
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise UwsError(f"{INVALID}:{name} must be a string")
    return value


def ids_param(params: Mapping[str, Any], name: str) -> list[str]:
    """A list of identifiers; ``order_id``/``orders`` entries must be UUIDs (derivatives)."""
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UwsError(f"{INVALID}:{name} must be a list of strings")
    if name in ("order_id", "orders"):
        bad = [v for v in value if not _UUID.match(v)]
        if bad:
            raise UwsError(f"{INVALID}:order_id {bad[0]!r} is not a UUID (derivatives)")
    return value


def parse_triggers(value: Any) -> tuple[Decimal, TriggerSignal]:
    """``triggers``: ``(price, reference)``; only ``static`` prices."""
    if not isinstance(value, dict):
        raise UwsError(f"{INVALID}:params.triggers (reference, price) is required")
    if value.get("price_type", "static") != "static":
        raise UwsError(f"{INVALID}:triggers.price_type must be static in the simulator")
    reference = value.get("reference", "last")
    if reference not in _REFERENCES:
        raise UwsError(f"{INVALID}:triggers.reference must be last or index")
    price = decimal_param(value, "price", required=True)
    assert price is not None
    return price, _REFERENCES[reference]


def parse_order(params: Mapping[str, Any], symbol: str) -> OrderRequest:
    """An ``add_order`` (or ``batch_add`` row) request checked field by field; ``symbol`` is
    the contract it trades (already resolved from the wire)."""
    for name in _NOT_FOR_DERIVATIVES:
        if name in params:
            hint = "; use cl_ord_id" if name == "order_userref" else ""
            raise UwsError(f"{INVALID}:{name} is not available for derivatives{hint}")
    for name in params:
        if name not in _ADD_FIELDS:
            raise UwsError(f"Unsupported field: '{name}'")
    side = params.get("side")
    if side not in ("buy", "sell"):
        raise UwsError(f"{INVALID}:side must be buy or sell")
    qty = decimal_param(params, "order_qty", required=True)
    assert qty is not None
    order_type = params.get("order_type")
    limit = decimal_param(params, "limit_price")
    tif = params.get("time_in_force", "gtc")
    post_only = flag_param(params, "post_only")
    if params.get("limit_price_type", "static") != "static":
        raise UwsError(f"{INVALID}:limit_price_type must be static for derivatives")
    if tif not in ("gtc", "ioc", "fok"):
        raise UwsError(f"{INVALID}:time_in_force {tif!r} (gtc, ioc or fok for derivatives)")
    triggers = params.get("triggers")
    stop, signal = None, None
    if order_type in _TRIGGER_KINDS:
        stop, signal = parse_triggers(triggers)
        kind = _TRIGGER_KINDS[order_type]
        if (limit is None) != (not str(order_type).endswith("-limit")):
            raise UwsError(f"{INVALID}:limit_price goes with {order_type}-limit orders only")
        if tif != "gtc" or post_only:
            raise UwsError(f"{INVALID}:trigger orders are gtc and not post_only")
    elif triggers is not None:
        raise UwsError(f"{INVALID}:triggers go with stop-loss and take-profit orders")
    elif order_type == "limit":
        if limit is None:
            raise UwsError(f"{INVALID}:params.limit_price is required for limit orders")
        if post_only and tif != "gtc":
            raise UwsError(f"{INVALID}:post_only orders are gtc")
        kind = "post" if post_only else {"gtc": "lmt", "ioc": "ioc", "fok": "fok"}[tif]
    elif order_type == "market":
        if limit is not None or post_only:
            raise UwsError(f"{INVALID}:market orders take no limit_price or post_only")
        kind = "mkt"
    else:
        raise UwsError(f"{INVALID}:order_type {order_type!r} is not simulated for derivatives")
    return OrderRequest(
        symbol,
        side,
        kind,
        qty,
        limit,
        stop,
        signal,
        flag_param(params, "reduce_only"),
        text_param(params, "cl_ord_id"),
    )


def check_deadline(params: Mapping[str, Any], now_ms: int) -> None:
    """``deadline`` (RFC 3339) must not have passed."""
    text = params.get("deadline")
    if text is None:
        return
    deadline = parse_iso_ms(text, assume_utc=False) if isinstance(text, str) else None
    if deadline is None:
        raise UwsError(f"{INVALID}:deadline must be an RFC 3339 time")
    if now_ms > deadline:
        raise UwsError("EOrder:Deadline elapsed")


__all__ = [
    "INVALID",
    "OrderRequest",
    "UwsError",
    "check_asset_class",
    "check_deadline",
    "decimal_param",
    "flag_param",
    "ids_param",
    "parse_order",
    "parse_triggers",
    "text_param",
]
