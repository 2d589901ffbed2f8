"""The async keep-alive HTTP/1.1 transport against small loopback servers: reuse, chunked
bodies, the request written before the first ``await``, and the error contract (ConnectError
only when nothing was sent)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from krakenfutures.errors import ConfigError, ConnectError, TimeoutError_, TransportError
from krakenfutures.transport.async_pool import AsyncHttpPool

Reply = Callable[[bytes], bytes | None]  # request bytes -> reply bytes (None: say nothing)


def ok(body: bytes = b'{"result":"success"}') -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


class Server:
    """Answers each request (read up to its blank line and body) with ``reply(request)``."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                out = self.reply(request)
                if out is None:
                    await asyncio.sleep(3600)
                writer.write(out)
                if b"Connection: close" in out:
                    await writer.drain()
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Reply], asyncio.Future[tuple[Server, str]]]]:
    servers: list[asyncio.base_events.Server] = []

    async def start(reply: Reply) -> tuple[Server, str]:
        state = Server(reply)
        server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return state, f"http://127.0.0.1:{port}"

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def test_requests_reuse_one_kept_alive_connection(serve) -> None:
    state, origin = await serve(lambda _r: ok())
    pool = AsyncHttpPool(origin)
    for i in range(3):
        response = await pool.request(
            "POST", f"/derivatives/api/v3/sendorder?n={i}", {"APIKey": "k"}, b"a=1"
        )
        assert (response.status, response.body) == (200, b'{"result":"success"}')
        assert response.headers["content-type"] == "application/json"
    assert state.connections == 1
    first = state.requests[0]
    assert first.startswith(b"POST /derivatives/api/v3/sendorder?n=0 HTTP/1.1\r\n")
    assert b"\r\nAPIKey: k\r\n" in first and b"\r\nContent-Length: 3\r\n" in first
    assert first.endswith(b"\r\n\r\na=1") and b"Accept-Encoding" not in first
    await pool.aclose()


async def test_chunked_replies_and_connection_close(serve) -> None:
    chunked = b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    replies = iter([chunked, closing, ok()])
    state, origin = await serve(lambda _r: next(replies))
    pool = AsyncHttpPool(origin)
    response = await pool.request("GET", "/x", {}, b"")
    assert (response.status, response.body) == (503, b"hello world")
    assert (await pool.request("GET", "/x", {}, b"")).body == b"ok"
    assert (await pool.request("GET", "/x", {}, b"")).status == 200
    assert state.connections == 2  # the server closed the first: a new one was opened
    assert b"Content-Length" not in state.requests[0]  # a GET without a body
    await pool.aclose()


async def test_the_request_is_written_before_the_first_await(serve) -> None:
    _, origin = await serve(lambda _r: ok())
    pool = AsyncHttpPool(origin)
    await pool.request("GET", "/warm", {}, b"")  # opens the connection
    [conn] = pool._idle
    written: list[bytes] = []
    assert conn.transport is not None
    plain = conn.transport.write
    conn.transport.write = lambda data: (written.append(data), plain(data))[1]  # type: ignore[method-assign]
    step = pool.request("POST", "/derivatives/api/v3/sendorder", {}, b"x=1")
    step.send(None)  # one step: suspends on the reply
    assert written and written[0].startswith(b"POST /derivatives/api/v3/sendorder")
    step.close()  # (abandoned: its connection is not reused)
    await pool.aclose()


async def holding_server(
    release: asyncio.Event, state: Server
) -> tuple[asyncio.base_events.Server, str]:
    """A server that holds every reply until ``release`` is set (connections counted in
    ``state``)."""

    async def held(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            await release.wait()
            writer.write(ok())

    server = await asyncio.start_server(held, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_errors_say_whether_anything_was_sent(serve) -> None:
    with pytest.raises(ConnectError, match="nothing was sent"):
        await AsyncHttpPool(f"http://127.0.0.1:{_free_port()}").request("GET", "/", {}, b"")

    _, silent = await serve(lambda _r: None)  # reads the request, never answers
    with pytest.raises(TimeoutError_, match="may have been executed"):
        await AsyncHttpPool(silent, timeout_s=0.2).request("POST", "/o", {}, b"a=1")

    dropped = b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\nshort"
    _, cut = await serve(lambda _r: dropped)  # closes mid-body
    with pytest.raises(TransportError, match="may have been executed") as info:
        await AsyncHttpPool(cut).request("POST", "/o", {}, b"a=1")
    assert not isinstance(info.value, ConnectError)

    _, junk = await serve(lambda _r: b"NOT HTTP AT ALL\r\n\r\n")
    with pytest.raises(TransportError, match="unreadable HTTP reply"):
        await AsyncHttpPool(junk).request("GET", "/", {}, b"")

    with pytest.raises(ConfigError, match="not an http"):
        AsyncHttpPool("ftp://example.com")


async def test_requests_in_flight_are_capped_and_wait_for_a_free_connection(serve) -> None:
    release = asyncio.Event()
    state = Server(lambda _r: ok())  # (only its counters: the holding server answers)
    server, origin = await holding_server(release, state)
    pool = AsyncHttpPool(origin, max_connections=2)
    tasks = [asyncio.ensure_future(pool.request("GET", f"/{i}", {}, b"")) for i in range(5)]
    await asyncio.sleep(0.1)
    assert state.connections == 2 and not any(t.done() for t in tasks)
    release.set()
    assert [r.status for r in await asyncio.gather(*tasks)] == [200] * 5
    assert state.connections == 2  # the waiting requests reused the two
    await pool.aclose()
    server.close()


async def test_https_verifies_the_certificate_and_speaks_through_tls() -> None:
    import ssl
    from pathlib import Path

    tls = Path(__file__).parent.parent / "fixtures" / "tls"
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tls / "localhost.pem", tls / "localhost.key")
    state = Server(lambda _r: ok(b'{"tls":true}'))
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=server_ctx)
    origin = f"https://localhost:{server.sockets[0].getsockname()[1]}"
    trusting = ssl.create_default_context(cafile=str(tls / "localhost.pem"))
    pool = AsyncHttpPool(origin, ssl_context=trusting)
    for _ in range(2):
        assert (await pool.request("GET", "/x", {}, b"")).body == b'{"tls":true}'
    assert state.connections == 1 and state.requests[0].startswith(b"GET /x HTTP/1.1")
    await pool.aclose()
    with pytest.raises(ConnectError, match="nothing was sent"):  # an unknown CA: refused
        await AsyncHttpPool(origin).request("GET", "/x", {}, b"")
    server.close()


async def test_start_writes_from_plain_code_on_a_kept_alive_connection(serve) -> None:
    state, origin = await serve(lambda _r: ok())
    pool = AsyncHttpPool(origin, max_connections=1)
    assert pool.start("GET", "/cold", {}, b"") is None  # no connection yet: nothing sent
    await pool.request("GET", "/warm", {}, b"")
    [conn] = pool._idle
    assert conn.transport is not None
    written: list[bytes] = []
    plain = conn.transport.write
    conn.transport.write = lambda data: (written.append(data), plain(data))[1]  # type: ignore[method-assign]
    reply = pool.start("POST", "/derivatives/api/v3/sendorder", {"APIKey": "k"}, b"a=1")
    assert reply is not None
    assert written and written[0].startswith(b"POST /derivatives/api/v3/sendorder HTTP/1.1")
    assert pool.start("GET", "/x", {}, b"") is None  # the one slot is taken
    assert (await reply).body == b'{"result":"success"}'
    assert pool._idle == [conn] and state.connections == 1  # kept for the next request
    assert (await pool.request("GET", "/after", {}, b"")).status == 200
    await pool.aclose()
    assert pool.start("GET", "/closed", {}, b"") is None


async def test_a_started_request_times_out_or_is_abandoned_like_a_request(serve) -> None:
    replies = iter([ok(), None, ok(), None, ok()])
    state, origin = await serve(lambda _r: next(replies))
    pool = AsyncHttpPool(origin, timeout_s=0.2, max_connections=1)
    await pool.request("GET", "/warm", {}, b"")
    reply = pool.start("POST", "/o?x=1", {}, b"a=1")
    assert reply is not None
    with pytest.raises(TimeoutError_, match=r"POST /o; the request may have been executed"):
        await reply
    await pool.request("GET", "/again", {}, b"")  # the slot came back; a new connection
    assert state.connections == 2
    abandoned = pool.start("POST", "/o", {}, b"a=2")
    assert abandoned is not None
    abandoned.cancel()  # nobody waits for this reply: its connection must not be reused
    await asyncio.sleep(0.05)
    assert pool._idle == [] and pool._slots.free == 1
    assert (await pool.request("GET", "/last", {}, b"")).status == 200
    assert state.connections == 3
    await pool.aclose()


async def test_a_waiting_request_gets_the_slot_before_a_later_start(serve) -> None:
    release = asyncio.Event()
    server, origin = await holding_server(release, Server(lambda _r: ok()))
    pool = AsyncHttpPool(origin, max_connections=1)
    first = asyncio.ensure_future(pool.request("GET", "/1", {}, b""))
    await asyncio.sleep(0.05)
    second = asyncio.ensure_future(pool.request("GET", "/2", {}, b""))  # waits for the slot
    await asyncio.sleep(0.05)
    assert pool.start("GET", "/3", {}, b"") is None  # queued requests come first
    release.set()
    assert [(await first).status, (await second).status] == [200, 200]
    await pool.aclose()
    server.close()
