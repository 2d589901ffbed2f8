"""Request building: encoding rules and signatures over exactly the bytes sent."""

from __future__ import annotations

import base64
from decimal import Decimal
from urllib.parse import parse_qsl

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.rest.build import build_request, encode_pairs, encode_value
from krakenfutures.core.rest.endpoint import Endpoint, Permission, Pool
from krakenfutures.core.signing import decode_secret, sign_rest
from krakenfutures.core.types import OrderType, Side
from krakenfutures.errors import ValidationError

SECRET = base64.b64encode(b"k" * 64).decode()
KEY = decode_secret(SECRET)


class Send(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={
        "order_type": "orderType",
        "qty": "size",
        "limit_price": "limitPrice",
        "reduce_only": "reduceOnly",
        "cli_ord_id": "cliOrdId",
    },
):
    order_type: OrderType
    symbol: str
    side: Side
    qty: Decimal
    limit_price: Decimal | None = None
    reduce_only: bool | None = None
    cli_ord_id: str | None = None


class Status(msgspec.Struct, frozen=True, kw_only=True, rename={"order_ids": "orderIds"}):
    order_ids: list[str] | None = None


class Ticker(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str


SEND = Endpoint(
    "send_order",
    "POST",
    "/derivatives/api/v3/sendorder",
    Permission.FULL,
    Pool.DERIVATIVES,
    10,
    Send,
    dict,
)
STATUS = Endpoint(
    "get_order_status",
    "POST",
    "/derivatives/api/v3/orders/status",
    Permission.FULL,
    Pool.DERIVATIVES,
    1,
    Status,
    dict,
)
TICKER = Endpoint(
    "get_ticker",
    "GET",
    "/derivatives/api/v3/tickers/{symbol}",
    Permission.PUBLIC,
    Pool.NONE,
    0,
    Ticker,
    dict,
    path_params=("symbol",),
)
HIST = Endpoint(
    "history_executions",
    "GET",
    "/api/history/v2/executions",
    Permission.READ,
    Pool.HISTORY,
    1,
    Status,
    dict,
)


def test_post_goes_in_body_and_is_signed_as_sent() -> None:
    p = Send(
        order_type=OrderType.LMT,
        symbol="PF_XBTUSD",
        side=Side.BUY,
        qty=Decimal("0.01"),
        limit_price=Decimal("50000"),
        reduce_only=True,
        cli_ord_id="my id/1",
    )
    r = build_request(SEND, p, api_key="pub", key=KEY, nonce="42")
    assert r.query == ""
    assert r.body == (
        b"orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=50000"
        b"&reduceOnly=true&cliOrdId=my%20id%2F1"
    )
    assert r.headers["Authent"] == sign_rest(KEY, "/api/v3/sendorder", r.body, "42")
    assert r.headers["Nonce"] == "42" and r.headers["APIKey"] == "pub"
    assert r.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert r.cost == 10


def test_no_nonce_means_no_header_and_empty_nonce_in_signature() -> None:
    p = Send(order_type=OrderType.MKT, symbol="PF_XBTUSD", side=Side.SELL, qty=Decimal(1))
    r = build_request(SEND, p, api_key="pub", key=KEY, nonce="")
    assert "Nonce" not in r.headers
    assert r.headers["Authent"] == sign_rest(KEY, "/api/v3/sendorder", r.body, "")


def test_lists_repeat_keys_and_get_uses_query() -> None:
    r = build_request(HIST, Status(order_ids=["a", "b c"]), api_key="k", key=KEY, nonce="1")
    assert r.query == "orderIds=a&orderIds=b%20c" and r.body == b""
    assert r.target == "/api/history/v2/executions?orderIds=a&orderIds=b%20c"
    # history paths are signed whole
    assert r.headers["Authent"] == sign_rest(KEY, "/api/history/v2/executions", r.query, "1")


def test_path_params_and_public_unsigned() -> None:
    r = build_request(TICKER, Ticker(symbol="PF_XBTUSD"), api_key="k", key=KEY)
    assert r.path == "/derivatives/api/v3/tickers/PF_XBTUSD" and r.query == ""
    assert "Authent" not in r.headers


def test_private_without_credentials_says_what_to_do() -> None:
    with pytest.raises(ValidationError, match="api_secret"):
        build_request(STATUS, Status(order_ids=["x"]))


def test_values() -> None:
    assert encode_value(True) == "true" and encode_value(False) == "false"
    assert encode_value(Decimal("1E-8")) == "0.00000001"
    assert encode_value(Decimal("5E+3")) == "5000"
    with pytest.raises(ValidationError, match="Decimal"):
        encode_value(0.1)
    with pytest.raises(ValidationError):
        encode_value(Decimal("NaN"))


def test_batch_json_field() -> None:
    text = encode_pairs([("json", [{"order": "send", "size": Decimal("0.01")}])])
    assert (
        text
        == "json=%7B%22batchOrder%22%3A%5B%7B%22order%22%3A%22send%22%2C%22size%22%3A0.01%7D%5D%7D"
    )


@given(st.lists(st.tuples(st.text(min_size=1, max_size=8), st.text(max_size=20)), max_size=6))
def test_encoding_round_trips_through_a_standard_decoder(pairs: list[tuple[str, str]]) -> None:
    text = encode_pairs(pairs)
    assert not any(c in text for c in " +#")
    assert parse_qsl(text, keep_blank_values=True) == [(k, v) for k, v in pairs]
    assert encode_pairs(pairs) == text  # the same way every time


from krakenfutures.core.rest.build import encode_params, wire_pairs  # noqa: E402
from krakenfutures.core.rest.schema_orders import OrderStatusParams, SendOrderParams  # noqa: E402

_dec = st.decimals(
    allow_nan=False, allow_infinity=False, places=8, min_value=-(10**9), max_value=10**9
)


@given(
    order_type=st.sampled_from([*OrderType, "lmt", "post"]),
    side=st.sampled_from([*Side, "sell"]),
    qty=st.one_of(_dec, _dec.map(str), st.integers(0, 10**6)),
    limit_price=st.one_of(st.none(), _dec),
    reduce_only=st.one_of(st.none(), st.booleans()),
    cli_ord_id=st.one_of(st.none(), st.text(max_size=20)),
)
def test_generated_encoder_matches_the_generic_one(
    order_type, side, qty, limit_price, reduce_only, cli_ord_id
) -> None:
    p = SendOrderParams(
        order_type=order_type,
        symbol="PF_XBTUSD",
        side=side,
        qty=qty,
        limit_price=limit_price,
        reduce_only=reduce_only,
        cli_ord_id=cli_ord_id,
    )
    assert encode_params(p) == encode_pairs(wire_pairs(p))


def test_generated_encoder_lists_and_floats() -> None:
    assert encode_params(OrderStatusParams(order_ids=["a", "b"])) == "orderIds=a&orderIds=b"
    with pytest.raises(ValidationError):
        encode_params(SendOrderParams(order_type="lmt", symbol="X", side="buy", qty=0.5))  # type: ignore[arg-type]
