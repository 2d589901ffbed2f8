"""Kraken's cost budgets as continually refilling token buckets (reference §5).

* ``/derivatives`` endpoints share **500 cost units per 10 s** (:data:`DERIVATIVES_BUDGET`).
* ``/history`` endpoints share **100 tokens**, "continually replenished at a rate of 100 every
  10 minutes" (:data:`HISTORY_BUDGET`).

A :class:`CostBucket` starts full, holds at most ``capacity`` and refills at
``capacity / window_ms`` per millisecond. To stay exact without floats the level is kept in
*scaled units*: one cost unit is ``window_ms`` scaled units, so refilling is ``capacity`` scaled
units per millisecond, an integer.

The same class serves both roles: the client calls :meth:`CostBucket.reserve` (book the cost now,
learn how long to wait, so concurrent callers queue in order) and the simulator calls
:meth:`CostBucket.try_spend` (spend if the budget is there now, else refuse with
``apiLimitExceeded``). Pure: times come in as arguments, locking is the caller's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from krakenfutures.errors import ConfigError, ValidationError


@dataclass(frozen=True, slots=True)
class Budget:
    """A rate-limit budget: at most ``capacity`` cost units, refilled over ``window_ms``."""

    capacity: int
    window_ms: int

    def __post_init__(self) -> None:
        for name in ("capacity", "window_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"Budget.{name} must be a positive int, got {value!r}")


#: ``/derivatives/api/v3`` private endpoints: 500 cost units per 10 seconds.
DERIVATIVES_BUDGET = Budget(500, 10_000)
#: ``/api/history`` endpoints: 100 tokens, refilled 100 per 10 minutes.
HISTORY_BUDGET = Budget(100, 600_000)


class CostBucket:
    """A token bucket over one :class:`Budget`, full at ``start_ms``.

    The level may go negative: :meth:`reserve` books a cost even when the budget is not there
    yet and returns how long the caller must wait; later callers then find a deeper debt and wait
    longer, so they go in the order they asked. Going at ``now_ms + wait`` keeps the cost sent in
    any interval of length ``d`` at or below ``capacity + capacity * d / window_ms``.

    A clock that steps backwards (another clock domain, an NTP step) rebases the bucket on the
    new time without refilling, so waits stay bounded by the booked debt.
    """

    __slots__ = ("_level", "_rate", "_t_ms", "_top", "budget")

    def __init__(self, budget: Budget, start_ms: int = 0) -> None:
        self.budget = budget
        self._rate = budget.capacity  # scaled units gained per millisecond
        self._top = budget.capacity * budget.window_ms  # a full bucket, in scaled units
        self._level = self._top
        self._t_ms = start_ms

    def _check_cost(self, cost: int) -> int:
        if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
            raise ValidationError(f"rate-limit cost must be an int >= 0, got {cost!r}")
        if cost > self.budget.capacity:
            raise ValidationError(
                f"a call costing {cost} units can never fit a budget of "
                f"{self.budget.capacity} per {self.budget.window_ms} ms; split it into smaller "
                "calls (e.g. fewer instructions per batchorder, a smaller accountlog count)"
            )
        return cost

    def _level_at(self, now_ms: int) -> int:
        elapsed = now_ms - self._t_ms
        if elapsed <= 0:
            return self._level
        return min(self._top, self._level + elapsed * self._rate)

    def _advance(self, now_ms: int) -> None:
        self._level = self._level_at(now_ms)
        self._t_ms = now_ms  # also rebases when the clock stepped backwards

    def reserve(self, cost: int, now_ms: int) -> int:
        """Book ``cost`` units and return the milliseconds to wait before sending (0 = now).

        Raises:
            ValidationError: ``cost`` is negative or larger than the whole budget.
        """
        cost = self._check_cost(cost)
        self._advance(now_ms)
        if cost == 0:
            return 0
        self._level -= cost * self.budget.window_ms
        if self._level >= 0:
            return 0
        return -(self._level // self._rate)  # ceil(debt / rate) without floats

    def try_spend(self, cost: int, now_ms: int) -> bool:
        """Spend ``cost`` if it is available at ``now_ms`` and return True; else return False.

        The server-side check: nothing is booked when it fails.

        Raises:
            ValidationError: ``cost`` is negative or larger than the whole budget.
        """
        scaled = self._check_cost(cost) * self.budget.window_ms
        self._advance(now_ms)
        if self._level < scaled:
            return False
        self._level -= scaled
        return True

    def available(self, now_ms: int) -> int:
        """Whole cost units that could be spent at ``now_ms`` without waiting (0 while queued).

        Does not change the bucket.
        """
        return max(0, self._level_at(now_ms) // self.budget.window_ms)

    def wait_ms(self, cost: int, now_ms: int) -> int:
        """Milliseconds :meth:`reserve` would ask to wait for ``cost``, without booking it."""
        if self._check_cost(cost) == 0:
            return 0
        need = cost * self.budget.window_ms - self._level_at(now_ms)
        return 0 if need <= 0 else -(-need // self._rate)

    def on_rate_limited(self, now_ms: int) -> None:
        """The server said ``apiLimitExceeded``: our model was optimistic, so empty the bucket.

        Debt already booked by queued callers is kept; only unbooked budget is dropped.
        """
        self._advance(now_ms)
        if self._level > 0:
            self._level = 0

    def __repr__(self) -> str:
        b = self.budget
        return (
            f"CostBucket({b.capacity}/{b.window_ms}ms, "
            f"level={self._level // b.window_ms} at {self._t_ms})"
        )


__all__ = ["DERIVATIVES_BUDGET", "HISTORY_BUDGET", "Budget", "CostBucket"]
