"""The journal's write-ahead tail: records reach the OS in one ``write()`` before SQLite sees them.

Why
    A committed SQLite transaction costs 15-30 µs (an INSERT plus a WAL frame write), and the
    journal sits between a strategy's decision and the wire. What ``kill -9`` safety needs is
    only that the bytes are in the kernel when the call returns: one ``os.write`` of a line to
    an ``O_APPEND`` file gives that for 2-4 µs. The :class:`~krakenfutures.runtime.journal.Journal`
    writes every record here first and copies the pending ones into SQLite in one transaction a
    moment later (off the order path), then empties this file.

Format
    One JSON array per line: ``[seq, ts_ms, kind, strategy, key, payload]``, the payload the
    record's JSON value itself (SQLite stores the same JSON as text). A write of one line is one system call, so a
    killed process leaves whole lines; a power cut may leave a torn last line, which
    :meth:`TailLog.read` drops (the journal promises nothing more for power loss in ``process``
    durability, and reconciling with the exchange repairs it).

Recovery
    On open, the journal reads the tail, inserts the rows SQLite does not have yet (by ``seq``;
    a crash between the SQLite commit and the truncate leaves rows that are already there), then
    truncates the tail.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import msgspec

from krakenfutures.errors import StateError

log = logging.getLogger(__name__)

Row = tuple[int, int, str, str | None, str | None, bytes]
"""``(seq, ts_ms, kind, strategy, key, payload)``: one journal record (payload: JSON bytes)."""

_encode = msgspec.json.Encoder().encode
_decode_line = msgspec.json.Decoder(
    tuple[int, int, str, str | None, str | None, msgspec.Raw]
).decode


def _line(row: Row) -> bytes:
    # The payload is JSON already: written as the array's last element as it is, not as an
    # escaped string (half the bytes to encode on the order path).
    return _encode(row[:5])[:-1] + b"," + row[5] + b"]\n"


def tail_path(journal_path: Path) -> Path:
    """Where the tail of the journal at ``journal_path`` lives (beside it, like SQLite's -wal)."""
    return journal_path.with_name(journal_path.name + "-tail")


class TailLog:
    """An append-only file of journal rows; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_CREAT | os.O_RDWR | os.O_APPEND, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the journal tail {path}: {exc}") from exc

    def append(self, rows: list[Row]) -> None:
        """Write ``rows`` in one system call; raises :class:`StateError` if the OS refused."""
        fd = self._fd
        if fd is None:
            raise StateError(f"journal tail {self.path} is closed")
        data = _line(rows[0]) if len(rows) == 1 else b"".join([_line(row) for row in rows])
        try:
            written = os.write(fd, data)
            while written < len(data):  # regular files write whole unless the disk is full
                more = os.write(fd, data[written:])
                if more <= 0:
                    raise OSError("no progress writing the journal tail")
                written += more
        except OSError as exc:
            raise StateError(
                f"journal tail {self.path} could not be written ({exc}); do not act on this "
                "record: halt trading, free disk space, then restart"
            ) from exc

    def read(self) -> list[Row]:
        """Every whole row in the file, in order (a torn or damaged line ends the read)."""
        data = self.path.read_bytes()
        rows: list[Row] = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line:
                continue
            try:
                seq, ts_ms, kind, strategy, key, payload = _decode_line(line)
                rows.append((seq, ts_ms, kind, strategy, key, bytes(payload)))
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning(
                    "journal tail %s: line %d is torn or damaged; it and what follows are "
                    "dropped (reconciling with the exchange repairs what they said)",
                    self.path,
                    number,
                )
                break
        return rows

    def clear(self) -> None:
        """Empty the file (after its rows are committed to SQLite)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """Close the file (idempotent); pending rows stay in it for the next open."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __repr__(self) -> str:
        return f"TailLog({str(self.path)!r})"


def rows_to_insert(rows: list[Row], last_seq: int) -> list[Any]:
    """The rows of ``rows`` SQLite does not have yet (``seq`` above ``last_seq``), checked to
    continue it without a hole."""
    fresh = [row for row in rows if row[0] > last_seq]
    expected = last_seq + 1
    for row in fresh:
        if row[0] != expected:
            raise StateError(
                f"journal tail: record {row[0]} follows {expected - 1}; the tail does not belong "
                "to this journal (move the -tail file away to open it without)"
            )
        expected += 1
    return fresh


__all__ = ["Row", "TailLog", "rows_to_insert", "tail_path"]
