"""The account log on the wire (``/api/history/v3/account-log`` and ``/accountlogcsv``) and the
``PositionUpdate`` history events derived from it.

Rows come from the engine's account log unchanged, with ``date`` as ISO text and ``contract``
lower-cased as Kraken sends it. Filters: ``since`` (inclusive) / ``before`` (exclusive) epoch
ms, ``from``/``to`` ids (inclusive), ``info`` (exact), ``sort`` (default ``desc``), ``count``
(default 500, at most 100,000). The CSV export has one column per JSON field, newest first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from krakenfutures.core.rest.schema_history import AccountLog, AccountLogEntry, HistoryElement
from krakenfutures.sim import domain as d
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, iso_ms
from krakenfutures.sim.rest_wire import account_of, account_uid, page_count

DEFAULT_LOG_COUNT = 500
MAX_LOG_COUNT = 100_000
CSV_COLUMNS = (
    "id", "date", "asset", "info", "booking_uid", "margin_account", "old_balance", "new_balance",
    "old_average_entry_price", "new_average_entry_price", "trade_price", "mark_price",
    "realized_pnl", "fee", "execution", "collateral", "contract", "funding_rate",
    "realized_funding", "liquidation_fee",
)  # fmt: skip


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _position_change(old: Decimal, new: Decimal) -> str:
    if old == new:
        return "no_change"
    if old == 0:
        return "opened"
    if new == 0:
        return "closed"
    if (old > 0) != (new > 0):
        return "reversed"
    return "increased" if abs(new) > abs(old) else "decreased"


def position_updates(
    exchange: Exchange, account: str
) -> list[tuple[int, HistoryElement, str, str]]:
    """``PositionUpdate`` elements from the account log: (ts, element, change, reason)."""
    log = exchange.account_log(account)
    cash_legs: dict[tuple[str | None, int], d.AccountLogEntry] = {
        (e.execution, e.ts_ms): e
        for e in log
        if e.execution and e.asset != (e.contract or "").lower()
    }
    out = []
    for e in log:
        if e.contract is None:
            continue
        is_leg = e.asset == e.contract.lower() and e.info in (
            "futures trade",
            "futures liquidation",
        )
        is_funding = e.info == "funding rate change"
        if not (is_leg or is_funding):
            continue
        cash = cash_legs.get((e.execution, e.ts_ms)) if is_leg else None
        old = e.old_balance if is_leg and e.old_balance is not None else Decimal(0)
        new = e.new_balance if is_leg and e.new_balance is not None else old
        change = _position_change(old, new) if is_leg else "no_change"
        reason = "trade" if is_leg else "funding_realization"
        update = {
            "tradeable": e.contract,
            "oldPosition": str(old) if is_leg else None,
            "newPosition": str(new) if is_leg else None,
            "oldAverageEntryPrice": _s(e.old_average_entry_price),
            "newAverageEntryPrice": _s(e.new_average_entry_price),
            "fillTime": e.ts_ms,
            "executionUid": e.execution,
            "executionPrice": _s(e.trade_price),
            "executionSize": str(abs(new - old)) if is_leg else None,
            "realizedPnL": _s(cash.realized_pnl) if cash is not None else None,
            "fee": _s(cash.fee) if cash is not None else None,
            "feeCurrency": cash.asset.upper() if cash is not None else None,
            "realizedFunding": _s(e.realized_funding),
            "positionChange": change,
            "updateReason": reason,
            "timestamp": e.ts_ms,
        }
        element = HistoryElement(
            uid=e.booking_uid, timestamp=e.ts_ms, event={"PositionUpdate": update}
        )
        out.append((e.ts_ms, element, change, reason))
    return out


def log_entry(e: d.AccountLogEntry) -> AccountLogEntry:
    """A domain account-log row on the wire (``date`` ISO, ``contract`` lower-case as Kraken)."""
    return AccountLogEntry(
        id=e.id,
        date=iso_ms(e.ts_ms),
        asset=e.asset,
        info=e.info,
        booking_uid=e.booking_uid,
        margin_account=e.margin_account,
        old_balance=e.old_balance,
        new_balance=e.new_balance,
        old_average_entry_price=e.old_average_entry_price,
        new_average_entry_price=e.new_average_entry_price,
        trade_price=e.trade_price,
        mark_price=e.mark_price,
        realized_pnl=e.realized_pnl,
        fee=e.fee,
        execution=e.execution,
        collateral=e.collateral,
        contract=e.contract.lower() if e.contract else None,
        funding_rate=e.funding_rate,
        realized_funding=e.realized_funding,
        liquidation_fee=e.liquidation_fee,
    )


def account_log_handlers(exchange: Exchange) -> dict[str, Callable[[Call], Any]]:
    """Handlers of ``/account-log`` and ``/accountlogcsv``."""

    def account_log(call: Call) -> AccountLog:
        account = account_of(call, exchange)
        p = call.params
        rows = [
            e
            for e in exchange.account_log(account)
            if (p.since is None or e.ts_ms >= p.since)
            and (p.before is None or e.ts_ms < p.before)
            and (p.from_id is None or e.id >= p.from_id)
            and (p.to_id is None or e.id <= p.to_id)
            and (p.info is None or e.info == p.info)
        ]
        if (p.sort or "desc") == "desc":
            rows.reverse()
        rows = rows[: page_count(p.count, DEFAULT_LOG_COUNT, MAX_LOG_COUNT)]
        return AccountLog(account_uid=account_uid(account), logs=[log_entry(e) for e in rows])

    def account_log_csv(call: Call) -> str:
        account = account_of(call, exchange)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for e in reversed(exchange.account_log(account)):
            row = log_entry(e)
            writer.writerow(["" if (v := getattr(row, c)) is None else v for c in CSV_COLUMNS])
        return buf.getvalue()

    return {
        "history_account_log": account_log,
        "history_account_log_csv": account_log_csv,
    }


__all__ = [
    "CSV_COLUMNS",
    "account_log_handlers",
    "log_entry",
    "position_updates",
]
