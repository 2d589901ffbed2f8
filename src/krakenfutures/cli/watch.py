"""`kf watch ...`: live WebSocket feeds in the terminal.

``kf watch book SYMBOL`` draws a live ladder, ``trades`` prints trades as they happen,
``ticker SYMBOL...`` a live ticker table; ``orders``, ``fills`` and ``positions`` follow the
account through the private feeds (reconciled with REST after every reconnect). ``--json``
prints one JSON event per line instead (``{"kind": "book", ...}``), ``--seconds N`` stops after
N seconds. Off a terminal the live views print their last state once, when they stop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import json_option, ms_to_iso, state
from krakenfutures.cli.feedrun import (
    build_feed,
    check_refusal,
    iterate_until,
    json_line,
    run_until_stopped,
    seconds_option,
)

REFRESH_S = 0.25  # redraw live views at most 4 times a second

_FEED_STATUS = (
    "reconnected",
    "book_gap_detected",
    "book_resynced",
    "error_message",
    "unknown_message_received",
)


@click.group(name="watch")
def watch() -> None:
    """Live WebSocket feeds: book ladder, trades, tickers, and your orders, fills, positions."""


def _note(event: Any) -> None:
    """Feed status worth a line on a human's screen (reconnects, book resyncs)."""
    from krakenfutures.client.events import kind_of

    if kind_of(event) in _FEED_STATUS:
        click.echo(f"[{kind_of(event)}] {event}", err=True)


class _Live:
    """A rich Live view on a terminal; elsewhere (pipes, tests) the last view printed once."""

    def __init__(self) -> None:
        self.console = render.console()
        self._live: Any = None
        self._last = 0.0
        self._renderable: Any = None

    def __enter__(self) -> _Live:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def due(self) -> bool:
        """Whether enough time passed to redraw."""
        return time.monotonic() - self._last >= REFRESH_S

    def show(self, renderable: Any) -> None:
        self._renderable = renderable
        self._last = time.monotonic()
        if self._live is not None:
            self._live.update(renderable, refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
        elif self._renderable is not None:
            self.console.print(self._renderable)


# -------------------------------------------------------------------------------------- book


def _ladder(feed: Any, symbol: str, depth: int) -> Any:
    from rich.table import Table
    from rich.text import Text

    book = feed.book(symbol)
    bids, asks = book.depth(depth)
    notes = [f"seq {book.seq if book.seq is not None else '-'}"]
    if not book.is_synced:
        notes.append("waiting for snapshot")
    elif book.spread() is not None:
        notes += [f"spread {render.dec(book.spread())}", f"mid {render.dec(book.mid())}"]
    if feed.gap_count or feed.reconnects:
        notes += [f"gaps {feed.gap_count}", f"reconnects {feed.reconnects}"]
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
@seconds_option
@click.argument("symbol")
@click.option("--depth", default=10, show_default=True, type=click.IntRange(1, 500))
def book(symbol: str, depth: int, seconds: float | None) -> None:
    """Live order book ladder of SYMBOL (best DEPTH levels a side)."""
    from krakenfutures.core.types import normalize_symbol

    symbol = normalize_symbol(symbol)
    as_json = state().json
    feed = build_feed()
    feed.subscribe("book", [symbol])

    async def main(stop: asyncio.Event) -> None:
        with _Live() if not as_json else _Nothing() as live:
            async for event in iterate_until(feed, stop):
                check_refusal(event)
                if as_json:
                    json_line(event)
                    continue
                _note(event)
                if live.due():
                    live.show(_ladder(feed, symbol, depth))
            if not as_json:
                live.show(_ladder(feed, symbol, depth))

    run_until_stopped(main, seconds)


class _Nothing:
    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


# ------------------------------------------------------------------------------------ trades


@watch.command()
@json_option
@seconds_option
@click.argument("symbol")
def trades(symbol: str, seconds: float | None) -> None:
    """Print SYMBOL's public trades as they happen (recent ones first, from the snapshot)."""
    from krakenfutures.core.types import normalize_symbol
    from krakenfutures.core.ws.schema_public import Trade, TradeSnapshot

    symbol = normalize_symbol(symbol)
    as_json = state().json
    feed = build_feed(books=False)
    feed.subscribe("trade", [symbol])

    def show(trade: Trade) -> None:
        render.line(
            f"{ms_to_iso(trade.ts_ms)}  {trade.symbol}  {trade.side.value:<4}  "
            f"{render.dec(trade.qty)} @ {render.dec(trade.price)}  {trade.type}"
        )

    async def main(stop: asyncio.Event) -> None:
        async for event in iterate_until(feed, stop):
            check_refusal(event)
            if as_json:
                json_line(event)
            elif isinstance(event, TradeSnapshot):
                for trade in reversed(event.trades):  # the snapshot is newest first
                    show(trade)
            elif isinstance(event, Trade):
                show(event)
            else:
                _note(event)

    run_until_stopped(main, seconds)


# ------------------------------------------------------------------------------------ ticker


def _ticker_table(latest: dict[str, Any]) -> Any:
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=Text("Tickers"), title_justify="left")
    for header in ("symbol", "bid", "ask", "last", "mark", "index", "funding/h", "volume"):
        grid.add_column(header, justify="left" if header == "symbol" else "right")
    for symbol in sorted(latest):
        t = latest[symbol]
        grid.add_row(
            symbol,
            render.dec(t.bid),
            render.dec(t.ask),
            render.dec(getattr(t, "last", None)),
            render.dec(getattr(t, "mark_price", None)),
            render.dec(getattr(t, "index", None)),
            render.pct(getattr(t, "relative_funding_rate", None)),
            render.dec(t.volume),
        )
    return grid


@watch.command()
@json_option
@seconds_option
@click.argument("symbols", nargs=-1, required=True)
def ticker(symbols: tuple[str, ...], seconds: float | None) -> None:
    """Live tickers of SYMBOLS (bid, ask, last, mark, index, funding)."""
    from krakenfutures.core.types import normalize_symbol
    from krakenfutures.core.ws.schema_public import Ticker

    wanted = [normalize_symbol(s) for s in symbols]
    as_json = state().json
    feed = build_feed(books=False)
    feed.subscribe("ticker", wanted)
    latest: dict[str, Any] = {}

    async def main(stop: asyncio.Event) -> None:
        with _Live() if not as_json else _Nothing() as live:
            async for event in iterate_until(feed, stop):
                check_refusal(event)
                if as_json:
                    json_line(event)
                    continue
                if isinstance(event, Ticker):  # also TickerSnapshot
                    latest[event.symbol] = event
                    if live.due():
                        live.show(_ticker_table(latest))
                else:
                    _note(event)
            if not as_json and latest:
                live.show(_ticker_table(latest))

    run_until_stopped(main, seconds)


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


def _watch_account(view: str, seconds: float | None) -> None:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.client.mirrors import AccountMirror

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

    def show_fill(f: Any) -> None:
        fee = f" fee {render.dec(f.fee_paid)} {f.fee_currency}" if f.fee_paid is not None else ""
        render.line(
            f"{ms_to_iso(f.ts_ms)}  {f.symbol}  {f.side.value:<4}  {render.dec(f.qty)} @ "
            f"{render.dec(f.price)}  {f.fill_type}  {f.order_id}{fee}"
        )

    async def main(stop: asyncio.Event) -> None:
        table = _orders_table if view == "orders" else _positions_table
        try:
            with _Live() if not as_json and view != "fills" else _Nothing() as live:
                async for event in mirror.follow(iterate_until(feed, stop), client):
                    check_refusal(event)
                    if as_json:
                        json_line(event)
                        continue
                    _note(event)
                    if view == "fills":
                        for f in new_fills():
                            show_fill(f)
                    elif live.due():
                        live.show(table(mirror))
                if not as_json and view != "fills":
                    live.show(table(mirror))
        finally:
            await client.aclose()

    run_until_stopped(main, seconds)


@watch.command()
@json_option
@seconds_option
def orders(seconds: float | None) -> None:
    """Your open orders, live (private feed ``open_orders``)."""
    _watch_account("orders", seconds)


@watch.command()
@json_option
@seconds_option
def fills(seconds: float | None) -> None:
    """Your fills as they happen (private feed ``fills``)."""
    _watch_account("fills", seconds)


@watch.command()
@json_option
@seconds_option
def positions(seconds: float | None) -> None:
    """Your open positions, live (private feed ``open_positions``)."""
    _watch_account("positions", seconds)


__all__ = ["watch"]
