"""``/v2/public`` and ``/v2/private`` over real loopback, talked to with the ``websockets`` library
(not our client), the token fetched from Spot REST with ``httpx`` and an independent signer, and
legacy REST v3 through our legacy ``Client`` on the same port: one account, two dialects.

A *barrier* is a ``ping`` with a fresh ``req_id``: replies and data share one ordered line per
connection, so everything the server queued before it arrives before the ``pong``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import zlib
from decimal import Decimal
from typing import Any

import httpx
import pytest
import websockets

from krakenfutures.sim.config import SPOT_KEY, KeyConfig
from krakenfutures.testing import TEST_SECRET, SimHandle

XBT = "PF_XBTUSD"
SPOT = "spot-key-main"
OTHER = "futures-key-other"
UWS_KEYS = (  # the Spot key of ``main`` (for uws tokens) and a counterparty account ``other``
    KeyConfig(SPOT, TEST_SECRET, "main", kind=SPOT_KEY),
    KeyConfig(OTHER, TEST_SECRET, "other"),
)
D = Decimal
_ids = itertools.count(10_000)


def spot_token(sim: SimHandle, key: str = SPOT) -> str:
    """``GetWebSocketsToken`` over HTTP, signed per reference §2.1 with hashlib/hmac."""
    path, nonce = "/0/private/GetWebSocketsToken", str(next(_ids) + 1_767_225_600_000)
    body = f"nonce={nonce}".encode()
    digest = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(TEST_SECRET), path.encode() + digest, hashlib.sha512)
    headers = {"API-Key": key, "API-Sign": base64.b64encode(mac.digest()).decode()}
    reply = httpx.post(sim.base_url + path, content=body, headers=headers)
    out = reply.json()
    assert reply.status_code == 200 and out["error"] == [], out
    return str(out["result"]["token"])


class Probe:
    """A raw uws conversation."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, method: str, **params: Any) -> int:
        req_id = next(_ids)
        await self.ws.send(json.dumps({"method": method, "params": params, "req_id": req_id}))
        return req_id

    async def recv_text(self) -> str:
        text: str = await asyncio.wait_for(self.ws.recv(), 5)
        return text

    async def recv(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(await self.recv_text(), parse_float=D)
        return result

    async def barrier(self, raw: bool = False) -> list[Any]:
        """Everything that arrives before the answer to a ``ping``."""
        req_id = await self.send("ping")
        out: list[Any] = []
        while True:
            text = await self.recv_text()
            msg = json.loads(text)
            if msg.get("method") == "pong" and msg.get("req_id") == req_id:
                return out
            out.append(text if raw else json.loads(text, parse_float=D))

    async def request(self, method: str, **params: Any) -> list[dict[str, Any]]:
        await self.send(method, **params)
        return await self.barrier()


async def connect(sim: SimHandle, private: bool = False) -> Probe:
    url = sim.base_url.replace("http://", "ws://") + ("/v2/private" if private else "/v2/public")
    probe = Probe(await websockets.connect(url, ping_interval=None, max_size=None))
    status = await probe.recv()
    assert status["channel"] == "status" and status["data"][0]["system"] == "online"
    return probe


@pytest.fixture
def sim_keys() -> tuple[KeyConfig, ...]:
    return UWS_KEYS


def order(client: Any, side: str, qty: str, price: str, **kw: Any) -> Any:
    return client.send_order(
        order_type="lmt", symbol=XBT, side=side, qty=D(qty), limit_price=D(price), **kw
    )


def checksum_of(book: dict[str, dict[str, str]]) -> int:
    """Reference §4.11 over the wire texts (as the official SDK hashes them)."""

    def part(text: str) -> str:
        return text.replace(".", "").lstrip("0")

    asks = sorted(book["asks"].items(), key=lambda lv: D(lv[0]))[:10]
    bids = sorted(book["bids"].items(), key=lambda lv: -D(lv[0]))[:10]
    return zlib.crc32("".join(part(p) + part(q) for p, q in asks + bids).encode())


def apply(book: dict[str, dict[str, str]], entry: dict[str, Any], depth: int = 10) -> None:
    for side in ("bids", "asks"):
        for level in entry[side]:
            if D(level["qty"]) == 0:
                book[side].pop(level["price"], None)
            else:
                book[side][level["price"]] = level["qty"]
        ordered = sorted(book[side], key=lambda p: -D(p) if side == "bids" else D(p))
        book[side] = {p: book[side][p] for p in ordered[:depth]}


def as_texts(text: str) -> Any:
    return json.loads(text, parse_float=str, parse_int=str)


# ------------------------------------------------------------------------------- public


async def test_public_channels_and_book_checksums(sim: SimHandle, rest: Any, other: Any) -> None:
    order(other, "sell", "0.5", "60050")
    order(rest, "buy", "0.2", "59900")
    probe = await connect(sim)
    await probe.send("subscribe", channel="book", symbol=[XBT], asset_class="derivatives")
    ack, snapshot = [as_texts(t) for t in await probe.barrier(raw=True)]
    assert ack["success"] is True and ack["result"] == {
        "channel": "book",
        "symbol": XBT,
        "depth": "10",
        "snapshot": True,
    }
    book: dict[str, dict[str, str]] = {"bids": {}, "asks": {}}
    apply(book, snapshot["data"][0])
    assert int(snapshot["data"][0]["checksum"]) == checksum_of(book)
    assert book == {"bids": {"59900": "0.2000"}, "asks": {"60050": "0.5000"}}
    trades = await probe.request("subscribe", channel="trade", symbol=[XBT])
    tickers = await probe.request(
        "subscribe", channel="ticker", symbol=[XBT], asset_class="derivatives"
    )
    assert trades[1] == {"channel": "trade", "type": "snapshot", "data": []}
    assert tickers[1]["data"][0]["bid"] == 59900 and tickers[1]["data"][0]["ask"] == 60050
    order(rest, "buy", "0.6", "60050")  # takes 0.5, rests 0.1 at 60050
    resting = order(rest, "buy", "0.1", "59800")
    rest.cancel_order(order_id=resting.order_id)
    frames = [as_texts(t) for t in await probe.barrier(raw=True)]
    channels = [f["channel"] for f in frames]
    assert "trade" in channels and channels.count("ticker") == 1
    for frame in frames:
        if frame["channel"] == "book":
            apply(book, frame["data"][0])
            assert int(frame["data"][0]["checksum"]) == checksum_of(book)
    view = sim.exchange.book(XBT)
    assert {D(p): D(q) for p, q in book["bids"].items()} == dict(view.bids)
    assert {D(p): D(q) for p, q in book["asks"].items()} == dict(view.asks)
    (trade,) = [f["data"][0] for f in frames if f["channel"] == "trade"]
    assert (trade["side"], trade["price"], trade["qty"]) == ("buy", "60050", "0.5")
    instruments = await probe.request("subscribe", channel="instrument", asset_class="derivatives")
    pairs = {p["symbol"]: p for p in instruments[1]["data"]["pairs"]}
    assert pairs[XBT]["price_increment"] == 1 and pairs[XBT]["qty_increment"] == D("0.0001")
    sim.clock.advance(1_000)
    sim.tick()  # messages flowed in this second: no heartbeat
    assert await probe.barrier() == []
    sim.clock.advance(1_000)
    sim.tick()
    assert await probe.barrier() == [{"channel": "heartbeat"}]
    await probe.ws.close()


# ------------------------------------------------------------------------------ private


async def test_private_access_needs_a_token_from_spot_rest(sim: SimHandle) -> None:
    probe = await connect(sim, private=True)
    sub = {"channel": "executions", "asset_class": "derivatives"}
    (missing,) = await probe.request("subscribe", **sub)
    assert missing["success"] is False and "params.token is required" in missing["error"]
    (bad,) = await probe.request("subscribe", token="not-a-token", **sub)
    assert bad["error"] == "ESession:Invalid session"
    ack, snapshot = await probe.request("subscribe", token=spot_token(sim), **sub)
    assert ack["success"] is True
    assert snapshot == {"channel": "executions", "type": "snapshot", "data": [], "sequence": 1}
    public = await connect(sim)
    (refused,) = await public.request("add_order", token=spot_token(sim), asset_class="derivatives")
    assert "served on /v2/private" in refused["error"]
    await probe.ws.close()
    await public.ws.close()


async def test_one_account_through_both_dialects(sim: SimHandle, rest: Any) -> None:
    legacy = order(rest, "buy", "0.1", "59000", cli_ord_id="from-rest")
    probe = await connect(sim, private=True)
    tok = spot_token(sim)
    common = {"asset_class": "derivatives", "token": tok}
    _, snapshot = await probe.request("subscribe", channel="executions", **common)
    (entry,) = snapshot["data"]
    assert (entry["order_id"], entry["cl_ord_id"], entry["limit_price"]) == (
        legacy.order_id,
        "from-rest",
        59000,
    )
    # uws -> legacy REST
    reply, new = await probe.request(
        "add_order",
        order_type="limit",
        side="sell",
        order_qty=0.2,
        symbol=XBT,
        limit_price=61000,
        cl_ord_id="from-uws",
        **common,
    )
    uws_id = reply["result"]["order_id"]
    assert reply["result"] == {"order_id": uws_id, "cl_ord_id": "from-uws"}
    assert new["data"][0]["exec_type"] == "new" and new["sequence"] == 2
    rows = {o.cli_ord_id: o for o in rest.get_open_orders()}
    assert rows["from-uws"].order_id == uws_id and rows["from-uws"].limit_price == 61000
    (amend, amended) = await probe.request(
        "amend_order", cl_ord_id="from-uws", limit_price=61500, order_qty=0.3, **common
    )
    assert amend["result"] == {"amend_id": "", "cl_ord_id": "from-uws"}
    assert amended["data"][0]["exec_type"] == "amended"
    row = {o.cli_ord_id: o for o in rest.get_open_orders()}["from-uws"]
    assert (row.limit_price, row.unfilled_size) == (61500, D("0.3"))
    # legacy REST -> uws
    rest.edit_order(order_id=legacy.order_id, limit_price=D(59100))
    rest.cancel_order(cli_ord_id="from-uws")
    updates = [m["data"][0] for m in await probe.barrier()]
    assert [(u["exec_type"], u["order_id"]) for u in updates] == [
        ("amended", legacy.order_id),
        ("canceled", uws_id),
    ]
    assert updates[0]["limit_price"] == 59100 and updates[1]["reason"] == "cancelled_by_user"
    replies = await probe.request("cancel_order", order_id=[legacy.order_id], **common)
    assert replies[0]["success"] is True and replies[1]["data"][0]["exec_type"] == "canceled"
    assert rest.get_open_orders() == []
    await probe.ws.close()


async def test_fills_and_balances_stream_to_uws(sim: SimHandle, other: Any) -> None:
    probe = await connect(sim, private=True)
    tok = spot_token(sim)
    await probe.request("subscribe", channel="executions", asset_class="derivatives", token=tok)
    ack, balances = await probe.request("subscribe", channel="balances", token=tok)
    assert ack["result"] == {"channel": "balances", "snapshot": True}
    usd = next(row for row in balances["data"] if row["asset"] == "USD")
    assert usd["balance"] == 100000 and usd["wallets"][0]["type"] == "flex"
    order(other, "sell", "0.1", "60000")
    out = await probe.request(
        "add_order",
        order_type="market",
        side="buy",
        order_qty=0.1,
        symbol=XBT,
        asset_class="derivatives",
        token=tok,
    )
    kinds = [
        (m.get("method") or m["channel"], m.get("data", [{}])[0].get("exec_type")) for m in out
    ]
    assert kinds[0] == ("add_order", None)  # the answer first, then what it caused
    assert sorted(kinds[1:], key=str) == [
        ("balances", None),
        ("executions", "filled"),
        ("executions", "trade"),
    ]
    assert kinds.index(("executions", "trade")) < kinds.index(("executions", "filled"))
    (balance,) = [m for m in out if m.get("channel") == "balances"]
    fee = balance["data"][0]
    assert fee["asset"] == "USD" and fee["amount"] < 0 and fee["fee"] > 0
    assert balance["sequence"] == 2
    await probe.ws.close()


# ------------------------------------------------------------------------------- faults


async def test_dropped_connection_fault(sim: SimHandle) -> None:
    probe = await connect(sim)
    sim.ctl(cmd="faults", set={"uws_drop_next": 1})
    with pytest.raises(websockets.ConnectionClosedError):
        await probe.recv()
    assert probe.ws.close_code == 1006  # no close frame: the TCP connection just died
    survivor = await connect(sim)  # the knob went back to 0
    assert await survivor.barrier() == []
    await survivor.ws.close()


async def test_checksum_break_fault_hits_the_next_update_only(sim: SimHandle, rest: Any) -> None:
    probe = await connect(sim)
    await probe.send("subscribe", channel="book", symbol=[XBT], asset_class="derivatives")
    _, snapshot = [as_texts(t) for t in await probe.barrier(raw=True)]
    book: dict[str, dict[str, str]] = {"bids": {}, "asks": {}}
    apply(book, snapshot["data"][0])
    sim.ctl(cmd="faults", set={"uws_checksum_break_next": 1})
    order(rest, "buy", "0.1", "59000")
    order(rest, "buy", "0.1", "59001")
    first, second = [as_texts(t)["data"][0] for t in await probe.barrier(raw=True)]
    apply(book, first)
    assert int(first["checksum"]) != checksum_of(book)  # the client must resync here
    apply(book, second)
    assert int(second["checksum"]) == checksum_of(book)
    await probe.ws.close()


async def test_lost_reply_is_executed_and_reported_on_executions(sim: SimHandle, rest: Any) -> None:
    probe = await connect(sim, private=True)
    tok = spot_token(sim)
    await probe.request("subscribe", channel="executions", asset_class="derivatives", token=tok)
    sim.ctl(cmd="faults", set={"uws_drop_reply_next": 1})
    out = await probe.request(
        "add_order",
        order_type="limit",
        side="buy",
        order_qty=0.1,
        symbol=XBT,
        limit_price=58000,
        cl_ord_id="lost-reply",
        asset_class="derivatives",
        token=tok,
    )
    assert [m.get("channel") for m in out] == ["executions"]  # no add_order answer
    assert out[0]["data"][0]["cl_ord_id"] == "lost-reply"
    assert [o.cli_ord_id for o in rest.get_open_orders()] == ["lost-reply"]
    again, canceled = await probe.request("cancel_all", asset_class="derivatives", token=tok)
    assert again["result"] == {"count": 1}  # the next request is answered again
    assert canceled["data"][0]["exec_type"] == "canceled"
    await probe.ws.close()


async def test_maintenance_status_fault(sim: SimHandle) -> None:
    public, private = await connect(sim), await connect(sim, private=True)
    sim.ctl(cmd="faults", set={"uws_status": "maintenance"})
    for probe in (public, private):
        (status,) = await probe.barrier()
        assert status["channel"] == "status" and status["data"][0]["system"] == "maintenance"
    (refused,) = await private.request(
        "cancel_all", asset_class="derivatives", token=spot_token(sim)
    )
    assert refused["error"] == "EService:Unavailable"
    sim.ctl(cmd="faults", set={"uws_status": ""})
    (status,) = await public.barrier()
    assert status["data"][0]["system"] == "online"
    await public.ws.close()
    await private.ws.close()
