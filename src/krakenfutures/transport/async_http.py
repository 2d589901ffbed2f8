"""Async transport over aiohttp's client, with its exceptions translated at this edge.

aiohttp rather than httpx: on this machine an httpx async request costs ~2-3 ms of client CPU
(anyio and httpcore layers), aiohttp's a fraction of that, and aiohttp is already a dependency
(the simulator's server). The error contract is the one of
:class:`~krakenfutures.transport.http_pool.HttpPool`: :class:`ConnectError` means nothing was
sent; a timeout after sending is :class:`TimeoutError_`; any other failure after the request
may have left is :class:`TransportError` (the caller must treat the outcome as unknown).
Requests are never retried here.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from krakenfutures.errors import ConfigError, ConnectError, TimeoutError_, TransportError
from krakenfutures.transport.base import Response
from krakenfutures.transport.http_pool import USER_AGENT


class AsyncHttpTransport:
    """Keep-alive async HTTP/1.1 to one origin (the session is opened on first use, inside the
    running event loop)."""

    def __init__(self, origin: str, *, timeout_s: float = 10.0) -> None:
        if not origin.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {origin!r} is not an http(s) origin")
        self.origin = origin.rstrip("/")
        self._timeout = timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        timeout = aiohttp.ClientTimeout(total=self._timeout, connect=self._timeout)
        # No automatic decompression header games or cookie jar: the bytes we signed are the
        # bytes sent, and Kraken's replies are plain JSON.
        self._session = aiohttp.ClientSession(
            timeout=timeout,
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            skip_auto_headers=("Content-Type",),
        )
        return self._session

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Send one request; see :meth:`HttpPool.request` for the errors raised."""
        session = self._session or self._open()
        where = f"{method} {target.split('?')[0]}"
        try:
            async with session.request(
                method,
                self.origin + target,
                headers=dict(headers),
                data=body or None,
                allow_redirects=False,
            ) as resp:
                content = await resp.read()
                return Response(
                    resp.status, content, {k.lower(): v for k, v in resp.headers.items()}
                )
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectError(f"connecting to {self.origin} timed out") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"cannot connect to {self.origin}: {exc}") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimeoutError_(
                f"no reply from {self.origin} within {self._timeout} s for {where}; the request "
                "may have been executed"
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise TransportError(
                f"connection to {self.origin} failed during {where}: {exc!r}; the request may "
                "have been executed"
            ) from exc

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
