"""Hourly funding schedule, relative/absolute rates and payments (reference §8.2, §11.5-6)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.funding import (
    FUNDING_INTERVAL_MS,
    absolute_from_relative,
    funding_cost,
    funding_payment,
    funding_periods_between,
    funding_times_between,
    next_funding_time_ms,
    relative_from_absolute,
    relative_funding_rate,
)
from krakenfutures.core.types import ContractKind
from krakenfutures.errors import ConfigError

LIN, INV = ContractKind.LINEAR, ContractKind.INVERSE
HOUR = 3_600_000
T_17H = 1_676_394_000_000  # 2023-02-14T17:00:00Z, the WS ticker's next_funding_rate_time example

times = st.integers(min_value=0, max_value=4_102_444_800_000)  # 1970 .. 2100
prices = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4)
rates = st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=10)
qtys = st.decimals(min_value=D("-1000000"), max_value=D("1000000"), places=4)
kinds = st.sampled_from([LIN, INV])


# ---------------------------------------------------------------------------------- schedule


def test_funding_is_hourly() -> None:
    assert FUNDING_INTERVAL_MS == HOUR


def test_next_funding_time_matches_the_ws_example() -> None:
    now = T_17H - (12 * 60 + 45) * 1000  # 16:47:15Z, the example's "time"
    assert next_funding_time_ms(now) == T_17H


def test_on_a_boundary_the_next_one_is_an_hour_later() -> None:
    assert next_funding_time_ms(T_17H) == T_17H + HOUR
    assert next_funding_time_ms(T_17H - 1) == T_17H
    assert next_funding_time_ms(0) == HOUR


@given(times)
def test_next_funding_time_properties(now: int) -> None:
    nxt = next_funding_time_ms(now)
    assert nxt % HOUR == 0
    assert now < nxt <= now + HOUR


def test_periods_between_examples() -> None:
    assert funding_periods_between(T_17H, T_17H) == 0
    assert funding_periods_between(T_17H, T_17H + HOUR - 1) == 0  # opened on a boundary
    assert funding_periods_between(T_17H, T_17H + HOUR) == 1  # still open at the next one
    assert funding_periods_between(T_17H - 1, T_17H) == 1
    assert funding_periods_between(T_17H + 1, T_17H + 8 * HOUR + 1) == 8
    with pytest.raises(ConfigError, match="ends before it starts"):
        funding_periods_between(2, 1)


@given(times, st.integers(min_value=0, max_value=1000))
def test_whole_hours_cross_that_many_boundaries(start: int, hours: int) -> None:
    assert funding_periods_between(start, start + hours * HOUR) == hours


@given(times, st.integers(min_value=0, max_value=50 * HOUR))
def test_funding_times_are_the_counted_boundaries(start: int, span: int) -> None:
    boundaries = funding_times_between(start, start + span)
    assert len(boundaries) == funding_periods_between(start, start + span)
    assert all(b % HOUR == 0 and start < b <= start + span for b in boundaries)


# --------------------------------------------------------------------------------------- rates


def test_relative_rate_model() -> None:
    # Premium 0.2 % spread over 24 hours.
    rate = relative_funding_rate(D(50100), D(50000), max_relative=D("0.0025"), coefficient=D(24))
    assert rate == D("0.002") / D(24)
    assert relative_funding_rate(D(100), D(100), max_relative=D("0.0025")) == 0
    assert relative_funding_rate(D(101), D(100), max_relative=D("0.1")) == D("0.01")


def test_relative_rate_is_clamped() -> None:
    cap = D("0.0025")
    assert relative_funding_rate(D(60000), D(50000), max_relative=cap, coefficient=D(24)) == cap
    assert relative_funding_rate(D(40000), D(50000), max_relative=cap, coefficient=D(24)) == -cap
    assert relative_funding_rate(D(2), D(1), max_relative=D(0)) == 0


def test_relative_rate_refuses_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="index price"):
        relative_funding_rate(D(1), D(0), max_relative=D("0.1"))
    with pytest.raises(ConfigError, match="coefficient"):
        relative_funding_rate(D(1), D(1), max_relative=D("0.1"), coefficient=D(0))
    with pytest.raises(ConfigError, match="max relative"):
        relative_funding_rate(D(1), D(1), max_relative=D("-0.1"))


@given(prices, prices, st.decimals(min_value=D(0), max_value=D("0.01"), places=6))
def test_relative_rate_sign_and_bound(mark: D, index: D, cap: D) -> None:
    rate = relative_funding_rate(mark, index, max_relative=cap, coefficient=D(24))
    assert abs(rate) <= cap
    if rate != 0:
        assert (rate > 0) == (mark > index)  # premium -> positive rate -> longs pay


def test_absolute_relative_reference_examples() -> None:
    # Inverse: relative ≈ absolute × price (−6.26e-11 × 21,980 ≈ −1.38e-6).
    inv = relative_from_absolute(D("-6.26e-11"), D(21980), INV)
    assert inv == D("-1.375948E-6")
    # Linear: relative = absolute / mark (COMP 0.0002207 / 42.19 ≈ 5.2e-6).
    lin = relative_from_absolute(D("0.0002207"), D("42.19"), LIN)
    assert D("5.23e-6") < lin < D("5.24e-6")
    assert absolute_from_relative(D("0.0001"), D(50000), LIN) == D(5)
    assert absolute_from_relative(D("0.0001"), D(50000), INV) == D("2E-9")


@given(rates, prices, kinds)
def test_absolute_relative_round_trip(relative: D, price: D, kind: ContractKind) -> None:
    back = relative_from_absolute(absolute_from_relative(relative, price, kind), price, kind)
    assert abs(back - relative) <= D("1e-26") * max(abs(relative), D("1e-12"))


# ------------------------------------------------------------------------------------ payments


def test_payment_sign_conventions() -> None:
    # Positive rate: longs pay, shorts receive.
    assert funding_payment(LIN, D(2), D("0.0001"), D(50000)) == D(10)
    assert funding_payment(LIN, D(-2), D("0.0001"), D(50000)) == D(-10)
    # Negative rate: shorts pay.
    assert funding_payment(LIN, D(-2), D("-0.0001"), D(50000)) == D(10)
    # Inverse in coin: 10,000 USD contracts at 20,000 = 0.5 XBT; 0.01 % = 0.00005 XBT.
    assert funding_payment(INV, D(10000), D("0.0001"), D(20000)) == D("0.00005")
    assert funding_payment(INV, D(0), D("0.0001"), D(20000)) == 0


@given(kinds, qtys, rates, prices)
def test_payment_is_qty_times_absolute_rate(kind: ContractKind, qty: D, rate: D, price: D) -> None:
    payment = funding_payment(kind, qty, rate, price)
    via_absolute = qty * absolute_from_relative(rate, price, kind)
    assert abs(payment - via_absolute) <= D("1e-25") * max(abs(payment), D("1e-30"))
    assert funding_payment(kind, -qty, rate, price) == -payment


def test_funding_cost_over_hours() -> None:
    start = T_17H + 15 * 60_000  # 17:15
    cost = funding_cost(LIN, D(1), D("0.0001"), D(50000), start_ms=start, end_ms=start + 8 * HOUR)
    assert cost == D(40)  # 8 boundaries x 5 USD
    assert funding_cost(INV, D(-10000), D("0.0001"), D(20000), start_ms=start, end_ms=start) == 0
    assert funding_cost(
        INV, D(-10000), D("0.0001"), D(20000), start_ms=start, end_ms=start + 24 * HOUR
    ) == D("-0.0012")
