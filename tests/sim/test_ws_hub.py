"""The simulator's WebSocket hub in memory (no sockets): frames in, Kraken's frames out.

The engine is driven directly; challenges are signed with hashlib/hmac written from the
reference (§2), not with our signing module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.ws import WsHub

HOUR = 3_600_000
T0 = 472_222 * HOUR + 10 * 60_000
XBT, ETH = "PF_XBTUSD", "PF_ETHUSD"
SECRET = bytes(range(64))
D = Decimal


def sign(challenge: str, secret: bytes = SECRET) -> str:
    digest = hashlib.sha256(challenge.encode()).digest()
    return base64.b64encode(hmac.new(secret, digest, hashlib.sha512).digest()).decode()


class Rig:
    """An exchange with accounts alice and bob, a hub, and helpers to talk to it."""

    def __init__(self, **hub_kwargs: Any) -> None:
        self.now = T0
        self.ex = Exchange(now_ms=T0, accounts=["alice", "bob"])
        self.ex.set_index_price(XBT, D(60000), T0)
        self.faults = Faults()
        self.hub = WsHub(
            self.ex,
            {"ka": ("alice", SECRET), "kb": ("bob", SECRET)},
            faults=self.faults,
            **hub_kwargs,
        )
        self.woken: list[object] = []
        self.hub.waker = self.woken.append

    def connect(self, cid: object = 1) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.hub.connect(cid, self.now)]

    def send(self, cid: object, msg: dict[str, Any] | str) -> list[dict[str, Any]]:
        raw = msg if isinstance(msg, str) else json.dumps(msg)
        return [json.loads(f) for f in self.hub.receive(cid, raw, self.now)]

    def drain(self, cid: object = 1) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.hub.drain(cid)]

    def sub(self, cid: object, feed: str, *products: str) -> list[dict[str, Any]]:
        msg: dict[str, Any] = {"event": "subscribe", "feed": feed}
        if products:
            msg["product_ids"] = list(products)
        return self.send(cid, msg)

    def private(self, cid: object, feed: str, key: str = "ka") -> list[dict[str, Any]]:
        (challenge,) = self.send(cid, {"event": "challenge", "api_key": key})
        uuid = challenge["message"]
        return self.send(
            cid,
            {
                "event": "subscribe",
                "feed": feed,
                "api_key": key,
                "original_challenge": uuid,
                "signed_challenge": sign(uuid),
            },
        )

    def order(self, account: str, side: str, qty: str, price: str, **kw: Any) -> Any:
        kw.setdefault("order_type", "lmt")
        return self.ex.send_order(
            account,
            symbol=kw.pop("symbol", XBT),
            side=side,
            qty=D(qty),
            limit_price=D(price),
            now_ms=self.now,
            **kw,
        )


def book_of(snapshot: dict[str, Any]) -> dict[str, dict[Decimal, Decimal]]:
    return {
        "buy": {D(str(x["price"])): D(str(x["qty"])) for x in snapshot["bids"]},
        "sell": {D(str(x["price"])): D(str(x["qty"])) for x in snapshot["asks"]},
    }


def apply(book: dict[str, dict[Decimal, Decimal]], delta: dict[str, Any]) -> None:
    side = book[delta["side"]]
    price, qty = D(str(delta["price"])), D(str(delta["qty"]))
    if qty == 0:
        side.pop(price, None)
    else:
        side[price] = qty


def engine_book(ex: Exchange, symbol: str = XBT) -> dict[str, dict[Decimal, Decimal]]:
    view = ex.book(symbol)
    return {"buy": dict(view.bids), "sell": dict(view.asks)}


# ------------------------------------------------------------------------------- protocol


def test_greeting_challenge_and_signed_private_subscription() -> None:
    rig = Rig()
    assert rig.connect() == [{"event": "info", "version": 1}]
    replies = rig.private(1, "open_orders")
    assert replies[0]["event"] == "subscribed" and replies[0]["feed"] == "open_orders"
    assert replies[0]["api_key"] == "ka"
    assert replies[1]["feed"] == "open_orders_snapshot" and replies[1]["orders"] == []


def test_bad_signature_is_refused_with_krakens_alert() -> None:
    rig = Rig()
    rig.connect()
    (challenge,) = rig.send(1, {"event": "challenge", "api_key": "ka"})
    bad = sign(challenge["message"], secret=b"wrong")
    replies = rig.send(
        1,
        {
            "event": "subscribe",
            "feed": "fills",
            "api_key": "ka",
            "original_challenge": challenge["message"],
            "signed_challenge": bad,
        },
    )
    assert replies == [{"event": "alert", "message": "Failed to subscribe to authenticated feed"}]
    rig.order("alice", "buy", "0.01", "59000")
    assert rig.drain() == []


@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        ({"event": "subscribe", "feed": "book", "product_ids": ["PF_NOPE"]}, "Invalid product id"),
        ({"event": "subscribe", "feed": "nope", "product_ids": [XBT]}, "Invalid feed"),
        ("{not json", "Json Error"),
        ({"event": "subscribe", "feed": "book"}, "Json Error"),
    ],
)
def test_errors_as_kraken_sends_them(request_: Any, reply: str) -> None:
    rig = Rig()
    rig.connect()
    assert rig.send(1, request_) == [{"event": "error", "message": reply}]


def test_rate_limit_drops_the_101st_request_in_a_second() -> None:
    rig = Rig()
    rig.connect()
    bad = {"event": "subscribe", "feed": "nope"}
    for _ in range(100):
        assert rig.send(1, bad)[0]["message"] == "Invalid feed"
    assert rig.send(1, bad) == [{"event": "alert", "message": "rate_limited"}]
    rig.now += 1_000
    assert rig.send(1, bad)[0]["message"] == "Invalid feed"


def test_unknown_connection_is_a_clear_error() -> None:
    rig = Rig()
    with pytest.raises(KeyError, match="connect"):
        rig.hub.receive("ghost", b"{}", T0)
    rig.connect(1)
    with pytest.raises(ValueError, match="already open"):
        rig.connect(1)


# ---------------------------------------------------------------------------------- book


def test_book_snapshot_then_deltas_with_engine_seq() -> None:
    rig = Rig()
    rig.order("bob", "sell", "0.5", "60100")
    rig.connect()
    reply, snap = rig.sub(1, "book", XBT)
    assert reply == {"event": "subscribed", "feed": "book", "product_ids": [XBT]}
    assert snap["feed"] == "book_snapshot" and snap["seq"] == rig.ex.book_seq(XBT)
    assert book_of(snap) == engine_book(rig.ex)
    assert snap["tickSize"] is None
    rig.order("alice", "buy", "0.2", "59900")
    rig.order("alice", "buy", "0.2", "60100")  # fills 0.2 of bob's level
    deltas = rig.drain()
    assert [m["seq"] for m in deltas] == list(range(snap["seq"] + 1, rig.ex.book_seq(XBT) + 1))
    assert deltas[-1] == {
        "feed": "book",
        "product_id": XBT,
        "side": "sell",
        "seq": rig.ex.book_seq(XBT),
        "price": 60100,
        "qty": 0.3,
        "timestamp": T0,
    }
    book = book_of(snap)
    for delta in deltas:
        apply(book, delta)
    assert book == engine_book(rig.ex)


def test_deltas_only_for_subscribed_products_and_stop_after_unsubscribe() -> None:
    rig = Rig()
    rig.connect()
    rig.sub(1, "book", XBT)
    rig.order("alice", "buy", "1", "2900", symbol=ETH)
    assert rig.drain() == []
    rig.order("alice", "buy", "0.1", "59000")
    assert len(rig.drain()) == 1
    assert rig.send(1, {"event": "unsubscribe", "feed": "book", "product_ids": [XBT]}) == [
        {"event": "unsubscribed", "feed": "book", "product_ids": [XBT]}
    ]
    rig.order("alice", "buy", "0.1", "59001")
    assert rig.drain() == []


ops = st.lists(
    st.tuples(
        st.sampled_from(["alice", "bob"]),
        st.sampled_from(["buy", "sell"]),
        st.sampled_from(["lmt", "post", "ioc", "mkt", "cancel"]),
        st.integers(59_990, 60_010),
        st.integers(1, 30),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops)
def test_property_applying_deltas_keeps_the_book_equal_to_the_engine(ops: list[Any]) -> None:
    rig = Rig()
    rig.connect()
    _, snap = rig.sub(1, "book", XBT)
    book, seq = book_of(snap), snap["seq"]
    for account, side, kind, price, lots in ops:
        rig.now += 1
        if kind == "cancel":
            orders = rig.ex.open_orders(account)
            if orders:
                rig.ex.cancel_order(account, order_id=orders[0].order_id, now_ms=rig.now)
        elif kind == "mkt":
            rig.ex.send_order(
                account, symbol=XBT, side=side, order_type="mkt", qty=D(lots) / 100, now_ms=rig.now
            )
        else:
            rig.order(account, side, str(D(lots) / 100), str(price), order_type=kind)
        for delta in rig.drain():
            assert delta["seq"] == seq + 1
            seq = delta["seq"]
            apply(book, delta)
        assert book == engine_book(rig.ex)
        assert seq == rig.ex.book_seq(XBT)


# ------------------------------------------------------------------------ trade, ticker...


def test_trade_snapshot_and_deltas() -> None:
    rig = Rig()
    rig.order("bob", "sell", "0.5", "60000")
    rig.order("alice", "buy", "0.1", "60000")
    rig.connect()
    _, snap = rig.sub(1, "trade", XBT)
    assert snap["feed"] == "trade_snapshot" and len(snap["trades"]) == 1
    first = snap["trades"][0]
    assert first["feed"] == "trade" and first["side"] == "buy" and first["type"] == "fill"
    rig.now += 5
    rig.order("alice", "buy", "0.2", "60000")
    (trade,) = rig.drain()
    assert trade["feed"] == "trade" and trade["seq"] == first["seq"] + 1
    assert (trade["qty"], trade["price"], trade["time"]) == (0.2, 60000, rig.now)


def test_ticker_is_throttled_to_one_per_second_per_product() -> None:
    rig = Rig()
    rig.connect()
    _, first = rig.sub(1, "ticker", XBT)
    assert first["feed"] == "ticker" and first["product_id"] == XBT
    for field in ("bid", "ask", "index", "markPrice", "leverage", "next_funding_rate_time"):
        assert field in first or field in ("bid", "ask")  # empty book: no bid/ask
    assert first["next_funding_rate_time"] == (T0 // HOUR + 1) * HOUR
    rig.hub.tick(T0 + 999)
    assert rig.drain() == []
    rig.hub.tick(T0 + 1_000)
    (again,) = rig.drain()
    assert again["feed"] == "ticker" and again["time"] == T0 + 1_000
    rig.hub.tick(T0 + 1_500)
    assert rig.drain() == []


def test_ticker_lite_and_heartbeat() -> None:
    rig = Rig()
    rig.connect()
    _, lite = rig.sub(1, "ticker_lite", XBT)
    assert lite["feed"] == "ticker_lite" and lite["tag"] == "perpetual" and lite["dtm"] == 0
    assert rig.sub(1, "heartbeat") == [{"event": "subscribed", "feed": "heartbeat"}]
    rig.hub.tick(T0 + 4_999)
    assert [m["feed"] for m in rig.drain()] == ["ticker_lite"]
    rig.hub.tick(T0 + 5_000)
    assert rig.drain() == [{"feed": "heartbeat", "time": T0 + 5_000}]


def test_idle_connection_is_closed_after_60_s_and_pings_keep_it_open() -> None:
    rig = Rig()
    rig.connect(1)
    rig.connect(2)
    rig.hub.note_activity(2, T0 + 30_000)
    assert rig.hub.tick(T0 + 59_999) == []
    assert rig.hub.tick(T0 + 60_000) == [1]
    request = rig.hub.close_request(1)
    assert request is not None and (request.code, request.abort) == (1000, False)
    assert rig.hub.close_request(2) is None
    assert rig.hub.tick(T0 + 90_000) == [2]


# ----------------------------------------------------------------------------- private


def test_private_feeds_follow_orders_and_fills() -> None:
    rig = Rig()
    rig.connect()
    feeds = ["open_orders", "fills", "open_positions", "balances", "account_log"]
    snaps = {f: rig.private(1, f)[1] for f in feeds}
    assert snaps["fills"] == {
        "feed": "fills_snapshot",
        "account": snaps["fills"]["account"],
        "fills": [],
    }
    assert snaps["open_positions"]["positions"] == []
    assert snaps["balances"]["flex_futures"]["currencies"]["USD"]["quantity"] == 100000
    placed = rig.order("alice", "buy", "0.1", "60000", cli_ord_id="mine-1")
    rig.order("bob", "sell", "0.1", "60000")
    msgs = rig.drain()
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for m in msgs:
        by_feed.setdefault(m["feed"], []).append(m)
    new, filled = by_feed["open_orders"]
    assert new["reason"] == "new_placed_order_by_user" and new["is_cancel"] is False
    assert new["order"]["cli_ord_id"] == "mine-1" and new["order"]["direction"] == 0
    assert filled["reason"] == "full_fill" and filled["is_cancel"] is True
    assert filled["order"]["qty"] == 0 and filled["order"]["filled"] == 0.1
    (fills,) = by_feed["fills"]
    (fill,) = fills["fills"]
    assert fill["order_id"] == placed.order_id and fill["fill_type"] == "maker"
    assert fill["buy"] is True and "fee_paid" in fill and fill["fee_currency"] == "USD"
    (pos_msg,) = by_feed["open_positions"]
    assert pos_msg["positions"][0]["balance"] == 0.1
    assert pos_msg["seq"] == snaps["open_positions"]["seq"] + 1
    assert len(by_feed["balances"]) == 1 and by_feed["balances"][0]["seq"] == 2
    logs = by_feed["account_log"]
    assert {m["new_entry"]["info"] for m in logs} == {"futures trade"}


def test_cancel_is_id_only_and_post_only_failure_only_on_verbose() -> None:
    rig = Rig()
    rig.connect()
    rig.private(1, "open_orders")
    rig.private(1, "open_orders_verbose")
    rig.order("bob", "sell", "0.1", "60000")
    placed = rig.order("alice", "buy", "0.1", "59000", cli_ord_id="c1")
    rig.drain()
    rig.ex.cancel_order("alice", order_id=placed.order_id, now_ms=rig.now)
    plain, verbose = rig.drain()
    assert plain == {
        "feed": "open_orders",
        "order_id": placed.order_id,
        "cli_ord_id": "c1",
        "is_cancel": True,
        "reason": "cancelled_by_user",
    }
    assert verbose == {**plain, "feed": "open_orders_verbose"}
    rig.order("alice", "buy", "0.1", "60000", order_type="post")
    (only,) = rig.drain()
    assert only["feed"] == "open_orders_verbose"
    assert only["reason"] == "post_order_failed_because_it_would_filled"


def test_fills_product_filter_and_one_snapshot() -> None:
    rig = Rig()
    rig.connect()
    (challenge,) = rig.send(1, {"event": "challenge", "api_key": "ka"})
    uuid = challenge["message"]
    auth = {"api_key": "ka", "original_challenge": uuid, "signed_challenge": sign(uuid)}
    replies = rig.send(1, {"event": "subscribe", "feed": "fills", "product_ids": [ETH], **auth})
    assert [m.get("feed") for m in replies] == ["fills", "fills_snapshot"]
    rig.order("bob", "sell", "0.1", "60000")
    rig.order("alice", "buy", "0.1", "60000")
    assert [m for m in rig.drain() if m["feed"] == "fills"] == []


def test_notifications_on_subscribe_and_on_change() -> None:
    rig = Rig()
    rig.connect()
    _, snap = rig.private(1, "notifications_auth")
    assert snap == {"feed": "notifications_auth", "notifications": []}
    rig.ex.set_trading_state(XBT, "maintenance", rig.now)
    rig.hub.tick(rig.now)
    (msg,) = rig.drain()
    (note,) = msg["notifications"]
    assert (note["type"], note["priority"], note["id"]) == ("maintenance", "high", 1)


def test_a_connection_serves_one_account() -> None:
    rig = Rig()
    rig.connect()
    rig.private(1, "fills", key="ka")
    assert rig.private(1, "fills", key="kb") == [
        {"event": "alert", "message": "Failed to subscribe to authenticated feed"}
    ]


# ------------------------------------------------------------------------------ faults


def seqs_after(rig: Rig, n: int, **faults: int) -> tuple[int, list[int]]:
    rig.connect()
    _, snap = rig.sub(1, "book", XBT)
    for name, value in faults.items():
        setattr(rig.faults, name, value)
    for i in range(n):
        rig.order("alice", "buy", "0.1", str(59000 + i))
    return snap["seq"], [m["seq"] for m in rig.drain()]


def test_gap_fault_withholds_exactly_one_delta() -> None:
    rig = Rig()
    s, seqs = seqs_after(rig, 3, ws_gap_next=1)
    assert seqs == [s + 2, s + 3] and rig.faults.ws_gap_next == 0


def test_duplicate_fault_sends_one_delta_twice() -> None:
    rig = Rig()
    s, seqs = seqs_after(rig, 3, ws_duplicate_next=1)
    assert seqs == [s + 1, s + 1, s + 2, s + 3]


def test_reorder_fault_swaps_one_pair() -> None:
    rig = Rig()
    s, seqs = seqs_after(rig, 4, ws_reorder_next=2)
    assert seqs == [s + 2, s + 1, s + 4, s + 3]


def test_reordered_delta_with_no_successor_goes_out_at_the_next_tick() -> None:
    rig = Rig()
    s, seqs = seqs_after(rig, 1, ws_reorder_next=1)
    assert seqs == []
    rig.hub.tick(rig.now)
    assert [m["seq"] for m in rig.drain()] == [s + 1]


def test_faults_wait_for_a_delta_with_recipients() -> None:
    rig = Rig()
    rig.faults.ws_gap_next = 1
    rig.order("alice", "buy", "0.1", "59000")  # nobody subscribed: the knob stays armed
    assert rig.faults.ws_gap_next == 1


def test_drop_fault_aborts_the_oldest_connections_now() -> None:
    rig = Rig()
    for cid in (1, 2, 3):
        rig.connect(cid)
        rig.sub(cid, "book", XBT)
    rig.faults.ws_drop_next = 2
    assert rig.hub.apply_faults() == [1, 2]
    assert rig.faults.ws_drop_next == 0
    request = rig.hub.close_request(1)
    assert request is not None and request.abort
    assert rig.hub.close_request(3) is None
    rig.order("alice", "buy", "0.1", "59000")
    assert rig.drain(1) == [] and len(rig.drain(3)) == 1
    assert {1, 2} <= set(rig.woken)


def test_slow_consumer_is_closed_when_its_queue_overflows() -> None:
    rig = Rig(max_queue=3)
    rig.connect()
    rig.sub(1, "book", XBT)
    for i in range(4):
        rig.order("alice", "buy", "0.1", str(59000 + i))
    request = rig.hub.close_request(1)
    assert request is not None and request.code == 1008 and not request.abort
    assert rig.drain() == []


def test_wakes_once_per_non_empty_queue() -> None:
    rig = Rig()
    rig.connect()
    rig.sub(1, "book", XBT)
    rig.order("alice", "buy", "0.1", "59000")
    rig.order("alice", "buy", "0.1", "59001")
    assert rig.woken == [1]
    rig.drain()
    rig.order("alice", "sell", "0.1", "61000")
    assert rig.woken == [1, 1]


def test_disconnect_and_close_forget_everything() -> None:
    rig = Rig()
    rig.connect()
    rig.sub(1, "book", XBT)
    rig.hub.disconnect(1)
    rig.order("alice", "buy", "0.1", "59000")
    assert rig.hub.connections == []
    rig.hub.close()
    assert rig.ex.listeners == []
