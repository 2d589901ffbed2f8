"""Trading-state monitor: polls Kraken's status endpoints and keeps a fail-safe gate per symbol.

The rules live in :mod:`krakenfutures.core.status`; this module only feeds them. Every
``poll_s`` seconds :class:`TradingStateMonitor` fetches ``/instruments``, ``/tickers``,
``/instruments/status`` and ``/notifications``; WebSocket tickers refresh the ticker flags in
between (:meth:`TradingStateMonitor.apply_ticker`). :meth:`TradingStateMonitor.state` derives
the state afresh at every call, so the gate never reads a cached verdict that has gone stale.

Fail-safe decisions (on top of the core's):

* **UNKNOWN until the first complete poll**: each of the four sources must have answered once.
* **A failing fetch keeps the old data**, which ages into UNKNOWN after ``max_age_ms`` (the core
  checks instruments and tickers). Notifications age the same way here (the core does not look
  at their age): without a recent list we cannot know whether a maintenance window started.
  ``/instruments/status`` follows the core: once seen, an old report is still applied.
* **Timestamps are conservative**: REST data is dated when its request was *sent*; a WebSocket
  ticker dated in the future (clock skew) is dated now, so skew cannot keep data fresh.
* **A symbol missing from** ``/instruments`` is UNKNOWN ("no such symbol").
* A notice whose ``effectiveTime`` cannot be read is taken as effective when it was fetched:
  an unreadable high-priority maintenance notice then blocks trading instead of being ignored.
* Kraken's notices name no symbol: a maintenance notice applies to every symbol (core rule).

Each change of a monitored symbol's state is a :class:`TradingStateChanged` carrying the
verdict's reasons. Fetch failures are logged once per outage (and once on recovery).

**After the legacy REST status endpoints are gone** (Kraken ends REST v3 on 2027-03-01): with a
``uws`` :class:`~krakenfutures.runtime.uws_status.UwsStatusWatch` (the unified dialect), once
:data:`GONE_POLLS` polls *in a row* had a fetch fail in a way that says the endpoint is gone
(:func:`~krakenfutures.core.status.check_endpoint_gone`: HTTP 404/410 or the connection
refused; 5xx, ``Unavailable``, timeouts and rate limits are outages and never switch), the
monitor stops polling REST for good (for this process) and derives every state from the uws
``status`` channel (engine ``system`` value and maintenance/emergency entries) and the
``instrument`` channel (each pair's status), mapped onto the same core rules
(:mod:`krakenfutures.core.uws.status`); WebSocket ticker flags still count. The switch is one
warning log line and one alert (``alerts.publish``). Those inputs are current while the status
socket is live (connected, ``status`` and the ``instrument`` snapshot received since its
latest connect); each poll that finds it live refreshes them, so a dead socket ages them into
UNKNOWN after ``max_age_ms`` like a failing REST source. Until the first complete uws data:
UNKNOWN. What uws cannot tell (no price dislocation or extreme-volatility flags, no notice
texts beyond the status entries): see docs/migration-uws.md. Without a watch (the legacy
dialect) nothing switches: failing sources age into UNKNOWN as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from krakenfutures.core.events import TickerUpdate, TradingStateChanged
from krakenfutures.core.status import (
    DEFAULT_MAX_AGE_MS,
    InstrumentFlags,
    MaintenanceNotice,
    StateVerdict,
    StatusFlags,
    SystemFlags,
    TickerFlags,
    check_endpoint_gone,
    derive_trading_state,
    parse_instrument_flags,
    parse_status_flags,
    parse_ticker_flags,
)
from krakenfutures.core.timefmt import iso_ms, parse_iso_ms
from krakenfutures.core.types import TradingState, normalize_symbol
from krakenfutures.core.uws.status import parse_uws_notices, parse_uws_pair_flags
from krakenfutures.errors import ConfigError
from krakenfutures.signals.alerts import Alert, AlertKind, Severity

if TYPE_CHECKING:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.core.rest.schema_account import Notification
    from krakenfutures.runtime.uws_status import UwsStatusWatch

log = logging.getLogger(__name__)

INSTRUMENTS = "instruments"
TICKERS = "tickers"
STATUS = "instrument status"
NOTIFICATIONS = "notifications"
SOURCES = (INSTRUMENTS, TICKERS, STATUS, NOTIFICATIONS)
"""The REST sources of one poll, in the order they are fetched and reported."""
GONE_POLLS = 3
"""Polls in a row with a source gone (404/410/refused) before the switch to uws."""
UWS_SOURCE = "uws status + instrument channels (legacy REST status endpoints gone)"
UNSEEN_AFTER_SWITCH = (
    "price dislocation and extreme volatility (/instruments/status), Kraken's notification "
    "texts (/notifications; only the uws status channel's maintenance entries remain)"
)


# ------------------------------------------------------------------------ wire rows -> flags


def parse_notices(rows: Iterable[Notification], ts_ms: int) -> tuple[MaintenanceNotice, ...]:
    """``/notifications`` rows as :class:`MaintenanceNotice`; an unreadable ``effectiveTime``
    is taken as ``ts_ms`` (in effect now) and said so in the note."""
    notices = []
    for row in rows:
        effective = parse_iso_ms(row.effective_time)
        note = row.note
        if effective is None:
            effective = ts_ms
            note = f"{note} (unreadable effective time {row.effective_time!r}: assumed now)"
        notices.append(
            MaintenanceNotice(
                priority=row.priority,
                type=row.type,
                effective_time_ms=effective,
                expected_downtime_minutes=row.expected_downtime_minutes,
                note=note,
                ts_ms=ts_ms,
            )
        )
    return tuple(notices)


def _seconds(ms: int) -> str:
    return f"{Decimal(ms).scaleb(-3).normalize():f} s"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


async def _attempt(call: Awaitable[Any]) -> Any:
    """The call's result, or the exception it raised (cancellation still propagates)."""
    try:
        return await call
    except Exception as exc:  # any failure keeps the old data: fail safe, never crash the loop
        return exc


# ----------------------------------------------------------------------------------- monitor


class TradingStateMonitor:
    """Keeps the :class:`TradingState` of ``symbols`` from Kraken's REST status endpoints and
    the WebSocket ticker feed, and reports every change as a :class:`TradingStateChanged`.

    ``now_ms`` is the clock (epoch ms); ``poll_s`` the REST polling interval; ``max_age_ms``
    how old instruments, tickers and notifications may be before the state is UNKNOWN (it must
    exceed the polling interval, or the state would flap between polls); ``sleep`` the
    coroutine :meth:`run` waits with. :meth:`state` and :meth:`verdict` answer for any symbol;
    events are emitted for ``symbols`` only. ``uws``: where to read the trading state once the
    legacy REST status endpoints are gone (see the module docstring); ``alerts``: anything with
    ``publish(Alert)`` (the alert router), told once when that switch happens. Raises
    :class:`ConfigError` for bad arguments.
    """

    def __init__(
        self,
        client: AsyncClient,
        symbols: Iterable[str],
        *,
        now_ms: Callable[[], int],
        poll_s: float = 10.0,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        uws: UwsStatusWatch | None = None,
        alerts: Any = None,
    ) -> None:
        self._symbols = tuple(dict.fromkeys(normalize_symbol(s) for s in symbols))
        if not self._symbols or not all(self._symbols):
            raise ConfigError("TradingStateMonitor needs at least one non-empty symbol to watch")
        if not poll_s > 0:
            raise ConfigError(f"poll_s must be positive, got {poll_s}")
        if max_age_ms <= poll_s * 1000:
            raise ConfigError(
                f"max_age_ms ({max_age_ms}) must exceed the polling interval "
                f"({poll_s} s), or the state turns UNKNOWN between polls; "
                f"raise max_age_ms or poll more often"
            )
        self._client = client
        self._now_ms = now_ms
        self._poll_s = poll_s
        self._max_age_ms = max_age_ms
        self._sleep = sleep
        self._instruments: dict[str, InstrumentFlags] = {}
        self._tickers: dict[str, TickerFlags] = {}
        self._statuses: dict[str, StatusFlags] = {}
        self._notices: tuple[MaintenanceNotice, ...] = ()
        self._fetched_ms: dict[str, int] = {}  # source -> send time of its last good reply
        self._failing: dict[str, str] = {}  # source -> why it has been failing, and since when
        self._last = dict.fromkeys(self._symbols, TradingState.UNKNOWN)
        self._emit: Callable[[TradingStateChanged], None] | None = None
        self._state_cache: dict[str, tuple[int, TradingState]] = {}  # symbol -> (until, state)
        self.alerts = alerts
        self._uws = uws
        self._gone_polls = 0  # polls in a row with a source gone
        self.switched_ms: int | None = None
        """When the monitor switched to the uws channels (``None``: still on REST)."""
        self._uws_live_ms: int | None = None  # when the uws data was last known current
        if uws is not None:
            uws.on_change = self._on_uws_change

    @property
    def symbols(self) -> tuple[str, ...]:
        """The watched symbols, normalised, in the order given."""
        return self._symbols

    # ------------------------------------------------------------------------------ reading

    def state(self, symbol: str) -> TradingState:
        """The trading state of ``symbol`` now (staleness counts at once).

        Asked before every order, so the answer is cached until the earliest moment it could
        change by time alone (an input reaching ``max_age_ms``; with maintenance notices held,
        at most a second) and dropped whenever new data arrives."""
        now = self._now_ms()
        cached = self._state_cache.get(symbol)
        if cached is not None and now < cached[0]:
            return cached[1]
        key = normalize_symbol(symbol)
        state = self.verdict(key, now_ms=now).state
        self._state_cache[symbol] = (self._valid_until(key, now), state)
        return state

    @property
    def on_uws(self) -> bool:
        """Whether the state now comes from the uws channels (after the switch)."""
        return self.switched_ms is not None

    def _valid_until(self, symbol: str, now: int) -> int:
        if self.on_uws:
            until = (self._uws_live_ms if self._uws_live_ms is not None else now) + self._max_age_ms
            return min(until, now + 1_000) if self._uws and self._uws.notices else until
        stamps = [self._fetched_ms.get(NOTIFICATIONS, now)]
        for held in (self._instruments.get(symbol), self._tickers.get(symbol)):
            if held is not None:
                stamps.append(held.ts_ms)
        until = min(stamps) + self._max_age_ms
        if self._notices:  # a maintenance window may open or close at any moment
            until = min(until, now + 1_000)
        return until

    def verdict(self, symbol: str, *, now_ms: int | None = None) -> StateVerdict:
        """The full :class:`StateVerdict` of ``symbol`` at ``now_ms`` (default: the clock)."""
        now = self._now_ms() if now_ms is None else now_ms
        symbol = normalize_symbol(symbol)
        if self.on_uws:
            return self._uws_verdict(symbol, now)
        failing = tuple(f"{src} fetch failing {why}" for src, why in self._failing.items())
        missing = [src for src in SOURCES if src not in self._fetched_ms]
        if missing:
            first = f"no complete poll yet: {', '.join(missing)} not fetched"
            return _unknown(symbol, (first, *failing))
        if symbol not in self._instruments:
            return _unknown(
                symbol, (f"{symbol} is not listed in /instruments: no such symbol", *failing)
            )
        verdict = derive_trading_state(
            symbol,
            now_ms=now,
            instrument=self._instruments[symbol],
            ticker=self._tickers.get(symbol),
            status=self._statuses.get(symbol),
            notices=self._notices,
            max_age_ms=self._max_age_ms,
        )
        age = now - self._fetched_ms[NOTIFICATIONS]
        if age > self._max_age_ms:
            stale = (
                f"notifications feed is {_seconds(age)} old (max {_seconds(self._max_age_ms)}): "
                "maintenance windows unknown"
            )
            return _unknown(symbol, (stale, *verdict.reasons, *failing))
        return dataclasses.replace(verdict, reasons=(*verdict.reasons, *failing))

    def _uws_verdict(self, symbol: str, now: int) -> StateVerdict:
        """The verdict from the uws channels (see the module docstring)."""
        watch = self._uws
        assert watch is not None
        seen = self._uws_live_ms
        if seen is None or watch.system is None:
            return _unknown(symbol, (f"no complete uws status yet: {watch.why_not_live()}",))
        if symbol not in watch.pairs:
            return _unknown(
                symbol, (f"{symbol} is not listed on the uws instrument channel: no such symbol",)
            )
        held = self._tickers.get(symbol)  # WebSocket ticker flags, if any came since the switch
        verdict = derive_trading_state(
            symbol,
            now_ms=now,
            instrument=parse_uws_pair_flags(symbol, watch.pairs[symbol], seen, watch.assumptions),
            ticker=TickerFlags(
                symbol, bool(held and held.suspended), bool(held and held.post_only), seen
            ),
            system=SystemFlags(watch.system, seen),
            notices=parse_uws_notices(watch.notices, seen),  # no start: in effect while listed
            max_age_ms=self._max_age_ms,
        )
        extra = [f"inputs: {UWS_SOURCE}"]
        if not watch.live():
            extra.insert(0, watch.why_not_live())
        return dataclasses.replace(verdict, reasons=(*verdict.reasons, *extra))

    # ------------------------------------------------------------------------------ updating

    def apply_ticker(self, update: TickerUpdate) -> None:
        """Refresh ``update.symbol``'s ticker flags from the WebSocket feed. Older than what we
        hold: ignored. While :meth:`run` is running, a resulting change is emitted at once."""
        now = self._now_ms()
        ts_ms = min(update.ts_ms, now)  # a future stamp (skew) must not keep data fresh
        held = self._tickers.get(update.symbol)
        if held is not None and held.ts_ms > ts_ms:
            return
        self._tickers[update.symbol] = TickerFlags(
            update.symbol, update.suspended, update.post_only, ts_ms
        )
        self._state_cache.clear()
        if self._emit is not None:
            for event in self.evaluate(now):
                self._emit(event)

    async def poll_once(self) -> list[TradingStateChanged]:
        """Fetch the four REST sources (concurrently), keep what answered, then
        :meth:`evaluate`. A failing fetch keeps its old data; never raises for a fetch.
        After the switch to uws (module docstring): checks the status socket instead."""
        if self.on_uws:
            return await self._poll_uws()
        sent_ms = self._now_ms()
        client = self._client
        results = await asyncio.gather(
            _attempt(client.get_instruments()),
            _attempt(client.get_tickers()),
            _attempt(client.get_instrument_status()),
            _attempt(client.get_notifications()),
        )
        newly_failing: list[str] = []
        recovered: list[str] = []
        for source, result in zip(SOURCES, results, strict=True):
            if isinstance(result, Exception):
                if source not in self._failing:
                    self._failing[source] = f"since {iso_ms(sent_ms)}: {_describe(result)}"
                    newly_failing.append(f"{source} ({_describe(result)})")
                continue
            self._install(source, result, sent_ms)
            self._fetched_ms[source] = sent_ms
            if self._failing.pop(source, None) is not None:
                recovered.append(source)
        if newly_failing:
            log.warning(
                "trading-state fetch failing: %s; keeping the last data, which turns UNKNOWN "
                "after %s",
                "; ".join(newly_failing),
                _seconds(self._max_age_ms),
            )
        if recovered:
            log.info("trading-state fetch recovered: %s", ", ".join(recovered))
        gone = [
            f"{source} ({_describe(result)})"
            for source, result in zip(SOURCES, results, strict=True)
            if isinstance(result, Exception) and check_endpoint_gone(result)
        ]
        self._gone_polls = self._gone_polls + 1 if gone and self._uws is not None else 0
        if self._gone_polls >= GONE_POLLS:
            return await self._switch(gone)
        return self.evaluate(self._now_ms())

    async def _switch(self, gone: list[str]) -> list[TradingStateChanged]:
        """Leave REST for the uws channels, once (see the module docstring)."""
        now = self._now_ms()
        self.switched_ms = now
        self._tickers = {}  # REST ticker flags would never refresh again; WS ones come anew
        self._state_cache.clear()
        text = (
            f"trading-state monitor: legacy REST status endpoints gone on {GONE_POLLS} polls "
            f"in a row ({'; '.join(gone)}); from now on the gate reads the {UWS_SOURCE}. "
            f"No longer visible: {UNSEEN_AFTER_SWITCH}. Trading stays blocked (UNKNOWN) until "
            "the uws status socket is live"
        )
        log.warning("%s", text)
        if self.alerts is not None:
            self.alerts.publish(
                Alert(
                    kind=AlertKind.TRADING_STATE,
                    severity=Severity.WARNING,
                    text=text,
                    ts_ms=now,
                    key="monitor:uws-switch",
                )
            )
        return await self._poll_uws(wait=True)

    async def _poll_uws(self, *, wait: bool = False) -> list[TradingStateChanged]:
        watch = self._uws
        assert watch is not None
        checked_ms = self._now_ms()
        if wait:
            await watch.wait_live()
        else:
            await watch.start()
        if watch.live():
            self._uws_live_ms = max(self._uws_live_ms or checked_ms, checked_ms)
            self._state_cache.clear()
        return self.evaluate(self._now_ms())

    def _on_uws_change(self) -> None:
        """The watch received news: it is current now; re-derive and emit at once."""
        if not self.on_uws:
            return
        assert self._uws is not None
        now = self._now_ms()
        if self._uws.live():
            self._uws_live_ms = now
        self._state_cache.clear()
        if self._emit is not None:
            for event in self.evaluate(now):
                self._emit(event)

    def _install(self, source: str, rows: Sequence[Any], sent_ms: int) -> None:
        self._state_cache.clear()
        if source == INSTRUMENTS:
            self._instruments = parse_instrument_flags(rows, sent_ms)
        elif source == TICKERS:
            fresh = parse_ticker_flags(rows, sent_ms)
            for symbol, held in self._tickers.items():
                if held.ts_ms > sent_ms and symbol in fresh:  # a WS tick newer than the request
                    fresh[symbol] = held
            self._tickers = fresh
        elif source == STATUS:
            self._statuses = parse_status_flags(rows, sent_ms)
        else:
            self._notices = parse_notices(rows, sent_ms)

    def evaluate(self, now_ms: int) -> list[TradingStateChanged]:
        """Re-derive every watched symbol at ``now_ms`` from the data held (no I/O) and return
        one event per symbol whose state changed since the last evaluation, including changes
        to UNKNOWN by ageing alone."""
        events: list[TradingStateChanged] = []
        for symbol in self._symbols:
            verdict = self.verdict(symbol, now_ms=now_ms)
            previous = self._last[symbol]
            if verdict.state is not previous:
                self._last[symbol] = verdict.state
                events.append(
                    TradingStateChanged(symbol, verdict.state, previous, verdict.reasons, now_ms)
                )
        return events

    async def run(self, emit: Callable[[TradingStateChanged], None]) -> None:
        """Poll, evaluate and ``emit`` every change, every ``poll_s`` seconds, until cancelled.
        An exception from ``emit`` stops the loop (the state then ages into UNKNOWN)."""
        if self._emit is not None:
            raise ConfigError("this TradingStateMonitor is already running")
        self._emit = emit
        try:
            while True:
                for event in await self.poll_once():
                    emit(event)
                await self._sleep(self._poll_s)
        finally:
            self._emit = None


def _unknown(symbol: str, reasons: tuple[str, ...]) -> StateVerdict:
    return StateVerdict(symbol, TradingState.UNKNOWN, reasons, can_open=False, can_post=False)


__all__ = [
    "GONE_POLLS",
    "INSTRUMENTS",
    "NOTIFICATIONS",
    "SOURCES",
    "STATUS",
    "TICKERS",
    "TradingStateMonitor",
    "parse_instrument_flags",
    "parse_notices",
    "parse_status_flags",
    "parse_ticker_flags",
]
