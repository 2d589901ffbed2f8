"""Retry decisions: who is retried, after how long, and when an unknown outcome blocks it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.classify import error_for_code, error_for_http
from krakenfutures.core.retry import RetryPolicy, check_not_executed
from krakenfutures.errors import (
    AuthenticationError,
    ConfigError,
    ConnectError,
    CredentialsError,
    ExchangeError,
    InsufficientFundsError,
    InvalidArgumentError,
    KrakenFuturesError,
    NonceError,
    NotFoundError,
    OrderRejectedError,
    PermissionDeniedError,
    RateLimitError,
    RemoteProtocolError,
    StateError,
    TimeoutError_,
    TransportError,
    UnavailableError,
    ValidationError,
)

POLICY = RetryPolicy()

NEVER = [
    AuthenticationError("x", code="authenticationError"),
    PermissionDeniedError("x", code="http_403", http_status=403),
    InvalidArgumentError("x", code="invalidArgument"),
    NotFoundError("x", code="notFound"),
    InsufficientFundsError("x", code="insufficientFunds"),
    ValidationError("bad tick"),
    CredentialsError("bad secret"),
    OrderRejectedError("x", status="postWouldExecute"),
    RemoteProtocolError("garbage"),
    StateError("broken"),
    ExchangeError("x", code="somethingNew"),
]

ALWAYS = [
    RateLimitError("x", code="apiLimitExceeded"),
    error_for_http(429),
    ConnectError("refused"),
    UnavailableError("x", code="Unavailable"),
    UnavailableError("x", code="marketUnavailable"),
]

ONLY_IF_IDEMPOTENT = [
    TimeoutError_("no answer"),
    TransportError("reset mid-reply"),
    error_for_http(502),
    error_for_http(503),
    error_for_code("Server Error", http_status=500),
    error_for_code("unknownError"),
]


@pytest.mark.parametrize("error", NEVER, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("idempotent", [True, False])
def test_refusals_are_never_retried(error: KrakenFuturesError, idempotent: bool) -> None:
    assert POLICY.decide(error, 0, rand=0.5, idempotent=idempotent) is None
    assert (
        RetryPolicy(retry_unknown_outcome=True).decide(error, 0, rand=0.5, idempotent=idempotent)
        is None
    )


@pytest.mark.parametrize("error", ALWAYS, ids=lambda e: f"{type(e).__name__}-{e}")
@pytest.mark.parametrize("idempotent", [True, False])
def test_nothing_executed_so_always_retried(error: KrakenFuturesError, idempotent: bool) -> None:
    assert POLICY.decide(error, 0, rand=1.0, idempotent=idempotent) == 250
    assert POLICY.decide(error, 3, rand=1.0, idempotent=idempotent) == 2_000


@pytest.mark.parametrize("error", ONLY_IF_IDEMPOTENT, ids=lambda e: f"{type(e).__name__}-{e}")
def test_unknown_outcome_is_retried_only_when_idempotent(error: KrakenFuturesError) -> None:
    assert POLICY.decide(error, 0, rand=1.0, idempotent=True) == 250
    assert POLICY.decide(error, 0, rand=1.0, idempotent=False) is None
    bold = RetryPolicy(retry_unknown_outcome=True)
    assert bold.decide(error, 0, rand=1.0, idempotent=False) == 250


def test_nonce_error_is_retried_once_at_once() -> None:
    err = NonceError("x", code="nonceBelowThreshold")
    assert POLICY.decide(err, 0, rand=0.9, idempotent=False) == 0
    assert POLICY.decide(err, 1, rand=0.9, idempotent=False) is None
    # After a rate-limit retry, a first nonce error still gets its retry when the caller counts.
    assert POLICY.decide(err, 1, rand=0.9, idempotent=False, nonce_retries_done=0) == 0
    assert POLICY.decide(err, 2, rand=0.9, idempotent=False, nonce_retries_done=1) is None
    assert RetryPolicy(nonce_retries=0).decide(err, 0, rand=0.9, idempotent=True) is None


def test_max_attempts_counts_the_first_try() -> None:
    err = RateLimitError("x", code="apiLimitExceeded")
    policy = RetryPolicy(max_attempts=3)
    assert policy.decide(err, 0, rand=0.5, idempotent=True) is not None
    assert policy.decide(err, 1, rand=0.5, idempotent=True) is not None
    assert policy.decide(err, 2, rand=0.5, idempotent=True) is None
    assert RetryPolicy(max_attempts=1).decide(err, 0, rand=0.5, idempotent=True) is None
    nonce = NonceError("x", code="nonceDuplicate")
    assert RetryPolicy(max_attempts=1).decide(nonce, 0, rand=0.5, idempotent=True) is None


def test_backoff_doubles_up_to_the_cap() -> None:
    err = ConnectError("refused")
    caps = [POLICY.decide(err, a, rand=1.0, idempotent=True) for a in range(4)]
    assert caps == [250, 500, 1_000, 2_000]
    assert RetryPolicy(max_attempts=100).decide(err, 90, rand=1.0, idempotent=True) == 8_000
    assert POLICY.decide(err, 2, rand=0.0, idempotent=True) == 0


@given(
    policy=st.builds(
        RetryPolicy,
        max_attempts=st.integers(min_value=1, max_value=200),
        base_delay_ms=st.integers(min_value=0, max_value=1_000),
        max_delay_ms=st.integers(min_value=1_000, max_value=60_000),
        retry_unknown_outcome=st.booleans(),
    ),
    attempt=st.integers(min_value=0, max_value=300),
    rand=st.floats(min_value=0.0, max_value=1.0),
    idempotent=st.booleans(),
    error=st.sampled_from(NEVER + ALWAYS + ONLY_IF_IDEMPOTENT),
)
def test_delays_stay_within_bounds_and_rules(
    policy: RetryPolicy,
    attempt: int,
    rand: float,
    idempotent: bool,
    error: KrakenFuturesError,
) -> None:
    delay = policy.decide(error, attempt, rand=rand, idempotent=idempotent)
    if attempt + 1 >= policy.max_attempts or any(error is e for e in NEVER):
        assert delay is None
        return
    if any(error is e for e in ONLY_IF_IDEMPOTENT) and not (
        idempotent or policy.retry_unknown_outcome
    ):
        assert delay is None
        return
    assert delay is not None
    assert 0 <= delay <= min(policy.max_delay_ms, policy.base_delay_ms * 2**attempt)


@given(attempt=st.integers(min_value=0, max_value=50), r1=st.floats(0, 1), r2=st.floats(0, 1))
def test_backoff_is_monotone_in_rand(attempt: int, r1: float, r2: float) -> None:
    lo, hi = sorted((r1, r2))
    assert POLICY.backoff_ms(attempt, lo) <= POLICY.backoff_ms(attempt, hi)


@pytest.mark.parametrize(
    ("error", "not_executed"),
    [
        (ConnectError("refused"), True),
        (TimeoutError_("no answer"), False),
        (UnavailableError("x", code="Unavailable"), True),
        (error_for_http(500), False),
        (error_for_http(400), True),
        (error_for_code("Server Error"), False),
        (error_for_code("invalidArgument"), True),
        (ExchangeError("x", code="INSUFFICIENT_MARGIN", http_status=500), True),
        (OrderRejectedError("x", status="selfFill"), True),
        (ValidationError("x"), True),
        (RemoteProtocolError("x"), False),
    ],
    ids=repr,
)
def test_check_not_executed(error: KrakenFuturesError, not_executed: bool) -> None:
    assert check_not_executed(error) is not_executed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_ms": -1},
        {"max_delay_ms": 10, "base_delay_ms": 20},
        {"nonce_retries": -1},
        {"max_attempts": 2.5},
    ],
)
def test_bad_policies_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("rand", [-0.1, 1.1, float("nan")])
def test_rand_outside_unit_interval_is_refused(rand: float) -> None:
    with pytest.raises(ConfigError, match="rand"):
        POLICY.decide(ConnectError("x"), 0, rand=rand, idempotent=True)
    with pytest.raises(ConfigError, match="attempt"):
        POLICY.decide(ConnectError("x"), -1, rand=0.5, idempotent=True)
