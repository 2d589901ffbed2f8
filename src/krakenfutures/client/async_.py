"""The asyncio :class:`AsyncClient`, twin of :class:`~krakenfutures.client.sync.Client`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from krakenfutures.client.async_methods import AsyncMethods
from krakenfutures.client.base import ClientBase
from krakenfutures.client.flow import NOW, Send, Sleep, call_flow
from krakenfutures.errors import KrakenFuturesError

if TYPE_CHECKING:
    import msgspec

    from krakenfutures.core.rest.endpoint import Endpoint
    from krakenfutures.transport.base import AsyncTransport


class AsyncClient(AsyncMethods, ClientBase):
    """Asyncio Kraken Futures REST client with the same methods as ``Client`` (awaitable).

    Example::

        async with AsyncClient(base_url="http://127.0.0.1:8787") as client:
            tickers = await client.get_tickers()
    """

    def __init__(self, *args: Any, transport: AsyncTransport | None = None, **kwargs: Any) -> None:
        sleep = kwargs.pop("sleep", None)
        super().__init__(*args, **kwargs)
        if transport is None:
            from krakenfutures.transport.async_pool import AsyncHttpPool

            transport = AsyncHttpPool(self.base_url, timeout_s=self.timeout_s)
        self._transport = transport
        self._sleep = sleep or asyncio.sleep

    async def call(self, endpoint: Endpoint, params: msgspec.Struct | None = None) -> Any:
        """Call any endpoint of the table with its params struct; returns the typed result."""
        flow = call_flow(self._ctx, endpoint, params)
        transport = self._transport
        try:
            action = next(flow)
            while True:
                if action is NOW:
                    action = flow.send(self._clock_ms())
                elif isinstance(action, Send):
                    req = action.request
                    try:
                        resp = await transport.request(
                            req.method, req.target, req.headers, req.body
                        )
                    except KrakenFuturesError as exc:
                        action = flow.throw(exc)
                    else:
                        action = flow.send(resp)
                elif isinstance(action, Sleep):
                    await self._sleep(action.ms / 1000)
                    action = flow.send(None)
        except StopIteration as stop:
            return stop.value

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
