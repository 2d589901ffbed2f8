"""`kf watch ...`: live WebSocket feeds in the terminal.

``kf watch book SYMBOL`` draws a live ladder, ``trades`` prints trades as they happen,
``ticker SYMBOL...`` a live ticker table; ``orders``, ``fills`` and ``positions`` follow the
account through the private feeds (reconciled with REST after every reconnect). ``--json``
prints one JSON event per line instead (``{"kind": "book", ...}``), ``--seconds N`` stops after
N seconds. Off a terminal the live views print their last state once, when they stop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import dialect, dialect_option, json_option, ms_to_iso, state
from krakenfutures.cli.feedrun import (
    LiveView,
    NoView,
    build_feed,
    check_refusal,
    follow,
    iterate_until,
    json_line,
    note_status,
    run_until_stopped,
    seconds_option,
)


@click.group(name="watch")
@dialect_option
def watch() -> None:
    """Live WebSocket feeds: book ladder, trades, tickers, and your orders, fills, positions.

    ``--dialect unified`` (here or after the subcommand; env KRAKEN_FUTURES_DIALECT) reads the
    Unified WebSocket instead of WebSocket v1 (``orders``, ``fills`` and ``positions`` need a
    Spot key there).
    """


# -------------------------------------------------------------------------------------- book


def _ladder(book: Any, symbol: str, depth: int, gaps: int, reconnects: int) -> Any:
    """The ladder of a local :class:`~krakenfutures.core.book.OrderBook` (either dialect)."""
    from rich.table import Table
    from rich.text import Text

    bids, asks = book.depth(depth)
    notes = [f"seq {book.seq if book.seq is not None else '-'}"]
    if not book.is_synced:
        notes.append("waiting for snapshot")
    elif book.spread() is not None:
        notes += [f"spread {render.dec(book.spread())}", f"mid {render.dec(book.mid())}"]
    if gaps or reconnects:
        notes += [f"gaps {gaps}", f"reconnects {reconnects}"]
    grid = Table(title=Text(symbol), title_justify="left", caption=Text("  ".join(notes)))
    grid.caption_justify = "left"
    grid.add_column("bid qty", justify="right")
    grid.add_column("price", justify="right")
    grid.add_column("ask qty", justify="right")
    for price, qty in reversed(asks):
        grid.add_row("", render.dec(price), Text(render.dec(qty), style="red"))
    for price, qty in bids:
        grid.add_row(Text(render.dec(qty), style="green"), render.dec(price), "")
    return grid


@watch.command()
@json_option
@dialect_option
@seconds_option
@click.argument("symbol")
@click.option("--depth", default=10, show_default=True, type=click.IntRange(1, 500))
def book(symbol: str, depth: int, seconds: float | None) -> None:
    """Live order book ladder of SYMBOL (best DEPTH levels a side)."""
    from krakenfutures.core.types import normalize_symbol

    symbol = normalize_symbol(symbol)
    if dialect() == "unified":
        from krakenfutures.cli import uws_cli

        conn = uws_cli.public_connection()
        conn.subscribe("book", [symbol], depth=uws_cli.book_depth(depth))
        gaps = [0]

        def count_gap(event: Any) -> bool:
            gaps[0] += type(event).__name__ == "ChecksumMismatch"
            return False

        view = lambda: _ladder(conn.book(symbol), symbol, depth, gaps[0], conn.reconnects)  # noqa: E731
        follow(conn, seconds, unified=True, update=count_gap, view=view)
        return
    feed = build_feed()
    feed.subscribe("book", [symbol])
    view = lambda: _ladder(feed.book(symbol), symbol, depth, feed.gap_count, feed.reconnects)  # noqa: E731
    follow(feed, seconds, unified=False, view=view)


# ------------------------------------------------------------------------------------ trades


def _trade_line(ts_ms: int, symbol: str, side: Any, qty: Any, price: Any, kind: str) -> None:
    render.line(
        f"{ms_to_iso(ts_ms)}  {symbol}  {side.value:<4}  "
        f"{render.dec(qty)} @ {render.dec(price)}  {kind}"
    )


@watch.command()
@json_option
@dialect_option
@seconds_option
@click.argument("symbol")
def trades(symbol: str, seconds: float | None) -> None:
    """Print SYMBOL's public trades as they happen (recent ones first, from the snapshot)."""
    from krakenfutures.core.types import normalize_symbol

    symbol = normalize_symbol(symbol)
    if dialect() == "unified":
        from krakenfutures.cli import uws_cli

        conn = uws_cli.public_connection()
        conn.subscribe("trade", [symbol])

        def show_uws(event: Any) -> bool:
            ticks = uws_cli.trade_ticks(event)
            for t in ticks:
                _trade_line(t.ts_ms, t.symbol, t.side, t.qty, t.price, "fill")
            return bool(ticks)

        follow(conn, seconds, unified=True, update=show_uws)
        return
    from krakenfutures.core.ws.schema_public import Trade, TradeSnapshot

    feed = build_feed(books=False)
    feed.subscribe("trade", [symbol])

    def show(event: Any) -> bool:
        shown = list(reversed(event.trades)) if isinstance(event, TradeSnapshot) else [event]
        if not isinstance(event, Trade | TradeSnapshot):
            return False
        for t in shown:  # the snapshot is newest first
            _trade_line(t.ts_ms, t.symbol, t.side, t.qty, t.price, t.type)
        return True

    follow(feed, seconds, unified=False, update=show)


# ------------------------------------------------------------------------------------ ticker


def _ticker_table(latest: dict[str, Any]) -> Any:
    """Tickers by symbol: legacy ``Ticker`` rows or uws ``ticker`` data (``index_price``)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=Text("Tickers"), title_justify="left")
    for header in ("symbol", "bid", "ask", "last", "mark", "index", "funding/h", "volume"):
        grid.add_column(header, justify="left" if header == "symbol" else "right")
    for symbol in sorted(latest):
        t = latest[symbol]
        index = getattr(t, "index", None)
        grid.add_row(
            symbol,
            render.dec(t.bid),
            render.dec(t.ask),
            render.dec(getattr(t, "last", None)),
            render.dec(getattr(t, "mark_price", None)),
            render.dec(index if index is not None else getattr(t, "index_price", None)),
            render.pct(getattr(t, "relative_funding_rate", None)),
            render.dec(t.volume),
        )
    return grid


@watch.command()
@json_option
@dialect_option
@seconds_option
@click.argument("symbols", nargs=-1, required=True)
def ticker(symbols: tuple[str, ...], seconds: float | None) -> None:
    """Live tickers of SYMBOLS (bid, ask, last, mark, index, funding)."""
    from krakenfutures.core.types import normalize_symbol

    wanted = [normalize_symbol(s) for s in symbols]
    latest: dict[str, Any] = {}
    source: Any
    if dialect() == "unified":
        from krakenfutures.cli import uws_cli

        source = uws_cli.public_connection()

        def update(event: Any) -> bool:
            rows = uws_cli.channel_rows(event)
            latest.update(rows)
            return bool(rows)
    else:
        from krakenfutures.core.ws.schema_public import Ticker

        source = build_feed(books=False)

        def update(event: Any) -> bool:
            if isinstance(event, Ticker):  # also TickerSnapshot
                latest[event.symbol] = event
                return True
            return False

    source.subscribe("ticker", wanted)
    view = lambda: _ticker_table(latest) if latest else None  # noqa: E731
    follow(source, seconds, unified=dialect() == "unified", update=update, view=view)


# --------------------------------------------------------------------------------- private


def _orders_table(mirror: Any) -> Any:
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=Text(f"Open orders ({len(mirror.orders)})"), title_justify="left")
    for header in ("order_id", "symbol", "side", "type", "qty", "filled", "limit", "stop"):
        grid.add_column(
            header, justify="right" if header in ("qty", "filled", "limit", "stop") else "left"
        )
    for o in sorted(mirror.orders.values(), key=lambda o: (o.symbol, o.order_id)):
        grid.add_row(
            o.order_id,
            o.symbol,
            o.side.value,
            o.type,
            render.dec(o.qty),
            render.dec(o.filled),
            render.dec(o.limit_price),
            render.dec(o.stop_price),
        )
    return grid


def _positions_table(mirror: Any) -> Any:
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=Text(f"Positions ({len(mirror.positions)})"), title_justify="left")
    for header in ("symbol", "qty", "entry price"):
        grid.add_column(header, justify="left" if header == "symbol" else "right")
    for p in sorted(mirror.positions.values(), key=lambda p: p.symbol):
        grid.add_row(p.symbol, render.dec(p.qty), render.dec(p.entry_price))
    return grid


def _fill_line(f: Any) -> None:
    """One fill (a ``MirrorFill``) as a line."""
    fee = f" fee {render.dec(f.fee_paid)} {f.fee_currency}" if f.fee_paid is not None else ""
    render.line(
        f"{ms_to_iso(f.ts_ms)}  {f.symbol}  {f.side.value:<4}  {render.dec(f.qty)} @ "
        f"{render.dec(f.price)}  {f.fill_type}  {f.order_id}{fee}"
    )


def _watch_account(view: str, seconds: float | None) -> None:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.client.mirrors import AccountMirror

    if dialect() == "unified":
        from krakenfutures.cli import uws_watch

        if view == "positions":
            uws_watch.watch_positions(seconds, table=_positions_table)
            return
        uws_watch.watch_account(view, seconds, table=_orders_table, fill_line=_fill_line)
        return
    as_json = state().json
    feed = build_feed(private=True, books=False)
    names = {"orders": ("open_orders",), "fills": ("fills",), "positions": ("open_positions",)}
    for name in names[view]:
        feed.subscribe(name)
    mirror = AccountMirror()
    creds = feed.credentials
    assert creds is not None
    client = AsyncClient(creds.api_key, creds.secret, base_url=feed.origin)
    seen_fills: set[str] = set()

    def new_fills() -> list[Any]:
        out = [f for f in mirror.fill_list() if f.fill_id not in seen_fills]
        seen_fills.update(f.fill_id for f in out)
        return out

    async def main(stop: asyncio.Event) -> None:
        table = _orders_table if view == "orders" else _positions_table
        try:
            with LiveView() if not as_json and view != "fills" else NoView() as live:
                async for event in mirror.follow(iterate_until(feed, stop), client):
                    check_refusal(event)
                    if as_json:
                        json_line(event)
                        continue
                    note_status(event)
                    if view == "fills":
                        for f in new_fills():
                            _fill_line(f)
                    elif live.due():
                        live.show(table(mirror))
                if not as_json and view != "fills":
                    live.show(table(mirror))
        finally:
            await client.aclose()

    run_until_stopped(main, seconds)


@watch.command()
@json_option
@dialect_option
@seconds_option
def orders(seconds: float | None) -> None:
    """Your open orders, live (private feed ``open_orders``; with ``--dialect unified`` the
    uws ``executions`` channel, Spot key)."""
    _watch_account("orders", seconds)


@watch.command()
@json_option
@dialect_option
@seconds_option
def fills(seconds: float | None) -> None:
    """Your fills as they happen (private feed ``fills``; with ``--dialect unified`` the uws
    ``executions`` channel, Spot key, recent fills first)."""
    _watch_account("fills", seconds)


@watch.command()
@json_option
@dialect_option
@seconds_option
def positions(seconds: float | None) -> None:
    """Your open positions, live (private feed ``open_positions``; with ``--dialect unified``
    the uws ``positions`` channel, Spot key)."""
    _watch_account("positions", seconds)


__all__ = ["watch"]
