"""uws channel data messages: ``{"channel":...,"type":"snapshot"|"update","data":[...]}``.

Conventions: :mod:`krakenfutures.core.uws.schema`. Messages are tagged by ``channel`` (the tag is
written first when encoding and checked when decoding); ``type`` is a plain field (``snapshot``
or ``update``; ``margin`` uses ``multi_collateral``/``single_collateral``; ``heartbeat`` has
none). Snapshot and update share one data schema per channel (reference §3.4), so every data
field the server may leave out defaults to ``None``.

Field lists come from the Spot v2 pages the reference says uws shares (§3, §4.9, §4.10); the
derivatives-only fields of ``ticker`` (mark, index, funding, open interest) are a GAP (§4.9)
and are read under the legacy feed's names, snake-cased, when present. ``positions`` ``size``
and ``entry_price`` are JSON numbers (decoded exactly as Decimal).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.types import Side


class _Data(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of the data items: absent fields are ``None`` and are not written."""


class BookLevel(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One level: ``qty`` is the new total at ``price`` (0 removes the level)."""

    price: Decimal
    qty: Decimal


class BookData(_Data, frozen=True, kw_only=True):
    """One symbol's book snapshot or update, with the CRC32 of the top 10 levels after it."""

    symbol: str
    bids: tuple[BookLevel, ...] = ()
    asks: tuple[BookLevel, ...] = ()
    checksum: int | None = None
    timestamp: str | None = None


class TickerData(_Data, frozen=True, kw_only=True):
    """Level 1 of one symbol. The fields after ``timestamp`` are derivatives guesses (GAP)."""

    symbol: str
    bid: Decimal | None = None
    bid_qty: Decimal | None = None
    ask: Decimal | None = None
    ask_qty: Decimal | None = None
    last: Decimal | None = None
    volume: Decimal | None = None
    vwap: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    change: Decimal | None = None
    change_pct: Decimal | None = None
    timestamp: str | None = None
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    funding_rate: Decimal | None = None
    relative_funding_rate: Decimal | None = None
    funding_rate_prediction: Decimal | None = None
    relative_funding_rate_prediction: Decimal | None = None
    next_funding_rate_time: str | int | None = None
    open_interest: Decimal | None = None
    suspended: bool | None = None
    post_only: bool | None = None


class TradeData(_Data, frozen=True, kw_only=True):
    """A public trade; ``side`` is the taker's; ``trade_id`` is sequential per symbol."""

    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    ord_type: str | None = None
    trade_id: int | str | None = None
    timestamp: str | None = None


class InstrumentAsset(_Data, frozen=True, kw_only=True):
    """An asset of the ``instrument`` channel (Spot v2 shape)."""

    id: str
    status: str | None = None
    precision: int | None = None
    precision_display: int | None = None
    collateral_value: Decimal | None = None
    margin_rate: Decimal | None = None


class InstrumentPair(_Data, frozen=True, kw_only=True):
    """A tradable symbol. For derivatives use ``price_increment`` (not always a power of ten)
    and ``qty_min``/``qty_increment`` (per contract; reference §4.9)."""

    symbol: str
    base: str | None = None
    quote: str | None = None
    status: str | None = None
    price_precision: int | None = None
    price_increment: Decimal | None = None
    tick_size: Decimal | None = None
    qty_precision: int | None = None
    qty_increment: Decimal | None = None
    qty_min: Decimal | None = None
    cost_precision: int | None = None
    cost_min: Decimal | None = None
    marginable: bool | None = None
    has_index: bool | None = None
    margin_initial: Decimal | None = None
    position_limit_long: Decimal | None = None
    position_limit_short: Decimal | None = None


class InstrumentData(_Data, frozen=True, kw_only=True):
    """Spot v2 sends ``data`` as one object of ``assets`` and ``pairs``."""

    assets: tuple[InstrumentAsset, ...] = ()
    pairs: tuple[InstrumentPair, ...] = ()


class StatusData(_Data, frozen=True, kw_only=True):
    """Engine status: ``system`` ∈ online, cancel_only, maintenance, post_only (§3.5).

    ``connection_id`` can exceed 2**63. ``upcoming_maintenance``/``emergency`` are present
    only where the maintenance integration is on; their entries' key names are a GAP, so they
    stay mappings (read them with :data:`~krakenfutures.core.uws.assumptions.MAINTENANCE_KEYS`).
    """

    system: str
    api_version: str | None = None
    connection_id: int | None = None
    version: str | None = None
    upcoming_maintenance: tuple[dict[str, Any], ...] | None = None
    emergency: tuple[dict[str, Any], ...] | None = None


class Fee(_Data, frozen=True, kw_only=True):
    """One fee of an execution: ``qty`` of ``asset`` (positive = paid)."""

    asset: str
    qty: Decimal


class ExecTriggers(_Data, frozen=True, kw_only=True):
    """The trigger of a triggered order as ``executions`` reports it."""

    reference: str | None = None
    price: Decimal | None = None
    price_type: str | None = None
    actual_price: Decimal | None = None
    status: str | None = None
    timestamp: str | None = None


class Execution(_Data, frozen=True, kw_only=True):
    """One order event of ``executions``: ``exec_type`` says what happened (``new``,
    ``trade``, ``filled``, ``canceled``, ``expired``, ``amended``, ``restated``, ``status``,
    ``pending_new`` on Spot only), ``order_status`` where the order now is. Updates carry only
    the fields that changed (plus the ids), so nearly everything is optional."""

    exec_type: str = ""
    order_id: str = ""
    cl_ord_id: str | None = None
    order_userref: int | None = None
    symbol: str | None = None
    side: Side | None = None
    order_type: str | None = None
    order_qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    triggers: ExecTriggers | None = None
    time_in_force: str | None = None
    post_only: bool | None = None
    reduce_only: bool | None = None
    order_status: str | None = None
    cum_qty: Decimal | None = None
    cum_cost: Decimal | None = None
    avg_price: Decimal | None = None
    timestamp: str | None = None
    exec_id: str | None = None
    trade_id: int | str | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    cost: Decimal | None = None
    liquidity_ind: str | None = None
    fees: tuple[Fee, ...] | None = None
    fee_usd_equiv: Decimal | None = None
    reason: str | None = None
    amended: bool | None = None


class Wallet(_Data, frozen=True, kw_only=True):
    """One wallet of a ``balances`` snapshot row."""

    type: str | None = None
    id: str | None = None
    balance: Decimal | None = None


class BalanceData(_Data, frozen=True, kw_only=True):
    """A ``balances`` row: a snapshot's asset total (``balance``, ``wallets``) or an update's
    ledger transaction (``amount``, ``fee`` and the ``balance`` after it)."""

    asset: str
    asset_class: str | None = None
    balance: Decimal | None = None
    wallets: tuple[Wallet, ...] | None = None
    ledger_id: str | None = None
    ref_id: str | None = None
    timestamp: str | None = None
    type: str | None = None
    subtype: str | None = None
    category: str | None = None
    wallet_type: str | None = None
    wallet_id: str | None = None
    amount: Decimal | None = None
    fee: Decimal | None = None


class PositionEntry(_Data, frozen=True, kw_only=True):
    """One derivatives position; ``size`` 0 reports a closed position (§4.10).

    ``unrealized_funding`` and the ``with_margin`` figures (``initial_margin``,
    ``maintenance_margin``, ``effective_leverage``, ``return_on_equity``) are read under the
    legacy ``open_positions`` names: the uws ``with_margin`` payload is a GAP (§9.8)."""

    symbol: str
    size: Decimal
    entry_price: Decimal | None = None
    side: str | None = None
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    unrealized_funding: Decimal | None = None
    initial_margin: Decimal | None = None
    maintenance_margin: Decimal | None = None
    effective_leverage: Decimal | None = None
    return_on_equity: Decimal | None = None
    timestamp: str | None = None


class PositionsData(_Data, frozen=True, kw_only=True):
    """``positions`` lists split into ``futures`` and ``options``; updates carry only the
    affected positions; empty lists and no time with the ``snapshot_too_large`` warning."""

    futures: tuple[PositionEntry, ...] = ()
    options: tuple[PositionEntry, ...] = ()
    timestamp: str | None = None


class LedgerEntry(_Data, frozen=True, kw_only=True):
    """One change to one balance (a wallet's currency or a position's size); derivatives
    entries add the trade and mark price, the average entry prices before and after, realized
    PnL and funding (§4.10; exact names unconfirmed, the legacy account log's are used). An
    entry with ``asset`` changes a wallet balance; one with only ``symbol`` a position size
    (``amount`` the size change, ``balance`` the new signed size)."""

    asset: str | None = None
    symbol: str | None = None
    amount: Decimal | None = None
    fee: Decimal | None = None
    balance: Decimal | None = None
    ledger_id: str | None = None
    ref_id: str | None = None
    timestamp: str | None = None
    type: str | None = None
    subtype: str | None = None
    category: str | None = None
    wallet_type: str | None = None
    wallet_id: str | None = None
    trade_price: Decimal | None = None
    mark_price: Decimal | None = None
    old_average_entry_price: Decimal | None = None
    new_average_entry_price: Decimal | None = None
    realized_pnl: Decimal | None = None
    funding: Decimal | None = None
    funding_rate: Decimal | None = None


class _Message(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="channel"):
    """Base of the channel messages: ``type`` is ``snapshot`` or ``update``."""

    type: str | None = None

    @property
    def is_snapshot(self) -> bool:
        """Whether this is the snapshot that follows a subscription."""
        return self.type == "snapshot"


class BookMessage(_Message, frozen=True, kw_only=True, tag="book"):
    """``book``: one entry per symbol in ``data``."""

    data: tuple[BookData, ...] = ()


class TickerMessage(_Message, frozen=True, kw_only=True, tag="ticker"):
    """``ticker``."""

    data: tuple[TickerData, ...] = ()


class TradeMessage(_Message, frozen=True, kw_only=True, tag="trade"):
    """``trade``: several trades may share one message (not necessarily one taker order)."""

    data: tuple[TradeData, ...] = ()


class InstrumentMessage(_Message, frozen=True, kw_only=True, tag="instrument"):
    """``instrument``: ``data`` is an object (Spot v2) or, tolerated, a list of symbols."""

    data: InstrumentData | tuple[InstrumentPair, ...] = InstrumentData()

    @property
    def pairs(self) -> tuple[InstrumentPair, ...]:
        """The symbols, whichever shape ``data`` has."""
        return self.data.pairs if isinstance(self.data, InstrumentData) else self.data


class StatusMessage(_Message, frozen=True, kw_only=True, tag="status"):
    """``status``: on connect and on every engine status change (``type`` is ``update``)."""

    data: tuple[StatusData, ...] = ()


class HeartbeatMessage(_Message, frozen=True, kw_only=True, tag="heartbeat"):
    """``{"channel":"heartbeat"}``: about once a second while nothing else flows."""


class ExecutionsMessage(_Message, frozen=True, kw_only=True, tag="executions"):
    """``executions`` (private): order events and our trades."""

    data: tuple[Execution, ...] = ()
    sequence: int | None = None


class BalancesMessage(_Message, frozen=True, kw_only=True, tag="balances"):
    """``balances`` (private)."""

    data: tuple[BalanceData, ...] = ()
    sequence: int | None = None


class PositionsMessage(_Message, frozen=True, kw_only=True, tag="positions"):
    """``positions`` (private, derivatives): ``data`` one object or a list of them."""

    data: PositionsData | tuple[PositionsData, ...] = PositionsData()
    sequence: int | None = None

    @property
    def sections(self) -> tuple[PositionsData, ...]:
        """``data`` as a tuple, whichever shape it has."""
        return (self.data,) if isinstance(self.data, PositionsData) else self.data


class LedgersMessage(_Message, frozen=True, kw_only=True, tag="ledgers"):
    """``ledgers`` (private): no snapshot; ``sequence`` per connection, a gap is a loss."""

    data: tuple[LedgerEntry, ...] = ()
    sequence: int | None = None


class MarginMessage(_Message, frozen=True, kw_only=True, tag="margin"):
    """``margin`` (private, derivatives): every message replaces one section, named by
    ``type`` (``multi_collateral`` or ``single_collateral``); payload fields are a GAP."""

    data: Any = None


ChannelMessage = (
    BookMessage
    | TickerMessage
    | TradeMessage
    | InstrumentMessage
    | StatusMessage
    | HeartbeatMessage
    | ExecutionsMessage
    | BalancesMessage
    | PositionsMessage
    | LedgersMessage
    | MarginMessage
)
"""Every channel message a server sends."""

CHANNEL_TYPES: tuple[type[Any], ...] = (
    BookMessage,
    TickerMessage,
    TradeMessage,
    InstrumentMessage,
    StatusMessage,
    HeartbeatMessage,
    ExecutionsMessage,
    BalancesMessage,
    PositionsMessage,
    LedgersMessage,
    MarginMessage,
)
"""The channel message types, each tagged with its ``channel``."""


__all__ = [
    "CHANNEL_TYPES",
    "BalanceData",
    "BalancesMessage",
    "BookData",
    "BookLevel",
    "BookMessage",
    "ChannelMessage",
    "ExecTriggers",
    "Execution",
    "ExecutionsMessage",
    "Fee",
    "HeartbeatMessage",
    "InstrumentAsset",
    "InstrumentData",
    "InstrumentMessage",
    "InstrumentPair",
    "LedgerEntry",
    "LedgersMessage",
    "MarginMessage",
    "PositionEntry",
    "PositionsData",
    "PositionsMessage",
    "StatusData",
    "StatusMessage",
    "TickerData",
    "TickerMessage",
    "TradeData",
    "TradeMessage",
    "Wallet",
]
