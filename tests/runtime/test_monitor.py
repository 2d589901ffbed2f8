"""TradingStateMonitor against the real simulator (in memory, and once over loopback HTTP)."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.core.events import TickerUpdate, TradingStateChanged
from krakenfutures.core.orders import CancelIntent, OrderIntent
from krakenfutures.core.retry import RetryPolicy
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.errors import ConfigError, UnavailableError
from krakenfutures.risk.rules import Approved, check_trading_state
from krakenfutures.runtime.monitor import TradingStateMonitor
from krakenfutures.testing import exchange_pair, running_simulator, sim_config

from .states import MAINTENANCE, OPEN, POST_ONLY, SUSPENDED, UNKNOWN

XBT = "PF_XBTUSD"
ETH = "PF_ETHUSD"
MAX_AGE = 30_000
POLL_S = 10.0


def make(
    symbols: tuple[str, ...] = (XBT,), sleep: Any = asyncio.sleep, **client_kwargs: Any
) -> tuple[TradingStateMonitor, Any, Any]:
    """(monitor, client, handle): no client-side retries or pacing, so the fake clock only
    moves when a test moves it."""
    kwargs: dict[str, Any] = {"retry": RetryPolicy(max_attempts=1), "rate_limit": False}
    client, handle = exchange_pair(
        sim_config(rate_limits=False), async_client=True, **{**kwargs, **client_kwargs}
    )
    monitor = TradingStateMonitor(
        client, symbols, now_ms=handle.clock.now_ms, poll_s=POLL_S, max_age_ms=MAX_AGE, sleep=sleep
    )
    return monitor, client, handle


def changes(events: list[TradingStateChanged]) -> list[tuple[str, TradingState, TradingState]]:
    return [(e.symbol, e.previous, e.state) for e in events]


# ------------------------------------------------------------------------------- basics


async def test_unknown_until_the_first_complete_poll() -> None:
    monitor, _, handle = make()
    assert monitor.state(XBT) is UNKNOWN
    assert "no complete poll yet" in monitor.verdict(XBT).reasons[0]
    assert monitor.evaluate(handle.clock.now_ms()) == []
    events = await monitor.poll_once()
    assert changes(events) == [(XBT, UNKNOWN, OPEN)]
    assert events[0].ts_ms == handle.clock.now_ms()
    assert monitor.verdict(XBT).can_open and monitor.verdict(XBT).can_post
    assert await monitor.poll_once() == []


async def test_every_transition_is_one_event_with_reasons() -> None:
    monitor, _, handle = make()
    await monitor.poll_once()
    expected_reason = {
        POST_ONLY: "post-only",
        SUSPENDED: "suspended",
        MAINTENANCE: "maintenance window",
        OPEN: None,
    }
    previous = OPEN
    for state in (POST_ONLY, SUSPENDED, MAINTENANCE, OPEN):
        handle.clock.advance(1_000)
        handle.ctl(cmd="state", symbol=XBT, state=state.value)
        events = await monitor.poll_once()
        assert changes(events) == [(XBT, previous, state)]
        assert monitor.state(XBT) is state
        verdict = monitor.verdict(XBT)
        assert verdict.can_open is (state is OPEN)
        assert verdict.can_post is (state in (OPEN, POST_ONLY))
        wanted = expected_reason[state]
        if wanted is not None:
            assert any(wanted in r for r in events[0].reasons), events[0].reasons
        assert await monitor.poll_once() == []  # the same state again is no event
        previous = state


async def test_symbols_are_normalised_and_an_unlisted_symbol_is_unknown() -> None:
    monitor, _, _ = make(("pf_xbtusd ", "PF_NOPE"))
    assert monitor.symbols == (XBT, "PF_NOPE")
    events = await monitor.poll_once()
    assert changes(events) == [(XBT, UNKNOWN, OPEN)]
    assert monitor.state("Pf_XbtUsd") is OPEN
    assert monitor.state("pf_nope") is UNKNOWN
    assert "no such symbol" in monitor.verdict("PF_NOPE").reasons[0]


def test_bad_arguments_are_refused() -> None:
    client, handle = exchange_pair(async_client=True)
    now = handle.clock.now_ms
    with pytest.raises(ConfigError, match="symbol"):
        TradingStateMonitor(client, [], now_ms=now)
    with pytest.raises(ConfigError, match="polling interval"):
        TradingStateMonitor(client, [XBT], now_ms=now, poll_s=10, max_age_ms=10_000)
    with pytest.raises(ConfigError, match="poll_s"):
        TradingStateMonitor(client, [XBT], now_ms=now, poll_s=0)


# --------------------------------------------------------------------------- fail safe


@pytest.mark.parametrize("fault", ["unavailable_rate", "http_5xx_rate"])
async def test_failing_rest_ages_into_unknown_and_back(
    fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    monitor, _, handle = make()
    await monitor.poll_once()
    handle.ctl(cmd="faults", set={fault: 1.0})
    caplog.set_level(logging.INFO, logger="krakenfutures.runtime.monitor")
    seen: list[TradingStateChanged] = []
    for elapsed in range(10_000, 60_000, 10_000):  # 50 s of outage with a 30 s max age
        handle.clock.advance(10_000)
        seen += await monitor.poll_once()
        assert monitor.state(XBT) is (OPEN if elapsed <= MAX_AGE else UNKNOWN)
    assert changes(seen) == [(XBT, OPEN, UNKNOWN)]
    reasons = " | ".join(seen[0].reasons)
    assert "old" in reasons and "fetch failing" in reasons
    mine = [r for r in caplog.records if r.name == "krakenfutures.runtime.monitor"]
    warnings = [r for r in mine if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per outage, not per poll
    assert all(source in warnings[0].getMessage() for source in ("instruments", "tickers"))

    handle.ctl(cmd="faults", set={fault: 0.0})
    handle.clock.advance(10_000)
    assert changes(await monitor.poll_once()) == [(XBT, UNKNOWN, OPEN)]
    assert not any("fetch failing" in r for r in monitor.verdict(XBT).reasons)
    recovered = [r for r in caplog.records if r.name == "krakenfutures.runtime.monitor"]
    assert [r.levelno for r in recovered[len(mine) :]] == [logging.INFO]  # "recovered"


async def test_evaluate_goes_unknown_by_ageing_alone() -> None:
    monitor, _, handle = make((XBT, ETH))
    await monitor.poll_once()
    now = handle.clock.advance(MAX_AGE)
    assert monitor.evaluate(now) == []  # exactly max age is still fresh
    now = handle.clock.advance(1)
    events = monitor.evaluate(now)
    assert changes(events) == [(XBT, OPEN, UNKNOWN), (ETH, OPEN, UNKNOWN)]
    assert all(e.ts_ms == now for e in events)
    assert monitor.evaluate(now + 5_000) == []


async def test_a_ticker_alone_cannot_open_a_stale_instrument() -> None:
    monitor, _, handle = make()
    handle.ctl(cmd="state", symbol=XBT, state="suspended")
    await monitor.poll_once()
    assert monitor.state(XBT) is SUSPENDED
    handle.clock.advance(MAX_AGE + 1)
    assert monitor.state(XBT) is UNKNOWN
    monitor.apply_ticker(TickerUpdate(XBT, ts_ms=handle.clock.now_ms()))  # "not suspended"
    assert monitor.state(XBT) is UNKNOWN
    assert any("instruments feed is" in r for r in monitor.verdict(XBT).reasons)


async def test_ws_tickers_refresh_flags_between_polls() -> None:
    monitor, _, handle = make()
    await monitor.poll_once()
    sent_ms = handle.clock.now_ms()
    handle.clock.advance(2_000)
    monitor.apply_ticker(TickerUpdate("pf_xbtusd", ts_ms=handle.clock.now_ms(), suspended=True))
    assert monitor.state(XBT) is SUSPENDED
    monitor.apply_ticker(TickerUpdate(XBT, ts_ms=sent_ms - 1))  # older than what we hold
    assert monitor.state(XBT) is SUSPENDED
    monitor.apply_ticker(TickerUpdate(XBT, ts_ms=handle.clock.now_ms(), post_only=True))
    assert monitor.state(XBT) is POST_ONLY
    assert changes(monitor.evaluate(handle.clock.now_ms())) == [(XBT, OPEN, POST_ONLY)]
    # the next REST poll (sent later than the last tick) says open again
    handle.clock.advance(1_000)
    assert changes(await monitor.poll_once()) == [(XBT, POST_ONLY, OPEN)]


async def test_missing_notifications_keep_the_state_unknown() -> None:
    # notifications need an API key: without one, maintenance windows cannot be known
    monitor, _, _ = make(api_key=None, api_secret=None, nonce="none", env={})
    assert await monitor.poll_once() == []
    verdict = monitor.verdict(XBT)
    assert verdict.state is UNKNOWN
    assert "notifications not fetched" in verdict.reasons[0]
    assert any("notifications fetch failing" in r for r in verdict.reasons)


class OneSourceDown:
    """The real client, with one of its methods made to fail on demand (the simulator's
    fault knobs hit every endpoint at once)."""

    def __init__(self, client: Any, method: str) -> None:
        self.client, self.method, self.down = client, method, False

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.client, name)
        if name != self.method:
            return real

        async def call(**kwargs: Any) -> Any:
            if self.down:
                raise UnavailableError("Unavailable", code="Unavailable", endpoint=name)
            return await real(**kwargs)

        return call


async def test_stale_notifications_alone_make_the_state_unknown() -> None:
    _, client, handle = make()
    flaky: Any = OneSourceDown(client, "get_notifications")
    monitor = TradingStateMonitor(flaky, [XBT], now_ms=handle.clock.now_ms, max_age_ms=MAX_AGE)
    await monitor.poll_once()
    flaky.down = True
    handle.clock.advance(MAX_AGE)
    assert await monitor.poll_once() == []  # instruments and tickers fresh, notices just in age
    handle.clock.advance(1)
    events = await monitor.poll_once()
    assert changes(events) == [(XBT, OPEN, UNKNOWN)]
    assert events[0].reasons[0].startswith("notifications feed is 30.001 s old")
    flaky.down = False
    assert changes(await monitor.poll_once()) == [(XBT, UNKNOWN, OPEN)]


async def test_stale_instrument_status_is_still_applied_and_does_not_block() -> None:
    _, client, handle = make()
    flaky: Any = OneSourceDown(client, "get_instrument_status")
    monitor = TradingStateMonitor(flaky, [XBT], now_ms=handle.clock.now_ms, max_age_ms=MAX_AGE)
    flaky.down = True
    await monitor.poll_once()
    assert monitor.state(XBT) is UNKNOWN  # never seen: the first poll is not complete
    flaky.down = False
    await monitor.poll_once()
    flaky.down = True
    handle.clock.advance(MAX_AGE + 1)
    assert await monitor.poll_once() == []
    reasons = monitor.verdict(XBT).reasons
    assert monitor.state(XBT) is OPEN
    assert any("its flags still applied" in r for r in reasons)
    assert any(r.startswith("instrument status fetch failing since") for r in reasons)


async def test_maintenance_notice_applies_to_every_symbol() -> None:
    # Kraken's notices name no symbol; the simulator's per-instrument maintenance is published
    # as a venue-wide high-priority notice (no expected downtime: 60 min assumed by the core).
    monitor, _, handle = make((XBT, ETH))
    await monitor.poll_once()
    handle.ctl(cmd="state", symbol=XBT, state="maintenance")
    events = await monitor.poll_once()
    assert changes(events) == [(XBT, OPEN, MAINTENANCE), (ETH, OPEN, MAINTENANCE)]
    assert any("length assumed" in r for r in events[0].reasons)
    handle.clock.advance(60 * 60_000)  # past the assumed window: the suspended ticker remains
    assert changes(await monitor.poll_once()) == [
        (XBT, MAINTENANCE, SUSPENDED),
        (ETH, MAINTENANCE, OPEN),
    ]


# --------------------------------------------------------------------------------- run


async def test_run_emits_changes_until_cancelled() -> None:
    emitted: list[TradingStateChanged] = []
    sleeps = 0

    async def fake_sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        handle.clock.advance(int(seconds * 1000))
        if sleeps == 1:
            # a WS tick during the run is emitted at once, not at the next poll
            monitor.apply_ticker(TickerUpdate(XBT, ts_ms=handle.clock.now_ms(), suspended=True))
            assert changes(emitted)[-1] == (XBT, OPEN, SUSPENDED)
        elif sleeps == 2:
            handle.ctl(cmd="state", symbol=XBT, state="post_only")
        else:
            raise asyncio.CancelledError

    monitor, _, handle = make(sleep=fake_sleep)
    with pytest.raises(asyncio.CancelledError):
        await monitor.run(emitted.append)
    assert changes(emitted) == [
        (XBT, UNKNOWN, OPEN),
        (XBT, OPEN, SUSPENDED),
        (XBT, SUSPENDED, OPEN),  # the poll after the tick: the exchange says open
        (XBT, OPEN, POST_ONLY),
    ]
    with pytest.raises(asyncio.CancelledError):  # run() can be started again after a stop
        await monitor.run(emitted.append)


# ------------------------------------------------------------------------ gate property

_LMT = OrderIntent(XBT, Side.BUY, Decimal("0.01"), OrderType.LMT, limit_price=Decimal(50000))
_POST = OrderIntent(XBT, Side.BUY, Decimal("0.01"), OrderType.POST, limit_price=Decimal(50000))
_CANCEL = CancelIntent(cli_ord_id="any")
_REFUSED_FOR_STATE = {"marketSuspended", "marketIsPostOnly", "marketInactive"}

_STATES = ["open", "post_only", "suspended", "maintenance"]
_round = st.tuples(
    st.sampled_from([None, *_STATES]),  # switch the exchange to this state first
    st.sampled_from([False, False, True]),  # REST failing during this round's poll
    st.sampled_from([True, True, True, False]),  # poll
    st.integers(min_value=0, max_value=MAX_AGE + 5_000),  # then let time pass
)


def _allowed(state: TradingState) -> list[bool]:
    """Whether the gate lets out (limit order, post-only order, cancel) in ``state``."""
    return [
        isinstance(check_trading_state(intent, state), Approved)
        for intent in (_LMT, _POST, _CANCEL)
    ]


@settings(max_examples=25, derandomize=True, deadline=None)
@given(st.lists(_round, min_size=1, max_size=10))
def test_the_gate_never_lets_a_forbidden_order_out(
    rounds: list[tuple[str | None, bool, bool, int]],
) -> None:
    asyncio.run(_gate_scenario(rounds))


async def _gate_scenario(rounds: list[tuple[str | None, bool, bool, int]]) -> None:
    monitor, client, handle = make()
    truth = TradingState.OPEN  # what the exchange says now
    seen: TradingState | None = None  # what it said at the last successful poll
    seen_ms = 0

    def check_bound() -> TradingState:
        state = monitor.state(XBT)
        fresh = seen is not None and handle.clock.now_ms() - seen_ms <= MAX_AGE
        # never more than the exchange allowed when we last looked; only cancels once stale
        bound = seen if fresh and seen is not None else UNKNOWN
        for mine, limit in zip(_allowed(state), _allowed(bound), strict=True):
            assert limit or not mine, (state, bound, rounds)
        return state

    for switch, faulty, poll, advance_ms in rounds:
        if switch is not None:
            handle.ctl(cmd="state", symbol=XBT, state=switch)
            truth = TradingState(switch)
        handle.ctl(cmd="faults", set={"unavailable_rate": 1.0 if faulty else 0.0})
        if poll:
            sent_ms = handle.clock.now_ms()
            await monitor.poll_once()
            if not faulty:
                seen, seen_ms = truth, sent_ms
                state = check_bound()
                assert state is truth, (state, truth, rounds)
                # what the gate lets out right after a good poll, the exchange accepts
                for intent in (_LMT, _POST):
                    if isinstance(check_trading_state(intent, state), Approved):
                        reply = await client.send_order(
                            order_type=intent.order_type.value,
                            symbol=XBT,
                            side="buy",
                            qty=intent.qty,
                            limit_price=intent.limit_price,
                        )
                        assert reply.status not in _REFUSED_FOR_STATE, (reply.status, rounds)
                await client.cancel_all_orders()
        check_bound()
        handle.clock.advance(advance_ms)
        check_bound()


# ----------------------------------------------------------------------------- loopback


async def test_monitor_over_loopback_http() -> None:
    with running_simulator(sim_config(rate_limits=False)) as handle:
        client = AsyncClient(
            base_url=handle.base_url,
            api_key=handle.api_key,
            api_secret=handle.api_secret,
            nonce="memory",
            rate_limit=False,
            env={},
        )
        async with client:
            monitor = TradingStateMonitor(
                client, [XBT], now_ms=handle.clock.now_ms, max_age_ms=MAX_AGE
            )
            assert changes(await monitor.poll_once()) == [(XBT, UNKNOWN, OPEN)]
            handle.ctl(cmd="state", symbol=XBT, state="maintenance")
            events = await monitor.poll_once()
            assert changes(events) == [(XBT, OPEN, MAINTENANCE)]
            handle.ctl(cmd="state", symbol=XBT, state="open")
            assert changes(await monitor.poll_once()) == [(XBT, MAINTENANCE, OPEN)]
