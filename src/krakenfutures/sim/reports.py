"""Market-data and account reports of the simulated exchange: frozen domain values.

Re-exported by :mod:`krakenfutures.sim.domain`; see there for the conventions (Decimal money,
epoch-millisecond times, never wire structs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# ------------------------------------------------------------------------------ market data


@dataclass(frozen=True, slots=True)
class BookView:
    """Order book levels (price, qty): bids best (highest) first, asks best (lowest) first."""

    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    seq: int
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Ticker:
    """Market summary for ``/tickers`` and the WS ticker. Funding rates: ``funding_rate`` and
    ``funding_rate_prediction`` absolute (quote per contract per hour), the ``relative_*`` ones
    fractions; ``next_funding_ms`` the next hour boundary. None where there is no value."""

    symbol: str
    ts_ms: int
    tag: str
    pair: str
    bid: Decimal | None
    bid_size: Decimal | None
    ask: Decimal | None
    ask_size: Decimal | None
    last: Decimal | None
    last_ts_ms: int | None
    last_size: Decimal | None
    mark_price: Decimal
    index_price: Decimal
    vol24h: Decimal
    volume_quote: Decimal
    open24h: Decimal | None
    high24h: Decimal | None
    low24h: Decimal | None
    change24h: Decimal | None
    open_interest: Decimal
    funding_rate: Decimal | None
    funding_rate_prediction: Decimal | None
    relative_funding_rate: Decimal | None
    relative_funding_rate_prediction: Decimal | None
    next_funding_ms: int | None
    suspended: bool
    post_only: bool


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """One historical funding rate, set at ``ts_ms`` (an hour boundary)."""

    ts_ms: int
    absolute: Decimal
    relative: Decimal


@dataclass(frozen=True, slots=True)
class Notification:
    """A ``/notifications`` entry."""

    type: str
    priority: str
    note: str
    effective_ts_ms: int
    expected_downtime_minutes: int | None = None


# ---------------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class CurrencyBalance:
    """A flex collateral currency: ``value`` and ``collateral`` in USD, ``available`` in units."""

    quantity: Decimal
    value: Decimal
    collateral: Decimal
    available: Decimal


@dataclass(frozen=True, slots=True)
class FlexAccountState:
    """The multi-collateral ``flex`` account (reference §10.6). USD amounts."""

    currencies: dict[str, CurrencyBalance]
    initial_margin: Decimal
    initial_margin_with_orders: Decimal
    maintenance_margin: Decimal
    balance_value: Decimal
    portfolio_value: Decimal
    collateral_value: Decimal
    pnl: Decimal
    unrealized_funding: Decimal
    total_unrealized: Decimal
    total_unrealized_as_margin: Decimal
    available_margin: Decimal
    margin_equity: Decimal


@dataclass(frozen=True, slots=True)
class MarginAccountState:
    """An inverse margin account (``fi_xbtusd``), amounts in ``currency`` (lower-case coin).
    ``balances`` holds the coin balance and each position's signed size by symbol.
    ``pv`` portfolio value, ``af`` available funds, ``lt``/``tt`` liquidation/termination
    thresholds (the simulator uses ``lt = mm`` and ``tt = mm / 2``)."""

    currency: str
    balances: dict[str, Decimal]
    usd: Decimal
    pv: Decimal
    pnl: Decimal
    af: Decimal
    funding: Decimal
    im: Decimal
    mm: Decimal
    lt: Decimal
    tt: Decimal


@dataclass(frozen=True, slots=True)
class AccountState:
    """Everything the ``accounts`` reply needs: ``cash`` balances (lower-case keys), ``flex``,
    and inverse margin accounts by name."""

    account: str
    cash: dict[str, Decimal]
    flex: FlexAccountState
    margin_accounts: dict[str, MarginAccountState]


@dataclass(frozen=True, slots=True)
class AccountLogEntry:
    """An ``account-log`` row (reference §3.5); ``id`` increases per account from 1."""

    id: int
    ts_ms: int
    asset: str
    info: str
    booking_uid: str
    margin_account: str
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
    contract: str | None = None
    funding_rate: Decimal | None = None
    realized_funding: Decimal | None = None
    liquidation_fee: Decimal | None = None


__all__ = [
    "AccountLogEntry",
    "AccountState",
    "BookView",
    "CurrencyBalance",
    "FlexAccountState",
    "FundingRecord",
    "MarginAccountState",
    "Notification",
    "Ticker",
]
