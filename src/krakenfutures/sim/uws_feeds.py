"""The fan-out half of the simulator's uws endpoint: connections, subscriptions and the engine
listener turning :mod:`~krakenfutures.sim.domain` events into uws data messages.

:class:`UwsFeeds` is the base of :class:`~krakenfutures.sim.uws_subscribe.UwsSubscriptions`
and :class:`~krakenfutures.sim.uws.UwsHub` (which add subscriptions and requests). Per event:

* ``BookChanged``: each subscribed depth's mirror (:mod:`~krakenfutures.sim.uws_books`) sends
  its difference with the new checksum; ``uws_checksum_break_next`` corrupts the checksum of
  the next N book messages that have recipients.
* ``TradeExecuted``: a ``trade`` update; the symbol's ``ticker`` is marked and sent once per
  drain/tick (updates "generated on trade events", coalesced).
* ``OrderUpdated``/``FillExecuted``: ``executions`` updates for the account's subscribers
  (one ``sequence`` per connection and channel, snapshot = 1): ``new`` when an order rests,
  ``trade`` per fill (``order_status`` ``partially_filled``/``filled``), ``filled`` when a fill
  completes it, ``canceled`` with the legacy reason text, ``amended`` on edits, ``status``
  (reason ``stop_order_triggered``) when a trigger fires; a subscription with
  ``order_status: false`` gets only ``new``/``trade``/``filled``/``canceled``.
* ``AccountLogged``: a ``balances`` update for rows of a currency.

``positions``, ``margin`` and ``ledgers`` are added by
:class:`~krakenfutures.sim.uws_account.UwsAccountFeeds`.

Sequences (:meth:`UwsFeeds._next_seq`) follow the
:class:`~krakenfutures.core.uws.assumptions.UwsAssumptions` the hub serves: per channel (a
snapshot is 1; without one the count goes on from the connection's last message of that
channel, so a first subscription starts at 1) or, with ``SequenceScope.CONNECTION``, one counter
per connection across the ``sequenced_channels`` (snapshots included). The
``uws_seq_skip_next`` fault makes the next N updates of a sequence-checked channel skip one
number (each unit used by one recipient connection).

Frames produced while a connection's own request runs are held and returned after its reply
(``capture``), so a client sees the ``add_order`` answer before the ``executions`` it caused.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SequenceScope, UwsAssumptions
from krakenfutures.sim import domain as d
from krakenfutures.sim import uws_wire as w
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.uws_auth import TokenGrant
from krakenfutures.sim.uws_books import UwsBooks
from krakenfutures.sim.ws import CloseRequest

ConnId = tuple[bool, Hashable]  # (private endpoint, the shell's id)
SLOW_CLOSE_CODE = 1008
_STATUS_ONLY = frozenset({"amended", "status"})


@dataclass(eq=False)
class UwsConn:
    """One uws connection's state."""

    cid: ConnId
    private: bool
    connection_id: int
    queue: deque[bytes] = field(default_factory=deque)
    close: CloseRequest | None = None
    keys: set[tuple[str, str | None]] = field(default_factory=set)
    books: dict[str, int] = field(default_factory=dict)  # symbol -> depth
    grants: dict[str, TokenGrant] = field(default_factory=dict)  # tokens accepted here
    exec_all_statuses: bool = True
    seqs: dict[str, int] = field(default_factory=dict)  # channel (or "*") -> last sequence
    positions_margin: bool = False  # positions subscribed with_margin
    margin_sent: dict[str, bytes] = field(default_factory=dict)  # margin type -> last frame
    last_beat_ms: int = 0
    sent: bool = False
    capture: list[bytes] | None = None


class UwsFeeds:
    """Connections, the subscription index and the engine listener (see the module docstring)."""

    def __init__(
        self,
        exchange: Exchange,
        *,
        faults: Faults | None,
        rng: random.Random | None,
        wire_symbol: Callable[[str], str],
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        max_queue: int = 200_000,
    ) -> None:
        self.exchange = exchange
        self._assumptions = assumptions
        self.faults = faults if faults is not None else Faults()
        self._rng = rng if rng is not None else random.Random(0)
        self._wire = wire_symbol
        self._max_queue = max_queue
        self._wakers: dict[bool, Callable[[Hashable], None]] = {}
        self._conns: dict[ConnId, UwsConn] = {}
        self._index: dict[tuple[str, str | None], dict[ConnId, None]] = {}
        self.books = UwsBooks(exchange, wire_symbol)
        self._dirty_tickers: set[str] = set()
        self._fills: dict[str, tuple[Decimal, Decimal]] = {}  # order id -> (qty, qty x price)
        self._triggered: set[str] = set()
        self._handlers: dict[type, Callable[[Any], None]] = {
            d.BookChanged: self._on_book,
            d.TradeExecuted: self._on_trade,
            d.OrderUpdated: self._on_order,
            d.FillExecuted: self._on_fill,
            d.AccountLogged: self._on_log,
        }
        exchange.add_listener(self._on_event)

    # -- connections and the index -------------------------------------------------------------

    def _conn(self, conn_id: ConnId) -> UwsConn:
        conn = self._conns.get(conn_id)
        if conn is None:
            raise KeyError(f"unknown uws connection {conn_id!r}: call connect() first")
        return conn

    def _add(self, conn: UwsConn, key: tuple[str, str | None]) -> None:
        self._index.setdefault(key, {})[conn.cid] = None
        conn.keys.add(key)

    def _remove(self, conn: UwsConn, key: tuple[str, str | None]) -> None:
        subs = self._index.get(key)
        if subs is not None:
            subs.pop(conn.cid, None)
            if not subs:
                del self._index[key]
        conn.keys.discard(key)
        if key[0] == "book" and key[1] is not None:
            symbol = key[1]
            depth = conn.books.pop(symbol, None)
            others = self._index.get(key, {})
            if depth is not None and all(self._conns[c].books.get(symbol) != depth for c in others):
                self.books.release(symbol, depth)

    def _unindex(self, conn: UwsConn) -> None:
        for key in list(conn.keys):
            self._remove(conn, key)

    def _next_seq(self, conn: UwsConn, channel: str, *, snapshot: bool = False) -> int:
        """The ``sequence`` of ``conn``'s next ``channel`` message (see the module docstring);
        ``snapshot`` restarts a per-channel count at 1."""
        rules = self._assumptions
        checked = channel in rules.sequenced_channels
        shared = rules.sequence_scope is SequenceScope.CONNECTION and checked
        key = "*" if shared else channel
        if snapshot and not shared:
            conn.seqs[key] = 1
            return 1
        seq = conn.seqs.get(key, 0) + 1
        if not snapshot and checked and self.faults.uws_seq_skip_next > 0:
            self.faults.uws_seq_skip_next -= 1
            seq += 1  # the number in between is never sent
        conn.seqs[key] = seq
        return seq

    def _wake(self, conn: UwsConn) -> None:
        waker = self._wakers.get(conn.private)
        if waker is not None:
            waker(conn.cid[1])

    def _push(self, conn: UwsConn, data: bytes) -> None:
        conn.sent = True
        if conn.capture is not None:
            conn.capture.append(data)
            return
        queue = conn.queue
        queue.append(data)
        if len(queue) == 1:
            self._wake(conn)
        elif len(queue) > self._max_queue:
            self._request_close(
                conn, CloseRequest(SLOW_CLOSE_CODE, "slow consumer: too many messages queued")
            )

    def _push_all(self, key: tuple[str, str | None], data: bytes) -> None:
        for cid in list(self._index.get(key, ())):
            self._push(self._conns[cid], data)

    def _request_close(self, conn: UwsConn, request: CloseRequest) -> None:
        conn.close = request
        conn.queue.clear()
        self._unindex(conn)
        self._wake(conn)

    def _flush(self) -> None:
        """Coalesced ticker updates (one per marked symbol)."""
        dirty, self._dirty_tickers = self._dirty_tickers, set()
        for symbol in sorted(dirty):
            key = ("ticker", symbol)
            if key in self._index:
                row = w.ticker_row(self.exchange.ticker(symbol), self._wire(symbol))
                self._push_all(key, w.encode(w.channel("ticker", "update", [row])))

    # -- engine events -------------------------------------------------------------------------

    def _on_event(self, event: d.ExchangeEvent) -> None:
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _on_book(self, event: d.BookChanged) -> None:
        symbol = event.symbol
        subs = self._index.get(("book", symbol))
        if not subs:
            return
        for depth in self.books.depths(symbol):
            entry = self.books.update(symbol, depth, event.ts_ms)
            if entry is None:
                continue
            recipients = [self._conns[c] for c in subs if self._conns[c].books.get(symbol) == depth]
            if not recipients:
                continue
            if self.faults.uws_checksum_break_next > 0:
                self.faults.uws_checksum_break_next -= 1
                entry["checksum"] ^= 0xFFFFFFFF  # always wrong, still a uint32
            data = w.encode(w.channel("book", "update", [entry]))
            for conn in recipients:
                self._push(conn, data)

    def _on_trade(self, event: d.TradeExecuted) -> None:
        symbol = event.trade.symbol
        key = ("trade", symbol)
        if key in self._index:
            row = w.trade_row(event.trade, self._wire(symbol))
            self._push_all(key, w.encode(w.channel("trade", "update", [row])))
        subs = self._index.get(("ticker", symbol))
        if subs and symbol not in self._dirty_tickers:
            self._dirty_tickers.add(symbol)
            for cid in subs:
                self._wake(self._conns[cid])

    def _avg(self, order_id: str) -> Decimal | None:
        tracked = self._fills.get(order_id)
        if tracked is None or not tracked[0]:
            return None
        return tracked[1] / tracked[0]

    def _order_exec(self, event: d.OrderUpdated) -> tuple[str, str, str | None] | None:
        view, reason = event.order, event.reason
        oid = view.order_id
        status = "partially_filled" if view.filled > 0 else "new"
        if event.is_cancel:
            self._triggered.discard(oid)
            if reason == d.FULL_FILL:
                return "filled", "filled", None
            return "canceled", "canceled", d.WS_REASONS.get(reason, reason.lower())
        if reason == d.NEW_ORDER:
            if oid in self._triggered:  # the rest of a fired trigger: "status" said it all
                self._triggered.discard(oid)
                return None
            return "new", status, None
        if reason == d.EDITED_BY_USER:
            return "amended", status, None
        if reason == d.STOP_ORDER_TRIGGERED:
            self._triggered.add(oid)
            return "status", status, d.WS_REASONS[reason]
        if reason == d.PARTIAL_FILL:
            return None  # the trade event carried it
        return "status", status, d.WS_REASONS.get(reason, reason.lower())

    def _on_order(self, event: d.OrderUpdated) -> None:
        subs = self._index.get(("executions", event.account))
        oid = event.order.order_id
        if subs:
            kind = self._order_exec(event)
            if kind is not None:
                exec_type, status, reason = kind
                entry = w.execution(
                    event.order,
                    exec_type,
                    status,
                    self._wire(event.order.symbol),
                    avg_price=self._avg(oid),
                    reason=reason,
                )
                for cid in list(subs):
                    conn = self._conns[cid]
                    if conn.exec_all_statuses or exec_type not in _STATUS_ONLY:
                        self._send_exec(conn, [entry], "update")
        elif event.is_cancel or event.reason == d.STOP_ORDER_TRIGGERED:
            self._order_exec(event)  # keep the trigger bookkeeping right
        if event.is_cancel:
            self._fills.pop(oid, None)

    def _on_fill(self, event: d.FillExecuted) -> None:
        fill = event.fill
        qty, notional = self._fills.get(fill.order_id, (Decimal(0), Decimal(0)))
        qty, notional = qty + fill.qty, notional + fill.qty * fill.price
        # Kept until the order closes (OrderUpdated with is_cancel always follows a full fill):
        # the "filled" event carries the average price too.
        self._fills[fill.order_id] = (qty, notional)
        subs = self._index.get(("executions", event.account))
        if not subs:
            return
        spec = self.exchange.instrument(fill.symbol)
        entry = w.trade_execution(fill, spec, self._wire(fill.symbol), qty, notional / qty)
        for cid in list(subs):
            self._send_exec(self._conns[cid], [entry], "update")

    def _send_exec(self, conn: UwsConn, entries: list[dict[str, Any]], kind: str) -> None:
        seq = self._next_seq(conn, "executions")
        message = w.channel("executions", kind, entries, sequence=seq)
        self._push(conn, w.encode(message))

    def _on_log(self, event: d.AccountLogged) -> None:
        subs = self._index.get(("balances", event.account))
        if not subs:
            return
        entry = w.balance_update(event.entry)
        if entry is None:
            return
        for cid in list(subs):
            conn = self._conns[cid]
            seq = self._next_seq(conn, "balances")
            message = w.channel("balances", "update", [entry], sequence=seq)
            self._push(conn, w.encode(message))


__all__ = ["ConnId", "UwsConn", "UwsFeeds"]
