"""The simulator's WebSocket v1 endpoint, sans-I/O: :class:`WsHub` turns engine events into
Kraken's feed messages for every connection.

The socket shell (:mod:`krakenfutures.sim.ws_shell`) owns the sockets and calls, all on one
thread (the one that drives the exchange)::

    hub.connect(conn_id, now_ms)       -> frames to send (the greeting)
    hub.receive(conn_id, raw, now_ms)  -> frames to send (replies, then snapshots)
    hub.note_activity(conn_id, now_ms)    a ping/pong frame arrived (keeps it alive)
    hub.drain(conn_id)                 -> queued frames (deltas, tickers, heartbeats), in order
    hub.tick(now_ms)                   -> conn ids to close (idle, dropped, slow)
    hub.close_request(conn_id)         -> how to close it (code, reason, abort) or None
    hub.disconnect(conn_id)               the socket is gone

Frames returned by :meth:`WsHub.receive` belong *after* everything drained before the call and
*before* everything drained after it (the shell keeps that order). ``waker(conn_id)`` (set by
the shell) is called when a connection's queue turns non-empty, has account updates pending
or must close.

What goes out, per feed (reference §6; shapes in :mod:`krakenfutures.sim.ws_wire`):

* ``book``: ``book_snapshot`` (whole book, the engine's ``seq``) on subscribe, then one
  ``book`` delta per engine level change with the engine's per-symbol ``seq`` (+1 each).
* ``trade``: ``trade_snapshot`` (up to 100 recent trades, newest first), then ``trade``.
* ``ticker``/``ticker_lite``: one message on subscribe, then at most one per product per
  ``ticker_ms`` (1 s, Kraken's throttle) per connection, sent from :meth:`WsHub.tick` whether
  or not anything changed.
* ``heartbeat``: ``{"feed":"heartbeat","time":...}`` every ``heartbeat_ms`` (default 5 s;
  Kraken only says "at timed intervals") from :meth:`WsHub.tick`.
* ``open_orders``/``open_orders_verbose``: snapshot, then one delta per engine order update.
  Placed/changed orders and full fills carry the ``order`` (a full fill: ``is_cancel`` true,
  ``reason`` ``full_fill``, ``qty`` 0); other cancels and rejections are the id-only shape.
  ``reason`` per ``WS_REASONS``; the remainder of a fired stop is ``limit_order_from_stop``.
  Post-only orders that would have crossed show only on ``open_orders_verbose`` (Kraken's
  documented difference).
* ``fills``: ``fills_snapshot`` (up to 100, newest first, one per subscribe request whatever
  the ``product_ids`` filter), then ``fills`` with ``username`` and one fill, ``seq`` counted
  per account from the hub's start.
* ``open_positions`` and ``balances``: snapshot, then the whole current state again when it
  changed (fills, fees, funding, transfers, order margin), coalesced per drain; not on mere
  mark-price moves.
* ``account_log``: snapshot (up to 100 rows, newest first), then ``new_entry`` per row.
* ``notifications_auth``: every notice on subscribe and again whenever the list changes.

Private snapshots name the account by its UUID (REST ``masterAccountUid``). Connections idle
for ``idle_timeout_ms`` (no frame, no ping; Kraken: 60 s) are closed with code 1000; a queue
longer than ``max_queue`` (a consumer that does not read) closes with 1008.

Faults (:class:`~krakenfutures.sim.faults.Faults`), all on ``book`` deltas except the drop, each
unit consumed only by a delta that has at least one recipient:

* ``ws_gap_next`` N: the next N deltas are not sent (each recipient sees one ``seq`` gap each);
* ``ws_duplicate_next`` N: the next N deltas are sent twice;
* ``ws_reorder_next`` N: the next N deltas are held and sent right after the following delta
  of the same product (or at the next tick if none comes): ``n+1`` then ``n``;
* ``ws_drop_next`` N: up to N open connections, oldest first, are aborted (no close frame, the
  queue is lost) at the next :meth:`WsHub.apply_faults` / tick; the knob then returns to 0;
* ``ws_slow_ms``: applied by the socket shell (a delay before each frame it writes).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from krakenfutures.core.ws.schema import encode
from krakenfutures.core.ws.schema_private import (
    AccountLogSnapshot,
    AccountLogUpdate,
    FillsSnapshot,
    FillsUpdate,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenOrdersVerboseSnapshot,
    OpenOrdersVerboseUpdate,
)
from krakenfutures.core.ws.schema_public import Heartbeat, TradeSnapshot
from krakenfutures.core.ws.server_session import (
    IDLE_TIMEOUT_MS,
    FeedStarted,
    FeedStopped,
    Reply,
    ServerSession,
)
from krakenfutures.sim import domain as d
from krakenfutures.sim import ws_wire as w
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.rest_wire import account_uid
from krakenfutures.sim.state import new_uuid

HEARTBEAT_MS = 5_000
"""Default heartbeat period (Kraken documents no figure)."""
TICKER_MS = 1_000
"""Kraken's ticker throttle: one message per product per second."""
IDLE_CLOSE_CODE = 1000
SLOW_CLOSE_CODE = 1008
SNAPSHOT_ROWS = 100
ConnId = Hashable
_PRIVATE_ACCOUNT_FEEDS = ("open_positions", "balances")


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """How the shell must end a connection: a close frame (``code``, ``reason``) or, with
    ``abort``, a dropped TCP connection without one."""

    code: int
    reason: str
    abort: bool = False


@dataclass(eq=False)
class _Conn:
    cid: ConnId
    session: ServerSession
    opened_ms: int
    queue: deque[bytes] = field(default_factory=deque)
    account: str | None = None
    keys: set[tuple[str, str | None]] = field(default_factory=set)
    tickers: dict[str, int] = field(default_factory=dict)  # product -> last sent ms
    lites: dict[str, int] = field(default_factory=dict)
    heartbeat_ms: int | None = None
    close: CloseRequest | None = None


class WsHub:
    """Every WebSocket v1 connection of one simulated exchange (see the module docstring).

    Args:
        exchange: the engine; the hub registers a listener on it (see :meth:`close`).
        keys: API key -> ``(account, decoded secret)`` for private subscriptions.
        faults: the simulator's fault knobs (shared with the REST gateway).
        rng: source of challenge UUIDs (seeded for reproducible runs).
        heartbeat_ms, ticker_ms, idle_timeout_ms, max_queue: see the module docstring.
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: Mapping[str, tuple[str, bytes]],
        *,
        faults: Faults | None = None,
        rng: random.Random | None = None,
        heartbeat_ms: int = HEARTBEAT_MS,
        ticker_ms: int = TICKER_MS,
        idle_timeout_ms: int = IDLE_TIMEOUT_MS,
        max_queue: int = 200_000,
    ) -> None:
        self.exchange = exchange
        self.faults = faults if faults is not None else Faults()
        self.waker: Callable[[ConnId], None] | None = None
        self._keys = keys
        self._secrets = {k: secret for k, (_, secret) in keys.items()}
        self._rng = rng if rng is not None else random.Random(0)
        self._products = frozenset(s.symbol for s in exchange.instruments())
        self._heartbeat_ms = heartbeat_ms
        self._ticker_ms = ticker_ms
        self._idle_ms = idle_timeout_ms
        self._max_queue = max_queue
        self._conns: dict[ConnId, _Conn] = {}
        # (feed, product or account) -> subscribed connections (a dict as an ordered set)
        self._index: dict[tuple[str, str | None], dict[ConnId, None]] = {}
        self._held: dict[str, tuple[bytes, set[ConnId]]] = {}  # reordered book delta per product
        self._triggered: set[str] = set()  # stop orders that fired, awaiting their new order
        self._fill_seq: dict[str, int] = {}
        self._seq: dict[tuple[str, str], int] = {}  # (feed, account) -> last seq sent
        self._dirty: set[tuple[str, str]] = set()  # (open_positions|balances, account)
        self._notes: tuple[d.Notification, ...] = tuple(exchange.notifications())
        self._handlers: dict[type, Callable[[Any], None]] = {
            d.BookChanged: self._on_book,
            d.TradeExecuted: self._on_trade,
            d.OrderUpdated: self._on_order,
            d.FillExecuted: self._on_fill,
            d.PositionChanged: self._on_position,
            d.AccountLogged: self._on_log,
            d.FundingSettled: self._on_funding,
        }
        exchange.add_listener(self._on_event)

    # -- lifecycle ------------------------------------------------------------------------------

    def connect(self, conn_id: ConnId, now_ms: int) -> list[bytes]:
        """A socket opened: returns the greeting ``{"event":"info","version":1}``."""
        if conn_id in self._conns:
            raise ValueError(f"connection {conn_id!r} is already open; use a fresh id")
        session = ServerSession(self._secrets, self._new_challenge, products=self._products)
        self._conns[conn_id] = conn = _Conn(conn_id, session, now_ms)
        return [a.data for a in conn.session.connected(now_ms) if isinstance(a, Reply)]

    def disconnect(self, conn_id: ConnId) -> None:
        """The socket is gone: forget the connection (unknown ids are ignored)."""
        conn = self._conns.pop(conn_id, None)
        if conn is not None:
            self._unindex(conn)

    def close(self) -> None:
        """Detach from the exchange (no more events) and forget every connection."""
        self.exchange.remove_listener(self._on_event)
        for cid in list(self._conns):
            self.disconnect(cid)

    @property
    def connections(self) -> list[ConnId]:
        """Open connection ids, oldest first."""
        return list(self._conns)

    def subscriptions(self, conn_id: ConnId) -> frozenset[tuple[str, str | None]]:
        """The ``(feed, product_id)`` pairs a connection is subscribed to."""
        return self._conn(conn_id).session.subscriptions

    def close_request(self, conn_id: ConnId) -> CloseRequest | None:
        """Whether (and how) the shell must close this connection."""
        conn = self._conns.get(conn_id)
        return conn.close if conn is not None else None

    # -- requests -------------------------------------------------------------------------------

    def receive(self, conn_id: ConnId, raw: bytes | str, now_ms: int) -> list[bytes]:
        """One frame from the client: returns the replies and snapshots, in order."""
        conn = self._conn(conn_id)
        if conn.close is not None:
            return []
        out: list[bytes] = []
        fills: list[str | None] = []
        for action in conn.session.receive(raw, now_ms):
            if isinstance(action, Reply):
                out.append(action.data)
            elif isinstance(action, FeedStarted):
                if action.feed == "fills":
                    self._start_private(conn, action)
                    fills.append(action.product_id)
                else:
                    out.extend(self._start(conn, action, now_ms))
            elif isinstance(action, FeedStopped):
                self._stop(conn, action)
        if fills:
            out.append(self._fills_snapshot(conn, fills))
        return out

    def note_activity(self, conn_id: ConnId, now_ms: int) -> None:
        """A ping or pong frame arrived: the connection is alive."""
        conn = self._conns.get(conn_id)
        if conn is not None:
            conn.session.note_activity(now_ms)

    def drain(self, conn_id: ConnId) -> list[bytes]:
        """Everything queued for this connection since the last drain, in order."""
        if self._dirty:
            self._flush_accounts()
        conn = self._conns.get(conn_id)
        if conn is None or not conn.queue:
            return []
        out = list(conn.queue)
        conn.queue.clear()
        return out

    # -- clock ----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[ConnId]:
        """Periodic work at exchange time ``now_ms``: faults, held deltas, account updates,
        tickers, heartbeats, notifications, idle checks. Returns the ids to close now."""
        closing = self.apply_faults()
        for symbol in list(self._held):
            self._release(symbol)
        if self._dirty:
            self._flush_accounts()
        self._send_tickers(now_ms)
        notes = tuple(self.exchange.notifications())
        notes_changed = notes != self._notes
        self._notes = notes
        heartbeat = None
        for conn in list(self._conns.values()):
            if conn.close is not None:
                continue
            if conn.session.is_idle(now_ms, self._idle_ms):
                reason = f"idle: nothing received for {self._idle_ms // 1000} s"
                self._request_close(conn, CloseRequest(IDLE_CLOSE_CODE, reason))
                closing.append(conn.cid)
                continue
            if conn.heartbeat_ms is not None and now_ms - conn.heartbeat_ms >= self._heartbeat_ms:
                heartbeat = heartbeat or encode(Heartbeat(ts_ms=now_ms))
                conn.heartbeat_ms = now_ms
                self._push(conn, heartbeat)
            if notes_changed and conn.session.wants("notifications_auth"):
                self._push(conn, encode(w.build_notifications(notes)))
        return closing

    def apply_faults(self) -> list[ConnId]:
        """Apply ``ws_drop_next`` now: abort up to N open connections, oldest first."""
        dropped: list[ConnId] = []
        want = self.faults.ws_drop_next
        if want <= 0:
            return dropped
        for conn in list(self._conns.values()):
            if len(dropped) >= want:
                break
            if conn.close is None:
                self._request_close(conn, CloseRequest(1006, "dropped (fault)", abort=True))
                dropped.append(conn.cid)
        self.faults.ws_drop_next = 0
        return dropped

    # -- subscriptions --------------------------------------------------------------------------

    def _start(self, conn: _Conn, action: FeedStarted, now_ms: int) -> list[bytes]:
        feed, product, ex = action.feed, action.product_id, self.exchange
        if action.api_key is not None:
            account = self._start_private(conn, action)
            return [self._private_snapshot(feed, account, now_ms)]
        if feed == "heartbeat":
            conn.heartbeat_ms = now_ms
            return []
        assert product is not None
        self._add(conn, (feed, product))
        if feed == "book":
            held = self._held.get(product)
            if held is not None:
                held[1].discard(conn.cid)  # the snapshot already contains it
            return [encode(w.build_book_snapshot(ex.book(product)))]
        if feed == "trade":
            trades = [w.build_trade(t) for t in ex.recent_trades(product, limit=SNAPSHOT_ROWS)]
            return [encode(TradeSnapshot(symbol=product, trades=trades))]
        spec = ex.instrument(product)
        ticker = ex.ticker(product, now_ms)
        if feed == "ticker":
            conn.tickers[product] = now_ms
            return [encode(w.build_ticker(ticker, spec))]
        conn.lites[product] = now_ms
        return [encode(w.build_ticker_lite(ticker, spec))]

    def _start_private(self, conn: _Conn, action: FeedStarted) -> str:
        assert action.api_key is not None
        account = self._keys[action.api_key][0]
        conn.account = account
        self._add(conn, (action.feed, account))
        return account

    def _private_snapshot(self, feed: str, account: str, now_ms: int) -> bytes:
        ex, uid = self.exchange, account_uid(account)
        if feed in ("open_orders", "open_orders_verbose"):
            cls = OpenOrdersSnapshot if feed == "open_orders" else OpenOrdersVerboseSnapshot
            orders = [w.build_open_order(v) for v in ex.open_orders(account)]
            return encode(cls(account=uid, orders=orders))
        if feed == "open_positions":
            return self._positions(account)
        if feed == "balances":
            return self._balances(account, snapshot=True)
        if feed == "account_log":
            rows = ex.account_log(account)[-SNAPSHOT_ROWS:]
            return encode(AccountLogSnapshot(logs=[w.build_log_entry(e) for e in reversed(rows)]))
        return encode(w.build_notifications(ex.notifications()))

    def _fills_snapshot(self, conn: _Conn, products: list[str | None]) -> bytes:
        assert conn.account is not None
        wanted = None if None in products else set(products)
        fills = [
            w.build_fill(f)
            for f in reversed(self.exchange.fills(conn.account))
            if wanted is None or f.symbol in wanted
        ][:SNAPSHOT_ROWS]
        return encode(FillsSnapshot(account=account_uid(conn.account), fills=fills))

    def _stop(self, conn: _Conn, action: FeedStopped) -> None:
        feed, product = action.feed, action.product_id
        if feed == "heartbeat":
            conn.heartbeat_ms = None
        elif feed == "ticker":
            conn.tickers.pop(product or "", None)
        elif feed == "ticker_lite":
            conn.lites.pop(product or "", None)
        if feed in ("book", "trade", "ticker", "ticker_lite"):
            self._remove(conn, (feed, product))
        elif conn.account is not None and not any(f == feed for f, _ in conn.session.subscriptions):
            self._remove(conn, (feed, conn.account))

    def _add(self, conn: _Conn, key: tuple[str, str | None]) -> None:
        self._index.setdefault(key, {})[conn.cid] = None
        conn.keys.add(key)

    def _remove(self, conn: _Conn, key: tuple[str, str | None]) -> None:
        subs = self._index.get(key)
        if subs is not None:
            subs.pop(conn.cid, None)
            if not subs:
                del self._index[key]
        conn.keys.discard(key)

    def _unindex(self, conn: _Conn) -> None:
        for key in list(conn.keys):
            self._remove(conn, key)
        conn.tickers.clear()
        conn.lites.clear()
        conn.heartbeat_ms = None

    # -- fan-out --------------------------------------------------------------------------------

    def _push(self, conn: _Conn, data: bytes) -> None:
        queue = conn.queue
        queue.append(data)
        if len(queue) == 1:
            if self.waker is not None:
                self.waker(conn.cid)
        elif len(queue) > self._max_queue:
            self._request_close(
                conn, CloseRequest(SLOW_CLOSE_CODE, "slow consumer: too many messages queued")
            )

    def _push_all(self, key: tuple[str, str | None], data: bytes) -> None:
        subs = self._index.get(key)
        if subs:
            conns = self._conns
            for cid in list(subs):
                self._push(conns[cid], data)

    def _request_close(self, conn: _Conn, request: CloseRequest) -> None:
        conn.close = request
        conn.queue.clear()
        self._unindex(conn)
        for _, recipients in self._held.values():
            recipients.discard(conn.cid)
        if self.waker is not None:
            self.waker(conn.cid)

    def _on_event(self, event: d.ExchangeEvent) -> None:
        self._handlers[type(event)](event)

    def _on_book(self, event: d.BookChanged) -> None:
        symbol = event.symbol
        subs = self._index.get(("book", symbol))
        if subs:
            data: bytes | None = encode(w.build_book_delta(event))
            faults = self.faults
            copies = 1
            if faults.ws_gap_next > 0:
                faults.ws_gap_next -= 1
                data = None
            elif faults.ws_reorder_next > 0 and symbol not in self._held:
                faults.ws_reorder_next -= 1
                assert data is not None
                self._held[symbol] = (data, set(subs))
                return
            elif faults.ws_duplicate_next > 0:
                faults.ws_duplicate_next -= 1
                copies = 2
            if data is not None:
                conns = self._conns
                for cid in list(subs):
                    conn = conns[cid]
                    for _ in range(copies):
                        self._push(conn, data)
        if self._held:
            self._release(symbol)

    def _release(self, symbol: str) -> None:
        held = self._held.pop(symbol, None)
        if held is not None:
            data, recipients = held
            for cid in recipients:
                conn = self._conns.get(cid)
                if conn is not None and conn.close is None:
                    self._push(conn, data)

    def _on_trade(self, event: d.TradeExecuted) -> None:
        key = ("trade", event.trade.symbol)
        if key in self._index:
            self._push_all(key, encode(w.build_trade(event.trade)))

    def _on_order(self, event: d.OrderUpdated) -> None:
        account, view = event.account, event.order
        self._mark(account, "balances")  # order margin moved
        reason = d.WS_REASONS.get(event.reason, event.reason.lower())
        if event.reason == d.STOP_ORDER_TRIGGERED:
            self._triggered.add(view.order_id)
        elif view.order_id in self._triggered:
            self._triggered.discard(view.order_id)
            if event.reason == d.NEW_ORDER:
                reason = "limit_order_from_stop"
        plain, verbose = ("open_orders", account), ("open_orders_verbose", account)
        if plain not in self._index and verbose not in self._index:
            return
        if event.is_cancel and event.reason != d.FULL_FILL:
            args: dict[str, Any] = {
                "order_id": view.order_id,
                "cli_ord_id": view.cli_ord_id,
                "is_cancel": True,
                "reason": reason,
            }
        else:
            order = w.build_open_order(view)
            args = {"order": order, "is_cancel": event.is_cancel, "reason": reason}
        if event.reason != d.POST_WOULD_EXECUTE:
            self._push_all(plain, encode(OpenOrdersUpdate(**args)))
        self._push_all(verbose, encode(OpenOrdersVerboseUpdate(**args)))

    def _on_fill(self, event: d.FillExecuted) -> None:
        account, fill = event.account, event.fill
        seq = self._fill_seq[account] = self._fill_seq.get(account, 0) + 1
        subs = self._index.get(("fills", account))
        if not subs:
            return
        data = encode(FillsUpdate(username=account_uid(account), fills=[w.build_fill(fill, seq)]))
        for cid in list(subs):
            conn = self._conns[cid]
            if conn.session.wants("fills", fill.symbol):
                self._push(conn, data)

    def _on_position(self, event: d.PositionChanged) -> None:
        self._mark(event.account, "open_positions")

    def _on_log(self, event: d.AccountLogged) -> None:
        self._mark(event.account, "balances")
        key = ("account_log", event.account)
        if key in self._index:
            self._push_all(key, encode(AccountLogUpdate(new_entry=w.build_log_entry(event.entry))))

    def _on_funding(self, event: d.FundingSettled) -> None:
        for feed, account in list(self._index):
            if feed == "open_positions" and account is not None:
                self._mark(account, feed)

    # -- account state (coalesced) --------------------------------------------------------------

    def _mark(self, account: str, feed: str) -> None:
        key = (feed, account)
        subs = self._index.get(key)
        if subs and key not in self._dirty:
            self._dirty.add(key)
            if self.waker is not None:
                for cid in subs:
                    self.waker(cid)

    def _flush_accounts(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for feed, account in sorted(dirty):
            if (feed, account) not in self._index:
                continue
            if feed == "open_positions":
                data = self._positions(account)
            else:
                data = self._balances(account, snapshot=False)
            self._push_all((feed, account), data)

    def _next_seq(self, feed: str, account: str) -> int:
        seq = self._seq[(feed, account)] = self._seq.get((feed, account), 0) + 1
        return seq

    def _positions(self, account: str) -> bytes:
        seq = self._next_seq("open_positions", account)
        return encode(w.build_open_positions(self.exchange, account, seq))

    def _balances(self, account: str, *, snapshot: bool) -> bytes:
        seq = self._next_seq("balances", account)
        return encode(w.build_balances(self.exchange, account, seq, snapshot=snapshot))

    # -- tickers --------------------------------------------------------------------------------

    def _send_tickers(self, now_ms: int) -> None:
        ex, period = self.exchange, self._ticker_ms
        cache: dict[tuple[str, str], bytes] = {}

        def message(kind: str, symbol: str) -> bytes:
            data = cache.get((kind, symbol))
            if data is None:
                spec, ticker = ex.instrument(symbol), ex.ticker(symbol, now_ms)
                built = (
                    w.build_ticker(ticker, spec)
                    if kind == "ticker"
                    else w.build_ticker_lite(ticker, spec)
                )
                data = cache[(kind, symbol)] = encode(built)
            return data

        for conn in list(self._conns.values()):
            if conn.close is not None:
                continue
            for kind, last in (("ticker", conn.tickers), ("ticker_lite", conn.lites)):
                for symbol, sent_ms in list(last.items()):
                    if now_ms - sent_ms >= period:
                        last[symbol] = now_ms
                        self._push(conn, message(kind, symbol))

    # -- helpers --------------------------------------------------------------------------------

    def _conn(self, conn_id: ConnId) -> _Conn:
        conn = self._conns.get(conn_id)
        if conn is None:
            raise KeyError(f"unknown WebSocket connection {conn_id!r}: call connect() first")
        return conn

    def _new_challenge(self) -> str:
        return new_uuid(self._rng)

    def __repr__(self) -> str:
        return f"WsHub(connections={len(self._conns)})"


__all__ = ["HEARTBEAT_MS", "IDLE_TIMEOUT_MS", "TICKER_MS", "CloseRequest", "WsHub"]
