"""Wire pieces shared by every REST v3 schema module: envelopes, orders, triggers, order events.

Conventions for every ``schema_*`` module (other code relies on them):

* Params structs are ``frozen, kw_only, omit_defaults`` with python field names renamed to the
  exact wire names (an explicit ``rename`` dict, or :func:`camel_names` with overrides for the
  long ones); optional params default to ``None`` and are left off the wire. Field order is the
  order the params are encoded in. Fields that fill a path placeholder keep their python name.
* Result structs are ``frozen, kw_only`` with python names renamed to wire names. Unknown wire
  fields are ignored, fields Kraken may leave out default to ``None`` (or an empty list). Every
  money, size, price and rate field is :class:`~decimal.Decimal`: msgspec reads both JSON numbers
  and decimal strings (``"0E-11"``) into it. Timestamps stay as the wire gives them (ISO text on
  v3, epoch-ms ints on history/charts).
* Results encode back to Kraken's shape (the simulator builds replies from them). Structs whose
  absent optional fields Kraken *omits* use ``omit_defaults``; those where it sends explicit
  ``null`` do not. In ``omit_defaults`` structs a field Kraken always sends has no default (a
  ``False`` default would vanish on encode); an empty ``orderEvents`` list is left off. Encode replies with :data:`WIRE_ENCODER` so decimals go out as JSON numbers,
  as Kraken's classic endpoints send them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.types import Side

WIRE_ENCODER = msgspec.json.Encoder(decimal_format="number")
"""JSON encoder for wire bodies: decimals as numbers (``9400``), never quoted."""


def camel_names(**overrides: str) -> Callable[[str], str]:
    """A msgspec ``rename`` function: ``snake_case`` -> ``camelCase`` unless overridden.

    ``camel_names(qty="size")`` maps ``qty`` to ``size`` and ``limit_price`` to ``limitPrice``.
    """

    def rename(name: str) -> str:
        if name in overrides:
            return overrides[name]
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)

    return rename


# ---------------------------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------------------------


class Ack(msgspec.Struct, frozen=True, kw_only=True, rename={"server_time": "serverTime"}):
    """A success reply with no payload (``PUT`` preferences, ``transfer``)."""

    result: str = "success"
    server_time: str | None = None


class ErrorReply(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"server_time": "serverTime"},
):
    """Kraken's error envelope, classic (``error``) and newer (``errors: [{code, message}]``).

    ``result`` has no default so that ``omit_defaults`` never drops it: pass ``result="error"``.
    """

    result: str
    server_time: str | None = None
    error: str | None = None
    errors: list[Any] | None = None
    status: str | None = None


def success_envelope(key: str | None, value: Any, server_time: str) -> dict[str, Any]:
    """The v3 success body ``{"result": "success", "serverTime": ..., key: value}``.

    With ``key=None`` ``value`` must be a struct or mapping whose fields are merged in (bodies
    such as ``/subaccounts`` carry their payload at top level).
    """
    body: dict[str, Any] = {"result": "success", "serverTime": server_time}
    if key is not None:
        body[key] = value
    elif value is not None:
        extra = (
            msgspec.to_builtins(value, builtin_types=(Decimal,))  # keep numbers numbers
            if isinstance(value, msgspec.Struct)
            else dict(value)
        )
        body.update({k: v for k, v in extra.items() if k not in ("result", "serverTime")})
    return body


# ---------------------------------------------------------------------------------------------
# Orders and triggers inside orderEvents
# ---------------------------------------------------------------------------------------------


class OrderJson(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(qty="quantity"),
):
    """An order as ``orderEvents`` show it (``OrderJson``); note ``orderId``, not ``order_id``.

    ``type`` is one of ``lmt ioc post liquidation assignment stp unwind block fok``.
    """

    order_id: str
    cli_ord_id: str | None = None
    type: str
    symbol: str
    side: Side
    qty: Decimal
    filled: Decimal
    limit_price: Decimal | None = None
    reduce_only: bool
    timestamp: str
    last_update_timestamp: str


class OrderTrigger(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(qty="quantity"),
):
    """A trigger (stop/take-profit) order in ``orderEvents``: ``uid``/``clientId`` naming.

    ``trigger_side`` is ``trigger_above``/``trigger_below``; ``trigger_signal`` is
    ``mark_price``/``last_price``/``spot_price``.
    """

    uid: str
    client_id: str | None = None
    type: str
    symbol: str
    side: Side
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_side: str | None = None
    trigger_signal: str | None = None
    reduce_only: bool
    timestamp: str
    last_update_timestamp: str
    start_time: str | None = None


# ---------------------------------------------------------------------------------------------
# orderEvents: a union tagged by "type"
# ---------------------------------------------------------------------------------------------


class PlaceEvent(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="PLACE",
    rename=camel_names(),
):
    """An order (``order``) or a trigger (``order_trigger``) entered the book."""

    order: OrderJson | None = None
    order_trigger: OrderTrigger | None = None
    reduced_quantity: Decimal | None = None


class CancelEvent(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="CANCEL",
    rename=camel_names(),
):
    """An order or trigger left the book by cancellation."""

    uid: str
    order: OrderJson | None = None
    order_trigger: OrderTrigger | None = None


class EditEvent(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="EDIT",
    rename=camel_names(),
):
    """An order changed: ``old`` before, ``new`` after."""

    old: OrderJson
    new: OrderJson
    reduced_quantity: Decimal | None = None


class RejectEvent(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="REJECT",
    rename=camel_names(),
):
    """An order was refused after assessment (``POST_WOULD_EXECUTE``, ``IOC_WOULD_NOT_EXECUTE``,
    or for triggers an ``OrderError`` such as ``INSUFFICIENT_MARGIN``)."""

    uid: str
    order: OrderJson | None = None
    order_trigger: OrderTrigger | None = None
    reason: str


class ExecutionEvent(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="EXECUTION",
    rename=camel_names(qty="amount"),
):
    """The order traded ``qty`` at ``price``; ``order_prior_execution`` is the order before it."""

    execution_id: str
    price: Decimal
    qty: Decimal
    order_prior_edit: OrderJson | None = None
    order_prior_execution: OrderJson
    taker_reduced_quantity: Decimal | None = None


OrderEvent = PlaceEvent | CancelEvent | EditEvent | RejectEvent | ExecutionEvent
"""One entry of ``orderEvents``, told apart by its ``type`` field."""


class OrderIdRef(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"cli_ord_id": "cliOrdId"}
):
    """``{order_id, cliOrdId?}``: an order named by exchange id (and client id if it had one)."""

    order_id: str
    cli_ord_id: str | None = None


__all__ = [
    "WIRE_ENCODER",
    "Ack",
    "CancelEvent",
    "EditEvent",
    "ErrorReply",
    "ExecutionEvent",
    "OrderEvent",
    "OrderIdRef",
    "OrderJson",
    "OrderTrigger",
    "PlaceEvent",
    "RejectEvent",
    "camel_names",
    "success_envelope",
]
