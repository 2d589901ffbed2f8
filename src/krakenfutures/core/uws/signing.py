"""Kraken Spot REST signatures (``API-Sign``), the key to a uws token.

uws authenticates with a token from Spot REST ``POST /0/private/GetWebSocketsToken``, signed as
every Spot private call (reference §2.1)::

    API-Sign = base64(HMAC-SHA512(base64decode(secret), url_path + SHA256(nonce + post_data)))

* ``url_path`` is the URI path from ``/0/private`` on (``/0/private/GetWebSocketsToken``);
* ``SHA256(...)`` is the raw 32-byte digest, appended to the path bytes;
* ``nonce`` is the nonce exactly as it appears in the body, and ``post_data`` the exact body
  sent (form-encoded or JSON), which itself contains the nonce.

The Futures ``Authent`` (:mod:`krakenfutures.core.signing`) hashes ``post_data + nonce + path``
instead and signs only the digest; a key of one kind is refused by the other venue. Both the
client (signing) and the simulator (verifying) use these functions. Pure: nonces come in as
arguments; secrets never appear in errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from krakenfutures.core.signing import decode_secret

SPOT_PRIVATE_PREFIX = "/0/private/"
"""Where Spot private endpoints live; the signed path starts here."""


def _message(url_path: str, nonce: str | int, post_data: bytes | str) -> bytes:
    if isinstance(post_data, str):
        post_data = post_data.encode()
    return url_path.encode() + hashlib.sha256(str(nonce).encode() + post_data).digest()


def sign_spot_rest_key(key: bytes, url_path: str, nonce: str | int, post_data: bytes | str) -> str:
    """``API-Sign`` with an already decoded secret (see :func:`decode_secret`).

    Args:
        key: the decoded HMAC key.
        url_path: the request path (``/0/private/GetWebSocketsToken``), no host, no query.
        nonce: the body's nonce, as sent.
        post_data: the exact body bytes sent.
    """
    mac = hmac.new(key, _message(url_path, nonce, post_data), hashlib.sha512).digest()
    return base64.b64encode(mac).decode("ascii")


def sign_spot_rest(
    secret_b64: str | bytes, url_path: str, nonce: str | int, post_data: bytes | str
) -> str:
    """``API-Sign`` for one Spot REST private request.

    Args:
        secret_b64: the API secret as Kraken shows it (base64 text).
        url_path: the request path (``/0/private/GetWebSocketsToken``), no host, no query.
        nonce: the body's nonce, as sent.
        post_data: the exact body bytes sent (it contains ``nonce`` itself).

    Raises:
        CredentialsError: the secret is empty or not base64 (the message never shows it).
    """
    return sign_spot_rest_key(decode_secret(secret_b64), url_path, nonce, post_data)


def verify_spot_rest(
    key: bytes, url_path: str, nonce: str | int, post_data: bytes | str, api_sign: str
) -> bool:
    """Constant-time check of an ``API-Sign`` header (the simulator's side).

    ``key`` is the decoded secret; a header that is not ASCII simply fails the check.
    """
    expected = sign_spot_rest_key(key, url_path, nonce, post_data)
    return hmac.compare_digest(expected.encode(), api_sign.encode("utf-8", "replace"))


__all__ = ["SPOT_PRIVATE_PREFIX", "sign_spot_rest", "sign_spot_rest_key", "verify_spot_rest"]
