"""Classification of Kraken's error strings, HTTP statuses and order statuses."""

from __future__ import annotations

import pytest

from krakenfutures.core.classify import (
    check_order_status,
    error_for_code,
    error_for_http,
    order_outcome,
)
from krakenfutures.errors import (
    AuthenticationError,
    ExchangeError,
    InvalidArgumentError,
    NonceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnavailableError,
)


@pytest.mark.parametrize(
    ("code", "cls", "retryable"),
    [
        ("authenticationError", AuthenticationError, False),
        ("apiLimitExceeded", RateLimitError, True),
        ("nonceBelowThreshold", NonceError, True),
        ("nonceDuplicate", NonceError, True),
        ("Unavailable", UnavailableError, True),
        ("invalidArgument", InvalidArgumentError, False),
        ("requiredArgumentMissing", InvalidArgumentError, False),
        ("notFound", NotFoundError, False),
        ("somethingNew", ExchangeError, False),
    ],
)
def test_codes(code: str, cls: type, retryable: bool) -> None:
    exc = error_for_code(code, endpoint="send_order")
    assert type(exc) is cls
    assert exc.retryable is retryable
    assert exc.code == code
    assert "send_order" in str(exc)


def test_auth_error_explains_causes() -> None:
    text = str(error_for_code("authenticationError"))
    for hint in ("Spot", "secret", "/derivatives", "nonce", "never retried"):
        assert hint in text


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, UnavailableError),
        (503, UnavailableError),
        (400, InvalidArgumentError),
    ],
)
def test_http(status: int, cls: type) -> None:
    exc = error_for_http(status)
    assert type(exc) is cls and exc.http_status == status


def test_order_statuses_are_outcomes_not_errors() -> None:
    assert order_outcome("placed").accepted
    assert order_outcome("partiallyFilled").accepted
    out = order_outcome("insufficientAvailableFunds")
    assert not out.accepted and "margin" in out.reason
    assert check_order_status("filled") is None
    err = check_order_status("postWouldExecute", endpoint="send_order")
    assert err is not None and err.status == "postWouldExecute"
    assert "unknownThing" in order_outcome("unknownThing").reason
