"""The Unified WebSocket's status inputs as :mod:`krakenfutures.core.status` flags.

After the legacy REST status endpoints end (2027-03-01) the trading-state gate reads two uws
channels instead, through the same :func:`~krakenfutures.core.status.derive_trading_state`:

* ``status`` (engine-wide, sent on connect and on every change): ``system`` becomes
  :class:`~krakenfutures.core.status.SystemFlags`; its ``upcoming_maintenance``/``emergency``
  entries become :class:`~krakenfutures.core.status.MaintenanceNotice` windows
  (:func:`parse_uws_notices`).
* ``instrument`` (per pair, snapshot then updates on change): a pair's ``status`` becomes
  :class:`~krakenfutures.core.status.InstrumentFlags` (:func:`parse_uws_pair_flags`).

Both channels only speak on a change, so their data is as fresh as the socket that carries it
is alive: the caller stamps the flags with the last time it confirmed that (``ts_ms``), and a
dead socket ages them into UNKNOWN like any stale input.

Readings (the reference leaves the pair values and the notice key names open, §3.5/§9):

=============================  ================================================================
pair ``status``                flags
=============================  ================================================================
``online``                     tradeable
``post_only``                  tradeable, post-only
``limit_only``                 tradeable, post-only (market orders refused: we then rest only
                               post-only orders, our caution)
``cancel_only``,               not tradeable
``reduce_only``,
``maintenance``, ``delisted``,
``work_in_progress``
anything else                  not tradeable (the reason names the value)
absent                         per :attr:`UwsAssumptions.untold_pair_status_tradeable`
=============================  ================================================================

A status notice counts only when it concerns derivatives (services include ``futures_*``,
``all``, ``unspecified`` or are not given). It is *high* priority (blocks trading while its
window is in effect) when its advised action is ``stop_new_orders``, ``cancel_open_orders`` or
``disconnect_and_wait``, and for an ``emergency`` entry unless the action is ``continue`` or
``reduce_activity``; otherwise it only adds a reason. Its window starts at ``start`` and ends
at ``end`` (else the core's default length). Without a readable ``start`` it is taken as in
effect from ``ts_ms``: the caller passes the time the status was last known current, so such
an entry counts for as long as the ``status`` channel lists it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from krakenfutures.core.status import InstrumentFlags, MaintenanceNotice
from krakenfutures.core.timefmt import parse_iso_ms
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.events import MaintenanceNotice as UwsNotice

PAIR_STATUS_FLAGS: Mapping[str, tuple[bool, bool]] = {
    "online": (True, False),
    "post_only": (True, True),
    "limit_only": (True, True),
    "cancel_only": (False, False),
    "reduce_only": (False, False),
    "maintenance": (False, False),
    "delisted": (False, False),
    "work_in_progress": (False, False),
}
"""Pair ``status`` -> (tradeable, post-only); see the module docstring."""

DERIVATIVES_SERVICES = frozenset(
    {"futures_ws", "futures_rest", "futures_fix", "futures_trading", "all", "unspecified"}
)
"""Maintenance ``services`` values that concern derivatives trading."""
BLOCKING_ACTIONS = frozenset({"stop_new_orders", "cancel_open_orders", "disconnect_and_wait"})
"""Advised actions that mean: send no new orders while the window is in effect."""
CALM_ACTIONS = frozenset({"continue", "reduce_activity"})
"""Advised actions under which an ``emergency`` entry still lets orders through."""


def parse_uws_pair_flags(
    symbol: str,
    status: str | None,
    ts_ms: int,
    assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
) -> InstrumentFlags:
    """The :class:`InstrumentFlags` of a uws ``instrument`` pair whose ``status`` is
    ``status`` (``None``: the pair carried none), current as of ``ts_ms``."""
    symbol = normalize_symbol(symbol)
    if status is None:
        tradeable = assumptions.untold_pair_status_tradeable
        return InstrumentFlags(
            symbol, tradeable, False, ts_ms, "instrument channel (no pair status given)"
        )
    value = status.strip().lower()
    tradeable, post_only = PAIR_STATUS_FLAGS.get(value, (False, False))
    known = "" if value in PAIR_STATUS_FLAGS else ", a value we do not know"
    return InstrumentFlags(
        symbol, tradeable, post_only, ts_ms, f"instrument channel (pair status {value!r}{known})"
    )


def parse_uws_notices(notices: Iterable[UwsNotice], ts_ms: int) -> tuple[MaintenanceNotice, ...]:
    """The ``status`` channel's maintenance/emergency entries received at ``ts_ms`` as core
    notices (see the module docstring); entries for other services are left out."""
    out: list[MaintenanceNotice] = []
    for notice in notices:
        services = {s.strip().lower() for s in notice.services}
        if services and not services & DERIVATIVES_SERVICES:
            continue
        action = (notice.action or "").strip().lower()
        high = action in BLOCKING_ACTIONS or (
            notice.kind == "emergency" and action not in CALM_ACTIONS
        )
        start = parse_iso_ms(notice.start)
        end = parse_iso_ms(notice.end)
        parts = [f"uws {notice.kind}"]
        if notice.stage:
            parts.append(f"stage {notice.stage}")
        if action:
            parts.append(f"advised {action}")
        if notice.message:
            parts.append(notice.message)
        if start is None:
            parts.append(
                "(no readable start: assumed now)" if notice.start is None else
                f"(unreadable start {notice.start!r}: assumed now)"
            )  # fmt: skip
            start = ts_ms
        minutes = None
        if end is not None and end > start:
            minutes = -(-(end - start) // 60_000)  # whole minutes, rounded up
        out.append(
            MaintenanceNotice(
                priority="high" if high else "low",
                type="maintenance",
                effective_time_ms=start,
                expected_downtime_minutes=minutes,
                note="; ".join(parts),
                ts_ms=ts_ms,
            )
        )
    return tuple(out)


__all__ = [
    "BLOCKING_ACTIONS",
    "CALM_ACTIONS",
    "DERIVATIVES_SERVICES",
    "PAIR_STATUS_FLAGS",
    "parse_uws_notices",
    "parse_uws_pair_flags",
]
