"""The uws hub in memory (no sockets): protocol details, the depth-limited book and its checksum
against an independent implementation, executions from engine events, order-method errors and
journal replay. The loopback tests (``test_uws_loopback.py``) cover the same hub on real sockets.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.sim.app import Simulator
from krakenfutures.sim.config import SPOT_KEY, KeyConfig
from krakenfutures.sim.persist import StateStore
from krakenfutures.sim.uws_auth import SpotKey
from krakenfutures.sim.uws_books import BookMirror
from krakenfutures.testing import TEST_SECRET, FakeClock, SimHandle, make_simulator, sim_config

XBT = "PF_XBTUSD"
D = Decimal
VECTOR = (  # reference §4.11, the SDK's worked example
    "4528521000004528641545719534528661545711094528961545609114529021589066045291815455349145"
    "2947445474945296135380000452975994554245299518772827452835100000004528341545820154528211"
    "0000000452810100000004528031545925864527907990000452776331010345277530000000452773154602"
    "73745276615445238"
)


def config(**changes: Any) -> Any:
    base = sim_config()
    spot = (
        KeyConfig("spot", TEST_SECRET, "main", kind=SPOT_KEY),
        KeyConfig("spot-read", TEST_SECRET, "main", Permission.READ, kind=SPOT_KEY),
        KeyConfig("other-futures", TEST_SECRET, "other"),
    )
    return dataclasses.replace(base, keys=(*base.keys, *spot), **changes)


class Conn:
    """One in-memory uws connection: ``send`` returns the decoded replies and frames."""

    ids = 0

    def __init__(self, handle: SimHandle, private: bool = True) -> None:
        Conn.ids += 1
        self.handle, self.hub = handle, handle.simulator.uws_hub
        self.cid = (private, Conn.ids)
        self.greeting = [json.loads(b) for b in self.hub.connect(self.cid, handle.clock.now_ms())]

    def send(self, method: str, req_id: int | None = 1, **params: Any) -> list[dict[str, Any]]:
        msg: dict[str, Any] = {"method": method, "params": params}
        if req_id is not None:
            msg["req_id"] = req_id
        out = self.hub.receive(self.cid, json.dumps(msg), self.handle.clock.now_ms())
        return [json.loads(b, parse_float=D) for b in out]

    def drain(self) -> list[dict[str, Any]]:
        return [json.loads(b, parse_float=D) for b in self.hub.drain(self.cid)]


def token(handle: SimHandle, key: str = "spot") -> str:
    spot_key = handle.simulator.spot_keys[key]
    assert isinstance(spot_key, SpotKey)
    return handle.simulator.tokens.issue(spot_key, handle.clock.now_ms()).token


@pytest.fixture
def sim() -> SimHandle:
    return make_simulator(config())


def place(handle: SimHandle, account: str, side: str, qty: str, price: str, **kw: Any) -> Any:
    return handle.exchange.send_order(
        account,
        symbol=kw.pop("symbol", XBT),
        side=side,
        order_type=kw.pop("order_type", "lmt"),
        qty=D(qty),
        limit_price=D(price),
        now_ms=handle.clock.now_ms(),
        **kw,
    )


# ------------------------------------------------------------------------------- checksum


def independent_checksum(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    """Reference §4.11 written again: asks low->high then bids high->low, top 10 each."""
    text = ""
    for price, qty in sorted(asks, key=lambda lv: D(lv[0]))[:10]:
        text += price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
    for price, qty in sorted(bids, key=lambda lv: -D(lv[0]))[:10]:
        text += price.replace(".", "").lstrip("0") + qty.replace(".", "").lstrip("0")
    return zlib.crc32(text.encode())


def test_published_checksum_vector() -> None:
    assert len(VECTOR) == 281
    assert zlib.crc32(VECTOR.encode()) == 3310070434
    # One level whose texts strip to the vector: the mirror hashes exactly the wire digits.
    assert BookMirror(XBT, 10, asks=[(VECTOR, "0.0")]).checksum() == 3310070434
    assert independent_checksum([(VECTOR, "0.0")], []) == 3310070434
    assert independent_checksum([("45285.2", "0.00159953")], []) == zlib.crc32(b"452852159953")


@given(
    st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**8)), max_size=25),
    st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, 10**8)), max_size=25),
)
def test_checksum_matches_independent_implementation(asks: Any, bids: Any) -> None:
    def texts(levels: Any, descending: bool) -> list[tuple[str, str]]:
        unique = dict(levels)
        ordered = sorted(unique.items(), reverse=descending)
        return [(f"{D(p).scaleb(-1):.1f}", f"{D(q).scaleb(-8):.8f}") for p, q in ordered]

    a, b = texts(asks, False), texts(bids, True)
    assert BookMirror(XBT, 25, bids=b, asks=a).checksum() == independent_checksum(a, b)


# ----------------------------------------------------------------------------------- book


def apply_book(book: dict[str, dict[str, str]], entry: dict[str, Any], depth: int) -> None:
    for side, key in (("bids", "bids"), ("asks", "asks")):
        for level in entry[key]:
            price, qty = str(level["price"]), str(level["qty"])
            if D(qty) == 0:
                book[side].pop(price, None)
            else:
                book[side][price] = qty
        ordered = sorted(book[side], key=lambda p: -D(p) if side == "bids" else D(p))
        book[side] = {p: book[side][p] for p in ordered[:depth]}


def raw_conn(handle: SimHandle) -> tuple[Any, Any]:
    """A public connection whose frames are decoded with the number texts kept."""
    hub, cid = handle.simulator.uws_hub, (False, object())
    hub.connect(cid, handle.clock.now_ms())
    return hub, cid


def texts(frame: bytes) -> Any:
    return json.loads(frame, parse_float=str, parse_int=str)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["buy", "sell", "cancel"]),
            st.integers(0, 14),
            st.integers(1, 30),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_depth_limited_book_tracks_engine_and_checksums_agree(ops: Any) -> None:
    handle = make_simulator(config())
    hub, cid = raw_conn(handle)
    sub = {"channel": "book", "symbol": [XBT], "depth": 10, "asset_class": "derivatives"}
    frames = hub.receive(cid, json.dumps({"method": "subscribe", "params": sub}), 0)
    snapshot = texts(frames[1])["data"][0]
    book: dict[str, dict[str, str]] = {"bids": {}, "asks": {}}
    apply_book(book, snapshot, 10)
    resting: list[str] = []
    for action, offset, lots in ops:
        if action == "cancel":
            if resting:
                handle.exchange.cancel_order(
                    "main", order_id=resting.pop(offset % len(resting)), now_ms=0
                )
            continue
        price = 59_990 - offset if action == "buy" else 60_010 + offset
        result = place(handle, "main", action, f"{lots / 100}", str(price))
        resting.append(result.order_id)
    for frame in hub.drain(cid):
        entry = texts(frame)["data"][0]
        apply_book(book, entry, 10)
        asks = list(book["asks"].items())
        bids = list(book["bids"].items())
        assert int(entry["checksum"]) == independent_checksum(asks, bids)
    view = handle.exchange.book(XBT, 10)
    assert {D(p): D(q) for p, q in book["bids"].items()} == dict(view.bids)
    assert {D(p): D(q) for p, q in book["asks"].items()} == dict(view.asks)


def test_level_entering_range_is_sent_and_pushed_out_level_is_not(sim: SimHandle) -> None:
    for i in range(11):
        place(sim, "main", "buy", "0.01", str(59_000 - i))
    conn = Conn(sim, private=False)
    _, snap = conn.send("subscribe", channel="book", symbol=[XBT], asset_class="derivatives")
    assert [lv["price"] for lv in snap["data"][0]["bids"]] == list(range(59_000, 58_990, -1))
    best = max(sim.exchange.open_orders("main"), key=lambda v: v.limit_price)
    sim.exchange.cancel_order("main", order_id=best.order_id, now_ms=0)
    (update,) = conn.drain()
    bids = {lv["price"]: lv["qty"] for lv in update["data"][0]["bids"]}
    assert bids == {59_000: 0, 58_990: D("0.0100")}
    place(sim, "main", "buy", "0.02", "59500")  # better level: 58990 leaves the top 10 silently
    (update,) = conn.drain()
    assert update["data"][0]["bids"] == [{"price": 59_500, "qty": D("0.0200")}]


# ------------------------------------------------------------------------------- protocol


def test_greeting_ping_and_malformed_frames(sim: SimHandle) -> None:
    conn = Conn(sim, private=False)
    (status,) = conn.greeting
    assert status["channel"] == "status" and status["type"] == "update"
    entry = status["data"][0]
    assert (entry["api_version"], entry["system"]) == ("v2", "online")
    assert entry["upcoming_maintenance"] == [] and entry["emergency"] == []
    (pong,) = conn.send("ping", req_id=101)
    assert pong["method"] == "pong" and pong["req_id"] == 101 and pong["success"] is True
    assert pong["time_in"].endswith("Z") and len(pong["time_in"]) == len(
        "2026-01-01T00:00:00.000000Z"
    )
    out = json.loads(conn.hub.receive(conn.cid, "not json", 0)[0])
    assert out["success"] is False and "method" not in out
    (unknown,) = conn.send("fly", req_id=None)
    assert unknown["error"].startswith("EGeneral:Invalid arguments") and "req_id" not in unknown


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"channel": "book", "symbol": [XBT]}, "asset_class is required"),
        ({"channel": "book", "symbol": [XBT], "asset_class": "spot"}, "derivatives only"),
        ({"channel": "book", "symbol": [XBT], "asset_class": "derivatives", "depth": 7}, "depth"),
        ({"channel": "heartbeat"}, "without subscribing"),
        ({"channel": "positions", "asset_class": "derivatives"}, "served on /v2/private"),
        ({"channel": "margin"}, "asset_class is required"),
        ({"channel": "nope"}, "unknown channel"),
        ({"channel": "executions", "asset_class": "derivatives"}, "served on /v2/private"),
    ],
)
def test_subscription_errors(sim: SimHandle, params: Any, error: str) -> None:
    (reply,) = Conn(sim, private=False).send("subscribe", **params)
    assert reply["success"] is False and error in reply["error"]


def test_heartbeat_only_when_subscribed_and_quiet(sim: SimHandle) -> None:
    quiet, idle = Conn(sim, private=False), Conn(sim, private=False)
    quiet.send("subscribe", channel="ticker", symbol=[XBT], asset_class="derivatives")
    sim.clock.advance(1_000)
    sim.tick()
    assert quiet.drain() == [{"channel": "heartbeat"}]
    assert idle.drain() == []


# ----------------------------------------------------------------------------- executions


def test_executions_follow_engine_events_with_sequences(sim: SimHandle) -> None:
    conn = Conn(sim)
    ack, snap = conn.send(
        "subscribe", channel="executions", token=token(sim), asset_class="derivatives"
    )
    assert ack["success"] and snap["type"] == "snapshot" and snap["sequence"] == 1
    place(sim, "other", "sell", "0.3", "60000")
    place(sim, "main", "buy", "0.5", "60000", cli_ord_id="mine")  # 0.3 fills, 0.2 rests
    frames = conn.drain()
    kinds = [(f["data"][0]["exec_type"], f["data"][0]["order_status"]) for f in frames]
    assert kinds == [("trade", "partially_filled"), ("new", "partially_filled")]
    assert [f["sequence"] for f in frames] == [2, 3]
    trade = frames[0]["data"][0]
    assert trade["cl_ord_id"] == "mine" and trade["liquidity_ind"] == "t"
    assert (trade["last_qty"], trade["last_price"], trade["cum_qty"]) == (D("0.3"), 60000, D("0.3"))
    assert trade["fees"][0]["asset"] == "USD" and trade["fees"][0]["qty"] > 0
    place(sim, "other", "sell", "0.2", "59990")
    frames = conn.drain()
    kinds = [(f["data"][0]["exec_type"], f["data"][0]["order_status"]) for f in frames]
    assert kinds == [("trade", "filled"), ("filled", "filled")]
    assert frames[1]["data"][0]["avg_price"] == 60000


def test_trigger_order_reports_triggers_and_firing(sim: SimHandle) -> None:
    conn = Conn(sim)
    conn.send("subscribe", channel="executions", token=token(sim), asset_class="derivatives")
    reply, new = conn.send(  # the reply, then the executions it caused
        "add_order",
        order_type="stop-loss-limit",
        side="buy",
        order_qty=0.1,
        symbol=XBT,
        limit_price=60_200,
        triggers={"reference": "index", "price": 60_100},
        asset_class="derivatives",
        token=token(sim),
    )
    assert reply["success"], reply
    entry = new["data"][0]
    assert (entry["exec_type"], entry["order_type"]) == ("new", "stop-loss-limit")
    assert entry["triggers"] == {"reference": "index", "price": 60100, "price_type": "static"}
    sim.exchange.set_index_price(XBT, D(60_150), sim.clock.now_ms())
    sim.exchange.advance(sim.clock.advance(1_000))
    fired = [f["data"][0] for f in conn.drain()]
    assert fired[0]["exec_type"] == "status" and fired[0]["reason"] == "stop_order_triggered"


# ------------------------------------------------------------------------- order methods


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"order_userref": 1}, "order_userref is not available for derivatives; use cl_ord_id"),
        ({"display_qty": 1}, "display_qty is not available for derivatives"),
        ({"leverage": 5}, "Unsupported field: 'leverage'"),
        ({"time_in_force": "gtd"}, "time_in_force 'gtd'"),
        ({"order_qty": 0.00001}, "EGeneral:Invalid arguments:order_qty"),
        ({"order_qty": -1}, "must be a positive number"),
        ({"symbol": "PF_NOPE"}, "Currency pair not supported PF_NOPE"),
        ({"order_type": "trailing-stop"}, "not simulated"),
        ({"limit_price": None}, "limit_price is required"),
        ({"deadline": "2025-01-01T00:00:00Z"}, "EOrder:Deadline elapsed"),
        ({"order_qty": 1000}, "EOrder:Insufficient margin"),
        ({"asset_class": None}, "asset_class is required"),
    ],
)
def test_add_order_refusals(sim: SimHandle, changes: dict[str, Any], error: str) -> None:
    params = {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 0.1,
        "symbol": XBT,
        "limit_price": 59_000,
        "asset_class": "derivatives",
        "token": token(sim),
        **changes,
    }
    (reply,) = Conn(sim).send("add_order", **{k: v for k, v in params.items() if v is not None})
    assert reply["success"] is False and error in reply["error"]
    assert sim.exchange.open_orders("main") == []


def test_private_methods_need_private_endpoint_token_and_trading_rights(sim: SimHandle) -> None:
    params = {"asset_class": "derivatives"}
    (public,) = Conn(sim, private=False).send("cancel_all", token=token(sim), **params)
    assert "served on /v2/private" in public["error"]
    conn = Conn(sim)
    assert "params.token is required" in conn.send("cancel_all", **params)[0]["error"]
    assert conn.send("cancel_all", token="made-up", **params)[0]["error"] == (
        "ESession:Invalid session"
    )
    (read,) = conn.send("cancel_all", token=token(sim, "spot-read"), **params)
    assert read["error"] == "EGeneral:Permission denied"


def test_amend_cancel_batches_and_dead_mans_switch(sim: SimHandle) -> None:
    conn, tok = Conn(sim), token(sim)
    common = {"asset_class": "derivatives", "token": tok}
    rows = [
        {
            "order_type": "limit",
            "side": "buy",
            "order_qty": 0.1,
            "limit_price": 59_000 + i,
            "cl_ord_id": f"b{i}",
        }
        for i in range(3)
    ]
    (batch,) = conn.send("batch_add", symbol=XBT, orders=rows, **common)
    ids = [row["order_id"] for row in batch["result"]]
    assert [row["cl_ord_id"] for row in batch["result"]] == ["b0", "b1", "b2"]
    (bad,) = conn.send("batch_add", symbol=XBT, orders=rows[:1], **common)
    assert "2 to 15" in bad["error"]
    (amend,) = conn.send(
        "amend_order", order_id=ids[0], order_qty=0.3, limit_price=58_000, **common
    )
    assert amend["result"] == {"amend_id": "", "order_id": ids[0]}
    view = next(v for v in sim.exchange.open_orders("main") if v.order_id == ids[0])
    assert (view.qty, view.limit_price) == (D("0.3"), D(58_000))
    (unknown,) = conn.send("amend_order", cl_ord_id="nope", limit_price=1, **common)
    assert unknown["error"] == "EOrder:Unknown order"
    replies = conn.send(
        "cancel_order", order_id=[ids[0], "0e3f8a6e-0000-4000-8000-000000000000"], **common
    )
    assert [r["success"] for r in replies] == [True, False]
    assert replies[1]["error"] == "EOrder:Unknown order"
    (not_uuid,) = conn.send("cancel_order", order_id=["42"], **common)
    assert "not a UUID" in not_uuid["error"]
    (bc,) = conn.send("batch_cancel", orders=[ids[1]], cl_ord_id=["b2"], **common)
    assert bc["result"] == {"count": 2} and sim.exchange.open_orders("main") == []
    (dms,) = conn.send("cancel_all_orders_after", timeout=60, **common)
    assert dms["result"]["triggerTime"] == "2026-01-01T00:01:00.000000Z"
    (off,) = conn.send("cancel_all_orders_after", timeout=0, **common)
    assert off["result"]["triggerTime"] == "0"


def test_reply_precedes_the_executions_it_caused(sim: SimHandle) -> None:
    conn, tok = Conn(sim), token(sim)
    conn.send("subscribe", channel="executions", token=tok, asset_class="derivatives")
    out = conn.send(
        "add_order",
        order_type="limit",
        side="sell",
        order_qty=0.1,
        symbol="BTC/USD",  # the pair spelling is accepted too
        limit_price=61_000,
        asset_class="derivatives",
        token=tok,
    )
    assert [m.get("method") or m.get("channel") for m in out] == ["add_order", "executions"]
    assert out[1]["data"][0]["order_id"] == out[0]["result"]["order_id"]
    assert out[1]["data"][0]["symbol"] == XBT  # sent in the configured (native) spelling


# --------------------------------------------------------------------------------- replay


def test_uws_orders_survive_a_restart_through_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = FakeClock()
    with StateStore(path) as store:
        handle = make_simulator(config(), clock=clock, store=store)
        conn, tok = Conn(handle), token(handle)
        for price in (58_000, 58_100):
            (reply,) = conn.send(
                "add_order",
                order_type="limit",
                side="buy",
                order_qty=0.1,
                symbol=XBT,
                limit_price=price,
                cl_ord_id=f"keep-{price}",
                asset_class="derivatives",
                token=tok,
            )
            assert reply["success"]
        conn.send("cancel_order", cl_ord_id=["keep-58000"], asset_class="derivatives", token=tok)
        before = handle.exchange.snapshot()
    with StateStore(path) as store:
        restored = Simulator(config(), now_ms=clock.now_ms(), store=store)
        assert restored.exchange.snapshot() == before
        assert [v.cli_ord_id for v in restored.exchange.open_orders("main")] == ["keep-58100"]


def test_secret_never_in_spot_key_repr(sim: SimHandle) -> None:
    key = sim.simulator.spot_keys["spot"]
    assert TEST_SECRET not in repr(key)
    assert base64.b64decode(TEST_SECRET) == key.key


# ----------------------------------------------------------------------- client contract


def test_every_frame_fits_the_client_schema(sim: SimHandle) -> None:
    """What the simulator sends decodes with the client's classifier (core/uws), field types
    included: no frame is unknown or malformed to the other side of the wire."""
    from krakenfutures.core.uws.classify import MalformedMessage, UnknownMessage, classify

    hub, cid, now = sim.simulator.uws_hub, (True, "contract"), sim.clock.now_ms
    frames = list(hub.connect(cid, now()))
    tok = token(sim)
    common = {"asset_class": "derivatives", "token": tok}

    def send(method: str, **params: Any) -> None:
        msg = json.dumps({"method": method, "params": params, "req_id": 7})
        frames.extend(hub.receive(cid, msg, now()))
        frames.extend(hub.drain(cid))

    place(sim, "other", "sell", "0.5", "60010")
    for channel in ("book", "ticker", "trade"):
        send("subscribe", channel=channel, symbol=[XBT, "PF_NOPE"], asset_class="derivatives")
    send("subscribe", channel="instrument", asset_class="derivatives")
    send("subscribe", channel="executions", snap_trades=True, **common)
    send("subscribe", channel="balances", token=tok)
    limit = {"order_type": "limit", "side": "buy", "symbol": XBT, "cl_ord_id": "c1"}
    send("add_order", order_qty=0.2, limit_price=59_000, **limit, **common)
    send("amend_order", cl_ord_id="c1", order_qty=0.3, **common)
    send("add_order", order_type="market", side="buy", order_qty=0.1, symbol=XBT, **common)
    send("cancel_order", cl_ord_id=["c1", "c2"], **common)
    rows = [{"order_type": "limit", "side": "buy", "order_qty": 0.1, "limit_price": 58_000}] * 2
    send("batch_add", symbol=XBT, orders=rows, **common)
    send("cancel_all_orders_after", timeout=30, **common)
    send("cancel_all", **common)
    send("ping")
    send("unsubscribe", channel="book", symbol=[XBT])
    sim.clock.advance(2_000)
    hub.tick(now())
    sim.ctl(cmd="faults", set={"uws_status": "post_only"})
    frames.extend(hub.drain(cid))
    kinds = set()
    for frame in frames:
        msg = classify(frame)
        assert not isinstance(msg, UnknownMessage | MalformedMessage), (frame, msg)
        kinds.add(type(msg).__name__)
    assert kinds >= {
        "StatusMessage",
        "Response",
        "BookMessage",
        "TickerMessage",
        "TradeMessage",
        "InstrumentMessage",
        "ExecutionsMessage",
        "BalancesMessage",
    }
