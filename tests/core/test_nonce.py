"""Nonce arithmetic: strictly increasing whatever the clock does."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.nonce import SCALE, NonceGenerator, next_nonce
from krakenfutures.errors import ConfigError

clock = st.integers(min_value=0, max_value=4_000_000_000_000)


def test_next_nonce_scales_the_clock_to_microseconds() -> None:
    assert next_nonce(0, 1_700_000_000_000) == 1_700_000_000_000_000
    assert SCALE == 1000


def test_next_nonce_runs_ahead_of_a_clock_that_stands_still() -> None:
    assert next_nonce(1_700_000_000_000_000, 1_700_000_000_000) == 1_700_000_000_000_001
    assert next_nonce(1_700_000_000_000_999, 1_700_000_000_000) == 1_700_000_000_001_000


@given(last=st.integers(min_value=0, max_value=10**19), now_ms=clock)
def test_next_nonce_is_above_last_and_not_below_the_clock(last: int, now_ms: int) -> None:
    value = next_nonce(last, now_ms)
    assert value > last
    assert value >= now_ms * SCALE
    assert value in (last + 1, now_ms * SCALE)


@given(st.lists(clock, min_size=1, max_size=200))
def test_generator_is_strictly_increasing_even_when_the_clock_goes_back(times: list[int]) -> None:
    gen = NonceGenerator()
    out = [gen.next(t) for t in times]
    assert all(a < b for a, b in pairwise(out))
    assert gen.last == out[-1]


def test_a_thousand_nonces_fit_in_one_millisecond_before_the_counter_runs_ahead() -> None:
    gen = NonceGenerator()
    out = [gen.next(5) for _ in range(1000)]
    assert out == list(range(5000, 6000))
    assert gen.next(6) == 6000  # the next millisecond starts where the counter stands
    assert [gen.next(6) for _ in range(1000)][-1] == 7000  # now ahead of the clock (7 ms)
    assert gen.next(9) == 9000  # until the clock passes it again


@given(start=clock, floor=st.integers(min_value=0, max_value=10**19), now_ms=clock)
def test_observe_raises_the_floor(start: int, floor: int, now_ms: int) -> None:
    gen = NonceGenerator()
    first = gen.next(start)
    gen.observe(floor)
    assert gen.last == max(first, floor)
    assert gen.next(now_ms) > max(first, floor)


def test_observe_never_lowers_the_floor() -> None:
    gen = NonceGenerator(last=500)
    gen.observe(10)
    assert gen.last == 500
    assert gen.next(0) == 501


@pytest.mark.parametrize("bad", [-1, True, 1.5, "12"])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ConfigError):
        NonceGenerator(last=bad)  # type: ignore[arg-type]
    gen = NonceGenerator()
    with pytest.raises(ConfigError):
        gen.next(bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        gen.observe(bad)  # type: ignore[arg-type]


def test_repr_shows_the_counter() -> None:
    assert repr(NonceGenerator(last=7)) == "NonceGenerator(last=7)"
