"""Per-instrument :class:`TradingState` from the feeds Kraken actually publishes.

Kraken Futures has no exchange-status enum (reference §11.9). The signals are booleans spread
over several feeds (§11.3-4): ``tradeable``/``postOnly`` on ``/instruments``, ``suspended``/
``postOnly`` on tickers, ``/instruments/status`` (dislocation, extreme volatility, IM multiplier)
and ``/notifications`` (``type: maintenance`` + ``priority: high`` = downtime at
``effectiveTime``, §10.9). :func:`derive_trading_state` folds them into one verdict with
human-readable reasons. Precedence: UNKNOWN > MAINTENANCE > SUSPENDED > POST_ONLY > OPEN.

Decisions, so the runtime and the simulator agree:

* **Stale or missing instrument/ticker data is UNKNOWN** (do not trade): older than
  ``max_age_ms`` at ``now_ms``, absent, or for another symbol. A future timestamp (clock skew)
  counts as fresh.
* **Maintenance**: a ``maintenance`` notice of ``high`` priority is in effect for
  ``effective_time_ms <= now_ms < effective_time_ms + downtime``; with no (or a non-positive)
  expected downtime we assume :data:`DEFAULT_MAINTENANCE_MINUTES` (60). Upcoming high-priority
  windows and lower-priority notices in effect only add reasons.
* **Dislocation is treated as POST_ONLY**: while the price is outside Kraken's bands, orders
  that cross the book are the ones at risk of rejection or of filling at a dislocated price, so
  we stop taking liquidity and still allow resting post-only orders. This is our caution, not
  a documented Kraken rule.
* **Extreme volatility stays OPEN** with a reason naming the IM multiplier: Kraken raises margin
  rather than halting, and the risk layer sizes with the multiplier.
* ``/instruments/status`` is optional; a stale status report is still applied (its
  restrictions are cautious) and its age is given as a reason.
* **The uws engine status** (:class:`SystemFlags`, the Unified WebSocket ``status`` channel;
  legacy REST ends on 2027-03-01) is optional too, but *not* applied when stale (it is the only
  venue-wide input then): ``maintenance`` is MAINTENANCE (no orders, no cancels),
  ``cancel_only`` is SUSPENDED (cancels only), ``post_only`` is POST_ONLY, ``online`` adds
  nothing, any other value and a report older than ``max_age_ms`` are UNKNOWN. The uws inputs
  are mapped onto these flags by :mod:`krakenfutures.core.uws.status`.

``can_open`` means orders that may take liquidity (market, IOC, crossing limits) are allowed;
``can_post`` means resting post-only orders are allowed. OPEN: both; POST_ONLY: post only;
everything else: neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from krakenfutures.core.types import TradingState, normalize_symbol
from krakenfutures.errors import ConfigError, ConnectError, ExchangeError, NotFoundError

if TYPE_CHECKING:
    from krakenfutures.core.rest.schema_market import Instrument, InstrumentStatus, Ticker

DEFAULT_MAX_AGE_MS = 60_000
"""Instrument and ticker data older than this makes the state UNKNOWN."""

DEFAULT_MAINTENANCE_MINUTES = 60
"""Assumed length of a high-priority maintenance notice that gives no expected downtime."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class InstrumentFlags:
    """From ``/instruments``: whether ``symbol`` is ``tradeable`` and ``postOnly``, seen at
    ``ts_ms``. ``source`` names where the flags came from in the verdict's reasons (the uws
    ``instrument`` channel's pair status is mapped onto the same flags)."""

    symbol: str
    tradeable: bool
    post_only: bool
    ts_ms: int
    source: str = "instruments feed"


@dataclass(frozen=True, slots=True)
class SystemFlags:
    """From the uws ``status`` channel: the engine-wide ``system`` value (``online``,
    ``maintenance``, ``cancel_only``, ``post_only``), current as of ``ts_ms``."""

    system: str
    ts_ms: int


UWS_SYSTEM_MEANINGS: Mapping[str, tuple[TradingState, str]] = {
    "online": (TradingState.OPEN, "online"),
    "post_only": (TradingState.POST_ONLY, "only post-only limit orders and cancels, no matching"),
    "cancel_only": (TradingState.SUSPENDED, "cancels only, no new orders, no matching"),
    "maintenance": (TradingState.MAINTENANCE, "no new orders and no cancels"),
}
"""uws ``status.system`` value -> the state it imposes on every symbol, and what it means
(reference §3.5)."""


@dataclass(frozen=True, slots=True)
class TickerFlags:
    """From a REST or WS ticker: ``suspended`` and ``postOnly``, seen at ``ts_ms``."""

    symbol: str
    suspended: bool
    post_only: bool
    ts_ms: int


@dataclass(frozen=True, slots=True)
class StatusFlags:
    """From ``/instruments/status``: ``tradeable``, ``experiencingDislocation``,
    ``priceDislocationDirection``, ``experiencingExtremeVolatility`` and
    ``extremeVolatilityInitialMarginMultiplier``, seen at ``ts_ms``."""

    symbol: str
    tradeable: bool
    dislocation: bool
    dislocation_direction: str | None
    extreme_volatility: bool
    im_multiplier: Decimal | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class MaintenanceNotice:
    """One ``/notifications`` entry (all types; only ``maintenance`` ones matter here).
    Notices are venue-wide: they apply to every symbol."""

    priority: str
    type: str
    effective_time_ms: int
    expected_downtime_minutes: int | None
    note: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class StateVerdict:
    """The derived state of ``symbol`` with the reasons behind it, most severe first."""

    symbol: str
    state: TradingState
    reasons: tuple[str, ...]
    can_open: bool
    can_post: bool


def _seconds(ms: int) -> str:
    return f"{Decimal(ms).scaleb(-3).normalize():f} s"


def _utc(ms: int, fmt: str) -> str:
    try:
        return (_EPOCH + timedelta(milliseconds=ms)).strftime(fmt)
    except (OverflowError, ValueError):  # absurd wire timestamps must not break the verdict
        return f"{ms} ms"


def _window(start_ms: int, end_ms: int) -> str:
    end_fmt = (
        "%H:%M" if _utc(start_ms, "%Y-%m-%d") == _utc(end_ms, "%Y-%m-%d") else "%Y-%m-%d %H:%M"
    )
    return f"{_utc(start_ms, '%Y-%m-%d %H:%M')}-{_utc(end_ms, end_fmt)} UTC"


def _freshness(
    label: str,
    ts_ms: int | None,
    found_symbol: str | None,
    symbol: str,
    now_ms: int,
    max_age_ms: int,
) -> str | None:
    """A reason why a required input cannot be trusted, or None."""
    if ts_ms is None:
        return f"no {label} data for {symbol}"
    if found_symbol is not None and normalize_symbol(found_symbol) != symbol:
        return f"{label} input is for {found_symbol}, not {symbol}"
    age = now_ms - ts_ms
    if age > max_age_ms:
        return f"{label} feed is {_seconds(age)} old (max {_seconds(max_age_ms)})"
    return None


def _maintenance(notices: Sequence[MaintenanceNotice], now_ms: int) -> tuple[list[str], list[str]]:
    """(reasons that put the symbol in MAINTENANCE, informational reasons)."""
    active: list[str] = []
    info: list[str] = []
    for notice in notices:
        if notice.type.strip().lower() != "maintenance":
            continue
        given = notice.expected_downtime_minutes
        minutes = given if given is not None and given > 0 else DEFAULT_MAINTENANCE_MINUTES
        assumed = minutes != given
        start = notice.effective_time_ms
        end = start + minutes * 60_000
        window = _window(start, end) + (" (length assumed)" if assumed else "")
        note = f": {notice.note}" if notice.note else ""
        high = notice.priority.strip().lower() == "high"
        if start <= now_ms < end:
            if high:
                active.append(f"maintenance window {window} in effect{note}")
            else:
                info.append(f"{notice.priority} priority maintenance {window} in effect{note}")
        elif high and now_ms < start:
            info.append(f"maintenance scheduled {window}{note}")
    return active, info


def derive_trading_state(
    symbol: str,
    *,
    now_ms: int,
    instrument: InstrumentFlags | None,
    ticker: TickerFlags | None,
    status: StatusFlags | None = None,
    notices: Sequence[MaintenanceNotice] = (),
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
    system: SystemFlags | None = None,
) -> StateVerdict:
    """Fold the feeds for ``symbol`` into one :class:`StateVerdict` (rules in the module doc).

    Raises :class:`ConfigError` only for a non-positive ``max_age_ms``; bad or missing data
    yields UNKNOWN, never an exception.
    """
    if max_age_ms <= 0:
        raise ConfigError(f"max_age_ms must be positive, got {max_age_ms}")
    symbol = normalize_symbol(symbol)
    unknown: list[str] = []
    suspended: list[str] = []
    post_only: list[str] = []
    info: list[str] = []

    for label, flags in (("instruments", instrument), ("ticker", ticker)):
        reason = _freshness(
            label,
            None if flags is None else flags.ts_ms,
            None if flags is None else flags.symbol,
            symbol,
            now_ms,
            max_age_ms,
        )
        if reason is not None:
            unknown.append(reason)

    if instrument is not None:
        if not instrument.tradeable:
            suspended.append(f"{instrument.source} says not tradeable")
        if instrument.post_only:
            post_only.append(f"{instrument.source} says post-only")
    if ticker is not None:
        if ticker.suspended:
            suspended.append("ticker says suspended")
        if ticker.post_only:
            post_only.append("ticker says post-only")

    if status is not None:
        if normalize_symbol(status.symbol) != symbol:
            unknown.append(f"instrument status input is for {status.symbol}, not {symbol}")
        else:
            if now_ms - status.ts_ms > max_age_ms:
                info.append(
                    f"instrument status is {_seconds(now_ms - status.ts_ms)} old "
                    f"(max {_seconds(max_age_ms)}); its flags still applied"
                )
            if not status.tradeable:
                suspended.append("instrument status says not tradeable")
            if status.dislocation:
                direction = status.dislocation_direction or "direction not given"
                post_only.append(
                    f"price dislocation ({direction}): taking liquidity paused, post-only allowed"
                )
            if status.extreme_volatility:
                multiplier = (
                    f"initial margin x{status.im_multiplier}"
                    if status.im_multiplier is not None
                    else "no initial margin multiplier given"
                )
                info.append(f"extreme volatility ({multiplier}); trading allowed")

    maintenance, maintenance_info = _maintenance(notices, now_ms)
    info.extend(maintenance_info)
    if system is not None:
        _apply_system(system, now_ms, max_age_ms, unknown, maintenance, suspended, post_only)

    if unknown:
        state = TradingState.UNKNOWN
    elif maintenance:
        state = TradingState.MAINTENANCE
    elif suspended:
        state = TradingState.SUSPENDED
    elif post_only:
        state = TradingState.POST_ONLY
    else:
        state = TradingState.OPEN
    return StateVerdict(
        symbol=symbol,
        state=state,
        reasons=tuple(unknown + maintenance + suspended + post_only + info),
        can_open=state is TradingState.OPEN,
        can_post=state in (TradingState.OPEN, TradingState.POST_ONLY),
    )


def _apply_system(
    system: SystemFlags,
    now_ms: int,
    max_age_ms: int,
    unknown: list[str],
    maintenance: list[str],
    suspended: list[str],
    post_only: list[str],
) -> None:
    """Add the reason the uws engine status gives to the list of the state it imposes."""
    age = now_ms - system.ts_ms
    if age > max_age_ms:
        unknown.append(f"uws status is {_seconds(age)} old (max {_seconds(max_age_ms)})")
        return
    value = system.system.strip().lower()
    meaning = UWS_SYSTEM_MEANINGS.get(value)
    if meaning is None:
        unknown.append(f"uws status says system {system.system!r}, a value we do not know")
        return
    state, text = meaning
    reason = f"uws status says system {value}: {text}"
    target = {
        TradingState.MAINTENANCE: maintenance,
        TradingState.SUSPENDED: suspended,
        TradingState.POST_ONLY: post_only,
    }.get(state)
    if target is not None:
        target.append(reason)


def derive_all(
    symbols: Iterable[str],
    *,
    now_ms: int,
    instruments: Mapping[str, InstrumentFlags],
    tickers: Mapping[str, TickerFlags],
    statuses: Mapping[str, StatusFlags] | None = None,
    notices: Sequence[MaintenanceNotice] = (),
    max_age_ms: int = DEFAULT_MAX_AGE_MS,
) -> dict[str, StateVerdict]:
    """:func:`derive_trading_state` for each symbol, inputs looked up by symbol
    (case-insensitively). The result is keyed by the normalised (upper-case) symbol."""
    by_instrument = {normalize_symbol(key): value for key, value in instruments.items()}
    by_ticker = {normalize_symbol(key): value for key, value in tickers.items()}
    by_status = {normalize_symbol(key): value for key, value in (statuses or {}).items()}
    verdicts: dict[str, StateVerdict] = {}
    for raw in symbols:
        symbol = normalize_symbol(raw)
        verdicts[symbol] = derive_trading_state(
            symbol,
            now_ms=now_ms,
            instrument=by_instrument.get(symbol),
            ticker=by_ticker.get(symbol),
            status=by_status.get(symbol),
            notices=notices,
            max_age_ms=max_age_ms,
        )
    return verdicts


def check_can_trade(verdict: StateVerdict, *, post_only_order: bool) -> bool:
    """Whether an order may be sent under ``verdict``: post-only orders need ``can_post``,
    anything that may take liquidity needs ``can_open``. Never raises."""
    try:
        return bool(verdict.can_post if post_only_order else verdict.can_open)
    except Exception:  # a malformed verdict must not crash the caller: refuse instead
        return False


# ---------------------------------------------------------------- REST rows -> flags
# One conversion for every user of the REST inputs (`kf status`, the runtime's monitor).


def parse_instrument_flags(rows: Iterable[Instrument], ts_ms: int) -> dict[str, InstrumentFlags]:
    """``/instruments`` rows as :class:`InstrumentFlags` keyed by normalised symbol."""
    return {
        normalize_symbol(row.symbol): InstrumentFlags(
            normalize_symbol(row.symbol), bool(row.tradeable), bool(row.post_only), ts_ms
        )
        for row in rows
    }


def parse_ticker_flags(rows: Iterable[Ticker], ts_ms: int) -> dict[str, TickerFlags]:
    """``/tickers`` rows as :class:`TickerFlags` keyed by normalised symbol (an absent flag is
    false: Kraken sends both on every contract row)."""
    return {
        normalize_symbol(row.symbol): TickerFlags(
            normalize_symbol(row.symbol), bool(row.suspended), bool(row.post_only), ts_ms
        )
        for row in rows
    }


def parse_status_flags(rows: Iterable[InstrumentStatus], ts_ms: int) -> dict[str, StatusFlags]:
    """``/instruments/status`` rows as :class:`StatusFlags` keyed by normalised symbol. The
    wire's ``tradeable`` field carries the symbol, so ``tradeable`` is always true here."""
    return {
        normalize_symbol(row.symbol): StatusFlags(
            symbol=normalize_symbol(row.symbol),
            tradeable=True,
            dislocation=row.experiencing_dislocation,
            dislocation_direction=row.price_dislocation_direction,
            extreme_volatility=row.experiencing_extreme_volatility,
            im_multiplier=Decimal(row.extreme_volatility_im_multiplier),
            ts_ms=ts_ms,
        )
        for row in rows
    }


GONE_HTTP_STATUSES = frozenset({404, 410})
"""HTTP statuses that say an endpoint no longer exists (legacy REST ends on 2027-03-01)."""


def check_endpoint_gone(error: BaseException) -> bool:
    """Whether a failed fetch says the endpoint is *gone* rather than briefly failing: HTTP
    404/410 (:class:`~krakenfutures.errors.NotFoundError` included) or a connection that could
    not be opened (:class:`~krakenfutures.errors.ConnectError`: refused, no such host). 5xx,
    ``Unavailable``, timeouts and rate limits are outages, not an end. Never raises."""
    if isinstance(error, ConnectError | NotFoundError):
        return True
    return isinstance(error, ExchangeError) and error.http_status in GONE_HTTP_STATUSES


__all__ = [
    "DEFAULT_MAINTENANCE_MINUTES",
    "DEFAULT_MAX_AGE_MS",
    "GONE_HTTP_STATUSES",
    "UWS_SYSTEM_MEANINGS",
    "InstrumentFlags",
    "MaintenanceNotice",
    "StateVerdict",
    "StatusFlags",
    "SystemFlags",
    "TickerFlags",
    "check_can_trade",
    "check_endpoint_gone",
    "derive_all",
    "derive_trading_state",
    "parse_instrument_flags",
    "parse_status_flags",
    "parse_ticker_flags",
]
