"""The shared limiter: one budget per key per process, safe across threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from krakenfutures.client import limiter as limiter_module
from krakenfutures.client.limiter import SharedLimiter, clear_limiters, limiter_for
from krakenfutures.core.ratelimit import DERIVATIVES_BUDGET, CostBucket
from krakenfutures.core.rest.endpoint import Pool
from krakenfutures.errors import ValidationError

KEY = "kfKEYpublicPART0123456789abcdef"
T0 = 1_700_000_000_000


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    clear_limiters()
    yield
    clear_limiters()


def test_one_limiter_per_key() -> None:
    assert limiter_for(KEY) is limiter_for(KEY)
    assert limiter_for(KEY) is not limiter_for("anotherKey")
    assert limiter_for(None) is limiter_for(None)
    assert limiter_for(None) is not limiter_for(KEY)


def test_registry_never_holds_the_key() -> None:
    limiter_for(KEY)
    assert all(KEY not in name for name in limiter_module._registry)


def test_clients_of_one_key_draw_on_one_budget() -> None:
    first, second = limiter_for(KEY), limiter_for(KEY)
    for _ in range(50):
        assert first.reserve("derivatives", 10, T0) == 0
    assert second.reserve("derivatives", 10, T0) == 200


def test_pools_are_separate_and_accept_the_enum() -> None:
    limiter = SharedLimiter()
    assert limiter.reserve(Pool.HISTORY, 100, T0) == 0
    assert limiter.reserve(Pool.HISTORY, 1, T0) == 6_000
    assert limiter.reserve(Pool.DERIVATIVES, 500, T0) == 0
    assert limiter.reserve(Pool.NONE, 10**6, T0) == 0  # public data is free
    assert limiter.available("derivatives", T0 + 10_000) == 500


def test_bad_pool_or_cost_is_refused() -> None:
    limiter = SharedLimiter()
    with pytest.raises(ValidationError, match="unknown rate-limit pool 'charts'"):
        limiter.reserve("charts", 1, T0)
    with pytest.raises(ValidationError, match="can never fit"):
        limiter.reserve("history", 101, T0)


def test_rate_limited_reply_drains_the_pool() -> None:
    limiter = SharedLimiter()
    limiter.on_rate_limited("derivatives", T0)
    limiter.on_rate_limited("none", T0)
    assert limiter.reserve("derivatives", 10, T0) == 200
    assert limiter.reserve("history", 1, T0) == 0  # the other pool is untouched


def test_concurrent_callers_get_the_same_waits_as_a_queue() -> None:
    limiter = limiter_for(KEY)
    threads, per_thread = 8, 50
    start = threading.Barrier(threads)
    waits: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait()
        mine = [limiter.reserve("derivatives", 10, T0) for _ in range(per_thread)]
        with lock:
            waits.extend(mine)

    workers = [threading.Thread(target=call) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    bucket = CostBucket(DERIVATIVES_BUDGET, 0)
    expected = [bucket.reserve(10, T0) for _ in range(threads * per_thread)]
    assert sorted(waits) == expected  # nothing lost or double-booked
