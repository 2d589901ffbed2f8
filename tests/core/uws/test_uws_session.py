"""UwsSession against a scripted server: req_id matching (with a hypothesis interleaving test),
subscriptions across reconnects with fresh tokens, resubscribe, status/maintenance, sequences,
heartbeats and the errors for misuse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.uws.assumptions import SequenceScope, UwsAssumptions
from krakenfutures.core.uws.events import (
    MaintenanceNotice,
    RequestFailed,
    RequestLost,
    RequestSucceeded,
    SequenceGap,
    StatusChanged,
    Subscribed,
    SubscribeFailed,
    UnknownMessageReceived,
    UnmatchedResponse,
    Unsubscribed,
    UnsubscribeFailed,
    UwsReply,
)
from krakenfutures.core.uws.schema_channels import ExecutionsMessage, LedgersMessage
from krakenfutures.core.uws.schema_orders import (
    AddOrderParams,
    AddOrderResult,
    CancelOrderResult,
    CountResult,
)
from krakenfutures.core.uws.session import UwsSession
from krakenfutures.errors import ConnectError, CredentialsError, ValidationError

from .golden import HEARTBEAT_FRAME, STATUS_FRAME


def sent(session: UwsSession) -> list[dict[str, Any]]:
    return [json.loads(f) for f in session.data_to_send()]


def ack(req: dict[str, Any], symbol: str | None = None, *, error: str | None = None) -> bytes:
    """The server's answer to a subscribe/unsubscribe request (one per symbol)."""
    out: dict[str, Any] = {
        "method": req["method"],
        "req_id": req["req_id"],
        "success": error is None,
    }
    if error is None:
        out["result"] = {"channel": req["params"]["channel"]}
        if symbol is not None:
            out["result"]["symbol"] = symbol
    else:
        out["error"] = error
        if symbol is not None:
            out["symbol"] = symbol
    out["time_in"] = out["time_out"] = "2024-01-01T00:00:00.000000Z"
    return json.dumps(out).encode()


def reply(req_id: int, method: str, result: Any = None, error: str | None = None) -> bytes:
    out: dict[str, Any] = {"method": method, "req_id": req_id, "success": error is None}
    if error is None:
        out["result"] = result
    else:
        out["error"] = error
    return json.dumps(out).encode()


# --------------------------------------------------------------------- subscriptions


def test_subscriptions_wait_for_the_connection_and_group_symbols() -> None:
    s = UwsSession()
    s.subscribe("book", ["PF_XBTUSD", "pf_ethusd"], depth=25)
    s.subscribe("ticker", "PF_XBTUSD")
    s.subscribe("instrument")
    assert sent(s) == []
    s.connected()
    [book, ticker, instrument] = sent(s)
    assert book == {
        "method": "subscribe",
        "params": {
            "channel": "book",
            "symbol": ["PF_XBTUSD", "PF_ETHUSD"],
            "asset_class": "derivatives",
            "depth": 25,
        },
        "req_id": 1,
    }
    assert ticker["params"] == {
        "channel": "ticker",
        "symbol": ["PF_XBTUSD"],
        "asset_class": "derivatives",
    }
    assert instrument["params"] == {"channel": "instrument", "asset_class": "derivatives"}
    # one ack per symbol (reference §3.3)
    s.receive(ack(book, "PF_ETHUSD"))
    s.receive(ack(book, "PF_XBTUSD"))
    s.receive(ack(instrument))
    events = s.events()
    assert all(isinstance(e, Subscribed) for e in events)
    assert [(e.channel, e.symbol) for e in events] == [  # type: ignore[union-attr]
        ("book", "PF_ETHUSD"),
        ("book", "PF_XBTUSD"),
        ("instrument", None),
    ]
    assert s.confirmed == {("book", "PF_ETHUSD"), ("book", "PF_XBTUSD"), ("instrument", None)}
    assert s.pending == {("ticker", "PF_XBTUSD")}
    assert s.options("book", "PF_XBTUSD") == {"depth": 25}


def test_ack_events_carry_channel_symbol_and_result() -> None:
    s = UwsSession()
    s.connected()
    s.subscribe("trade", ["PF_XBTUSD"])
    [req] = sent(s)
    s.receive(ack(req, "PF_XBTUSD"))
    [event] = s.events()
    assert isinstance(event, Subscribed)
    assert (event.channel, event.symbol, event.result.channel) == ("trade", "PF_XBTUSD", "trade")


def test_private_channels_wait_for_a_token_and_renew_with_a_fresh_one() -> None:
    s = UwsSession()
    s.subscribe("executions", snap_trades=True)
    s.subscribe("balances")
    s.connected()  # no token yet
    assert sent(s) == []
    s.set_token("token-1")
    first = sent(s)
    assert [r["params"] for r in first] == [
        {
            "channel": "executions",
            "asset_class": "derivatives",
            "snap_trades": True,
            "token": "token-1",
        },
        {"channel": "balances", "token": "token-1"},
    ]
    for r in first:
        s.receive(ack(r))
    assert len(s.confirmed) == 2
    s.connection_lost()
    assert s.confirmed == frozenset() and s.pending == s.desired
    s.connected("token-2")  # a new connection: a fresh token, everything again
    assert [r["params"]["token"] for r in sent(s)] == ["token-2", "token-2"]


def test_unsubscribe_tells_the_server_and_forgets() -> None:
    s = UwsSession()
    s.connected("tok")
    s.subscribe("book", ["PF_XBTUSD"], depth=10)
    s.subscribe("positions")
    for r in sent(s):
        s.receive(ack(r, "PF_XBTUSD" if r["params"]["channel"] == "book" else None))
    s.events()
    s.unsubscribe("book", ["PF_XBTUSD"])
    s.unsubscribe("positions")
    book, positions = sent(s)
    assert book["method"] == "unsubscribe"
    assert book["params"] == {
        "channel": "book",
        "symbol": ["PF_XBTUSD"],
        "asset_class": "derivatives",
        "depth": 10,
    }
    assert positions["params"] == {
        "channel": "positions",
        "asset_class": "derivatives",
        "token": "tok",
    }
    s.receive(ack(book, "PF_XBTUSD"))
    s.receive(ack(positions, error="Subscription Not Found"))
    assert s.events() == [
        Unsubscribed("book", "PF_XBTUSD"),
        UnsubscribeFailed("positions", None, "Subscription Not Found"),
    ]
    assert s.desired == frozenset() and s.confirmed == frozenset()


def test_unsubscribe_of_something_never_sent_sends_nothing() -> None:
    s = UwsSession()
    s.subscribe("executions")
    s.connected()  # no token: executions never went out
    s.unsubscribe("executions")
    assert sent(s) == []


def test_resubscribe_unsubscribes_then_subscribes_on_the_ack() -> None:
    s = UwsSession()
    s.connected()
    s.subscribe("book", ["PF_XBTUSD"], depth=25)
    [sub] = sent(s)
    s.resubscribe("book", ["PF_XBTUSD"])  # not acked yet: the snapshot is on its way
    assert sent(s) == []
    s.receive(ack(sub, "PF_XBTUSD"))
    s.resubscribe("book", ["PF_XBTUSD"])
    [unsub] = sent(s)
    assert unsub["method"] == "unsubscribe" and unsub["params"]["depth"] == 25
    assert s.pending == {("book", "PF_XBTUSD")}
    s.receive(ack(unsub, "PF_XBTUSD"))
    [again] = sent(s)
    assert again["method"] == "subscribe" and again["params"]["depth"] == 25
    s.receive(ack(again, "PF_XBTUSD"))
    assert s.confirmed == {("book", "PF_XBTUSD")}


def test_refused_subscription_stays_wanted_already_subscribed_counts_as_live() -> None:
    s = UwsSession()
    s.connected("tok")
    s.subscribe("ticker", ["PF_NOPE"])
    s.subscribe("margin")
    ticker, margin = sent(s)
    s.receive(ack(ticker, "PF_NOPE", error="Currency pair not supported PF_NOPE"))
    s.receive(ack(margin, error="Already subscribed to margin channel"))
    assert s.events() == [
        SubscribeFailed("ticker", "PF_NOPE", "Currency pair not supported PF_NOPE"),
        SubscribeFailed("margin", None, "Already subscribed to margin channel"),
    ]
    assert s.confirmed == {("margin", None)}
    assert ("ticker", "PF_NOPE") in s.pending
    s.subscribe("ticker", ["PF_NOPE"])  # asked again: sent again
    assert [r["method"] for r in sent(s)] == ["subscribe"]


def test_subscribe_misuse_is_refused() -> None:
    s = UwsSession()
    with pytest.raises(ValidationError, match="needs symbols"):
        s.subscribe("book")
    with pytest.raises(ValidationError, match="without a subscription"):
        s.subscribe("heartbeat")
    with pytest.raises(ValidationError, match="takes no symbols"):
        s.subscribe("executions", ["PF_XBTUSD"])
    with pytest.raises(ValidationError, match="unknown subscribe option"):
        s.subscribe("ticker", ["PF_XBTUSD"], speed=3)
    with pytest.raises(ValidationError, match="depth"):
        s.subscribe("book", ["PF_XBTUSD"], depth=11)


# ------------------------------------------------------------------------- requests


def test_request_gets_token_asset_class_and_a_typed_result() -> None:
    s = UwsSession()
    s.connected("tok")
    rid = s.request(
        "add_order", {"order_type": "limit", "side": "buy", "order_qty": 1, "symbol": "PF_XBTUSD"}
    )
    [req] = sent(s)
    assert req["params"]["token"] == "tok" and req["params"]["asset_class"] == "derivatives"
    s.receive(reply(rid, "add_order", {"order_id": "uuid-1", "cl_ord_id": "c-1"}))
    [event] = s.events()
    assert isinstance(event, RequestSucceeded) and event.final
    assert event.result == AddOrderResult(order_id="uuid-1", cl_ord_id="c-1")


def test_struct_params_get_the_token() -> None:
    s = UwsSession()
    s.connected("tok")
    params = AddOrderParams(
        asset_class="derivatives", symbol="PF_XBTUSD", order_type="market", side="buy", order_qty=1
    )
    s.request("add_order", params)
    [req] = sent(s)
    assert req["params"]["token"] == "tok"


def test_cancel_order_gets_one_response_per_id() -> None:
    s = UwsSession()
    s.connected("tok")
    rid = s.request("cancel_order", {"order_id": ["a", "b"], "cl_ord_id": ["c"]})
    sent(s)
    s.receive(reply(rid, "cancel_order", {"order_id": "a"}))
    s.receive(reply(rid, "cancel_order", error="EOrder:Unknown order"))
    assert s.open_requests == {rid: "cancel_order"}
    s.receive(reply(rid, "cancel_order", {"cl_ord_id": "c"}))
    events = s.events()
    assert [e.final for e in events] == [False, False, True]  # type: ignore[union-attr]
    reply_ = UwsReply(rid, "cancel_order", tuple(events))  # type: ignore[arg-type]
    assert not reply_.ok and reply_.errors == ("EOrder:Unknown order",)
    assert reply_.results == (CancelOrderResult(order_id="a"), CancelOrderResult(cl_ord_id="c"))
    assert s.open_requests == {}


def test_ping_pong_and_failures() -> None:
    s = UwsSession()
    s.connected()
    rid = s.ping()
    assert sent(s) == [{"method": "ping", "req_id": rid}]
    s.receive(json.dumps({"method": "pong", "req_id": rid}).encode())
    [pong] = s.events()
    assert isinstance(pong, RequestSucceeded) and pong.method == "ping"
    s.receive(reply(999, "add_order", {"order_id": "x"}))
    s.receive(
        json.dumps({"method": "cancel_all", "success": True, "result": {"count": 0}}).encode()
    )
    assert [type(e) for e in s.events()] == [UnmatchedResponse, UnmatchedResponse]


def test_open_requests_are_lost_with_the_connection() -> None:
    s = UwsSession()
    s.connected("tok")
    a = s.request("cancel_all")
    b = s.request("cancel_all_orders_after", {"timeout": 60})
    assert json.loads(s.data_to_send()[1])["params"] == {
        "timeout": 60,
        "token": "tok",
        "asset_class": "derivatives",
    }
    s.receive(reply(a, "cancel_all", {"count": 2}))
    s.events()
    s.connection_lost()
    assert s.events() == [RequestLost(b, "cancel_all_orders_after")]


def test_request_misuse() -> None:
    s = UwsSession()
    with pytest.raises(ConnectError, match="nothing was sent"):
        s.request("ping")
    s.connected()
    with pytest.raises(CredentialsError, match="token"):
        s.request("add_order", {})
    with pytest.raises(ValidationError, match="subscribe"):
        s.request("subscribe", {"channel": "book"})
    assert "token=False" in repr(s)
    s.set_token("s3cret-token")
    assert "token=True" in repr(s) and "s3cret" not in repr(s)


@settings(deadline=None)
@given(st.permutations(range(6)), st.lists(st.booleans(), min_size=6, max_size=6))
def test_responses_match_their_requests_in_any_order(order: list[int], ok: list[bool]) -> None:
    methods = ["add_order", "amend_order", "cancel_all", "batch_cancel", "ping", "batch_add"]
    s = UwsSession(first_req_id=41)
    s.connected("tok")
    ids = [s.request(m, {} if m != "ping" else None) for m in methods]
    assert ids == list(range(41, 47))
    s.data_to_send()
    for i in order:
        method = "pong" if methods[i] == "ping" else methods[i]
        if ok[i]:
            s.receive(reply(ids[i], method, {"count": i} if "cancel" in method else {}))
        else:
            s.receive(reply(ids[i], method, error=f"E:{i}"))
    events = s.events()
    assert [e.req_id for e in events] == [ids[i] for i in order]  # type: ignore[union-attr]
    for event in events:
        i = ids.index(event.req_id)  # type: ignore[union-attr]
        assert event.method == methods[i]  # type: ignore[union-attr]
        assert isinstance(event, RequestSucceeded if ok[i] else RequestFailed)
        if ok[i] and "cancel" in methods[i]:
            assert event.result == CountResult(count=i)  # type: ignore[union-attr]
    assert s.open_requests == {}


# ---------------------------------------------------------------- status and liveness


def test_status_and_maintenance_notices() -> None:
    s = UwsSession()
    s.connected()
    s.receive(STATUS_FRAME)
    assert s.events() == [StatusChanged("online", "v2", 13834774380200032777, "2.0.0")]
    entry = {
        "stage": "approaching_30m",
        "affected_services": ["futures_ws", "futures_trading"],
        "advised_action": "cancel_open_orders",
        "start_time": "2026-09-01T06:00:00Z",
    }
    frame = {
        "channel": "status",
        "type": "update",
        "data": [
            {
                "system": "maintenance",
                "upcoming_maintenance": [entry],
                "emergency": [{"stage": "imminent_5m", "services": "all"}],
            }
        ],
    }
    s.receive(json.dumps(frame).encode())
    status, upcoming, emergency = s.events()
    assert status == StatusChanged("maintenance") and s.status == status
    assert upcoming == MaintenanceNotice(
        kind="maintenance",
        stage="approaching_30m",
        services=("futures_ws", "futures_trading"),
        action="cancel_open_orders",
        start="2026-09-01T06:00:00Z",
        raw=entry,
    )
    assert isinstance(emergency, MaintenanceNotice) and emergency.services == ("all",)


def test_heartbeats_are_counted_and_staleness_judged() -> None:
    s = UwsSession()
    s.connected()
    s.subscribe("trade", ["PF_XBTUSD"])
    [req] = sent(s)
    assert not s.check_stale(10_000, 5_000)  # nothing confirmed: no heartbeat expected
    s.receive(ack(req, "PF_XBTUSD"), ts_ms=1_000)
    s.receive(HEARTBEAT_FRAME, ts_ms=2_000)
    assert s.heartbeats == 1 and s.last_heartbeat_ms == 2_000
    assert [type(e) for e in s.events()] == [Subscribed]  # heartbeats are not events
    assert not s.check_stale(6_000, 5_000)
    assert s.check_stale(7_001, 5_000)
    s.connection_lost()
    assert not s.check_stale(99_000, 5_000)


def executions(seq: int, kind: str = "update") -> bytes:
    return json.dumps({"channel": "executions", "type": kind, "sequence": seq, "data": []}).encode()


def test_sequence_gaps_per_channel() -> None:
    s = UwsSession()
    s.connected("tok")
    for raw in (executions(1, "snapshot"), executions(2), executions(4), executions(4)):
        s.receive(raw)
    ledgers = json.dumps({"channel": "ledgers", "type": "update", "sequence": 9, "data": []})
    s.receive(ledgers.encode())
    events = s.events()
    assert [type(e) for e in events] == [
        ExecutionsMessage,
        ExecutionsMessage,
        SequenceGap,  # reported before the message that shows it
        ExecutionsMessage,
        SequenceGap,
        ExecutionsMessage,
        LedgersMessage,
    ]
    assert events[2] == SequenceGap("executions", 3, 4)
    assert events[4] == SequenceGap("executions", 5, 4)  # a repeat
    s.receive(executions(1, "snapshot"))  # a fresh snapshot restarts the count
    assert [type(e) for e in s.events()] == [ExecutionsMessage]
    s.connection_lost()
    s.connected("tok2")
    s.receive(executions(50))  # a new connection: no expectation carried over
    assert [type(e) for e in s.events()] == [ExecutionsMessage]


def test_sequence_scope_connection() -> None:
    s = UwsSession(assumptions=UwsAssumptions(sequence_scope=SequenceScope.CONNECTION))
    s.connected("tok")
    s.receive(executions(1, "snapshot"))
    s.receive(
        json.dumps({"channel": "ledgers", "type": "update", "sequence": 2, "data": []}).encode()
    )
    s.receive(executions(4))
    assert [e for e in s.events() if isinstance(e, SequenceGap)] == [
        SequenceGap("executions", 3, 4)
    ]


def test_unknown_frames_become_events() -> None:
    s = UwsSession()
    s.receive(b'{"channel":"level3","data":[]}')
    s.receive(b"{oops")
    unknown, malformed = s.events()
    assert unknown == UnknownMessageReceived(b'{"channel":"level3","data":[]}')
    assert isinstance(malformed, UnknownMessageReceived) and malformed.error
