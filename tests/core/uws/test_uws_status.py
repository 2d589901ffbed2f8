"""The uws status inputs mapped onto the core trading-state rules (pure): the engine ``system``
value, a pair's ``status``, maintenance/emergency entries, and which fetch failures say a legacy
endpoint is gone."""

from __future__ import annotations

import pytest

from krakenfutures.core.status import (
    SystemFlags,
    TickerFlags,
    check_endpoint_gone,
    derive_trading_state,
)
from krakenfutures.core.types import TradingState
from krakenfutures.core.uws.assumptions import UwsAssumptions
from krakenfutures.core.uws.events import MaintenanceNotice
from krakenfutures.core.uws.status import parse_uws_notices, parse_uws_pair_flags
from krakenfutures.errors import (
    ConnectError,
    ExchangeError,
    NotFoundError,
    RateLimitError,
    TimeoutError_,
    UnavailableError,
)

XBT = "PF_XBTUSD"
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z
MAX_AGE = 30_000


def verdict(system: str = "online", pair: str | None = "online", *, seen: int = NOW, **kw: object):
    return derive_trading_state(
        XBT,
        now_ms=NOW,
        instrument=parse_uws_pair_flags(XBT, pair, seen),
        ticker=TickerFlags(XBT, False, False, seen),
        system=SystemFlags(system, seen),
        max_age_ms=MAX_AGE,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("system", "pair", "state"),
    [
        ("online", "online", TradingState.OPEN),
        ("post_only", "online", TradingState.POST_ONLY),
        ("cancel_only", "online", TradingState.SUSPENDED),
        ("maintenance", "online", TradingState.MAINTENANCE),
        ("maintenance", "cancel_only", TradingState.MAINTENANCE),  # precedence as the core's
        ("ONLINE ", "post_only", TradingState.POST_ONLY),
        ("online", "limit_only", TradingState.POST_ONLY),
        ("online", "reduce_only", TradingState.SUSPENDED),
        ("online", "delisted", TradingState.SUSPENDED),
        ("online", "brand_new_value", TradingState.SUSPENDED),
        ("online", None, TradingState.SUSPENDED),  # no pair status: fail safe by default
        ("halted", "online", TradingState.UNKNOWN),  # a system value we do not know
    ],
)
def test_system_and_pair_status_map_to_states(
    system: str, pair: str | None, state: TradingState
) -> None:
    result = verdict(system, pair)
    assert result.state is state, result.reasons
    assert result.can_post is (state in (TradingState.OPEN, TradingState.POST_ONLY))
    assert result.can_open is (state is TradingState.OPEN)


def test_reasons_name_the_uws_source_and_an_untold_pair_status_can_be_allowed() -> None:
    assert "uws status says system cancel_only" in verdict("cancel_only").reasons[0]
    assert "pair status 'delisted'" in verdict(pair="delisted").reasons[0]
    assert "a value we do not know" in verdict(pair="odd").reasons[0]
    lenient = UwsAssumptions(untold_pair_status_tradeable=True)
    flags = parse_uws_pair_flags(XBT, None, NOW, lenient)
    assert flags.tradeable and "no pair status" in flags.source


def test_stale_uws_inputs_are_unknown() -> None:
    stale = verdict(seen=NOW - MAX_AGE - 1)
    assert stale.state is TradingState.UNKNOWN
    assert any("uws status is 30.001 s old" in r for r in stale.reasons)
    assert verdict(seen=NOW - MAX_AGE).state is TradingState.OPEN


def notice(kind: str = "maintenance", **kw: object) -> MaintenanceNotice:
    return MaintenanceNotice(kind=kind, **kw)  # type: ignore[arg-type]


def test_maintenance_entries_become_windows() -> None:
    start, end = "2026-01-01T00:00:00Z", "2026-01-01T00:30:00Z"
    blocking = notice(services=("futures_trading",), action="stop_new_orders", start=start, end=end)
    calm = notice(services=("futures_ws",), action="continue", start=start, end=end)
    spot_only = notice(services=("spot_ws",), action="stop_new_orders", start=start)
    later = notice(action="disconnect_and_wait", start="2026-01-02T00:00:00Z")
    parsed = parse_uws_notices([blocking, calm, spot_only, later], NOW)
    assert [(n.priority, n.expected_downtime_minutes) for n in parsed] == [
        ("high", 30),
        ("low", 30),
        ("high", None),
    ]
    result = verdict(notices=parsed)
    assert result.state is TradingState.MAINTENANCE
    assert any("maintenance scheduled" in r for r in result.reasons)  # the later one
    assert verdict(notices=parse_uws_notices([calm, later], NOW)).state is TradingState.OPEN
    assert verdict(notices=parse_uws_notices([blocking], NOW + 1_800_000), seen=NOW).state is (
        TradingState.MAINTENANCE
    )


def test_emergencies_block_unless_calm_and_unreadable_starts_count_as_now() -> None:
    urgent = parse_uws_notices([notice("emergency")], NOW)
    assert urgent[0].priority == "high" and urgent[0].effective_time_ms == NOW
    assert "assumed now" in urgent[0].note
    assert verdict(notices=urgent).state is TradingState.MAINTENANCE
    calm = parse_uws_notices([notice("emergency", action="reduce_activity", start="soon")], NOW)
    assert calm[0].priority == "low" and "unreadable start 'soon'" in calm[0].note
    assert verdict(notices=calm).state is TradingState.OPEN


@pytest.mark.parametrize(
    ("error", "gone"),
    [
        (NotFoundError("HTTP 404", http_status=404), True),
        (ExchangeError("HTTP 410", code="http_410", http_status=410), True),
        (ConnectError("connection refused"), True),
        (UnavailableError("HTTP 502", http_status=502), False),
        (RateLimitError("apiLimitExceeded"), False),
        (TimeoutError_("no answer"), False),
        (ValueError("bug"), False),
    ],
)
def test_which_failures_say_an_endpoint_is_gone(error: BaseException, gone: bool) -> None:
    assert check_endpoint_gone(error) is gone
