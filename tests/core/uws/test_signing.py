"""Spot REST ``API-Sign`` against Kraken's published vector (reference §2.1) plus properties
checked against an independent hashlib/hmac implementation."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.signing import decode_secret
from krakenfutures.core.uws.signing import sign_spot_rest, sign_spot_rest_key, verify_spot_rest
from krakenfutures.errors import CredentialsError

# Kraken's worked example: "buy 1.25 XBTUSD at $37,500" (reference §2.1, [RESTAUTH]).
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NONCE = "1616492376594"
BODY = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
PATH = "/0/private/AddOrder"
API_SIGN = (
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)
# Locally derived in the reference (not a Kraken vector): the same request as compact JSON.
JSON_BODY = (
    '{"nonce":"1616492376594","ordertype":"limit","pair":"XBTUSD","price":37500,'
    '"type":"buy","volume":1.25}'
)
JSON_SIGN = (
    "BVT3EumzzXSJHlvrinSwICz5uKKlSZPXL9cJIuKqn7ZMhHSbbtXhGdvwoDBmRz6ALXI+GVxFD0ZlGuOmfi2bxA=="
)


def independent(secret_b64: str, path: str, nonce: str, body: bytes) -> str:
    digest = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(secret_b64), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def test_published_vector() -> None:
    assert sign_spot_rest(SECRET, PATH, NONCE, BODY) == API_SIGN
    assert sign_spot_rest(SECRET, PATH, int(NONCE), BODY.encode()) == API_SIGN
    assert verify_spot_rest(decode_secret(SECRET), PATH, NONCE, BODY.encode(), API_SIGN)


def test_intermediate_digest_matches_the_reference() -> None:
    digest = hashlib.sha256((NONCE + BODY).encode()).hexdigest()
    assert digest == "23a1c1b34c6a11d641af0f24684896cb90f66fb991125c83dc357bdc3dc146f1"


def test_json_body_is_signed_as_sent() -> None:
    assert sign_spot_rest(SECRET, PATH, NONCE, JSON_BODY) == JSON_SIGN


@pytest.mark.parametrize(
    ("path", "nonce", "body"),
    [
        ("/0/private/AddOrders", NONCE, BODY),  # another endpoint
        (PATH, "1616492376595", BODY),  # another nonce
        (PATH, NONCE, BODY.replace("1.25", "1.26")),  # a changed body
    ],
)
def test_any_change_breaks_the_signature(path: str, nonce: str, body: str) -> None:
    assert not verify_spot_rest(decode_secret(SECRET), path, nonce, body, API_SIGN)


def test_garbage_header_fails_quietly() -> None:
    assert not verify_spot_rest(decode_secret(SECRET), PATH, NONCE, BODY, "ü not base64")


def test_bad_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(CredentialsError) as info:
        sign_spot_rest("not*base64*secret", PATH, NONCE, BODY)
    assert "not*base64*secret" not in str(info.value)


@given(
    secret=st.binary(min_size=1, max_size=128),
    path=st.text(alphabet="/abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0", max_size=40),
    nonce=st.integers(min_value=0, max_value=2**64 - 1),
    body=st.binary(max_size=200),
)
def test_matches_an_independent_implementation(
    secret: bytes, path: str, nonce: int, body: bytes
) -> None:
    secret_b64 = base64.b64encode(secret).decode()
    expected = independent(secret_b64, path, str(nonce), body)
    assert sign_spot_rest(secret_b64, path, nonce, body) == expected
    assert sign_spot_rest_key(secret, path, str(nonce), body) == expected
    assert verify_spot_rest(secret, path, nonce, body, expected)
