"""One rate limiter per API key per process, shared by every client of that key.

Kraken counts cost per key (reference §5), so two :class:`~krakenfutures.client.Client` objects
of one key must draw on one budget: :func:`limiter_for` returns the same :class:`SharedLimiter`
for the same key. The arithmetic lives in :class:`krakenfutures.core.ratelimit.CostBucket`; this
module adds a lock and the registry.

Processes do not share budgets: several processes on one key each believe they own the full
budget, and learn otherwise from ``apiLimitExceeded`` (which drains the local bucket).
"""

from __future__ import annotations

import hashlib
import os
import threading

from krakenfutures.core.ratelimit import DERIVATIVES_BUDGET, HISTORY_BUDGET, Budget, CostBucket
from krakenfutures.errors import ValidationError

_FREE_POOL = "none"  # Pool.NONE: public market data costs nothing


class SharedLimiter:
    """Thread-safe pair of cost buckets: ``"derivatives"`` and ``"history"``.

    ``pool`` arguments take the values of :class:`krakenfutures.core.rest.endpoint.Pool`
    (a ``StrEnum``, so the members themselves work too); ``"none"`` is free.
    """

    def __init__(
        self,
        derivatives: Budget = DERIVATIVES_BUDGET,
        history: Budget = HISTORY_BUDGET,
        *,
        start_ms: int = 0,
    ) -> None:
        # start_ms only matters for the first refill, which is capped at a full bucket: any
        # time at or before the first call gives a full budget.
        self._buckets = {
            "derivatives": CostBucket(derivatives, start_ms),
            "history": CostBucket(history, start_ms),
        }
        self._lock = threading.Lock()

    def _bucket(self, pool: str) -> CostBucket:
        try:
            return self._buckets[pool]
        except KeyError:
            raise ValidationError(
                f"unknown rate-limit pool {pool!r}; expected 'derivatives', 'history' or 'none'"
            ) from None

    def reserve(self, pool: str, cost: int, now_ms: int) -> int:
        """Book ``cost`` on ``pool`` and return the milliseconds to wait before sending.

        Raises:
            ValidationError: unknown pool, or a cost larger than the pool's whole budget.
        """
        if pool == _FREE_POOL:
            return 0
        bucket = self._bucket(pool)
        with self._lock:
            return bucket.reserve(cost, now_ms)

    def on_rate_limited(self, pool: str, now_ms: int) -> None:
        """The server answered ``apiLimitExceeded``: drain ``pool`` so callers back off."""
        if pool == _FREE_POOL:
            return
        bucket = self._bucket(pool)
        with self._lock:
            bucket.on_rate_limited(now_ms)

    def available(self, pool: str, now_ms: int) -> int:
        """Whole cost units ``pool`` could spend at ``now_ms`` without waiting."""
        bucket = self._bucket(pool)
        with self._lock:
            return bucket.available(now_ms)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedLimiter({self._buckets['derivatives']!r}, {self._buckets['history']!r})"


_registry: dict[str, SharedLimiter] = {}
_registry_lock = threading.Lock()
_PUBLIC = "public"


def _registry_key(api_key: str | None) -> str:
    # Hash the key so the registry (and any debugger view of it) never holds the key itself.
    if api_key is None:
        return _PUBLIC
    return hashlib.sha256(api_key.encode()).hexdigest()


def limiter_for(api_key: str | None) -> SharedLimiter:
    """The one :class:`SharedLimiter` of ``api_key`` in this process (``None``: public calls)."""
    name = _registry_key(api_key)
    limiter = _registry.get(name)
    if limiter is None:
        with _registry_lock:
            limiter = _registry.get(name)
            if limiter is None:
                limiter = _registry[name] = SharedLimiter()
    return limiter


def clear_limiters() -> None:
    """Forget every registered limiter (tests that reuse a key with a fresh fake clock)."""
    with _registry_lock:
        _registry.clear()


def _reset_locks_in_child() -> None:
    # A lock held by another thread at fork time would stay held forever in the child.
    global _registry_lock
    _registry_lock = threading.Lock()
    for limiter in _registry.values():
        limiter._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)


__all__ = ["SharedLimiter", "clear_limiters", "limiter_for"]
