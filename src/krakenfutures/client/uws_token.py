"""``TokenPolicy``: when to fetch a Unified WebSocket token (reference §2.4).

Kraken's rules: a token from ``GetWebSocketsToken`` must be *used* within 15 minutes of its
creation; once a connection has used it for a private subscription it stays valid on that
connection; a reconnect needs a fresh one. The policy therefore fetches a new token for every
connection, reconnects included (``AsyncUwsConnection`` awaits its ``token_provider`` before
each one). The only reuse it allows is opt-in and short (``reuse_within_ms``, e.g. two sockets
opened together), and never past ``max_age_ms`` nor the lifetime Kraken announced.

Example::

    spot = AsyncSpotRest(base_url=sim_origin)
    policy = TokenPolicy(spot)
    async with AsyncUwsConnection(uws_url_for(sim_origin), token_provider=policy) as private:
        private.subscribe("executions")
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from krakenfutures.errors import ConfigError, RemoteProtocolError

if TYPE_CHECKING:
    from krakenfutures.client.spot_rest import AsyncSpotRest

TOKEN_MAX_AGE_MS = 15 * 60_000
"""Kraken: use a token within 15 minutes of its creation."""


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Token:
    """A WebSocket token from ``GetWebSocketsToken``; its value shows only through :meth:`reveal`.

    Attributes:
        expires_s: the lifetime Kraken announced (``expires``; 900 s): use it within that time.
        issued_ms: our clock when the request was sent (so the age is never underestimated).
    """

    __slots__ = ("__value", "expires_s", "issued_ms")

    def __init__(self, value: str, *, expires_s: int, issued_ms: int) -> None:
        self.__value = value
        self.expires_s = expires_s
        self.issued_ms = issued_ms

    def reveal(self) -> str:
        """The token text, for the ``params.token`` of uws requests only."""
        return self.__value

    def age_ms(self, now_ms: int) -> int:
        """Milliseconds since the token was requested."""
        return now_ms - self.issued_ms

    def usable(self, now_ms: int, max_age_ms: int) -> bool:
        """Whether a *new* connection may still use it: younger than both ``max_age_ms`` and
        the announced lifetime (an established connection keeps its token valid)."""
        return self.age_ms(now_ms) < min(max_age_ms, self.expires_s * 1000)

    def __repr__(self) -> str:
        return f"Token('****', expires_s={self.expires_s}, issued_ms={self.issued_ms})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a WebSocket token cannot be pickled; fetch a fresh one where it is used")


class TokenPolicy:
    """An ``AsyncUwsConnection`` ``token_provider``: ``await policy()`` -> a token's text.

    Args:
        spot_rest: the :class:`~krakenfutures.client.spot_rest.AsyncSpotRest` to fetch with.
        clock_ms: epoch-ms clock (default: wall time).
        max_age_ms: never hand a token older than this to a new connection (15 min).
        reuse_within_ms: hand the last token to another new connection if it is younger than
            this (default 0: a fresh token for every connection).

    Raises:
        ConfigError: ``max_age_ms`` not positive, or ``reuse_within_ms`` outside
            ``[0, max_age_ms)``.

    Errors of the fetch (a key without the WebSocket permission, a Futures key, a wrong
    secret) propagate unchanged from :class:`AsyncSpotRest`; none carries the token.
    """

    def __init__(
        self,
        spot_rest: AsyncSpotRest,
        *,
        clock_ms: Callable[[], int] | None = None,
        max_age_ms: int = TOKEN_MAX_AGE_MS,
        reuse_within_ms: int = 0,
    ) -> None:
        if max_age_ms <= 0:
            raise ConfigError(f"max_age_ms must be > 0, got {max_age_ms}")
        if not 0 <= reuse_within_ms < max_age_ms:
            raise ConfigError(
                f"reuse_within_ms must be in [0, max_age_ms={max_age_ms}), got {reuse_within_ms}"
            )
        self._spot = spot_rest
        self._clock_ms = clock_ms or _wall_ms
        self.max_age_ms = max_age_ms
        self.reuse_within_ms = reuse_within_ms
        self.last: Token | None = None
        """The last token handed out (masked in its repr)."""
        self.fetches = 0
        """Tokens fetched so far."""

    async def token(self) -> Token:
        """A token a new connection may use now (fresh unless reuse is allowed and safe).

        Raises:
            RemoteProtocolError: the fetched token is already too old to use (the request
                took longer than its lifetime).
        """
        now = self._clock_ms()
        last = self.last
        if (
            last is not None
            and self.reuse_within_ms > 0
            and last.age_ms(now) < self.reuse_within_ms
            and last.usable(now, self.max_age_ms)
        ):
            return last
        token = await self._spot.get_websockets_token()
        self.fetches += 1
        if not token.usable(self._clock_ms(), self.max_age_ms):
            raise RemoteProtocolError(
                "GetWebSocketsToken took longer than the token's lifetime "
                f"(min of max_age_ms={self.max_age_ms} and expires={token.expires_s} s); "
                "check the clock and the network"
            )
        self.last = token
        return token

    async def __call__(self) -> str:
        """The token text for one new connection (the ``TokenProvider`` interface)."""
        return (await self.token()).reveal()

    def __repr__(self) -> str:
        return (
            f"TokenPolicy({self._spot!r}, max_age_ms={self.max_age_ms}, "
            f"reuse_within_ms={self.reuse_within_ms}, fetches={self.fetches}, last={self.last!r})"
        )


__all__ = ["TOKEN_MAX_AGE_MS", "Token", "TokenPolicy"]
