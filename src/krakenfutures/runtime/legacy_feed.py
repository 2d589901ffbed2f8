"""WebSocket v1 (the legacy dialect) -> domain records: what the runtime reads from an
:class:`~krakenfutures.client.feed.AsyncFeed`.

:func:`translate` is pure: one message in (the feed's core struct, raw frame bytes/text, or the
frame as a ``dict``), a tuple of domain records out, ``()`` for anything it does not map:

=====================================  ==========================================================
message                                records
=====================================  ==========================================================
``trade``, ``trade_snapshot``          :class:`TradeTick` each (a snapshot's oldest first)
``ticker`` (``ticker_snapshot``)       :class:`TickerUpdate`: ``funding_rate`` absolute (quote
                                       per contract per hour), ``relative_funding_rate`` a
                                       fraction of the price, kept apart; ``next_funding_ms``
                                       the epoch ms of the next hourly boundary
``fills``, ``fills_snapshot``          :class:`FillRecord` each, oldest first, with the feed's
                                       ``fee_paid``/``fee_currency`` (computed by the default fee
                                       schedule only if the feed left them out)
``open_orders(_verbose)_snapshot``     :class:`OrderSnapshot` per resting order
``open_orders(_verbose)`` delta        :class:`OrderSnapshot`: resting when ``is_cancel`` is
                                       false; on removal ``filled`` (``full_fill``, or nothing
                                       left open), ``rejected`` (a post-only or IOC order that
                                       never rested and filled nothing), else ``cancelled``
``open_positions``                     :class:`PositionRecord` per position (signed qty), plus
                                       a flat record for each of ``known_positions`` the message
                                       no longer lists (the feed sends the whole set)
``balances(_snapshot)``                :class:`BalanceRecord` per inverse wallet (its coin) then
                                       per flex currency (as the venue's ``balances()``)
``book_snapshot``, ``book``            :class:`BookUpdated` when ``book_for`` (e.g.
                                       ``feed.book``) gives a synced local book
client ``Reconnected``                 :class:`FeedReconnected`
=====================================  ==========================================================

Open-orders removals come in two shapes (reference §6): with the ``order`` (a full fill: ``qty``
0, ``filled`` = size) or as ``order_id`` (+ ``cli_ord_id``), ``is_cancel`` and ``reason`` only.
For the bare shape the order's symbol, side and quantities come from ``known_orders`` (the last
snapshot of each order, by ``order_id``); an order never seen gives a snapshot with an empty
``symbol`` and zero quantities (its ``side`` means nothing), enough for the OMS, which finds
orders by id. :class:`FeedTranslator` keeps ``known_orders``/``known_positions`` for you.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from krakenfutures.client.events import Reconnected
from krakenfutures.core.book import OrderBook
from krakenfutures.core.events import BookUpdated, FeedReconnected, TickerUpdate, TradeTick
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FeeSchedule
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import OrderType, Side, is_perpetual, normalize_symbol
from krakenfutures.core.ws.classify import classify
from krakenfutures.core.ws.schema_private import (
    BalancesSnapshot,
    Fill,
    FillsSnapshot,
    FillsUpdate,
    OpenOrder,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenPositions,
)
from krakenfutures.core.ws.schema_public import (
    BookDelta,
    BookSnapshot,
    Ticker,
    Trade,
    TradeSnapshot,
)
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord
from krakenfutures.runtime.live_venue import estimate_fee, settlement_currency

if TYPE_CHECKING:
    from krakenfutures.client.feed import AsyncFeed

ZERO = Decimal(0)
PRIVATE_FEEDS = ("open_orders", "fills", "open_positions", "balances")
"""The private feeds the runtime reads (:func:`subscribe_private`)."""
PUBLIC_FEEDS = ("book", "trade", "ticker")
"""The per-symbol public feeds the runtime reads (:func:`subscribe_public`)."""

_ORDER_TYPES = {
    "limit": OrderType.LMT,
    "stop": OrderType.STP,
    "take_profit": OrderType.TAKE_PROFIT,
    "trailing_stop": OrderType.TRAILING_STOP,
}
_NEVER_RESTED = frozenset(
    {
        "post_order_failed_because_it_would_filled",
        "ioc_order_failed_because_it_would_not_be_executed",
    }
)
"""Removal reasons of orders refused on entry (no fill: post-only orders never take)."""
_POST_FAILED = "post_order_failed_because_it_would_filled"
_RESTING = (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
_encode = msgspec.json.Encoder(decimal_format="number")


def subscribe_private(feed: AsyncFeed) -> tuple[str, ...]:
    """Subscribe ``feed`` to :data:`PRIVATE_FEEDS` (needs credentials); returns their names."""
    for name in PRIVATE_FEEDS:
        feed.subscribe(name)
    return PRIVATE_FEEDS


def subscribe_public(feed: AsyncFeed, symbols: Iterable[str]) -> tuple[str, ...]:
    """Subscribe ``feed`` to :data:`PUBLIC_FEEDS` for ``symbols``; returns the feed names."""
    wanted = [normalize_symbol(s) for s in symbols]
    if wanted:
        for name in PUBLIC_FEEDS:
            feed.subscribe(name, wanted)
    return PUBLIC_FEEDS if wanted else ()


def decode(message: object) -> object:
    """The core struct of a raw frame (``bytes``/``str``) or a frame as a ``dict``; anything
    else (already decoded, a feed status event) is returned as it is."""
    if isinstance(message, bytes | bytearray | str):
        return classify(bytes(message) if isinstance(message, bytearray) else message)
    if isinstance(message, Mapping):
        return classify(_encode.encode(message))
    return message


def translate(
    message: object,
    *,
    known_orders: Mapping[str, OrderSnapshot] | None = None,
    known_positions: Iterable[str] = (),
    book_for: Callable[[str], OrderBook] | None = None,
    fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
    volume_30d_usd: Decimal = ZERO,
) -> tuple[object, ...]:
    """The domain records ``message`` stands for (see the module docstring); ``()`` if none.

    ``fees``/``volume_30d_usd`` only matter for a fill without ``fee_paid``.
    """
    msg = decode(message)
    if isinstance(msg, Trade):
        return (_trade(msg),)
    if isinstance(msg, TradeSnapshot):
        return tuple(_trade(t) for t in sorted(msg.trades, key=lambda t: (t.ts_ms, t.seq)))
    if isinstance(msg, Ticker):  # also TickerSnapshot
        return (_ticker(msg),)
    if isinstance(msg, FillsSnapshot | FillsUpdate):
        fills = sorted(msg.fills, key=lambda f: f.ts_ms)
        return tuple(_fill(f, fees, volume_30d_usd) for f in fills)
    if isinstance(msg, OpenOrdersSnapshot):  # also the verbose snapshot
        return tuple(_resting(o) for o in msg.orders)
    if isinstance(msg, OpenOrdersUpdate):  # also the verbose update
        return _order_update(msg, known_orders or {})
    if isinstance(msg, OpenPositions):
        return _positions(msg, known_positions)
    if isinstance(msg, BalancesSnapshot):  # also BalancesUpdate (partial)
        return _balances(msg)
    if isinstance(msg, BookSnapshot | BookDelta):
        if book_for is None:
            return ()
        book = book_for(msg.symbol)
        return (BookUpdated(msg.symbol, book, msg.ts_ms),) if book.is_synced else ()
    if isinstance(msg, Reconnected):
        return (FeedReconnected(downtime_ms=msg.downtime_ms, attempt=msg.attempt),)
    return ()


class FeedTranslator:
    """:func:`translate` with memory: the last snapshot of every resting order (for bare
    removals) and the symbols with a position (to report them flat when they vanish).

    Example::

        translator = FeedTranslator(book_for=feed.book)
        async for event in feed:
            for record in translator(event):
                node.on_market(record)
    """

    def __init__(
        self,
        *,
        book_for: Callable[[str], OrderBook] | None = None,
        fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
        volume_30d_usd: Decimal = ZERO,
    ) -> None:
        self.orders: dict[str, OrderSnapshot] = {}
        """Resting orders by ``order_id`` as the feed last showed them."""
        self.positions: set[str] = set()
        """Symbols with a non-zero position in the last ``open_positions`` message."""
        self.book_for = book_for
        self.fees = fees
        self.volume_30d_usd = volume_30d_usd

    def __call__(self, message: object) -> tuple[object, ...]:
        """Translate ``message`` and remember what it says about orders and positions."""
        msg = decode(message)
        records = translate(
            msg,
            known_orders=self.orders,
            known_positions=self.positions,
            book_for=self.book_for,
            fees=self.fees,
            volume_30d_usd=self.volume_30d_usd,
        )
        if isinstance(msg, OpenOrdersSnapshot):
            self.orders = {}
        if isinstance(msg, OpenOrdersSnapshot | OpenOrdersUpdate):
            for snap in records:
                assert isinstance(snap, OrderSnapshot)
                if snap.state in _RESTING:
                    self.orders[snap.order_id] = snap
                else:
                    self.orders.pop(snap.order_id, None)
        elif isinstance(msg, OpenPositions):
            self.positions = {r.symbol for r in records if isinstance(r, PositionRecord) and r.qty}
        return records


# ------------------------------------------------------------------------------- mapping


def _trade(t: Trade) -> TradeTick:
    return TradeTick(
        symbol=t.symbol, side=t.side, qty=t.qty, price=t.price, ts_ms=t.ts_ms, trade_id=t.uid
    )


def _ticker(t: Ticker) -> TickerUpdate:
    # Kraken omits a perpetual's funding fields when they are zero: absent means 0 there, and
    # "no funding" (None) only for contracts that have none.
    zero = ZERO if is_perpetual(t.symbol) else None

    def rate(value: Decimal | None) -> Decimal | None:
        return value if value is not None else zero

    return TickerUpdate(
        symbol=t.symbol,
        ts_ms=t.ts_ms or 0,
        mark_price=t.mark_price,
        last=t.last,
        bid=t.bid,
        ask=t.ask,
        index_price=t.index,
        funding_rate=rate(t.funding_rate),
        relative_funding_rate=rate(t.relative_funding_rate),
        funding_rate_prediction=rate(t.funding_rate_prediction),
        relative_funding_rate_prediction=rate(t.relative_funding_rate_prediction),
        next_funding_ms=t.next_funding_ts_ms or None,
        open_interest=t.open_interest,
        suspended=bool(t.suspended),
        post_only=bool(t.post_only),
    )


def _fill(f: Fill, fees: FeeSchedule, volume_30d_usd: Decimal) -> FillRecord:
    maker = f.fill_type == "maker"
    fee, currency = f.fee_paid, f.fee_currency
    if fee is None:
        fee = estimate_fee(
            f.symbol, f.qty, f.price, maker=maker, schedule=fees, volume_30d_usd=volume_30d_usd
        )
    return FillRecord(
        fill_id=f.fill_id,
        order_id=f.order_id,
        cli_ord_id=f.cli_ord_id,
        symbol=f.symbol,
        side=f.side,
        qty=f.qty,
        price=f.price,
        fee=fee,
        fee_currency=(currency or settlement_currency(f.symbol)).upper(),
        ts_ms=f.ts_ms,
        maker=maker,
    )


def _snapshot(o: OpenOrder, state: OrderState, reason: str = "") -> OrderSnapshot:
    """The feed's ``qty`` is what is still open: the order's total is ``qty + filled``."""
    trigger = o.type in ("stop", "take_profit", "trailing_stop")
    return OrderSnapshot(
        order_id=o.order_id,
        cli_ord_id=o.cli_ord_id,
        symbol=o.symbol,
        side=o.side,
        qty=o.qty + o.filled,
        filled_qty=o.filled,
        state=state,
        order_type=_ORDER_TYPES.get(o.type, OrderType.LMT),
        limit_price=o.limit_price or None,  # Kraken sends 0 for "none"
        stop_price=(o.stop_price or None) if trigger else None,
        reduce_only=o.reduce_only,
        ts_ms=o.last_update_ts_ms,
        reason=reason,
    )


def _resting(o: OpenOrder, reason: str = "") -> OrderSnapshot:
    state = OrderState.PARTIALLY_FILLED if o.filled > 0 else OrderState.OPEN
    return _snapshot(o, state, reason)


def _removed_state(reason: str, open_qty: Decimal | None, filled: Decimal | None) -> OrderState:
    """What a removal means; ``None`` quantities are unknown (a bare removal of an order never
    seen)."""
    if reason == "full_fill" or (open_qty == 0 and filled is not None and filled > 0):
        return OrderState.FILLED
    if reason == _POST_FAILED or (reason in _NEVER_RESTED and filled == 0):
        return OrderState.REJECTED
    return OrderState.CANCELLED


def _order_update(
    msg: OpenOrdersUpdate, known: Mapping[str, OrderSnapshot]
) -> tuple[OrderSnapshot, ...]:
    reason = msg.reason or ""
    order = msg.order
    if order is not None:
        if not msg.is_cancel:
            return (_resting(order, reason),)
        state = _removed_state(reason, order.qty, order.filled)
        return (_snapshot(order, state, reason),)
    order_id = msg.order_id
    if not order_id or not msg.is_cancel:
        return ()  # nothing to say without the order or a removal
    last = known.get(order_id)
    if last is not None:
        state = _removed_state(reason, None, last.filled_qty)
        return (
            replace(last, state=state, reason=reason, cli_ord_id=last.cli_ord_id or msg.cli_ord_id),
        )
    state = _removed_state(reason, None, None)
    stub = OrderSnapshot(
        order_id=order_id,
        cli_ord_id=msg.cli_ord_id,
        symbol="",
        side=Side.BUY,
        qty=ZERO,
        filled_qty=ZERO,
        state=state,
        reason=reason,
    )
    return (stub,)


def _positions(msg: OpenPositions, known: Iterable[str]) -> tuple[PositionRecord, ...]:
    ts_ms = msg.ts_ms or 0
    out = [
        PositionRecord(p.symbol, p.qty, p.entry_price or ZERO, ts_ms)
        for p in msg.positions
        if p.qty
    ]
    listed = {r.symbol for r in out}
    out.extend(
        PositionRecord(s, ZERO, ZERO, ts_ms)
        for s in sorted({normalize_symbol(s) for s in known} - listed)
    )
    return tuple(out)


def _balances(msg: BalancesSnapshot) -> tuple[BalanceRecord, ...]:
    out: list[BalanceRecord] = []
    for wallet in (msg.futures or {}).values():
        if wallet.unit is None or wallet.balance is None:
            continue
        available = wallet.available if wallet.available is not None else wallet.balance
        out.append(BalanceRecord(wallet.unit.upper(), wallet.balance, available))
    flex = msg.flex_futures
    for currency, row in ((flex.currencies if flex is not None else None) or {}).items():
        if row.quantity is None:
            continue
        available = row.available if row.available is not None else row.quantity
        out.append(BalanceRecord(currency.upper(), row.quantity, available))
    return tuple(out)


__all__ = [
    "PRIVATE_FEEDS",
    "PUBLIC_FEEDS",
    "FeedTranslator",
    "decode",
    "subscribe_private",
    "subscribe_public",
    "translate",
]
