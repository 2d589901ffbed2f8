"""Async WebSocket transport over the ``websockets`` library, its exceptions translated here.

It moves text frames and knows nothing of Kraken: :func:`connect_websocket` opens a connection
(keepalive ping frames included), :class:`WebSocketConnection` reads and writes frames. Errors:

* :class:`~krakenfutures.errors.ConfigError` -- the URL is not a ``ws://``/``wss://`` URL;
* :class:`~krakenfutures.errors.ConnectError` -- the connection or its opening handshake
  failed (refused, DNS, TLS, timeout, an HTTP status instead of the upgrade);
* :class:`~krakenfutures.errors.TransportError` -- an open connection closed or broke
  (including a keepalive ping left unanswered).
"""

from __future__ import annotations

import contextlib
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)

from krakenfutures.errors import ConfigError, ConnectError, TransportError

USER_AGENT = "krakenfutures-ws"


class WebSocketConnection:
    """One open WebSocket connection: :meth:`recv` frames, :meth:`send` text frames."""

    __slots__ = ("_ws", "url")

    def __init__(self, ws: ClientConnection, url: str) -> None:
        self._ws = ws
        self.url = url

    async def recv(self) -> bytes:
        """The next frame's payload as bytes (text frames are not decoded: JSON parsers take
        bytes).

        Raises:
            TransportError: the connection closed or broke.
        """
        try:
            return await self._ws.recv(decode=False)
        except ConnectionClosed as exc:
            raise TransportError(f"WebSocket {self.url} closed: {_closed_text(exc)}") from exc
        except (WebSocketException, OSError) as exc:
            raise TransportError(f"WebSocket {self.url} failed: {exc!r}") from exc

    async def send(self, data: bytes) -> None:
        """Send ``data`` (UTF-8 JSON) as one text frame.

        Raises:
            TransportError: the connection closed or broke.
        """
        try:
            await self._ws.send(data, text=True)
        except ConnectionClosed as exc:
            raise TransportError(f"WebSocket {self.url} closed: {_closed_text(exc)}") from exc
        except (WebSocketException, OSError) as exc:
            raise TransportError(f"WebSocket {self.url} failed: {exc!r}") from exc

    async def close(self) -> None:
        """Close cleanly (close frame, wait briefly for the server's); never raises."""
        with contextlib.suppress(WebSocketException, OSError):
            await self._ws.close()

    def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake (tests, shutdown)."""
        transport = self._ws.transport
        if transport is not None:
            transport.abort()

    @property
    def closed(self) -> bool:
        """Whether the connection is closed (or closing)."""
        return self._ws.close_code is not None or self._ws.state.name in ("CLOSING", "CLOSED")


def _closed_text(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    if frame is None:
        return "no close frame (connection dropped)"
    return f"code {frame.code}" + (f" ({frame.reason})" if frame.reason else "")


async def connect_websocket(
    url: str,
    *,
    ping_interval_s: float | None = 30.0,
    ping_timeout_s: float | None = 20.0,
    open_timeout_s: float = 10.0,
    max_size: int | None = 64 * 1024 * 1024,
    max_queue: int | None = 4096,
    compression: bool = False,
) -> WebSocketConnection:
    """Open a WebSocket connection to ``url``.

    ``ping_interval_s``: a protocol ping frame this often (Kraken wants one at least every 60 s);
    an unanswered ping closes the connection after ``ping_timeout_s``. ``max_size`` bounds one
    message (a full ``book_snapshot`` runs to a few hundred kB); ``max_queue`` frames are
    buffered before reading stops (back pressure). ``compression`` turns on permessage-deflate.

    Raises:
        ConfigError: ``url`` is not a ``ws://``/``wss://`` URL.
        ConnectError: the connection or the handshake failed; nothing was sent.
    """
    kwargs: dict[str, Any] = {
        "ping_interval": ping_interval_s,
        "ping_timeout": ping_timeout_s,
        "open_timeout": open_timeout_s,
        "max_size": max_size,
        "max_queue": max_queue,
        "compression": "deflate" if compression else None,
        "user_agent_header": USER_AGENT,
    }
    try:
        ws = await connect(url, **kwargs)
    except InvalidURI as exc:
        raise ConfigError(f"{url!r} is not a WebSocket URL (ws:// or wss://): {exc}") from exc
    except InvalidStatus as exc:
        status = exc.response.status_code
        raise ConnectError(
            f"WebSocket handshake with {url} refused: HTTP {status}; is this a Kraken Futures "
            "WebSocket endpoint (…/ws/v1)?"
        ) from exc
    except InvalidHandshake as exc:
        raise ConnectError(f"WebSocket handshake with {url} failed: {exc}") from exc
    except TimeoutError as exc:
        raise ConnectError(
            f"connecting to {url} timed out after {open_timeout_s} s; nothing was sent"
        ) from exc
    except (OSError, WebSocketException) as exc:
        raise ConnectError(f"cannot connect to {url}: {exc}") from exc
    return WebSocketConnection(ws, url)


__all__ = ["WebSocketConnection", "connect_websocket"]
