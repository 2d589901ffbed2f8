"""A lean keep-alive HTTP/1.1 connection pool over the standard library's ``http.client``.

Why not requests/httpx for the sync client: a signed order's round trip is dominated by per-call
overhead in those stacks (sessions, hooks, cookie jars, URL objects). ``http.client`` on a reused
socket does the minimum; we add pooling, timeouts and exception translation.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

from krakenfutures.errors import ConfigError, ConnectError, TimeoutError_, TransportError
from krakenfutures.transport.base import Response

USER_AGENT = "krakenfutures/0.1"


def _is_dropped(sock: socket.socket) -> bool:
    """An idle keep-alive socket that polls readable has been closed (or sent junk)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class HttpPool:
    """Thread-safe pool of keep-alive connections to one origin (``scheme://host[:port]``)."""

    def __init__(
        self,
        origin: str,
        *,
        timeout_s: float = 10.0,
        max_idle: int = 8,
        user_agent: str = USER_AGENT,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"base URL {origin!r} is not an http(s) origin; pass e.g. "
                "'https://futures.kraken.com' or 'http://127.0.0.1:8787'"
            )
        self.origin = origin
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._timeout = timeout_s
        self._max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._host_header = parts.netloc
        self._user_agent = user_agent

    def _new(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _connect(self, conn: http.client.HTTPConnection) -> None:
        """Open the socket; failures here mean nothing was sent (safe to retry)."""
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise ConnectError(f"cannot connect to {self.origin}: {exc}") from exc

    def _acquire(self) -> tuple[http.client.HTTPConnection, bool]:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new(), False
            # Never resend a request after a connection broke (it may have been executed);
            # instead, check an idle socket before use: readable means the server closed it.
            if conn.sock is not None and not _is_dropped(conn.sock):
                return conn, True
            conn.close()

    def _release(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.close()

    def _send(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> http.client.HTTPResponse:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", self._host_header)
        conn.putheader("User-Agent", self._user_agent)
        for name, value in headers.items():
            conn.putheader(name, value)
        if body or method != "GET":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        return conn.getresponse()

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        """Send one request and read the whole reply.

        Raises:
            ConnectError: the connection could not be made (nothing was sent).
            TimeoutError_: the request was sent but no reply came in time (outcome unknown).
            TransportError: the connection broke mid-exchange (outcome unknown).
        """
        conn, _ = self._acquire()
        if conn.sock is None:
            self._connect(conn)
        try:
            resp = self._send(conn, method, target, headers, body)
            data = resp.read()
        except TimeoutError as exc:
            conn.close()
            raise TimeoutError_(
                f"no reply from {self.origin} within {self._timeout} s for {method} "
                f"{target.split('?')[0]}; the request may have been executed"
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportError(
                f"connection to {self.origin} broke during {method} {target.split('?')[0]} "
                f"({exc!r}); the request may have been executed"
            ) from exc
        if resp.will_close:
            conn.close()
        else:
            self._release(conn)
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return Response(resp.status, data, hdrs)

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
