"""Account commands of `kf` (need an API key): balances, positions, open orders, fills."""

from __future__ import annotations

from decimal import Decimal

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import json_option, settlement_currency, state

# ------------------------------------------------------------------------------------ account


@click.command()
@json_option
def balances() -> None:
    """Wallet balances: cash, the multi-collateral flex wallet, single-collateral margin wallets."""
    from krakenfutures.core.rest.schema_account import CashAccount, FlexAccount

    accounts = state().client(private=True).get_accounts()
    if state().json:
        render.emit_json(accounts)
        return
    if not accounts:
        render.line("no accounts")
    for name, acct in accounts.items():
        if isinstance(acct, CashAccount):
            render.table(
                f"{name} (cash)", ["currency", ("balance", "right")], sorted(acct.balances.items())
            )
        elif isinstance(acct, FlexAccount):
            render.table(
                f"{name} (multi-collateral)",
                [
                    "currency",
                    ("quantity", "right"),
                    ("value USD", "right"),
                    ("collateral USD", "right"),
                    ("available", "right"),
                ],
                [
                    (cur, c.quantity, c.value, c.collateral, c.available)
                    for cur, c in sorted(acct.currencies.items())
                ],
            )
            render.pairs(
                None,
                [
                    ("portfolio value", acct.portfolio_value),
                    ("margin equity", acct.margin_equity),
                    ("available margin", acct.available_margin),
                    ("initial margin (with orders)", acct.initial_margin_with_orders),
                    ("maintenance margin", acct.maintenance_margin),
                    ("unrealised PnL", acct.pnl),
                    ("unrealised funding", acct.unrealized_funding),
                ],
            )
        else:
            aux, req = acct.auxiliary, acct.margin_requirements
            render.pairs(
                f"{name} (margin, {acct.currency})",
                [
                    *sorted(acct.balances.items()),
                    ("portfolio value", aux.pv),
                    ("available funds", aux.af),
                    ("unrealised PnL", aux.pnl),
                    ("initial margin", req.im),
                    ("maintenance margin", req.mm),
                ],
            )


@click.command()
@json_option
def positions() -> None:
    """Open positions with entry price, mark price and unrealised PnL."""
    from krakenfutures.core.money import unrealized_pnl
    from krakenfutures.core.types import contract_kind, normalize_symbol

    client = state().client(private=True)
    rows = client.get_open_positions()
    marks: dict[str, Decimal] = {}
    if rows:
        for t in client.get_tickers():
            if t.mark_price is not None:
                marks[normalize_symbol(t.symbol)] = t.mark_price
    out = []
    for p in rows:
        mark = marks.get(normalize_symbol(p.symbol))
        signed = p.qty if p.side == "long" else -p.qty
        upnl = None
        if mark is not None and mark > 0 and p.price > 0:
            upnl = render.approx(unrealized_pnl(contract_kind(p.symbol), signed, p.price, mark))
        out.append((p, mark, upnl))
    if state().json:
        render.emit_json(
            [
                {
                    **render.to_plain(p),
                    "mark_price": render.to_plain(mark),
                    "unrealized_pnl": render.to_plain(upnl),
                    "pnl_unit": settlement_currency(None, p.symbol),
                }
                for p, mark, upnl in out
            ]
        )
        return
    render.table(
        "Open positions",
        [
            "symbol",
            "side",
            ("qty", "right"),
            ("entry", "right"),
            ("mark", "right"),
            ("unrealised PnL", "right"),
            ("unrealised funding", "right"),
            "fill time",
        ],
        [
            (
                p.symbol,
                p.side,
                p.qty,
                p.price,
                mark,
                f"{render.dec(upnl)} {settlement_currency(None, p.symbol)}"
                if upnl is not None
                else None,
                p.unrealized_funding,
                p.fill_time,
            )
            for p, mark, upnl in out
        ],
    )


@click.command()
@json_option
def orders() -> None:
    """Open orders (untouched or partially filled), including stops and take-profits."""
    rows = state().client(private=True).get_open_orders()
    if state().json:
        render.emit_json(rows)
        return
    render.table(
        "Open orders",
        [
            "order id",
            "cli ord id",
            "symbol",
            "side",
            "type",
            ("limit", "right"),
            ("stop", "right"),
            ("unfilled", "right"),
            ("filled", "right"),
            "status",
            "reduce-only",
            "received",
        ],
        [
            (
                o.order_id,
                o.cli_ord_id,
                o.symbol,
                o.side,
                o.order_type,
                o.limit_price,
                o.stop_price,
                o.unfilled_size,
                o.filled_size,
                o.status,
                o.reduce_only,
                o.received_time,
            )
            for o in rows
        ],
    )


@click.command()
@json_option
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show only the latest N.")
def fills(limit: int | None) -> None:
    """Your latest fills (Kraken returns the last 100; REST fills carry no fee)."""
    rows = state().client(private=True).get_fills()
    if limit is not None:
        rows = rows[:limit]
    if state().json:
        render.emit_json(rows)
        return
    render.table(
        "Fills",
        [
            "time",
            "symbol",
            "side",
            ("qty", "right"),
            ("price", "right"),
            "type",
            "order id",
            "cli ord id",
            "fill id",
        ],
        [
            (
                f.fill_time,
                f.symbol,
                f.side,
                f.qty,
                f.price,
                f.fill_type,
                f.order_id,
                f.cli_ord_id,
                f.fill_id,
            )
            for f in rows
        ],
    )


__all__ = ["balances", "fills", "orders", "positions"]
