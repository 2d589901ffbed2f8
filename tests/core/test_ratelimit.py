"""Cost buckets: Kraken's budgets (reference §5) in both roles, client and server."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.ratelimit import DERIVATIVES_BUDGET, HISTORY_BUDGET, Budget, CostBucket
from krakenfutures.errors import ConfigError, ValidationError

T0 = 1_700_000_000_000


def test_kraken_budgets() -> None:
    assert Budget(500, 10_000) == DERIVATIVES_BUDGET
    assert Budget(100, 600_000) == HISTORY_BUDGET


@pytest.mark.parametrize(("capacity", "window_ms"), [(0, 10), (10, 0), (-1, 10), (1.5, 10)])
def test_budget_must_be_positive_ints(capacity: object, window_ms: object) -> None:
    with pytest.raises(ConfigError):
        Budget(capacity, window_ms)  # type: ignore[arg-type]


def test_fifty_orders_go_at_once_then_one_every_200_ms() -> None:
    bucket = CostBucket(DERIVATIVES_BUDGET, T0)
    assert [bucket.reserve(10, T0) for _ in range(50)] == [0] * 50
    # 500 units per 10 s refill 10 units every 200 ms.
    assert [bucket.reserve(10, T0) for _ in range(3)] == [200, 400, 600]
    assert bucket.available(T0 + 600) == 0
    assert bucket.available(T0 + 800) == 10


def test_history_pool_refills_one_token_every_six_seconds() -> None:
    bucket = CostBucket(HISTORY_BUDGET, T0)
    assert bucket.reserve(100, T0) == 0
    assert bucket.reserve(1, T0) == 6_000
    assert bucket.reserve(3, T0) == 24_000  # accountlog with the default count of 500


def test_wait_rounds_up_to_whole_milliseconds() -> None:
    bucket = CostBucket(Budget(3, 10), 0)  # 0.3 units per ms
    assert bucket.reserve(3, 0) == 0
    assert bucket.reserve(1, 0) == 4  # 1 unit needs 3.33 ms


def test_a_call_larger_than_the_budget_is_refused_clearly() -> None:
    bucket = CostBucket(HISTORY_BUDGET, T0)
    with pytest.raises(ValidationError, match=r"costing 101 units can never fit a budget of 100"):
        bucket.reserve(101, T0)
    with pytest.raises(ValidationError):
        bucket.try_spend(101, T0)
    with pytest.raises(ValidationError):
        bucket.reserve(-1, T0)


def test_free_calls_never_wait() -> None:
    bucket = CostBucket(Budget(10, 1000), 0)
    bucket.reserve(10, 0)
    bucket.reserve(10, 0)
    assert bucket.reserve(0, 0) == 0


def test_try_spend_refuses_without_booking() -> None:
    bucket = CostBucket(Budget(10, 1000), 0)  # 1 unit per 100 ms
    assert bucket.try_spend(10, 0)
    assert not bucket.try_spend(1, 0)
    assert not bucket.try_spend(1, 50)
    assert bucket.try_spend(1, 100)  # the refused tries booked nothing
    assert bucket.available(100) == 0


def test_rate_limited_drains_free_budget_but_keeps_queued_debt() -> None:
    bucket = CostBucket(DERIVATIVES_BUDGET, T0)
    bucket.reserve(10, T0)
    bucket.on_rate_limited(T0)
    assert bucket.available(T0) == 0
    assert bucket.reserve(10, T0) == 200
    bucket.on_rate_limited(T0)  # already in debt: the queued caller's slot is kept
    assert bucket.reserve(10, T0) == 400


def test_available_and_wait_ms_do_not_change_the_bucket() -> None:
    bucket = CostBucket(Budget(10, 1000), 0)
    bucket.reserve(10, 0)
    assert bucket.wait_ms(5, 0) == 500
    assert bucket.available(300) == 3
    assert bucket.wait_ms(5, 0) == 500
    assert bucket.reserve(5, 0) == 500


def test_refill_stops_at_capacity() -> None:
    bucket = CostBucket(Budget(10, 1000), 0)
    assert bucket.available(10**9) == 10
    bucket.reserve(10, 10**9)
    assert bucket.reserve(1, 10**9) == 100


def test_clock_stepping_back_rebases_instead_of_waiting_for_the_old_clock() -> None:
    bucket = CostBucket(Budget(10, 1000), T0)
    bucket.reserve(10, T0)
    # A different clock domain (a fake clock at 0): the wait reflects the debt, not T0.
    assert bucket.reserve(1, 0) == 100
    assert bucket.reserve(1, 0) == 200


ops = st.lists(
    st.tuples(st.integers(min_value=0, max_value=300), st.integers(min_value=0, max_value=20)),
    min_size=1,
    max_size=40,
)
budgets = st.builds(
    Budget, st.integers(min_value=20, max_value=60), st.integers(min_value=1, max_value=2_000)
)


def _within_budget(sends: list[tuple[int, int]], budget: Budget) -> bool:
    """Cost sent in every window [a, b] <= capacity + refill over b - a (integer form).

    Waits are whole milliseconds rounded up, so a call due at t + 0.05 ms goes at t + 1 ms while
    the bucket keeps refilling from t + 0.05: allow one millisecond of refill for that rounding.
    """
    times = sorted({t for t, _ in sends})
    for i, a in enumerate(times):
        for b in times[i:]:
            spent = sum(c for t, c in sends if a <= t <= b)
            if spent * budget.window_ms > budget.capacity * (budget.window_ms + (b - a) + 1):
                return False
    return True


@given(budget=budgets, steps=ops)
def test_reserve_never_lets_more_than_the_budget_through(
    budget: Budget, steps: list[tuple[int, int]]
) -> None:
    bucket = CostBucket(budget, 0)
    now, sends = 0, []
    for dt, cost in steps:
        now += dt
        sends.append((now + bucket.reserve(cost, now), cost))
    assert _within_budget(sends, budget)


@given(budget=budgets, steps=ops)
def test_queued_callers_go_in_order(budget: Budget, steps: list[tuple[int, int]]) -> None:
    bucket = CostBucket(budget, 0)
    now, send_times = 0, []
    for dt, cost in steps:
        now += dt
        wait = bucket.reserve(cost, now)
        if cost:  # free calls book nothing and never queue
            send_times.append(now + wait)
    assert send_times == sorted(send_times)


@given(budget=budgets, costs=st.lists(st.integers(min_value=1, max_value=20), max_size=30))
def test_waits_grow_for_callers_arriving_together(budget: Budget, costs: list[int]) -> None:
    bucket = CostBucket(budget, 0)
    waits = [bucket.reserve(c, 0) for c in costs]
    assert waits == sorted(waits)


@given(budget=budgets, steps=ops)
def test_server_side_try_spend_never_accepts_more_than_the_budget(
    budget: Budget, steps: list[tuple[int, int]]
) -> None:
    bucket = CostBucket(budget, 0)
    now, accepted = 0, []
    for dt, cost in steps:
        now += dt
        if bucket.try_spend(cost, now):
            accepted.append((now, cost))
    assert _within_budget(accepted, budget)


@given(budget=budgets, steps=ops, cost=st.integers(min_value=0, max_value=20))
def test_wait_ms_predicts_reserve(budget: Budget, steps: list[tuple[int, int]], cost: int) -> None:
    bucket = CostBucket(budget, 0)
    now = 0
    for dt, c in steps:
        now += dt
        bucket.reserve(c, now)
    predicted = bucket.wait_ms(cost, now)
    assert copy.copy(bucket).reserve(cost, now) == predicted
