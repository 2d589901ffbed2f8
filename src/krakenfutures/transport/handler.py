"""In-memory transports that hand requests to a function (the simulator's sans-I/O handler).

The seam used by tests and ``krakenfutures.testing.exchange_pair``: the same bytes a socket would
carry, with no socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from krakenfutures.transport.base import Response

Handler = Callable[[str, str, Mapping[str, str], bytes], Response]
AsyncHandler = Callable[[str, str, Mapping[str, str], bytes], Awaitable[Response]]


class HandlerTransport:
    """Synchronous transport calling ``handler(method, target, headers, body) -> Response``."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Pass the request to the handler."""
        return self._handler(method, target, dict(headers), body)

    def close(self) -> None:
        """Nothing to release."""


class AsyncHandlerTransport:
    """Async transport over a sync or async handler function."""

    def __init__(self, handler: Handler | AsyncHandler) -> None:
        self._handler = handler

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Pass the request to the handler, awaiting it when it is a coroutine function."""
        result = self._handler(method, target, dict(headers), body)
        if isinstance(result, Response):
            return result
        return await result

    async def aclose(self) -> None:
        """Nothing to release."""
