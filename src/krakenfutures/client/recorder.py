"""Record a WebSocket feed to Parquet (raw frames and typed events) and replay it.

Layout under the output directory (Hive partitions: day of ``ts_recv`` in UTC, then symbol;
``symbol=_`` holds what belongs to no symbol: private feeds, control replies, reconnects)::

    DIR/raw/date=2026-11-25/symbol=PF_XBTUSD/part-<run_id>-00001.parquet
    DIR/events/date=2026-11-25/symbol=PF_XBTUSD/part-<run_id>-00001.parquet

``raw`` columns: ``run_id`` (int64, the recording run: its start in epoch ns), ``frame``
(int64, frame number within the run), ``ts_recv_ns`` (int64, our wall clock, epoch ns),
``data`` (binary, the frame exactly as received).

``events`` columns: ``run_id``, ``rec_seq`` (int64, event number within the run: the delivery
order), ``frame`` (int64, the frame it came from; null for events without one such as
``reconnected``), ``ts_recv_ns``, ``ts_event_ms`` (int64, the exchange's timestamp when the
message has one), ``kind`` (the ``feed`` tag of data messages -- ``book``, ``book_snapshot``,
``trade``, ``ticker``... -- or the event name: ``reconnected``, ``book_gap_detected``,
``book_resynced``, ``subscribed``...), ``symbol``, ``seq``, ``side``, ``price``, ``qty``
(filled for ``book`` and ``trade`` rows) and ``payload`` (the whole event as JSON, from which
:func:`replay` rebuilds the typed event).

Decimals are stored as **strings**, exactly as received (``"34981.5"``), in ``price``, ``qty``
and inside ``payload``: no rounding, no float, and no fixed scale to choose per instrument
(decimal128 would need one). Read them with ``Decimal(text)``.

Durability: rows are buffered and written every ``flush_interval_s`` seconds or
``flush_rows`` rows, each flush as new files (written to a temporary name, then renamed), so a
crash loses at most the rows since the last flush and never leaves a half-written file where a
reader looks. :meth:`Recorder.close` flushes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from krakenfutures.client.books import BookKeeper
from krakenfutures.client.events import KIND_TYPES, FeedEvent, Reconnected, kind_of
from krakenfutures.core.ws.schema_public import BookDelta, BookSnapshot, Trade
from krakenfutures.errors import ConfigError

NO_SYMBOL = "_"
"""The ``symbol`` partition of rows that belong to no symbol."""

RAW_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("frame", pa.int64()),
        ("ts_recv_ns", pa.int64()),
        ("data", pa.binary()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        ("run_id", pa.int64()),
        ("rec_seq", pa.int64()),
        ("frame", pa.int64()),
        ("ts_recv_ns", pa.int64()),
        ("ts_event_ms", pa.int64()),
        ("kind", pa.string()),
        ("symbol", pa.string()),
        ("seq", pa.int64()),
        ("side", pa.string()),
        ("price", pa.string()),
        ("qty", pa.string()),
        ("payload", pa.binary()),
    ]
)

_DAY_NS = 86_400 * 1_000_000_000


_DECODERS = {kind: msgspec.json.Decoder(cls) for kind, cls in KIND_TYPES.items()}
_ENCODE = msgspec.json.Encoder().encode  # decimals as strings: exact


class _SymbolProbe(msgspec.Struct):
    product_id: str | None = None


_probe = msgspec.json.Decoder(_SymbolProbe).decode


def _day(ts_ns: int, cache: dict[int, str]) -> str:
    day = ts_ns // _DAY_NS
    text = cache.get(day)
    if text is None:
        text = cache[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%d")
    return text


class _Buffer:
    """Column lists of one partition, not written yet."""

    __slots__ = ("columns", "rows")

    def __init__(self, names: Iterable[str]) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in names}
        self.rows = 0


class Recorder:
    """Write raw frames (:meth:`on_frame`) and events (:meth:`record`) under ``out_dir``.

    Wire it to a feed with ``AsyncFeed(..., on_frame=recorder.on_frame)`` and pass every event
    the feed yields to :meth:`record` (or let :meth:`run` do both loops).

    Args:
        out_dir: the recording's root directory (created if missing).
        flush_interval_s: write buffered rows at least this often (seconds) ...
        flush_rows: ... or as soon as this many rows are buffered.
        clock_ns: wall clock in epoch ns (tests pass a fake).
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        flush_interval_s: float = 5.0,
        flush_rows: int = 50_000,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.flush_interval_s = flush_interval_s
        self.flush_rows = flush_rows
        self._clock_ns = clock_ns
        self.run_id = clock_ns()
        self._raw: dict[tuple[str, str], _Buffer] = {}
        self._events: dict[tuple[str, str], _Buffer] = {}
        self._buffered = 0
        self._last_flush_ns = self.run_id
        self._parts = 0
        self._days: dict[int, str] = {}
        self._frame = 0
        self._frame_ts = 0
        self._rec_seq = 0
        self.frames_recorded = 0
        """Raw frames taken (buffered or written)."""
        self.events_recorded = 0
        """Events taken (buffered or written)."""
        self.files_written = 0
        self._closed = False

    # -- input --------------------------------------------------------------------------------

    def on_frame(self, raw: bytes, ts_recv_ns: int) -> None:
        """Buffer one raw frame (the feed's ``on_frame`` hook)."""
        self._frame += 1
        self._frame_ts = ts_recv_ns
        try:
            symbol = _probe(raw).product_id or NO_SYMBOL
        except (msgspec.DecodeError, UnicodeError):
            symbol = NO_SYMBOL  # not JSON, or not an object: kept, filed under no symbol
        buf = self._buffer(self._raw, RAW_SCHEMA, _day(ts_recv_ns, self._days), symbol)
        cols = buf.columns
        cols["run_id"].append(self.run_id)
        cols["frame"].append(self._frame)
        cols["ts_recv_ns"].append(ts_recv_ns)
        cols["data"].append(bytes(raw))
        buf.rows += 1
        self.frames_recorded += 1
        self._added()

    def record(self, event: FeedEvent, ts_recv_ns: int | None = None) -> None:
        """Buffer one event the feed yielded. Its ``ts_recv_ns`` is the time its frame was read
        (events of one frame are yielded before the next frame is read), or now for events
        without a frame (:class:`~krakenfutures.client.events.Reconnected`)."""
        kind = kind_of(event)
        frame: int | None = self._frame if self._frame else None
        if type(event) is Reconnected:
            frame = None
        if ts_recv_ns is None:
            ts_recv_ns = self._frame_ts if frame is not None else self._clock_ns()
        self._rec_seq += 1
        symbol = getattr(event, "symbol", None) or NO_SYMBOL
        buf = self._buffer(self._events, EVENT_SCHEMA, _day(ts_recv_ns, self._days), symbol)
        cols = buf.columns
        cols["run_id"].append(self.run_id)
        cols["rec_seq"].append(self._rec_seq)
        cols["frame"].append(frame)
        cols["ts_recv_ns"].append(ts_recv_ns)
        ts_event = getattr(event, "ts_ms", None)
        cols["ts_event_ms"].append(ts_event if isinstance(ts_event, int) else None)
        cols["kind"].append(kind)
        cols["symbol"].append(symbol)
        if type(event) is BookDelta or type(event) is Trade:
            cols["seq"].append(event.seq)
            cols["side"].append(str(event.side))
            cols["price"].append(str(event.price))
            cols["qty"].append(str(event.qty))
        else:
            cols["seq"].append(event.seq if type(event) is BookSnapshot else None)
            cols["side"].append(None)
            cols["price"].append(None)
            cols["qty"].append(None)
        cols["payload"].append(_ENCODE(event))
        buf.rows += 1
        self.events_recorded += 1
        self._added()

    def _buffer(
        self, into: dict[tuple[str, str], _Buffer], schema: pa.Schema, day: str, symbol: str
    ) -> _Buffer:
        buf = into.get((day, symbol))
        if buf is None:
            buf = into[(day, symbol)] = _Buffer(schema.names)
        return buf

    def _added(self) -> None:
        self._buffered += 1
        if self._buffered >= self.flush_rows:
            self.flush()

    # -- output -------------------------------------------------------------------------------

    def maybe_flush(self) -> None:
        """Flush if ``flush_interval_s`` passed since the last flush."""
        if self._clock_ns() - self._last_flush_ns >= self.flush_interval_s * 1e9:
            self.flush()

    def flush(self) -> None:
        """Write every buffered row now (new part files, atomically renamed into place)."""
        self._last_flush_ns = self._clock_ns()
        if not self._buffered:
            return
        self._parts += 1
        for name, buffers, schema in (
            ("raw", self._raw, RAW_SCHEMA),
            ("events", self._events, EVENT_SCHEMA),
        ):
            for (day, symbol), buf in buffers.items():
                if buf.rows:
                    self._write(name, day, symbol, pa.table(buf.columns, schema=schema))
            buffers.clear()
        self._buffered = 0

    def _write(self, name: str, day: str, symbol: str, table: pa.Table) -> None:
        folder = self.out_dir / name / f"date={day}" / f"symbol={_safe(symbol)}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"part-{self.run_id}-{self._parts:05d}.parquet"
        tmp = folder / f".{final.name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, final)
        self.files_written += 1

    def close(self) -> None:
        """Flush what is buffered; the recorder takes nothing more afterwards. Idempotent."""
        if not self._closed:
            self.flush()
            self._closed = True

    # -- driving a feed -------------------------------------------------------------------------

    async def run(
        self, feed: Any, *, seconds: float | None = None, stop: asyncio.Event | None = None
    ) -> None:
        """Record every event of ``feed`` (created with ``on_frame=self.on_frame``) until
        ``stop`` is set, ``seconds`` pass or the feed ends; then close the feed and flush."""
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds

        async def timer() -> None:
            while not stop.is_set():
                wait = self.flush_interval_s
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - loop.time()))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await stop.wait()
                if deadline is not None and loop.time() >= deadline:
                    stop.set()
                self.maybe_flush()
            await feed.aclose()  # ends the iteration below

        task = loop.create_task(timer())
        try:
            async for event in feed:
                self.record(event)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.close()

    def __repr__(self) -> str:
        return (
            f"Recorder({str(self.out_dir)!r}, frames={self.frames_recorded}, "
            f"events={self.events_recorded}, files={self.files_written})"
        )


def _safe(symbol: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", symbol)


# ---------------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------------


def _days(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("date="))


def _day_table(day: Path, symbols: set[str] | None) -> pa.Table | None:
    tables: list[pa.Table] = []
    for folder in sorted(day.iterdir()):
        if not folder.name.startswith("symbol="):
            continue
        symbol = folder.name.removeprefix("symbol=")
        if symbols is not None and symbol != NO_SYMBOL and symbol not in symbols:
            continue
        tables.extend(pq.read_table(f) for f in sorted(folder.glob("part-*.parquet")))
    if not tables:
        return None
    return pa.concat_tables(tables)


def read_events(directory: str | Path, *, symbols: Iterable[str] | None = None) -> pa.Table:
    """The ``events`` rows of a recording as one table, in delivery order (``run_id``,
    ``rec_seq``). ``symbols`` keeps those symbols and the rows of no symbol."""
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    tables = [t for d in _days(Path(directory) / "events") if (t := _day_table(d, wanted))]
    if not tables:
        return EVENT_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    return table.sort_by([("run_id", "ascending"), ("rec_seq", "ascending")])


def replay_records(
    directory: str | Path, *, symbols: Iterable[str] | None = None
) -> Iterator[tuple[int, FeedEvent]]:
    """``(ts_recv_ns, event)`` of a recording in the order the feed delivered them, day by
    day (only one day is held in memory)."""
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    root = Path(directory)
    if not (root / "events").is_dir():
        raise ConfigError(f"{root} is not a recording: no events/ folder (record with kf record)")
    for day in _days(root / "events"):
        table = _day_table(day, wanted)
        if table is None:
            continue
        table = table.sort_by([("run_id", "ascending"), ("rec_seq", "ascending")])
        kinds = table.column("kind").to_pylist()
        stamps = table.column("ts_recv_ns").to_pylist()
        payloads = table.column("payload").to_pylist()
        for kind, ts, payload in zip(kinds, stamps, payloads, strict=True):
            yield ts, _DECODERS[kind].decode(payload)


def replay(directory: str | Path, *, symbols: Iterable[str] | None = None) -> Iterator[FeedEvent]:
    """The typed events of a recording, in the order the feed delivered them (what the
    backtester reads). ``symbols`` keeps those symbols and the events of no symbol."""
    for _, event in replay_records(directory, symbols=symbols):
        yield event


async def replay_paced(
    directory: str | Path, *, speed: float = 1.0, symbols: Iterable[str] | None = None
) -> Any:
    """Async iterator of :func:`replay` at ``speed`` times the recorded pace (``0`` or less:
    as fast as possible); the gaps between receive times are slept."""
    first_ts: int | None = None
    loop = asyncio.get_running_loop()
    start = loop.time()
    for ts, event in replay_records(directory, symbols=symbols):
        if speed > 0:
            if first_ts is None:
                first_ts = ts
            due = start + (ts - first_ts) / 1e9 / speed
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        yield event


def read_raw(directory: str | Path) -> Iterator[tuple[int, bytes]]:
    """``(ts_recv_ns, frame)`` of a recording's raw frames, in the order they were read."""
    for day in _days(Path(directory) / "raw"):
        table = _day_table(day, None)
        if table is None:
            continue
        table = table.sort_by([("run_id", "ascending"), ("frame", "ascending")])
        yield from zip(
            table.column("ts_recv_ns").to_pylist(), table.column("data").to_pylist(), strict=True
        )


def replay_books(directory: str | Path, *, symbols: Iterable[str] | None = None) -> BookKeeper:
    """Rebuild the books of a recording: every book message through a fresh
    :class:`~krakenfutures.client.books.BookKeeper`, reconnects dropping books as live."""
    keeper = BookKeeper()
    for event in replay(directory, symbols=symbols):
        if type(event) is BookDelta or type(event) is BookSnapshot:
            keeper.apply(event)
        elif type(event) is Reconnected:
            keeper.connection_lost()
    return keeper


__all__ = [
    "EVENT_SCHEMA",
    "NO_SYMBOL",
    "RAW_SCHEMA",
    "Recorder",
    "read_events",
    "read_raw",
    "replay",
    "replay_books",
    "replay_paced",
    "replay_records",
]
