"""classify/classify_request: the right struct for every frame, never an exception."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.types import Side
from krakenfutures.core.ws.classify import (
    MalformedMessage,
    UnknownMessage,
    classify,
    classify_request,
)
from krakenfutures.core.ws.schema import (
    AlertReply,
    ChallengeReply,
    ChallengeRequest,
    ErrorReply,
    InfoReply,
    SubscribedReply,
    SubscribeRequest,
    UnsubscribeRequest,
)
from krakenfutures.core.ws.schema_private import OpenOrdersVerboseUpdate
from krakenfutures.core.ws.schema_public import BookDelta, Heartbeat, TickerSnapshot, TradeSnapshot

DELTA = b'{"feed":"book","product_id":"PI_XBTUSD","side":"sell","seq":5,"price":34981.0,"qty":12.0,"timestamp":1}'
EXPECTED = BookDelta(
    symbol="PI_XBTUSD", side=Side.SELL, seq=5, price=Decimal(34981), qty=Decimal(12), ts_ms=1
)


def test_book_delta_fast_path_bytes_and_str() -> None:
    assert classify(DELTA) == EXPECTED
    assert classify(DELTA.decode()) == EXPECTED


@pytest.mark.parametrize(
    "raw",
    [
        # other field orders and spacing take the general path and give the same struct
        b'{"product_id":"PI_XBTUSD","feed":"book","side":"sell","seq":5,"price":34981,"qty":12,"timestamp":1}',
        b'{ "feed" : "book", "product_id": "PI_XBTUSD", "side": "sell", "seq": 5, "price": 34981, "qty": 12, "timestamp": 1 }',
        # strings for numbers fail the strict fast decoder and are accepted by the general one
        b'{"feed":"book","product_id":"PI_XBTUSD","side":"sell","seq":"5","price":"34981","qty":"12","timestamp":"1"}',
        bytearray(DELTA),
        memoryview(DELTA),
    ],
)
def test_book_delta_other_shapes(raw: bytes) -> None:
    assert classify(raw) == EXPECTED


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        (b'{"event":"info","version":1}', InfoReply),
        (b'{"event":"challenge","message":"c100b894-1729-464d-ace1-52dbce11db42"}', ChallengeReply),
        (b'{"event":"subscribed","feed":"book","product_ids":["PI_XBTUSD"]}', SubscribedReply),
        (b'{"event":"error","message":"Json Error"}', ErrorReply),
        (b'{"event":"alert","message":"Bad websocket message"}', AlertReply),
        (b'{"feed":"heartbeat","time":1534262350627}', Heartbeat),
        (b'{"feed":"ticker_snapshot","product_id":"PI_XBTUSD","time":1}', TickerSnapshot),
        (b'{"feed":"trade_snapshot","product_id":"PI_XBTUSD","trades":[]}', TradeSnapshot),
        (
            b'{"feed":"open_orders_verbose","order_id":"x","is_cancel":true,"reason":"full_fill"}',
            OpenOrdersVerboseUpdate,
        ),
    ],
)
def test_control_and_data_messages(raw: bytes, cls: type) -> None:
    assert type(classify(raw)) is cls


def test_event_wins_over_feed() -> None:
    """Subscription replies carry both keys; the ``event`` decides, even after ``feed``."""
    msg = classify(b'{"feed":"book","event":"subscribed","product_ids":["PI_XBTUSD"]}')
    assert msg == SubscribedReply(feed="book", product_ids=("PI_XBTUSD",))


def test_a_string_value_event_inside_data_does_not_confuse() -> None:
    raw = b'{"feed":"notifications_auth","notifications":[{"id":1,"type":"general","priority":"low","note":"\\"event\\": soon","effective_time":1}]}'
    msg = classify(raw)
    assert not isinstance(msg, (UnknownMessage, MalformedMessage))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"feed":"brand_new_feed","x":1}',
        b'{"event":"pong"}',
        b'{"something":"else"}',
        b"[1, 2, 3]",
        b'"text"',
        b"42",
        b'{"event":7}',
        b"{}",
    ],
)
def test_unknown_messages_are_reported_with_their_bytes(raw: bytes) -> None:
    assert classify(raw) == UnknownMessage(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b'{"feed":"book","product_id":"PI_XBTUSD"',  # truncated inside the fast path
        b'{"feed":"book","product_id":"PI_XBTUSD","side":"up","seq":1,"price":1,"qty":1,"timestamp":1}',
        b'{"feed":"heartbeat"}',  # known feed, missing field
        b'{"event":"info","version":"one"}',
        "\ud800",  # lone surrogate: not encodable text
    ],
)
def test_malformed_messages_carry_the_error(raw: bytes | str) -> None:
    msg = classify(raw)
    assert isinstance(msg, MalformedMessage)
    assert msg.error
    assert isinstance(msg.raw, bytes)


def test_str_frames_come_back_as_bytes() -> None:
    assert classify('{"feed":"new"}') == UnknownMessage(b'{"feed":"new"}')


@given(st.binary(max_size=200))
def test_classify_never_raises_on_bytes(raw: bytes) -> None:
    msg = classify(raw)
    assert msg is not None


@given(st.text(max_size=200))
def test_classify_never_raises_on_text(raw: str) -> None:
    classify(raw)
    classify_request(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["event", "feed", "product_id", "seq", "price", "qty", "side", "message", "version"]
        ),
        json_values,
        max_size=6,
    )
)
def test_classify_never_raises_on_json_objects(obj: dict[str, object]) -> None:
    raw = msgspec.json.encode(obj)
    classify(raw)
    classify_request(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"event":"challenge","api_key":"k"}', ChallengeRequest(api_key="k")),
        (
            b'{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}',
            SubscribeRequest(feed="book", product_ids=("PI_XBTUSD",)),
        ),
        (b'{"event":"unsubscribe","feed":"heartbeat"}', UnsubscribeRequest(feed="heartbeat")),
    ],
)
def test_requests(raw: bytes, expected: object) -> None:
    assert classify_request(raw) == expected


def test_request_edge_cases() -> None:
    assert classify_request(b'{"event":"ping"}') == UnknownMessage(b'{"event":"ping"}')
    assert classify_request(b'{"feed":"book"}') == UnknownMessage(b'{"feed":"book"}')
    # a server reply is not a request
    assert isinstance(classify_request(b'{"event":"challenge","message":"x"}'), MalformedMessage)
    assert isinstance(classify_request(b'{"event":"subscribe"}'), MalformedMessage)
    assert isinstance(classify_request(b"nope"), MalformedMessage)
