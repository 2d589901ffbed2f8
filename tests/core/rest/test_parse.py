"""Reply parsing: envelopes, error shapes, numbers as strings or JSON numbers."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from krakenfutures.core.rest.endpoint import Endpoint, Permission, Pool
from krakenfutures.core.rest.parse import parse_response
from krakenfutures.errors import (
    AuthenticationError,
    InvalidArgumentError,
    PermissionDeniedError,
    RateLimitError,
    RemoteProtocolError,
    UnavailableError,
)


class Pos(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    symbol: str
    size: Decimal
    unrealized_funding: Decimal | None = None


class Bare(msgspec.Struct, frozen=True):
    elements: list[int]


POS = Endpoint(
    "get_open_positions",
    "GET",
    "/derivatives/api/v3/openpositions",
    Permission.READ,
    Pool.DERIVATIVES,
    2,
    None,
    list[Pos],
    key="openPositions",
)
HIST = Endpoint(
    "history_orders",
    "GET",
    "/api/history/v3/orders",
    Permission.READ,
    Pool.HISTORY,
    1,
    None,
    Bare,
    envelope=False,
)


def test_success_numbers_and_strings() -> None:
    body = (
        b'{"result":"success","serverTime":"2026-01-01T00:00:00.000Z","openPositions":'
        b'[{"symbol":"PF_XBTUSD","size":0.5,"unrealizedFunding":"-1E-8","extra":1},'
        b'{"symbol":"PI_XBTUSD","size":"100"}]}'
    )
    out = parse_response(POS, 200, body)
    assert out[0].size == Decimal("0.5") and out[0].unrealized_funding == Decimal("-1E-8")
    assert out[1].size == Decimal(100)


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            200,
            b'{"result":"error","serverTime":"x","error":"authenticationError"}',
            AuthenticationError,
        ),
        (200, b'{"result":"error","error":"apiLimitExceeded"}', RateLimitError),
        (
            500,
            b'{"status":"INTERNAL_SERVER_ERROR","result":"error","errors":[{"code":92,"message":"INSUFFICIENT_MARGIN"}]}',
            Exception,
        ),
        (503, b"<html>down</html>", UnavailableError),
        (400, b"", InvalidArgumentError),
        (200, b'{"result":"error","errors":["requiredArgumentMissing"]}', InvalidArgumentError),
    ],
)
def test_errors(status: int, body: bytes, cls: type) -> None:
    with pytest.raises(cls):
        parse_response(POS, status, body)


def test_history_401_body() -> None:
    body = b'{"reason":"You are not authorized to access this endpoint.","status":"unauthorized"}'
    with pytest.raises(PermissionDeniedError, match="not authorized"):
        parse_response(HIST, 401, body)


def test_bare_json_and_garbage() -> None:
    assert parse_response(HIST, 200, b'{"elements":[1,2]}').elements == [1, 2]
    with pytest.raises(RemoteProtocolError):
        parse_response(POS, 200, b"not json")
    with pytest.raises(RemoteProtocolError):
        parse_response(POS, 200, b'{"result":"success"}')
