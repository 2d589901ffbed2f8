"""`kf record` and `kf replay`: market data to Parquet and back.

``kf record --symbols PF_XBTUSD,PF_ETHUSD --feeds book,trade,ticker --out DIR`` records until
Ctrl-C (or ``--seconds N``), flushing every ``--flush-seconds``; the layout is described in
:mod:`krakenfutures.client.recorder`. ``kf replay DIR`` prints the recorded events in order at
the recorded pace times ``--speed`` (``--speed 0``: as fast as possible), one JSON line each with
``--json``, else one short line each.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import json_option, state
from krakenfutures.cli.feedrun import (
    build_feed,
    check_refusal,
    json_line,
    run_until_stopped,
    seconds_option,
)

PUBLIC_RECORD_FEEDS = ("book", "trade", "ticker", "ticker_lite")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@click.command()
@click.option(
    "--symbols", required=True, metavar="S1,S2", help="Comma-separated symbols (PF_XBTUSD,...)."
)
@click.option(
    "--feeds",
    default="book,trade,ticker",
    show_default=True,
    metavar="F1,F2",
    help=f"Comma-separated public feeds: {', '.join(PUBLIC_RECORD_FEEDS)}.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write raw/ and events/ under (created if missing).",
)
@click.option(
    "--flush-seconds",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Write buffered rows at least this often; a crash loses at most this much.",
)
@seconds_option
def record(
    symbols: str, feeds: str, out_dir: Path, flush_seconds: float, seconds: float | None
) -> None:
    """Record public feeds of SYMBOLS to Parquet (raw frames and typed events) until Ctrl-C."""
    from krakenfutures.client.recorder import Recorder
    from krakenfutures.core.types import normalize_symbol

    wanted = [normalize_symbol(s) for s in _csv(symbols)]
    names = _csv(feeds)
    unknown = [f for f in names if f not in PUBLIC_RECORD_FEEDS]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown feed(s) {', '.join(unknown) or '(none given)'}; use "
            f"{', '.join(PUBLIC_RECORD_FEEDS)}",
            param_hint="--feeds",
        )
    if not wanted:
        raise click.BadParameter("give at least one symbol", param_hint="--symbols")
    recorder = Recorder(out_dir, flush_interval_s=flush_seconds)
    feed = build_feed(on_frame=recorder.on_frame)
    for name in names:
        feed.subscribe(name, wanted)

    async def main(stop: asyncio.Event) -> None:
        async def checked() -> Any:
            async for event in feed:
                check_refusal(event)
                yield event

        await recorder.run(_Iter(feed, checked()), stop=stop)

    try:
        run_until_stopped(main, seconds)
    finally:
        recorder.close()
    click.echo(
        f"recorded {recorder.frames_recorded} frames, {recorder.events_recorded} events "
        f"into {out_dir} ({recorder.files_written} files)",
        err=True,
    )


class _Iter:
    """A feed's ``aclose`` with another iterator's events (the recorder closes what it reads)."""

    def __init__(self, feed: Any, events: Any) -> None:
        self._feed = feed
        self._events = events

    def __aiter__(self) -> Any:
        return self._events.__aiter__()

    async def aclose(self) -> None:
        await self._feed.aclose()


@click.command()
@json_option
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--speed",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Replay at this many times the recorded pace; 0 = as fast as possible.",
)
@click.option("--symbols", metavar="S1,S2", help="Only these symbols (and events of none).")
def replay(directory: Path, speed: float, symbols: str | None) -> None:
    """Stream a recording back as the typed events it recorded, in order."""
    from krakenfutures.client.recorder import replay_paced

    as_json = state().json
    wanted = _csv(symbols) if symbols else None

    async def main(stop: asyncio.Event) -> None:
        async for event in replay_paced(directory, speed=speed, symbols=wanted):
            if stop.is_set():
                return
            if as_json:
                json_line(event)
            else:
                render.line(_short(event))

    run_until_stopped(main, None)


def _short(event: Any) -> str:
    from krakenfutures.client.events import kind_of

    kind = kind_of(event)
    symbol = getattr(event, "symbol", "")
    if kind in ("book", "trade"):
        return (
            f"{kind:<14} {symbol} seq {event.seq} {event.side.value} "
            f"{render.dec(event.qty)} @ {render.dec(event.price)}"
        )
    if kind == "book_snapshot":
        return f"{kind:<14} {symbol} seq {event.seq} {len(event.bids)} bids {len(event.asks)} asks"
    return f"{kind:<14} {symbol} {event}".rstrip()


__all__ = ["record", "replay"]
