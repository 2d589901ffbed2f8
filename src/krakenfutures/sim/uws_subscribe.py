"""Subscriptions of the simulator's uws endpoint: channels, symbols, tokens and snapshots.

:class:`UwsSubscriptions` sits between :class:`~krakenfutures.sim.uws_feeds.UwsFeeds` (the
fan-out) and :class:`~krakenfutures.sim.uws.UwsHub` (requests, clock, faults); the protocol is
described in :mod:`krakenfutures.sim.uws`. Symbols go out in the configured spelling
(:class:`~krakenfutures.core.uws.assumptions.UwsAssumptions`) and are accepted in both.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SymbolFormat, UwsAssumptions
from krakenfutures.core.uws.schema import (
    ALREADY_SUBSCRIBED_MARGIN,
    ALREADY_SUBSCRIBED_POSITIONS,
    MARGIN_SNAPSHOT_INVALID,
)
from krakenfutures.sim import uws_wire as w
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.uws_account import UwsAccountFeeds
from krakenfutures.sim.uws_auth import TokenGrant, TokenStore
from krakenfutures.sim.uws_books import DEPTHS
from krakenfutures.sim.uws_feeds import UwsConn
from krakenfutures.sim.uws_params import INVALID, UwsError, check_asset_class

PRIVATE_PATH = "/v2/private"
SNAPSHOT_TRADES = 50
"""Trades in a ``trade`` snapshot and fills in an ``executions`` ``snap_trades`` snapshot."""
_MARKET = ("book", "ticker", "trade")
_ACCOUNT = ("executions", "balances", "positions", "margin", "ledgers")
_ASSET_CLASS_OPTIONAL = ("trade", "balances", "ledgers")  # not in their documented params
_ALREADY = {"positions": ALREADY_SUBSCRIBED_POSITIONS, "margin": ALREADY_SUBSCRIBED_MARGIN}


class UwsSubscriptions(UwsAccountFeeds):
    """Subscribe/unsubscribe handling and the token gate, over
    :class:`~krakenfutures.sim.uws_account.UwsAccountFeeds`."""

    def __init__(
        self,
        exchange: Exchange,
        tokens: TokenStore,
        *,
        faults: Faults | None,
        rng: random.Random | None,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        max_queue: int = 200_000,
    ) -> None:
        self._assumptions = assumptions
        self._readings = (assumptions, replace(assumptions, symbol_format=SymbolFormat.PAIR))
        super().__init__(
            exchange,
            faults=faults,
            rng=rng,
            wire_symbol=self.wire_symbol,
            assumptions=assumptions,
            max_queue=max_queue,
        )
        self.tokens = tokens

    # -- symbols -------------------------------------------------------------------------------

    def wire_symbol(self, symbol: str) -> str:
        """How ``symbol`` is spelled in messages."""
        return self._assumptions.to_wire_symbol(symbol)

    def symbol_in(self, wire: Any) -> str:
        """The listed contract a wire symbol names (either spelling), else :class:`UwsError`."""
        if not isinstance(wire, str) or not wire.strip():
            raise UwsError(f"{INVALID}:params.symbol is required")
        for reading in self._readings:
            symbol = reading.from_wire_symbol(wire)
            if self.exchange.has_symbol(symbol):
                return symbol
        raise UwsError(f"Currency pair not supported {wire}")

    def grant(self, conn: UwsConn, params: Mapping[str, Any], now_ms: int) -> TokenGrant:
        """The grant of ``params.token``: a fresh token from the store or one this connection
        already accepted (tokens do not expire on a connection that holds them)."""
        token = params.get("token")
        if not isinstance(token, str) or not token:
            raise UwsError(f"{INVALID}:params.token is required (Spot REST GetWebSocketsToken)")
        grant = conn.grants.get(token) or self.tokens.check(token, now_ms)
        if grant is None:
            raise UwsError("ESession:Invalid session")
        conn.grants[token] = grant  # accepted here: valid on this connection from now on
        return grant

    def _instrument(self, symbol: str) -> dict[str, Any]:
        ex = self.exchange
        spec, state = ex.instrument(symbol), ex.trading_state(symbol)
        return w.instrument_row(spec, state, self.wire_symbol(symbol))

    # -- subscriptions -------------------------------------------------------------------------

    def subscription(
        self,
        conn: UwsConn,
        method: str,
        params: dict[str, Any],
        req_id: Any,
        time_in: str,
        now_ms: int,
    ) -> list[Any]:
        """Answer a ``subscribe``/``unsubscribe``: acks (one per symbol) and snapshots."""
        channel = params.get("channel")

        def error(code: str, **extra: Any) -> dict[str, Any]:
            return w.reply(method, req_id, time_in, now_ms, error=code, **extra)

        def ack(result: dict[str, Any]) -> dict[str, Any]:
            return w.reply(method, req_id, time_in, now_ms, result={"channel": channel, **result})

        try:
            if channel in ("status", "heartbeat"):
                raise UwsError(f"{INVALID}:the {channel} channel is sent without subscribing")
            if channel not in (*_MARKET, "instrument", *_ACCOUNT):
                raise UwsError(f"{INVALID}:unknown channel {channel!r}")
            check_asset_class(params, required=channel not in _ASSET_CLASS_OPTIONAL)
            if channel in _MARKET:
                return self._market(conn, method, channel, params, error, ack)
            return self._single(conn, method, channel, params, now_ms, ack)
        except UwsError as exc:
            return [error(exc.code)]

    def _market(
        self,
        conn: UwsConn,
        method: str,
        channel: str,
        params: dict[str, Any],
        error: Callable[..., dict[str, Any]],
        ack: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[Any]:
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            raise UwsError(f"{INVALID}:params.symbol must be a non-empty list")
        depth = params.get("depth", 10)
        if channel == "book" and depth not in DEPTHS:
            raise UwsError(f"{INVALID}:depth must be one of {', '.join(map(str, DEPTHS))}")
        snapshot = params.get("snapshot", True) is not False
        out: list[Any] = []
        for wire in symbols:
            try:
                symbol = self.symbol_in(wire)
            except UwsError as exc:
                out.append(error(exc.code, symbol=wire))
                continue
            key = (channel, symbol)
            subscribed = key in conn.keys
            extra = {"depth": depth} if channel == "book" else {}
            if method == "unsubscribe":
                if not subscribed:
                    out.append(error("Subscription Not Found", symbol=wire))
                    continue
                self._remove(conn, key)
                out.append(ack({"symbol": wire}))
                continue
            if subscribed:
                out.append(error("Already subscribed", symbol=wire))
                continue
            if channel == "book":
                conn.books[symbol] = depth
            self._add(conn, key)
            out.append(ack({"symbol": wire, **extra, "snapshot": snapshot}))
            if snapshot:
                out.append(self._market_snapshot(channel, symbol, depth))
        return out

    def _market_snapshot(self, channel: str, symbol: str, depth: int) -> dict[str, Any]:
        ex, name = self.exchange, self.wire_symbol(symbol)
        if channel == "book":
            return w.channel("book", "snapshot", [self.books.snapshot(symbol, depth)])
        if channel == "ticker":
            return w.channel("ticker", "snapshot", [w.ticker_row(ex.ticker(symbol), name)])
        trades = reversed(ex.recent_trades(symbol, limit=SNAPSHOT_TRADES))
        return w.channel("trade", "snapshot", [w.trade_row(t, name) for t in trades])

    def _single(
        self,
        conn: UwsConn,
        method: str,
        channel: str,
        params: dict[str, Any],
        now_ms: int,
        ack: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[Any]:
        """``instrument`` and the account channels: one subscription per connection
        (unsubscribing needs no token)."""
        if channel != "instrument" and not conn.private:
            raise UwsError(f"{INVALID}:the {channel} channel is served on {PRIVATE_PATH}")
        current = next((k for k in conn.keys if k[0] == channel), None)
        if method == "unsubscribe":
            if current is None:
                raise UwsError("Subscription Not Found")
            self._remove(conn, current)
            return [ack({})]
        account = None if channel == "instrument" else self.grant(conn, params, now_ms).account
        key = (channel, account)
        if current is not None:
            raise UwsError(_ALREADY.get(channel, f"Already subscribed to {channel} channel"))
        ex = self.exchange
        if channel == "instrument":
            self._add(conn, key)
            rows = [self._instrument(s.symbol) for s in ex.instruments()]
            data = {"assets": [], "pairs": rows}
            return [ack({"snapshot": True}), w.channel("instrument", "snapshot", data)]
        assert account is not None
        if channel in ("positions", "margin", "ledgers"):
            return self._account_channel(conn, channel, key, params, ack)
        snapshot = params.get("snapshot", True) is not False
        self._add(conn, key)
        if channel == "balances":
            if not snapshot:
                return [ack({"snapshot": False})]
            rows = w.balance_rows(ex.account_state(account))
            seq = self._next_seq(conn, channel, snapshot=True)
            return [ack({"snapshot": True}), w.channel("balances", "snapshot", rows, sequence=seq)]
        conn.exec_all_statuses = params.get("order_status", True) is not False
        entries = []
        if params.get("snap_orders", True) is not False:
            for view in ex.open_orders(account):
                status = "partially_filled" if view.filled > 0 else "new"
                entries.append(w.execution(view, "new", status, self.wire_symbol(view.symbol)))
        if params.get("snap_trades", False) is True:
            for fill in ex.fills(account, limit=SNAPSHOT_TRADES):
                spec = ex.instrument(fill.symbol)
                entries.append(
                    w.trade_execution(fill, spec, self.wire_symbol(fill.symbol), None, None)
                )
        seq = self._next_seq(conn, channel, snapshot=True)
        message = w.channel("executions", "snapshot", entries, sequence=seq)
        return [ack({"snapshot": True}), message]

    def _account_channel(
        self,
        conn: UwsConn,
        channel: str,
        key: tuple[str, str | None],
        params: dict[str, Any],
        ack: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> list[Any]:
        """``positions``, ``margin`` or ``ledgers`` for ``key``'s account (reference §4.10)."""
        account = key[1]
        assert account is not None
        if channel == "margin":
            if "snapshot" in params:
                raise UwsError(MARGIN_SNAPSHOT_INVALID)
            self._add(conn, key)
            conn.margin_sent.clear()
            return [ack({}), *self.margin_snapshot(conn, account)]
        if channel == "ledgers":
            snapshot = params.get("snapshot", False) is True  # documented: no snapshot
            self._add(conn, key)
            if not snapshot:
                return [ack({"snapshot": False})]
            return [ack({"snapshot": True}), self.ledgers_snapshot(conn, account)]
        with_margin = params.get("with_margin", False) is True
        if with_margin and params.get("snapshot") is True:
            raise UwsError(f"{INVALID}:params.with_margin cannot be combined with params.snapshot")
        snapshot = params.get("snapshot", not with_margin) is not False
        conn.positions_margin = with_margin
        self._add(conn, key)
        result = {"snapshot": snapshot, **({"with_margin": True} if with_margin else {})}
        if not snapshot:
            return [ack(result)]
        return [ack(result), self.positions_snapshot(conn, account)]


__all__ = ["PRIVATE_PATH", "SNAPSHOT_TRADES", "UwsSubscriptions"]
