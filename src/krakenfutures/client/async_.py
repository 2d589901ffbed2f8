"""The asyncio :class:`AsyncClient`, twin of :class:`~krakenfutures.client.sync.Client`."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from krakenfutures.client.async_methods import AsyncMethods
from krakenfutures.client.base import ClientBase
from krakenfutures.client.flow import NOW, Action, Send, Sleep, call_flow
from krakenfutures.errors import KrakenFuturesError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Coroutine, Generator

    import msgspec

    from krakenfutures.core.rest.endpoint import Endpoint
    from krakenfutures.transport.base import AsyncTransport, Response


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
        return await self._drive(flow, next(flow))

    def start_call(
        self, endpoint: Endpoint, params: msgspec.Struct | None = None
    ) -> tuple[bool, Coroutine[Any, Any, Any]]:
        """Begin :meth:`call` now, from plain code: build, sign and (when the transport can
        write without waiting) send the request within this call. Returns ``(sent, rest)``:
        ``rest`` is the coroutine that finishes the call (reply, retries, the typed result);
        ``sent`` says the bytes already left (else ``rest`` sends them: rate-limit pacing, no
        free connection, or a transport that cannot write from plain code).

        Raises what building the request raises (a bad params struct, missing credentials)."""
        flow = call_flow(self._ctx, endpoint, params)
        action = next(flow)
        if action is NOW:
            action = flow.send(self._clock_ms())
        start = getattr(self._transport, "start", None)
        if start is not None and isinstance(action, Send):
            req = action.request
            reply = start(req.method, req.target, req.headers, req.body)
            if reply is not None:
                return True, self._drive(flow, action, reply)
        return False, self._drive(flow, action)

    async def _drive(
        self,
        flow: Generator[Action, Any, Any],
        action: Action,
        sent: Awaitable[Response] | None = None,
    ) -> Any:
        """Answer the flow's actions from ``action`` on (``sent``: the reply to ``action``, a
        :class:`Send` whose bytes already left) until it returns the result."""
        transport = self._transport
        try:
            while True:
                if action is NOW:
                    action = flow.send(self._clock_ms())
                elif isinstance(action, Send):
                    try:
                        if sent is None:
                            req = action.request
                            resp = await transport.request(
                                req.method, req.target, req.headers, req.body
                            )
                        else:  # the first attempt, already on the wire
                            pending, sent = sent, None
                            resp = await pending
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
