"""Unified WebSocket (uws) -> domain records: the same records :mod:`legacy_feed` makes.

:func:`translate` is pure: one message in (a uws channel struct, raw frame bytes/text, the
frame as a ``dict``, or a connection event), a tuple of domain records out, ``()`` for anything
it does not map. Consumers above it (local books, private state mirrors, the OMS, strategies)
cannot tell which dialect fed them.

==================================  =============================================================
message                             records
==================================  =============================================================
``trade``                           :class:`TradeTick` each (a snapshot's oldest first)
``ticker``                          :class:`TickerUpdate` (mark, index, funding and open
                                    interest only when uws sends them: their names are a GAP)
``book``                            :class:`BookUpdated` per symbol when ``book_for`` (e.g.
                                    ``connection.book``) gives a synced book
``executions`` ``trade``            :class:`FillRecord` (``fill_id`` = ``exec_id``; fee from
                                    ``fees``, else ``fee_usd_equiv`` for USD-settled contracts,
                                    else estimated) then the order's :class:`OrderSnapshot`
``executions`` snapshot             :class:`OrderSnapshot` per resting order, then a
                                    :class:`FillRecord` per ``snap_trades`` trade (fills only)
``executions`` other                :class:`OrderSnapshot`: ``order_status`` (else
                                    ``exec_type``) -> open / partially_filled / filled /
                                    cancelled (also ``expired``) / rejected
``positions``                       :class:`PositionRecord` per futures position (signed qty;
                                    ``size`` 0 = flat); a snapshot also reports each of
                                    ``known_positions`` it no longer lists as flat
``balances``                        :class:`BalanceRecord` per row that carries a ``balance``
``ledgers``                         :class:`FundingPaid` per ``funding`` wallet entry (paid > 0;
                                    ``payment_id`` as the legacy account log's)
client ``Reconnected``              :class:`FeedReconnected`
==================================  =============================================================

``executions`` updates carry only what changed (a cancel is ``order_id``, ``exec_type``,
``order_status``, ``cum_qty``...), so an update is merged over the last snapshot of the order
from ``known_orders``; an order never seen gives a snapshot with an empty ``symbol`` and zero
quantities, enough for the OMS, which finds orders by id. :class:`UnifiedFeedTranslator` keeps
``known_orders``/``known_positions`` for you. Symbols go through the
:class:`~krakenfutures.core.uws.assumptions.UwsAssumptions` spelling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import msgspec

from krakenfutures.client.events import Reconnected
from krakenfutures.core.book import OrderBook
from krakenfutures.core.events import (
    BookUpdated,
    FeedReconnected,
    FundingPaid,
    TickerUpdate,
    TradeTick,
)
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FeeSchedule
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import OrderType, Side
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.classify import classify
from krakenfutures.core.uws.schema import parse_time_ms
from krakenfutures.core.uws.schema_channels import (
    BalancesMessage,
    BookMessage,
    Execution,
    ExecutionsMessage,
    LedgerEntry,
    LedgersMessage,
    PositionsMessage,
    TickerData,
    TickerMessage,
    TradeData,
    TradeMessage,
)
from krakenfutures.oms.venue import BalanceRecord, FillRecord, OrderSnapshot, PositionRecord
from krakenfutures.runtime.live_venue import estimate_fee, settlement_currency

if TYPE_CHECKING:
    from krakenfutures.client.uws import AsyncUwsConnection

ZERO = Decimal(0)
PRIVATE_CHANNELS = ("executions", "positions", "balances", "ledgers", "margin")
"""The private channels the runtime reads (:func:`subscribe_private`)."""
PUBLIC_CHANNELS = ("book", "trade", "ticker")
"""The per-symbol public channels the runtime reads (:func:`subscribe_public`)."""

_ORDER_TYPES = {
    "market": OrderType.MKT,
    "stop-loss": OrderType.STP,
    "stop-loss-limit": OrderType.STP,
    "take-profit": OrderType.TAKE_PROFIT,
    "take-profit-limit": OrderType.TAKE_PROFIT,
    "trailing-stop": OrderType.TRAILING_STOP,
    "trailing-stop-limit": OrderType.TRAILING_STOP,
}
_LIMIT_TIF = {"ioc": OrderType.IOC, "fok": OrderType.FOK}
_STATES = {
    "pending_new": OrderState.OPEN,
    "new": OrderState.OPEN,
    "partially_filled": OrderState.PARTIALLY_FILLED,
    "filled": OrderState.FILLED,
    "canceled": OrderState.CANCELLED,
    "cancelled": OrderState.CANCELLED,
    "expired": OrderState.CANCELLED,
    "rejected": OrderState.REJECTED,
}
_RESTING = (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
_SHORT = frozenset({"short", "sell"})
_LONG = frozenset({"long", "buy"})
_encode = msgspec.json.Encoder(decimal_format="number")


def subscribe_private(conn: AsyncUwsConnection) -> tuple[str, ...]:
    """Subscribe ``conn`` (the private socket) to :data:`PRIVATE_CHANNELS`; returns them.
    ``executions`` asks for the last trades too, so fills missed while away come back."""
    conn.subscribe("executions", snap_trades=True)
    conn.subscribe("positions")
    conn.subscribe("balances")
    conn.subscribe("ledgers")  # funding payments (no snapshot: the channel has none)
    conn.subscribe("margin")  # margin equity and requirements (liquidation-risk alerts)
    return PRIVATE_CHANNELS


def subscribe_public(conn: AsyncUwsConnection, symbols: Iterable[str]) -> tuple[str, ...]:
    """Subscribe ``conn`` (the public socket) to :data:`PUBLIC_CHANNELS` for ``symbols``."""
    wanted = list(symbols)
    if wanted:
        for channel in PUBLIC_CHANNELS:
            conn.subscribe(channel, wanted)
    return PUBLIC_CHANNELS if wanted else ()


def decode(message: object) -> object:
    """The uws struct of a raw frame (``bytes``/``str``) or a frame as a ``dict``; anything
    else (already decoded, a connection event) is returned as it is."""
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
    assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
    fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
    volume_30d_usd: Decimal = ZERO,
) -> tuple[object, ...]:
    """The domain records ``message`` stands for (see the module docstring); ``()`` if none.

    ``fees``/``volume_30d_usd`` only matter for a fill that carries no fee.
    """
    msg = decode(message)
    symbol_of = assumptions.from_wire_symbol
    if isinstance(msg, TradeMessage):
        ticks = [_trade(t, symbol_of) for t in msg.data]
        if msg.is_snapshot:
            ticks.sort(key=lambda t: (t.ts_ms, _trade_order(t.trade_id)))
        return tuple(ticks)
    if isinstance(msg, TickerMessage):
        return tuple(_ticker(t, symbol_of) for t in msg.data)
    if isinstance(msg, BookMessage):
        if book_for is None:
            return ()
        out: list[object] = []
        for data in msg.data:
            book = book_for(symbol_of(data.symbol))
            if book.is_synced:
                out.append(BookUpdated(book.symbol, book, parse_time_ms(data.timestamp) or 0))
        return tuple(out)
    if isinstance(msg, ExecutionsMessage):
        return _executions(msg, dict(known_orders or {}), assumptions, fees, volume_30d_usd)
    if isinstance(msg, PositionsMessage):
        return _positions(msg, known_positions, assumptions)
    if isinstance(msg, BalancesMessage):
        return tuple(
            BalanceRecord(row.asset.upper(), row.balance, row.balance)
            for row in msg.data
            if row.balance is not None
        )
    if isinstance(msg, LedgersMessage):
        return tuple(p for p in (_funding(e, symbol_of) for e in msg.data) if p is not None)
    if isinstance(msg, Reconnected):
        return (FeedReconnected(downtime_ms=msg.downtime_ms, attempt=msg.attempt),)
    return ()


class UnifiedFeedTranslator:
    """:func:`translate` with memory: the last snapshot of every resting order (updates only
    carry what changed) and the symbols with a position (reported flat when a snapshot drops
    them). The uws twin of :class:`~krakenfutures.runtime.legacy_feed.FeedTranslator`."""

    def __init__(
        self,
        *,
        book_for: Callable[[str], OrderBook] | None = None,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
        volume_30d_usd: Decimal = ZERO,
    ) -> None:
        self.orders: dict[str, OrderSnapshot] = {}
        """Resting orders by ``order_id`` as the feed last showed them."""
        self.positions: set[str] = set()
        """Symbols with a non-zero position."""
        self.book_for = book_for
        self.assumptions = assumptions
        self.fees = fees
        self.volume_30d_usd = volume_30d_usd

    def __call__(self, message: object) -> tuple[object, ...]:
        """Translate ``message`` and remember what it says about orders and positions."""
        msg = decode(message)
        if isinstance(msg, ExecutionsMessage) and msg.is_snapshot:
            self.orders = {}
        records = translate(
            msg,
            known_orders=self.orders,
            known_positions=self.positions,
            book_for=self.book_for,
            assumptions=self.assumptions,
            fees=self.fees,
            volume_30d_usd=self.volume_30d_usd,
        )
        for record in records:
            if isinstance(record, OrderSnapshot):
                if record.state in _RESTING:
                    self.orders[record.order_id] = record
                else:
                    self.orders.pop(record.order_id, None)
            elif isinstance(record, PositionRecord):
                if record.qty:
                    self.positions.add(record.symbol)
                else:
                    self.positions.discard(record.symbol)
        return records


# ------------------------------------------------------------------------------- mapping


def _funding(e: LedgerEntry, symbol_of: Callable[[str], str]) -> FundingPaid | None:
    """A ``funding`` wallet entry as a payment (``amount`` > 0 paid, as from the legacy account
    log); the id is the legacy one (``ref_id``, the booking uid, else the log id), so the same
    payment seen through both dialects is booked once."""
    if e.type != "funding" or not e.asset or not e.symbol:
        return None
    gained = e.funding if e.funding is not None else e.amount
    if gained is None:
        return None
    return FundingPaid(
        symbol=symbol_of(e.symbol),
        amount=-gained,
        ts_ms=parse_time_ms(e.timestamp) or 0,
        payment_id=e.ref_id or (f"account-log-{e.ledger_id}" if e.ledger_id else None),
    )


def _trade(t: TradeData, symbol_of: Callable[[str], str]) -> TradeTick:
    return TradeTick(
        symbol=symbol_of(t.symbol),
        side=t.side,
        qty=t.qty,
        price=t.price,
        ts_ms=parse_time_ms(t.timestamp) or 0,
        trade_id="" if t.trade_id is None else str(t.trade_id),
    )


def _trade_order(trade_id: str) -> tuple[int, str]:
    return (int(trade_id), "") if trade_id.isdigit() else (0, trade_id)


def _ticker(t: TickerData, symbol_of: Callable[[str], str]) -> TickerUpdate:
    next_funding = t.next_funding_rate_time
    if isinstance(next_funding, str):
        next_funding = parse_time_ms(next_funding)
    return TickerUpdate(
        symbol=symbol_of(t.symbol),
        ts_ms=parse_time_ms(t.timestamp) or 0,
        mark_price=t.mark_price,
        last=t.last,
        bid=t.bid,
        ask=t.ask,
        index_price=t.index_price,
        funding_rate=t.funding_rate,
        relative_funding_rate=t.relative_funding_rate,
        funding_rate_prediction=t.funding_rate_prediction,
        relative_funding_rate_prediction=t.relative_funding_rate_prediction,
        next_funding_ms=next_funding or None,
        open_interest=t.open_interest,
        suspended=bool(t.suspended),
        post_only=bool(t.post_only),
    )


def _executions(
    msg: ExecutionsMessage,
    known: dict[str, OrderSnapshot],
    assumptions: UwsAssumptions,
    fees: FeeSchedule,
    volume_30d_usd: Decimal,
) -> tuple[object, ...]:
    out: list[object] = []
    data = msg.data
    snapshot = msg.is_snapshot
    if snapshot:
        # A snapshot is two lists in one: the resting orders, and (``snap_trades``) the last
        # trades. A trade is a fill only: merged over a resting order it would count that
        # order's fills twice, and a trade of an order cancelled since would put it back on
        # the book. Orders first, so the trades find their order's details.
        data = tuple(sorted(data, key=lambda e: e.exec_type == "trade"))
    for e in data:
        last = known.get(e.order_id)
        if e.exec_type == "trade":
            fill = _fill(e, last, assumptions, fees, volume_30d_usd)
            if fill is not None:
                out.append(fill)
            if snapshot:
                continue
        if not e.order_id:
            continue
        snap = _order(e, last, assumptions)
        known[e.order_id] = snap  # later events of this message build on it
        out.append(snap)
    return tuple(out)


def _fill(
    e: Execution,
    last: OrderSnapshot | None,
    assumptions: UwsAssumptions,
    fees: FeeSchedule,
    volume_30d_usd: Decimal,
) -> FillRecord | None:
    symbol = assumptions.from_wire_symbol(e.symbol) if e.symbol else (last and last.symbol)
    side = e.side or (last.side if last is not None else None)
    fill_id = e.exec_id or ("" if e.trade_id is None else f"{e.order_id}:{e.trade_id}")
    qty, price = e.last_qty, e.last_price
    if not symbol or side is None or not fill_id or not qty or not price or qty < 0:
        return None  # not enough to book a fill (the OMS reconciles from REST)
    maker = e.liquidity_ind == "m"
    currency = settlement_currency(symbol)
    if e.fees:
        currency = e.fees[0].asset.upper()
        fee = sum((f.qty for f in e.fees if f.asset.upper() == currency), ZERO)
    elif e.fee_usd_equiv is not None and currency == "USD":
        fee = e.fee_usd_equiv
    else:
        fee = estimate_fee(
            symbol, qty, price, maker=maker, schedule=fees, volume_30d_usd=volume_30d_usd
        )
    return FillRecord(
        fill_id=fill_id,
        order_id=e.order_id,
        cli_ord_id=e.cl_ord_id or (last.cli_ord_id if last is not None else None),
        symbol=symbol,
        side=side,
        qty=qty,
        price=price,
        fee=fee,
        fee_currency=currency,
        ts_ms=parse_time_ms(e.timestamp) or 0,
        maker=maker,
    )


def _order(e: Execution, last: OrderSnapshot | None, assumptions: UwsAssumptions) -> OrderSnapshot:
    """``e`` merged over the order's last snapshot (updates carry only what changed)."""
    qty = e.order_qty if e.order_qty is not None else (last.qty if last else ZERO)
    filled = e.cum_qty
    if filled is None:
        filled = last.filled_qty if last else ZERO
        if e.exec_type == "trade" and e.last_qty:
            filled += e.last_qty
    state = _STATES.get(e.order_status or "") or _STATES.get(e.exec_type)
    if state is None:  # amended, restated, status...: where it was
        state = last.state if last is not None else OrderState.OPEN
    if state is OrderState.OPEN and filled > 0:
        state = OrderState.PARTIALLY_FILLED
    if state is OrderState.PARTIALLY_FILLED and qty > 0 and filled >= qty:
        state = OrderState.FILLED  # Spot reports a completing trade as partially_filled
    order_type = _order_type(e) or (last.order_type if last else OrderType.LMT)
    trigger = e.triggers.price if e.triggers is not None else e.stop_price
    return OrderSnapshot(
        order_id=e.order_id,
        cli_ord_id=e.cl_ord_id or (last.cli_ord_id if last else None),
        symbol=assumptions.from_wire_symbol(e.symbol)
        if e.symbol
        else (last.symbol if last else ""),
        side=e.side or (last.side if last else Side.BUY),
        qty=qty,
        filled_qty=filled,
        state=state,
        order_type=order_type,
        limit_price=e.limit_price or (last.limit_price if last else None),
        stop_price=trigger or (last.stop_price if last else None),
        reduce_only=e.reduce_only if e.reduce_only is not None else bool(last and last.reduce_only),
        ts_ms=parse_time_ms(e.timestamp) or (last.ts_ms if last else 0),
        reason=e.reason or "",
    )


def _order_type(e: Execution) -> OrderType | None:
    kind = e.order_type
    if kind is None:
        return None
    if kind == "limit":
        if e.post_only:
            return OrderType.POST
        return _LIMIT_TIF.get((e.time_in_force or "").lower(), OrderType.LMT)
    return _ORDER_TYPES.get(kind, OrderType.LMT)


def _positions(
    msg: PositionsMessage, known: Iterable[str], assumptions: UwsAssumptions
) -> tuple[PositionRecord, ...]:
    out: list[PositionRecord] = []
    for section in msg.sections:
        section_ms = parse_time_ms(section.timestamp) or 0
        for p in section.futures:
            qty = p.size
            side = (p.side or "").lower()
            if side in _SHORT:
                qty = -abs(qty)
            elif side in _LONG or not assumptions.position_size_signed:
                qty = abs(qty)
            ts_ms = parse_time_ms(p.timestamp) or section_ms
            entry = p.entry_price if p.entry_price is not None and qty else ZERO
            out.append(PositionRecord(assumptions.from_wire_symbol(p.symbol), qty, entry, ts_ms))
    if msg.is_snapshot:
        listed = {r.symbol for r in out}
        ts_ms = max((r.ts_ms for r in out), default=0)
        gone = sorted({assumptions.from_wire_symbol(s) for s in known} - listed)
        out.extend(PositionRecord(s, ZERO, ZERO, ts_ms) for s in gone)
    return tuple(out)


__all__ = [
    "PRIVATE_CHANNELS",
    "PUBLIC_CHANNELS",
    "UnifiedFeedTranslator",
    "decode",
    "subscribe_private",
    "subscribe_public",
    "translate",
]
