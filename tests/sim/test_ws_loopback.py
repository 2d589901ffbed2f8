"""``/ws/v1`` over real loopback, talked to with the ``websockets`` library (not our client).

Orders go in over REST on the same port; the exchange clock is a fake one moved by the test,
and ``handle.tick()`` runs the simulator's periodic work (tickers, heartbeats, idle closes).
A *barrier* (a request for an unknown feed) proves that everything the server queued before
it has arrived: replies and feed messages share one ordered line per connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
import websockets

from krakenfutures.sim.config import KeyConfig
from krakenfutures.testing import TEST_KEY, TEST_SECRET, SimHandle, running_simulator

XBT = "PF_XBTUSD"
HOUR = 3_600_000
OTHER_KEY = "test-key-other"
D = Decimal


def sign(challenge: str, secret_b64: str = TEST_SECRET) -> str:
    """Reference §2, written with hashlib/hmac."""
    digest = hashlib.sha256(challenge.encode()).digest()
    key = base64.b64decode(secret_b64)
    return base64.b64encode(hmac.new(key, digest, hashlib.sha512).digest()).decode()


class Probe:
    """A raw WebSocket v1 conversation."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.auth: dict[str, str] = {}

    async def send(self, msg: dict[str, Any] | str) -> None:
        await self.ws.send(msg if isinstance(msg, str) else json.dumps(msg))

    async def recv(self) -> dict[str, Any]:
        import asyncio

        result: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
        return result

    async def barrier(self) -> list[dict[str, Any]]:
        """Everything that arrives before the reply to a deliberately invalid request."""
        await self.send({"event": "subscribe", "feed": "barrier"})
        out = []
        while (msg := await self.recv()) != {"event": "error", "message": "Invalid feed"}:
            out.append(msg)
        return out

    async def request(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        await self.send(msg)
        return await self.barrier()

    async def subscribe(self, feed: str, *products: str, private: bool = False) -> list[Any]:
        msg: dict[str, Any] = {"event": "subscribe", "feed": feed}
        if products:
            msg["product_ids"] = list(products)
        if private:
            msg.update(self.auth)
        return await self.request(msg)

    async def authenticate(self, api_key: str = TEST_KEY, secret: str = TEST_SECRET) -> None:
        await self.send({"event": "challenge", "api_key": api_key})
        reply = await self.recv()
        assert reply["event"] == "challenge"
        challenge = reply["message"]
        self.auth = {
            "api_key": api_key,
            "original_challenge": challenge,
            "signed_challenge": sign(challenge, secret),
        }


def ws_url(handle: SimHandle) -> str:
    return handle.base_url.replace("http://", "ws://") + "/ws/v1"


async def connect(handle: SimHandle) -> Probe:
    ws = await websockets.connect(ws_url(handle), ping_interval=None, max_size=None)
    probe = Probe(ws)
    assert await probe.recv() == {"event": "info", "version": 1}
    return probe


@pytest.fixture
def sim_keys() -> tuple[KeyConfig, ...]:
    return (KeyConfig(api_key=OTHER_KEY, api_secret=TEST_SECRET, account="other"),)


def order(client: Any, side: str, qty: str, price: str, **kw: Any) -> Any:
    return client.send_order(
        order_type=kw.pop("order_type", "lmt"),
        symbol=kw.pop("symbol", XBT),
        side=side,
        qty=D(qty),
        limit_price=D(price),
        **kw,
    )


def as_book(bids: Any, asks: Any) -> dict[str, dict[Decimal, Decimal]]:
    return {
        "buy": {D(str(p)): D(str(q)) for p, q in bids},
        "sell": {D(str(p)): D(str(q)) for p, q in asks},
    }


def engine_book(sim: SimHandle) -> dict[str, dict[Decimal, Decimal]]:
    view = sim.exchange.book(XBT)
    return as_book(view.bids, view.asks)


# ------------------------------------------------------------------------------- protocol


@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        (
            {"event": "subscribe", "feed": "book", "product_ids": ["PF_NOPE"]},
            {"event": "error", "message": "Invalid product id"},
        ),
        (
            {"event": "subscribe", "feed": "bogus", "product_ids": [XBT]},
            {"event": "error", "message": "Invalid feed"},
        ),
        ("this is not json", {"event": "error", "message": "Json Error"}),
        ({"event": "ping"}, {"event": "alert", "message": "Bad websocket message"}),
    ],
)
async def test_errors_as_kraken_sends_them(sim: SimHandle, request_: Any, reply: Any) -> None:
    probe = await connect(sim)
    await probe.send(request_)
    assert await probe.recv() == reply
    await probe.ws.close()


async def test_rate_limit_is_100_requests_per_second(sim: SimHandle) -> None:
    probe = await connect(sim)
    for _ in range(101):
        await probe.send({"event": "subscribe", "feed": "nope"})
    replies = [await probe.recv() for _ in range(101)]
    assert replies[:100] == [{"event": "error", "message": "Invalid feed"}] * 100
    assert replies[100] == {"event": "alert", "message": "rate_limited"}
    sim.clock.advance(1_000)
    assert await probe.barrier() == []
    await probe.ws.close()


async def test_idle_connection_closed_after_60_s_pings_count_as_activity(sim: SimHandle) -> None:
    probe = await connect(sim)
    sim.clock.advance(30_000)
    await (await probe.ws.ping())  # the pong proves the server saw the ping at +30 s
    sim.clock.advance(59_000)
    sim.tick()
    assert await probe.barrier() == []  # 89 s after connecting, 59 s after the ping: open
    sim.clock.advance(60_000)
    sim.tick()
    with pytest.raises(websockets.ConnectionClosedOK):
        await probe.recv()
    assert probe.ws.close_code == 1000


async def test_private_subscription_needs_a_good_signature(sim: SimHandle) -> None:
    probe = await connect(sim)
    await probe.authenticate(secret=base64.b64encode(b"not the secret").decode())
    assert await probe.subscribe("open_orders", private=True) == [
        {"event": "alert", "message": "Failed to subscribe to authenticated feed"}
    ]
    await probe.authenticate()
    reply, snapshot = await probe.subscribe("open_orders", private=True)
    assert reply == {"event": "subscribed", "feed": "open_orders", **probe.auth}
    assert snapshot["feed"] == "open_orders_snapshot" and snapshot["orders"] == []
    await probe.ws.close()


# ------------------------------------------------------------------------------- public


async def test_book_snapshot_and_deltas_track_rest_orders(
    sim: SimHandle, rest: Any, other: Any
) -> None:
    order(other, "sell", "0.5", "60050")
    order(other, "sell", "0.3", "60100")
    probe = await connect(sim)
    reply, snapshot = await probe.subscribe("book", XBT)
    assert reply == {"event": "subscribed", "feed": "book", "product_ids": [XBT]}
    assert snapshot["feed"] == "book_snapshot" and snapshot["seq"] == sim.exchange.book_seq(XBT)
    book = as_book(
        [(x["price"], x["qty"]) for x in snapshot["bids"]],
        [(x["price"], x["qty"]) for x in snapshot["asks"]],
    )
    assert book == engine_book(sim)
    order(rest, "buy", "0.2", "59900")
    order(rest, "buy", "0.6", "60050")  # takes 0.5, rests 0.1 at 60050
    resting = order(rest, "buy", "0.1", "59800")
    rest.cancel_order(order_id=resting.order_id)
    order(other, "sell", "0.05", "59900")
    deltas = await probe.barrier()
    assert {m["feed"] for m in deltas} == {"book"}
    seqs = [m["seq"] for m in deltas]
    assert seqs == list(range(snapshot["seq"] + 1, sim.exchange.book_seq(XBT) + 1))
    for delta in deltas:
        side = book[delta["side"]]
        price, qty = D(str(delta["price"])), D(str(delta["qty"]))
        if qty == 0:
            side.pop(price, None)
        else:
            side[price] = qty
    assert book == engine_book(sim)
    await probe.ws.close()


async def test_trade_snapshot_and_deltas(sim: SimHandle, rest: Any, other: Any) -> None:
    order(other, "sell", "1", "60000")
    order(rest, "buy", "0.1", "60000")
    probe = await connect(sim)
    _, snapshot = await probe.subscribe("trade", XBT)
    (first,) = snapshot["trades"]
    assert snapshot["product_id"] == XBT
    assert {k: first[k] for k in ("feed", "product_id", "side", "type", "qty", "price")} == {
        "feed": "trade",
        "product_id": XBT,
        "side": "buy",
        "type": "fill",
        "qty": 0.1,
        "price": 60000,
    }
    sim.clock.advance(10)
    order(rest, "buy", "0.2", "60000")
    (trade,) = await probe.barrier()
    assert trade["seq"] == first["seq"] + 1 and trade["time"] == sim.clock.now_ms()
    assert len(trade["uid"]) == 36
    await probe.ws.close()


TICKER_FIELDS = {
    "time", "product_id", "bid", "ask", "bid_size", "ask_size", "volume", "volumeQuote", "dtm",
    "leverage", "index", "premium", "last", "change", "open", "high", "low", "suspended", "tag",
    "pair", "openInterest", "markPrice", "maturityTime", "post_only", "funding_rate",
    "funding_rate_prediction", "relative_funding_rate", "relative_funding_rate_prediction",
    "next_funding_rate_time",
}  # fmt: skip


async def test_ticker_has_every_field_and_is_throttled(
    sim: SimHandle, rest: Any, other: Any
) -> None:
    order(other, "sell", "1", "60100")
    order(rest, "buy", "1", "59900")
    order(rest, "buy", "0.1", "60100")  # a last price and 24 h stats
    sim.ctl(cmd="mark", symbol=XBT, price="60300")  # a premium: funding rates become non-zero
    sim.clock.advance(HOUR)
    sim.tick()
    probe = await connect(sim)
    _, ticker = await probe.subscribe("ticker", XBT)
    assert set(ticker) == TICKER_FIELDS | {"feed"}
    now = sim.clock.now_ms()
    assert ticker["next_funding_rate_time"] == (now // HOUR + 1) * HOUR
    assert (ticker["bid"], ticker["ask"], ticker["markPrice"]) == (59900, 60100, 60300)
    assert ticker["leverage"] == "50x" and ticker["tag"] == "perpetual"
    assert ticker["premium"] == 0.5  # (60300 - 60000) / 60000 in percent
    (row,) = [t for t in rest.get_tickers() if t.symbol == XBT]
    assert D(str(ticker["funding_rate"])) == row.funding_rate
    assert D(str(ticker["funding_rate_prediction"])) == row.funding_rate_prediction
    sim.clock.advance(999)
    sim.tick()
    assert await probe.barrier() == []
    sim.clock.advance(1)
    sim.tick()
    (again,) = await probe.barrier()
    assert again["feed"] == "ticker" and again["time"] == now + 1_000
    await probe.ws.close()


async def test_ticker_lite_heartbeat_and_unsubscribe(sim: SimHandle) -> None:
    probe = await connect(sim)
    _, lite = await probe.subscribe("ticker_lite", XBT)
    assert lite["feed"] == "ticker_lite" and lite["product_id"] == XBT
    assert await probe.subscribe("heartbeat") == [{"event": "subscribed", "feed": "heartbeat"}]
    assert await probe.request(
        {"event": "unsubscribe", "feed": "ticker_lite", "product_ids": [XBT]}
    ) == [{"event": "unsubscribed", "feed": "ticker_lite", "product_ids": [XBT]}]
    sim.clock.advance(5_000)
    sim.tick()
    assert await probe.barrier() == [{"feed": "heartbeat", "time": sim.clock.now_ms()}]
    await probe.ws.close()


# ------------------------------------------------------------------------------ private


async def test_every_private_feed_follows_rest_orders(
    sim: SimHandle, rest: Any, other: Any
) -> None:
    probe = await connect(sim)
    await probe.authenticate()
    feeds = ["open_orders", "open_orders_verbose", "fills", "open_positions", "balances"]
    feeds += ["account_log", "notifications_auth"]
    snapshots = {}
    for feed in feeds:
        reply, snapshot = await probe.subscribe(feed, private=True)
        assert reply["event"] == "subscribed" and reply["feed"] == feed
        snapshots[feed] = snapshot
    assert snapshots["balances"]["feed"] == "balances_snapshot"
    assert snapshots["account_log"]["feed"] == "account_log_snapshot"
    placed = order(rest, "buy", "0.2", "60000", cli_ord_id="ws-test-1")
    order_id = placed.order_id
    order(other, "sell", "0.05", "60000")  # partial fill of our order
    order(other, "sell", "0.15", "60000")  # the rest
    msgs = await probe.barrier()
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for m in msgs:
        by_feed.setdefault(m["feed"], []).append(m)
    reasons = [(m["reason"], m["is_cancel"]) for m in by_feed["open_orders"]]
    assert reasons == [
        ("new_placed_order_by_user", False),
        ("partial_fill", False),
        ("full_fill", True),
    ]
    done = by_feed["open_orders"][-1]["order"]
    assert done["order_id"] == order_id and done["qty"] == 0 and done["filled"] == 0.2
    assert done["cli_ord_id"] == "ws-test-1" and done["type"] == "limit"
    assert len(by_feed["open_orders_verbose"]) == 3
    fills = [f for m in by_feed["fills"] for f in m["fills"]]
    assert [f["qty"] for f in fills] == [0.05, 0.15]
    for fill in fills:
        assert fill["order_id"] == order_id and fill["cli_ord_id"] == "ws-test-1"
        assert fill["fill_type"] == "maker" and fill["buy"] is True
        assert D(str(fill["fee_paid"])) != 0 and fill["fee_currency"] == "USD"
    assert fills[1]["seq"] == fills[0]["seq"] + 1
    positions = by_feed["open_positions"][-1]
    (position,) = positions["positions"]
    assert position["instrument"] == XBT and position["balance"] == 0.2
    assert position["entry_price"] == 60000 and position["pnl_currency"] == "USD"
    balances = by_feed["balances"][-1]
    assert balances["seq"] > snapshots["balances"]["seq"]
    usd = balances["flex_futures"]["currencies"]["USD"]["quantity"]
    assert D(str(usd)) == D(100000) - sum(D(str(f["fee_paid"])) for f in fills)
    logs = [m["new_entry"] for m in by_feed["account_log"]]
    assert {e["info"] for e in logs} == {"futures trade"} and len(logs) == 4
    assert "notifications_auth" not in by_feed
    sim.ctl(cmd="state", symbol=XBT, state="maintenance")
    sim.tick()
    (notes,) = [m for m in await probe.barrier() if m["feed"] == "notifications_auth"]
    assert notes["notifications"][0]["type"] == "maintenance"
    await probe.ws.close()


async def test_the_real_clock_tick_loop_sends_tickers_every_second() -> None:
    with running_simulator(real_clock=True) as handle:
        probe = await connect(handle)
        _, first = await probe.subscribe("ticker", XBT)
        second = await probe.recv()  # pushed by the server's own tick loop, ~1 s later
        assert second["feed"] == "ticker" and second["time"] >= first["time"] + 1_000
        await probe.ws.close()
