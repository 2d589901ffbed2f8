"""Domain values of the simulated exchange -> Unified WebSocket (Spot-v2 format) messages.

Pure functions used by :mod:`krakenfutures.sim.uws`. Numbers go out as JSON numbers (as the
official SDK sends and receives them, reference §3.1), printed in plain notation; book levels
are printed with the instrument's precision so their text is what the checksum hashes. Times
are RFC 3339 with microseconds (``2026-01-01T00:00:00.000000Z``).

Our reading where the reference leaves shapes open (§9), all marked [inferred] there:

* ``instrument``: ``data = {"assets": [], "pairs": [...]}`` with the Spot v2 pair fields;
  ``price_increment`` is the tick, ``qty_increment``/``qty_min`` the lot; ``status`` is
  ``online``/``post_only``/``maintenance`` (suspended too)/``cancel_only`` (unknown state).
* ``ticker``: the Spot v2 fields plus ``mark_price``, ``index_price``, ``open_interest``,
  ``funding_rate`` (absolute, per contract per hour) and ``relative_funding_rate``.
* ``trade``: ``trade_id`` is the engine's per-symbol trade sequence; ``side`` the taker's;
  ``ord_type`` ``limit`` (``liquidation`` for liquidations).
* ``executions``: order fields as Spot v2 (``order_qty`` total, ``cum_qty`` filled,
  ``order_type`` ``limit``/``market``/``stop-loss[-limit]``/``take-profit[-limit]``,
  ``time_in_force`` ``gtc``/``ioc``/``fok``, ``triggers`` for trigger orders); ``reason`` is the
  legacy WS reason text (``cancelled_by_user``...). Trade events carry ``exec_id`` (the fill
  id), ``last_qty``, ``last_price``, ``liquidity_ind`` ``m``/``t``, ``cost`` (USD notional) and
  ``fees: [{"asset", "qty"}]``.
* ``balances``: one entry per currency with ``wallets`` (``type`` ``spot`` = cash, ``flex`` =
  multi-collateral, ``margin`` = an inverse contract's wallet; ``id`` the wallet name);
  updates are ledger-like entries built from account-log rows of currencies.
* ``status``: ``upcoming_maintenance`` lists the exchange's maintenance notices with the first
  key of each :data:`~krakenfutures.core.uws.assumptions.MAINTENANCE_KEYS` row; ``emergency``
  is always empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.money import notional_usd
from krakenfutures.core.timefmt import iso_ms
from krakenfutures.core.types import TradingState, TriggerSignal
from krakenfutures.core.uws.assumptions import MAINTENANCE_KEYS
from krakenfutures.sim import domain as d
from krakenfutures.sim.instruments import InstrumentSpec

API_VERSION = "v2"
VERSION = "2.0.0"
_encoder = msgspec.json.Encoder()
_TWELVE = Decimal("1e-12")
_TYPES = {
    "lmt": ("limit", "gtc"),
    "post": ("limit", "gtc"),
    "ioc": ("limit", "ioc"),
    "fok": ("limit", "fok"),
    "mkt": ("market", "ioc"),
    "liquidation": ("market", "ioc"),
}
_REFERENCE = {TriggerSignal.LAST: "last", TriggerSignal.INDEX: "index", TriggerSignal.MARK: "mark"}
_STATE = {
    TradingState.OPEN: "online",
    TradingState.POST_ONLY: "post_only",
    TradingState.SUSPENDED: "maintenance",
    TradingState.MAINTENANCE: "maintenance",
}
_WALLET_TYPE = {"flex": "flex", "cash": "spot"}


def encode(message: Any) -> bytes:
    """JSON bytes of a message built here (numbers already wrapped by :func:`num`)."""
    return _encoder.encode(message)


def iso_us(ts_ms: int) -> str:
    """RFC 3339 with microseconds, as uws stamps ``time_in``, ``timestamp``..."""
    return f"{iso_ms(ts_ms)[:-1]}000Z"


def num(value: Decimal | int | None) -> msgspec.Raw | None:
    """A JSON number in plain notation (no exponent), at most 12 decimals."""
    if value is None:
        return None
    if isinstance(value, int):
        return msgspec.Raw(str(value).encode())
    if value.as_tuple().exponent < -12:  # type: ignore[operator]
        value = value.quantize(_TWELVE)
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return msgspec.Raw((text if text not in ("", "-0") else "0").encode())


def price_decimals(spec: InstrumentSpec) -> int:
    """Decimals of the tick (``price_precision``): 0.5 -> 1, 1 -> 0, 10 -> 0."""
    return max(0, -spec.tick_size.normalize().as_tuple().exponent)  # type: ignore[operator]


def qty_decimals(spec: InstrumentSpec) -> int:
    """Decimals of the lot (``qty_precision``)."""
    return max(0, spec.size_precision)


def reply(
    method: str | None,
    req_id: Any,
    time_in: str,
    now_ms: int,
    *,
    result: Any = None,
    error: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The response envelope: ``method``, ``result`` or ``error``, ``success``, ``req_id``
    (only when the request had one), ``time_in``, ``time_out`` (reference §3.2). ``method``
    ``None`` (a frame that did not parse) leaves the field out."""
    out: dict[str, Any] = {} if method is None else {"method": method}
    if error is None:
        if result is not None:
            out["result"] = result
        out["success"] = True
    else:
        out["error"] = error
        out["success"] = False
    out.update(extra)
    if req_id is not None:
        out["req_id"] = req_id
    out["time_in"] = time_in
    out["time_out"] = iso_us(now_ms)
    return out


# ------------------------------------------------------------------------------- public data


def instrument_row(spec: InstrumentSpec, state: TradingState, symbol: str) -> dict[str, Any]:
    """One ``pairs`` entry of the ``instrument`` channel (``symbol`` in wire spelling)."""
    return {
        "symbol": symbol,
        "base": spec.base,
        "quote": spec.quote,
        "status": _STATE.get(state, "cancel_only"),
        "marginable": True,
        "qty_precision": qty_decimals(spec),
        "qty_increment": num(spec.lot_size),
        "qty_min": num(spec.lot_size),
        "price_precision": price_decimals(spec),
        "price_increment": num(spec.tick_size),
        "contract_size": num(spec.contract_size),
    }


def ticker_row(t: d.Ticker, symbol: str) -> dict[str, Any]:
    """One ``ticker`` entry (Spot v2 fields + derivatives extras)."""
    change_pct = None
    if t.change24h is not None and t.open24h:
        change_pct = (t.change24h / t.open24h * 100).quantize(Decimal("0.01"))
    row = {
        "symbol": symbol,
        "bid": num(t.bid),
        "bid_qty": num(t.bid_size),
        "ask": num(t.ask),
        "ask_qty": num(t.ask_size),
        "last": num(t.last),
        "volume": num(t.vol24h),
        "low": num(t.low24h),
        "high": num(t.high24h),
        "change": num(t.change24h),
        "change_pct": num(change_pct),
        "mark_price": num(t.mark_price),
        "index_price": num(t.index_price),
        "open_interest": num(t.open_interest),
        "funding_rate": num(t.funding_rate),
        "relative_funding_rate": num(t.relative_funding_rate),
    }
    return {k: v for k, v in row.items() if v is not None}


def trade_row(trade: d.Trade, symbol: str) -> dict[str, Any]:
    """One ``trade`` entry."""
    return {
        "symbol": symbol,
        "side": trade.side.value,
        "price": num(trade.price),
        "qty": num(trade.qty),
        "ord_type": "liquidation" if trade.type == "liquidation" else "limit",
        "trade_id": trade.seq,
        "timestamp": iso_us(trade.ts_ms),
    }


def status_row(system: str, connection_id: int, notes: Sequence[d.Notification]) -> dict[str, Any]:
    """The single ``status`` data entry."""
    keys = {name: candidates[0] for name, candidates in MAINTENANCE_KEYS.items()}
    upcoming = [
        {
            keys["stage"]: "announced",
            keys["services"]: ["futures_ws", "futures_rest", "futures_trading"],
            keys["action"]: "continue",
            keys["start"]: iso_us(n.effective_ts_ms),
            keys["message"]: n.note,
        }
        for n in notes
        if n.type == "maintenance"
    ]
    return {
        "api_version": API_VERSION,
        "connection_id": connection_id,
        "system": system,
        "version": VERSION,
        "upcoming_maintenance": upcoming,
        "emergency": [],
    }


def channel(name: str, kind: str, data: Any, **extra: Any) -> dict[str, Any]:
    """A data message ``{"channel", "type", "data", ...}``."""
    return {"channel": name, "type": kind, "data": data, **extra}


# ------------------------------------------------------------------------------ private data


def order_kind(legacy_type: str, has_limit: bool) -> tuple[str, str]:
    """``(order_type, time_in_force)`` on uws for an engine order type."""
    if legacy_type == "stp":
        return ("stop-loss-limit" if has_limit else "stop-loss"), "gtc"
    if legacy_type == "take_profit":
        return ("take-profit-limit" if has_limit else "take-profit"), "gtc"
    return _TYPES.get(legacy_type, ("limit", "gtc"))


def execution(
    view: d.OrderView,
    exec_type: str,
    order_status: str,
    symbol: str,
    *,
    avg_price: Decimal | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """An ``executions`` entry describing an order (``new``, ``amended``, ``canceled``...)."""
    order_type, tif = order_kind(view.type, view.limit_price is not None)
    out: dict[str, Any] = {
        "exec_type": exec_type,
        "order_status": order_status,
        "order_id": view.order_id,
        "symbol": symbol,
        "side": view.side.value,
        "order_type": order_type,
        "order_qty": num(view.qty),
        "cum_qty": num(view.filled),
        "time_in_force": tif,
        "post_only": view.type == "post",
        "reduce_only": view.reduce_only,
        "timestamp": iso_us(view.last_update_ts_ms),
    }
    if view.cli_ord_id is not None:
        out["cl_ord_id"] = view.cli_ord_id
    if view.limit_price is not None and order_type != "market":
        out["limit_price"] = num(view.limit_price)
    if view.stop_price is not None:
        out["triggers"] = {
            "reference": _REFERENCE.get(view.trigger_signal or TriggerSignal.LAST, "last"),
            "price": num(view.stop_price),
            "price_type": "static",
        }
    if avg_price is not None:
        out["avg_price"] = num(avg_price)
    if reason is not None:
        out["reason"] = reason
    if exec_type == "amended":
        out["amended"] = True
    return out


def trade_execution(
    fill: d.Fill,
    spec: InstrumentSpec,
    symbol: str,
    cum_qty: Decimal | None,
    avg_price: Decimal | None,
) -> dict[str, Any]:
    """An ``executions`` trade event for one of the account's fills (``cum_qty`` ``None``:
    unknown, as for old fills in a snapshot; then ``order_qty``/``cum_qty`` are left out)."""
    order_type, _ = order_kind(fill.order_type, True)
    out: dict[str, Any] = {
        "exec_type": "trade",
        "order_status": "filled" if fill.remaining_qty == 0 else "partially_filled",
        "order_id": fill.order_id,
        "exec_id": fill.fill_id,
        "symbol": symbol,
        "side": fill.side.value,
        "order_type": order_type,
        "last_qty": num(fill.qty),
        "last_price": num(fill.price),
        "cost": num(notional_usd(spec.kind, fill.qty, fill.price)),
        "liquidity_ind": "m" if fill.fill_type == "maker" else "t",
        "fees": [{"asset": fill.fee_currency.upper(), "qty": num(fill.fee)}],
        "timestamp": iso_us(fill.ts_ms),
    }
    if fill.cli_ord_id is not None:
        out["cl_ord_id"] = fill.cli_ord_id
    if cum_qty is not None:
        out["order_qty"] = num(cum_qty + fill.remaining_qty)
        out["cum_qty"] = num(cum_qty)
    if avg_price is not None:
        out["avg_price"] = num(avg_price)
    return out


def balance_rows(state: d.AccountState) -> list[dict[str, Any]]:
    """The ``balances`` snapshot: per currency, the total and each wallet holding it."""
    wallets: dict[str, list[dict[str, Any]]] = {}

    def add(ccy: str, kind: str, wallet_id: str, qty: Decimal) -> None:
        wallets.setdefault(ccy.upper(), []).append({"type": kind, "id": wallet_id, "balance": qty})

    for ccy, qty in state.cash.items():
        add(ccy, "spot", "cash", qty)
    for ccy, c in state.flex.currencies.items():
        add(ccy, "flex", "flex", c.quantity)
    for name, m in state.margin_accounts.items():
        add(m.currency, "margin", name, m.balances.get(m.currency, Decimal(0)))
    rows = []
    for asset in sorted(wallets):
        entries = wallets[asset]
        total = sum((w["balance"] for w in entries), Decimal(0))
        for w in entries:
            w["balance"] = num(w["balance"])
        rows.append(
            {"asset": asset, "asset_class": "currency", "balance": num(total), "wallets": entries}
        )
    return rows


def balance_update(entry: d.AccountLogEntry) -> dict[str, Any] | None:
    """A ``balances`` update from an account-log row of a currency; ``None`` for position rows
    (contract symbols) and rows without balances."""
    if entry.old_balance is None or entry.new_balance is None or "_" in entry.asset:
        return None
    wallet = entry.margin_account
    return {
        "ledger_id": str(entry.id),
        "ref_id": entry.execution or entry.booking_uid,
        "timestamp": iso_us(entry.ts_ms),
        "type": "trade" if entry.execution else "adjustment",
        "category": entry.info,
        "asset": entry.asset.upper(),
        "asset_class": "currency",
        "wallet_type": _WALLET_TYPE.get(wallet, "margin"),
        "wallet_id": wallet,
        "amount": num(entry.new_balance - entry.old_balance),
        "fee": num(entry.fee or Decimal(0)),
        "balance": num(entry.new_balance),
    }


__all__ = [
    "API_VERSION",
    "VERSION",
    "balance_rows",
    "balance_update",
    "channel",
    "encode",
    "execution",
    "instrument_row",
    "iso_us",
    "num",
    "order_kind",
    "price_decimals",
    "qty_decimals",
    "reply",
    "status_row",
    "ticker_row",
    "trade_execution",
    "trade_row",
]
