"""Private state mirrors: open orders, fills, positions and balances of one account, kept
current from the private WebSocket feeds and reconciled with REST after every reconnect.

Example::

    mirror = AccountMirror()
    async with AsyncFeed(url) as feed, AsyncClient(base_url=url) as rest:
        mirror.subscribe(feed)
        async for event in mirror.follow(feed, rest):   # applies, reconciles, yields
            print(mirror.orders, mirror.positions)

Sources and precedence: WebSocket messages are applied in stream order (snapshots replace,
deltas change); after a :class:`~krakenfutures.client.events.Reconnected` (and at the start of
:meth:`AccountMirror.follow`) the mirror is marked :attr:`~AccountMirror.stale` and replaced
from REST (``openorders``, ``openpositions``, ``fills``, ``accounts``), then the new
connection's snapshots and deltas apply on top. Fills are merged by ``fill_id``, so fills made
while disconnected are recovered from REST (the WebSocket snapshot only carries recent ones).

Orders and positions use one shape whatever the source (:class:`MirrorOrder`,
:class:`MirrorPosition`, :class:`MirrorFill`), so a mirror built from the feed compares equal to
one built from REST.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from krakenfutures.client.events import FeedEvent, Reconnected
from krakenfutures.core.timefmt import parse_iso_ms
from krakenfutures.core.types import Side
from krakenfutures.core.ws.schema_private import (
    BalancesSnapshot,
    BalancesUpdate,
    Fill,
    FillsSnapshot,
    FillsUpdate,
    FlexFutures,
    OpenOrder,
    OpenOrdersSnapshot,
    OpenOrdersUpdate,
    OpenPositions,
)

if TYPE_CHECKING:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.client.feed import AsyncFeed

MIRROR_FEEDS = ("open_orders", "fills", "open_positions", "balances")
"""The private feeds :meth:`AccountMirror.subscribe` asks for."""

_REST_ORDER_TYPES = {"lmt": "limit", "stp": "stop", "take_profit": "take_profit"}


@dataclass(frozen=True, slots=True)
class MirrorOrder:
    """An open order. ``qty`` is what is still open, ``filled`` what has filled; ``type`` uses
    the feed's words (``limit``, ``stop``, ``take_profit``, ``trailing_stop``)."""

    order_id: str
    symbol: str
    side: Side
    type: str
    qty: Decimal
    filled: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    reduce_only: bool = False
    cli_ord_id: str | None = None
    last_update_ts_ms: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MirrorFill:
    """One of our fills. ``fee_paid``/``fee_currency`` only from the feed (REST has no fees)."""

    fill_id: str
    order_id: str
    symbol: str
    side: Side
    qty: Decimal
    price: Decimal
    ts_ms: int
    fill_type: str
    cli_ord_id: str | None = None
    fee_paid: Decimal | None = field(default=None, compare=False)
    fee_currency: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class MirrorPosition:
    """A net position: ``qty`` signed (positive long), ``entry_price`` the average entry."""

    symbol: str
    qty: Decimal
    entry_price: Decimal | None = None


def order_from_ws(order: OpenOrder) -> MirrorOrder:
    """An order of the ``open_orders`` feed as a :class:`MirrorOrder`."""
    return MirrorOrder(
        order_id=order.order_id,
        symbol=order.symbol.upper(),
        side=order.side,
        type=order.type,
        qty=order.qty,
        filled=order.filled,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        reduce_only=order.reduce_only,
        cli_ord_id=order.cli_ord_id,
        last_update_ts_ms=order.last_update_ts_ms,
    )


def order_from_rest(order: Any) -> MirrorOrder:
    """A REST ``openorders`` row as a :class:`MirrorOrder`."""
    return MirrorOrder(
        order_id=order.order_id,
        symbol=order.symbol.upper(),
        side=Side(order.side),
        type=_REST_ORDER_TYPES.get(order.order_type, order.order_type),
        qty=order.unfilled_size if order.unfilled_size is not None else Decimal(0),
        filled=order.filled_size,
        limit_price=order.limit_price,
        stop_price=order.stop_price,
        reduce_only=order.reduce_only,
        cli_ord_id=order.cli_ord_id,
        last_update_ts_ms=parse_iso_ms(order.last_update_time),
    )


def fill_from_ws(fill: Fill) -> MirrorFill:
    """A fill of the ``fills`` feed as a :class:`MirrorFill`."""
    return MirrorFill(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        symbol=fill.symbol.upper(),
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        ts_ms=fill.ts_ms,
        fill_type=fill.fill_type,
        cli_ord_id=fill.cli_ord_id,
        fee_paid=fill.fee_paid,
        fee_currency=fill.fee_currency,
    )


def fill_from_rest(fill: Any) -> MirrorFill:
    """A REST ``fills`` row as a :class:`MirrorFill`."""
    return MirrorFill(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        symbol=fill.symbol.upper(),
        side=Side(fill.side),
        qty=fill.qty,
        price=fill.price,
        ts_ms=parse_iso_ms(fill.fill_time) or 0,
        fill_type=fill.fill_type,
        cli_ord_id=fill.cli_ord_id,
    )


class AccountMirror:
    """Open orders, fills, positions and balances of one account (see the module doc).

    Attributes:
        orders: open orders by ``order_id``.
        fills: fills by ``fill_id`` (the newest ``max_fills`` kept), see :meth:`fill_list`.
        positions: open positions by symbol (no entry for a flat symbol).
        balances: collateral quantity by currency (upper case) of the multi-collateral wallet,
            plus ``holding`` balances.
        flex: the last multi-collateral wallet summary from the ``balances`` feed.
        stale: True from a reconnect until :meth:`reconcile` finished.
        reconciles: how many REST reconciliations ran.
    """

    def __init__(self, *, max_fills: int = 10_000) -> None:
        self.orders: dict[str, MirrorOrder] = {}
        self.fills: dict[str, MirrorFill] = {}
        self.positions: dict[str, MirrorPosition] = {}
        self.balances: dict[str, Decimal] = {}
        self.flex: FlexFutures | None = None
        self.stale = True
        self.reconciles = 0
        self._max_fills = max_fills

    # -- wiring -------------------------------------------------------------------------------

    @staticmethod
    def subscribe(feed: AsyncFeed) -> None:
        """Subscribe ``feed`` to the private feeds the mirror reads (:data:`MIRROR_FEEDS`)."""
        for name in MIRROR_FEEDS:
            feed.subscribe(name)

    async def follow(
        self, events: AsyncIterable[FeedEvent], client: AsyncClient
    ) -> AsyncIterator[FeedEvent]:
        """Iterate ``events`` (an :class:`AsyncFeed`, or anything yielding its events):
        reconcile from REST first and after every reconnect, apply every event, yield it."""
        await self.reconcile(client)
        async for event in events:
            if type(event) is Reconnected:
                self.stale = True
                await self.reconcile(client)
            else:
                self.apply(event)
            yield event

    # -- WebSocket ----------------------------------------------------------------------------

    def apply(self, event: object) -> bool:
        """Apply one feed event; returns whether it was a private-state message."""
        if isinstance(event, OpenOrdersSnapshot):  # also the verbose snapshot
            self.orders = {o.order_id: order_from_ws(o) for o in event.orders}
        elif isinstance(event, OpenOrdersUpdate):  # also the verbose update
            self._apply_order_update(event)
        elif isinstance(event, FillsSnapshot | FillsUpdate):
            self._add_fills(fill_from_ws(f) for f in event.fills)
        elif isinstance(event, OpenPositions):
            self.positions = {
                p.symbol.upper(): MirrorPosition(p.symbol.upper(), p.qty, p.entry_price)
                for p in event.positions
                if p.qty
            }
        elif isinstance(event, BalancesSnapshot):  # also BalancesUpdate (partial)
            self._apply_balances(event)
        else:
            return False
        return True

    def _apply_order_update(self, msg: OpenOrdersUpdate) -> None:
        order_id = msg.target_order_id
        if order_id is None:
            return
        if msg.is_cancel:
            self.orders.pop(order_id, None)  # cancelled, fully filled, expired, ...
        elif msg.order is not None:
            self.orders[order_id] = order_from_ws(msg.order)

    def _apply_balances(self, msg: BalancesSnapshot) -> None:
        if not isinstance(msg, BalancesUpdate):
            self.balances = {}
        for currency, qty in (msg.holding or {}).items():
            self.balances[currency.upper()] = qty
        flex = msg.flex_futures
        if flex is not None:
            self.flex = flex
            for currency, cur in (flex.currencies or {}).items():
                if cur.quantity is not None:
                    self.balances[currency.upper()] = cur.quantity

    def _add_fills(self, fills: Any) -> None:
        for fill in fills:
            known = self.fills.get(fill.fill_id)
            if known is None or (known.fee_paid is None and fill.fee_paid is not None):
                self.fills[fill.fill_id] = fill  # the feed's copy carries the fee
        if len(self.fills) > self._max_fills:
            keep = sorted(self.fills.values(), key=lambda f: f.ts_ms)[-self._max_fills :]
            self.fills = {f.fill_id: f for f in keep}

    # -- REST ---------------------------------------------------------------------------------

    async def reconcile(self, client: AsyncClient) -> None:
        """Replace orders, positions and balances from REST and merge REST fills (by
        ``fill_id``); clears :attr:`stale`.

        Raises:
            KrakenFuturesError: a REST call failed (the mirror stays :attr:`stale`).
        """
        orders = await client.get_open_orders()
        positions = await client.get_open_positions()
        fills = await client.get_fills()
        accounts = await client.get_accounts()
        self.orders = {o.order_id: order_from_rest(o) for o in orders}
        self.positions = {}
        for p in positions:
            qty = p.qty if p.side == "long" else -p.qty
            if qty:
                self.positions[p.symbol.upper()] = MirrorPosition(p.symbol.upper(), qty, p.price)
        self._add_fills(fill_from_rest(f) for f in fills)
        self.balances = _balances_from_accounts(accounts)
        self.stale = False
        self.reconciles += 1

    # -- views --------------------------------------------------------------------------------

    def fill_list(self) -> list[MirrorFill]:
        """Fills oldest first."""
        return sorted(self.fills.values(), key=lambda f: (f.ts_ms, f.fill_id))

    def position_qty(self, symbol: str) -> Decimal:
        """Signed position in ``symbol`` (0 when flat)."""
        pos = self.positions.get(symbol.upper())
        return pos.qty if pos is not None else Decimal(0)

    def __repr__(self) -> str:
        return (
            f"AccountMirror(orders={len(self.orders)}, fills={len(self.fills)}, "
            f"positions={len(self.positions)}, stale={self.stale})"
        )


def _balances_from_accounts(accounts: dict[str, Any]) -> dict[str, Decimal]:
    """Collateral quantities from REST ``accounts``: the flex wallet's currencies, else the cash
    wallet's balances (upper-cased)."""
    out: dict[str, Decimal] = {}
    for account in accounts.values():
        currencies = getattr(account, "currencies", None)
        if currencies:
            for currency, cur in currencies.items():
                out[currency.upper()] = cur.quantity
    if not out:
        cash = accounts.get("cash")
        for currency, qty in (getattr(cash, "balances", None) or {}).items():
            out[currency.upper()] = qty
    return out


__all__ = [
    "MIRROR_FEEDS",
    "AccountMirror",
    "MirrorFill",
    "MirrorOrder",
    "MirrorPosition",
    "fill_from_rest",
    "fill_from_ws",
    "order_from_rest",
    "order_from_ws",
]
