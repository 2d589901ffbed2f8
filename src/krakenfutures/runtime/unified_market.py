"""The Unified WebSocket (uws) feeds as a :class:`~krakenfutures.runtime.node.MarketSource`: the
twin of :class:`~krakenfutures.runtime.legacy_market.LegacyMarket`.

Two sockets: the public one (``book`` with its CRC32 checksum verified by the connection and
resynced on a mismatch, ``trade``, ``ticker`` for the bot's symbols) and the private one
(``executions``, ``balances``, ``positions``), read through the connection's shared
:class:`~krakenfutures.runtime.unified_venue.PrivateStream` so the
:class:`~krakenfutures.runtime.unified_venue.UnifiedVenue` on the same socket keeps its mirror.
Every message becomes the domain records a
:class:`~krakenfutures.runtime.unified_feed.UnifiedFeedTranslator` makes of it:
:class:`BookUpdated` after each applied book message of a synced book, trades, tickers, fills,
order snapshots, positions, balances, and :class:`FeedReconnected` after a reconnect of either
socket so the node reconciles.

**Sequence gaps** on the private socket: the connection resubscribes ``executions``/
``balances``/``positions`` (:class:`~krakenfutures.client.uws.UwsChannelResynced` follows the
fresh snapshot). A gap on ``executions`` marks the mirror out of sync at once (lookups wait
for the fresh snapshot instead of answering from a mirror that may miss a cancel or a fill);
the snapshot replaces the resting orders (an order it no longer lists is closed in the mirror
as ``cancelled``/``gone``, or ``filled`` when a snapshot trade says so); then the listeners get
a :class:`FeedReconnected` with ``attempt=0`` (no socket was lost) so the node reconciles the
OMS with the new mirror under its usual rules (a resting order missing from the complete open
orders becomes unknown and is looked up). Fills are keyed by ``fill_id``, so the ``snap_trades``
part of the snapshot books nothing twice. A ``positions`` resync also ends in
:class:`FeedReconnected`; a ``balances`` snapshot simply replaces the balances.

An ``executions`` snapshot is read in two parts: its order entries are the resting orders; its
``trade`` entries (``snap_trades``) give fills only. Merged naively, a trade of a resting
partially filled order would count its fill twice (the order entry's ``cum_qty`` already holds
it), and a trade of an order cancelled since would put that order back on the book.

:class:`PrivateStream` (here because the market and the venue both read it) is the one reader
of a private socket: it keeps the account mirror the venue's lookups answer from, and runs the
*barrier* that makes those lookups exact (see :mod:`krakenfutures.runtime.unified_venue`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from decimal import Decimal
from typing import Any

from krakenfutures.client.events import Reconnected
from krakenfutures.client.uws import AsyncUwsConnection, UwsChannelResynced
from krakenfutures.core.events import BookUpdated, FeedReconnected, FundingPaid
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.events import (
    RequestFailed,
    RequestSucceeded,
    SequenceGap,
    SubscribeFailed,
)
from krakenfutures.core.uws.schema_channels import (
    BalancesMessage,
    ExecutionsMessage,
    MarginMessage,
    PositionsMessage,
)
from krakenfutures.errors import ConnectError, TimeoutError_
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord
from krakenfutures.runtime.unified_feed import (
    UnifiedFeedTranslator,
    subscribe_private,
    subscribe_public,
)

log = logging.getLogger(__name__)

_END = object()
PING_TIMEOUT_S = 2.0
"""How long one barrier ``ping`` may wait for its ``pong`` before another is tried."""
_CLOSED_KEEP = 2_000
_FILLS_KEEP = 10_000
_RESTING = (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
_RECONCILE_AFTER_RESYNC = ("executions", "positions")


class PrivateStream:
    """The one reader of a private uws connection: the account mirror and a fan-out of the
    domain records (see the module docstring). Get it with :func:`private_stream`."""

    def __init__(
        self,
        conn: AsyncUwsConnection,
        *,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        now_s: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conn = conn
        self.translator = UnifiedFeedTranslator(assumptions=assumptions)
        self.closed: OrderedDict[str, tuple[OrderSnapshot, float]] = OrderedDict()
        """Orders that left the book, by ``order_id``, with when (``now_s``) they did."""
        self.fills: OrderedDict[str, FillRecord] = OrderedDict()
        self.funding: OrderedDict[str, FundingPaid] = OrderedDict()
        self.margin: tuple[Decimal, Decimal] | None = None
        """``(margin_equity, maintenance_margin)`` of the flex account from ``margin``."""
        """Funding payments from ``ledgers`` since this stream started, by payment id."""
        """Fills by ``fill_id``, in arrival order."""
        self.balances: dict[str, BalanceRecord] = {}
        self.positions: dict[str, PositionRecord] = {}
        self.positions_live = False
        """Whether the ``positions`` channel delivered a snapshot on this account."""
        self.synced = False
        """Whether the ``executions`` snapshot of the current connection is in."""
        self.failure: BaseException | None = None
        self.gaps = 0
        """Sequence gaps seen on the private channels (each one resyncs its channel)."""
        self._gap_at: dict[str, float] = {}  # channel -> when (now_s) its gap was seen
        self._now_s = now_s
        self._seen_req_id = 0
        self._changed = asyncio.Event()
        self._listeners: list[asyncio.Queue[object]] = []
        self._task: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()
        subscribe_private(conn)

    async def start(self) -> None:
        """Connect (if needed) and start reading; idempotent."""
        async with self._start_lock:  # one connection and one reader, however many callers
            if self._task is None or self._task.done():
                await self.conn.connect()
                self._task = asyncio.get_running_loop().create_task(
                    self._pump(), name="uws-private"
                )

    def listen(self) -> asyncio.Queue[object]:
        """A queue receiving every domain record from now on (and an exception if reading
        ended in failure); :meth:`unlisten` it when done."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._listeners.append(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[object]) -> None:
        """Stop feeding ``queue``."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(queue)

    def resting(self) -> list[OrderSnapshot]:
        """Resting orders as the mirror has them."""
        return list(self.translator.orders.values())

    def recent_closed(self, within_s: float) -> list[OrderSnapshot]:
        """Orders that left the book within the last ``within_s`` seconds."""
        now = self._now_s()
        return [snap for snap, at in self.closed.values() if now - at <= within_s]

    async def barrier(self, timeout_s: float) -> None:
        """Return once the mirror holds everything the server sent before now (see the module
        docstring). Raises :class:`TimeoutError_` when that cannot be had in ``timeout_s``."""
        await self.start()
        deadline = asyncio.get_running_loop().time() + timeout_s
        last: Exception | None = None
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                reply = await self.conn.request("ping", timeout_s=min(left, PING_TIMEOUT_S))
                while self._seen_req_id < reply.req_id and self.failure is None:
                    self._changed.clear()
                    async with asyncio.timeout(
                        max(deadline - asyncio.get_running_loop().time(), 0)
                    ):
                        await self._changed.wait()
            except (ConnectError, TimeoutError_, TimeoutError) as exc:
                last = exc
            except Exception as exc:  # a connection lost mid-ping: wait for the next one
                last = exc
            else:
                if self.synced:
                    return
                last = None
            if self.failure is not None:
                break
            await asyncio.sleep(0.02)
        why = "no executions snapshot yet" if last is None else f"{type(last).__name__}: {last}"
        raise TimeoutError_(
            f"the uws executions mirror is not in sync ({why}); the lookup was not answered, "
            "reconcile again later"
        )

    async def _pump(self) -> None:
        try:
            async for event in self.conn:
                self._apply(event)
        except Exception as exc:
            self.failure = exc
            for queue in self._listeners:
                queue.put_nowait(exc)
        finally:
            self._changed.set()

    def _apply(self, event: object) -> None:
        resynced: FeedReconnected | None = None
        if isinstance(event, RequestSucceeded | RequestFailed) and event.final:
            self._seen_req_id = max(self._seen_req_id, event.req_id)
        elif isinstance(event, Reconnected):
            self.synced = False
            self._gap_at.clear()
        elif isinstance(event, SequenceGap):
            self._on_gap(event)
        elif isinstance(event, UwsChannelResynced):
            resynced = self._on_resynced(event)
        elif isinstance(event, SubscribeFailed) and event.channel == "positions":
            self.positions_live = False
        elif isinstance(event, ExecutionsMessage) and event.is_snapshot:
            self.synced = True
        elif isinstance(event, BalancesMessage) and event.is_snapshot:
            self.balances.clear()
        elif isinstance(event, MarginMessage):
            self._apply_margin(event)
        elif isinstance(event, PositionsMessage):
            if event.is_snapshot:
                self.positions.clear()
            self.positions_live = True
        snapshot = isinstance(event, ExecutionsMessage) and event.is_snapshot
        before = dict(self.translator.orders) if snapshot else {}
        if snapshot:
            assert isinstance(event, ExecutionsMessage)
            records, filled = self._snapshot(event)
        else:
            records, filled = self.translator(event), set()
        if resynced is not None:
            records = (*records, resynced)
        for record in records:
            if isinstance(record, OrderSnapshot):
                if record.state in _RESTING:
                    self.closed.pop(record.order_id, None)
                else:
                    self._close(record)
            elif isinstance(record, FillRecord):
                self.fills[record.fill_id] = record
                while len(self.fills) > _FILLS_KEEP:
                    self.fills.popitem(last=False)
            elif isinstance(record, BalanceRecord):
                self.balances[record.currency] = record
            elif isinstance(record, PositionRecord):
                self.positions[record.symbol] = record
            elif isinstance(record, FundingPaid):
                self.funding[record.key] = record
                while len(self.funding) > _FILLS_KEEP:
                    self.funding.popitem(last=False)
        if snapshot:
            # Orders the new snapshot no longer lists ended while we were away: filled if a
            # snapshot trade says so, else cancelled (the OMS proves it through its lookups).
            for order_id, snap in before.items():
                if order_id in self.translator.orders:
                    continue
                if order_id in filled:
                    self._close(snap, state=OrderState.FILLED)
                elif order_id not in self.closed:
                    self._close(snap, state=OrderState.CANCELLED)
        for queue in self._listeners:
            for record in records:
                if type(record) is not FundingPaid:  # booked through venue.funding_payments
                    queue.put_nowait(record)
        self._changed.set()

    def _apply_margin(self, msg: MarginMessage) -> None:
        """Keep the multi-collateral (flex) account's margin equity and maintenance margin,
        the figures the liquidation-risk alert reads (field names as the legacy flex account:
        the reference says ``margin`` mirrors it)."""
        if msg.type != "multi_collateral" or not msg.data:
            return
        row = msg.data[0] if isinstance(msg.data, list) else msg.data
        if not isinstance(row, dict):
            return
        equity, maintenance = row.get("margin_equity"), row.get("maintenance_margin")
        if isinstance(equity, Decimal | int) and isinstance(maintenance, Decimal | int):
            self.margin = (Decimal(equity), Decimal(maintenance))

    def _snapshot(self, msg: ExecutionsMessage) -> tuple[tuple[object, ...], set[str]]:
        """An ``executions`` snapshot read in two parts (see the module docstring): the
        records, and the ids of orders a snapshot trade reports ``filled``."""
        records = self.translator(msg)  # resting orders, then the trades as fills only
        trades = [e for e in msg.data if e.exec_type == "trade"]
        t = self.translator
        filled = {e.order_id for e in trades if e.order_id and e.order_status == "filled"}
        return records, filled - set(t.orders)

    def _on_gap(self, gap: SequenceGap) -> None:
        self.gaps += 1
        channels = self.conn.gap_channels(gap)
        if "executions" in channels:
            self.synced = False  # lookups wait for the fresh snapshot
        for channel in channels:
            self._gap_at.setdefault(channel, self._now_s())
        log.warning(
            "uws %s skipped from sequence %d to %d (messages lost): %s",
            gap.channel,
            gap.expected,
            gap.got,
            f"resubscribed {', '.join(channels)} for a fresh snapshot"
            if channels
            else "nothing to resubscribe (no snapshot to rebuild from); reconcile from REST",
        )

    def _on_resynced(self, event: UwsChannelResynced) -> FeedReconnected | None:
        since = self._gap_at.pop(event.channel, None)
        downtime_ms = int((self._now_s() - since) * 1000) if since is not None else 0
        log.info("uws %s resynced from a fresh snapshot after its sequence gap", event.channel)
        if event.channel not in _RECONCILE_AFTER_RESYNC:
            return None
        return FeedReconnected(downtime_ms=max(downtime_ms, 0), attempt=0)

    def _close(self, snap: OrderSnapshot, state: OrderState | None = None) -> None:
        if state is not None and snap.state in _RESTING:
            snap = OrderSnapshot(**{**_fields(snap), "state": state, "reason": "gone"})
        self.closed[snap.order_id] = (snap, self._now_s())
        self.closed.move_to_end(snap.order_id)
        while len(self.closed) > _CLOSED_KEEP:
            self.closed.popitem(last=False)


def _fields(snap: OrderSnapshot) -> dict[str, Any]:
    return {name: getattr(snap, name) for name in OrderSnapshot.__slots__}


_STREAMS: weakref.WeakKeyDictionary[AsyncUwsConnection, PrivateStream] = weakref.WeakKeyDictionary()


def private_stream(
    conn: AsyncUwsConnection, assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS
) -> PrivateStream:
    """The :class:`PrivateStream` of ``conn`` (created, and the private channels subscribed, on
    first use): the venue and the market share it, so the socket has one reader.
    ``assumptions`` must be the connection's own (they spell symbols)."""
    stream = _STREAMS.get(conn)
    if stream is None:
        stream = _STREAMS[conn] = PrivateStream(conn, assumptions=assumptions)
    return stream


class UnifiedMarket:
    """Domain events from a public and (optionally) a private uws connection.

    Args:
        public_conn: a connection on ``/v2/public`` (books kept, the default).
        private_conn: a connection on ``/v2/private`` with a token provider, or ``None`` for
            market data only.
        symbols: the contracts whose book, trades and ticker to follow.
        assumptions: the connections' own (symbol spelling).
    """

    def __init__(
        self,
        public_conn: AsyncUwsConnection,
        private_conn: AsyncUwsConnection | None,
        symbols: Iterable[str],
        *,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
    ) -> None:
        self.public_conn = public_conn
        self.private_conn = private_conn
        self.symbols = tuple(normalize_symbol(s) for s in symbols)
        self.translator = UnifiedFeedTranslator(book_for=public_conn.book, assumptions=assumptions)
        subscribe_public(public_conn, self.symbols)
        self.stream: PrivateStream | None = (
            private_stream(private_conn, assumptions) if private_conn is not None else None
        )

    async def __aiter__(self) -> AsyncIterator[object]:
        out: asyncio.Queue[object] = asyncio.Queue()
        private = self.stream.listen() if self.stream is not None else None
        tasks = [asyncio.create_task(self._public(out), name="uws-public")]
        if private is not None:
            assert self.stream is not None
            await self.stream.start()
            tasks.append(asyncio.create_task(self._forward(private, out), name="uws-private-fwd"))
        try:
            while True:
                item = await out.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if private is not None and self.stream is not None:
                self.stream.unlisten(private)

    async def _public(self, out: asyncio.Queue[object]) -> None:
        wanted = set(self.symbols)
        try:
            async for message in self.public_conn:
                for record in self.translator(message):
                    if isinstance(record, BookUpdated) and record.symbol not in wanted:
                        continue
                    out.put_nowait(record)
        except Exception as exc:  # gave up reconnecting: the consumer sees why
            out.put_nowait(exc)
        else:
            out.put_nowait(_END)

    @staticmethod
    async def _forward(source: asyncio.Queue[object], out: asyncio.Queue[object]) -> None:
        while True:
            out.put_nowait(await source.get())

    async def aclose(self) -> None:
        """Close both connections (which ends the iteration)."""
        await self.public_conn.aclose()
        if self.private_conn is not None:
            await self.private_conn.aclose()


__all__ = ["PING_TIMEOUT_S", "PrivateStream", "UnifiedMarket", "private_stream"]
