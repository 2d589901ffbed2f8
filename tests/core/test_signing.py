"""Signing against the published vectors (reference §1.3, §2) plus properties."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.signing import (
    decode_secret,
    sign_challenge,
    sign_rest,
    signed_path,
    verify_challenge,
    verify_rest,
)
from krakenfutures.errors import CredentialsError

PKS_SECRET = "cHl0aG9uLWtyYWtlbi1zZGsgdW5pdC10ZXN0IHNlY3JldCB2YWx1ZQ=="
WS_SECRET = (
    "7zxMEF5p/Z8l2p2U7Ghv6x14Af+Fx+92tPgUdVQ748FOIrEoT9bgT+bTRfXc5pz8na+hL/QdrCVG7bh9KpT0eMTm"
)
BATCH_ENC = (
    "json=%7B%22batchOrder%22%3A%5B%7B%22order%22%3A%22send%22%2C%22order_tag%22%3A%221%22%2C"
    "%22orderType%22%3A%22lmt%22%2C%22symbol%22%3A%22PF_XBTUSD%22%2C%22side%22%3A%22buy%22%2C"
    "%22size%22%3A0.01%2C%22limitPrice%22%3A50000%7D%5D%7D"
)
BATCH_RAW = (
    'json={"batchOrder":[{"order":"send","order_tag":"1","orderType":"lmt","symbol":"PF_XBTUSD",'
    '"side":"buy","size":0.01,"limitPrice":50000}]}'
)
SEND_B = "orderType=lmt&symbol=PF_XBTUSD&side=buy&size=0.01&limitPrice=50000&cliOrdId=my-id-1"

VECTORS = [
    # (secret, path as sent, post data, nonce, expected Authent)
    (
        PKS_SECRET,
        "/derivatives/api/v3/sendorder",
        "orderType=lmt&symbol=PI_XBTUSD",
        "1616492376594",
        "Txi+gJVXe3EN1brXYQ46FuV6UVtEVSKhc6dYMhPb7a/HXZLGvO6m9UUg+KVKqhLxrbllOPI7qRkHYmPfJZZSGA==",
    ),
    (
        WS_SECRET,
        "/api/v3/orderbook",
        "symbol=fi_xbtusd_180615",
        "1415957147987",
        "JHLjN8OUDYaXjHRGT0z4nUvJorORrXoL9omot4BK5ihtp6jKHPHfzX9MrpVjqAgKqGJejoO3gySwoVCMJQlx/Q==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/sendorder",
        SEND_B,
        "1700000000000",
        "cHBrkyCNUjWUmNdDMSJ9r4VXSYl9rx+AQMe7hIF9K7eYbrSTTIcwf94PIeGcaMhOtw+sFE6dtvHqebMATPOp4A==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/sendorder",
        SEND_B,
        "",
        "hK/MIMeWLQmMAG32kHDf2wHZGXX6TIhh1UhPSPjyKgdgsSG5F02WeeirwfuLWsbzCtnx03gsXaNZFBaOpA97Vg==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/batchorder",
        BATCH_ENC,
        "1700000000001",
        "plyHfGs5WVyNoW+XBPnSYOvkWsFx8X3YpscPEXn6Oq3Wr4Em7L17rUPKB0prFj+LXTyCClIOok0y9udVau9rQg==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/batchorder",
        BATCH_RAW,
        "1700000000001",
        "ahiCic4TimzQaeTXsSgmnkMhJLQ4JOFLQeQtTBY4dyYVnixaiUqxwLQ7acJmFobqIPu++j9yr5TNjb3ztONddA==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/accounts",
        "",
        "1700000000002",
        "04nGyThvNJIu2z63MuZ8zPv//1GBRcaxQzJpE6f44QTktiLeKa1U04TUw+1FtPPAMKl0bsVvc/733z3gdsvXkg==",
    ),
    (
        WS_SECRET,
        "/derivatives/api/v3/accounts",
        "",
        "",
        "gF9iu/gh5ia5pNW4Ljh2bVCMh+kDiJcge73pOkpBG+c5eJUmWgHY0zMkMXkvOHb9RnCWKKfzg6lCzyYYI95+Jg==",
    ),
    (
        WS_SECRET,
        "/api/history/v2/executions",
        "since=1700000000000&sort=asc",
        "1700000000003",
        "0kj3gXr2WTclieO+ONiwS3aY/shGwXgIGLyumemnVrdgeCPkwBrGxq3GhLyQymZdgm6qdZAauxMQb+8O3zmGOQ==",
    ),
    (
        WS_SECRET,
        "/api/v3/sendorder",
        "greeting=hello%20world",
        "1700000000004",
        "y7OGF/T2eU+V+iEDyRAIIOxnEiacE3gUYI69G6aRKQ9W+zl5mwWuU6q4jW4Vt9GYm5peGnp+ZwWmdid3YxaA2w==",
    ),
    (
        WS_SECRET,
        "/api/v3/sendorder",
        "greeting=hello world",
        "1700000000004",
        "hfxAlgZaWvLq/6LE8oWZ0CKh2CdT8vcVLqMoIKczE3eqHEo5RynG4jW48JBSsWuvljFca+R7Q7ToyyxEiXdXyA==",
    ),
]


@pytest.mark.parametrize(("secret", "path", "post", "nonce", "expected"), VECTORS)
def test_published_vectors(secret: str, path: str, post: str, nonce: str, expected: str) -> None:
    assert sign_rest(decode_secret(secret), path, post, nonce) == expected
    assert verify_rest(decode_secret(secret), path, post.encode(), nonce, expected)


def test_unstripped_path_gives_the_signature_a_server_rejects() -> None:
    key = decode_secret(PKS_SECRET)
    # Signing with /derivatives kept would be B′: prove our stripping is what changes it.
    digest = hashlib.sha256(
        b"orderType=lmt&symbol=PI_XBTUSD1616492376594/derivatives/api/v3/sendorder"
    )
    wrong = base64.b64encode(hmac.new(key, digest.digest(), hashlib.sha512).digest()).decode()
    assert (
        wrong
        == "N5lVhHQgo+qDxBxIwXgpVBph/Cz1XsnGPbzLIRPC8mI79G/Wo8QpeO9IucEHl5Aur+67bSZfzmPePeIDE1jx6Q=="
    )
    assert (
        sign_rest(
            key, "/derivatives/api/v3/sendorder", "orderType=lmt&symbol=PI_XBTUSD", "1616492376594"
        )
        != wrong
    )


def test_ws_challenge_vector() -> None:
    key = decode_secret(WS_SECRET)
    sig = sign_challenge(key, "c100b894-1729-464d-ace1-52dbce11db42")
    assert (
        sig
        == "4JEpF3ix66GA2B+ooK128Ift4XQVtc137N9yeg4Kqsn9PI0Kpzbysl9M1IeCEdjg0zl00wkVqcsnG4bmnlMb3A=="
    )
    assert verify_challenge(key, "c100b894-1729-464d-ace1-52dbce11db42", sig)
    assert not verify_challenge(key, "c100b894-1729-464d-ace1-52dbce11db43", sig)


def test_signed_path_strips_only_leading_derivatives() -> None:
    assert signed_path("/derivatives/api/v3/accounts") == "/api/v3/accounts"
    assert signed_path("/api/history/v3/account-log") == "/api/history/v3/account-log"
    assert signed_path("/api/derivatives/x") == "/api/derivatives/x"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "not base64!!",
        "abc",
        "rttp4AzwRfYEdQ7R7X8Z/04Y4TZPa97pqCypi3xXxAqftygftnI6H9yGV+OcUOOJeFtZkr8mVwbAndU3Kz4Q+eG",
    ],
)
def test_bad_secrets_are_refused_without_echo(bad: str) -> None:
    with pytest.raises(CredentialsError) as info:
        decode_secret(bad)
    if len(bad.strip()) > 4:
        assert bad.strip() not in str(info.value)


def test_wrong_secret_type() -> None:
    with pytest.raises(CredentialsError, match="must be a str"):
        decode_secret(12345)  # type: ignore[arg-type]


def _reference(secret: bytes, path: str, post: bytes, nonce: str) -> str:
    if path.startswith("/derivatives"):
        path = path[len("/derivatives") :]
    digest = hashlib.sha256(post + nonce.encode() + path.encode()).digest()
    return base64.b64encode(hmac.new(secret, digest, hashlib.sha512).digest()).decode()


@given(
    secret=st.binary(min_size=1, max_size=96),
    path=st.sampled_from(
        ["/derivatives/api/v3/sendorder", "/api/history/v3/orders", "/derivatives/api/v3/x"]
    ),
    post=st.binary(max_size=300),
    nonce=st.one_of(st.just(""), st.integers(0, 10**20).map(str)),
)
def test_matches_independent_implementation(
    secret: bytes, path: str, post: bytes, nonce: str
) -> None:
    key = decode_secret(base64.b64encode(secret).decode())
    assert key == secret
    assert sign_rest(key, path, post, nonce) == _reference(secret, path, post, nonce)


@given(post=st.binary(min_size=1, max_size=200), idx=st.integers(0, 10_000), bit=st.integers(0, 7))
def test_any_flipped_bit_in_post_data_is_refused(post: bytes, idx: int, bit: int) -> None:
    key = decode_secret(WS_SECRET)
    sig = sign_rest(key, "/api/v3/sendorder", post, "1")
    i = idx % len(post)
    flipped = post[:i] + bytes([post[i] ^ (1 << bit)]) + post[i + 1 :]
    assert not verify_rest(key, "/api/v3/sendorder", flipped, "1", sig)
