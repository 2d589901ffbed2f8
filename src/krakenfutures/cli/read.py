"""Read commands of `kf`: market data and trading state; registers the cost and account
commands too (:mod:`krakenfutures.cli.costs`, :mod:`krakenfutures.cli.account`).

Every command prints a table, or with ``--json`` one JSON document (see
:mod:`krakenfutures.cli.render`). Symbols are checked against ``/instruments`` first, so a typo
is a usage error that names the symbols that do exist.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import click

from krakenfutures.cli import render
from krakenfutures.cli.account import balances, fills, orders, positions
from krakenfutures.cli.common import (
    fetch_instrument,
    is_index,
    iso_to_ms,
    json_option,
    now_ms,
    state,
    unknown_symbol_message,
)
from krakenfutures.cli.costs import fees, funding

if TYPE_CHECKING:
    from krakenfutures.cli.main import KfGroup
    from krakenfutures.core.rest.schema_market import Instrument, Ticker


def lot_size(inst: Instrument) -> Decimal | None:
    """The size step implied by ``contractValueTradePrecision`` (4 -> 0.0001, -3 -> 1000)."""
    precision = inst.contract_value_trade_precision
    if precision is None:
        return None
    return Decimal(1).scaleb(-int(precision))


# -------------------------------------------------------------------------------- market data


@click.command()
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also list index rows (in_/rr_).")
def instruments(show_all: bool) -> None:
    """List contracts: tick size, lot size, limits, tradeable and post-only flags."""
    rows = [i for i in state().client().get_instruments() if show_all or not is_index(i.symbol)]
    if state().json:
        render.emit_json(rows)
        return
    render.table(
        "Instruments",
        [
            "symbol",
            "type",
            "pair",
            ("tick", "right"),
            ("lot", "right"),
            ("max position", "right"),
            "tradeable",
            "post-only",
            ("max funding/h", "right"),
            "last trading",
        ],
        [
            (
                i.symbol,
                i.type,
                i.pair,
                i.tick_size,
                lot_size(i),
                i.max_position_size,
                i.tradeable,
                i.post_only,
                render.pct(i.max_relative_funding_rate),
                i.last_trading_time,
            )
            for i in rows
        ],
    )


@click.command()
@json_option
@click.argument("symbols", nargs=-1, metavar="[SYMBOL...]")
def tickers(symbols: tuple[str, ...]) -> None:
    """Show tickers: mark, bid/ask, last, 24h change and volume, funding, flags."""
    from krakenfutures.core.types import normalize_symbol

    rows = state().client().get_tickers()
    if symbols:
        by_symbol = {normalize_symbol(t.symbol): t for t in rows}
        chosen = []
        for symbol in symbols:
            ticker = by_symbol.get(normalize_symbol(symbol))
            if ticker is None:
                raise click.BadParameter(
                    unknown_symbol_message(symbol, [t.symbol for t in rows]), param_hint="SYMBOL"
                )
            chosen.append(ticker)
        rows = chosen
    if state().json:
        render.emit_json(rows)
        return

    def flags(t: Ticker) -> str:
        named = [
            name for name, on in (("suspended", t.suspended), ("post-only", t.post_only)) if on
        ]
        return ", ".join(named)

    render.table(
        "Tickers",
        [
            "symbol",
            ("mark", "right"),
            ("bid", "right"),
            ("ask", "right"),
            ("last", "right"),
            ("24h %", "right"),
            ("vol 24h", "right"),
            ("open interest", "right"),
            ("funding (abs)", "right"),
            "flags",
        ],
        [
            (
                t.symbol,
                t.mark_price,
                t.bid,
                t.ask,
                t.last,
                t.change_24h,
                t.vol_24h,
                t.open_interest,
                t.funding_rate,
                flags(t),
            )
            for t in rows
        ],
    )


@click.command()
@json_option
@click.argument("symbol")
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Price levels per side.",
)
def book(symbol: str, depth: int) -> None:
    """Show the order book of SYMBOL (best levels first)."""
    inst = fetch_instrument(symbol)
    ob = state().client().get_orderbook(symbol=inst.symbol)
    bids, asks = ob.bids[:depth], ob.asks[:depth]
    if state().json:
        render.emit_json({"symbol": inst.symbol, "bids": bids, "asks": asks})
        return
    caption = None
    if bids and asks:
        spread = asks[0][0] - bids[0][0]
        caption = f"spread {render.dec(spread)}"
    rows = []
    for level in range(max(len(bids), len(asks))):
        bid = bids[level] if level < len(bids) else (None, None)
        ask = asks[level] if level < len(asks) else (None, None)
        rows.append((bid[1], bid[0], ask[0], ask[1]))
    render.table(
        f"Order book {inst.symbol}",
        [("bid qty", "right"), ("bid", "right"), ("ask", "right"), ("ask qty", "right")],
        rows,
        caption=caption,
        empty="empty",
    )


@click.command()
@json_option
@click.argument("symbol")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many of the latest trades.",
)
def trades(symbol: str, limit: int) -> None:
    """Show the latest public trades of SYMBOL (side is the taker's)."""
    inst = fetch_instrument(symbol)
    rows = state().client().get_trade_history(symbol=inst.symbol)[:limit]
    if state().json:
        render.emit_json(rows)
        return
    render.table(
        f"Trades {inst.symbol}",
        ["time", "side", ("price", "right"), ("qty", "right"), "type", ("trade id", "right")],
        [(t.time, t.side, t.price, t.qty, t.type, t.trade_id) for t in rows],
    )


# ------------------------------------------------------------------------------------- status


@click.command()
@json_option
@click.argument("symbol", required=False)
def status(symbol: str | None) -> None:
    """Trading state per instrument (open, post_only, suspended, maintenance, unknown) and why.

    Combines /instruments, /tickers, /instruments/status and, when an API key is available,
    /notifications (maintenance windows).
    """
    from krakenfutures.cli.common import resolve_symbol
    from krakenfutures.core.status import (
        MaintenanceNotice,
        StatusFlags,
        derive_all,
        parse_instrument_flags,
        parse_status_flags,
        parse_ticker_flags,
    )
    from krakenfutures.errors import ExchangeError

    st = state()
    client = st.client()
    insts = client.get_instruments()
    ts = now_ms()
    if symbol is not None:
        wanted = [resolve_symbol(insts, symbol).symbol]
    else:
        wanted = [i.symbol for i in insts if not is_index(i.symbol)]
    ticks = client.get_tickers()
    ts_tickers = now_ms()
    notes: list[str] = []
    statuses: dict[str, StatusFlags] = {}
    try:
        reports = client.get_instrument_status()
    except ExchangeError as exc:  # optional input: say so, derive from the rest
        notes.append(f"instrument status not available ({exc})")
    else:
        statuses = parse_status_flags(reports, now_ms())
    notices: list[MaintenanceNotice] = []
    notifications_checked = False
    if st.has_credentials():
        try:
            found = client.get_notifications()
        except ExchangeError as exc:
            notes.append(f"notifications not checked ({exc}); maintenance windows unknown")
        else:
            notifications_checked = True
            ts_notes = now_ms()
            for n in found:
                effective = iso_to_ms(n.effective_time)
                if effective is None:
                    notes.append(f"notification with unreadable time {n.effective_time!r} ignored")
                    continue
                notices.append(
                    MaintenanceNotice(
                        priority=n.priority,
                        type=n.type,
                        effective_time_ms=effective,
                        expected_downtime_minutes=n.expected_downtime_minutes,
                        note=n.note,
                        ts_ms=ts_notes,
                    )
                )
    else:
        notes.append(
            "notifications not checked: no API key (maintenance windows unknown; "
            "set KRAKEN_FUTURES_API_KEY/SECRET or pass --credentials)"
        )
    verdicts = derive_all(
        wanted,
        now_ms=now_ms(),
        instruments=parse_instrument_flags(insts, ts),
        tickers=parse_ticker_flags(ticks, ts_tickers),
        statuses=statuses,
        notices=notices,
    )
    if st.json:
        render.emit_json(
            {
                "verdicts": list(verdicts.values()),
                "notifications_checked": notifications_checked,
                "notes": notes,
            }
        )
        return
    render.table(
        "Trading state",
        ["symbol", "state", "can open", "can post", "why"],
        [
            (v.symbol, v.state, v.can_open, v.can_post, "; ".join(v.reasons) or "all feeds normal")
            for v in verdicts.values()
        ],
        caption="\n".join(notes) or None,
    )


def register(group: KfGroup) -> None:
    """Add the read commands to ``group`` (the `kf` group)."""
    for command in (
        instruments,
        tickers,
        book,
        trades,
        status,
        funding,
        fees,
        balances,
        positions,
        orders,
        fills,
    ):
        group.add_command(command, section="Read")


__all__ = ["book", "instruments", "lot_size", "register", "status", "tickers", "trades"]
