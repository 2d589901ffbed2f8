"""The fast paths of request building give exactly what the generic rules give.

``build_request`` uses a generated per-struct encoder and a per-endpoint route; these tests pin
them to the generic encoder (``encode_pairs(wire_pairs(...))``) and to ``sign_rest`` over the
bytes sent, for every params struct of the table and for values of unexpected types.
"""

from __future__ import annotations

import base64
import types
import typing
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.rest.build import build_request, encode_pairs, encode_params, wire_pairs
from krakenfutures.core.rest.endpoint import Endpoint, Permission, Pool, TypeRef
from krakenfutures.core.rest.endpoints import BY_NAME, ENDPOINTS
from krakenfutures.core.rest.schema_orders import EditOrderParams, SendOrderParams
from krakenfutures.core.signing import decode_secret, sign_rest
from krakenfutures.core.types import OrderType, QtyMode, Side, TriggerSignal
from krakenfutures.errors import ValidationError

KEY = decode_secret(base64.b64encode(b"s" * 64).decode())

_finite = st.decimals(allow_nan=False, allow_infinity=False, places=10).filter(
    lambda d: abs(d) < 10**12
)
# Exponent forms (1E+3, 5E-9) must be sent in plain notation.
_exotic = st.sampled_from([Decimal("1E+3"), Decimal("5E-9"), Decimal("-0"), Decimal("0E-12")])
_text = st.text(max_size=12)
_any_value = st.one_of(
    st.none(),
    _finite,
    _exotic,
    _text,
    st.booleans(),
    st.integers(-5, 10**6),
    st.lists(_text, max_size=3),
    st.sampled_from([*OrderType, *Side, *TriggerSignal, *QtyMode]),
)


def _same_as_generic(params: msgspec.Struct, skip: tuple[str, ...] = ()) -> None:
    try:
        expected = encode_pairs(wire_pairs(params, skip))
    except ValidationError:
        with pytest.raises(ValidationError):
            encode_params(params, skip)
        return
    assert encode_params(params, skip) == expected


@settings(max_examples=300)
@given(
    order_type=st.one_of(st.sampled_from([*OrderType]), _text),
    side=st.one_of(st.sampled_from([*Side]), _text),
    qty=st.one_of(_finite, _exotic, _text, st.integers(0, 10**6)),
    limit_price=st.one_of(st.none(), _finite, _exotic, _text),
    stop_price=st.one_of(st.none(), _finite),
    trigger_signal=st.one_of(st.none(), st.sampled_from([*TriggerSignal]), _text),
    reduce_only=st.one_of(st.none(), st.booleans(), st.integers(0, 1), _text),
    cli_ord_id=st.one_of(st.none(), _text, st.integers(0, 99)),
    unit=st.one_of(st.none(), st.sampled_from(["PERCENT", "QUOTE_CURRENCY"]), _text),
    offset=st.one_of(st.none(), _finite),
    broker=st.one_of(st.none(), _text),
)
def test_send_order_encoder_matches_the_generic_rules(
    order_type: Any,
    side: Any,
    qty: Any,
    limit_price: Any,
    stop_price: Any,
    trigger_signal: Any,
    reduce_only: Any,
    cli_ord_id: Any,
    unit: Any,
    offset: Any,
    broker: Any,
) -> None:
    p = SendOrderParams(
        order_type=order_type,
        symbol="PF_XBTUSD",
        side=side,
        qty=qty,
        limit_price=limit_price,
        stop_price=stop_price,
        trigger_signal=trigger_signal,
        reduce_only=reduce_only,
        cli_ord_id=cli_ord_id,
        trailing_stop_deviation_unit=unit,
        limit_price_offset_value=offset,
        limit_price_offset_unit=unit,
        broker=broker,
    )
    _same_as_generic(p)


@given(values=st.lists(_any_value, min_size=9, max_size=9))
def test_any_value_in_any_field_encodes_as_the_generic_rules_say(values: list[Any]) -> None:
    names = [f.name for f in msgspec.structs.fields(EditOrderParams)]
    _same_as_generic(EditOrderParams(**dict(zip(names, values, strict=True))))


def test_unexpected_types_take_the_generic_path() -> None:
    # A float must be refused wherever it appears; a list in a str field repeats the key; an
    # unhashable value where a str is declared does not break the per-field piece cache.
    p = SendOrderParams(order_type="lmt", symbol="X", side="buy", qty=Decimal(1))
    for field, value in (("qty", 0.5), ("limit_price", 1.5), ("cli_ord_id", 2.5)):
        with pytest.raises(ValidationError, match="float"):
            encode_params(msgspec.structs.replace(p, **{field: value}))
    listed = msgspec.structs.replace(p, cli_ord_id=["a", "b c"])  # type: ignore[arg-type]
    assert encode_params(listed).endswith("&cliOrdId=a&cliOrdId=b%20c")
    with pytest.raises(ValidationError, match="non-finite"):
        encode_params(msgspec.structs.replace(p, qty=Decimal("NaN")))


def _sample(tp: Any) -> Any:
    """A plausible value for a params field annotated ``tp``."""
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    first = next(a for a in typing.get_args(tp) if a is not type(None)) if union else tp
    if typing.get_origin(first) is typing.Literal:
        return typing.get_args(first)[0]
    if typing.get_origin(first) is list:
        return [_sample(typing.get_args(first)[0])] * 2
    if isinstance(first, type) and issubclass(first, msgspec.Struct):
        return _make(first)
    samples: dict[Any, Any] = {
        str: "PF_XBT/USD 1",
        Decimal: Decimal("12.50"),
        bool: True,
        int: 7,
    }
    if first in samples:
        return samples[first]
    if isinstance(first, type) and hasattr(first, "__members__"):
        return next(iter(first.__members__.values()))
    return None


def _make(cls: type[msgspec.Struct]) -> msgspec.Struct:
    hints = typing.get_type_hints(cls)
    values = {f.name: _sample(hints[f.name]) for f in msgspec.structs.fields(cls)}
    return cls(**{k: v for k, v in values.items() if v is not None})


@pytest.mark.parametrize(
    "endpoint", [ep for ep in ENDPOINTS if ep.params is not None], ids=lambda ep: ep.name
)
def test_every_endpoint_builds_what_the_generic_rules_and_sign_rest_say(
    endpoint: Endpoint,
) -> None:
    assert endpoint.params is not None
    params = _make(endpoint.params)
    for _ in range(2):  # the second call runs on the cached route and encoder
        r = build_request(endpoint, params, api_key="pub", key=KEY, nonce="9")
        encoded = encode_pairs(wire_pairs(params, endpoint.path_params))
        assert (r.query if endpoint.method == "GET" else r.body.decode()) == encoded
        assert (r.body if endpoint.method == "GET" else r.query) in (b"", "")
        if endpoint.auth:
            sent = r.query.encode() + r.body
            assert r.headers["Authent"] == sign_rest(KEY, r.path, sent, "9")
            assert r.headers["Nonce"] == "9" and r.headers["APIKey"] == "pub"
        else:
            assert "Authent" not in r.headers
        assert "{" not in r.path
        assert r.cost == endpoint.cost_of(dict(wire_pairs(params)))


def test_extra_headers_and_get_without_nonce() -> None:
    ep = BY_NAME["get_fills"]
    params = ep.params() if ep.params else None
    r = build_request(ep, params, api_key="pub", key=KEY, extra_headers={"X-Trace": "1"})
    assert r.headers == {
        "APIKey": "pub",
        "Authent": sign_rest(KEY, ep.path, b"", ""),
        "X-Trace": "1",
    }


def test_wrong_params_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="takes SendOrderParams"):
        build_request(BY_NAME["send_order"], EditOrderParams(order_id="x"), api_key="k", key=KEY)


def test_endpoint_types_resolve_lazily_and_once() -> None:
    ep = Endpoint(
        "send_order",
        "POST",
        "/derivatives/api/v3/sendorder",
        Permission.FULL,
        Pool.DERIVATIVES,
        10,
        TypeRef("krakenfutures.core.rest.schema_orders", "SendOrderParams"),
        TypeRef("krakenfutures.core.rest.schema_orders", "list[SendStatus]"),
    )
    assert ep.params is SendOrderParams
    send_status = BY_NAME["send_order"].result
    assert ep.result == list[send_status]
    assert ep.wire_to_field["size"] == "qty" and ep.auth
    with pytest.raises(AttributeError, match="immutable"):
        ep.name = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ep.nonexistent  # type: ignore[attr-defined]  # noqa: B018
    assert "send_order" in repr(ep)
