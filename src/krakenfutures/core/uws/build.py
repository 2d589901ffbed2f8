"""Pure request building for uws: subscription keys and params, tokens on trading requests,
how many responses a request gets, and order intents as ``add_order``/``amend_order``/
``cancel_order`` params. No state: the session keeps that.

Intent mapping (the open points read from :class:`UwsAssumptions`):

==================  ================================================================
intent              ``add_order``
==================  ================================================================
``lmt``             ``limit`` (``time_in_force`` left to the default, GTC)
``post``            ``limit`` + ``post_only``
``ioc`` / ``fok``   ``limit`` + ``time_in_force`` :attr:`~UwsAssumptions.tif_ioc` /
                    :attr:`~UwsAssumptions.tif_fok`
``mkt``             ``market``
``stp``             ``stop-loss`` (``stop-loss-limit`` with a limit price), ``triggers``
``take_profit``     ``take-profit`` (``take-profit-limit``), ``triggers``
``trailing_stop``   refused: an intent carries no trailing parameters
==================  ================================================================

``process_before_ms`` becomes ``deadline``; ``cli_ord_id`` becomes ``cl_ord_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent
from krakenfutures.core.types import ContractKind, OrderType, contract_kind
from krakenfutures.core.uws.assumptions import QtyUnit, UwsAssumptions
from krakenfutures.core.uws.schema import (
    ASSET_CLASS,
    ASSET_CLASS_CHANNELS,
    AUTO_CHANNELS,
    BOOK_DEPTHS,
    PRIVATE_CHANNELS,
    SYMBOL_CHANNELS,
    SubscriptionParams,
    format_time_ms,
)
from krakenfutures.core.uws.schema_orders import (
    AddOrderParams,
    AmendOrderParams,
    CancelOrderParams,
    Triggers,
)
from krakenfutures.errors import ValidationError

SubKey = tuple[str, str | None]
"""One subscription: ``(channel, symbol)``; ``symbol`` (domain spelling) is ``None`` for
channels without symbols."""

Options = tuple[tuple[str, Any], ...]
"""A subscription's options, frozen and sorted (``(("depth", 25),)``)."""

SUBSCRIBE_OPTIONS = frozenset(SubscriptionParams.__struct_fields__) - {
    "channel",
    "symbol",
    "asset_class",
    "token",
}
"""Options :func:`build_options` accepts (``depth``, ``snapshot``, ``snap_trades``...)."""

_NO_SYMBOL_CHANNELS = PRIVATE_CHANNELS | {"instrument"}


def build_keys(
    channel: str, symbols: Iterable[str] | str | None, assumptions: UwsAssumptions
) -> list[SubKey]:
    """The subscription keys of ``channel`` for ``symbols`` (domain spelling, de-duplicated).

    Raises:
        ValidationError: ``status``/``heartbeat`` (sent unasked), a symbol channel without
            symbols, symbols on a channel that takes none.
    """
    if channel in AUTO_CHANNELS:
        raise ValidationError(f"{channel!r} is sent without a subscription")
    if isinstance(symbols, str):
        symbols = [symbols]  # a lone symbol, not its characters
    wanted = list(dict.fromkeys(assumptions.from_wire_symbol(s) for s in symbols or ()))
    if channel in SYMBOL_CHANNELS and not wanted:
        raise ValidationError(
            f"channel {channel!r} needs symbols, e.g. subscribe({channel!r}, ['PF_XBTUSD'])"
        )
    if wanted and channel in _NO_SYMBOL_CHANNELS:
        raise ValidationError(f"channel {channel!r} takes no symbols")
    return [(channel, s) for s in wanted] if wanted else [(channel, None)]


def build_options(channel: str, options: Mapping[str, Any]) -> Options:
    """``options`` checked and frozen (``None`` values dropped).

    Raises:
        ValidationError: an unknown option or a ``book`` depth the channel does not offer.
    """
    unknown = set(options) - SUBSCRIBE_OPTIONS
    if unknown:
        raise ValidationError(
            f"unknown subscribe option(s) {sorted(unknown)}; known: {sorted(SUBSCRIBE_OPTIONS)}"
        )
    if channel == "book" and options.get("depth", 10) not in BOOK_DEPTHS:
        raise ValidationError(f"book depth must be one of {BOOK_DEPTHS}")
    return tuple(sorted((k, v) for k, v in options.items() if v is not None))


def build_subscriptions(
    method: str,
    keys: Iterable[SubKey],
    options: Mapping[SubKey, Options],
    *,
    token: str | None,
    asset_class: str,
    assumptions: UwsAssumptions,
) -> list[tuple[SubscriptionParams, list[SubKey]]]:
    """``subscribe``/``unsubscribe`` params for ``keys``: one request per channel and option
    set, with every symbol of the group (an unsubscribe keeps only a book's ``depth``).
    Private channels get ``token``; without one they are left out (never sent)."""
    groups: dict[tuple[str, Options], list[SubKey]] = {}
    for key in keys:
        opts = options.get(key, ())
        if method == "unsubscribe":
            opts = tuple(o for o in opts if key[0] == "book" and o[0] == "depth")
        groups.setdefault((key[0], opts), []).append(key)
    out = []
    for (channel, opts), group in groups.items():
        private = channel in PRIVATE_CHANNELS
        if private and token is None:
            continue
        symbols = [assumptions.to_wire_symbol(s) for _, s in group if s is not None]
        params = SubscriptionParams(
            channel=channel,
            symbol=symbols or None,
            asset_class=asset_class if channel in ASSET_CLASS_CHANNELS else None,
            token=token if private else None,
            **dict(opts),
        )
        out.append((params, group))
    return out


def build_authorized(
    method: str, params: Any, token: str, *, asset_class: str, assumptions: UwsAssumptions
) -> Any:
    """Trading ``params`` with ``token`` (kept if already set); a mapping also gets
    ``asset_class`` (``cancel_all_orders_after`` only by assumption). Params structs already
    carry their ``asset_class``."""
    if params is None:
        params = {}
    if isinstance(params, msgspec.Struct):
        if "token" in params.__struct_fields__ and getattr(params, "token", None) is None:
            params = msgspec.structs.replace(params, token=token)
        return params
    out = dict(params)
    out.setdefault("token", token)
    if method != "cancel_all_orders_after" or assumptions.cancel_after_asset_class:
        out.setdefault("asset_class", asset_class)
    return out


def expected_responses(method: str, params: Any, assumptions: UwsAssumptions) -> int:
    """How many responses ``method`` gets: ``cancel_order`` one per id (by assumption), any
    other request one."""
    if method != "cancel_order" or not assumptions.response_per_cancelled_id:
        return 1
    count = 0
    for name in ("order_id", "cl_ord_id", "order_userref"):
        ids = params.get(name) if isinstance(params, Mapping) else getattr(params, name, None)
        count += len(ids or ())
    return max(count, 1)


_TRIGGERED = {
    OrderType.STP: ("stop-loss", "stop-loss-limit"),
    OrderType.TAKE_PROFIT: ("take-profit", "take-profit-limit"),
}


def build_add_order(
    intent: OrderIntent,
    assumptions: UwsAssumptions,
    *,
    asset_class: str = ASSET_CLASS,
    trigger_reference: str = "last",
) -> AddOrderParams:
    """``add_order`` params for ``intent`` (see the module docstring). ``trigger_reference`` is
    ``last`` or ``index`` (uws has no mark-price trigger; reference §4.1).

    Raises:
        ValidationError: a trailing stop, or an inverse contract while quantities are assumed
            to count base units (the conversion needs a price).
    """
    kind = intent.order_type
    if kind is OrderType.TRAILING_STOP:
        raise ValidationError(
            "trailing_stop orders need trailing parameters an OrderIntent does not carry; "
            "send add_order with triggers yourself"
        )
    if (
        assumptions.qty_unit is QtyUnit.BASE
        and contract_kind(intent.symbol) is ContractKind.INVERSE
    ):
        raise ValidationError(
            f"{intent.symbol}: quantities are assumed to be in base units on uws, and an inverse "
            "contract's base quantity depends on the price; set UwsAssumptions.qty_unit"
        )
    tif = {OrderType.IOC: assumptions.tif_ioc, OrderType.FOK: assumptions.tif_fok}.get(kind)
    triggers = None
    if kind in _TRIGGERED:
        plain, with_limit = _TRIGGERED[kind]
        wire_type = with_limit if intent.limit_price is not None else plain
        assert intent.stop_price is not None  # OrderIntent guarantees it
        triggers = Triggers(price=intent.stop_price, reference=trigger_reference)
    else:
        wire_type = "market" if kind is OrderType.MKT else "limit"
    deadline = intent.process_before_ms
    return AddOrderParams(
        asset_class=asset_class,
        symbol=assumptions.to_wire_symbol(intent.symbol),
        order_type=wire_type,
        side=intent.side,
        order_qty=intent.qty,
        limit_price=intent.limit_price if kind is not OrderType.MKT else None,
        triggers=triggers,
        time_in_force=tif,
        post_only=True if intent.post_only else None,
        reduce_only=True if intent.reduce_only else None,
        cl_ord_id=intent.cli_ord_id or None,
        deadline=format_time_ms(deadline) if deadline is not None else None,
    )


def build_amend_order(intent: AmendIntent, *, asset_class: str = ASSET_CLASS) -> AmendOrderParams:
    """``amend_order`` params: the order by ``order_id`` when known (else ``cl_ord_id``);
    ``order_qty`` is the new total, as in the intent."""
    return AmendOrderParams(
        asset_class=asset_class,
        order_id=intent.order_id,
        cl_ord_id=None if intent.order_id else intent.cli_ord_id,
        order_qty=intent.qty,
        limit_price=intent.limit_price,
        trigger_price=intent.stop_price,
    )


def build_cancel_order(
    intent: CancelIntent, *, asset_class: str = ASSET_CLASS
) -> CancelOrderParams:
    """``cancel_order`` params for one order, by ``order_id`` when known (else ``cl_ord_id``)."""
    if intent.order_id:
        return CancelOrderParams(asset_class=asset_class, order_id=[intent.order_id])
    return CancelOrderParams(asset_class=asset_class, cl_ord_id=[intent.cli_ord_id])


__all__ = [
    "SUBSCRIBE_OPTIONS",
    "Options",
    "SubKey",
    "build_add_order",
    "build_amend_order",
    "build_authorized",
    "build_cancel_order",
    "build_keys",
    "build_options",
    "build_subscriptions",
    "expected_responses",
]
