"""Order lifecycle table: every legal transition, every illegal one, properties; order intents."""

from __future__ import annotations

from collections import deque
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.orders import (
    INITIAL_STATE,
    TERMINAL_STATES,
    TRANSITIONS,
    Acknowledged,
    Amended,
    AmendIntent,
    AmendRefused,
    AmendRequested,
    CancelIntent,
    Cancelled,
    CancelRefused,
    CancelRequested,
    Disappeared,
    EventKind,
    Filled,
    FoundCancelled,
    FoundFilled,
    FoundOpen,
    FoundRejected,
    NotFound,
    OrderEvent,
    OrderIntent,
    OrderState,
    Rejected,
    ReplyLost,
    apply_order_event,
    legal_events,
)
from krakenfutures.core.types import OrderType, Side
from krakenfutures.errors import StateError, ValidationError

S, K = OrderState, EventKind
PN, OP, PF, PC, PA, UN = (
    S.PENDING_NEW,
    S.OPEN,
    S.PARTIALLY_FILLED,
    S.PENDING_CANCEL,
    S.PENDING_AMEND,
    S.UNKNOWN,
)
FI, CA, RE = S.FILLED, S.CANCELLED, S.REJECTED
LIVE = (PN, OP, PF, PC, PA, UN)

EVENTS: dict[EventKind, OrderEvent] = {
    K.ACKNOWLEDGED: Acknowledged(),
    K.REJECTED: Rejected(),
    K.FILLED_PARTIAL: Filled(complete=False),
    K.FILLED_COMPLETE: Filled(complete=True),
    K.CANCEL_REQUESTED: CancelRequested(),
    K.AMEND_REQUESTED: AmendRequested(),
    K.CANCELLED: Cancelled(),
    K.AMENDED: Amended(),
    K.AMENDED_PF: Amended(partially_filled=True),
    K.AMEND_REFUSED: AmendRefused(),
    K.AMEND_REFUSED_PF: AmendRefused(partially_filled=True),
    K.CANCEL_REFUSED: CancelRefused(),
    K.CANCEL_REFUSED_PF: CancelRefused(partially_filled=True),
    K.REPLY_LOST: ReplyLost(),
    K.DISAPPEARED: Disappeared(),
    K.FOUND_OPEN: FoundOpen(),
    K.FOUND_PF: FoundOpen(partially_filled=True),
    K.FOUND_FILLED: FoundFilled(),
    K.FOUND_CANCELLED: FoundCancelled(),
    K.FOUND_REJECTED: FoundRejected(),
    K.NOT_FOUND: NotFound(),
    K.NOT_FOUND_AFTER_ACK: NotFound(acknowledged=True),
}

# The table written out again by hand from the module docstring, independently of the code.
# (event, from, to); to=None means "unchanged".
_ROWS: list[tuple[EventKind, tuple[OrderState, ...], OrderState | None]] = [
    (K.ACKNOWLEDGED, (PN,), OP),
    (K.ACKNOWLEDGED, (OP, PF, PC, PA, UN, FI, CA), None),
    (K.REJECTED, (PN, UN), RE),
    (K.REJECTED, (RE,), None),
    (K.FILLED_PARTIAL, (PN, OP), PF),
    (K.FILLED_PARTIAL, (PF, PC, PA, UN, CA), None),
    (K.FILLED_COMPLETE, LIVE, FI),
    (K.CANCEL_REQUESTED, (OP, PF, PA), PC),
    (K.AMEND_REQUESTED, (OP, PF), PA),
    (K.CANCELLED, LIVE, CA),
    (K.CANCELLED, (CA,), None),
    (K.AMENDED, (PA,), OP),
    (K.AMENDED, (OP, PC, UN, FI, CA, RE), None),
    (K.AMENDED_PF, (PA,), PF),
    (K.AMENDED_PF, (PF, PC, UN, FI, CA, RE), None),
    (K.AMEND_REFUSED, (PA,), OP),
    (K.AMEND_REFUSED, (OP, PC, UN, FI, CA, RE), None),
    (K.AMEND_REFUSED_PF, (PA,), PF),
    (K.AMEND_REFUSED_PF, (PF, PC, UN, FI, CA, RE), None),
    (K.CANCEL_REFUSED, (PC,), OP),
    (K.CANCEL_REFUSED, (FI, CA, RE), None),
    (K.CANCEL_REFUSED_PF, (PC,), PF),
    (K.CANCEL_REFUSED_PF, (FI, CA, RE), None),
    (K.REPLY_LOST, (PN, PC, PA), UN),
    (K.REPLY_LOST, (FI, CA, RE), None),
    (K.REPLY_LOST, (OP, PF, UN), None),  # the feed showed the outcome before the reply
    (K.DISAPPEARED, (OP, PF, PC, PA), UN),
    (K.DISAPPEARED, (UN, FI, CA, RE), None),
    (K.FOUND_OPEN, (PN, UN), OP),
    (K.FOUND_OPEN, (OP, PF, PC, PA), None),
    (K.FOUND_PF, (PN, OP, UN), PF),
    (K.FOUND_PF, (PF, PC, PA), None),
    (K.FOUND_FILLED, LIVE, FI),
    (K.FOUND_FILLED, (FI,), None),
    (K.FOUND_CANCELLED, LIVE, CA),
    (K.FOUND_CANCELLED, (CA,), None),
    (K.FOUND_REJECTED, (PN, UN), RE),
    (K.FOUND_REJECTED, (RE,), None),
    (K.NOT_FOUND, (UN,), RE),
    (K.NOT_FOUND_AFTER_ACK, (UN,), CA),
]
EXPECTED = {
    (source, kind): source if target is None else target
    for kind, sources, target in _ROWS
    for source in sources
}
ILLEGAL = sorted(
    ((s, k) for s in OrderState for k in EventKind if (s, k) not in EXPECTED),
    key=lambda pair: (pair[0].value, pair[1].value),
)
PROOFS = {
    K.FOUND_OPEN,
    K.FOUND_PF,
    K.FOUND_FILLED,
    K.FOUND_CANCELLED,
    K.FOUND_REJECTED,
    K.NOT_FOUND,
    K.NOT_FOUND_AFTER_ACK,
    K.FILLED_COMPLETE,
    K.CANCELLED,
    K.REJECTED,
}
"""The only events that may take an order out of ``unknown``."""


def test_every_event_kind_has_an_event():
    assert set(EVENTS) == set(EventKind)
    assert all(event.kind is kind for kind, event in EVENTS.items())


def test_table_matches_the_documented_table():
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "kind"), sorted(EXPECTED, key=str))
def test_legal_transition(state: OrderState, kind: EventKind):
    assert apply_order_event(state, EVENTS[kind]) is EXPECTED[state, kind]
    assert kind in legal_events(state)


@pytest.mark.parametrize(("state", "kind"), ILLEGAL)
def test_illegal_transition_raises(state: OrderState, kind: EventKind):
    with pytest.raises(StateError) as info:
        apply_order_event(state, EVENTS[kind])
    assert state.value in str(info.value) and kind.value in str(info.value)
    assert kind not in legal_events(state)


def test_table_is_read_only():
    with pytest.raises(TypeError):
        TRANSITIONS[PN, K.ACKNOWLEDGED] = FI  # type: ignore[index]


def test_every_state_is_reachable_from_pending_new():
    seen, queue = {INITIAL_STATE}, deque([INITIAL_STATE])
    while queue:
        state = queue.popleft()
        for kind in legal_events(state):
            target = TRANSITIONS[state, kind]
            if target not in seen:
                seen.add(target)
                queue.append(target)
    assert seen == set(OrderState)


def test_state_properties():
    assert {s for s in OrderState if s.is_terminal} == {FI, CA, RE}
    assert {s for s in OrderState if s.is_working} == {OP, PF}


def test_a_typical_lifecycle():
    state = INITIAL_STATE
    for event, expected in [
        (ReplyLost(), UN),
        (Filled(complete=False), UN),  # proves it existed, not that it rests
        (FoundOpen(partially_filled=True), PF),
        (AmendRequested(), PA),
        (Amended(partially_filled=True), PF),
        (CancelRequested(), PC),
        (Filled(complete=False), PC),
        (Cancelled(), CA),
        (Filled(complete=False), CA),  # a fill report arriving after the cancel confirmation
    ]:
        state = apply_order_event(state, event)
        assert state is expected


@given(st.lists(st.sampled_from(sorted(EventKind)), max_size=40))
def test_random_event_sequences_follow_the_table(kinds: list[EventKind]):
    state = INITIAL_STATE
    for kind in kinds:
        try:
            after = apply_order_event(state, EVENTS[kind])
        except StateError:
            assert (state, kind) not in EXPECTED
            continue
        assert after is EXPECTED[state, kind]
        if state in TERMINAL_STATES:
            assert after is state, "a terminal state never changes"
        if state is UN and after is not UN:
            assert kind in PROOFS, f"{kind} left unknown without proof"
        if after is FI and state is not FI:
            assert kind in (K.FILLED_COMPLETE, K.FOUND_FILLED)
        if after is RE and state is not RE:
            assert kind in (K.REJECTED, K.FOUND_REJECTED, K.NOT_FOUND)
            assert state in (PN, UN), "only an order never proven to rest can be rejected"
        state = after


# ------------------------------------------------------------------------------- intents


def test_intent_normalises_and_validates():
    intent = OrderIntent(" pf_xbtusd ", "buy", "0.5", "lmt", limit_price=D(50000))  # type: ignore[arg-type]
    assert intent.symbol == "PF_XBTUSD"
    assert intent.side is Side.BUY and intent.order_type is OrderType.LMT
    assert intent.qty == D("0.5") and intent.signed_qty == D("0.5")
    assert OrderIntent("PF_XBTUSD", Side.SELL, D(2), OrderType.MKT).signed_qty == D(-2)


@pytest.mark.parametrize(
    ("kwargs", "post_only", "order_type"),
    [
        ({"order_type": OrderType.POST}, True, OrderType.POST),
        ({"post_only": True}, True, OrderType.POST),
        ({}, False, OrderType.LMT),
    ],
)
def test_post_only_and_post_type_are_one_thing(kwargs, post_only, order_type):
    intent = OrderIntent("PF_XBTUSD", Side.BUY, D(1), limit_price=D(100), **kwargs)
    assert intent.post_only is post_only and intent.order_type is order_type


@pytest.mark.parametrize(
    "kwargs",
    [
        {"qty": D(0)},
        {"qty": D(-1)},
        {"qty": 1.5},
        {"qty": D("NaN")},
        {"qty": True},
        {"qty": "abc"},
        {"limit_price": None},
        {"limit_price": D(0)},
        {"order_type": OrderType.STP, "stop_price": None},
        {"order_type": OrderType.IOC, "post_only": True},
        {"side": "long"},
        {"order_type": "limit"},
        {"symbol": "  "},
        {"cli_ord_id": "x" * 101},
    ],
)
def test_intent_refuses_what_kraken_would_refuse(kwargs):
    base = {"symbol": "PF_XBTUSD", "side": Side.BUY, "qty": D(1), "limit_price": D(100)}
    with pytest.raises(ValidationError):
        OrderIntent(**{**base, **kwargs})


def test_intent_accepts_a_100_character_cli_ord_id_and_stop_orders():
    OrderIntent("PF_XBTUSD", Side.BUY, D(1), limit_price=D(1), cli_ord_id="x" * 100)
    stop = OrderIntent("PF_XBTUSD", Side.SELL, D(1), OrderType.STP, stop_price=D(90))
    assert stop.limit_price is None


def test_amend_and_cancel_intents_need_an_id_and_a_change():
    assert AmendIntent("a-1", qty="3").qty == D(3)  # type: ignore[arg-type]
    assert AmendIntent("", limit_price=D(5), order_id="uuid").order_id == "uuid"
    with pytest.raises(ValidationError):
        AmendIntent("a-1")
    with pytest.raises(ValidationError):
        AmendIntent("", qty=D(1))
    with pytest.raises(ValidationError):
        AmendIntent("a-1", qty=D(0))
    assert CancelIntent("a-1").order_id is None
    with pytest.raises(ValidationError):
        CancelIntent("")
