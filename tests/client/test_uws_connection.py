"""AsyncUwsConnection over loopback against a tiny uws server written here (the simulator's
uws side is built elsewhere): public books without a token, checksum resync, token-signed
requests, reconnect with a fresh token, lost and unanswered requests, stale connections."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

from krakenfutures.client.events import Reconnected
from krakenfutures.client.uws import (
    UWS_PRIVATE_URL,
    UWS_PUBLIC_URL,
    AsyncUwsConnection,
    UwsBookResynced,
    uws_url_for,
)
from krakenfutures.core.uws.book import ChecksumMismatch
from krakenfutures.core.uws.checksum import book_checksum
from krakenfutures.core.uws.events import RequestSucceeded, StatusChanged, Subscribed
from krakenfutures.core.uws.schema_channels import BookMessage, ExecutionsMessage
from krakenfutures.core.uws.schema_orders import AddOrderResult
from krakenfutures.errors import (
    ConfigError,
    ConnectError,
    CredentialsError,
    TimeoutError_,
    TransportError,
)

from .uws_fake import FAST, LoopbackUws, serving, until

SYMBOL = "PF_XBTUSD"
STATUS_FRAME = (
    '{"channel":"status","data":[{"api_version":"v2","connection_id":13834774380200032777,'
    '"system":"online","version":"2.0.0"}],"type":"update"}'
)
BIDS = [("45283.5", "0.10000000"), ("45283.4", "1.54582015")]
ASKS = [("45285.2", "0.00100000"), ("45286.4", "1.54571953")]


def book_frame(
    kind: str, symbol: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], checksum: int
) -> str:
    """A ``book`` frame with the numbers unquoted, as Kraken sends them."""

    def levels(side: list[tuple[str, str]]) -> str:
        return "[" + ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in side) + "]"

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"{symbol}","bids":{levels(bids)},'
        f'"asks":{levels(asks)},"checksum":{checksum}}}]}}'
    )


def vector_snapshot(symbol: str) -> str:
    """A snapshot whose checksum is right (checksum_of is tested against the published vector)."""
    crc = book_checksum(
        [(Decimal(p), Decimal(q)) for p, q in ASKS], [(Decimal(p), Decimal(q)) for p, q in BIDS]
    )
    return book_frame("snapshot", symbol, BIDS, ASKS, crc)


PRIVATE = {"executions", "balances", "positions", "margin", "ledgers"}


class FakeUws(LoopbackUws):
    """Just enough of uws: status on connect, acks per symbol, the vector book as snapshot,
    pong, add_order answered (or not), tokens checked on private requests."""

    greeting = STATUS_FRAME

    def __init__(self) -> None:
        super().__init__()
        self.valid_tokens: set[str] = set()
        self.answer_orders = True

    async def answer(self, ws: ServerConnection, req: dict[str, Any]) -> None:
        method, params, rid = req["method"], req.get("params") or {}, req.get("req_id")
        base = {
            "req_id": rid,
            "time_in": "2024-01-01T00:00:00Z",
            "time_out": "2024-01-01T00:00:00Z",
        }
        if method == "ping":
            await ws.send(json.dumps({"method": "pong", **base}))
            return
        private = method not in ("subscribe", "unsubscribe") or params.get("channel") in PRIVATE
        if private and params.get("token") not in self.valid_tokens:
            await ws.send(
                json.dumps(
                    {"method": method, "success": False, "error": "EAPI:Invalid token", **base}
                )
            )
            return
        if method in ("subscribe", "unsubscribe"):
            for symbol in params.get("symbol") or [None]:
                result = {"channel": params["channel"], **({"symbol": symbol} if symbol else {})}
                await ws.send(
                    json.dumps({"method": method, "success": True, "result": result, **base})
                )
                if method == "subscribe" and params["channel"] == "book":
                    await ws.send(vector_snapshot(symbol))
            return
        if method != "add_order":
            await ws.send(
                json.dumps({"method": method, "success": True, "result": {"count": 0}, **base})
            )
        elif self.answer_orders:
            result = {
                "order_id": "4f1c8b0e-0000-4000-8000-000000000001",
                "cl_ord_id": params.get("cl_ord_id"),
            }
            await ws.send(json.dumps({"method": method, "success": True, "result": result, **base}))

    def kill(self) -> None:
        """Drop the latest connection without a close frame (a network failure)."""
        transport = self.connections[-1].transport
        assert transport is not None
        transport.abort()

    def sent(self, method: str, channel: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r["method"] == method and (channel is None or r["params"]["channel"] == channel)
        ]


@pytest.fixture
async def server() -> AsyncIterator[tuple[FakeUws, str]]:
    fake = FakeUws()
    async with serving(fake, "/v2/public") as url:
        yield fake, url


def tokens(fake: FakeUws) -> tuple[Callable[[], Any], list[str]]:
    issued: list[str] = []

    async def provider() -> str:
        token = f"token-{len(issued) + 1}"
        issued.append(token)
        fake.valid_tokens.add(token)
        return token

    return provider, issued


async def test_public_book_needs_no_token_and_verifies(server: tuple[FakeUws, str]) -> None:
    fake, url = server
    async with AsyncUwsConnection(url, backoff=FAST) as conn:
        conn.subscribe("book", [SYMBOL], depth=10)
        events = await until(conn, lambda e: isinstance(e, BookMessage))
    assert isinstance(events[0], StatusChanged) and events[0].system == "online"
    assert any(isinstance(e, Subscribed) and e.symbol == SYMBOL for e in events)
    book = conn.book(SYMBOL)
    assert book.is_synced and book.best_bid() == (Decimal("45283.5"), Decimal("0.10000000"))
    [sub] = fake.sent("subscribe", "book")
    assert "token" not in sub["params"] and sub["params"]["depth"] == 10


async def test_checksum_mismatch_resubscribes_and_resyncs(server: tuple[FakeUws, str]) -> None:
    fake, url = server
    async with AsyncUwsConnection(url, backoff=FAST) as conn:
        conn.subscribe("book", [SYMBOL])
        await until(conn, lambda e: isinstance(e, BookMessage))
        await fake.push(book_frame("update", SYMBOL, [("45283.5", "0.5")], [], 1))
        events = await until(conn, lambda e: isinstance(e, ChecksumMismatch))
        assert isinstance(events[0], BookMessage) and not conn.book(SYMBOL).is_synced
        await until(conn, lambda e: isinstance(e, UwsBookResynced))
        assert conn.book(SYMBOL).is_synced
        assert conn.book(SYMBOL).best_bid() == (Decimal("45283.5"), Decimal("0.10000000"))
    assert [r["method"] for r in fake.requests if r["method"] != "ping"] == [
        "subscribe",
        "unsubscribe",
        "subscribe",
    ]


async def test_requests_carry_the_token_and_reconnect_takes_a_fresh_one(
    server: tuple[FakeUws, str],
) -> None:
    fake, url = server
    provider, issued = tokens(fake)
    async with AsyncUwsConnection(url, token_provider=provider, backoff=FAST) as conn:
        conn.subscribe("executions", snap_trades=True)
        await until(conn, lambda e: isinstance(e, Subscribed))
        reply = await conn.request(
            "add_order",
            {
                "order_type": "limit",
                "side": "buy",
                "order_qty": Decimal("1.5"),
                "limit_price": Decimal("60000.5"),
                "symbol": SYMBOL,
                "cl_ord_id": "c-1",
            },
        )
        assert reply.ok and reply.result == AddOrderResult(
            order_id="4f1c8b0e-0000-4000-8000-000000000001", cl_ord_id="c-1"
        )
        [order] = fake.sent("add_order")
        assert order["params"]["token"] == "token-1" and order["params"]["order_qty"] == 1.5
        fake.kill()
        await until(conn, lambda e: isinstance(e, Reconnected))
        await until(conn, lambda e: isinstance(e, Subscribed))
        assert issued == ["token-1", "token-2"]
        assert [r["params"]["token"] for r in fake.sent("subscribe", "executions")] == [
            "token-1",
            "token-2",
        ]
        again = await conn.request("cancel_all")
        assert again.ok and again.result.count == 0
        assert fake.sent("cancel_all")[0]["params"] == {
            "token": "token-2",
            "asset_class": "derivatives",
        }
        pong = await conn.ping()
        assert isinstance(pong.responses[0], RequestSucceeded)


async def test_unanswered_and_lost_requests(server: tuple[FakeUws, str]) -> None:
    fake, url = server
    provider, _ = tokens(fake)
    fake.answer_orders = False
    async with AsyncUwsConnection(url, token_provider=provider, backoff=FAST) as conn:
        with pytest.raises(TimeoutError_, match="outcome is unknown"):
            await conn.request("add_order", {"order_type": "market"}, timeout_s=0.2)
        pending = asyncio.create_task(conn.request("add_order", {"order_type": "market"}))
        while len(fake.sent("add_order")) < 2:
            await asyncio.sleep(0.01)
        fake.kill()
        with pytest.raises(TransportError, match="may or may not"):
            await pending
        await until(conn, lambda e: isinstance(e, Reconnected))


async def test_a_silent_subscribed_connection_is_renewed(server: tuple[FakeUws, str]) -> None:
    fake, url = server
    async with AsyncUwsConnection(url, backoff=FAST, stale_after_s=0.2) as conn:
        conn.subscribe("trade", [SYMBOL])
        await until(conn, lambda e: isinstance(e, Subscribed))
        events = await until(conn, lambda e: isinstance(e, Reconnected))  # no heartbeats came
        assert len(fake.connections) == 2 and conn.reconnects == 1
        assert isinstance(events[-1], Reconnected)
        await until(conn, lambda e: isinstance(e, Subscribed))


async def test_private_data_flows_as_typed_messages(server: tuple[FakeUws, str]) -> None:
    fake, url = server
    provider, _ = tokens(fake)
    async with AsyncUwsConnection(url, token_provider=provider, backoff=FAST) as conn:
        conn.subscribe("executions")
        await until(conn, lambda e: isinstance(e, Subscribed))
        await fake.push(
            json.dumps(
                {
                    "channel": "executions",
                    "type": "update",
                    "sequence": 1,
                    "data": [{"exec_type": "new", "order_id": "o-1"}],
                }
            )
        )
        [*_, msg] = await until(conn, lambda e: isinstance(e, ExecutionsMessage))
        assert msg.data[0].order_id == "o-1"


async def test_misuse_and_urls(server: tuple[FakeUws, str]) -> None:
    _, url = server
    conn = AsyncUwsConnection(url)
    with pytest.raises(CredentialsError, match="token_provider"):
        conn.subscribe("executions")
    with pytest.raises(ConnectError, match="not connected"):
        await conn.request("ping")
    await conn.aclose()
    with pytest.raises(StopAsyncIteration):
        await conn.next_event(1)
    with pytest.raises(ConnectError):
        await AsyncUwsConnection("ws://127.0.0.1:9/v2/public", open_timeout_s=1).connect()
    assert uws_url_for("live") == UWS_PUBLIC_URL
    assert uws_url_for("live", private=True) == UWS_PRIVATE_URL
    assert uws_url_for("http://127.0.0.1:8787") == "ws://127.0.0.1:8787/v2/public"
    assert (
        uws_url_for("https://sim.example:443", private=True) == "wss://sim.example:443/v2/private"
    )
    assert uws_url_for(url) == url
    assert AsyncUwsConnection("http://127.0.0.1:8787").url.endswith("/v2/public")
    private = AsyncUwsConnection("http://127.0.0.1:8787", token_provider=lambda: None)  # type: ignore[arg-type,return-value]
    assert private.url == "ws://127.0.0.1:8787/v2/private"
    with pytest.raises(ConfigError):
        uws_url_for("ftp://x")
