"""Nonce sources: one strictly increasing counter per key across threads and processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import stat
import threading
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from krakenfutures.client.nonce_store import (
    FileNonceSource,
    MemoryNonceSource,
    NonceSource,
    NoNonce,
    nonce_file_name,
)
from krakenfutures.core.nonce import NonceGenerator
from krakenfutures.errors import StateError

KEY = "kfKEYpublicPART0123456789abcdef"
FIXED_MS = 1  # a clock that never moves: every nonce must be exactly the last one + 1
PROCESSES, THREADS, PER_THREAD = 4, 4, 500


def run_threads(next_nonce: Callable[[int], str], threads: int, per_thread: int) -> list[list[int]]:
    """Draw nonces from ``threads`` threads at once; return each thread's sequence."""
    start = threading.Barrier(threads)
    out: list[list[int]] = [[] for _ in range(threads)]

    def draw(seq: list[int]) -> None:
        start.wait()
        for _ in range(per_thread):
            seq.append(int(next_nonce(FIXED_MS)))

    workers = [threading.Thread(target=draw, args=(seq,)) for seq in out]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return out


def _process_worker(directory: str, barrier: object, results: object) -> None:
    # Runs in a spawned process: its own FileNonceSource on the shared state file.
    source = FileNonceSource(KEY, directory=Path(directory))
    barrier.wait()  # type: ignore[attr-defined]
    results.put((os.getpid(), run_threads(source.next, THREADS, PER_THREAD)))  # type: ignore[attr-defined]


def assert_one_counter(per_thread: list[list[int]], first: int) -> None:
    """Strictly increasing per thread, no duplicates, and no gaps: each write saw the last."""
    for seq in per_thread:
        assert all(a < b for a, b in pairwise(seq))
    every = [n for seq in per_thread for n in seq]
    assert len(set(every)) == len(every)
    # With a clock that stands still every nonce is last + 1, so the union is one unbroken
    # range exactly when every write read the write before it (no lost update, no decrease).
    assert sorted(every) == list(range(first, first + len(every)))


def test_no_nonce_sends_nothing() -> None:
    source = NoNonce()
    assert source.next(123) == ""
    source.observe(10**18)
    assert source.next(124) == ""
    assert isinstance(source, NonceSource)


def test_memory_source_is_thread_safe() -> None:
    source = MemoryNonceSource(NonceGenerator())
    assert_one_counter(run_threads(source.next, 8, 1_000), first=FIXED_MS * 1000)
    assert source.last == FIXED_MS * 1000 + 8_000 - 1


def test_memory_sources_share_one_process_counter_by_default() -> None:
    a, b = MemoryNonceSource(), MemoryNonceSource()
    drawn = [int(src.next(FIXED_MS)) for src in (a, b, a, b)]
    assert drawn == sorted(drawn) and len(set(drawn)) == 4
    a.observe(drawn[-1] + 1_000)
    assert int(b.next(FIXED_MS)) > drawn[-1] + 1_000
    assert isinstance(a, NonceSource)


def test_file_is_named_by_key_hash_and_owner_only(tmp_path: Path) -> None:
    with FileNonceSource(KEY, directory=tmp_path / "nonces") as source:
        assert source.next(1_700_000_000_000) == "1700000000000000"
        assert isinstance(source, NonceSource)
    (file,) = (tmp_path / "nonces").iterdir()
    assert file.name == nonce_file_name(KEY) and KEY not in file.name
    assert len(file.name) == len("0123456789abcdef.nonce")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert file.read_bytes() == b"00001700000000000000\n"  # fixed width, readable with cat


def test_state_survives_a_new_source_and_is_shared_by_instances(tmp_path: Path) -> None:
    a = FileNonceSource(KEY, directory=tmp_path)
    b = FileNonceSource(KEY, directory=tmp_path)
    drawn = [int(src.next(FIXED_MS)) for src in (a, b, a, b)]
    assert drawn == [1000, 1001, 1002, 1003]
    a.close()
    c = FileNonceSource(KEY, directory=tmp_path)
    assert c.last == 1003
    assert c.next(FIXED_MS) == "1004"
    other = FileNonceSource("anotherKey", directory=tmp_path)
    assert other.next(FIXED_MS) == "1000"  # keys have separate counters
    for src in (b, c, other):
        src.close()


def test_observe_raises_the_floor_for_every_process(tmp_path: Path) -> None:
    a = FileNonceSource(KEY, directory=tmp_path)
    b = FileNonceSource(KEY, directory=tmp_path)
    a.next(FIXED_MS)
    a.observe(5_000_000)
    assert b.last == 5_000_000
    assert b.next(FIXED_MS) == "5000001"
    a.observe(10)  # lower: ignored
    assert a.next(FIXED_MS) == "5000002"
    a.close()
    b.close()


def test_corrupted_file_falls_back_to_own_floor_and_clock(tmp_path: Path) -> None:
    source = FileNonceSource(KEY, directory=tmp_path)
    assert source.next(FIXED_MS) == "1000"
    source.path.write_bytes(b"garbage!")
    assert source.next(FIXED_MS) == "1001"  # never below what this source handed out
    assert source.last == 1001  # and the file is repaired
    source.close()


def test_closed_source_refuses(tmp_path: Path) -> None:
    source = FileNonceSource(KEY, directory=tmp_path)
    source.close()
    source.close()  # idempotent
    with pytest.raises(StateError, match="closed"):
        source.next(FIXED_MS)


def test_threads_of_one_process_share_the_file(tmp_path: Path) -> None:
    sources = [FileNonceSource(KEY, directory=tmp_path) for _ in range(2)]
    per_thread = run_threads(sources[0].next, 3, 300) + run_threads(sources[1].next, 3, 300)
    assert_one_counter(per_thread, first=FIXED_MS * 1000)
    for src in sources:
        src.close()


def test_four_processes_of_four_threads_hammer_one_key(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(str(tmp_path), barrier, results))
        for _ in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    collected = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert len({pid for pid, _ in collected}) == PROCESSES
    per_thread = [seq for _, threads in collected for seq in threads]
    assert sum(map(len, per_thread)) == PROCESSES * THREADS * PER_THREAD
    assert_one_counter(per_thread, first=FIXED_MS * 1000)
    with FileNonceSource(KEY, directory=tmp_path) as source:
        assert source.last == max(max(seq) for seq in per_thread)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_children_reopen_the_file_so_flock_still_excludes(tmp_path: Path) -> None:
    # A flock belongs to the open file description, which fork shares: without reopening in the
    # child, parent and child would both "hold" the lock and hand out duplicates.
    source = FileNonceSource(KEY, directory=tmp_path)
    source.next(FIXED_MS)  # the descriptor is open before the fork
    ctx = mp.get_context("fork")
    results = ctx.Queue()

    def child() -> None:
        results.put(run_threads(source.next, 2, 1_000))

    procs = [ctx.Process(target=child) for _ in range(2)]
    for p in procs:
        p.start()
    mine = run_threads(source.next, 2, 1_000)
    collected = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    per_thread = mine + [seq for threads in collected for seq in threads]
    assert_one_counter(per_thread, first=FIXED_MS * 1000 + 1)
    source.close()
