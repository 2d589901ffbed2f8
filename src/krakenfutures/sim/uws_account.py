"""The account channels of the simulator's uws endpoint: ``positions``, ``margin``, ``ledgers``.

:class:`UwsAccountFeeds` adds them to :class:`~krakenfutures.sim.uws_feeds.UwsFeeds` (the
subscription handling is in :mod:`~krakenfutures.sim.uws_subscribe`); shapes in
:mod:`~krakenfutures.sim.uws_account_wire`. One subscription per connection each, bound to the
token's account (reference §3.3, §4.10):

* ``positions`` (``asset_class`` required; ``snapshot`` default true; ``with_margin`` default
  false, not with an explicit ``snapshot: true``): the snapshot lists every open position; then,
  per engine ``PositionChanged`` (every fill, liquidations included), an update with that one
  position, ``size: 0`` once it is flat. Not on mere mark or funding moves: the reference
  documents none. Carries ``sequence`` (per the assumptions' rules, like ``executions``).
* ``margin`` (``asset_class`` required; ``snapshot`` refused with Kraken's error): on subscribe
  both sections (``multi_collateral`` then ``single_collateral``); afterwards a section is sent
  again, whole, when its figures changed after an order, fill, fee, funding or transfer
  (coalesced: at most once per drain, tick or request). No ``sequence``.
* ``ledgers``: no snapshot (reference §3.4), unless the subscriber asks ``snapshot: true`` (a
  simulator convenience: the last :data:`SNAPSHOT_LEDGERS` account-log rows, oldest first);
  then one update per account-log row (trade fee and realised PnL, position size, funding,
  transfer, withdrawal), each with the next ``sequence``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from krakenfutures.sim import domain as d
from krakenfutures.sim import uws_account_wire as aw
from krakenfutures.sim import uws_wire as w
from krakenfutures.sim.uws_feeds import UwsConn, UwsFeeds
from krakenfutures.sim.ws_wire import group_equity

SNAPSHOT_LEDGERS = 50
"""Account-log rows in a ``ledgers`` snapshot (only when ``snapshot: true`` is asked)."""


class UwsAccountFeeds(UwsFeeds):
    """``positions``, ``margin`` and ``ledgers`` over :class:`UwsFeeds` (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dirty_margin: set[str] = set()  # accounts whose margin may have changed
        handlers = self._handlers
        for kind, extra in (
            (d.OrderUpdated, self._margin_moved),
            (d.FillExecuted, self._margin_moved),
            (d.AccountLogged, self._on_ledger),
            (d.PositionChanged, self._on_position),
            (d.FundingSettled, self._on_funding),
        ):
            handlers[kind] = _chain(handlers.get(kind), extra)

    # -- snapshots (called by the subscription handler) ------------------------------------------

    def positions_snapshot(self, conn: UwsConn, account: str) -> dict[str, Any]:
        """The ``positions`` snapshot of ``account`` (every open position) for ``conn``."""
        ex = self.exchange
        entries = [self._position(conn, account, p) for p in ex.positions(account)]
        seq = self._next_seq(conn, "positions", snapshot=True)
        data = aw.positions_data(entries, ex.now_ms)
        return w.channel("positions", "snapshot", data, sequence=seq)

    def margin_snapshot(self, conn: UwsConn, account: str) -> list[dict[str, Any]]:
        """Both ``margin`` sections of ``account`` now (remembered as sent to ``conn``)."""
        out = []
        for kind, data in aw.margin_sections(self.exchange.account_state(account)):
            message = w.channel("margin", kind, data)
            conn.margin_sent[kind] = w.encode(message)
            out.append(message)
        return out

    def ledgers_snapshot(self, conn: UwsConn, account: str) -> dict[str, Any]:
        """The last :data:`SNAPSHOT_LEDGERS` ledger entries of ``account``, oldest first."""
        rows = self.exchange.account_log(account)[-SNAPSHOT_LEDGERS:]
        entries = [aw.ledger_entry(e, self._wire) for e in rows]
        seq = self._next_seq(conn, "ledgers", snapshot=True)
        return w.channel("ledgers", "snapshot", entries, sequence=seq)

    # -- engine events ---------------------------------------------------------------------------

    def _position(self, conn: UwsConn, account: str, pos: d.Position) -> dict[str, Any]:
        ex = self.exchange
        spec = ex.instrument(pos.symbol)
        margin = None
        if conn.positions_margin:
            equity = group_equity(ex.account_state(account), spec)
            margin = (ex.state.markets[pos.symbol].index_price, equity)
        signed = self._assumptions.position_size_signed
        return aw.position_entry(pos, spec, self._wire(pos.symbol), signed=signed, margin=margin)

    def _on_position(self, event: d.PositionChanged) -> None:
        self._margin_moved(event)
        subs = self._index.get(("positions", event.account))
        if not subs:
            return
        pos = next(
            (p for p in self.exchange.positions(event.account) if p.symbol == event.symbol), None
        )
        plain: dict[str, Any] | None = None
        for cid in list(subs):
            conn = self._conns[cid]
            if pos is None:
                entry = aw.flat_entry(self._wire(event.symbol), event.ts_ms)
            elif conn.positions_margin:
                entry = self._position(conn, event.account, pos)
            else:
                plain = plain or self._position(conn, event.account, pos)
                entry = plain
            seq = self._next_seq(conn, "positions")
            data = aw.positions_data([entry], event.ts_ms)
            self._push(conn, w.encode(w.channel("positions", "update", data, sequence=seq)))

    def _on_ledger(self, event: d.AccountLogged) -> None:
        self._margin_moved(event)
        subs = self._index.get(("ledgers", event.account))
        if not subs:
            return
        entry = aw.ledger_entry(event.entry, self._wire)
        for cid in list(subs):
            conn = self._conns[cid]
            seq = self._next_seq(conn, "ledgers")
            self._push(conn, w.encode(w.channel("ledgers", "update", [entry], sequence=seq)))

    def _on_funding(self, event: d.FundingSettled) -> None:
        for channel, account in list(self._index):
            if channel == "margin" and account is not None:
                self._mark_margin(account)

    def _margin_moved(self, event: Any) -> None:
        self._mark_margin(event.account)

    def _mark_margin(self, account: str) -> None:
        subs = self._index.get(("margin", account))
        if subs and account not in self._dirty_margin:
            self._dirty_margin.add(account)
            for cid in subs:
                self._wake(self._conns[cid])

    # -- coalesced margin ------------------------------------------------------------------------

    def _flush(self) -> None:
        """Coalesced ticker updates, then the margin sections that changed."""
        super()._flush()
        self._flush_margin()

    def _flush_margin(self) -> None:
        dirty, self._dirty_margin = self._dirty_margin, set()
        for account in sorted(dirty):
            subs = self._index.get(("margin", account))
            if not subs:
                continue
            sections = aw.margin_sections(self.exchange.account_state(account))
            frames = {kind: w.encode(w.channel("margin", kind, data)) for kind, data in sections}
            for cid in list(subs):
                conn = self._conns[cid]
                for kind, frame in frames.items():
                    if conn.margin_sent.get(kind) != frame:
                        conn.margin_sent[kind] = frame
                        self._push(conn, frame)


def _chain(
    first: Callable[[Any], None] | None, then: Callable[[Any], None]
) -> Callable[[Any], None]:
    """One handler running ``first`` (if any), then ``then``."""
    if first is None:
        return then

    def both(event: Any) -> None:
        first(event)
        then(event)

    return both


__all__ = ["SNAPSHOT_LEDGERS", "UwsAccountFeeds"]
