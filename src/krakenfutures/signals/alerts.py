"""Alert records, the throttle that keeps them readable, and the rules that raise them.

Pure: no I/O, no clock. Every time comes in as ``ts_ms`` (usually the event's own time), so the
same rules run live, in the simulator and in a backtest. Delivery (log, Telegram, webhooks) is
:mod:`krakenfutures.runtime.alert_sinks`.

Rules return ``Alert | None`` and never raise for well-typed input (``check_*``); the
``alert_for_*`` functions turn a domain event into an alert.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from enum import StrEnum

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.events import Halted, TradingStateChanged
from krakenfutures.core.money import notional_usd
from krakenfutures.core.timefmt import iso_ms
from krakenfutures.core.types import TradingState, contract_kind

MINUTE_MS = 60_000
REDACTED = "****"


class Severity(StrEnum):
    """How loud an alert is. Compare with :attr:`rank` (the string values do not sort)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for critical."""
        return _RANK[self]

    def at_least(self, other: Severity | str) -> bool:
        """Whether this severity is ``other`` or louder."""
        return self.rank >= Severity(other).rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertKind(StrEnum):
    """What an alert is about."""

    AUTHENTICATION = "authentication"
    HALT = "halt"
    TRADING_STATE = "trading_state"
    LIQUIDATION_RISK = "liquidation_risk"
    LARGE_FILL = "large_fill"
    RECONNECT_STORM = "reconnect_storm"
    FUNDING_SPIKE = "funding_spike"
    RECONCILE = "reconcile"
    INFO = "info"


_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert. ``key`` names what it is about for de-duplication (see :attr:`dedupe_key`);
    ``suppressed`` counts alerts the throttle held back before this one got through."""

    kind: AlertKind
    severity: Severity
    text: str
    ts_ms: int
    symbol: str | None = None
    strategy: str | None = None
    key: str | None = None
    suppressed: int = 0

    def __post_init__(self) -> None:
        # Accept the plain strings a config file or a strategy would write.
        object.__setattr__(self, "kind", AlertKind(self.kind))
        object.__setattr__(self, "severity", Severity(self.severity))
        if not isinstance(self.ts_ms, int) or isinstance(self.ts_ms, bool):
            raise TypeError(f"ts_ms must be an int (epoch ms), got {type(self.ts_ms).__name__}")

    @property
    def dedupe_key(self) -> str:
        """``key`` when given, else kind, symbol, strategy and text together (same words, same
        alert)."""
        if self.key is not None:
            return self.key
        return f"{self.kind}|{self.symbol or ''}|{self.strategy or ''}|{self.text}"

    def format_text(self) -> str:
        """One line for a log or a chat, e.g.
        ``CRITICAL halt PF_XBTUSD [mm]: stopped (+2 suppressed) @ 2026-01-01T00:00:00.000Z``."""
        head = f"{self.severity.upper()} {self.kind}"
        if self.symbol:
            head += f" {self.symbol}"
        if self.strategy:
            head += f" [{self.strategy}]"
        body = _WHITESPACE.sub(" ", self.text).strip()
        extra = f" (+{self.suppressed} suppressed)" if self.suppressed else ""
        return f"{head}: {body}{extra} @ {iso_ms(self.ts_ms)}"


def redact(text: str, secrets: Iterable[str], *, mask: str = REDACTED) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``mask``.

    Longer secrets are replaced first, so a secret that contains another is masked whole.
    """
    found = sorted({s for s in secrets if s and s in text}, key=len, reverse=True)
    if not found:
        return text
    return re.sub("|".join(re.escape(s) for s in found), mask, text)


# ----------------------------------------------------------------------------------- throttle


class AlertThrottle:
    """Keeps one sink readable: drops repeats of the same :attr:`Alert.dedupe_key` within
    ``dedupe_window_ms`` and caps alerts at ``max_per_minute``. What it holds back is counted
    and reported on the next alert that passes (:attr:`Alert.suppressed`).

    Critical alerts are still de-duplicated but skip the rate cap: a halt must not be lost
    behind a burst of large-fill notices. Time is each alert's ``ts_ms``.
    """

    def __init__(self, *, dedupe_window_ms: int = 5 * MINUTE_MS, max_per_minute: int = 20) -> None:
        if dedupe_window_ms < 0 or max_per_minute < 1:
            raise ValueError(
                f"need dedupe_window_ms >= 0 and max_per_minute >= 1, got {dedupe_window_ms} "
                f"and {max_per_minute}"
            )
        self.dedupe_window_ms = dedupe_window_ms
        self.max_per_minute = max_per_minute
        self.pending = 0
        """Alerts held back since the last one that passed."""
        self.suppressed_total = 0
        """Alerts held back since construction."""
        self._last_by_key: dict[str, int] = {}
        self._recent: deque[int] = deque()

    def admit(self, alert: Alert) -> Alert | None:
        """The alert to deliver (with ``suppressed`` filled in), or ``None`` to drop it."""
        key, now = alert.dedupe_key, alert.ts_ms
        last = self._last_by_key.get(key)
        # abs(): sources disagree slightly about time; an older repeat is still a repeat.
        if last is not None and abs(now - last) < self.dedupe_window_ms:
            self._hold()
            return None
        while self._recent and self._recent[0] <= now - MINUTE_MS:
            self._recent.popleft()
        if alert.severity is not Severity.CRITICAL and len(self._recent) >= self.max_per_minute:
            self._hold()
            return None
        self._recent.append(now)
        self._remember(key, now)
        if self.pending:
            alert = replace(alert, suppressed=alert.suppressed + self.pending)
            self.pending = 0
        return alert

    def _hold(self) -> None:
        self.pending += 1
        self.suppressed_total += 1

    def _remember(self, key: str, now: int) -> None:
        self._last_by_key[key] = now
        if len(self._last_by_key) > 4096:  # bound memory: forget keys past their window
            horizon = now - self.dedupe_window_ms
            self._last_by_key = {k: t for k, t in self._last_by_key.items() if t > horizon}


# ---------------------------------------------------------------------------------- detectors


class ReconnectStorm:
    """Raises one alert when a feed reconnects more than ``max_reconnects`` times within
    ``window_ms``; re-arms once the rate falls back to the limit."""

    def __init__(self, max_reconnects: int, window_ms: int, *, feed: str = "feed") -> None:
        if max_reconnects < 1 or window_ms < 1:
            raise ValueError(
                f"need max_reconnects >= 1 and window_ms >= 1, got {max_reconnects}, {window_ms}"
            )
        self.max_reconnects = max_reconnects
        self.window_ms = window_ms
        self.feed = feed
        self._times: deque[int] = deque()
        self._storming = False

    def on_reconnect(self, ts_ms: int) -> Alert | None:
        """Record a reconnect at ``ts_ms``; an alert when this one starts a storm."""
        self._times.append(ts_ms)
        while self._times and self._times[0] <= ts_ms - self.window_ms:
            self._times.popleft()
        count = len(self._times)
        if count <= self.max_reconnects:
            self._storming = False
            return None
        if self._storming:
            return None
        self._storming = True
        return Alert(
            AlertKind.RECONNECT_STORM,
            Severity.WARNING,
            f"{self.feed} reconnected {count} times within {self.window_ms / 1000:g} s "
            f"(limit {self.max_reconnects}); check the network and Kraken's status page",
            ts_ms,
            key=f"reconnect_storm:{self.feed}",
        )


def check_large_fill(
    symbol: str,
    qty: Decimal,
    price: Decimal,
    notional_threshold_usd: Decimal,
    *,
    ts_ms: int,
    side: str | None = None,
    strategy: str | None = None,
    fill_id: str | None = None,
) -> Alert | None:
    """An alert when a fill's USD notional (linear ``|qty| * price``, inverse ``|qty|``) is at
    least ``notional_threshold_usd``."""
    notional = notional_usd(contract_kind(symbol), qty, price)
    if notional < notional_threshold_usd:
        return None
    what = f"{side} " if side else ""
    return Alert(
        AlertKind.LARGE_FILL,
        Severity.WARNING,
        f"{what}{abs(qty)} @ {price} filled: notional {notional:,.2f} USD "
        f"(threshold {notional_threshold_usd:,} USD)",
        ts_ms,
        symbol=symbol,
        strategy=strategy,
        key=f"large_fill:{fill_id}" if fill_id else None,
    )


def check_liquidation_risk(
    margin_equity: Decimal,
    maintenance_margin: Decimal,
    *,
    threshold: Decimal = Decimal(2),
    critical_threshold: Decimal = Decimal("1.2"),
    ts_ms: int,
    symbol: str | None = None,
    strategy: str | None = None,
) -> Alert | None:
    """An alert when margin equity covers maintenance margin ``threshold`` times or less
    (critical at ``critical_threshold``). Liquidation starts at 1x.

    Use the flex account's ``marginEquity``/``maintenanceMargin`` (or a position's own) from
    ``/accounts`` or the ``balances`` feed. No maintenance margin means nothing to liquidate.
    """
    if maintenance_margin <= 0:
        return None
    with localcontext(EXACT):
        coverage = margin_equity / maintenance_margin
    if coverage > threshold:
        return None
    severity = Severity.CRITICAL if coverage <= critical_threshold else Severity.WARNING
    where = symbol or "account"
    return Alert(
        AlertKind.LIQUIDATION_RISK,
        severity,
        f"margin equity {margin_equity:,.2f} is {coverage:.2f}x maintenance margin "
        f"{maintenance_margin:,.2f} (alert at {threshold}x, liquidation at 1x); reduce "
        "positions or add collateral",
        ts_ms,
        symbol=symbol,
        strategy=strategy,
        key=f"liquidation_risk:{where}:{severity}",
    )


def check_liquidation_distance(
    symbol: str,
    mark_price: Decimal,
    liquidation_price: Decimal | None,
    threshold_fraction: Decimal,
    *,
    ts_ms: int,
    strategy: str | None = None,
) -> Alert | None:
    """An alert when the mark price is within ``threshold_fraction`` (0.05 = 5 %) of a
    position's liquidation price (the ``open_positions`` feed's ``liquidation_threshold``);
    critical within a quarter of that. ``None`` liquidation price: nothing to alert."""
    if liquidation_price is None or mark_price <= 0:
        return None
    with localcontext(EXACT):
        distance = abs(mark_price - liquidation_price) / mark_price
    if distance > threshold_fraction:
        return None
    with localcontext(EXACT):
        critical = distance <= threshold_fraction / 4
    severity = Severity.CRITICAL if critical else Severity.WARNING
    return Alert(
        AlertKind.LIQUIDATION_RISK,
        severity,
        f"mark {mark_price} is {distance * 100:.2f}% from liquidation price {liquidation_price}",
        ts_ms,
        symbol=symbol,
        strategy=strategy,
        key=f"liquidation_risk:{symbol}:{severity}",
    )


def check_funding_spike(
    symbol: str, relative_rate: Decimal, threshold: Decimal, *, ts_ms: int
) -> Alert | None:
    """An alert when the hourly relative funding rate (a fraction of price) reaches
    ``threshold`` in either direction."""
    if abs(relative_rate) < threshold:
        return None
    payer = "longs pay" if relative_rate > 0 else "shorts pay"
    return Alert(
        AlertKind.FUNDING_SPIKE,
        Severity.WARNING,
        f"hourly funding {relative_rate * 100:.4f}% ({payer}; alert at {threshold * 100:.4f}%)",
        ts_ms,
        symbol=symbol,
        key=f"funding_spike:{symbol}",
    )


_STATE_SEVERITY = {
    TradingState.OPEN: Severity.INFO,
    TradingState.POST_ONLY: Severity.WARNING,
    TradingState.MAINTENANCE: Severity.WARNING,
    TradingState.UNKNOWN: Severity.WARNING,
    TradingState.SUSPENDED: Severity.CRITICAL,
}


def alert_for_state_change(event: TradingStateChanged) -> Alert | None:
    """An alert for a trading-state change (``None`` when the state did not change)."""
    if event.state == event.previous:
        return None
    why = f" ({'; '.join(event.reasons)})" if event.reasons else ""
    return Alert(
        AlertKind.TRADING_STATE,
        _STATE_SEVERITY.get(event.state, Severity.WARNING),
        f"trading state {event.previous} -> {event.state}{why}",
        event.ts_ms,
        symbol=event.symbol,
        key=f"trading_state:{event.symbol}:{event.state}",
    )


_HALT_KIND = {"authentication": AlertKind.AUTHENTICATION, "reconcile_mismatch": AlertKind.RECONCILE}


def alert_for_halt(event: Halted) -> Alert:
    """A critical alert: new orders stopped (for one strategy or all)."""
    whom = f"strategy {event.strategy}" if event.strategy else "all strategies"
    return Alert(
        _HALT_KIND.get(event.kind, AlertKind.HALT),
        Severity.CRITICAL,
        f"new orders halted for {whom} ({event.kind}): {event.reason}",
        event.ts_ms,
        strategy=event.strategy,
        key=f"halt:{event.kind}:{event.strategy or '*'}",
    )


def alert_for_authentication_failure(
    detail: str, *, ts_ms: int, strategy: str | None = None
) -> Alert:
    """A critical alert: Kraken refused our credentials. ``detail`` must not hold a secret
    (the router redacts known secrets anyway)."""
    return Alert(
        AlertKind.AUTHENTICATION,
        Severity.CRITICAL,
        f"authentication failed: {detail}; check the API key pair and its permissions",
        ts_ms,
        strategy=strategy,
        key="authentication",
    )


__all__ = [
    "Alert",
    "AlertKind",
    "AlertThrottle",
    "ReconnectStorm",
    "Severity",
    "alert_for_authentication_failure",
    "alert_for_halt",
    "alert_for_state_change",
    "check_funding_spike",
    "check_large_fill",
    "check_liquidation_distance",
    "check_liquidation_risk",
    "redact",
]
