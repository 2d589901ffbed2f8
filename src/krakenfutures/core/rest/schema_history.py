"""History API (``/api/history/v2|v3``) on the wire: event pages and the account log.

History replies are bare JSON (no ``result`` envelope). Event payloads are kept as plain dicts
keyed by event name (``{"OrderPlaced": {...}}``, ``{"Execution": {...}}``, ``{"PositionUpdate":
{...}}``): they use ``direction: "Buy"``, ``orderType: "Limit"``, quantities as strings and ms
timestamps, and Kraken varies them more than the v3 shapes. Account-log rows are fully typed.
Pagination: pass ``continuation_token`` from the page (or the ``Next-Continuation-Token`` header).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import msgspec

SortOrder = Literal["asc", "desc"]
"""``asc`` chronological, ``desc`` (Kraken's default) newest first."""

# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------


class HistoryParams(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"symbol": "tradeable"}
):
    """``/executions`` filters: ``since``/``before`` epoch ms; ``symbol`` (wire ``tradeable``)."""

    since: int | None = None
    before: int | None = None
    sort: SortOrder | None = None
    continuation_token: str | None = None
    count: int | None = None
    symbol: str | None = None


class HistoryOrdersParams(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"symbol": "tradeable"}
):
    """``/orders`` and ``/triggers`` filters; ``opened``/``closed`` pick placed/closed events."""

    since: int | None = None
    before: int | None = None
    sort: SortOrder | None = None
    continuation_token: str | None = None
    count: int | None = None
    symbol: str | None = None
    opened: bool | None = None
    closed: bool | None = None


class HistoryPositionsParams(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename={"symbol": "tradeable"}
):
    """``/positions`` filters: change kinds (opened..no_change) OR-ed, AND-ed with update reasons
    (trades, funding_realization, settlement); ``False`` has no effect on Kraken."""

    since: int | None = None
    before: int | None = None
    sort: SortOrder | None = None
    continuation_token: str | None = None
    count: int | None = None
    symbol: str | None = None
    opened: bool | None = None
    closed: bool | None = None
    increased: bool | None = None
    decreased: bool | None = None
    reversed: bool | None = None
    no_change: bool | None = None
    trades: bool | None = None
    funding_realization: bool | None = None
    settlement: bool | None = None


class MarketHistoryParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Public ``/market/{symbol}/executions|orders|price`` filters; ``symbol`` goes in the path."""

    symbol: str
    since: int | None = None
    before: int | None = None
    sort: SortOrder | None = None
    continuation_token: str | None = None
    count: int | None = None


class AccountLogParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"from_id": "from", "to_id": "to"},
):
    """``/account-log``: by time (``since``/``before`` ms) or by id (``from_id``/``to_id``,
    inclusive, ids start at 1). ``count`` (default 500) sets the rate-limit cost."""

    since: int | None = None
    before: int | None = None
    from_id: int | None = None
    to_id: int | None = None
    sort: SortOrder | None = None
    info: str | None = None
    count: int | None = None
    conversion_details: bool | None = None


class AccountLogCsvParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/accountlogcsv``: the most recent account log as CSV text."""

    conversion_details: bool | None = None


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class HistoryElement(msgspec.Struct, frozen=True, kw_only=True):
    """One event: ``event`` is ``{EventName: payload}``; ``timestamp`` epoch ms (int or ms text)."""

    uid: str
    timestamp: int | str
    event: dict[str, Any]


class HistoryPage(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={
        "account_uid": "accountUid",
        "length": "len",
        "server_time": "serverTime",
        "continuation_token": "continuationToken",
    },
):
    """A page of history events; ``continuation_token`` is ``None`` on the last page."""

    account_uid: str | None = None
    length: int
    server_time: str | None = None
    elements: list[HistoryElement] = []
    continuation_token: str | None = None


class AccountLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One account-log row (wire names are already ``snake_case``).

    A trade books two rows: a cash leg (``asset`` a currency) and a position leg (``asset`` the
    contract). ``info`` says what happened: ``futures trade``, ``funding rate change``,
    ``conversion``, ``transfer``, ``settlement``, ...
    """

    id: int
    date: str
    asset: str
    info: str
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
    contract: str | None = None
    funding_rate: Decimal | None = None
    realized_funding: Decimal | None = None
    conversion_spread_percentage: Decimal | None = None
    liquidation_fee: Decimal | None = None
    position_uid: str | None = None


class AccountLog(msgspec.Struct, frozen=True, kw_only=True, rename={"account_uid": "accountUid"}):
    """``/account-log`` reply."""

    account_uid: str | None = None
    logs: list[AccountLogEntry] = []


__all__ = [
    "AccountLog",
    "AccountLogCsvParams",
    "AccountLogEntry",
    "AccountLogParams",
    "HistoryElement",
    "HistoryOrdersParams",
    "HistoryPage",
    "HistoryParams",
    "HistoryPositionsParams",
    "MarketHistoryParams",
    "SortOrder",
]
