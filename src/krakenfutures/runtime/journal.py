"""The bot's journal: every order, request, fill, funding payment and event, in SQLite, first.

What goes in
    One table of records ``(seq, ts_ms, kind, strategy, key, payload)``; ``payload`` is JSON
    (Decimals as strings, enums by value, frozensets as sorted lists), so
    ``sqlite3 FILE "select json_extract(payload, '$.state') from records"`` works. Kinds:

    ``order``    a full :class:`TrackedOrder` after every change (key: ``cli_ord_id``); the
                 latest one per ``cli_ord_id`` restores the tracker.
    ``request``  a submit / amend / cancel about to be sent: ``{"action", "intent"}``.
    ``fill``     a :class:`FillRecord`, owned by ``strategy`` (key: ``fill_id``).
    ``funding``  a :class:`FundingPaid` (key: ``payment_id``, else strategy|symbol|ts_ms).
    ``event``    halts, trading-state changes, denials, alerts: ``{"text", "data"}``
                 (key: the event kind).
    ``meta``     run start/stop, the ``cli_ord_id`` prefix, anything about the run (key: name).

Write first, act second
    Call ``record_*`` *before* acting: before the request goes on the wire, before a fill is
    booked. A record is durable (see Durability) when the call returns. Sending ``request`` and the order's new
    snapshot together (``record_request(..., order=tracked)``) writes both in one transaction.
    If ``record_*`` raises, do not act (halt): the journal could not promise to remember.

Durability
    ``durability="process"`` (the default): a record is first appended to the write-ahead tail
    (``FILE-tail``, one ``write()`` system call, see :mod:`krakenfutures.runtime.journal_tail`),
    so it is in the OS when the call returns and survives ``kill -9``, a crash or an exception
    of our process. A moment later (2 ms, from an event-loop timer, so after the sends it
    preceded; at once when no loop runs) the pending records are copied into SQLite (WAL mode,
    ``synchronous=NORMAL``) in one transaction and the tail is emptied; opening the journal
    copies whatever a killed run left in the tail. A power cut or kernel crash may lose the last
    records (never corrupting the file), which reconciling with the exchange after the restart
    repairs: the exchange is the authority on orders and fills. ``durability="power"``
    (``synchronous=FULL``, no tail) fsyncs every record into SQLite: safe against power loss,
    20 to 200 times slower.

Speed
    The write sits between the decision and the wire. Measured in ``process`` durability
    (ext4, loaded VM): ``record_request`` about 5-8 µs (msgspec encodes in 3-4 µs, the rest is
    one ``write()``); the SQLite copy (15-30 µs per transaction, batched) happens off the order
    path. Checkpoints (copying the WAL into the database, with fsyncs: 10-40 ms) are the one slow
    thing: call :meth:`Journal.checkpoint` when idle (a timer, no order in flight); SQLite runs
    one inside a write only after 4 MB of WAL (about 1,000 records) piled up, as a backstop.
    ``power`` durability costs 0.4-8 ms per record. The connection holds SQLite's exclusive
    lock, which saves the shared-memory and lock calls of every transaction.

    To read a journal with the ``sqlite3`` tool after a crash, open it once with
    :class:`Journal` first (or ``kf`` commands that do), which folds the tail in.

One writer
    The journal holds an exclusive lock on its file from open to close: a second process opening
    it (a second copy of the bot, a ``kf`` tool while the bot runs) gets :class:`ConfigError`
    instead of interleaving two histories. The lock dies with the process, so a restart after
    ``kill -9`` opens it at once. Within the process, calls are serialised by a lock (meant for
    one thread, the event loop).

Restart
    :meth:`Journal.restore` returns a :class:`JournalState`: the latest order per ``cli_ord_id``
    (feed them to ``OrderTracker.restore``), every fill and funding payment once (first record
    wins; :func:`rebuild_positions` replays them into a :class:`PositionBook`), the used
    ``cli_ord_id`` values (:meth:`JournalState.id_generator` continues after them, so an id is
    never reused), the last events and meta records. Orders restored in ``pending_*`` states
    (:attr:`JournalState.in_flight`) had a request on the wire at the crash: call
    ``tracker.on_reply_lost`` for them and reconcile with the exchange before trading.

Secrets
    Only domain objects and short texts go in; ``redact=(secret, ...)`` (str or
    :class:`~krakenfutures.config.Secret`) replaces each of them by ``***`` in every record
    (texts, data, keys) before it is written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from krakenfutures.config import Secret, state_dir
from krakenfutures.core.events import FundingPaid, Halted, OrderDenied, TradingStateChanged
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.errors import ConfigError, StateError, ValidationError
from krakenfutures.oms.tracker import TrackedOrder
from krakenfutures.oms.venue import FillRecord
from krakenfutures.runtime.journal_records import (
    Action,
    JournalEvent,
    JournalFill,
    JournalFunding,
    JournalRecord,
    JournalState,
    check_request,
    decode_any,
    decode_fill,
    decode_funding,
    decode_order,
    decode_request,
    encode_fill,
    encode_funding,
    encode_order,
    encode_request,
    event_of,
    rebuild_positions,
    to_dict,
)
from krakenfutures.runtime.journal_tail import Row, TailLog, rows_to_insert, tail_path

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the files this module writes; newer files are refused."""

APPLICATION_ID = 0x4B464A31  # "KFJ1": marks the file as a krakenfutures journal
Durability = Literal["process", "power"]
KINDS = ("order", "request", "fill", "funding", "event", "meta")
META_RUN_START, META_RUN_STOP, META_ID_PREFIX = "run_start", "run_stop", "id_prefix"

_SYNC = {"process": "NORMAL", "power": "FULL"}
_AUTOCHECKPOINT_PAGES = 1_000  # 4 MB of WAL: SQLite's default, the backstop
_WAL_SIZE_LIMIT = 64 * 2**20
_MIN_SECRET_LEN = 8
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SCHEMA = """
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    ts_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    strategy TEXT,
    key TEXT,
    payload TEXT NOT NULL
)"""
_INSERT = "INSERT INTO records (seq, ts_ms, kind, strategy, key, payload) VALUES (?, ?, ?, ?, ?, ?)"
_FLUSH_DELAY_S = 0.002  # batch a burst's rows into one SQLite transaction, after the sends
_FLUSH_ROWS = 512  # backstop: copy to SQLite at once past this many pending rows
_SELECT = "SELECT seq, ts_ms, kind, strategy, key, payload FROM records WHERE seq > ? ORDER BY seq LIMIT ?"
_BATCH = 2_000

_encoder = msgspec.json.Encoder(decimal_format="string", order="deterministic")
_decode_order = msgspec.json.Decoder(TrackedOrder).decode
_decode_fill = msgspec.json.Decoder(FillRecord).decode
_decode_funding = msgspec.json.Decoder(FundingPaid).decode


def default_journal_path(
    bot_name: str, env: Mapping[str, str] | None = None, *, venue: str | None = None
) -> Path:
    """``<state dir>/journals/<bot_name>[.<venue>].sqlite`` (state dir: see
    :func:`krakenfutures.config.state_dir`; ``env`` is the environment mapping it reads).
    Give each venue (``live``, ``demo``, ``sim``) its own ``venue`` or bot name: a journal must
    only ever be reconciled against the exchange it was written for. Nothing is created."""
    if isinstance(env, str):
        raise ValidationError(
            "env is the environment mapping (as for config.state_dir); pass a venue name as venue="
        )
    name = bot_name if venue is None else f"{bot_name}.{venue}"
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"journal name {name!r}: bot and venue names use 1-64 of A-Z a-z 0-9 _ . - "
            "(starting with a letter or digit)"
        )
    return state_dir(env) / "journals" / f"{name}.sqlite"


# -------------------------------------------------------------------------------- journal


class Journal:
    """An append-only SQLite journal; see the module docstring. Use as a context manager or
    call :meth:`close`. Every ``record_*`` returns the record's ``seq``. ``flush_delay_s``:
    how long records may wait in the write-ahead tail before the SQLite copy (``process``
    durability, inside an event loop)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "process",
        redact: Iterable[str | Secret] = (),
        flush_delay_s: float = _FLUSH_DELAY_S,
    ) -> None:
        if durability not in _SYNC:
            raise ValidationError(f"durability must be 'process' or 'power', got {durability!r}")
        self.path = Path(path)
        self.durability = durability
        self._secrets = _redactions(redact)
        self._secret_bytes = tuple(secret.encode() for secret in self._secrets)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = _open(self.path, _SYNC[durability])
        # One cursor reused by every write: saves making a cursor object per record. SQLite's
        # statement cache keeps the INSERT prepared.
        self._cursor: sqlite3.Cursor | None = self._db.cursor()
        self._seq = int(self._db.execute("SELECT max(seq) FROM records").fetchone()[0] or 0)
        # ``process`` durability: records go to the write-ahead tail first (one write(), in
        # the kernel when the call returns: kill -9 safe) and into SQLite in batches.
        self._tail: TailLog | None = None
        self._pending: list[Row] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._flush_delay_s = flush_delay_s
        if durability == "process":
            try:
                self._tail = TailLog(tail_path(self.path))
                self._recover()
            except BaseException:
                self.close()
                raise

    def __repr__(self) -> str:
        state = "closed" if self._db is None else self.durability
        return f"Journal({str(self.path)!r}, {state})"

    # ------------------------------------------------------------------------- writing

    def record_order(self, order: TrackedOrder, *, ts_ms: int) -> int:
        """Journal the full snapshot of ``order`` (after every change the tracker reports)."""
        if type(order) is not TrackedOrder:
            raise ValidationError(f"record_order takes a TrackedOrder, got {type(order).__name__}")
        return self._add((ts_ms, "order", order.strategy, order.cli_ord_id, self._json(order)))

    def record_request(
        self,
        action: Action,
        intent: OrderIntent | AmendIntent | CancelIntent,
        *,
        strategy: str,
        ts_ms: int,
        order: TrackedOrder | None = None,
    ) -> int:
        """Journal a request about to be sent (``submit``: an :class:`OrderIntent` with its
        ``cli_ord_id``; ``amend``; ``cancel``). With ``order``, its new snapshot is written in
        the same transaction (recommended: one write before the wire, and the restored order
        can never lag the request). Returns the seq of the last row written."""
        key = check_request(action, intent)
        if not key:
            raise ValidationError(
                f"a {action} request needs the order's cli_ord_id (OrderTracker.submit stamps "
                "it): without it a lost reply could not be reconciled"
            )
        payload = self._json({"action": action, "intent": intent})
        row = (ts_ms, "request", strategy, key, payload)
        if order is None:
            return self._add(row)
        if type(order) is not TrackedOrder:
            raise ValidationError(f"order must be a TrackedOrder, got {type(order).__name__}")
        return self._add(row, (ts_ms, "order", order.strategy, order.cli_ord_id, self._json(order)))

    def record_fill(self, fill: FillRecord, *, strategy: str, ts_ms: int) -> int:
        """Journal a fill (with its fee) owned by ``strategy``, before booking it."""
        if type(fill) is not FillRecord:
            raise ValidationError(f"record_fill takes a FillRecord, got {type(fill).__name__}")
        return self._add((ts_ms, "fill", strategy, fill.fill_id, self._json(fill)))

    def record_funding(self, payment: FundingPaid, *, ts_ms: int) -> int:
        """Journal a funding payment, before booking it."""
        if type(payment) is not FundingPaid:
            raise ValidationError(f"record_funding takes FundingPaid, got {type(payment).__name__}")
        return self._add((ts_ms, "funding", payment.strategy, payment.key, self._json(payment)))

    def record_event(
        self,
        kind: str,
        text: str,
        *,
        ts_ms: int,
        strategy: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> int:
        """Journal an event (``halted``, ``alert``...): a short ``text`` and JSON-able ``data``
        (Decimals, enums and dataclasses allowed). Configured secrets are redacted."""
        if not isinstance(kind, str) or not isinstance(text, str):
            raise ValidationError("record_event needs a str kind and a str text")
        payload = self._json({"text": text, "data": None if data is None else dict(data)})
        return self._add((ts_ms, "event", self._scrub(strategy), self._scrub(kind), payload))

    def record_domain_event(self, event: Halted | TradingStateChanged | OrderDenied) -> int:
        """Journal a :class:`Halted`, :class:`TradingStateChanged` or :class:`OrderDenied` as
        an ``event`` record (``halted`` / ``trading_state`` / ``order_denied``) at its ts_ms."""
        if isinstance(event, Halted):
            kind, strategy, text = "halted", event.strategy, f"{event.kind}: {event.reason}"
        elif isinstance(event, TradingStateChanged):
            kind, strategy = "trading_state", None
            reasons = "; ".join(event.reasons)
            text = f"{event.symbol} {event.previous.value} -> {event.state.value}: {reasons}"
        elif isinstance(event, OrderDenied):
            kind, strategy = "order_denied", event.strategy
            text = f"{event.action} {event.symbol} denied by {event.rule}: {event.reason}"
        else:
            raise ValidationError(f"record_domain_event cannot journal {type(event).__name__}")
        return self.record_event(
            kind, text, ts_ms=event.ts_ms, strategy=strategy, data=to_dict(event)
        )

    def record_meta(self, name: str, data: Mapping[str, Any] | None = None, *, ts_ms: int) -> int:
        """Journal a fact about the run: ``run_start`` / ``run_stop`` (see
        :attr:`JournalState.clean_stop`), ``id_prefix`` with ``{"prefix": ...}``, or any name."""
        if not isinstance(name, str) or not name:
            raise ValidationError("record_meta needs a non-empty str name")
        payload = self._json({} if data is None else dict(data))
        return self._add((ts_ms, "meta", None, self._scrub(name), payload))

    def checkpoint(self) -> None:
        """Copy the WAL into the database file (fsyncs; milliseconds). Call when idle: the
        record calls stay fast only if checkpoints do not happen between decision and wire."""
        self.flush()
        with self._lock:
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    # ------------------------------------------------------------------------- reading

    @property
    def last_seq(self) -> int:
        """The seq of the last record (0 for an empty journal)."""
        with self._lock:
            self._conn()
            return self._seq

    def iter_records(self, since_seq: int = 0) -> Iterator[JournalRecord]:
        """Every record after ``since_seq``, in order (read in batches; safe to interleave with
        writes)."""
        for seq, ts_ms, kind, strategy, key, payload in self._rows(since_seq):
            try:
                data = decode_any(payload)
            except msgspec.DecodeError as exc:
                raise StateError(f"journal {self.path}: record {seq} is not JSON ({exc})") from None
            yield JournalRecord(seq, ts_ms, kind, strategy, key, data)

    def restore(self, *, max_events: int = 100) -> JournalState:
        """Read the whole journal into a :class:`JournalState` (see the module docstring)."""
        orders: dict[str, TrackedOrder] = {}
        fills: dict[str, JournalFill] = {}
        funding: dict[str, JournalFunding] = {}
        events: list[JournalEvent] = []
        meta: dict[str, Any] = {}
        ids: set[str] = set()
        prefixes: list[str] = []
        last_seq, clean_stop = 0, True
        for seq, ts_ms, kind, strategy, key, payload in self._rows(0):
            last_seq, clean_stop = seq, False
            try:
                if kind == "order":
                    order = _decode_order(payload)
                    orders[order.cli_ord_id] = order
                    ids.add(order.cli_ord_id)
                elif kind == "request":
                    _, intent = decode_request(decode_any(payload))
                    if intent.cli_ord_id:
                        ids.add(intent.cli_ord_id)
                    fresh = intent.cli_ord_id and intent.cli_ord_id not in orders
                    if isinstance(intent, OrderIntent) and fresh:
                        # Sent (maybe) before its snapshot was journaled: track it as pending.
                        orders[intent.cli_ord_id] = TrackedOrder(
                            intent, strategy or "", OrderState.PENDING_NEW, ts_ms, ts_ms
                        )
                elif kind == "fill":
                    fill = _decode_fill(payload)
                    fills.setdefault(fill.fill_id, JournalFill(seq, strategy or "", fill))
                    if fill.cli_ord_id:
                        ids.add(fill.cli_ord_id)
                elif kind == "funding":
                    payment = _decode_funding(payload)
                    funding.setdefault(payment.key, JournalFunding(seq, payment))
                elif kind == "event":
                    events.append(event_of(seq, ts_ms, key, strategy, decode_any(payload)))
                    del events[:-max_events]
                elif kind == "meta":
                    data = decode_any(payload)
                    meta[key or ""] = data
                    if key == META_ID_PREFIX and isinstance(data.get("prefix"), str):
                        prefixes.append(data["prefix"])
                    clean_stop = key == META_RUN_STOP
            except (
                msgspec.DecodeError,
                msgspec.ValidationError,
                StateError,
                AttributeError,
            ) as exc:
                raise StateError(
                    f"journal {self.path}: record {seq} ({kind}) cannot be decoded: {exc}; the "
                    "file is damaged or from an incompatible version"
                ) from None
        return JournalState(
            orders=tuple(orders.values()),
            fills=tuple(fills.values()),
            funding=tuple(funding.values()),
            events=tuple(events),
            meta=meta,
            cli_ord_ids=frozenset(ids),
            prefixes=tuple(dict.fromkeys(prefixes)),
            last_seq=last_seq,
            clean_stop=clean_stop,
        )

    # ------------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the file and release its lock (idempotent)."""
        if self._db is not None:
            self.flush()
        with self._lock:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            if self._tail is not None:
                self._tail.close()
            db, self._db = self._db, None
            cursor, self._cursor = self._cursor, None
        if cursor is not None:
            cursor.close()
        if db is not None:
            db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------ internals

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StateError(f"journal {self.path} is closed")
        return self._db

    def _json(self, value: object) -> bytes:
        """``value`` as JSON bytes, configured secrets replaced (bytes: the tail writes them as
        they are; SQLite gets the text at the copy, off the order path)."""
        try:
            data = _encoder.encode(value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise ValidationError(f"journal data must be JSON-able: {exc}") from None
        for secret in self._secret_bytes:
            if secret in data:
                data = data.replace(secret, b"***")
        return data

    def _scrub(self, text: str | None) -> str | None:
        if text is not None:
            for secret in self._secrets:
                text = text.replace(secret, "***")
        return text

    def _add(self, *rows: tuple[int, str, str | None, str | None, bytes]) -> int:
        """Journal ``rows`` (``ts_ms, kind, strategy, key, payload``) as one unit; the last seq."""
        with self._lock:
            if self._db is None:
                raise StateError(f"journal {self.path} is closed")
            seq = self._seq
            numbered: list[Row] = []
            for row in rows:
                seq += 1
                numbered.append((seq, *row))
            tail = self._tail
            if tail is None:  # ``power``: straight into SQLite, fsynced
                self._insert(numbered)
            else:
                tail.append(numbered)
                self._pending.extend(numbered)
            self._seq = seq
        if tail is not None:
            self._flush_later()
        return seq

    def flush(self) -> None:
        """Copy the records still only in the write-ahead tail into SQLite (one transaction).
        Called by itself shortly after writes (off the order path) and before every read."""
        with self._lock:
            if self._flush_handle is not None:
                self._flush_handle.cancel()
                self._flush_handle = None
            pending = self._pending
            if not pending or self._db is None:
                return
            self._insert(pending)
            self._pending = []
            if self._tail is not None:
                self._tail.clear()

    def _flush_later(self) -> None:
        """Schedule :meth:`flush` on the running event loop (timers run after the ready
        callbacks, so after the sends this write came before); flush now without a loop."""
        if self._flush_handle is not None and len(self._pending) < _FLUSH_ROWS:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if len(self._pending) >= _FLUSH_ROWS:
            self.flush()
        else:
            self._flush_handle = loop.call_later(self._flush_delay_s, self.flush)

    def _insert(self, rows: list[Row]) -> None:
        rows = [(*row[:5], row[5].decode()) for row in rows]  # TEXT, for json_extract & co
        cursor = self._cursor
        if cursor is None:
            raise StateError(f"journal {self.path} is closed")
        try:
            if len(rows) == 1:
                cursor.execute(_INSERT, rows[0])  # autocommit: its own transaction
            else:
                cursor.execute("BEGIN")
                try:
                    cursor.executemany(_INSERT, rows)
                    cursor.execute("COMMIT")
                except BaseException:
                    cursor.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise StateError(
                f"journal {self.path} could not be written ({exc}); do not act on this "
                "record: halt trading, free disk space or fix the file, then restart"
            ) from exc

    def _recover(self) -> None:
        """Copy what a killed run left in the tail into SQLite, then empty the tail."""
        assert self._tail is not None
        fresh = rows_to_insert(self._tail.read(), self._seq)
        if fresh:
            log.info("journal %s: recovered %d records from its tail", self.path, len(fresh))
            self._insert(fresh)
            self._seq = fresh[-1][0]
        self._tail.clear()

    def _rows(self, since_seq: int) -> Iterator[tuple[Any, ...]]:
        self.flush()
        while True:
            with self._lock:
                rows = self._conn().execute(_SELECT, (since_seq, _BATCH)).fetchall()
            yield from rows
            if len(rows) < _BATCH:
                return
            since_seq = rows[-1][0]


def _redactions(redact: Iterable[str | Secret]) -> tuple[str, ...]:
    found: list[str] = []
    for item in redact:
        value = item.reveal() if isinstance(item, Secret) else item
        if not isinstance(value, str) or len(value) < _MIN_SECRET_LEN:
            raise ValidationError(
                f"redact takes secrets (str or Secret) of at least {_MIN_SECRET_LEN} characters; "
                "a shorter string would garble ordinary text"
            )
        # Match the secret as it appears inside JSON text (escaped) and as plain text.
        found.extend(dict.fromkeys((value, _encoder.encode(value).decode()[1:-1])))
    return tuple(found)


def _open(path: Path, synchronous: str) -> sqlite3.Connection:
    where = f"journal {path}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))  # private from the first byte
        db = sqlite3.connect(path, timeout=0.2, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open {where}: {exc}") from exc
    try:
        _prepare(db, where, synchronous)
    except BaseException:
        db.close()
        raise
    return db


def _prepare(db: sqlite3.Connection, where: str, synchronous: str) -> None:
    try:
        db.execute("PRAGMA locking_mode=EXCLUSIVE")  # before the first access: no -shm file
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute(f"PRAGMA wal_autocheckpoint={_AUTOCHECKPOINT_PAGES}")
        db.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
        db.execute("BEGIN IMMEDIATE")  # takes the lock, kept until close
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise ConfigError(
                f"{where} is in use by another process (is the bot already running?); stop it "
                "or use another bot name"
            ) from exc
        raise ConfigError(f"{where}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{where} is not a SQLite database ({exc}); give another path") from exc
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"{where} has journal schema version {version}, newer than this krakenfutures "
                f"reads ({SCHEMA_VERSION}); upgrade krakenfutures, or use another journal file"
            )
        if tables and (app_id != APPLICATION_ID or "records" not in tables):
            raise ConfigError(
                f"{where} holds other data (tables {sorted(tables)}); give another path"
            )
        if not tables:
            db.execute(_SCHEMA)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    if str(mode).lower() != "wal":  # pragma: no cover - filesystems without WAL support
        raise ConfigError(f"{where}: SQLite refused WAL mode (got {mode!r})")


__all__ = [
    "APPLICATION_ID",
    "KINDS",
    "META_ID_PREFIX",
    "META_RUN_START",
    "META_RUN_STOP",
    "SCHEMA_VERSION",
    "Journal",
    "JournalEvent",
    "JournalFill",
    "JournalFunding",
    "JournalRecord",
    "JournalState",
    "decode_fill",
    "decode_funding",
    "decode_order",
    "decode_request",
    "default_journal_path",
    "encode_fill",
    "encode_funding",
    "encode_order",
    "encode_request",
    "rebuild_positions",
]
