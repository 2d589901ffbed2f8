"""`kf watch orders|fills|positions --dialect unified`: the account over the Unified WebSocket.

One private uws connection (Spot key, see :mod:`~krakenfutures.cli.uws_cli`), read by its
:class:`~krakenfutures.runtime.unified_market.PrivateStream`, whose ``executions`` channel
mirrors open orders and fills and whose ``positions`` channel mirrors positions. The domain records it passes on are mapped into the shapes the
legacy views print (:class:`~krakenfutures.client.mirrors.MirrorOrder`,
:class:`~krakenfutures.client.mirrors.MirrorFill`), so the tables and lines look the same; with
``--json`` the lines are ``open_orders_snapshot`` (``orders``) once the executions snapshot is
in (and again after a reconnect), ``open_orders`` (``order``, ``is_cancel``, ``reason``) per
change and ``fills`` (``fills``) per batch of new fills, with the mirror's field names.

``kf watch positions`` reads the same stream's ``positions`` channel (snapshot, then one update
per changed position, ``size`` 0 when flat) into the legacy view's
:class:`~krakenfutures.client.mirrors.MirrorPosition` (``symbol``, signed ``qty``,
``entry_price``): the same table, and with ``--json`` an ``open_positions`` line (``positions``,
every open position, flat ones left out) once the snapshot is in, again after every change and
after a reconnect. A server that refuses the channel is an error (exit 5), not an empty view.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from krakenfutures.cli.common import state

_FEED_TYPES = {"stp": "stop", "take_profit": "take_profit", "trailing_stop": "trailing_stop"}


def mirror_order(snap: Any) -> Any:
    """An :class:`~krakenfutures.oms.venue.OrderSnapshot` as the legacy views' ``MirrorOrder``
    (``qty`` what is still open, ``type`` in the v1 feed's words)."""
    from krakenfutures.client.mirrors import MirrorOrder

    kind = snap.order_type.value
    return MirrorOrder(
        order_id=snap.order_id,
        symbol=snap.symbol,
        side=snap.side,
        type="market" if kind == "mkt" else _FEED_TYPES.get(kind, "limit"),
        qty=max(snap.qty - snap.filled_qty, 0),
        filled=snap.filled_qty,
        limit_price=snap.limit_price,
        stop_price=snap.stop_price,
        reduce_only=snap.reduce_only,
        cli_ord_id=snap.cli_ord_id,
        last_update_ts_ms=snap.ts_ms or None,
    )


def mirror_fill(fill: Any) -> Any:
    """A :class:`~krakenfutures.oms.venue.FillRecord` as the legacy views' ``MirrorFill``."""
    from krakenfutures.client.mirrors import MirrorFill

    return MirrorFill(
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        symbol=fill.symbol,
        side=fill.side,
        qty=fill.qty,
        price=fill.price,
        ts_ms=fill.ts_ms,
        fill_type="maker" if fill.maker else "taker",
        cli_ord_id=fill.cli_ord_id,
        fee_paid=fill.fee,
        fee_currency=fill.fee_currency,
    )


def _echo(kind: str, **fields: Any) -> None:
    import click
    import msgspec

    from krakenfutures.cli.render import to_plain

    doc = {"kind": kind, **{k: to_plain(v) for k, v in fields.items()}}
    click.echo(msgspec.json.encode(doc).decode())


async def _batches(queue: asyncio.Queue[object], stop: asyncio.Event) -> AsyncIterator[list[Any]]:
    """What the stream passed on, a batch at a time, until ``stop`` is set (a failure of the
    reader is raised)."""
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            got = asyncio.ensure_future(queue.get())
            await asyncio.wait((got, stopped), return_when=asyncio.FIRST_COMPLETED)
            if not got.done():
                got.cancel()
                return
            batch = [got.result()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            for item in batch:
                if isinstance(item, BaseException):
                    raise item
            yield batch
    finally:
        stopped.cancel()


_View = Callable[[asyncio.Queue[object], asyncio.Event], Awaitable[None]]


def _private_stream() -> tuple[Any, Callable[[_View, float | None], None]]:
    """One private uws connection (reconnecting) and its
    :class:`~krakenfutures.runtime.unified_market.PrivateStream`, with ``follow(view, seconds)``:
    run ``view(queue, stop)`` until ``--seconds`` or Ctrl-C, ``queue`` getting what the stream
    passes on after its snapshots are in (awaited up to ``--timeout``), then close everything.

    Raises:
        CredentialsError: no Spot key (exit 3).
    """
    from krakenfutures.cli import uws_cli
    from krakenfutures.cli.feedrun import run_until_stopped
    from krakenfutures.runtime.unified_market import private_stream

    conn, spot = uws_cli.private_connection(reconnect=True)
    timeout_s = state().timeout_s or 10.0
    stream = private_stream(conn)

    def follow(view: _View, seconds: float | None) -> None:
        async def main(stop: asyncio.Event) -> None:
            queue = stream.listen()
            try:
                await stream.barrier(timeout_s)
                while not queue.empty():  # already in the mirror the view reads first
                    queue.get_nowait()
                await view(queue, stop)
            finally:
                stream.unlisten(queue)
                await conn.aclose()
                await spot.aclose()

        run_until_stopped(main, seconds)

    return stream, follow


def watch_account(
    view: str,
    seconds: float | None,
    *,
    table: Callable[[Any], Any],
    fill_line: Callable[[Any], None],
) -> None:
    """Follow ``view`` (``orders`` or ``fills``) over uws until ``--seconds`` or Ctrl-C;
    ``table(mirror)`` draws the orders (``mirror.orders`` by id), ``fill_line`` prints a fill.

    Raises:
        CredentialsError: no Spot key (exit 3). TimeoutError_: the executions snapshot did not
        come within ``--timeout`` (exit 5).
    """
    from krakenfutures.cli.feedrun import LiveView, NoView
    from krakenfutures.core.events import FeedReconnected
    from krakenfutures.oms.venue import FillRecord, OrderSnapshot

    as_json = state().json
    stream, follow = _private_stream()
    seen: set[str] = set()

    def orders_now() -> Any:
        resting = {s.order_id: mirror_order(s) for s in stream.resting()}
        return SimpleNamespace(orders=resting)

    def new_fills() -> list[Any]:
        fresh = [f for f in stream.fills.values() if f.fill_id not in seen]
        seen.update(f.fill_id for f in fresh)
        return [mirror_fill(f) for f in sorted(fresh, key=lambda f: (f.ts_ms, f.fill_id))]

    def show_fills(fills: list[Any]) -> None:
        if as_json and fills:
            _echo("fills", fills=fills)
        elif not as_json:
            for f in fills:
                fill_line(f)

    def show_snapshot() -> None:
        if as_json and view == "orders":
            _echo("open_orders_snapshot", orders=sorted(orders_now().orders.values(), key=_key))

    async def main(queue: asyncio.Queue[object], stop: asyncio.Event) -> None:
        show_snapshot()
        resync, drawn = False, view == "orders" and not as_json
        with LiveView() if drawn else NoView() as live:
            if view == "fills":
                show_fills(new_fills())
            elif drawn:
                live.show(table(orders_now()))
            async for batch in _batches(queue, stop):
                for record in batch:
                    if isinstance(record, FeedReconnected):
                        resync = True
                        _note(as_json, record)
                    elif isinstance(record, OrderSnapshot) and as_json and view == "orders":
                        _echo(
                            "open_orders",
                            order=mirror_order(record),
                            is_cancel=record.state.value not in ("open", "partially_filled"),
                            reason=record.reason or record.state.value,
                        )
                if resync and stream.synced:
                    resync = False
                    show_snapshot()
                if view == "fills" and any(isinstance(r, FillRecord) for r in batch):
                    show_fills(new_fills())
                elif drawn and live.due():
                    live.show(table(orders_now()))
            if drawn:
                live.show(table(orders_now()))

    follow(main, seconds)


def _key(order: Any) -> tuple[str, str]:
    return (order.symbol, order.order_id)


def _note(as_json: bool, record: Any) -> None:
    import click

    if as_json:
        _echo("reconnected", downtime_ms=record.downtime_ms, attempt=record.attempt)
    else:
        click.echo(f"[reconnected] {record}", err=True)


def mirror_position(record: Any) -> Any:
    """A :class:`~krakenfutures.oms.venue.PositionRecord` as the legacy views'
    ``MirrorPosition`` (signed ``qty``)."""
    from krakenfutures.client.mirrors import MirrorPosition

    return MirrorPosition(symbol=record.symbol, qty=record.qty, entry_price=record.entry_price)


def watch_positions(seconds: float | None, *, table: Callable[[Any], Any]) -> None:
    """Follow the open positions over uws until ``--seconds`` or Ctrl-C; ``table(mirror)``
    draws them (``mirror.positions`` by symbol, flat ones left out).

    Raises:
        CredentialsError: no Spot key (exit 3). TimeoutError_: no snapshot within ``--timeout``,
        or the server did not deliver the ``positions`` channel (exit 5).
    """
    from krakenfutures.cli.feedrun import LiveView, NoView
    from krakenfutures.core.events import FeedReconnected
    from krakenfutures.errors import TimeoutError_
    from krakenfutures.oms.venue import PositionRecord

    as_json = state().json
    stream, follow = _private_stream()

    def positions_now() -> Any:
        rows = {s: mirror_position(p) for s, p in stream.positions.items() if p.qty}
        return SimpleNamespace(positions=rows)

    def show_json() -> None:
        rows = sorted(positions_now().positions.values(), key=lambda p: p.symbol)
        _echo("open_positions", positions=rows)

    async def main(queue: asyncio.Queue[object], stop: asyncio.Event) -> None:
        if not stream.positions_live:
            raise TimeoutError_(
                "the server did not deliver the uws positions channel (refused or no "
                "snapshot); use --dialect legacy for positions"
            )
        resync = False
        if as_json:
            show_json()
        with NoView() if as_json else LiveView() as live:
            if not as_json:
                live.show(table(positions_now()))
            async for batch in _batches(queue, stop):
                changed = False
                for record in batch:
                    if isinstance(record, FeedReconnected):
                        resync = True
                        _note(as_json, record)
                    elif isinstance(record, PositionRecord):
                        changed = True
                if resync and stream.synced and stream.positions_live:
                    resync, changed = False, True
                if as_json and changed and not resync:
                    show_json()
                elif not as_json and live.due():
                    live.show(table(positions_now()))
            if not as_json:
                live.show(table(positions_now()))

    follow(main, seconds)


__all__ = ["mirror_fill", "mirror_order", "mirror_position", "watch_account", "watch_positions"]
