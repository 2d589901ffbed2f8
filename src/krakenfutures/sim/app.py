"""The simulator assembled: engine + REST gateway + synthetic market + optional SQLite state.

Besides the legacy dialect (REST v3, ``/ws/v1``) the same account is served in the Unified
WebSocket dialect: Spot REST ``/0/private/...`` for the token (:mod:`krakenfutures.sim.spot_rest`,
Spot keys only) and ``/v2/public``, ``/v2/private`` (:mod:`krakenfutures.sim.uws`).

:class:`Simulator` is sans-I/O apart from the optional state file: the server shell
(:mod:`krakenfutures.sim.server`) and the in-memory test transport both call :meth:`handle_http`
with the exchange time. Everything that changes state (authenticated requests that were
accepted, clock ticks, admin commands) is journalled when a store is attached, so a restart with
``--state FILE`` replays to exactly where it was.
"""

from __future__ import annotations

import base64
import logging
import random
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from krakenfutures.core.types import TradingState
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SymbolFormat
from krakenfutures.errors import ConfigError
from krakenfutures.sim.auth import ApiKey
from krakenfutures.sim.config import SimConfig
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Gateway, Reply
from krakenfutures.sim.market import SyntheticMarket
from krakenfutures.sim.persist import StateStore
from krakenfutures.sim.rest import RestExtras, build_handlers
from krakenfutures.sim.spot_rest import SpotRest
from krakenfutures.sim.uws import HEARTBEAT_MS as UWS_HEARTBEAT_MS
from krakenfutures.sim.uws import UwsHub
from krakenfutures.sim.uws_auth import SpotKey, TokenStore
from krakenfutures.sim.ws import IDLE_TIMEOUT_MS, WsHub

log = logging.getLogger("krakenfutures.sim")
SNAPSHOT_EVERY_MS = 60_000  # real-time cadence of full snapshots when a store is attached


class Simulator:
    """One simulated Kraken Futures venue: ``handle_http`` in, Kraken's bytes out."""

    def __init__(self, config: SimConfig, *, now_ms: int, store: StateStore | None = None) -> None:
        self.config = config
        self.store = store
        self._replaying = False
        snapshot, journal = store.load() if store is not None else (None, [])
        if snapshot is not None:
            self.exchange = Exchange.restore(snapshot["exchange"])
            self.extras = RestExtras.restore(snapshot.get("extras", {}))
        else:
            self.exchange = Exchange(config.exchange, rng=random.Random(config.seed), now_ms=now_ms)
            self.extras = RestExtras()
        self.keys = {
            k.api_key: ApiKey(k.api_key, k.api_secret, k.account, k.permission, k.withdrawal)
            for k in config.keys
            if not k.is_spot
        }
        # Spot keys (Spot REST + uws) are a separate kind of key pair, as on Kraken.
        self.spot_keys = {
            k.api_key: SpotKey(
                k.api_key, k.api_secret, k.account, k.permission.value == "full", k.websocket
            )
            for k in config.keys
            if k.is_spot
        }
        self.gateway = Gateway(
            build_handlers(self.exchange, self.extras),
            self.keys,
            faults=config.faults,
            rng=random.Random(config.seed + 1),
            nonce_tolerance_ms=config.nonce_tolerance_ms,
            rate_limits=config.rate_limits,
        )
        # WebSocket v1 feeds. Built before the replay (ticks reach it) but it has no
        # connections then. The idle timeout is real time, so it stretches with --speed.
        self.ws_hub = WsHub(
            self.exchange,
            {k: (v.account, v.key) for k, v in self.keys.items()},
            faults=self.gateway.faults,
            rng=random.Random(config.seed + 3),
            idle_timeout_ms=int(IDLE_TIMEOUT_MS * max(1.0, config.speed)),
        )
        # Unified WebSocket: tokens from Spot REST, both dialects on one engine.
        assumptions = replace(
            DEFAULT_ASSUMPTIONS, symbol_format=SymbolFormat(config.uws_symbol_format)
        )
        self.tokens = TokenStore(random.Random(config.seed + 4))
        self.spot_rest = SpotRest(
            self.exchange,
            self.spot_keys,
            self.tokens,
            futures_keys=frozenset(self.keys),
            assumptions=assumptions,
        )
        self.uws_hub = UwsHub(
            self.exchange,
            self.tokens,
            faults=self.gateway.faults,
            rng=random.Random(config.seed + 5),
            assumptions=assumptions,
            # Heartbeats are about once a real second, like the v1 idle timeout under --speed.
            heartbeat_ms=int(UWS_HEARTBEAT_MS * max(1.0, config.speed)),
            journal=self._journal_uws,
        )
        # Always built (a disabled market's step() does nothing) so that a journal recorded with
        # the market on replays identically even if this run turns it off.
        self.market = SyntheticMarket(self.exchange, config.market, random.Random(config.seed + 2))
        if snapshot is not None and "market" in snapshot:
            self.market.restore(snapshot["market"])
        if journal:
            self._replay(journal)
        # Settings of this run apply from here on (after the replay of the previous run).
        self.market.config = config.market
        for spec in config.keys:
            if spec.account not in self.exchange.account_names():
                self.exchange.open_account(spec.account, **config.accounts.get(spec.account, {}))
        if snapshot is None:
            for symbol, state in config.trading_states.items():
                self.exchange.set_trading_state(symbol, state, now_ms)
        self._last_snapshot_ms = now_ms
        self.save(now_ms)  # the journal starts from a snapshot of exactly this state

    # -- requests ----------------------------------------------------------------------------
    def handle_http(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        headers: Mapping[str, str],
        body: bytes,
        now_ms: int,
    ) -> Reply:
        """Answer one HTTP request (see :class:`~krakenfutures.sim.gateway.Gateway`; Spot REST
        paths go to :class:`~krakenfutures.sim.spot_rest.SpotRest`, which changes no exchange
        state and so is not journalled)."""
        if SpotRest.serves(path):
            return self.spot_rest.handle(method, path, headers, body, now_ms)
        reply = self.gateway.handle(method, path, raw_query, headers, body, now_ms)
        if (
            self.store is not None
            and not self._replaying
            and method != "GET"
            and reply.status == 200
        ):
            apikey = next((v for k, v in headers.items() if k.lower() == "apikey"), "")
            key = self.keys.get(apikey)
            self.store.record(
                "http",
                {
                    "method": method,
                    "path": path,
                    "raw_query": base64.b64encode(raw_query).decode(),
                    # The account, not the key: keys may be regenerated across restarts.
                    "account": key.account if key is not None else None,
                    "body": base64.b64encode(body).decode(),
                    "now_ms": now_ms,
                },
            )
        return reply

    def _journal_uws(self, entry: dict[str, Any]) -> None:
        if self.store is not None and not self._replaying:
            self.store.record("uws", entry)

    # -- clock -------------------------------------------------------------------------------
    def tick(self, now_ms: int) -> None:
        """Advance the exchange clock: market flow, triggers, deadman, funding, liquidations."""
        self.market.step(now_ms)
        self.exchange.advance(now_ms)
        if not self._replaying:
            self.ws_hub.tick(now_ms)
            self.uws_hub.tick(now_ms)
        if self.store is not None and not self._replaying:
            self.store.record("tick", {"now_ms": now_ms})
            if now_ms - self._last_snapshot_ms >= SNAPSHOT_EVERY_MS * max(1.0, self.config.speed):
                self.save(now_ms)

    def save(self, now_ms: int) -> None:
        """Write a full snapshot (and truncate the journal) if a store is attached."""
        if self.store is None:
            return
        snap: dict[str, Any] = {
            "exchange": self.exchange.snapshot(),
            "extras": self.extras.snapshot(),
            "market": self.market.snapshot(),
        }
        self.store.write_snapshot(snap)
        self._last_snapshot_ms = now_ms

    def _replay(self, journal: list[tuple[str, dict[str, Any]]]) -> None:
        # Requests were accepted once; the nonce windows would refuse them the second time, so
        # replay bypasses auth by going straight to the gateway's handlers.
        self._replaying = True
        try:
            for kind, payload in journal:
                if kind == "tick":
                    self.tick(payload["now_ms"])
                elif kind == "ctl":
                    self.control(payload["command"], payload["now_ms"])
                elif kind == "uws":
                    self.uws_hub.replay(payload)
                elif kind == "http":
                    self.gateway.replay(
                        payload["method"],
                        payload["path"],
                        base64.b64decode(payload["raw_query"]),
                        payload.get("account"),
                        base64.b64decode(payload["body"]),
                        payload["now_ms"],
                    )
        finally:
            self._replaying = False
        log.info("replayed %d journal entries", len(journal))

    # -- admin -------------------------------------------------------------------------------
    def control(self, command: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
        """Apply an admin command from ``kf sim ctl`` (loopback-only endpoint).

        Commands: ``{"cmd": "status"}``, ``{"cmd": "state", "symbol": S, "state": open|post_only|
        suspended|maintenance}``, ``{"cmd": "faults", "set": {...}}``, ``{"cmd": "index",
        "symbol": S, "price": P}``, ``{"cmd": "mark", "symbol": S, "price": P|null}``,
        ``{"cmd": "save"}``.
        """
        cmd = command.get("cmd")
        ex = self.exchange
        if cmd == "status":
            return self.status(now_ms)
        if cmd == "state":
            symbol, state = str(command["symbol"]).upper(), str(command["state"])
            try:
                TradingState(state)
            except ValueError:
                raise ConfigError(
                    f"unknown state {state!r}; use open, post_only, suspended or maintenance"
                ) from None
            ex.set_trading_state(symbol, state, now_ms)
        elif cmd == "faults":
            self.gateway.faults.update(dict(command.get("set", {})))
            self.ws_hub.apply_faults()
            self.uws_hub.apply_faults()
        elif cmd == "index":
            ex.set_index_price(
                str(command["symbol"]).upper(), Decimal(str(command["price"])), now_ms
            )
        elif cmd == "mark":
            price = command.get("price")
            ex.set_mark_price(
                str(command["symbol"]).upper(),
                None if price is None else Decimal(str(price)),
                now_ms,
            )
        elif cmd == "save":
            self.save(now_ms)
        else:
            raise ConfigError(
                f"unknown command {cmd!r}; use status, state, faults, index, mark or save"
            )
        if self.store is not None and not self._replaying and cmd != "save":
            self.store.record("ctl", {"command": dict(command), "now_ms": now_ms})
        return self.status(now_ms)

    def status(self, now_ms: int) -> dict[str, Any]:
        """What ``kf sim ctl status`` prints: clock, markets, faults, accounts."""
        ex = self.exchange
        return {
            "now_ms": now_ms,
            "speed": self.config.speed,
            "markets": {
                s.symbol: {
                    "state": ex.trading_state(s.symbol).value,
                    "index": str(ex.state.markets[s.symbol].index_price),
                    "mark": str(ex.state.markets[s.symbol].mark_price),
                }
                for s in ex.instruments()
            },
            "faults": self.gateway.faults.as_dict(),
            "accounts": sorted(k.account for k in self.keys.values()),
        }
