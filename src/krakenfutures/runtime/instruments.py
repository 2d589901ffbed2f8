"""Order rules (tick, lot, minimum) per contract: from REST ``/instruments`` rows, or from the
Unified WebSocket ``instrument`` channel.

A bot needs each contract's tick and lot before its first order. They come from REST
``/instruments`` (:func:`instruments_from_rest`), which Kraken switches off on 2027-03-01 with
the rest of REST v3.
:func:`load_instruments` keeps ``kf run --dialect unified`` starting after that: it asks legacy
REST first (its rows are the reference's, and complete) and, when that endpoint is *gone*
(HTTP 404/410, connection refused: :func:`~krakenfutures.core.status.check_endpoint_gone`),
reads the ``instrument`` snapshot on a short-lived public uws socket instead, saying so once in
the log. Any other failure (an outage) is raised as it is: starting on guessed rules is worse
than not starting.

For derivatives the reference (§4.9) says to use ``price_increment`` (not always a power of
ten) and ``qty_min``/``qty_increment`` (per contract); ``tick_size``/``qty_precision`` are the
fallbacks when a pair lacks them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from krakenfutures.core.status import check_endpoint_gone
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.events import SubscribeFailed
from krakenfutures.core.uws.schema_channels import InstrumentMessage, InstrumentPair
from krakenfutures.errors import ConnectError, KrakenFuturesError, TimeoutError_
from krakenfutures.runtime.context import Instrument

if TYPE_CHECKING:  # the socket client loads only when used (kf startup stays quick)
    from krakenfutures.client.uws import AsyncUwsConnection

log = logging.getLogger(__name__)


def instruments_from_rest(rows: Any) -> dict[str, Instrument]:
    """Tick and lot rules per tradeable contract from ``/instruments`` rows."""
    out: dict[str, Instrument] = {}
    for row in rows:
        if row.tick_size is None:
            continue  # indices have no order rules
        precision = int(row.contract_value_trade_precision or 0)
        step = Decimal(1).scaleb(-precision)
        out[row.symbol.upper()] = Instrument(row.symbol.upper(), Decimal(row.tick_size), step, step)
    return out


def instruments_from_pairs(
    pairs: Iterable[InstrumentPair], assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS
) -> dict[str, Instrument]:
    """Order rules per contract from ``instrument`` pairs (pairs without a price or quantity
    step are left out: nothing could be checked against them)."""
    out: dict[str, Instrument] = {}
    for pair in pairs:
        tick = pair.price_increment or pair.tick_size
        step = pair.qty_increment
        if step is None and pair.qty_precision is not None:
            step = Decimal(1).scaleb(-pair.qty_precision)
        if not tick or not step:
            continue
        symbol = assumptions.from_wire_symbol(pair.symbol).upper()
        out[symbol] = Instrument(symbol, tick, pair.qty_min or step, step)
    return out


async def instruments_from_uws(
    conn: AsyncUwsConnection,
    *,
    timeout_s: float = 10.0,
    assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
) -> dict[str, Instrument]:
    """Connect ``conn`` (a public uws connection, closed here), subscribe ``instrument`` and
    return the rules of its snapshot.

    Raises:
        TimeoutError_: no snapshot within ``timeout_s``.
        ConnectError: the subscription was refused, or the socket could not be opened.
    """
    conn.subscribe("instrument")
    try:
        async with asyncio.timeout(timeout_s):
            async for event in conn:
                if isinstance(event, InstrumentMessage) and event.is_snapshot:
                    return instruments_from_pairs(event.pairs, assumptions)
                if isinstance(event, SubscribeFailed) and event.channel == "instrument":
                    raise ConnectError(f"uws instrument subscription refused: {event.error}")
    except TimeoutError:
        raise TimeoutError_(
            f"no uws instrument snapshot from {conn.url} within {timeout_s:g} s; the order "
            "rules (tick, lot) are unknown, so the bot cannot start"
        ) from None
    finally:
        await conn.aclose()
    raise ConnectError(f"the uws connection to {conn.url} closed before the instrument snapshot")


async def load_instruments(
    legacy: Callable[[], Awaitable[Any]],
    uws: Callable[[], AsyncUwsConnection] | None,
    *,
    timeout_s: float = 10.0,
    assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
) -> dict[str, Instrument]:
    """Rules from ``await legacy()`` (the rows of legacy REST ``/instruments``); when that
    endpoint is gone and ``uws`` (a factory of public connections) is given, from the uws
    ``instrument`` channel instead."""
    try:
        return instruments_from_rest(await legacy())
    except KrakenFuturesError as exc:
        if uws is None or not check_endpoint_gone(exc):
            raise
        log.warning(
            "legacy REST /instruments is gone (%s): the order rules come from the uws "
            "instrument channel (the legacy API was switched off on 2027-03-01)",
            exc,
        )
    return await instruments_from_uws(uws(), timeout_s=timeout_s, assumptions=assumptions)


__all__ = [
    "instruments_from_pairs",
    "instruments_from_rest",
    "instruments_from_uws",
    "load_instruments",
]
