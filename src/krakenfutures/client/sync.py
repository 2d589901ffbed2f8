"""The synchronous :class:`Client`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from krakenfutures.client.base import ClientBase
from krakenfutures.client.flow import NOW, Send, Sleep, call_flow
from krakenfutures.client.sync_methods import SyncMethods
from krakenfutures.errors import KrakenFuturesError

if TYPE_CHECKING:
    import msgspec

    from krakenfutures.core.rest.endpoint import Endpoint
    from krakenfutures.transport.base import SyncTransport


class Client(SyncMethods, ClientBase):
    """Blocking Kraken Futures REST client; one method per endpoint, typed in and out.

    Example::

        from krakenfutures import Client
        client = Client(base_url="http://127.0.0.1:8787")        # the local simulator
        print(client.get_tickers()[0].symbol)

    Credentials come from the arguments, ``KRAKEN_FUTURES_API_KEY``/``..._SECRET`` or a
    credentials file; public endpoints work without any. ``transport`` swaps the HTTP pool for
    anything with ``request(method, target, headers, body) -> Response`` (tests pass an
    in-memory simulator).
    """

    def __init__(self, *args: Any, transport: SyncTransport | None = None, **kwargs: Any) -> None:
        sleep = kwargs.pop("sleep", None)
        super().__init__(*args, **kwargs)
        if transport is None:
            from krakenfutures.transport.http_pool import HttpPool

            transport = HttpPool(self.base_url, timeout_s=self.timeout_s)
        self._transport = transport
        self._sleep = sleep or time.sleep

    def call(self, endpoint: Endpoint, params: msgspec.Struct | None = None) -> Any:
        """Call any endpoint of the table with its params struct; returns the typed result."""
        flow = call_flow(self._ctx, endpoint, params)
        transport = self._transport
        clock = self._clock_ms
        try:
            action = next(flow)
            while True:
                if action is NOW:
                    action = flow.send(clock())
                elif isinstance(action, Send):
                    req = action.request
                    try:
                        resp = transport.request(req.method, req.target, req.headers, req.body)
                    except KrakenFuturesError as exc:
                        action = flow.throw(exc)
                    else:
                        action = flow.send(resp)
                elif isinstance(action, Sleep):
                    self._sleep(action.ms / 1000)
                    action = flow.send(None)
        except StopIteration as stop:
            return stop.value

    def close(self) -> None:
        """Close pooled connections."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
