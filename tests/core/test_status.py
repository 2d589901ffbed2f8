"""TradingState derivation: staleness, maintenance windows, flags and their precedence."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.status import (
    InstrumentFlags,
    MaintenanceNotice,
    StateVerdict,
    StatusFlags,
    TickerFlags,
    check_can_trade,
    derive_all,
    derive_trading_state,
)
from krakenfutures.core.types import TradingState
from krakenfutures.errors import ConfigError

SYM = "PF_XBTUSD"
NOW = 1_772_330_400_000  # 2026-03-01T02:00:00Z
MIN = 60_000


def inst(
    *, tradeable: bool = True, post_only: bool = False, ts_ms: int = NOW, symbol: str = SYM
) -> InstrumentFlags:
    return InstrumentFlags(symbol=symbol, tradeable=tradeable, post_only=post_only, ts_ms=ts_ms)


def tick(
    *, suspended: bool = False, post_only: bool = False, ts_ms: int = NOW, symbol: str = SYM
) -> TickerFlags:
    return TickerFlags(symbol=symbol, suspended=suspended, post_only=post_only, ts_ms=ts_ms)


def stat(
    *,
    tradeable: bool = True,
    dislocation: bool = False,
    direction: str | None = None,
    volatile: bool = False,
    multiplier: D | None = None,
    ts_ms: int = NOW,
    symbol: str = SYM,
) -> StatusFlags:
    return StatusFlags(
        symbol=symbol,
        tradeable=tradeable,
        dislocation=dislocation,
        dislocation_direction=direction,
        extreme_volatility=volatile,
        im_multiplier=multiplier,
        ts_ms=ts_ms,
    )


def notice(
    start: int = NOW,
    minutes: int | None = 60,
    *,
    priority: str = "high",
    type_: str = "maintenance",
    note: str = "",
) -> MaintenanceNotice:
    return MaintenanceNotice(
        priority=priority,
        type=type_,
        effective_time_ms=start,
        expected_downtime_minutes=minutes,
        note=note,
        ts_ms=NOW,
    )


def derive(**kwargs: Any) -> StateVerdict:
    args: dict[str, Any] = {"now_ms": NOW, "instrument": inst(), "ticker": tick(), "status": None}
    args.update(kwargs)
    return derive_trading_state(SYM, **args)


# ---------------------------------------------------------------------------------- basics


def test_fresh_clean_feeds_are_open() -> None:
    verdict = derive(status=stat())
    assert verdict == StateVerdict(SYM, TradingState.OPEN, (), can_open=True, can_post=True)


def test_missing_inputs_are_unknown() -> None:
    verdict = derive(instrument=None)
    assert verdict.state is TradingState.UNKNOWN
    assert verdict.reasons == (f"no instruments data for {SYM}",)
    assert (verdict.can_open, verdict.can_post) == (False, False)
    assert derive(ticker=None).reasons == (f"no ticker data for {SYM}",)


def test_stale_instruments_feed_is_unknown_with_its_age() -> None:
    verdict = derive(instrument=inst(ts_ms=NOW - 95_000))
    assert verdict.state is TradingState.UNKNOWN
    assert verdict.reasons == ("instruments feed is 95 s old (max 60 s)",)
    assert derive(ticker=tick(ts_ms=NOW - 60_500)).reasons == (
        "ticker feed is 60.5 s old (max 60 s)",
    )


def test_age_limit_is_inclusive_and_future_stamps_are_fresh() -> None:
    assert derive(instrument=inst(ts_ms=NOW - 60_000)).state is TradingState.OPEN
    assert derive(ticker=tick(ts_ms=NOW + 5_000)).state is TradingState.OPEN
    assert derive(ticker=tick(ts_ms=NOW - 10_000), max_age_ms=5_000).state is TradingState.UNKNOWN


def test_inputs_for_another_symbol_are_unknown() -> None:
    verdict = derive(ticker=tick(symbol="PF_ETHUSD"))
    assert verdict.state is TradingState.UNKNOWN
    assert verdict.reasons == (f"ticker input is for PF_ETHUSD, not {SYM}",)
    assert derive(status=stat(symbol="PI_XBTUSD")).state is TradingState.UNKNOWN


def test_symbols_are_case_insensitive() -> None:
    verdict = derive_trading_state(
        "pf_xbtusd", now_ms=NOW, instrument=inst(symbol="pf_xbtusd"), ticker=tick(), status=None
    )
    assert verdict.symbol == SYM and verdict.state is TradingState.OPEN


def test_bad_max_age_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_age_ms"):
        derive(max_age_ms=0)


# -------------------------------------------------------------------------------- flags


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"ticker": tick(suspended=True)}, "ticker says suspended"),
        ({"instrument": inst(tradeable=False)}, "instruments feed says not tradeable"),
        ({"status": stat(tradeable=False)}, "instrument status says not tradeable"),
    ],
)
def test_suspended(kwargs: dict[str, Any], reason: str) -> None:
    verdict = derive(**kwargs)
    assert verdict.state is TradingState.SUSPENDED
    assert verdict.reasons == (reason,)
    assert (verdict.can_open, verdict.can_post) == (False, False)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"ticker": tick(post_only=True)}, "ticker says post-only"),
        ({"instrument": inst(post_only=True)}, "instruments feed says post-only"),
        (
            {"status": stat(dislocation=True, direction="ABOVE_UPPER_BOUND")},
            "price dislocation (ABOVE_UPPER_BOUND): taking liquidity paused, post-only allowed",
        ),
    ],
)
def test_post_only(kwargs: dict[str, Any], reason: str) -> None:
    verdict = derive(**kwargs)
    assert verdict.state is TradingState.POST_ONLY
    assert verdict.reasons == (reason,)
    assert (verdict.can_open, verdict.can_post) == (False, True)


def test_extreme_volatility_stays_open_and_names_the_multiplier() -> None:
    verdict = derive(status=stat(volatile=True, multiplier=D("2.5")))
    assert verdict.state is TradingState.OPEN and verdict.can_open
    assert verdict.reasons == ("extreme volatility (initial margin x2.5); trading allowed",)
    assert "no initial margin multiplier" in derive(status=stat(volatile=True)).reasons[0]


def test_stale_status_is_still_applied() -> None:
    verdict = derive(status=stat(dislocation=True, ts_ms=NOW - 120_000))
    assert verdict.state is TradingState.POST_ONLY
    assert verdict.reasons == (
        "price dislocation (direction not given): taking liquidity paused, post-only allowed",
        "instrument status is 120 s old (max 60 s); its flags still applied",
    )


# -------------------------------------------------------------------------- maintenance


def test_high_maintenance_in_effect() -> None:
    verdict = derive(notices=[notice(NOW, 60, note="Scheduled upgrade")])
    assert verdict.state is TradingState.MAINTENANCE
    assert verdict.reasons == (
        "maintenance window 2026-03-01 02:00-03:00 UTC in effect: Scheduled upgrade",
    )
    assert (verdict.can_open, verdict.can_post) == (False, False)


def test_maintenance_window_edges() -> None:
    assert derive(notices=[notice(NOW + 1)]).state is TradingState.OPEN
    assert derive(notices=[notice(NOW - 60 * MIN)]).state is TradingState.OPEN  # end exclusive
    assert derive(notices=[notice(NOW - 60 * MIN + 1)]).state is TradingState.MAINTENANCE


def test_upcoming_maintenance_is_only_a_reason() -> None:
    verdict = derive(notices=[notice(NOW + 30 * MIN, 90)])
    assert verdict.state is TradingState.OPEN
    assert verdict.reasons == ("maintenance scheduled 2026-03-01 02:30-04:00 UTC",)


@pytest.mark.parametrize("minutes", [None, 0])
def test_maintenance_without_downtime_lasts_an_hour(minutes: int | None) -> None:
    verdict = derive(notices=[notice(NOW - 59 * MIN, minutes)])
    assert verdict.state is TradingState.MAINTENANCE
    assert verdict.reasons == (
        "maintenance window 2026-03-01 01:01-02:01 UTC (length assumed) in effect",
    )
    assert derive(notices=[notice(NOW - 60 * MIN, minutes)]).state is TradingState.OPEN


def test_window_across_midnight_names_both_dates() -> None:
    start = NOW - 150 * MIN  # 2026-02-28 23:30
    verdict = derive(notices=[notice(start, 180)])
    assert verdict.reasons == (
        "maintenance window 2026-02-28 23:30-2026-03-01 02:30 UTC in effect",
    )


def test_low_priority_and_other_notice_types_do_not_block() -> None:
    verdict = derive(
        notices=[
            notice(NOW, 60, priority="medium"),
            notice(NOW, 60, type_="new_feature"),
            notice(NOW - 10 * 60 * MIN, 60),  # long over
        ]
    )
    assert verdict.state is TradingState.OPEN
    assert verdict.reasons == ("medium priority maintenance 2026-03-01 02:00-03:00 UTC in effect",)
    assert derive(notices=[notice(NOW, priority="HIGH", type_="Maintenance")]).state is (
        TradingState.MAINTENANCE
    )


def test_absurd_notice_time_does_not_crash() -> None:
    verdict = derive(notices=[notice(10**20, 60)])
    assert verdict.state is TradingState.OPEN
    assert verdict.reasons[0].startswith("maintenance scheduled")


# --------------------------------------------------------------------------- precedence

SEVERITY = [
    TradingState.OPEN,
    TradingState.POST_ONLY,
    TradingState.SUSPENDED,
    TradingState.MAINTENANCE,
    TradingState.UNKNOWN,
]


@given(
    st.sampled_from(["missing", "stale", "fresh"]),
    st.sampled_from(["missing", "stale", "fresh"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.none() | st.booleans(),  # status: None, or its tradeable flag
    st.booleans(),
    st.booleans(),
    st.booleans(),  # maintenance in effect
)
def test_precedence(
    instrument_age: str,
    ticker_age: str,
    tradeable: bool,
    inst_post_only: bool,
    suspended: bool,
    tick_post_only: bool,
    volatile: bool,
    status_tradeable: bool | None,
    dislocation: bool,
    status_stale: bool,
    maintenance: bool,
) -> None:
    def ts(age: str) -> int:
        return NOW - (95_000 if age == "stale" else 1_000)

    instrument = (
        None
        if instrument_age == "missing"
        else inst(tradeable=tradeable, post_only=inst_post_only, ts_ms=ts(instrument_age))
    )
    ticker = (
        None
        if ticker_age == "missing"
        else tick(suspended=suspended, post_only=tick_post_only, ts_ms=ts(ticker_age))
    )
    status = (
        None
        if status_tradeable is None
        else stat(
            tradeable=status_tradeable,
            dislocation=dislocation,
            volatile=volatile,
            ts_ms=NOW - (120_000 if status_stale else 0),
        )
    )
    verdict = derive(
        instrument=instrument,
        ticker=ticker,
        status=status,
        notices=[notice(NOW - MIN)] if maintenance else [],
    )

    with_status = status is not None
    if instrument is None or ticker is None or instrument_age == "stale" or ticker_age == "stale":
        expected = TradingState.UNKNOWN
    elif maintenance:
        expected = TradingState.MAINTENANCE
    elif not tradeable or suspended or (with_status and not status_tradeable):
        expected = TradingState.SUSPENDED
    elif inst_post_only or tick_post_only or (with_status and dislocation):
        expected = TradingState.POST_ONLY
    else:
        expected = TradingState.OPEN
    assert verdict.state is expected
    assert verdict.can_open == (expected is TradingState.OPEN)
    assert verdict.can_post == (expected in (TradingState.OPEN, TradingState.POST_ONLY))
    assert not verdict.can_open or verdict.can_post
    if expected is not TradingState.OPEN:
        assert verdict.reasons
    # The most severe category's reasons come first.
    if expected is TradingState.MAINTENANCE:
        assert verdict.reasons[0].startswith("maintenance window")


# ------------------------------------------------------------------------ derive_all, check


def test_derive_all_looks_up_by_symbol_case_insensitively() -> None:
    eth = "PF_ETHUSD"
    verdicts = derive_all(
        ["pf_xbtusd", eth, "PI_XBTUSD"],
        now_ms=NOW,
        instruments={"pf_xbtusd": inst(), eth: inst(symbol=eth)},
        tickers={SYM: tick(), eth: tick(symbol=eth, post_only=True)},
        statuses={eth: stat(symbol=eth, volatile=True, multiplier=D(2))},
        notices=[],
    )
    assert list(verdicts) == [SYM, eth, "PI_XBTUSD"]
    assert verdicts[SYM].state is TradingState.OPEN
    assert verdicts[eth].state is TradingState.POST_ONLY
    assert verdicts[eth].reasons == (
        "ticker says post-only",
        "extreme volatility (initial margin x2); trading allowed",
    )
    assert verdicts["PI_XBTUSD"].state is TradingState.UNKNOWN


def test_derive_all_applies_venue_wide_maintenance() -> None:
    verdicts = derive_all(
        [SYM, "PF_ETHUSD"],
        now_ms=NOW,
        instruments={SYM: inst(), "PF_ETHUSD": inst(symbol="PF_ETHUSD")},
        tickers={SYM: tick(), "PF_ETHUSD": tick(symbol="PF_ETHUSD")},
        notices=[notice()],
    )
    assert {v.state for v in verdicts.values()} == {TradingState.MAINTENANCE}


@pytest.mark.parametrize(
    ("state", "post_only_order", "allowed"),
    [
        (TradingState.OPEN, False, True),
        (TradingState.OPEN, True, True),
        (TradingState.POST_ONLY, False, False),
        (TradingState.POST_ONLY, True, True),
        (TradingState.SUSPENDED, True, False),
        (TradingState.MAINTENANCE, True, False),
        (TradingState.UNKNOWN, True, False),
        (TradingState.UNKNOWN, False, False),
    ],
)
def test_check_can_trade(state: TradingState, post_only_order: bool, allowed: bool) -> None:
    verdict = StateVerdict(
        SYM,
        state,
        (),
        can_open=state is TradingState.OPEN,
        can_post=state in (TradingState.OPEN, TradingState.POST_ONLY),
    )
    assert check_can_trade(verdict, post_only_order=post_only_order) is allowed


def test_check_can_trade_never_raises() -> None:
    assert check_can_trade(object(), post_only_order=True) is False  # type: ignore[arg-type]
    assert check_can_trade(None, post_only_order=False) is False  # type: ignore[arg-type]
