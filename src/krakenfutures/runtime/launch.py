"""Wire a :class:`~krakenfutures.runtime.node.Node` to a real venue (Kraken or a ``kf sim``) over
the legacy dialect: REST client, live venue, WebSocket feed, trading-state monitor, journal and
alert sinks. ``kf run`` and the tests use :func:`build_node`; :func:`load_strategy` turns
``path/to/file.py[:Class]`` into a strategy instance.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from krakenfutures.client.async_ import AsyncClient
from krakenfutures.client.feed import AsyncFeed
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE
from krakenfutures.errors import ConfigError
from krakenfutures.runtime.alert_sinks import AlertRouter, LogSink, sinks_from_config
from krakenfutures.runtime.bot_config import BotConfig
from krakenfutures.runtime.clock import VenueClock
from krakenfutures.runtime.instruments import instruments_from_rest, load_instruments
from krakenfutures.runtime.journal import Journal, default_journal_path
from krakenfutures.runtime.legacy_market import LegacyMarket
from krakenfutures.runtime.live_venue import LiveVenue
from krakenfutures.runtime.monitor import TradingStateMonitor
from krakenfutures.runtime.node import Node
from krakenfutures.strategy import Strategy

log = logging.getLogger("krakenfutures.runtime")

DEFAULT_MAX_AGE_WALL_S = 60.0
"""Trading-state inputs older than this (wall seconds) make the state UNKNOWN: fail safe."""


def load_strategy(spec: str, params: Mapping[str, Any] | None = None) -> Strategy:
    """Instantiate ``path/to/file.py[:Class]`` (the only :class:`Strategy` subclass defined in
    the file when ``Class`` is left out) with ``params``."""
    path_text, _, class_name = spec.partition(":")
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"strategy file {path} not found (give path/to/strategy.py[:Class])")
    module_name = f"kf_strategy_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"cannot import {path}: not a Python file?")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look modules up by name
    loader_spec.loader.exec_module(module)
    if class_name:
        cls = getattr(module, class_name, None)
        if cls is None:
            raise ConfigError(f"{path} defines no {class_name!r}")
    else:
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, Strategy)
            and obj is not Strategy
            and obj.__module__ == module_name
        ]
        if len(found) != 1:
            names = ", ".join(c.__name__ for c in found) or "none"
            raise ConfigError(
                f"{path} defines {len(found)} Strategy classes ({names}): name one with {path}:Class"
            )
        cls = found[0]
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise ConfigError(f"{spec} is not a krakenfutures.strategy.Strategy subclass")
    try:
        return cls(**dict(params or {}))
    except TypeError as exc:
        raise ConfigError(f"{cls.__name__}({', '.join(params or {})}): {exc}") from None


@dataclass
class Wiring:
    """What :func:`build_node` made (closed by :meth:`aclose`)."""

    node: Node
    client: AsyncClient
    feed: Any  # AsyncFeed (legacy) or the uws market source
    journal: Journal
    router: AlertRouter
    closers: tuple[Any, ...] = ()

    async def aclose(self) -> None:
        """Close feeds, alerts, journal and clients (after the node stopped)."""
        await self.feed.aclose()
        for closer in self.closers:
            await closer.aclose()
        await self.router.aclose(timeout_s=5.0)
        self.journal.close()
        await self.client.aclose()


async def build_node(
    strategies: list[Strategy],
    config: BotConfig,
    *,
    base_url: str,
    clock: VenueClock,
    api_key: str | None = None,
    api_secret: str | None = None,
    spot_key: str | None = None,
    spot_secret: str | None = None,
    env: Mapping[str, str] | None = None,
    journal_path: str | Path | None = None,
) -> Wiring:
    """Build a node trading ``strategies`` on ``base_url`` (not started: ``await
    wiring.node.run(...)``, then ``await wiring.aclose()``).

    ``config.dialect`` picks the wire: ``legacy`` (REST v3 + WS v1, Futures key) or
    ``unified`` (orders, market data and account updates over the Unified WebSocket with a
    Spot key; instruments, trading-state inputs and positions still read from legacy REST
    while Kraken serves it, see docs/migration-uws.md)."""
    # No nonce by default: a bot keeps several requests in flight, and requests that overtake
    # each other on separate connections would trip Kraken's increasing-nonce rule (the Nonce
    # header is optional; signatures still cover every byte). ``[bot] nonce`` changes it.
    client = AsyncClient(api_key, api_secret, base_url=base_url, env=env, nonce=config.nonce)
    # On the unified dialect the rules survive the legacy switch-off: from the uws
    # ``instrument`` channel once REST /instruments is gone (runtime.instruments).
    instruments = await load_instruments(
        client.get_instruments,
        _public_uws(base_url) if config.dialect == "unified" else None,
    )
    symbols = {s.upper() for strategy in strategies for s in strategy.symbols}
    missing = sorted(symbols - set(instruments))
    if missing:
        await client.aclose()
        raise ConfigError(
            f"unknown symbol(s) {', '.join(missing)} on {base_url}; known: {', '.join(sorted(instruments))}"
        )
    legacy_venue = LiveVenue(client)
    closers: tuple[Any, ...] = ()
    fees, volume = DEFAULT_FEE_SCHEDULE, Decimal(0)
    venue: Any
    if config.dialect == "unified":
        venue, market, feed, closers = _unified(
            base_url, sorted(symbols), legacy_venue, spot_key, spot_secret, env
        )
        fees, volume = await _central_fees(closers[0], sorted(symbols), fees)
    else:
        venue = legacy_venue
        feed = AsyncFeed(base_url, api_key, api_secret, env=env)
        market: Any = LegacyMarket(feed, sorted(symbols))
    monitor = TradingStateMonitor(
        client,
        sorted(symbols),
        now_ms=clock.now_ms,
        poll_s=config.monitor_poll_s,
        max_age_ms=int(DEFAULT_MAX_AGE_WALL_S * 1000 * clock.speed),
        uws=closers[1] if config.dialect == "unified" else None,  # _unified's status watch
    )
    path = Path(
        journal_path or config.journal or default_journal_path(config.name, env, venue=config.env)
    )
    # Defence in depth: nothing journaled or alerted should ever hold a secret (the records
    # are domain objects and error texts never carry one), and these make sure of it.
    secrets = [s for s in (api_secret, spot_secret) if s]
    if client.credentials is not None:
        secrets.append(client.credentials.secret.reveal())
    journal = Journal(path, durability=config.durability, redact=secrets)
    router = AlertRouter([LogSink(), *sinks_from_config(config.alerts, env)], redact=secrets)
    node = Node(
        strategies,
        venue=venue,
        clock=clock,
        instruments=instruments,
        market=market,
        monitor=monitor,
        limits=config.limits(),
        journal=journal,
        alerts=router,
        settings=config.settings,
        fees=fees,
        volume_30d_usd=volume,
        bot_name=config.name,
    )
    # Told once if it leaves REST for the uws status channels: through the node, so the
    # alert is journaled and on the dashboard too.
    monitor.alerts = node
    return Wiring(node, client, feed, journal, router, closers)


async def _central_fees(spot: Any, symbols: list[str], default: Any) -> tuple[Any, Decimal]:
    """The account's fee schedule and 30-day volume from Kraken's central fee service (Spot
    ``TradeVolume`` with derivatives pairs; the Futures fee-schedule endpoints stopped
    reflecting the fees charged on 2026-06-22). On failure: the published default schedule,
    with a warning."""
    from krakenfutures.client.spot_rest import fee_schedule_from_trade_volume
    from krakenfutures.errors import KrakenFuturesError

    try:
        result = await spot.trade_volume(symbols[:1], fee_schedule=True)
        return fee_schedule_from_trade_volume(result, symbols[0]), result.volume_30d_usd
    except (KrakenFuturesError, KeyError, IndexError) as exc:
        log.warning("TradeVolume failed (%s); using the published default fee schedule", exc)
        return default, Decimal(0)


def _unified(
    base_url: str,
    symbols: list[str],
    legacy: LiveVenue,
    spot_key: str | None,
    spot_secret: str | None,
    env: Mapping[str, str] | None,
) -> tuple[Any, Any, Any, tuple[Any, ...]]:
    """The uws venue and market source: a token per connection from Spot REST (the
    simulator's own origin, or api.kraken.com for live), positions from legacy REST. The
    closers also hold a ``UwsStatusWatch`` on a public socket of its own (second): the
    trading-state monitor's source once the legacy REST status endpoints are gone (it
    connects only then)."""
    from krakenfutures.client.spot_rest import AsyncSpotRest
    from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for
    from krakenfutures.client.uws_token import TokenPolicy
    from krakenfutures.config import SPOT_LIVE_BASE_URL, load_spot_credentials
    from krakenfutures.runtime.unified_market import UnifiedMarket
    from krakenfutures.runtime.unified_venue import UnifiedVenue
    from krakenfutures.runtime.uws_status import UwsStatusWatch

    creds = load_spot_credentials(spot_key, spot_secret, env=env)
    live = _is_live(base_url)
    spot = AsyncSpotRest(
        creds.api_key,
        creds.secret.reveal(),
        base_url=SPOT_LIVE_BASE_URL if live else base_url,
        env=env,
    )
    origin = "live" if live else base_url
    private = AsyncUwsConnection(
        uws_url_for(origin, private=True), token_provider=TokenPolicy(spot)
    )
    public = AsyncUwsConnection(uws_url_for(origin))
    venue = UnifiedVenue(private, fallback=legacy)
    market = UnifiedMarket(public, private, symbols)
    status = UwsStatusWatch(AsyncUwsConnection(uws_url_for(origin)))
    return venue, market, _Closing(public, private), (spot, status)


def _is_live(base_url: str) -> bool:
    from krakenfutures.config import LIVE_BASE_URL

    return base_url.rstrip("/") == LIVE_BASE_URL.rstrip("/")


def _public_uws(base_url: str) -> Any:
    """A factory of public uws connections for ``base_url`` (Kraken's, or the simulator's)."""
    from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for

    origin = "live" if _is_live(base_url) else base_url
    return lambda: AsyncUwsConnection(uws_url_for(origin))


class _Closing:
    """Closes both uws sockets as one feed (the market source iterates them)."""

    def __init__(self, public: Any, private: Any) -> None:
        self.public, self.private = public, private

    async def aclose(self) -> None:
        await self.public.aclose()
        await self.private.aclose()


__all__ = ["Wiring", "build_node", "instruments_from_rest", "load_strategy"]
