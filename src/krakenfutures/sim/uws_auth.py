"""Spot keys, Spot nonces and uws tokens of the simulator (reference §2.1-§2.4), sans-I/O.

* :class:`SpotKey`: a ``kind = "spot"`` key pair from ``sim.toml``: its account, whether it may
  trade (``permission = "full"``) and whether it has "Access WebSockets API".
* :class:`SpotNonces`: Spot's nonce rule, per key: strictly above the last accepted nonce
  (``EAPI:Invalid nonce`` otherwise); no window (Kraken's default nonce window is 0).
* :class:`TokenStore`: tokens issued by ``GetWebSocketsToken``, drawn from the simulator's
  seeded RNG. A token must be *used* within :data:`TOKEN_TTL_MS` of its creation; once a uws
  connection has accepted it, it stays valid on that connection (the connection keeps its own
  grant, see :mod:`krakenfutures.sim.uws`), as Kraken documents.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

from krakenfutures.core.signing import decode_secret

TOKEN_TTL_MS = 900_000
"""A token must be used within 15 minutes of creation (``expires: 900``)."""
TOKEN_LENGTH = 43
"""Characters in a token, as Kraken's example ``1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw``."""
MAX_NONCE = 2**64 - 1
_ALPHABET = string.ascii_letters + string.digits


@dataclass
class SpotKey:
    """A Spot key pair the simulator accepts on Spot REST (and, through tokens, on uws)."""

    api_key: str
    api_secret: str = field(repr=False)
    account: str
    trade: bool = True
    websocket: bool = True
    key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = decode_secret(self.api_secret)

    def __repr__(self) -> str:
        return f"SpotKey({self.api_key[:4]}…, account={self.account!r}, trade={self.trade})"


class SpotNonces:
    """Per-key Spot nonces: each must be strictly greater than the last one accepted."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def check(self, api_key: str, nonce: int) -> bool:
        """Accept (and record) ``nonce`` for ``api_key``, or refuse it without recording."""
        if nonce <= self._last.get(api_key, -1):
            return False
        self._last[api_key] = nonce
        return True


def parse_nonce(value: object) -> int | None:
    """A Spot nonce (unsigned 64-bit integer, as digits or a JSON integer), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        nonce = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        nonce = int(value)
    else:
        return None
    return nonce if 0 <= nonce <= MAX_NONCE else None


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What a token stands for: the key's account and rights, and when it was issued."""

    token: str = field(repr=False)
    api_key: str
    account: str
    trade: bool
    issued_ms: int

    def fresh(self, now_ms: int, ttl_ms: int = TOKEN_TTL_MS) -> bool:
        """Whether it may still be used to establish a connection's private access."""
        return now_ms - self.issued_ms <= ttl_ms


class TokenStore:
    """Tokens issued by ``GetWebSocketsToken``; :meth:`check` is the uws side's gate."""

    def __init__(self, rng: random.Random | None = None, *, ttl_ms: int = TOKEN_TTL_MS) -> None:
        self.ttl_ms = ttl_ms
        self._rng = rng if rng is not None else random.Random(0)
        self._grants: dict[str, TokenGrant] = {}

    def issue(self, key: SpotKey, now_ms: int) -> TokenGrant:
        """A new token for ``key`` (tokens past their use-by time are forgotten here)."""
        self._grants = {t: g for t, g in self._grants.items() if g.fresh(now_ms, self.ttl_ms)}
        token = "".join(self._rng.choice(_ALPHABET) for _ in range(TOKEN_LENGTH))
        grant = TokenGrant(token, key.api_key, key.account, key.trade, now_ms)
        self._grants[token] = grant
        return grant

    def check(self, token: str, now_ms: int) -> TokenGrant | None:
        """The grant of a token that may be used now, or ``None`` (unknown or expired)."""
        grant = self._grants.get(token)
        if grant is None or not grant.fresh(now_ms, self.ttl_ms):
            return None
        return grant

    def __len__(self) -> int:
        return len(self._grants)

    def __repr__(self) -> str:
        return f"TokenStore(tokens={len(self._grants)}, ttl_ms={self.ttl_ms})"


__all__ = [
    "MAX_NONCE",
    "TOKEN_LENGTH",
    "TOKEN_TTL_MS",
    "SpotKey",
    "SpotNonces",
    "TokenGrant",
    "TokenStore",
    "parse_nonce",
]
