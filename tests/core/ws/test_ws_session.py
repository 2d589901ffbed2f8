"""ClientSession and ServerSession driven against each other in memory (h11-style), plus each
side alone against the wire facts of reference §2/§4/§6."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from krakenfutures.core.signing import decode_secret, sign_challenge
from krakenfutures.core.types import Side
from krakenfutures.core.ws.schema import encode
from krakenfutures.core.ws.schema_public import BookDelta
from krakenfutures.core.ws.server_session import (
    FeedStarted,
    FeedStopped,
    Reply,
    ServerAction,
    ServerSession,
)
from krakenfutures.core.ws.session import (
    AuthFailed,
    ClientSession,
    ErrorMessage,
    Event,
    FeedMessage,
    InfoReceived,
    Subscribed,
    SubscribeFailed,
    UnknownMessageReceived,
    Unsubscribed,
    UnsubscribeFailed,
)
from krakenfutures.errors import CredentialsError, ValidationError

# Kraken's published WebSocket challenge vector (reference §2)
VECTOR_SECRET = (
    "7zxMEF5p/Z8l2p2U7Ghv6x14Af+Fx+92tPgUdVQ748FOIrEoT9bgT+bTRfXc5pz8na+hL/QdrCVG7bh9KpT0eMTm"
)
VECTOR_CHALLENGE = "c100b894-1729-464d-ace1-52dbce11db42"
VECTOR_SIGNED = (
    "4JEpF3ix66GA2B+ooK128Ift4XQVtc137N9yeg4Kqsn9PI0Kpzbysl9M1IeCEdjg0zl00wkVqcsnG4bmnlMb3A=="
)
API_KEY = "public-key"
KEY = decode_secret(VECTOR_SECRET)
OTHER_KEY = decode_secret("c2VjcmV0LW9mLWFub3RoZXItYWNjb3VudA==")
PRODUCTS = {"PF_XBTUSD", "PF_ETHUSD", "PI_XBTUSD"}


def challenges(*first: str) -> itertools.chain[str]:
    return itertools.chain(first, (f"challenge-{i}" for i in itertools.count()))


@dataclass
class Wire:
    """One connection: frames go client -> server -> client until nobody has anything to say."""

    client: ClientSession
    server: ServerSession
    now_ms: int = 0
    started: list[FeedStarted] = field(default_factory=list)
    stopped: list[FeedStopped] = field(default_factory=list)
    requests: list[dict[str, object]] = field(default_factory=list)

    def connect(self) -> list[Event]:
        self._deliver(self.server.connected(self.now_ms))
        self.client.connected()
        return self.pump()

    def pump(self) -> list[Event]:
        for _ in range(100):
            frames = self.client.data_to_send()
            if not frames:
                return self.client.events()
            for frame in frames:
                self.requests.append(json.loads(frame))
                self._deliver(self.server.receive(frame, self.now_ms))
        raise AssertionError("client and server keep talking")

    def push(self, frame: bytes) -> list[Event]:
        self.client.receive(frame)
        return self.client.events()

    def _deliver(self, actions: list[ServerAction]) -> None:
        for action in actions:
            if isinstance(action, Reply):
                self.client.receive(action.data)
            elif isinstance(action, FeedStarted):
                self.started.append(action)
            else:
                self.stopped.append(action)


def server(*first_challenges: str, keys: dict[str, bytes] | None = None) -> ServerSession:
    source = challenges(*first_challenges)
    return ServerSession(keys or {API_KEY: KEY}, lambda: next(source), products=PRODUCTS)


def reply(actions: list[ServerAction]) -> dict[str, object]:
    (first, *_) = actions
    assert isinstance(first, Reply)
    decoded: dict[str, object] = json.loads(first.data)
    return decoded


# ---------------------------------------------------------------------------------------------
# Client against server
# ---------------------------------------------------------------------------------------------


def test_greeting_and_public_subscriptions() -> None:
    client = ClientSession()
    client.subscribe("book", ["pf_xbtusd", "PF_ETHUSD"])
    client.subscribe("heartbeat")
    assert client.data_to_send() == []  # nothing goes out before a connection
    wire = Wire(client, server())
    events = wire.connect()
    assert events[0] == InfoReceived(1)
    assert Subscribed("book", ("PF_XBTUSD", "PF_ETHUSD")) in events
    assert Subscribed("heartbeat") in events
    assert wire.requests == [
        {"event": "subscribe", "feed": "book", "product_ids": ["PF_XBTUSD", "PF_ETHUSD"]},
        {"event": "subscribe", "feed": "heartbeat"},
    ]
    assert (
        client.confirmed
        == client.desired
        == {
            ("book", "PF_XBTUSD"),
            ("book", "PF_ETHUSD"),
            ("heartbeat", None),
        }
    )
    assert client.pending == frozenset()
    assert wire.server.wants("book", "PF_XBTUSD") and wire.server.wants("heartbeat")
    assert not wire.server.wants("book", "PI_XBTUSD") and not wire.server.wants(
        "trade", "PF_XBTUSD"
    )
    assert [(s.feed, s.product_id) for s in wire.started] == [
        ("book", "PF_XBTUSD"),
        ("book", "PF_ETHUSD"),
        ("heartbeat", None),
    ]


def test_private_subscribe_signs_the_challenge_like_kraken() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("open_orders")
    client.subscribe("fills", ["PF_XBTUSD"])
    wire = Wire(client, server(VECTOR_CHALLENGE))
    events = wire.connect()
    assert wire.requests[0] == {"event": "challenge", "api_key": API_KEY}
    signed = {
        "api_key": API_KEY,
        "original_challenge": VECTOR_CHALLENGE,
        "signed_challenge": VECTOR_SIGNED,
    }
    assert wire.requests[1:] == [
        {"event": "subscribe", "feed": "open_orders", **signed},
        {"event": "subscribe", "feed": "fills", "product_ids": ["PF_XBTUSD"], **signed},
    ]
    assert Subscribed("open_orders") in events and Subscribed("fills", ("PF_XBTUSD",)) in events
    assert client.confirmed == {("open_orders", None), ("fills", "PF_XBTUSD")}
    assert wire.server.api_key == API_KEY
    assert wire.started[0] == FeedStarted("open_orders", None, API_KEY)
    assert wire.server.wants("open_orders") and wire.server.wants("fills", "PF_XBTUSD")
    assert not wire.server.wants("fills", "PF_ETHUSD")  # the filter holds


def test_one_challenge_serves_later_private_subscriptions() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("balances")
    wire = Wire(client, server())
    wire.connect()
    client.subscribe("open_positions")
    events = wire.pump()
    assert events == [Subscribed("open_positions")]
    assert [r["event"] for r in wire.requests] == ["challenge", "subscribe", "subscribe"]
    assert wire.requests[2]["original_challenge"] == wire.requests[1]["original_challenge"]


def test_bad_signature_is_refused_with_krakens_alert() -> None:
    client = ClientSession(API_KEY, OTHER_KEY)  # right key id, wrong secret
    client.subscribe("open_orders")
    client.subscribe("ticker", ["PF_XBTUSD"])
    wire = Wire(client, server())
    events = wire.connect()
    assert (
        AuthFailed("Failed to subscribe to authenticated feed", (("open_orders", None),)) in events
    )
    assert Subscribed("ticker", ("PF_XBTUSD",)) in events  # public feeds are unaffected
    assert client.confirmed == {("ticker", "PF_XBTUSD")}
    assert client.pending == {("open_orders", None)}  # still wanted: retried on reconnect
    assert not wire.server.wants("open_orders") and wire.server.api_key is None


def test_unknown_api_key_is_refused() -> None:
    client = ClientSession("someone-else", KEY)
    client.subscribe("fills")
    events = Wire(client, server()).connect()
    assert any(isinstance(e, AuthFailed) for e in events)


def test_reconnect_resubscribes_everything_with_a_fresh_challenge() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("book", ["PF_XBTUSD"])
    client.subscribe("open_orders")
    first = Wire(client, server("first-challenge"))
    first.connect()
    assert client.confirmed == client.desired
    client.connection_lost()
    assert client.confirmed == frozenset() and not client.is_connected

    second = Wire(client, server("second-challenge"))
    events = second.connect()
    assert [r["event"] for r in second.requests] == ["subscribe", "challenge", "subscribe"]
    private = second.requests[2]
    assert private["original_challenge"] == "second-challenge"
    assert private["signed_challenge"] == sign_challenge(KEY, "second-challenge")
    assert {e for e in events if isinstance(e, Subscribed)} == {
        Subscribed("book", ("PF_XBTUSD",)),
        Subscribed("open_orders"),
    }
    assert client.confirmed == client.desired


def test_connected_again_without_connection_lost_also_resets() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("account_log")
    Wire(client, server("one")).connect()
    wire = Wire(client, server("two"))
    wire.connect()
    assert wire.requests[1]["original_challenge"] == "two"
    assert client.confirmed == {("account_log", None)}


def test_an_old_challenge_is_refused_on_a_new_connection() -> None:
    old = server("old-challenge")
    old.connected(0)
    old.receive(encode_request({"event": "challenge", "api_key": API_KEY}), 0)
    fresh = server("new-challenge")
    fresh.connected(0)
    replayed = {
        "event": "subscribe",
        "feed": "open_orders",
        "api_key": API_KEY,
        "original_challenge": "old-challenge",
        "signed_challenge": sign_challenge(KEY, "old-challenge"),
    }
    assert reply(fresh.receive(encode_request(replayed), 0)) == {
        "event": "alert",
        "message": "Failed to subscribe to authenticated feed",
    }


def test_unsubscribe_public_and_private() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("trade", ["PF_XBTUSD", "PF_ETHUSD"])
    client.subscribe("open_positions")
    wire = Wire(client, server())
    wire.connect()
    client.unsubscribe("trade", ["PF_ETHUSD"])
    client.unsubscribe("open_positions")
    events = wire.pump()
    assert events == [Unsubscribed("trade", ("PF_ETHUSD",)), Unsubscribed("open_positions")]
    assert wire.requests[-2] == {
        "event": "unsubscribe",
        "feed": "trade",
        "product_ids": ["PF_ETHUSD"],
    }
    assert wire.requests[-1]["api_key"] == API_KEY and "signed_challenge" in wire.requests[-1]
    assert client.confirmed == client.desired == {("trade", "PF_XBTUSD")}
    assert wire.stopped == [FeedStopped("trade", "PF_ETHUSD"), FeedStopped("open_positions", None)]
    assert wire.server.wants("trade", "PF_XBTUSD") and not wire.server.wants("trade", "PF_ETHUSD")


def test_resubscribe_before_the_unsubscribe_reply_is_sent_again() -> None:
    client = ClientSession()
    client.subscribe("ticker_lite", ["PF_XBTUSD"])
    wire = Wire(client, server())
    wire.connect()
    client.unsubscribe("ticker_lite", ["PF_XBTUSD"])
    client.subscribe("ticker_lite", ["PF_XBTUSD"])
    events = wire.pump()
    assert events == [
        Unsubscribed("ticker_lite", ("PF_XBTUSD",)),
        Subscribed("ticker_lite", ("PF_XBTUSD",)),
    ]
    assert client.confirmed == {("ticker_lite", "PF_XBTUSD")}
    assert wire.server.wants("ticker_lite", "PF_XBTUSD")


def test_unsubscribe_before_the_challenge_sends_nothing() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("balances")
    client.connected()
    assert [json.loads(f)["event"] for f in client.data_to_send()] == ["challenge"]
    client.unsubscribe("balances")
    assert client.data_to_send() == []
    client.receive(b'{"event":"challenge","message":"late"}')
    assert client.data_to_send() == []  # nothing private is wanted any more


def test_feed_data_and_odd_frames_become_events() -> None:
    client = ClientSession()
    client.subscribe("book", ["PF_XBTUSD"])
    wire = Wire(client, server())
    wire.connect()
    delta = BookDelta(
        symbol="PF_XBTUSD", side=Side.BUY, seq=2, price=Decimal("60000.5"), qty=Decimal(3), ts_ms=9
    )
    assert wire.push(encode(delta)) == [FeedMessage(delta)]
    assert wire.push(b'{"feed":"options_chain","x":1}') == [
        UnknownMessageReceived(b'{"feed":"options_chain","x":1}')
    ]
    (bad,) = wire.push(b"{broken")
    assert isinstance(bad, UnknownMessageReceived) and bad.raw == b"{broken" and bad.error
    assert wire.push(b'{"event":"alert","message":"rate_limited"}') == [
        ErrorMessage("rate_limited", "alert")
    ]
    assert wire.push(
        b'{"event":"subscribed_failed","feed":"book","product_ids":["PF_XBTUSD"]}'
    ) == [SubscribeFailed("book", ("PF_XBTUSD",))]
    assert wire.push(b'{"event":"unsubscribed_failed","feed":"trade"}') == [
        UnsubscribeFailed("trade")
    ]


def test_server_errors_reach_the_client_as_events() -> None:
    client = ClientSession()
    client.subscribe("book", ["PF_NOPEUSD"])
    client.subscribe("candles_trade_1m", ["PF_XBTUSD"])
    events = Wire(client, server()).connect()
    assert ErrorMessage("Invalid product id") in events and ErrorMessage("Invalid feed") in events
    assert client.confirmed == frozenset()


def test_subscribe_retries_after_a_failure() -> None:
    client = ClientSession()
    client.subscribe("ticker", ["PF_XBTUSD"])
    client.connected()
    client.data_to_send()
    client.receive(b'{"event":"subscribed_failed","feed":"ticker","product_ids":["PF_XBTUSD"]}')
    client.subscribe("ticker", ["PF_XBTUSD"])
    assert json.loads(client.data_to_send()[0])["event"] == "subscribe"


def test_client_refuses_what_kraken_would_refuse() -> None:
    client = ClientSession()
    with pytest.raises(ValidationError, match="needs product_ids"):
        client.subscribe("book")
    with pytest.raises(CredentialsError, match="private"):
        client.subscribe("fills")
    with pytest.raises(CredentialsError):
        ClientSession(API_KEY, None)
    client.subscribe("ticker", "PF_XBTUSD")  # a lone string is one symbol
    assert client.desired == {("ticker", "PF_XBTUSD")}


def test_secrets_stay_out_of_repr() -> None:
    client = ClientSession(API_KEY, KEY)
    client.subscribe("fills")
    Wire(client, server()).connect()
    assert KEY.hex() not in repr(client) and VECTOR_SECRET not in repr(client)
    assert "signed" not in repr(client)


# ---------------------------------------------------------------------------------------------
# Server alone
# ---------------------------------------------------------------------------------------------


def encode_request(obj: dict[str, object]) -> bytes:
    return json.dumps(obj).encode()


def fresh_server() -> ServerSession:
    srv = server()
    assert reply(srv.connected(0)) == {"event": "info", "version": 1}
    return srv


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"not json", {"event": "error", "message": "Json Error"}),
        (b'{"event":"subscribe"}', {"event": "error", "message": "Json Error"}),
        (b'{"event":"challenge"}', {"event": "error", "message": "Json Error"}),
        (b'{"event":"subscribe","feed":"book"}', {"event": "error", "message": "Json Error"}),
        (
            b'{"event":"subscribe","feed":"bok","product_ids":["PF_XBTUSD"]}',
            {"event": "error", "message": "Invalid feed"},
        ),
        (
            b'{"event":"subscribe","feed":"trade","product_ids":["PF_XBTUSD","PF_NOPE"]}',
            {"event": "error", "message": "Invalid product id"},
        ),
        (b'{"event":"ping"}', {"event": "alert", "message": "Bad websocket message"}),
        (
            b'{"event":"unsubscribe","feed":"heartbeat"}',
            {"event": "alert", "message": "Not subscribed to feed"},
        ),
        (
            b'{"event":"subscribe","feed":"open_orders"}',
            {"event": "alert", "message": "Failed to subscribe to authenticated feed"},
        ),
    ],
)
def test_server_replies_like_kraken(frame: bytes, expected: dict[str, object]) -> None:
    srv = fresh_server()
    actions = srv.receive(frame, 1)
    assert len(actions) == 1 and reply(actions) == expected
    assert srv.subscriptions == frozenset()


def test_server_rate_limit_is_100_requests_per_second() -> None:
    srv = fresh_server()
    ping = b'{"event":"ping"}'
    for _ in range(100):
        assert reply(srv.receive(ping, 1_000))["message"] == "Bad websocket message"
    limited = srv.receive(b'{"event":"subscribe","feed":"heartbeat"}', 1_000)
    assert reply(limited) == {"event": "alert", "message": "rate_limited"}
    assert not srv.wants("heartbeat")  # the request was dropped
    assert (
        reply(srv.receive(b'{"event":"subscribe","feed":"heartbeat"}', 1_010))["event"]
        == "subscribed"
    )


def test_server_challenge_is_for_one_key_and_one_account_per_connection() -> None:
    keys = {API_KEY: KEY, "other": OTHER_KEY}
    srv = server("for-public-key", "for-other", keys=keys)
    srv.connected(0)
    srv.receive(encode_request({"event": "challenge", "api_key": API_KEY}), 0)
    stolen = {
        "event": "subscribe",
        "feed": "fills",
        "api_key": "other",
        "original_challenge": "for-public-key",
        "signed_challenge": sign_challenge(OTHER_KEY, "for-public-key"),
    }
    assert reply(srv.receive(encode_request(stolen), 0))["event"] == "alert"
    good = {**stolen, "api_key": API_KEY, "signed_challenge": sign_challenge(KEY, "for-public-key")}
    assert reply(srv.receive(encode_request(good), 0))["event"] == "subscribed"
    srv.receive(encode_request({"event": "challenge", "api_key": "other"}), 0)
    second_account = {
        "event": "subscribe",
        "feed": "balances",
        "api_key": "other",
        "original_challenge": "for-other",
        "signed_challenge": sign_challenge(OTHER_KEY, "for-other"),
    }
    assert reply(srv.receive(encode_request(second_account), 0))["event"] == "alert"
    assert srv.api_key == API_KEY


def test_server_unfiltered_fills_reach_every_product() -> None:
    srv = server("c")
    srv.connected(0)
    srv.receive(encode_request({"event": "challenge", "api_key": API_KEY}), 0)
    sub = {
        "event": "subscribe",
        "feed": "fills",
        "api_key": API_KEY,
        "original_challenge": "c",
        "signed_challenge": sign_challenge(KEY, "c"),
    }
    actions = srv.receive(encode_request(sub), 0)
    assert reply(actions) == sub | {"event": "subscribed"}
    assert actions[1:] == [FeedStarted("fills", None, API_KEY)]
    assert (
        srv.wants("fills", "PF_XBTUSD") and srv.wants("fills", "PI_XBTUSD") and srv.wants("fills")
    )


def test_server_idle_detection() -> None:
    srv = fresh_server()
    assert not srv.is_idle(59_999)
    assert srv.is_idle(60_000)
    srv.note_activity(50_000)
    assert not srv.is_idle(100_000) and srv.is_idle(110_000)
    srv.receive(b'{"event":"ping"}', 120_000)
    assert not srv.is_idle(179_999)
