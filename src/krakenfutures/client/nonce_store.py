"""Where nonces come from: a file shared by every process of one key, memory, or nothing.

Kraken wants nonces that keep increasing per API key (reference §1.1). Two bots, a CLI call
and a cron job on one machine using the same key must therefore share one counter, or one of
them gets ``nonceBelowThreshold``. :class:`FileNonceSource` keeps that counter in a small state
file per key, serialised by ``fcntl.flock`` between processes and a :class:`threading.Lock`
between threads. The arithmetic is :func:`krakenfutures.core.nonce.next_nonce`.

Kraken's nonce is optional: :class:`NoNonce` sends none at all (the header is left out and the
signature uses ``""``), which sidesteps the problem for keys shared across machines.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from pathlib import Path
from typing import Protocol, runtime_checkable

from krakenfutures.core.nonce import NonceGenerator, next_nonce
from krakenfutures.errors import ConfigError, StateError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# One record: 20 decimal digits (enough for any unsigned 64-bit value) and a newline, so the
# file stays readable with `cat` and every write is a single fixed-size pwrite at offset 0.
_WIDTH = 20
_RECORD = _WIDTH + 1


@runtime_checkable
class NonceSource(Protocol):
    """Hands out the ``Nonce`` header values for one API key."""

    def next(self, now_ms: int) -> str:
        """The next nonce as header text (``""`` means: send no nonce)."""
        ...

    def observe(self, value: int) -> None:
        """Make every later nonce greater than ``value`` (after ``nonceBelowThreshold``)."""
        ...


class NoNonce:
    """Send no ``Nonce`` header: Kraken accepts requests without one."""

    def next(self, now_ms: int) -> str:
        """Always ``""``."""
        return ""

    def observe(self, value: int) -> None:
        """Nothing to raise."""

    def __repr__(self) -> str:
        return "NoNonce()"


_shared_generator = NonceGenerator()
_shared_lock = threading.Lock()


class MemoryNonceSource:
    """Thread-safe nonces for this process only.

    By default every instance draws from one process-wide counter, so two clients of the same
    key in one process never hand out the same nonce in the same millisecond. Pass your own
    ``generator`` to isolate an instance (tests). Other processes using the key are not seen:
    use :class:`FileNonceSource` for that.
    """

    def __init__(self, generator: NonceGenerator | None = None) -> None:
        if generator is None:
            self._gen, self._lock = _shared_generator, _shared_lock
        else:
            self._gen, self._lock = generator, threading.Lock()

    def next(self, now_ms: int) -> str:
        """A nonce greater than any this counter handed out before."""
        with self._lock:
            return str(self._gen.next(now_ms))

    def observe(self, value: int) -> None:
        """Raise the floor above ``value``."""
        with self._lock:
            self._gen.observe(int(value))

    @property
    def last(self) -> int:
        """The highest nonce handed out or observed."""
        return self._gen.last

    def __repr__(self) -> str:
        return f"MemoryNonceSource(last={self._gen.last})"


def nonce_file_name(api_key: str) -> str:
    """The state file name for a key: a hash prefix, so the key itself is never on disk."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16] + ".nonce"


_open_sources: weakref.WeakSet[FileNonceSource] = weakref.WeakSet()


class FileNonceSource:
    """Nonces strictly increasing per API key across threads *and* processes on one machine.

    The file ``<directory>/<sha256(key)[:16]>.nonce`` holds the last nonce handed out. Each
    :meth:`next` takes the thread lock, then an exclusive ``flock``, reads the record with
    ``pread``, writes the new one with ``pwrite`` and unlocks; the descriptor stays open.
    Writes are not fsynced: a process crash loses nothing (the page cache survives it) and after
    a machine crash the clock, scaled to microseconds, is far ahead of any lost value.

    After ``fork`` the child reopens the file: a ``flock`` belongs to the open file description,
    which parent and child would otherwise share (and so never exclude each other).

    Raises:
        ConfigError: the platform has no ``fcntl`` or the directory cannot be used.
    """

    def __init__(self, api_key: str, *, directory: str | os.PathLike[str]) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            raise ConfigError(
                "file-based nonces need fcntl (Linux/macOS); use nonce='memory' or nonce='none'"
            )
        self.path = Path(directory) / nonce_file_name(api_key)
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the nonce state directory {self.path.parent} ({exc.strerror}); "
                "set KRAKEN_FUTURES_STATE_DIR to a writable directory"
            ) from exc
        self._lock = threading.Lock()
        self._floor = 0  # our own highest nonce: survives a corrupted file
        self._fd = -1
        self._closed = False
        self._open()
        _open_sources.add(self)

    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot open the nonce state file {self.path} ({exc.strerror}); "
                "set KRAKEN_FUTURES_STATE_DIR to a writable directory"
            ) from exc

    def _after_fork(self) -> None:
        # Only the forking thread exists in the child, so nothing holds the new lock. The
        # file is reopened lazily by the next call.
        self._lock = threading.Lock()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _locked_fd(self) -> int:
        # Called with self._lock held; returns the descriptor, now holding the flock.
        if self._fd < 0:
            if self._closed:
                raise StateError(f"{self!r} is closed; create a new FileNonceSource")
            self._open()
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self._fd

    def _read(self) -> int:
        data = os.pread(self._fd, _RECORD, 0)
        try:
            return int(data) if data.strip() else 0
        except ValueError:
            return 0  # torn or foreign content: our floor and the clock take over

    def _write(self, value: int) -> None:
        os.pwrite(self._fd, b"%0*d\n" % (_WIDTH, value), 0)

    def next(self, now_ms: int) -> str:
        """Read the last nonce, store and return the next one (see ``core.nonce.next_nonce``)."""
        with self._lock:
            fd = self._locked_fd()
            try:
                last = self._read()
                value = next_nonce(last if last > self._floor else self._floor, now_ms)
                self._write(value)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._floor = value
            return str(value)

    def observe(self, value: int) -> None:
        """Raise the stored floor so every later nonce, in any process, exceeds ``value``."""
        value = int(value)
        with self._lock:
            fd = self._locked_fd()
            try:
                if value > self._read():
                    self._write(value)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            if value > self._floor:
                self._floor = value

    @property
    def last(self) -> int:
        """The last nonce stored in the file (by any process)."""
        with self._lock:
            fd = self._locked_fd()
            try:
                return self._read()
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the state file; further calls raise :class:`StateError`."""
        with self._lock:
            self._closed = True
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
        _open_sources.discard(self)

    def __enter__(self) -> FileNonceSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            try:  # noqa: SIM105  (no contextlib: at interpreter exit module globals may be gone)
                os.close(fd)
            except (OSError, AttributeError, TypeError):  # closed already, or `os` torn down
                pass

    def __repr__(self) -> str:
        return f"FileNonceSource({self.path})"


def _reopen_in_child() -> None:
    for source in list(_open_sources):
        source._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reopen_in_child)


__all__ = ["FileNonceSource", "MemoryNonceSource", "NoNonce", "NonceSource", "nonce_file_name"]
