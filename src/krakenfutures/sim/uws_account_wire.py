"""Account state of the simulated exchange -> the uws ``positions``, ``margin`` and ``ledgers``
data. Pure functions used by :mod:`krakenfutures.sim.uws_account`; numbers go out as JSON
numbers (:func:`~krakenfutures.sim.uws_wire.num`), times as RFC 3339 with microseconds.

Every figure comes from the code the legacy dialect serves, so both dialects show the same
numbers: positions from ``Exchange.positions`` (REST ``/openpositions``), their margin figures
from :func:`~krakenfutures.sim.ws_wire.build_position` (ws ``open_positions``), wallets from
``Exchange.account_state`` through :func:`~krakenfutures.sim.ws_wire.build_flex` and
:func:`~krakenfutures.sim.ws_wire.build_futures_wallets` (REST ``/accounts``, ws ``balances``),
ledger entries from the account log rows (REST ``account-log``, ws ``account_log``).

Our reading where the reference leaves shapes open (§9.8, all [inferred]):

* ``positions``: ``data`` is ``[{"futures": [...], "options": [], "timestamp": ...}]``; a
  position is ``symbol`` (wire spelling), ``side`` ``long``/``short``, ``size`` (signed when
  :attr:`~krakenfutures.core.uws.assumptions.UwsAssumptions.position_size_signed`),
  ``entry_price``, ``mark_price``, ``unrealized_pnl``, ``unrealized_funding``, ``timestamp``
  (last fill); ``with_margin`` adds ``initial_margin``, ``maintenance_margin``,
  ``effective_leverage``, ``return_on_equity`` (the legacy ``open_positions`` names). A closed
  position is ``{"symbol", "size": 0, "timestamp"}`` (documented: ``size: 0``).
* ``margin``: ``multi_collateral`` ``data`` is ``[<flex wallet>]``, ``single_collateral``
  ``data`` one entry per inverse margin account, each with the legacy ``balances`` feed's
  ``flex_futures`` / ``futures`` keys (the reference: "mirrors" those structures).
* ``ledgers``: one entry per account-log row; ``ledger_id`` is the account-log ``id``,
  ``category`` its ``info`` verbatim. A wallet row has ``asset`` (``USD``, ``XBT``...),
  ``wallet_type``/``wallet_id``, ``amount`` (the balance change), ``fee``, ``balance``; a
  position row has only ``symbol`` (``amount`` the size change, ``balance`` the new signed
  size) and the average entry prices before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.sim import domain as d
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.uws_wire import iso_us, num
from krakenfutures.sim.ws_wire import build_flex, build_futures_wallets, build_position

MULTI_COLLATERAL = "multi_collateral"
"""``margin`` message ``type`` of the multi-collateral (flex) wallet."""
SINGLE_COLLATERAL = "single_collateral"
"""``margin`` message ``type`` of the per-coin (inverse) margin accounts."""
_LEDGER_TYPES = {
    "futures trade": ("trade", None),
    "futures liquidation": ("trade", "liquidation"),
    "funding rate change": ("funding", None),
    "transfer": ("transfer", None),
    "cross-exchange transfer": ("transfer", "spotfromfutures"),
}
_WALLET_TYPE = {"flex": "flex", "cash": "spot"}


def _plain(value: Any) -> Any:
    """A legacy wire struct as JSON-ready builtins with decimals as plain JSON numbers."""
    if isinstance(value, msgspec.Struct):
        value = {
            f: getattr(value, f) for f in value.__struct_fields__ if getattr(value, f) is not None
        }
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return num(value)
    return value


def position_entry(
    pos: d.Position,
    spec: InstrumentSpec,
    symbol: str,
    *,
    signed: bool,
    margin: tuple[Decimal, Decimal] | None = None,
) -> dict[str, Any]:
    """One open position (``symbol`` in wire spelling). ``margin``: ``(index_price,
    group_equity)`` to add the ``with_margin`` figures."""
    size = pos.qty if pos.side == "long" or not signed else -pos.qty
    out: dict[str, Any] = {
        "symbol": symbol,
        "side": pos.side,
        "size": num(size),
        "entry_price": num(pos.entry_price),
        "mark_price": num(pos.mark_price),
        "unrealized_pnl": num(pos.unrealized_pnl),
        "unrealized_funding": num(pos.unrealized_funding),
        "timestamp": iso_us(pos.fill_ts_ms),
    }
    if margin is not None:
        legacy = build_position(pos, spec, *margin)
        for name in ("initial_margin", "maintenance_margin", "effective_leverage"):
            value = getattr(legacy, name)
            if value is not None:
                out[name] = num(value)
        if legacy.return_on_equity is not None:
            out["return_on_equity"] = num(legacy.return_on_equity)
    return out


def flat_entry(symbol: str, ts_ms: int) -> dict[str, Any]:
    """A position that is now closed: ``size`` 0 (reference §4.10)."""
    return {"symbol": symbol, "size": num(0), "timestamp": iso_us(ts_ms)}


def positions_data(entries: list[dict[str, Any]], ts_ms: int) -> list[dict[str, Any]]:
    """The ``data`` of a ``positions`` message: futures ``entries`` (no options here)."""
    return [{"futures": entries, "options": [], "timestamp": iso_us(ts_ms)}]


def margin_sections(state: d.AccountState) -> list[tuple[str, list[dict[str, Any]]]]:
    """``(type, data)`` of both ``margin`` sections, from the figures ``/accounts`` serves."""
    flex = _plain(build_flex(state))
    wallets = [_plain(w) for _, w in sorted(build_futures_wallets(state).items())]
    return [(MULTI_COLLATERAL, [flex]), (SINGLE_COLLATERAL, wallets)]


def ledger_entry(e: d.AccountLogEntry, wire_symbol: Callable[[str], str]) -> dict[str, Any]:
    """One ``ledgers`` entry from an account-log row (see the module docstring)."""
    kind, subtype = _LEDGER_TYPES.get(e.info, ("adjustment", None))
    old = e.old_balance if e.old_balance is not None else Decimal(0)
    new = e.new_balance if e.new_balance is not None else old
    out: dict[str, Any] = {
        "ledger_id": str(e.id),
        "ref_id": e.execution or e.booking_uid,
        "timestamp": iso_us(e.ts_ms),
        "type": kind,
        "subtype": subtype,
        "category": e.info,
    }
    position_row = e.contract is not None and e.asset == e.contract.lower()
    if not position_row:
        wallet = e.margin_account
        out["asset"] = e.asset.upper()
        out["wallet_type"] = _WALLET_TYPE.get(wallet, "margin")
        out["wallet_id"] = wallet
    if e.contract is not None:
        out["symbol"] = wire_symbol(e.contract)
    out["amount"] = num(new - old)
    if not position_row:
        out["fee"] = num(e.fee or Decimal(0))
    out["balance"] = num(new)
    for name, value in (
        ("trade_price", e.trade_price),
        ("mark_price", e.mark_price),
        ("old_average_entry_price", e.old_average_entry_price),
        ("new_average_entry_price", e.new_average_entry_price),
        ("realized_pnl", e.realized_pnl),
        ("funding", e.realized_funding),
        ("funding_rate", e.funding_rate),
    ):
        if value is not None:
            out[name] = num(value)
    return {k: v for k, v in out.items() if v is not None}


__all__ = [
    "MULTI_COLLATERAL",
    "SINGLE_COLLATERAL",
    "flat_entry",
    "ledger_entry",
    "margin_sections",
    "position_entry",
    "positions_data",
]
