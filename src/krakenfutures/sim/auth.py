"""Request authentication exactly as Kraken does it, in the server role.

``Authent`` is recomputed over the raw bytes received: raw query string + raw body, the ``Nonce``
header (or ``""``), and the path without ``/derivatives`` (history paths whole). Because a correct
client may put params in the query, the body or both, the candidates tried are query+body, body
alone and query alone. Percent-encoding style (``+`` or ``%20``), raw or encoded batchorder JSON,
``true``/``True`` and parameter order need no special casing: the client signs what it sends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.core.signing import decode_secret, sign_rest, signed_path
from krakenfutures.core.signing import verify_rest as _verify

_RANK = {Permission.PUBLIC: 0, Permission.READ: 1, Permission.FULL: 2, Permission.WITHDRAWAL: 3}


@dataclass
class ApiKey:
    """One configured key pair: which account it trades and what it may do."""

    api_key: str
    api_secret: str
    account: str
    permission: Permission = Permission.FULL
    withdrawal: bool = False
    key: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.key = decode_secret(self.api_secret)

    def __repr__(self) -> str:
        return f"ApiKey({self.api_key[:4]}…, account={self.account!r}, {self.permission.value})"

    def allows(self, needed: Permission) -> bool:
        """Whether this key may call an endpoint needing ``needed``."""
        if needed is Permission.WITHDRAWAL:
            return self.withdrawal
        return _RANK[self.permission] >= _RANK[needed]


class NonceWindow:
    """Per-key nonce rules: strictly above what was seen more than ``tolerance_ms`` ago, and
    never twice. Kraken "tolerates nonces that are out of order for a brief period of time"."""

    def __init__(self, tolerance_ms: int = 1_000) -> None:
        self.tolerance_ms = tolerance_ms
        self.floor = 0  # highest nonce that has aged out of the tolerance window
        self.recent: deque[tuple[int, int]] = deque()  # (arrival ms, nonce)
        self.recent_set: set[int] = set()

    def check(self, nonce: int, now_ms: int) -> str | None:
        """Return ``None`` if acceptable (and record it), else Kraken's error string."""
        recent = self.recent
        while recent and recent[0][0] <= now_ms - self.tolerance_ms:
            _, old = recent.popleft()
            self.recent_set.discard(old)
            if old > self.floor:
                self.floor = old
        if nonce in self.recent_set:
            return "nonceDuplicate"
        if nonce <= self.floor:
            return "nonceBelowThreshold"
        recent.append((now_ms, nonce))
        self.recent_set.add(nonce)
        return None


def verify_request(
    key: ApiKey, path: str, raw_query: bytes, raw_body: bytes, nonce: str, authent: str
) -> bool:
    """Check ``authent`` against every post-data layout a correct client may have signed."""
    p = signed_path(path)
    candidates = [raw_query + raw_body]
    if raw_query and raw_body:
        candidates += [raw_body, raw_query]
    return any(_verify(key.key, p, c, nonce, authent) for c in candidates)


def expected_authent(key: ApiKey, path: str, post_data: bytes, nonce: str) -> str:
    """The signature a correct client sends (used by fixtures and the control CLI)."""
    return sign_rest(key.key, path, post_data, nonce)
