"""Async transport over httpx, with httpx's exceptions translated at this edge."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from krakenfutures.errors import ConfigError, ConnectError, TimeoutError_, TransportError
from krakenfutures.transport.base import Response
from krakenfutures.transport.http_pool import USER_AGENT


class AsyncHttpTransport:
    """Keep-alive async HTTP/1.1 to one origin."""

    def __init__(self, origin: str, *, timeout_s: float = 10.0) -> None:
        if not origin.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {origin!r} is not an http(s) origin")
        self.origin = origin
        self._timeout = timeout_s
        self._client = httpx.AsyncClient(
            base_url=origin, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Send one request; see :meth:`HttpPool.request` for the errors raised."""
        try:
            resp = await self._client.request(method, target, headers=headers, content=body)
        except httpx.ConnectError as exc:
            raise ConnectError(f"cannot connect to {self.origin}: {exc}") from exc
        except httpx.ConnectTimeout as exc:
            raise ConnectError(f"connecting to {self.origin} timed out") from exc
        except httpx.TimeoutException as exc:
            raise TimeoutError_(
                f"no reply from {self.origin} within {self._timeout} s for {method} "
                f"{target.split('?')[0]}; the request may have been executed"
            ) from exc
        except httpx.TransportError as exc:
            raise TransportError(
                f"connection to {self.origin} failed: {exc!r}; the request may have been executed"
            ) from exc
        return Response(resp.status_code, resp.content, dict(resp.headers))

    async def aclose(self) -> None:
        """Close the pool."""
        await self._client.aclose()
