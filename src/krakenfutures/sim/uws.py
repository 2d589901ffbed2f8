"""The simulator's Unified WebSocket endpoints ``/v2/public`` and ``/v2/private``, sans-I/O.

:class:`UwsHub` serves both endpoints of one exchange; :meth:`UwsHub.endpoint` gives each the
interface :class:`~krakenfutures.sim.ws_shell.WsShell` drives (``connect``, ``receive``,
``drain``, ``note_activity``, ``disconnect``, ``close_request``, ``waker``), so the v1 socket
shell serves uws unchanged. One account is visible through both dialects: orders go to the same
engine as legacy REST and every engine event reaches both hubs.

Protocol (reference §3), our readings marked in :mod:`~krakenfutures.sim.uws_wire`:

* On connect: a ``status`` update (``system``, ``connection_id``, ``api_version`` ``v2``); again
  to every connection when the system state or the maintenance notices change. ``system`` is
  ``maintenance`` when no instrument trades, ``post_only`` when all are post-only, else
  ``online``; the ``uws_status`` fault forces a value, and order methods then behave as Kraken
  documents it (maintenance: ``EService:Unavailable``; cancel_only: no new orders or amends,
  ``EService:Market in cancel_only mode``; post_only: only post-only ``add_order``).
* ``ping`` -> ``pong``; every response carries ``success``, ``req_id`` (when sent), ``time_in``
  and ``time_out``. Frames that do not parse, or lack ``method``, get ``success: false``.
* ``subscribe``/``unsubscribe`` one ack per symbol: ``book`` (``depth`` 10/25/100/500/1000,
  default 10), ``ticker``, ``trade`` (snapshot: 50 trades, oldest first), ``instrument``
  (snapshot ``{"assets": [], "pairs": [...]}``, updates when a trading state changes),
  ``executions`` (``snap_orders`` default true, ``snap_trades`` default false = last 50 fills,
  ``order_status``), ``balances``, ``positions``, ``margin`` and ``ledgers``
  (:mod:`~krakenfutures.sim.uws_account`), the account channels on ``/v2/private`` with a token.
  ``asset_class`` must be ``derivatives`` (required as documented, optional on ``trade``,
  ``balances`` and ``ledgers``). ``status`` and ``heartbeat`` are not subscribable. Unknown
  symbols: ``Currency pair not supported <symbol>``.
* ``heartbeat``: ``{"channel":"heartbeat"}`` once per ``heartbeat_ms`` of exchange time to a
  connection with a subscription that was sent nothing else in that period (on :meth:`tick`).
* Private methods (:data:`~krakenfutures.sim.uws_orders.ORDER_METHODS`) only on
  ``/v2/private``; ``params.token`` must be a token from ``GetWebSocketsToken`` used within 15
  minutes of issue, or one this connection already accepted (``ESession:Invalid session``
  otherwise); a ``read`` key's token may not trade (``EGeneral:Permission denied``).

Faults: ``uws_drop_next`` aborts the N oldest connections; ``uws_checksum_break_next`` corrupts
book checksums; ``uws_drop_reply_next`` executes the next N order methods and never answers
(``executions`` still reports them); ``uws_unavailable_next`` refuses the next N order methods
with ``EService:Unavailable`` without executing them; ``uws_status`` forces the status; ``uws_seq_skip_next``
makes the next N updates of a sequence-checked private channel skip one ``sequence`` number. No
idle timeout and no message-rate limit: neither is documented for uws.

Accepted order methods are passed to ``journal`` (the raw request and the account) so a
``--state`` restart can :meth:`~UwsHub.replay` them.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Hashable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.types import TradingState
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.sim import uws_wire as w
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.uws_auth import TokenStore
from krakenfutures.sim.uws_feeds import ConnId, UwsConn
from krakenfutures.sim.uws_orders import ORDER_METHODS, UwsOrders
from krakenfutures.sim.uws_params import INVALID, UwsError
from krakenfutures.sim.uws_subscribe import PRIVATE_PATH, UwsSubscriptions
from krakenfutures.sim.ws import CloseRequest

log = logging.getLogger("krakenfutures.sim")
PUBLIC_PATH = "/v2/public"
HEARTBEAT_MS = 1_000
"""Heartbeat period: "roughly once a second when no other channel updates flow"."""
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_CANCEL_ONLY_REFUSED = ("add_order", "amend_order", "batch_add")


class UwsHub(UwsSubscriptions):
    """Every uws connection of one simulated exchange (see the module docstring).

    Args:
        exchange: the engine (the hub registers a listener on it).
        tokens: tokens issued by Spot REST ``GetWebSocketsToken``.
        faults: the simulator's fault knobs (shared with REST and ``/ws/v1``).
        rng: source of ``connection_id`` values (seeded for reproducible runs).
        assumptions: symbol spelling on the wire; input is accepted in both spellings.
        journal: called with ``{"account", "request", "now_ms"}`` for every order method run.
    """

    def __init__(
        self,
        exchange: Exchange,
        tokens: TokenStore,
        *,
        faults: Faults | None = None,
        rng: random.Random | None = None,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        heartbeat_ms: int = HEARTBEAT_MS,
        journal: Callable[[dict[str, Any]], None] | None = None,
        max_queue: int = 200_000,
    ) -> None:
        super().__init__(
            exchange,
            tokens,
            faults=faults,
            rng=rng,
            assumptions=assumptions,
            max_queue=max_queue,
        )
        self.orders = UwsOrders(exchange, self.symbol_in)
        self.journal = journal
        self._heartbeat_ms = heartbeat_ms
        self._system = self.system()
        self._notes = tuple(exchange.notifications())
        self._states = self._trading_states()

    # -- the shell's interface -------------------------------------------------------------------

    def endpoint(self, private: bool) -> UwsEndpoint:
        """The ``/v2/private`` (``private=True``) or ``/v2/public`` side, for a socket shell."""
        return UwsEndpoint(self, private)

    def connect(self, conn_id: ConnId, now_ms: int) -> list[bytes]:
        """A socket opened: returns the ``status`` greeting."""
        if conn_id in self._conns:
            raise ValueError(f"connection {conn_id!r} is already open; use a fresh id")
        self._check_status()
        conn = UwsConn(conn_id, conn_id[0], self._rng.getrandbits(64), last_beat_ms=now_ms)
        self._conns[conn_id] = conn
        return [self._status_message(conn)]

    def disconnect(self, conn_id: ConnId) -> None:
        """The socket is gone: forget the connection and its subscriptions."""
        conn = self._conns.pop(conn_id, None)
        if conn is not None:
            self._unindex(conn)

    def note_activity(self, conn_id: ConnId, now_ms: int) -> None:
        """A protocol ping or pong arrived (uws has no idle timeout: nothing to do)."""

    def close_request(self, conn_id: ConnId) -> CloseRequest | None:
        """How the shell must close this connection, or ``None`` to keep it open."""
        conn = self._conns.get(conn_id)
        return conn.close if conn is not None else None

    def drain(self, conn_id: ConnId) -> list[bytes]:
        """Everything queued for this connection since the last drain, in order."""
        if self._dirty_tickers or self._dirty_margin:
            self._flush()
        conn = self._conns.get(conn_id)
        if conn is None or not conn.queue:
            return []
        out = list(conn.queue)
        conn.queue.clear()
        return out

    # -- clock and faults ------------------------------------------------------------------------

    def tick(self, now_ms: int) -> list[ConnId]:
        """Periodic work: faults, tickers, status and instrument changes, heartbeats."""
        closing = self.apply_faults()
        if self._dirty_tickers or self._dirty_margin:
            self._flush()
        if ("instrument", None) in self._index:
            states = self._trading_states()
            changed = [s for s, st in states.items() if self._states.get(s) != st]
            self._states = states
            if changed:
                rows = [self._instrument(s) for s in changed]
                message = w.channel("instrument", "update", {"assets": [], "pairs": rows})
                self._push_all(("instrument", None), w.encode(message))
        beat = None
        for conn in list(self._conns.values()):
            if conn.close is not None or now_ms - conn.last_beat_ms < self._heartbeat_ms:
                continue
            if conn.keys and not conn.sent:
                beat = beat or w.encode({"channel": "heartbeat"})
                self._push(conn, beat)
            conn.last_beat_ms, conn.sent = now_ms, False
        return closing

    def apply_faults(self) -> list[ConnId]:
        """Apply ``uws_drop_next`` now (abort up to N open connections, oldest first) and send
        a ``status`` update if the system state or the maintenance notices changed."""
        self._check_status()
        dropped: list[ConnId] = []
        want = self.faults.uws_drop_next
        if want <= 0:
            return dropped
        for conn in list(self._conns.values()):
            if len(dropped) >= want:
                break
            if conn.close is None:
                self._request_close(conn, CloseRequest(1006, "dropped (fault)", abort=True))
                dropped.append(conn.cid)
        self.faults.uws_drop_next = 0
        return dropped

    def system(self) -> str:
        """The ``status`` channel's ``system`` value now."""
        forced = self.faults.uws_status
        if forced:
            return forced
        states = set(self._trading_states().values())
        if states <= {TradingState.MAINTENANCE, TradingState.SUSPENDED, TradingState.UNKNOWN}:
            return "maintenance"
        return "post_only" if states == {TradingState.POST_ONLY} else "online"

    def _check_status(self) -> None:
        system, notes = self.system(), tuple(self.exchange.notifications())
        if system != self._system or notes != self._notes:
            self._system, self._notes = system, notes
            for conn in list(self._conns.values()):
                if conn.close is None:
                    self._push(conn, self._status_message(conn))

    def _trading_states(self) -> dict[str, TradingState]:
        ex = self.exchange
        return {s.symbol: ex.trading_state(s.symbol) for s in ex.instruments()}

    def _status_message(self, conn: UwsConn) -> bytes:
        row = w.status_row(self._system, conn.connection_id, self._notes)
        return w.encode(w.channel("status", "update", [row]))

    # -- requests ------------------------------------------------------------------------------

    def receive(self, conn_id: ConnId, raw: str | bytes, now_ms: int) -> list[bytes]:
        """Handle one frame: returns the replies (and snapshots), then any data messages the
        request itself caused on this connection (the shell sends them in that order)."""
        conn = self._conn(conn_id)
        if conn.close is not None:
            return []
        time_in = w.iso_us(now_ms)
        try:
            msg = _decoder.decode(raw)
        except msgspec.DecodeError:
            msg = None
        method = msg.get("method") if isinstance(msg, dict) else None
        params = msg.get("params", {}) if isinstance(msg, dict) else None
        if not isinstance(method, str) or not isinstance(params, dict):
            error = f"{INVALID}:expected {{'method': ..., 'params': {{...}}, 'req_id': ...}}"
            req_id = msg.get("req_id") if isinstance(msg, dict) else None
            return [w.encode(w.reply(None, req_id, time_in, now_ms, error=error))]
        req_id = msg.get("req_id")
        conn.capture = []
        try:
            replies = self._dispatch(conn, method, params, req_id, time_in, now_ms, raw)
        except Exception:  # a simulator bug must not kill the connection or pass as Kraken's
            log.exception("simulator bug while handling uws %s", method)
            error = "EGeneral:Internal error (simulator bug, see its log)"
            replies = [w.reply(method, req_id, time_in, now_ms, error=error)]
        finally:
            if self._dirty_margin:  # what the request moved goes after its answer
                self._flush_margin()
            held, conn.capture = conn.capture, None
        return [w.encode(r) for r in replies] + held

    def _dispatch(
        self,
        conn: UwsConn,
        method: str,
        params: dict[str, Any],
        req_id: Any,
        time_in: str,
        now_ms: int,
        raw: str | bytes,
    ) -> list[Any]:
        if method == "ping":
            return [w.reply("pong", req_id, time_in, now_ms)]
        if method in ("subscribe", "unsubscribe"):
            return self.subscription(conn, method, params, req_id, time_in, now_ms)
        if method in ORDER_METHODS:
            return self._order_method(conn, method, params, req_id, time_in, now_ms, raw)
        error = f"{INVALID}:unknown method {method!r}"
        return [w.reply(method, req_id, time_in, now_ms, error=error)]

    def _order_method(
        self,
        conn: UwsConn,
        method: str,
        params: dict[str, Any],
        req_id: Any,
        time_in: str,
        now_ms: int,
        raw: str | bytes,
    ) -> list[Any]:
        def error(code: str) -> list[Any]:
            return [w.reply(method, req_id, time_in, now_ms, error=code)]

        if not conn.private:
            return error(f"{INVALID}:{method} is served on {PRIVATE_PATH}")
        try:
            grant = self.grant(conn, params, now_ms)
        except UwsError as exc:
            return error(exc.code)
        if not grant.trade:
            return error("EGeneral:Permission denied")
        system = self.system()
        if system == "maintenance":
            return error("EService:Unavailable")
        if system == "cancel_only" and method in _CANCEL_ONLY_REFUSED:
            return error("EService:Market in cancel_only mode")
        if system == "post_only" and method == "add_order" and params.get("post_only") is not True:
            return error("EService:Market in post_only mode")
        if self.faults.uws_unavailable_next > 0:  # the uws twin of a 503: nothing executed
            self.faults.uws_unavailable_next -= 1
            return error("EService:Unavailable")
        if self.journal is not None:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            self.journal({"account": grant.account, "request": text, "now_ms": now_ms})
        try:
            result = self.orders.execute(method, grant.account, params, now_ms)
        except UwsError as exc:
            replies = error(exc.code)
        else:
            if method == "cancel_order":
                replies = [
                    w.reply(method, req_id, time_in, now_ms, result=ok, error=code)
                    for ok, code in result
                ]
            else:
                replies = [w.reply(method, req_id, time_in, now_ms, result=result)]
        if self.faults.uws_drop_reply_next > 0:
            self.faults.uws_drop_reply_next -= 1
            return []  # executed; the answer is lost
        return replies

    def replay(self, entry: Mapping[str, Any]) -> None:
        """Re-run a journalled order method (restart with ``--state``): no auth, no replies."""
        msg = _decoder.decode(entry["request"])
        with contextlib.suppress(UwsError):
            self.orders.execute(
                msg["method"], entry["account"], msg.get("params", {}), entry["now_ms"]
            )


class UwsEndpoint:
    """One side (public or private) of a :class:`UwsHub`, shaped for
    :class:`~krakenfutures.sim.ws_shell.WsShell` (its connection ids are the shell's own)."""

    def __init__(self, hub: UwsHub, private: bool) -> None:
        self.hub = hub
        self.private = private
        self.faults = hub.faults

    @property
    def waker(self) -> Callable[[Hashable], None] | None:
        """Called with a shell connection id when that connection has something to send."""
        return self.hub._wakers.get(self.private)

    @waker.setter
    def waker(self, fn: Callable[[Hashable], None]) -> None:
        self.hub._wakers[self.private] = fn

    def connect(self, conn_id: Hashable, now_ms: int) -> list[bytes]:
        """See :meth:`UwsHub.connect`."""
        return self.hub.connect((self.private, conn_id), now_ms)

    def receive(self, conn_id: Hashable, raw: str | bytes, now_ms: int) -> list[bytes]:
        """See :meth:`UwsHub.receive`."""
        return self.hub.receive((self.private, conn_id), raw, now_ms)

    def drain(self, conn_id: Hashable) -> list[bytes]:
        """See :meth:`UwsHub.drain`."""
        return self.hub.drain((self.private, conn_id))

    def note_activity(self, conn_id: Hashable, now_ms: int) -> None:
        """See :meth:`UwsHub.note_activity`."""
        self.hub.note_activity((self.private, conn_id), now_ms)

    def disconnect(self, conn_id: Hashable) -> None:
        """See :meth:`UwsHub.disconnect`."""
        self.hub.disconnect((self.private, conn_id))

    def close_request(self, conn_id: Hashable) -> CloseRequest | None:
        """See :meth:`UwsHub.close_request`."""
        return self.hub.close_request((self.private, conn_id))


__all__ = ["HEARTBEAT_MS", "PRIVATE_PATH", "PUBLIC_PATH", "UwsEndpoint", "UwsHub"]
