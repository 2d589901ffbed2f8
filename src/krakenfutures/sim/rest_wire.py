"""Shared pieces of the simulator's REST handlers: domain values -> Kraken's v3 wire structs.

Orders and ``orderEvents`` (``order`` objects say ``orderId``, trigger objects ``uid``/``clientId``),
ISO timestamps in and out, the argument screens every order handler applies before the engine
sees a number, and :func:`guard`, which turns engine argument errors into Kraken's
``invalidArgument`` answer instead of a 500.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.schema_common import (
    CancelEvent,
    EditEvent,
    ExecutionEvent,
    OrderEvent,
    OrderJson,
    OrderTrigger,
    PlaceEvent,
    RejectEvent,
)
from krakenfutures.core.timefmt import parse_iso_ms as core_parse_iso_ms
from krakenfutures.core.types import TriggerSignal
from krakenfutures.errors import ConfigError, ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, Refusal, iso_ms

# Decimal magnitudes outside this band are refused before the engine sees them: no contract
# has a tick below 1e-12 or a size/price above 1e15, and absurd exponents (size=1e400) would
# only feed the margin arithmetic numbers it cannot represent exactly.
MIN_EXPONENT = -12
MAX_EXPONENT = 15

_SIGNAL_WIRE = {
    TriggerSignal.MARK: "mark_price",
    TriggerSignal.LAST: "last_price",
    TriggerSignal.INDEX: "spot_price",
}
_ACCOUNT_NS = uuid.UUID("6d1f3c2a-8b8e-4f57-9a1c-4b5e2f0d7a11")


def account_uid(account: str) -> str:
    """A stable UUID for an account (``masterAccountUid``, history ``accountUid``)."""
    return str(uuid.uuid5(_ACCOUNT_NS, account))


def sane(value: Decimal | None) -> bool:
    """Whether a wire number is finite and of a magnitude any contract could use."""
    if value is None:
        return True
    if not isinstance(value, Decimal) or not value.is_finite():
        return False
    if value == 0:
        return True
    return MIN_EXPONENT <= value.adjusted() <= MAX_EXPONENT


def parse_iso_ms(text: str | None) -> int | None:
    """Epoch ms of a REST ISO-8601 time (``2026-01-01T00:00:00.000Z``, ms optional).

    Raises :class:`Refusal` ``invalidArgument`` for anything else.
    """
    if text is None:
        return None
    value = core_parse_iso_ms(text, assume_utc=False)
    if value is None:
        raise Refusal("invalidArgument")
    return value


def signal_wire(signal: TriggerSignal | None) -> str | None:
    """``mark`` -> ``mark_price`` (orderEvents and trigger objects)."""
    return _SIGNAL_WIRE.get(signal) if signal is not None else None


def account_of(call: Call, exchange: Exchange) -> str:
    """The authenticated account, or Kraken's ``accountInactive`` if it has no exchange account."""
    account = call.account
    if account is None:
        raise Refusal("authenticationError")
    if account not in exchange.state.accounts:
        raise Refusal("accountInactive")
    return account


def guard(fn: Callable[[Call], Any]) -> Callable[[Call], Any]:
    """Answer engine argument errors as ``invalidArgument`` rather than a server error."""

    @functools.wraps(fn)
    def handler(call: Call) -> Any:
        try:
            return fn(call)
        except (ValidationError, ConfigError, ArithmeticError):
            raise Refusal("invalidArgument") from None

    return handler


def page_count(count: int | None, default: int, cap: int) -> int:
    """A history ``count`` param: ``default`` when absent, at most ``cap``; zero or less is
    HTTP 400 ``invalidArgument``."""
    if count is None:
        return default
    if count <= 0:
        raise Refusal("invalidArgument", http_status=400)
    return min(count, cap)


# ------------------------------------------------------------------------------ orders on wire


def order_json(view: d.OrderView) -> OrderJson:
    """An order as ``orderEvents`` show it."""
    return OrderJson(
        order_id=view.order_id,
        cli_ord_id=view.cli_ord_id,
        type=view.type,
        symbol=view.symbol,
        side=view.side,
        qty=view.qty,
        filled=view.filled,
        limit_price=view.limit_price,
        reduce_only=view.reduce_only,
        timestamp=iso_ms(view.ts_ms),
        last_update_timestamp=iso_ms(view.last_update_ts_ms),
    )


def order_trigger(view: d.OrderView) -> OrderTrigger:
    """An untriggered stop/take-profit as ``orderTrigger``: type ``lmt`` with a limit price,
    ``ioc`` (stop-market) without."""
    return OrderTrigger(
        uid=view.order_id,
        client_id=view.cli_ord_id,
        type="lmt" if view.limit_price is not None else "ioc",
        symbol=view.symbol,
        side=view.side,
        qty=view.qty,
        limit_price=view.limit_price,
        trigger_price=view.stop_price,
        trigger_side=view.trigger_side,
        trigger_signal=signal_wire(view.trigger_signal),
        reduce_only=view.reduce_only,
        timestamp=iso_ms(view.ts_ms),
        last_update_timestamp=iso_ms(view.last_update_ts_ms),
    )


def order_event(event: d.OrderEvent) -> OrderEvent:
    """One domain order event as Kraken's ``orderEvents`` entry."""
    if isinstance(event, d.Executed):
        return ExecutionEvent(
            execution_id=event.execution_id,
            price=event.price,
            qty=event.qty,
            order_prior_edit=order_json(event.order_prior_edit)
            if event.order_prior_edit is not None
            else None,
            order_prior_execution=order_json(event.order_prior),
            taker_reduced_quantity=event.taker_reduced_qty,
        )
    if isinstance(event, d.Placed):
        return PlaceEvent(order=order_json(event.order), reduced_quantity=event.reduced_qty)
    if isinstance(event, d.TriggerPlaced):
        return PlaceEvent(order_trigger=order_trigger(event.order))
    if isinstance(event, d.TriggerActivated):
        return PlaceEvent(order=order_json(event.order))
    if isinstance(event, d.Cancelled):
        if event.order.is_trigger:
            return CancelEvent(uid=event.order.order_id, order_trigger=order_trigger(event.order))
        return CancelEvent(uid=event.order.order_id, order=order_json(event.order))
    if isinstance(event, d.Rejected):
        if event.order.is_trigger:
            return RejectEvent(
                uid=event.order.order_id,
                order_trigger=order_trigger(event.order),
                reason=event.reason,
            )
        return RejectEvent(
            uid=event.order.order_id, order=order_json(event.order), reason=event.reason
        )
    assert isinstance(event, d.Edited)
    return EditEvent(
        old=order_json(event.old), new=order_json(event.new), reduced_quantity=event.reduced_qty
    )


def order_events(events: tuple[d.OrderEvent, ...]) -> list[OrderEvent]:
    """All events of a result, in the engine's order."""
    return [order_event(e) for e in events]


__all__ = [
    "MAX_EXPONENT",
    "MIN_EXPONENT",
    "account_of",
    "account_uid",
    "guard",
    "order_event",
    "order_events",
    "order_json",
    "order_trigger",
    "page_count",
    "parse_iso_ms",
    "sane",
    "signal_wire",
]
