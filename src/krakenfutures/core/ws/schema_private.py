"""Private WebSocket v1 feeds: open orders, fills, positions, balances, account log, notifications.

See :mod:`krakenfutures.core.ws.schema` for the conventions. Wire shapes: reference §6, the
docs.kraken.com ``futures-api/websocket/*`` pages and nautilus_trader's recorded fixtures.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from krakenfutures.core.types import Side

# ---------------------------------------------------------------------------------------------
# open_orders / open_orders_verbose
# ---------------------------------------------------------------------------------------------

OPEN_ORDER_REASONS = frozenset(
    {
        "new_placed_order_by_user",
        "liquidation",
        "stop_order_triggered",
        "limit_order_from_stop",
        "partial_fill",
        "full_fill",
        "cancelled_by_user",
        "contract_expired",
        "not_enough_margin",
        "market_inactive",
        "cancelled_by_admin",
        "dead_man_switch",
        "ioc_order_failed_because_it_would_not_be_executed",
        "post_order_failed_because_it_would_filled",
        "would_execute_self",
        "would_not_reduce_position",
        "order_for_edit_not_found",
    }
)
"""Kraken's documented ``reason`` values of an open-orders delta (others may appear)."""


class TrailingStopOptions(msgspec.Struct, frozen=True, kw_only=True):
    """``trailing_stop_options``: ``unit`` is ``percent`` or ``quote_currency``."""

    max_deviation: Decimal
    unit: str


class OpenOrder(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={
        "symbol": "instrument",
        "ts_ms": "time",
        "last_update_ts_ms": "last_update_time",
        "trigger_signal": "triggerSignal",
    },
):
    """An order on the open-orders feeds.

    ``qty`` is the open quantity (0 on a ``full_fill``), ``filled`` the filled quantity;
    ``type`` is ``limit``, ``stop``, ``take_profit`` or ``trailing_stop``; ``direction`` is 0
    for buy, 1 for sell (see :attr:`side`); ``trigger_signal`` (``last``/``mark``/``spot``)
    and ``trailing_stop_options`` only on trigger orders; ``cli_ord_id`` only when set.
    """

    symbol: str
    ts_ms: int
    last_update_ts_ms: int
    qty: Decimal
    filled: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    type: str
    order_id: str
    cli_ord_id: str | None = None
    direction: int
    reduce_only: bool
    trigger_signal: str | None = None
    trailing_stop_options: TrailingStopOptions | None = None

    @property
    def side(self) -> Side:
        """``direction`` as a :class:`~krakenfutures.core.types.Side`."""
        return Side.BUY if self.direction == 0 else Side.SELL


class OpenOrdersSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="open_orders_snapshot",
):
    """Every open order of ``account`` (a UUID), sent after subscribing to ``open_orders``."""

    account: str | None = None
    orders: list[OpenOrder]


class OpenOrdersVerboseSnapshot(
    OpenOrdersSnapshot,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag="open_orders_verbose_snapshot",
):
    """The ``open_orders_verbose`` snapshot: the same shape as :class:`OpenOrdersSnapshot`."""


class OpenOrdersUpdate(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="open_orders",
):
    """An open-orders delta, in one of two shapes.

    * with ``order``: placed/changed (``is_cancel`` false) or gone with the order's last state
      (``is_cancel`` true, e.g. ``reason`` ``full_fill`` with ``qty`` 0);
    * without ``order``: ``order_id`` (+ ``cli_ord_id`` when set), ``is_cancel`` true.

    ``reason`` is one of :data:`OPEN_ORDER_REASONS`.
    """

    order: OpenOrder | None = None
    order_id: str | None = None
    cli_ord_id: str | None = None
    is_cancel: bool
    reason: str | None = None

    @property
    def target_order_id(self) -> str | None:
        """The order this delta is about, whichever shape it came in."""
        return self.order.order_id if self.order is not None else self.order_id


class OpenOrdersVerboseUpdate(
    OpenOrdersUpdate, frozen=True, kw_only=True, omit_defaults=True, tag="open_orders_verbose"
):
    """An ``open_orders_verbose`` delta: also reports post-only orders that failed to cross."""


# ---------------------------------------------------------------------------------------------
# fills
# ---------------------------------------------------------------------------------------------


class Fill(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"symbol": "instrument", "ts_ms": "time"},
):
    """One of our fills. ``buy`` is our side (see :attr:`side`); ``fee_paid`` is in
    ``fee_currency`` (negative = rebate); ``fill_type`` is ``maker``, ``taker``,
    ``liquidation``, ``assignee``, ``assignor``, ``unwindBankrupt``, ``unwindCounterparty`` or
    ``takerAfterEdit``; ``seq`` counts messages of this subscription."""

    symbol: str
    ts_ms: int
    price: Decimal
    seq: int | None = None
    buy: bool
    qty: Decimal
    remaining_order_qty: Decimal | None = None
    order_id: str
    cli_ord_id: str | None = None
    fill_id: str
    fill_type: str
    fee_paid: Decimal | None = None
    fee_currency: str | None = None
    taker_order_type: str | None = None
    order_type: str | None = None

    @property
    def side(self) -> Side:
        """``buy`` as a :class:`~krakenfutures.core.types.Side`."""
        return Side.BUY if self.buy else Side.SELL


class FillsSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="fills_snapshot",
):
    """Recent fills of ``account``, sent after subscribing to ``fills``."""

    account: str | None = None
    fills: list[Fill]


class FillsUpdate(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="feed", tag="fills"
):
    """New fills; Kraken names the account ``username`` here."""

    username: str | None = None
    fills: list[Fill]


# ---------------------------------------------------------------------------------------------
# open_positions
# ---------------------------------------------------------------------------------------------


class Position(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"symbol": "instrument", "qty": "balance"},
):
    """One open position. ``qty`` is signed (positive long, negative short; wire ``balance``).

    ``pnl_currency`` is absent for inverse contracts; option positions carry greeks fields and
    no margin fields.
    """

    symbol: str
    qty: Decimal
    pnl: Decimal | None = None
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    liquidation_threshold: Decimal | None = None
    effective_leverage: Decimal | None = None
    return_on_equity: Decimal | None = None
    unrealized_funding: Decimal | None = None
    initial_margin: Decimal | None = None
    initial_margin_with_orders: Decimal | None = None
    maintenance_margin: Decimal | None = None
    pnl_currency: str | None = None
    iv: Decimal | None = None
    delta: Decimal | None = None
    gamma: Decimal | None = None
    vega: Decimal | None = None
    theta: Decimal | None = None
    rho: Decimal | None = None


class OpenPositions(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="open_positions",
    rename={"ts_ms": "timestamp"},
):
    """All open positions of ``account``: the snapshot and every update have this shape."""

    account: str | None = None
    positions: list[Position]
    seq: int | None = None
    ts_ms: int | None = None


# ---------------------------------------------------------------------------------------------
# balances
# ---------------------------------------------------------------------------------------------


class FuturesWallet(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A single-collateral wallet under ``futures`` (key e.g. ``F-XBT:USD``), in ``unit``."""

    name: str | None = None
    pair: str | None = None
    unit: str | None = None
    portfolio_value: Decimal | None = None
    balance: Decimal | None = None
    maintenance_margin: Decimal | None = None
    initial_margin: Decimal | None = None
    available: Decimal | None = None
    unrealized_funding: Decimal | None = None
    pnl: Decimal | None = None
    cash_value: Decimal | None = None


class FlexCurrency(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One collateral currency of the multi-collateral wallet (USD values after ``haircut``)."""

    quantity: Decimal | None = None
    value: Decimal | None = None
    collateral_value: Decimal | None = None
    available: Decimal | None = None
    haircut: Decimal | None = None
    conversion_spread: Decimal | None = None


class MarginSummary(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Margin figures of an isolated position (``isolated[symbol]``) or of the cross pool
    (``cross``, which adds balances, equity and leverage; Kraken has sent both ``balance`` and
    ``balance_value`` there)."""

    balance: Decimal | None = None
    balance_value: Decimal | None = None
    portfolio_value: Decimal | None = None
    collateral_value: Decimal | None = None
    initial_margin: Decimal | None = None
    initial_margin_without_orders: Decimal | None = None
    maintenance_margin: Decimal | None = None
    pnl: Decimal | None = None
    unrealized_funding: Decimal | None = None
    total_unrealized: Decimal | None = None
    total_unrealized_as_margin: Decimal | None = None
    margin_equity: Decimal | None = None
    available_margin: Decimal | None = None
    effective_leverage: Decimal | None = None
    total_position_size: Decimal | None = None


class PortfolioMarginBreakdown(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Portfolio-margin components (accounts on portfolio margining only)."""

    market_risk: Decimal | None = None
    abs_options_delta: Decimal | None = None
    net_position_delta: Decimal | None = None
    futures_maintenance_margin: Decimal | None = None
    futures_cash_value: Decimal | None = None
    futures_upnl_cash_value: Decimal | None = None


class FlexFutures(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The multi-collateral (``flex``) wallet: per-currency collateral plus USD totals."""

    currencies: dict[str, FlexCurrency] | None = None
    balance_value: Decimal | None = None
    portfolio_value: Decimal | None = None
    collateral_value: Decimal | None = None
    initial_margin: Decimal | None = None
    initial_margin_without_orders: Decimal | None = None
    maintenance_margin: Decimal | None = None
    pnl: Decimal | None = None
    unrealized_funding: Decimal | None = None
    total_unrealized: Decimal | None = None
    total_unrealized_as_margin: Decimal | None = None
    margin_equity: Decimal | None = None
    available_margin: Decimal | None = None
    total_position_size: Decimal | None = None
    unified_balances: bool | None = None
    isolated: dict[str, MarginSummary] | None = None
    cross: MarginSummary | None = None
    portfolio_margin_breakdown: PortfolioMarginBreakdown | None = None


class BalancesSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="balances_snapshot",
    rename={"ts_ms": "timestamp"},
):
    """Every wallet: ``holding`` (currency -> qty), ``futures`` (single-collateral wallets by
    name) and ``flex_futures`` (the multi-collateral wallet)."""

    account: str | None = None
    holding: dict[str, Decimal] | None = None
    futures: dict[str, FuturesWallet] | None = None
    flex_futures: FlexFutures | None = None
    ts_ms: int | None = None
    seq: int | None = None


class BalancesUpdate(
    BalancesSnapshot, frozen=True, kw_only=True, omit_defaults=True, tag="balances"
):
    """A ``balances`` delta: only the parts that changed (any of holding/futures/flex)."""


# ---------------------------------------------------------------------------------------------
# account_log
# ---------------------------------------------------------------------------------------------


class AccountLogEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One account-log row: ``date`` is ISO text, ``info`` the booking kind (``futures
    trade``, ``funding rate change``...), ``margin_account`` e.g. ``f-bch:usd``;
    ``funding_rate`` is absolute, ``fee`` and the balances are in ``asset``/``collateral``."""

    id: int
    date: str | None = None
    asset: str | None = None
    info: str | None = None
    booking_uid: str | None = None
    margin_account: str | None = None
    old_balance: Decimal | None = None
    new_balance: Decimal | None = None
    old_average_entry_price: Decimal | None = None
    new_average_entry_price: Decimal | None = None
    trade_price: Decimal | None = None
    mark_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    fee: Decimal | None = None
    execution: str | None = None
    collateral: str | None = None
    funding_rate: Decimal | None = None
    realized_funding: Decimal | None = None
    conversion_spread_percentage: Decimal | None = None
    liquidation_fee: Decimal | None = None


class AccountLogSnapshot(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="account_log_snapshot",
):
    """Recent account-log rows, newest first, sent after subscribing to ``account_log``."""

    logs: list[AccountLogEntry]


class AccountLogUpdate(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="feed",
    tag="account_log",
):
    """A new row: ``new_entry`` in Kraken's example; the field list says ``log``/``logs``, so
    ``logs`` is read too. Use :attr:`entries` either way."""

    new_entry: AccountLogEntry | None = None
    logs: list[AccountLogEntry] | None = None

    @property
    def entries(self) -> list[AccountLogEntry]:
        """The rows carried, whichever field they came in."""
        rows = [self.new_entry] if self.new_entry is not None else []
        return rows + (self.logs or [])


# ---------------------------------------------------------------------------------------------
# notifications_auth
# ---------------------------------------------------------------------------------------------


class Notification(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"effective_ts_ms": "effective_time"},
):
    """A platform notification. ``type``: ``market``, ``general``, ``new_feature``,
    ``bug_fix``, ``maintenance``, ``settlement``; ``priority``: ``low``/``medium``/``high``
    (``maintenance`` + ``high`` means downtime at ``effective_ts_ms``)."""

    id: int
    type: str
    priority: str
    note: str
    effective_ts_ms: int
    expected_downtime_minutes: int | None = None


class Notifications(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="feed", tag="notifications_auth"
):
    """The ``notifications_auth`` feed: the current notifications."""

    notifications: list[Notification]


PRIVATE_TYPES: tuple[type[msgspec.Struct], ...] = (
    OpenOrdersSnapshot,
    OpenOrdersVerboseSnapshot,
    OpenOrdersUpdate,
    OpenOrdersVerboseUpdate,
    FillsSnapshot,
    FillsUpdate,
    OpenPositions,
    BalancesSnapshot,
    BalancesUpdate,
    AccountLogSnapshot,
    AccountLogUpdate,
    Notifications,
)
"""Every private data message type, each tagged with its ``feed``."""

__all__ = [
    "OPEN_ORDER_REASONS",
    "PRIVATE_TYPES",
    "AccountLogEntry",
    "AccountLogSnapshot",
    "AccountLogUpdate",
    "BalancesSnapshot",
    "BalancesUpdate",
    "Fill",
    "FillsSnapshot",
    "FillsUpdate",
    "FlexCurrency",
    "FlexFutures",
    "FuturesWallet",
    "MarginSummary",
    "Notification",
    "Notifications",
    "OpenOrder",
    "OpenOrdersSnapshot",
    "OpenOrdersUpdate",
    "OpenOrdersVerboseSnapshot",
    "OpenOrdersVerboseUpdate",
    "OpenPositions",
    "PortfolioMarginBreakdown",
    "Position",
    "TrailingStopOptions",
]
