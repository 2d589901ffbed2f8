"""``Node``: one bot process. It wires strategies to a venue through the risk rules, the order
manager, the journal, the trading-state monitor and the alert sinks, and runs the background
duties a safe bot needs.

Start-up, in this order: restore orders, fills and funding from the journal; poll trading
states; reconcile every order with the exchange (orders the journal left pending or working are
looked up, fills made while we were down are booked); compare positions; arm the dead man's
switch; then ``on_start`` and the market events. While running: market and private events are
dispatched to the strategies' hooks; the dead man's switch is re-armed every
``deadman_interval_s`` (with a ``deadman_timeout_s`` window, both wall seconds, so a crashed
bot leaves no orders behind a minute later even on an accelerated simulator); a full
reconciliation runs every ``reconcile_interval_s`` and after every feed reconnect; funding
payments are polled and booked. Stopping: ``on_stop``, cancel the bot's orders, wait for the
answers, disarm the switch, write the journal's stop mark.

Error policy (from the venue and the order manager): ``authenticationError`` halts every
strategy and alerts at once; ``insufficientAvailableFunds`` halts that strategy and alerts;
repeated refusals of one kind trip that strategy's circuit breaker; ``apiLimitExceeded`` is
backed off by the order manager's resend (and should never happen thanks to the client's
limiter); a strategy hook that raises halts that strategy. Halts stop *new* orders only:
cancels always go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from krakenfutures.core.events import (
    BookUpdated,
    FeedReconnected,
    FundingPaid,
    Halted,
    OrderDenied,
    TickerUpdate,
    TradeTick,
    TradingStateChanged,
)
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FeeSchedule
from krakenfutures.core.orders import OrderIntent
from krakenfutures.core.types import TradingState, normalize_symbol
from krakenfutures.errors import KrakenFuturesError
from krakenfutures.oms.manager import ManagerError, OrderManager
from krakenfutures.oms.tracker import (
    DEFAULT_CLOCK_MARGIN_MS,
    DEFAULT_SETTLE_MS,
    CliOrdIdGenerator,
    OrderTracker,
    OrderUpdated,
)
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord, Venue
from krakenfutures.risk.rules import (
    DAY_MS,
    Denied,
    RejectBreaker,
    RiskLimits,
    RiskState,
    Rule,
    Verdict,
    check,
)
from krakenfutures.runtime.clock import VenueClock, exchange_s
from krakenfutures.runtime.context import Instrument, StrategyContext
from krakenfutures.signals.alerts import Alert, AlertKind, Severity, check_liquidation_risk
from krakenfutures.strategy import Strategy

log = logging.getLogger("krakenfutures.runtime")
ZERO = Decimal(0)


class MarketSource(Protocol):
    """Domain events from the venue's feeds: :class:`TradeTick`, :class:`TickerUpdate`,
    :class:`BookUpdated`, :class:`FillRecord`, :class:`OrderSnapshot`, :class:`PositionRecord`,
    :class:`BalanceRecord`, :class:`FeedReconnected` (anything else is ignored)."""

    def __aiter__(self) -> AsyncIterator[object]: ...  # pragma: no cover - protocol


class StateSource(Protocol):
    """The trading-state monitor as the node uses it."""

    def state(self, symbol: str) -> TradingState: ...  # pragma: no cover - protocol

    def apply_ticker(self, ticker: TickerUpdate) -> None: ...  # pragma: no cover

    async def run(
        self, emit: Callable[[TradingStateChanged], None]
    ) -> None: ...  # pragma: no cover

    async def poll_once(self) -> list[TradingStateChanged]: ...  # pragma: no cover


class AlertPublisher(Protocol):
    """Where alerts go (the alert router): ``publish`` never blocks."""

    def publish(self, alert: Alert) -> None: ...  # pragma: no cover - protocol


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Pacing and policy of a node; intervals in wall seconds."""

    deadman_timeout_s: float = 60.0
    deadman_interval_s: float = 15.0
    reconcile_interval_s: float = 30.0
    funding_poll_s: float = 15.0
    cancel_on_stop: bool = True
    large_fill_usd: Decimal = Decimal(250_000)
    reconnect_storm: tuple[int, float] = (5, 60.0)  # reconnects within seconds
    mismatch_checks_before_halt: int = 2
    breaker_max_rejects: int = 5
    breaker_window_ms: int = 60_000
    breaker_cooldown_ms: int = 300_000


@dataclass
class _Stats:
    events: int = 0
    hook_errors: int = 0
    reconciles: int = 0
    deadman_arms: int = 0
    reconnects: deque[float] = field(default_factory=lambda: deque(maxlen=64))


class Node:
    """One running bot: strategies + venue + safety (see the module docstring)."""

    def __init__(
        self,
        strategies: Sequence[Strategy],
        *,
        venue: Venue,
        clock: VenueClock,
        instruments: Mapping[str, Instrument],
        market: MarketSource | None = None,
        monitor: StateSource | None = None,
        limits: RiskLimits | Mapping[str, RiskLimits] | None = None,
        journal: Any = None,
        alerts: AlertPublisher | None = None,
        settings: NodeSettings | None = None,
        fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
        volume_30d_usd: Decimal = ZERO,
        bot_name: str = "bot",
    ) -> None:
        names = [s.name for s in strategies]
        if len(set(names)) != len(names):
            raise ValueError(f"strategy names must be unique, got {names}: set params name=...")
        self.strategies = list(strategies)
        self.venue = venue
        self.clock = clock
        self.instruments = {normalize_symbol(k): v for k, v in instruments.items()}
        self.market = market
        self.monitor = monitor
        self._limits: RiskLimits | Mapping[str, RiskLimits] = (
            limits if limits is not None else RiskLimits()
        )
        self.journal = journal
        self.alerts = alerts
        self.settings = settings = settings if settings is not None else NodeSettings()
        self.fees = fees
        self.volume_30d_usd = volume_30d_usd
        self.bot_name = bot_name
        self.books: dict[str, Any] = {}
        self.tickers: dict[str, TickerUpdate] = {}
        self.balances: dict[str, BalanceRecord] = {}
        self.venue_positions: dict[str, PositionRecord] = {}
        self.halts: dict[str | None, Halted] = {}
        self.recent: deque[Alert] = deque(maxlen=50)
        self.stats = _Stats()
        self._states: dict[str, TradingState] = {}
        self._breakers = {
            n: RejectBreaker(
                max_rejects=settings.breaker_max_rejects,
                window_ms=settings.breaker_window_ms,
                cooldown_ms=settings.breaker_cooldown_ms,
            )
            for n in names
        }
        self._by_name = dict(zip(names, self.strategies, strict=True))
        self._day: dict[str, tuple[int, Decimal]] = {}
        self._pnl_cache: dict[str, Decimal] = {}
        self._mismatches = 0
        self._funding_since_ms: int | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        """Set once :meth:`shutdown` began: new orders and amends are refused."""
        prefix = f"{bot_name}-{_base36(clock.now_ms())}"
        self.manager = OrderManager(
            venue,
            # Deadlines are judged by the exchange's clock: scale them to its speed so an
            # accelerated simulator does not refuse orders that took 50 ms of wall time.
            OrderTracker(
                CliOrdIdGenerator(prefix),
                settle_ms=int(DEFAULT_SETTLE_MS * max(1.0, clock.speed)),
                clock_margin_ms=int(DEFAULT_CLOCK_MARGIN_MS * max(1.0, clock.speed)),
            ),
            clock_ms=clock.now_ms,
            recorder=journal,
            on_order=self._on_order,
            on_fill=self._on_fill,
            on_error=self._on_manager_error,
            gate=self._resend_gate,
            # The manager waits in exchange time (proof windows are judged by the exchange's
            # clock): on an accelerated simulator that is 1/speed as much wall time.
            sleep=lambda exchange_s: clock.sleep(exchange_s / clock.speed),
        )
        self.contexts = {n: StrategyContext(self, n) for n in names}
        for strategy in self.strategies:
            strategy.ctx = self.contexts[strategy.name]

    # ------------------------------------------------------------------------ queries

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol a strategy subscribed to, in first-seen order."""
        seen: dict[str, None] = {}
        for strategy in self.strategies:
            for symbol in strategy.symbols:
                seen[normalize_symbol(symbol)] = None
        return tuple(seen)

    def trading_state(self, symbol: str) -> TradingState:
        """The gate for ``symbol``: the monitor's state; UNKNOWN without a monitor."""
        if self.monitor is None:
            return self._states.get(symbol, TradingState.UNKNOWN)
        return self.monitor.state(symbol)

    def limits_for(self, symbol: str) -> RiskLimits:
        """The risk limits of ``symbol``."""
        if isinstance(self._limits, RiskLimits):
            return self._limits
        return self._limits.get(symbol) or self._limits.get("*") or RiskLimits()

    def mark(self, symbol: str) -> Decimal | None:
        """The mark price (ticker), else the book's mid."""
        ticker = self.tickers.get(symbol)
        if ticker is not None and ticker.mark_price is not None:
            return ticker.mark_price
        book = self.books.get(symbol)
        return book.mid() if book is not None else None

    def pnl(self, strategy: str | None = None) -> dict[str, Decimal]:
        """Net PnL per settlement currency (realised - fees - funding + unrealised)."""
        marks = {}
        for position in self.manager.positions.positions(strategy=strategy):
            mark = self.mark(position.symbol)
            marks[position.symbol] = mark if mark is not None else position.entry_price
        return self.manager.positions.total_pnl(marks, strategy=strategy)

    def daily_pnl(self, strategy: str, *, now_ms: int | None = None) -> Decimal:
        """Net USD PnL of ``strategy`` since UTC midnight (baseline taken at the first check of
        the day or at start-up). The total is cached between the events that change it (a
        fill, a funding payment, a new mark), because every order asks."""
        now = self.clock.now_ms() if now_ms is None else now_ms
        day = now - now % DAY_MS  # utc_day_start_ms, inline: every order asks
        total = self._pnl_cache.get(strategy)
        if total is None:
            total = self._pnl_cache[strategy] = self.pnl(strategy).get("USD", ZERO)
        start = self._day.get(strategy)
        if start is None or start[0] != day:
            self._day[strategy] = (day, total)
            return ZERO
        return total - start[1]

    def risk_state(self, symbol: str, strategy: str, *, now_ms: int | None = None) -> RiskState:
        """What the risk rules see for an intent of ``strategy`` in ``symbol``."""
        manager = self.manager
        halts = self.halts
        if self.stopping:
            halt_reason: str | None = "the bot is stopping"
        elif halts:
            halt = halts.get(None) or halts.get(strategy)
            halt_reason = halt.reason if halt else None
        else:
            halt_reason = None
        count, buy, sell = manager.tracker.live_sums(strategy, symbol)
        return RiskState(
            self.trading_state(symbol),
            self.mark(symbol),
            manager.positions.get(strategy, symbol).qty,
            buy,
            sell,
            count,
            self.daily_pnl(strategy, now_ms=now_ms),
            halt_reason,
        )

    def check_intent(self, intent: OrderIntent, strategy: str) -> Verdict:
        """Breaker, halts and every risk rule for a new order. Never raises."""
        if self.stopping:
            return Denied("the bot is stopping: no new orders", Rule.HALTED)
        now = self.clock.now_ms()
        breaker = self._breakers.get(strategy)
        if breaker is not None:
            verdict = breaker.check(now)
            if isinstance(verdict, Denied):
                return verdict
        symbol = intent.symbol
        return check(intent, self.risk_state(symbol, strategy, now_ms=now), self.limits_for(symbol))

    # ------------------------------------------------------------------------ lifecycle

    def stop(self) -> None:
        """Ask :meth:`run` to stop (safe from signal handlers via ``call_soon_threadsafe``)."""
        self._stop.set()

    async def run(self, duration_s: float | None = None) -> None:
        """Start, run until :meth:`stop` or ``duration_s`` wall seconds, then stop cleanly."""
        await self.start()
        try:
            if duration_s is None:
                await self._stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), duration_s)
        finally:
            await self.shutdown()

    async def start(self, *, background: bool = True) -> None:
        """Restore, reconcile, arm the switch, start the strategies and (unless
        ``background=False``, for tests that drive each duty by hand on a fake clock) the
        background tasks."""
        start_alerts = getattr(self.alerts, "start", None)
        if callable(start_alerts):
            start_alerts()  # deliver alerts as they happen, not only at shutdown's flush
        self._restore()
        if self.monitor is not None:
            for change in await self.monitor.poll_once():
                self._on_state_change(change)
        await self._reconcile(full=True)
        await self._arm_deadman()
        self._meta("start")
        for strategy in self.strategies:
            self._call(strategy, "on_start")
        if not background:
            return
        loop = asyncio.get_running_loop()
        runners: list[Callable[[], Any]] = [self._deadman_loop, self._reconcile_loop]
        if self.market is not None:
            runners.append(self._market_loop)
        if self.monitor is not None:
            runners.append(self._monitor_loop)
        if hasattr(self.venue, "funding_payments"):
            runners.append(self._funding_loop)
        runners.extend(self._timer_loop(s) for s in self.strategies if s.timer_s)  # type: ignore[misc]
        for runner in runners:
            coro = runner if asyncio.iscoroutine(runner) else runner()
            self._tasks.append(loop.create_task(self._guard(coro)))

    async def shutdown(self) -> None:
        """Stop the strategies, cancel the bot's orders, disarm the switch, close the journal
        entry (idempotent). New orders are refused from the first step on, and the event loops
        stop before the cancels go out, so nothing is placed behind the cancel-all."""
        if self.stopping:
            return
        self.stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for strategy in self.strategies:
            self._call(strategy, "on_stop")
        if self.settings.cancel_on_stop:
            self.manager.cancel_all()
        await self.manager.drain(timeout_s=10.0)
        if self.settings.cancel_on_stop:
            with contextlib.suppress(KrakenFuturesError):
                await self.manager.reconcile(full=True)
            # Anything still resting (a cancel lost on the way) goes now, then the switch is
            # disarmed: a clean stop leaves nothing on the book and nothing armed.
            if self.manager.tracker.live_count():
                with contextlib.suppress(KrakenFuturesError):
                    for symbol in self.symbols:
                        await self.venue.cancel_all(symbol)
                    await self.manager.reconcile(full=True)
            with contextlib.suppress(KrakenFuturesError):
                await self.venue.arm_deadman(0)
        self._meta("stop")

    # ------------------------------------------------------------------------ events in

    def on_market(self, event: object) -> None:
        """Dispatch one domain event from the feeds."""
        self.stats.events += 1
        if isinstance(event, BookUpdated):
            self.books[event.symbol] = event.book
            self._each(event.symbol, "on_book", event.book)
        elif isinstance(event, TradeTick):
            self._each(event.symbol, "on_trade", event)
        elif isinstance(event, TickerUpdate):
            self.tickers[event.symbol] = event
            self._pnl_cache.clear()  # a new mark moves unrealised PnL
            if self.monitor is not None:
                self.monitor.apply_ticker(event)
            self._each(event.symbol, "on_ticker", event)
        elif isinstance(event, FillRecord):
            self.manager.apply_fill(event)
        elif isinstance(event, OrderSnapshot):
            self.manager.apply_snapshot(event)
        elif isinstance(event, BalanceRecord):
            self.balances[event.currency] = event
        elif isinstance(event, PositionRecord):
            self.venue_positions[event.symbol] = event
        elif isinstance(event, FeedReconnected):
            self._on_reconnect(event)

    def on_denied(self, denied: OrderDenied) -> None:
        """An intent was refused before the wire: journal it and tell its strategy."""
        log.info(
            "%s %s %s denied (%s): %s",
            denied.strategy,
            denied.action,
            denied.symbol,
            denied.rule,
            denied.reason,
        )
        self._event(
            "denied", f"{denied.action} {denied.symbol}: {denied.reason}", strategy=denied.strategy
        )
        strategy = self._by_name.get(denied.strategy)
        if strategy is not None:
            self._call(strategy, "on_denied", denied)

    def halt(self, kind: str, reason: str, *, strategy: str | None = None) -> None:
        """Stop new orders (of ``strategy``, or all); cancels still go out."""
        if strategy in self.halts or None in self.halts:
            return
        halted = Halted(kind=kind, reason=reason, ts_ms=self.clock.now_ms(), strategy=strategy)
        self.halts[strategy] = halted
        log.error("HALT %s: %s (%s)", strategy or "all strategies", reason, kind)
        self._event("halt", f"{kind}: {reason}", strategy=strategy)
        self.alert(
            AlertKind.HALT,
            f"new orders halted for {strategy or 'all strategies'}: {reason}",
            severity="critical",
            strategy=strategy,
        )
        for s in self.strategies:
            if strategy is None or s.name == strategy:
                self._call(s, "on_halt", halted)

    def resume(self, strategy: str | None = None) -> None:
        """Lift a halt (by hand)."""
        self.halts.pop(strategy, None)

    def alert(
        self,
        kind: str,
        text: str,
        *,
        severity: str = "info",
        strategy: str | None = None,
        symbol: str | None = None,
        key: str | None = None,
    ) -> None:
        """Publish an alert to the sinks and keep it for the dashboard."""
        alert = Alert(
            kind=AlertKind(kind) if kind in AlertKind._value2member_map_ else AlertKind.INFO,
            severity=Severity(severity),
            text=text,
            ts_ms=self.clock.now_ms(),
            symbol=symbol,
            strategy=strategy,
            key=key,
        )
        self.recent.append(alert)
        if self.alerts is not None:
            self.alerts.publish(alert)

    def publish(self, alert: Alert) -> None:
        """Take an alert made elsewhere (the trading-state monitor's switch to uws): journal
        it, keep it for the dashboard and send it to the sinks, as :meth:`alert` does."""
        self._event(f"alert:{alert.kind.value}", alert.text, strategy=alert.strategy)
        self.recent.append(alert)
        if self.alerts is not None:
            self.alerts.publish(alert)

    # ------------------------------------------------------------------------ callbacks

    def _on_order(self, update: OrderUpdated) -> None:
        strategy = self._by_name.get(update.order.strategy)
        if update.order.state.value in ("open", "partially_filled", "filled"):
            breaker = self._breakers.get(update.order.strategy)
            if breaker is not None:
                breaker.record_success(self.clock.now_ms())
        if strategy is not None:
            self._call(strategy, "on_order", update)

    def _on_fill(self, fill: FillRecord, strategy_name: str) -> None:
        self._pnl_cache.clear()
        notional = fill.qty * fill.price
        if notional >= self.settings.large_fill_usd:
            self.alert(
                AlertKind.LARGE_FILL,
                f"large fill: {fill.side} {fill.qty} {fill.symbol} @ {fill.price}",
                severity="warning",
                strategy=strategy_name,
                symbol=fill.symbol,
            )
        strategy = self._by_name.get(strategy_name)
        if strategy is not None:
            self._call(strategy, "on_fill", fill)

    def _on_manager_error(self, error: ManagerError) -> None:
        now = self.clock.now_ms()
        if error.kind in ("authentication", "permission"):
            self.halt(error.kind, f"{error.status}: {error.detail}")
            return
        if error.kind == "insufficient_funds":
            self.halt(
                "insufficient_funds",
                f"order {error.cli_ord_id} refused: insufficientAvailableFunds",
                strategy=error.strategy or None,
            )
            return
        if error.kind == "refused":
            breaker = self._breakers.get(error.strategy)
            if breaker is not None and breaker.record_reject(error.status, now).value == "open":
                self.alert(
                    AlertKind.HALT,
                    f"circuit breaker open for {error.strategy}: repeated {error.status}",
                    severity="warning",
                    strategy=error.strategy,
                )
            return
        if error.kind == "rate_limit":
            log.warning("apiLimitExceeded although the limiter should prevent it: %s", error.detail)
            return
        log.error("order manager: %s %s", error.kind, error.detail)

    def _on_state_change(self, change: TradingStateChanged) -> None:
        self._states[change.symbol] = change.state
        self._event(
            "trading_state",
            f"{change.symbol}: {change.previous} -> {change.state}: {'; '.join(change.reasons)}",
        )
        severity = "info" if change.state is TradingState.OPEN else "warning"
        self.alert(
            AlertKind.TRADING_STATE,
            f"{change.symbol} is now {change.state.value} (was {change.previous.value}): {'; '.join(change.reasons) or 'tradeable, all inputs fresh'}",
            severity=severity,
            symbol=change.symbol,
            # The transition, not only the new state: "maintenance -> open" must not be held
            # back as a repeat of an earlier "unknown -> open".
            key=f"state:{change.symbol}:{change.previous.value}->{change.state.value}",
        )
        self._each(change.symbol, "on_state", change)

    def _on_reconnect(self, event: FeedReconnected) -> None:
        now = time.monotonic()
        self.stats.reconnects.append(now)
        count, window = self.settings.reconnect_storm
        recent = [t for t in self.stats.reconnects if now - t <= window]
        if len(recent) >= count:
            self.alert(
                AlertKind.RECONNECT_STORM,
                f"{len(recent)} feed reconnects within {window:.0f} s",
                severity="warning",
                key="reconnect-storm",
            )
        self.manager.request_reconcile()
        asyncio.get_running_loop().create_task(self._guard(self._reconcile(full=True)))

    def _resend_gate(self, intent: OrderIntent, strategy: str) -> str | None:
        verdict = self.check_intent(intent, strategy)
        return verdict.reason if isinstance(verdict, Denied) else None

    # ------------------------------------------------------------------------ loops

    async def _market_loop(self) -> None:
        assert self.market is not None
        async for event in self.market:
            self.on_market(event)

    async def _monitor_loop(self) -> None:
        assert self.monitor is not None
        await self.monitor.run(self._on_state_change)

    async def _deadman_loop(self) -> None:
        failures = 0
        while True:
            await self.clock.sleep(self.settings.deadman_interval_s)
            try:
                await self._arm_deadman()
                failures = 0
                if self.journal is not None:
                    self.journal.checkpoint()  # between bursts: keep WAL copies off the order path
            except KrakenFuturesError as exc:
                failures += 1
                log.warning("dead man's switch re-arm failed (%s)", exc)
                if failures >= 2:
                    self.alert(
                        AlertKind.HALT,
                        f"dead man's switch re-arm failed {failures} times: {exc}",
                        severity="warning",
                        key="deadman",
                    )

    async def _reconcile_loop(self) -> None:
        while True:
            await self.clock.sleep(self.settings.reconcile_interval_s)
            try:
                await self._reconcile(full=True)
            except KrakenFuturesError as exc:
                log.warning(
                    "periodic reconcile failed (%s); next in %.0f s",
                    exc,
                    self.settings.reconcile_interval_s,
                )

    async def _funding_loop(self) -> None:
        while True:
            try:
                await self._poll_funding()
            except KrakenFuturesError as exc:
                log.warning("funding poll failed (%s)", exc)
            await self.clock.sleep(self.settings.funding_poll_s)

    async def _timer_loop(self, strategy: Strategy) -> None:
        interval = float(strategy.timer_s or 1.0)
        while True:
            await self.clock.sleep(interval)
            self._call(strategy, "on_timer", self.clock.now_ms())

    async def _guard(self, coro: Any) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("background task failed: %s", exc)
            self.alert(
                AlertKind.INFO,
                f"runtime task failed: {type(exc).__name__}: {exc}",
                severity="critical",
            )

    # ------------------------------------------------------------------------ duties

    async def _arm_deadman(self) -> None:
        await self.venue.arm_deadman(exchange_s(self.clock, self.settings.deadman_timeout_s))
        self.stats.deadman_arms += 1

    async def _reconcile(self, *, full: bool) -> None:
        await self.manager.reconcile(full=full)
        self.stats.reconciles += 1
        positions = await self.venue.positions()
        self.venue_positions = {p.symbol: p for p in positions}
        for balance in await self.venue.balances():
            self.balances[balance.currency] = balance
        margin = getattr(self.venue, "margin", None)
        if margin is not None:
            risk = check_liquidation_risk(*margin, ts_ms=self.clock.now_ms())
            if risk is not None:
                self.recent.append(risk)
                if self.alerts is not None:
                    self.alerts.publish(risk)
        mismatch = self.manager.positions.diff(positions)
        if mismatch:
            self._mismatches += 1
            text = ", ".join(f"{s}: ours {a} exchange {b}" for s, (a, b) in mismatch.items())
            log.warning("position mismatch (%d in a row): %s", self._mismatches, text)
            if self._mismatches >= self.settings.mismatch_checks_before_halt:
                self.halt("reconcile_mismatch", f"positions differ from the exchange: {text}")
        else:
            self._mismatches = 0

    async def _poll_funding(self) -> None:
        since = self._funding_since_ms
        payments = await self.venue.funding_payments(since_ms=since)  # type: ignore[attr-defined]
        for payment in payments:
            for share in self._attribute(payment):
                if self.manager.apply_funding(share):
                    self._pnl_cache.clear()
                    strategy = self._by_name.get(share.strategy)
                    if strategy is not None:
                        self._call(strategy, "on_funding", share)
            self._funding_since_ms = max(self._funding_since_ms or 0, payment.ts_ms)

    def _attribute(self, payment: FundingPaid) -> list[FundingPaid]:
        """Split an account-level payment across the strategies holding the symbol, by |qty|
        (the last takes the remainder so the parts add up exactly). With no holder now (the
        position closed before the poll), a symbol traded by one strategy is that strategy's;
        otherwise the payment is booked as external (strategy ``""``)."""
        holders = [
            p
            for p in self.manager.positions.positions()
            if p.symbol == payment.symbol and p.qty != 0
        ]
        base = payment.payment_id or f"{payment.symbol}:{payment.ts_ms}"
        if not holders:
            owners = [s.name for s in self.strategies if payment.symbol in s.symbols]
            owner = owners[0] if len(owners) == 1 else ""
            return [
                FundingPaid(payment.symbol, payment.amount, payment.ts_ms, owner, f"{base}:{owner}")
            ]
        total = sum((abs(p.qty) for p in holders), ZERO)
        shares: list[FundingPaid] = []
        left = payment.amount
        for i, p in enumerate(holders):
            amount = left if i == len(holders) - 1 else payment.amount * abs(p.qty) / total
            left -= amount
            shares.append(
                FundingPaid(
                    payment.symbol, amount, payment.ts_ms, p.strategy, f"{base}:{p.strategy}"
                )
            )
        return shares

    def _restore(self) -> None:
        if self.journal is None:
            return
        state = self.journal.restore()
        restored = 0
        for order in state.orders:
            self.manager.tracker.restore(order)
            restored += 1
        now = self.clock.now_ms()
        for order in self.manager.tracker.orders(live_only=True):
            if order.state.value.startswith("pending"):
                # We died between send and reply: the outcome is unknown until looked up.
                self.manager.tracker.on_reply_lost(order.cli_ord_id, now_ms=now, reason="restart")
        for journaled in state.fills:
            self.manager.positions.apply_fill(journaled.fill, strategy=journaled.strategy)
        for funding in state.funding:
            payment = funding.payment
            self.manager.positions.apply_funding_payment(
                payment.strategy,
                payment.symbol,
                payment.amount,
                ts_ms=payment.ts_ms,
                payment_id=payment.payment_id or None,
            )
            self._funding_since_ms = max(self._funding_since_ms or 0, payment.ts_ms)
        if restored or state.fills:
            log.info(
                "restored %d orders, %d fills, %d funding payments from the journal",
                restored,
                len(state.fills),
                len(state.funding),
            )

    # ------------------------------------------------------------------------ helpers

    def _each(self, symbol: str, hook: str, event: object) -> None:
        for strategy in self.strategies:
            if not strategy.symbols or symbol in strategy.symbols:
                self._call(strategy, hook, event)

    def _call(self, strategy: Strategy, hook: str, *args: object) -> None:
        try:
            getattr(strategy, hook)(*args)
        except Exception as exc:
            self.stats.hook_errors += 1
            log.exception("strategy %s.%s raised", strategy.name, hook)
            self.halt(
                "strategy_error",
                f"{hook} raised {type(exc).__name__}: {exc}",
                strategy=strategy.name,
            )

    def _event(self, kind: str, text: str, *, strategy: str | None = None) -> None:
        if self.journal is not None:
            self.journal.record_event(kind, text, ts_ms=self.clock.now_ms(), strategy=strategy)

    def _meta(self, what: str) -> None:
        if self.journal is not None:
            self.journal.record_meta(what, ts_ms=self.clock.now_ms(), data={"bot": self.bot_name})


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


__all__ = ["AlertPublisher", "MarketSource", "Node", "NodeSettings", "StateSource"]
