"""Account-side wire shapes: wallets, positions, preferences, transfers, notifications, subaccounts.

See :mod:`krakenfutures.core.rest.schema_common` for the conventions every struct follows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.rest.schema_common import camel_names
from krakenfutures.core.types import SelfTradeStrategy

# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------


class SetLeverageParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"max_leverage": "maxLeverage"},
):
    """``PUT /leveragepreferences``: a ``max_leverage`` makes the symbol isolated, none makes it cross."""

    symbol: str
    max_leverage: Decimal | None = None


class SetPnlPreferenceParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"pnl_preference": "pnlPreference"},
):
    """``PUT /pnlpreferences``: the currency PnL of ``symbol`` is realised in (``USD``, ``BTC``...)."""

    symbol: str
    pnl_preference: str


class TransferParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"from_account": "fromAccount", "to_account": "toAccount"},
):
    """``POST /transfer`` between wallets (``cash``, ``flex``, ``fi_xbtusd``...)."""

    from_account: str
    to_account: str
    unit: str
    amount: Decimal


class SubaccountTransferParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={
        "from_user": "fromUser",
        "to_user": "toUser",
        "from_account": "fromAccount",
        "to_account": "toAccount",
    },
):
    """``POST /transfer/subaccount``: between this account and a subaccount."""

    from_user: str
    to_user: str
    from_account: str
    to_account: str
    unit: str
    amount: Decimal


class WithdrawalParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"source_wallet": "sourceWallet"},
):
    """``POST /withdrawal`` to the Kraken Spot wallet (needs a withdrawal key); wallet default ``cash``."""

    currency: str
    amount: Decimal
    source_wallet: str | None = None


class SetSelfTradeStrategyParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``PUT /self-trade-strategy``."""

    strategy: SelfTradeStrategy


class SubaccountParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A subaccount UID that goes into the path."""

    subaccount_uid: str


class SetSubaccountTradingParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"trading_enabled": "tradingEnabled"},
):
    """``PUT /subaccount/{subaccount_uid}/trading-enabled``."""

    subaccount_uid: str
    trading_enabled: bool


# ---------------------------------------------------------------------------------------------
# /accounts: a map of wallet name -> one of three account kinds, tagged by "type"
# ---------------------------------------------------------------------------------------------


class CashAccount(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", tag="cashAccount"):
    """The ``cash`` wallet: balances by lower-case currency (strings on the wire)."""

    balances: dict[str, Decimal] = {}


class Auxiliary(msgspec.Struct, frozen=True, kw_only=True):
    """Single-collateral summary: ``pv`` portfolio value, ``af`` available funds, in ``currency``."""

    usd: Decimal | None = None
    pv: Decimal | None = None
    pnl: Decimal | None = None
    af: Decimal | None = None
    funding: Decimal | None = None


class MarginRequirements(msgspec.Struct, frozen=True, kw_only=True):
    """``im`` initial, ``mm`` maintenance, ``lt`` liquidation and ``tt`` termination thresholds."""

    im: Decimal | None = None
    mm: Decimal | None = None
    lt: Decimal | None = None
    tt: Decimal | None = None


class MarginAccount(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    tag="marginAccount",
    rename=camel_names(),
):
    """A single-collateral wallet (``fi_xbtusd``): contract positions also appear in ``balances``.

    ``trigger_estimates`` holds *price levels* at which each threshold would be hit.
    """

    currency: str
    balances: dict[str, Decimal] = {}
    auxiliary: Auxiliary = Auxiliary()
    margin_requirements: MarginRequirements = MarginRequirements()
    trigger_estimates: MarginRequirements = MarginRequirements()


class FlexCurrency(msgspec.Struct, frozen=True, kw_only=True):
    """One collateral currency of the ``flex`` wallet; ``value``/``collateral`` in USD."""

    quantity: Decimal
    value: Decimal
    collateral: Decimal
    available: Decimal


class FlexAccount(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="type",
    tag="multiCollateralMarginAccount",
    rename=camel_names(),
):
    """The multi-collateral ``flex`` wallet, all sums in USD.

    ``available_margin = margin_equity - initial_margin_with_orders``; ``margin_equity`` is the
    haircut balance value plus unrealised PnL usable as margin.
    """

    currencies: dict[str, FlexCurrency] = {}
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
    portfolio_margin_breakdown: dict[str, Any] | None = None


AnyAccount = CashAccount | MarginAccount | FlexAccount
"""One value of the ``accounts`` map, told apart by its ``type`` field."""


# ---------------------------------------------------------------------------------------------
# Positions, preferences, queue, notifications
# ---------------------------------------------------------------------------------------------


class OpenPosition(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names(qty="size")
):
    """A net position: ``side`` is ``long``/``short``, ``qty`` unsigned, ``price`` the average entry."""

    side: str
    symbol: str
    price: Decimal
    fill_time: str | None = None
    qty: Decimal
    unrealized_funding: Decimal | None = None
    pnl_currency: str | None = None
    max_fixed_leverage: Decimal | None = None


class LeveragePreference(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """An isolated-margin symbol and its max leverage."""

    symbol: str
    max_leverage: Decimal


class PnlPreference(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """The currency PnL of ``symbol`` is realised in."""

    symbol: str
    pnl_currency: str


class UnwindQueueEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A position's percentile (20/40/80/100) in the unwind queue."""

    symbol: str
    percentile: int


class Notification(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()
):
    """A platform notice. ``type == "maintenance"`` with ``priority == "high"`` means downtime at
    ``effective_time``."""

    type: str
    priority: str
    note: str
    effective_time: str
    expected_downtime_minutes: int | None = None


# ---------------------------------------------------------------------------------------------
# Subaccounts
# ---------------------------------------------------------------------------------------------


class HoldingAccount(msgspec.Struct, frozen=True, kw_only=True):
    """A holding (cash) balance of a subaccount."""

    currency: str
    amount: Decimal


class FuturesAccountBalance(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """A single-collateral futures wallet of a subaccount (``f-xbt:usd``)."""

    name: str
    available_margin: Decimal


class FlexCurrencyBalance(msgspec.Struct, frozen=True, kw_only=True):
    """One collateral currency of a subaccount's flex wallet."""

    currency: str
    quantity: Decimal
    value: Decimal
    collateral: Decimal
    available: Decimal


class FlexAccountBalance(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()
):
    """A subaccount's flex wallet: like :class:`FlexAccount` with ``currencies`` as a list."""

    currencies: list[FlexCurrencyBalance] = []
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


class Subaccount(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """One subaccount with its wallets."""

    account_uid: str
    email: str | None = None
    full_name: str | None = None
    holding_accounts: list[HoldingAccount] = []
    futures_accounts: list[FuturesAccountBalance] = []
    flex_account: FlexAccountBalance | None = None


class SubaccountsReply(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """``GET /subaccounts``: payload at top level of the success envelope."""

    result: str = "success"
    server_time: str | None = None
    master_account_uid: str
    subaccounts: list[Subaccount] = []


__all__ = [
    "AnyAccount",
    "Auxiliary",
    "CashAccount",
    "FlexAccount",
    "FlexAccountBalance",
    "FlexCurrency",
    "FlexCurrencyBalance",
    "FuturesAccountBalance",
    "HoldingAccount",
    "LeveragePreference",
    "MarginAccount",
    "MarginRequirements",
    "Notification",
    "OpenPosition",
    "PnlPreference",
    "SetLeverageParams",
    "SetPnlPreferenceParams",
    "SetSelfTradeStrategyParams",
    "SetSubaccountTradingParams",
    "Subaccount",
    "SubaccountParams",
    "SubaccountTransferParams",
    "SubaccountsReply",
    "TransferParams",
    "UnwindQueueEntry",
    "WithdrawalParams",
]
