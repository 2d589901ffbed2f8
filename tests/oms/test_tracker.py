"""OrderTracker: cliOrdId stamping, replies, lost replies, reconciliation, and no duplicates."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.orders import OrderIntent, OrderState
from krakenfutures.core.types import Side
from krakenfutures.errors import StateError, ValidationError
from krakenfutures.oms import (
    AmendResult,
    CancelOutcome,
    CancelResult,
    CliOrdIdGenerator,
    FillRecord,
    OrderSnapshot,
    OrderTracker,
    SubmitResult,
)

SYM = "PF_XBTUSD"
SETTLE, MARGIN = 5_000, 1_000
T0 = 1_000_000
S = OrderState


def tracker() -> OrderTracker:
    return OrderTracker(CliOrdIdGenerator("bot"), settle_ms=SETTLE, clock_margin_ms=MARGIN)


def order(qty: str = "2", side: Side = Side.BUY, price: str = "50000") -> OrderIntent:
    return OrderIntent(SYM, side, D(qty), limit_price=D(price))


def fill(cli: str, qty: str, fill_id: str, side: Side = Side.BUY) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        order_id=f"oid-{cli}",
        cli_ord_id=cli,
        symbol=SYM,
        side=side,
        qty=D(qty),
        price=D(50000),
        fee=D("0.1"),
        fee_currency="USD",
        ts_ms=T0,
        maker=True,
    )


def snap(cli: str, state: S, *, qty: str = "2", filled: str = "0") -> OrderSnapshot:
    return OrderSnapshot(
        order_id=f"oid-{cli}",
        cli_ord_id=cli,
        symbol=SYM,
        side=Side.BUY,
        qty=D(qty),
        filled_qty=D(filled),
        state=state,
    )


def placed(t: OrderTracker, cli: str, **kwargs) -> SubmitResult:
    return SubmitResult(cli, accepted=True, status="placed", order_id=f"oid-{cli}", **kwargs)


def submitted_and_lost(t: OrderTracker, intent: OrderIntent | None = None) -> str:
    cli = t.submit(intent or order(), now_ms=T0).cli_ord_id
    t.on_reply_lost(cli, now_ms=T0 + 100)
    return cli


def resting(t: OrderTracker, intent: OrderIntent | None = None) -> str:
    cli = t.submit(intent or order(), now_ms=T0).cli_ord_id
    t.on_submit_result(placed(t, cli), now_ms=T0 + 10)
    return cli


PROOF = T0 + SETTLE + MARGIN  # deadline T0 + SETTLE, judged by the exchange's clock


# ------------------------------------------------------------------------------ ids, submit


def test_ids_are_deterministic_and_validated():
    gen = CliOrdIdGenerator("mm.1", start=7)
    assert [gen(), gen()] == ["mm.1-7", "mm.1-8"] and gen.next_n == 9
    for bad in ("", "-x", "a b", "x" * 61, "é"):
        with pytest.raises(ValidationError):
            CliOrdIdGenerator(bad)
    with pytest.raises(ValidationError):
        OrderTracker(gen, settle_ms=0)


def test_submit_stamps_id_and_deadline():
    t = tracker()
    sent = t.submit(order(), now_ms=T0, strategy="mm")
    assert sent.cli_ord_id == "bot-1" and sent.process_before_ms == T0 + SETTLE
    record = t.get("bot-1")
    assert record.state is S.PENDING_NEW and record.strategy == "mm" and record.intent == sent
    own = t.submit(
        OrderIntent(SYM, Side.BUY, D(1), limit_price=D(1), cli_ord_id="mine", process_before_ms=5),
        now_ms=T0,
    )
    assert own.cli_ord_id == "mine" and own.process_before_ms == 5
    with pytest.raises(StateError):
        t.submit(sent, now_ms=T0)


# --------------------------------------------------------------------------- happy paths


def test_accept_then_fills_to_filled_once_per_fill_id():
    t = tracker()
    cli = resting(t)
    assert t.get(cli).state is S.OPEN and t.get(cli).order_id == f"oid-{cli}"
    (update,) = t.on_fill(fill(cli, "0.5", "f1"), now_ms=T0 + 20)
    assert (update.previous, update.order.state) == (S.OPEN, S.PARTIALLY_FILLED)
    assert t.on_fill(fill(cli, "0.5", "f1"), now_ms=T0 + 21) == ()  # feed repeats the fill
    t.on_fill(fill(cli, "1.5", "f2"), now_ms=T0 + 30)
    record = t.get(cli)
    assert record.state is S.FILLED and record.filled_qty == D(2) and record.remaining_qty == 0
    assert not t.may_resend(cli)


def test_reply_with_executions_and_cancelled_remainder():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    result = placed(t, cli, fills=(fill(cli, "1", "x1"),), remainder_cancelled=True)
    updates = t.on_submit_result(result, now_ms=T0 + 5)
    assert [u.order.state for u in updates] == [S.OPEN, S.PARTIALLY_FILLED, S.CANCELLED]
    t.on_fill(fill(cli, "1", "x1"), now_ms=T0 + 6)  # the feed's copy of the same execution
    assert t.get(cli).filled_qty == D(1)


def test_overfill_and_mismatched_fill_fail_fast():
    t = tracker()
    cli = resting(t)
    with pytest.raises(StateError, match="overfill"):
        t.on_fill(fill(cli, "3", "f1"), now_ms=T0)
    with pytest.raises(StateError, match="does not match"):
        t.on_fill(fill(cli, "1", "f2", side=Side.SELL), now_ms=T0)
    assert t.on_fill(fill("stranger", "1", "f3"), now_ms=T0) == ()


def test_refusal_is_proven_absent_and_may_be_resent():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    t.on_submit_result(
        SubmitResult(cli, accepted=False, status="postWouldExecute", reason="would cross"),
        now_ms=T0 + 5,
    )
    record = t.get(cli)
    assert record.state is S.REJECTED and record.proven_absent and record.reason == "would cross"
    assert t.may_resend(cli)


def test_client_order_id_already_exists_means_it_exists():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    t.on_submit_result(
        SubmitResult(cli, accepted=False, status="clientOrderIdAlreadyExist"), now_ms=T0 + 5
    )
    assert t.get(cli).state is S.UNKNOWN and t.get(cli).acknowledged
    t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=PROOF + 10_000)
    assert t.get(cli).state is S.CANCELLED and not t.may_resend(cli)


def test_send_failed_before_anything_was_sent():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    t.on_send_failed(cli, now_ms=T0 + 1, reason="connection refused")
    assert t.get(cli).state is S.REJECTED and t.may_resend(cli)
    other = resting(t)
    t.cancel(other, now_ms=T0 + 20)
    t.on_send_failed(other, now_ms=T0 + 21, reason="connection refused")
    assert t.get(other).state is S.OPEN


# ---------------------------------------------------------------------------- lost replies


def test_lost_reply_makes_unknown_and_asks_for_lookups():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    need = t.on_reply_lost(cli, now_ms=T0 + 3_000)
    assert t.get(cli).state is S.UNKNOWN and t.get(cli).unknown_since_ms == T0 + 3_000
    assert need is not None and need.cli_ord_ids == (cli,)
    assert need.fills_since_ms == T0
    assert need.not_before_ms == max(T0 + 3_000 + SETTLE, T0 + SETTLE + MARGIN)
    assert not t.may_resend(cli)


def test_a_reply_lost_after_the_feed_showed_the_order_changes_nothing():
    # uws/v1 feeds can show the order resting before the submit's reply, which is then lost
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    t.on_order_update(snap(cli, S.OPEN), now_ms=T0 + 5)
    assert t.on_reply_lost(cli, now_ms=T0 + 100) is None
    assert t.get(cli).state is S.OPEN and t.get(cli).unknown_since_ms is None
    t.on_order_update(snap(cli, S.PARTIALLY_FILLED, filled="1"), now_ms=T0 + 150)
    t.on_reply_lost(cli, now_ms=T0 + 200)  # (asks for the reported fill's lookup, as before)
    assert t.get(cli).state is S.PARTIALLY_FILLED


def test_reconcile_found_open():
    t = tracker()
    cli = submitted_and_lost(t)
    (update,) = t.reconcile(open_orders=[snap(cli, S.OPEN)], statuses=[], fills=[], now_ms=T0 + 200)
    assert update.order.state is S.OPEN and update.order.order_id == f"oid-{cli}"
    assert not t.may_resend(cli) and t.reconcile_needed(T0 + 300) is None


def test_reconcile_found_partially_filled_with_fills():
    t = tracker()
    cli = submitted_and_lost(t)
    t.reconcile(
        open_orders=[snap(cli, S.PARTIALLY_FILLED, filled="0.5")],
        statuses=[],
        fills=[fill(cli, "0.5", "f1")],
        now_ms=T0 + 200,
    )
    assert t.get(cli).state is S.PARTIALLY_FILLED and t.get(cli).filled_qty == D("0.5")


def test_reconcile_found_fully_in_fills():
    t = tracker()
    cli = submitted_and_lost(t)
    t.reconcile(
        open_orders=[],
        statuses=[],
        fills=[fill(cli, "1.5", "f1"), fill(cli, "0.5", "f2")],
        now_ms=T0 + 200,
    )
    assert t.get(cli).state is S.FILLED and not t.may_resend(cli)


@pytest.mark.parametrize(
    ("status", "expected", "resendable"),
    [
        (S.FILLED, S.FILLED, False),
        (S.CANCELLED, S.CANCELLED, False),
        (S.REJECTED, S.REJECTED, True),
    ],
)
def test_reconcile_by_status(status: S, expected: S, resendable: bool):
    t = tracker()
    cli = submitted_and_lost(t)
    filled = "2" if status is S.FILLED else "0"
    t.reconcile(
        open_orders=[], statuses=[snap(cli, status, filled=filled)], fills=[], now_ms=T0 + 200
    )
    assert t.get(cli).state is expected and t.may_resend(cli) is resendable
    if status is S.FILLED:  # the venue says 2 filled, no fill booked yet: fetch the fills
        need = t.reconcile_needed(T0 + 300)
        assert need is not None and need.cli_ord_ids == (cli,)
        t.on_fill(fill(cli, "2", "f1"), now_ms=T0 + 400)
        assert t.reconcile_needed(T0 + 500) is None and t.get(cli).state is S.FILLED


def test_found_nowhere_is_proven_absent_only_after_the_window():
    t = tracker()
    cli = submitted_and_lost(t)
    assert t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=PROOF - 1) == ()
    assert t.get(cli).state is S.UNKNOWN and not t.may_resend(cli)
    (update,) = t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=PROOF)
    assert update.order.state is S.REJECTED and update.order.proven_absent
    assert t.may_resend(cli)
    again = t.resend(cli, now_ms=PROOF + 1)
    assert again.cli_ord_id != cli and again.process_before_ms == PROOF + 1 + SETTLE
    assert (again.side, again.qty, again.limit_price) == (Side.BUY, D(2), D(50000))
    assert t.get(again.cli_ord_id).resend_of == cli and t.get(cli).resent_as == again.cli_ord_id
    assert not t.may_resend(cli)
    with pytest.raises(StateError):
        t.resend(cli, now_ms=PROOF + 2)


def test_gone_after_partial_fills_is_cancelled_not_resendable():
    t = tracker()
    cli = submitted_and_lost(t)
    t.reconcile(open_orders=[], statuses=[], fills=[fill(cli, "1", "f1")], now_ms=T0 + 200)
    assert t.get(cli).state is S.UNKNOWN  # a fill proves it existed, not that it rests
    t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=PROOF)
    assert t.get(cli).state is S.CANCELLED and not t.may_resend(cli)


def test_lost_cancel_reply_resolved_both_ways():
    t = tracker()
    a, b = resting(t), resting(t)
    for cli in (a, b):
        assert t.cancel(cli, now_ms=T0 + 100) is not None
        t.on_reply_lost(cli, now_ms=T0 + 200)
        assert t.get(cli).state is S.UNKNOWN
    t.reconcile(open_orders=[snap(a, S.OPEN)], statuses=[], fills=[], now_ms=PROOF + 200)
    assert t.get(a).state is S.OPEN  # the cancel never happened
    assert t.get(b).state is S.CANCELLED  # it existed and is gone
    assert not t.may_resend(b)


def test_missing_from_a_complete_open_orders_snapshot_becomes_unknown():
    t = tracker()
    cli = resting(t)  # acknowledged at T0 + 10
    assert t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=T0 + 10) == ()
    assert (
        t.reconcile(
            open_orders=[], statuses=[], fills=[], now_ms=T0 + 50, open_orders_complete=False
        )
        == ()
    )
    (update,) = t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=T0 + 50)
    assert update.order.state is S.UNKNOWN
    t.reconcile(open_orders=[], statuses=[snap(cli, S.CANCELLED)], fills=[], now_ms=T0 + 60)
    assert t.get(cli).state is S.CANCELLED


def test_a_proven_absent_order_that_turns_up_stops_everything():
    t = tracker()
    cli = submitted_and_lost(t)
    t.reconcile(open_orders=[], statuses=[], fills=[], now_ms=PROOF)
    with pytest.raises(StateError, match="proven absent"):
        t.on_order_update(snap(cli, S.OPEN), now_ms=PROOF + 1)
    with pytest.raises(StateError):
        t.on_fill(fill(cli, "1", "late"), now_ms=PROOF + 1)


def test_stale_open_snapshot_after_cancel_is_ignored():
    t = tracker()
    cli = resting(t)
    t.cancel(cli, now_ms=T0 + 20)
    t.on_cancel_result(CancelResult(cli, CancelOutcome.CANCELLED), now_ms=T0 + 30)
    assert t.on_order_update(snap(cli, S.OPEN), now_ms=T0 + 40) == ()
    assert t.get(cli).state is S.CANCELLED


# ------------------------------------------------------------------------ cancel and amend


def test_cancel_outcomes():
    t = tracker()
    a, b, c = resting(t), resting(t), resting(t)
    for cli in (a, b, c):
        request = t.cancel(cli, now_ms=T0 + 20)
        assert request is not None and request.order_id == f"oid-{cli}"
        assert t.cancel(cli, now_ms=T0 + 21) is None  # already pending
    t.on_cancel_result(CancelResult(a, CancelOutcome.CANCELLED), now_ms=T0 + 30)
    t.on_cancel_result(CancelResult(b, CancelOutcome.FILLED), now_ms=T0 + 30)
    t.on_cancel_result(CancelResult(c, CancelOutcome.NOT_FOUND), now_ms=T0 + 30)
    assert [t.get(x).state for x in (a, b, c)] == [S.CANCELLED, S.FILLED, S.UNKNOWN]
    t.on_fill(fill(b, "2", "fb"), now_ms=T0 + 40)  # the fills behind "filled" still book
    assert t.get(b).filled_qty == D(2)
    assert t.reconcile_needed(T0 + 40).cli_ord_ids == (c,)


def test_cancel_while_pending_is_deferred_until_it_rests():
    t = tracker()
    cli = t.submit(order(), now_ms=T0).cli_ord_id
    assert t.cancel(cli, now_ms=T0 + 1) is None and t.cancels_due() == ()
    t.on_submit_result(placed(t, cli), now_ms=T0 + 5)
    assert t.cancels_due() == (cli,)
    assert t.cancel(cli, now_ms=T0 + 6) is not None
    assert t.cancels_due() == () and t.get(cli).state is S.PENDING_CANCEL


def test_amend_accepted_refused_and_gone():
    t = tracker()
    a, b, c = resting(t), resting(t), resting(t)
    t.on_fill(fill(a, "0.5", "fa"), now_ms=T0 + 15)
    request = t.amend(a, now_ms=T0 + 20, qty=D(3), limit_price=D(49000))
    assert request.order_id == f"oid-{a}" and t.get(a).state is S.PENDING_AMEND
    t.on_amend_result(AmendResult(a, accepted=True, status="edited"), now_ms=T0 + 30)
    record = t.get(a)
    assert record.state is S.PARTIALLY_FILLED
    assert (record.intent.qty, record.intent.limit_price) == (D(3), D(49000))
    t.amend(b, now_ms=T0 + 20, limit_price=D(1))
    t.on_amend_result(AmendResult(b, accepted=False, status="invalidPrice"), now_ms=T0 + 30)
    assert t.get(b).state is S.OPEN and t.get(b).intent.limit_price == D(50000)
    t.amend(c, now_ms=T0 + 20, limit_price=D(1))
    t.on_amend_result(AmendResult(c, accepted=False, status="orderForEditNotFound"), now_ms=T0 + 30)
    assert t.get(c).state is S.UNKNOWN
    with pytest.raises(ValidationError):
        t.amend(a, now_ms=T0 + 40, qty=D("0.5"))
    with pytest.raises(StateError):
        t.amend(c, now_ms=T0 + 40, qty=D(5))


def test_counts_for_risk():
    t = tracker()
    resting(t, order("2"))
    t.submit(order("1", Side.SELL, "51000"), now_ms=T0, strategy="x")
    done = resting(t, order("5"))
    t.cancel(done, now_ms=T0 + 20)
    t.on_cancel_result(CancelResult(done, CancelOutcome.CANCELLED), now_ms=T0 + 30)
    assert t.live_count() == 2 and t.live_count(strategy="x") == 1
    assert t.live_qty(Side.BUY, symbol=SYM) == D(2)
    assert t.live_qty(Side.SELL, symbol=SYM, strategy="x") == D(1)
    assert len(t.orders()) == 3 and len(t.orders(live_only=True)) == 2


# ------------------------------------------------------------------- model exchange property


@dataclass
class ExOrder:
    cli_ord_id: str
    qty: D
    filled: D
    closed_ms: int | None


@dataclass
class ModelExchange:
    """Accepts an order that arrives by its processBefore deadline, refuses duplicate ids,
    rests it or fills it at once; reports closed orders in status for 5 s."""

    orders: dict[str, ExOrder] = field(default_factory=dict)
    fill_log: list[FillRecord] = field(default_factory=list)

    def arrive(self, intent: OrderIntent, now_ms: int, fill_now: bool) -> SubmitResult:
        cli = intent.cli_ord_id
        if intent.process_before_ms is not None and now_ms > intent.process_before_ms:
            return SubmitResult(cli, accepted=False, status="wouldProcessAfterSpecifiedTime")
        if cli in self.orders:
            return SubmitResult(cli, accepted=False, status="clientOrderIdAlreadyExist")
        fills: tuple[FillRecord, ...] = ()
        if fill_now:
            fills = (
                FillRecord(
                    f"fill-{cli}",
                    f"oid-{cli}",
                    cli,
                    intent.symbol,
                    intent.side,
                    intent.qty,
                    D(50000),
                    D(0),
                    "USD",
                    now_ms,
                    False,
                ),
            )
            self.fill_log.extend(fills)
        self.orders[cli] = ExOrder(
            cli, intent.qty, intent.qty if fill_now else D(0), now_ms if fill_now else None
        )
        return SubmitResult(cli, accepted=True, status="placed", order_id=f"oid-{cli}", fills=fills)

    def _snap(self, o: ExOrder) -> OrderSnapshot:
        state = S.OPEN if o.closed_ms is None else S.FILLED
        return OrderSnapshot(
            f"oid-{o.cli_ord_id}", o.cli_ord_id, SYM, Side.BUY, o.qty, o.filled, state
        )

    def open_orders(self) -> list[OrderSnapshot]:
        return [self._snap(o) for o in self.orders.values() if o.closed_ms is None]

    def status(self, ids: tuple[str, ...], now_ms: int) -> list[OrderSnapshot]:
        found = [self.orders[i] for i in ids if i in self.orders]
        return [
            self._snap(o) for o in found if o.closed_ms is None or now_ms - o.closed_ms <= 5_000
        ]


FAULTS = st.one_of(
    st.sampled_from(["ok", "lost_request", "lost_reply", "connect_fail"]),
    st.tuples(st.just("delayed"), st.integers(0, 3 * SETTLE)),
)


@settings(max_examples=150, deadline=None)
@given(
    roots=st.integers(1, 4),
    faults=st.lists(FAULTS, max_size=25),
    fill_now=st.lists(st.booleans(), max_size=25),
    steps=st.lists(st.integers(0, 4_000), max_size=40),
)
def test_resends_never_duplicate_in_a_model_exchange(roots, faults, fill_now, steps):
    t = tracker()
    ex = ModelExchange()
    root_of: dict[str, int] = {}
    inflight: list[tuple[int, OrderIntent, bool]] = []
    plan, fills_plan, step_plan = iter(faults), iter(fill_now), iter(steps)
    now = T0

    def send(intent: OrderIntent) -> None:
        fault = next(plan, "ok")
        filled = next(fills_plan, False)
        cli = intent.cli_ord_id
        if fault == "ok":
            t.on_submit_result(ex.arrive(intent, now, filled), now_ms=now)
        elif fault == "connect_fail":
            t.on_send_failed(cli, now_ms=now, reason="refused")
        elif fault == "lost_request":
            t.on_reply_lost(cli, now_ms=now)
        elif fault == "lost_reply":
            ex.arrive(intent, now, filled)
            t.on_reply_lost(cli, now_ms=now)
        else:
            inflight.append((now + fault[1], intent, filled))
            t.on_reply_lost(cli, now_ms=now)

    def accepted_per_root() -> dict[int, int]:
        counts = dict.fromkeys(range(roots), 0)
        for cli in ex.orders:
            counts[root_of[cli]] += 1
        return counts

    for root in range(roots):
        intent = t.submit(order(), now_ms=now)
        root_of[intent.cli_ord_id] = root
        send(intent)

    for _ in range(200):
        now += next(step_plan, SETTLE)
        for arrival, intent, filled in sorted(inflight, key=lambda x: x[0]):
            if arrival <= now:
                ex.arrive(intent, arrival, filled)
        inflight = [x for x in inflight if x[0] > now]
        need = t.reconcile_needed(now)
        if need is not None:
            t.reconcile(
                open_orders=ex.open_orders(),
                statuses=ex.status(need.cli_ord_ids, now),
                fills=ex.fill_log,
                now_ms=now,
            )
        for record in t.orders():
            if t.may_resend(record.cli_ord_id):
                again = t.resend(record.cli_ord_id, now_ms=now)
                root_of[again.cli_ord_id] = root_of[record.cli_ord_id]
                send(again)
        assert all(n <= 1 for n in accepted_per_root().values()), "duplicate order"
        unsettled = [
            o
            for o in t.orders()
            if o.state in (S.PENDING_NEW, S.UNKNOWN) or t.may_resend(o.cli_ord_id)
        ]
        if not inflight and not unsettled:
            break

    assert accepted_per_root() == dict.fromkeys(range(roots), 1), "an order was lost"
    for cli, ex_order in ex.orders.items():
        expected = S.OPEN if ex_order.closed_ms is None else S.FILLED
        assert t.get(cli).state is expected
    for record in t.orders():
        if record.cli_ord_id not in ex.orders:
            assert record.state is S.REJECTED and record.resent_as is not None


def test_restore_after_restart_and_find_by_order_id():
    before = tracker()
    cli = resting(before)
    after = tracker()
    after.restore(before.get(cli))
    assert after.find(order_id=f"oid-{cli}") is after.get(cli)
    assert after.find("nope", "nope") is None
    with pytest.raises(StateError):
        after.restore(before.get(cli))
    by_order_id = replace(fill(cli, "2", "f1"), cli_ord_id=None)  # e.g. a manual history row
    after.on_fill(by_order_id, now_ms=T0 + 50)
    assert after.get(cli).state is S.FILLED
