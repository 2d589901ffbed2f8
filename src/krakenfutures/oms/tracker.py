"""``OrderTracker``: every order's state, keyed by ``cli_ord_id``, and the no-duplicates rule.

Pure bookkeeping (no I/O, time passed in): the runtime sends what the tracker returns and feeds
back what the venue answered. The state of each order moves only through
:func:`krakenfutures.core.orders.apply_order_event`.

How a lost reply is resolved without ever duplicating an order:

1. :meth:`OrderTracker.submit` stamps the intent with a fresh ``cli_ord_id`` and a
   ``process_before_ms`` deadline ``now + settle_ms``: the exchange refuses the request if it
   arrives later (Kraken's ``processBefore``), so after the deadline an unseen request can no
   longer come to life.
2. A timeout, dropped reply, 5xx or disconnect calls :meth:`OrderTracker.on_reply_lost`: the
   order becomes ``unknown`` and a :class:`ReconcileNeeded` lists what to look up: open orders,
   ``orders/status`` for these ``cli_ord_id`` values, fills since the oldest send.
3. :meth:`OrderTracker.reconcile` applies the lookups: found resting -> open/partially filled;
   fills adding up to the order qty -> filled; a closed status -> filled/cancelled/rejected;
   found nowhere once ``now_ms`` reaches the proof time -> ``rejected`` and *proven absent* if
   the exchange never showed any sign of it, else ``cancelled``. The proof time is the later of
   ``unknown_since + settle_ms`` and ``process_before + clock_margin_ms``: the deadline is
   judged by the exchange's clock, ours may run ahead of it by up to ``clock_margin_ms``.
4. :meth:`OrderTracker.may_resend` is True only for a proven-absent (or refused) order with no
   fills that was not resent already; :meth:`OrderTracker.resend` sends the same intent under a
   new ``cli_ord_id``.

Call :meth:`reconcile` with ``now_ms`` = the time the *first* lookup was sent, and fetch open
orders first, then statuses, then fills, so that an order leaving the book between two lookups
still shows up in a later one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from decimal import Decimal

from krakenfutures.core.orders import (
    MAX_CLI_ORD_ID_LEN,
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
)
from krakenfutures.core.types import Side
from krakenfutures.errors import StateError, ValidationError
from krakenfutures.oms.order_table import (
    ZERO,
    CliOrdIdGenerator,
    OrderTable,
    OrderUpdated,
    ReconcileNeeded,
    TrackedOrder,
)
from krakenfutures.oms.order_table import (
    may_resend as order_may_resend,
)
from krakenfutures.oms.venue import (
    AmendResult,
    CancelOutcome,
    CancelResult,
    FillRecord,
    OrderSnapshot,
    SubmitResult,
)

DEFAULT_SETTLE_MS = 5_000
"""Deadline for a sent order to reach the exchange, and the wait before absence is proven.
Kraken's ``orders/status`` reports closed orders for ~5 s; the two are kept equal."""

DEFAULT_CLOCK_MARGIN_MS = 1_000
"""How far our clock may run ahead of the exchange's (``serverTime`` on every REST reply
tells); the proof of absence waits this long past the deadline."""

_EDIT_GONE = frozenset({"orderForEditNotFound", "notFound"})


class OrderTracker:
    """Order states by ``cli_ord_id`` (see the module docstring for the protocol).

    ``new_cli_ord_id`` makes ids (a :class:`CliOrdIdGenerator`); ``settle_ms`` is the send
    deadline and proof wait; ``clock_margin_ms`` bounds how far our clock may run ahead of the
    exchange's. Methods raise :class:`StateError` when asked for something the
    order's state forbids, or when the venue contradicts what was proven.
    """

    def __init__(
        self,
        new_cli_ord_id: Callable[[], str],
        *,
        settle_ms: int = DEFAULT_SETTLE_MS,
        clock_margin_ms: int = DEFAULT_CLOCK_MARGIN_MS,
    ) -> None:
        if settle_ms <= 0 or clock_margin_ms < 0:
            raise ValidationError(
                f"settle_ms must be > 0 and clock_margin_ms >= 0, got {settle_ms}, "
                f"{clock_margin_ms}"
            )
        self.clock_margin_ms = clock_margin_ms
        self._new_id = new_cli_ord_id
        self.settle_ms = settle_ms
        self._orders = OrderTable()
        self._by_order_id: dict[str, str] = {}
        self.forgotten_states: dict[str, int] = {}
        """Final states of the orders :meth:`forget_ended` dropped, counted."""

    # ---------------------------------------------------------------------------- queries

    def get(self, cli_ord_id: str) -> TrackedOrder:
        """The order with ``cli_ord_id``; ``KeyError`` if the tracker never saw it."""
        return self._orders[cli_ord_id]

    def find(
        self, cli_ord_id: str | None = None, order_id: str | None = None
    ) -> TrackedOrder | None:
        """The order by ``cli_ord_id``, else by the exchange's ``order_id``, or ``None``."""
        if cli_ord_id is not None and cli_ord_id in self._orders:
            return self._orders[cli_ord_id]
        if order_id is not None and order_id in self._by_order_id:
            return self._orders[self._by_order_id[order_id]]
        return None

    def orders(self, *, live_only: bool = False) -> tuple[TrackedOrder, ...]:
        """Every tracked order in submission order (only non-terminal ones if ``live_only``)."""
        if live_only:
            return tuple(self._orders.live.values())
        return tuple(self._orders.values())

    def live_count(self, *, strategy: str | None = None, symbol: str | None = None) -> int:
        """Non-terminal orders (pending and unknown ones count: they may rest)."""
        if strategy is not None and symbol is not None:
            sums = self._orders.sums.get((strategy, symbol))
            return int(sums[0]) if sums else 0
        return sum(1 for o in self._live(strategy, symbol))

    def live_sums(self, strategy: str, symbol: str) -> tuple[int, Decimal, Decimal]:
        """``(live_count, live_qty(BUY), live_qty(SELL))`` of ``strategy`` in ``symbol`` in one
        lookup (the risk rules ask for all three before every order)."""
        sums = self._orders.sums.get((strategy, symbol))
        if sums is None:
            return 0, ZERO, ZERO
        return int(sums[0]), Decimal(sums[1]), Decimal(sums[2])

    def live_qty(self, side: Side, *, symbol: str, strategy: str | None = None) -> Decimal:
        """Unfilled quantity of non-terminal orders on ``side`` of ``symbol``."""
        if strategy is not None:
            sums = self._orders.sums.get((strategy, symbol))
            return Decimal(sums[1 if side is Side.BUY else 2]) if sums else ZERO
        return sum(
            (o.remaining_qty for o in self._live(strategy, symbol) if o.intent.side is side), ZERO
        )

    def may_resend(self, cli_ord_id: str) -> bool:
        """True only if the order is proven not to exist, never filled and was not resent."""
        order = self._orders.get(cli_ord_id)
        return order is not None and order_may_resend(order)

    def resend_candidates(self) -> tuple[TrackedOrder, ...]:
        """Every order :meth:`may_resend` allows, oldest first (the order manager still decides
        by the reason it failed)."""
        return tuple(self._orders.resendable.values())

    def cancels_due(self) -> tuple[str, ...]:
        """Orders whose cancel was deferred (asked while pending or unknown) and that now rest:
        call :meth:`cancel` for each."""
        return tuple(
            o.cli_ord_id
            for o in self._orders.live.values()
            if o.cancel_wanted and o.state.is_working
        )

    def reconcile_needed(self, now_ms: int) -> ReconcileNeeded | None:
        """What to look up for unknown orders and orders with fills still to book, or None."""
        wanted = [o for o in self._orders.live.values() if o.state is OrderState.UNKNOWN]
        wanted += [o for o in self._orders.fills_due.values() if o.state is not OrderState.UNKNOWN]
        if not wanted:
            return None
        unknown = [o for o in wanted if o.state is OrderState.UNKNOWN]
        return ReconcileNeeded(
            cli_ord_ids=tuple(o.cli_ord_id for o in wanted),
            fills_since_ms=min(o.sent_ts_ms for o in wanted),
            not_before_ms=max((self._proof_time_ms(o, now_ms) for o in unknown), default=now_ms),
        )

    def forget_ended(self, before_ms: int) -> int:
        """Drop orders that ended (filled, cancelled, rejected) before ``before_ms`` and that
        nothing waits on any more: no fills left to book, not a candidate for a resend, not
        the source of a live resend. Returns how many; their final states are kept in
        :attr:`forgotten_states`. A long-running bot calls this on a timer so memory stays
        bounded; the journal keeps every order."""
        table = self._orders
        dropped = [
            o
            for o in table.values()
            if o.state.is_terminal
            and o.updated_ts_ms < before_ms
            and o.cli_ord_id not in table.fills_due
            and o.cli_ord_id not in table.resendable
            and (o.resent_as is None or o.resent_as not in table.live)
        ]
        for order in dropped:
            del table[order.cli_ord_id]
            if order.order_id and self._by_order_id.get(order.order_id) == order.cli_ord_id:
                del self._by_order_id[order.order_id]
            state = order.state.value
            self.forgotten_states[state] = self.forgotten_states.get(state, 0) + 1
        return len(dropped)

    def state_counts(self) -> dict[str, int]:
        """How many orders are in each state, the forgotten ones included."""
        counts = dict(self.forgotten_states)
        for order in self._orders.values():
            state = order.state.value
            counts[state] = counts.get(state, 0) + 1
        return counts

    # ------------------------------------------------------------------------- requests

    def submit(self, intent: OrderIntent, *, now_ms: int, strategy: str = "") -> OrderIntent:
        """Track a new order and return the intent to send: with a ``cli_ord_id`` (a fresh one
        when the intent has none) and ``process_before_ms`` (``now + settle_ms`` unless set)."""
        stamped = self.stamp(intent, now_ms=now_ms)
        self.track_new(stamped, now_ms=now_ms, strategy=strategy)
        return stamped

    def stamp(self, intent: OrderIntent, *, now_ms: int) -> OrderIntent:
        """The first half of :meth:`submit`: ``intent`` with its ``cli_ord_id`` and deadline,
        not tracked yet. Call :meth:`track_new` with it before the event loop runs again (the
        order manager sends the request in between: tracking is bookkeeping the wire need not
        wait for)."""
        cli_ord_id = intent.cli_ord_id or self._new_id()
        if cli_ord_id in self._orders:
            raise StateError(
                f"cli_ord_id {cli_ord_id!r} is already tracked; a resend needs a new id "
                "(use resend())"
            )
        deadline = intent.process_before_ms
        return _stamped(
            intent, cli_ord_id, now_ms + self.settle_ms if deadline is None else deadline
        )

    def track_new(self, stamped: OrderIntent, *, now_ms: int, strategy: str = "") -> None:
        """The second half of :meth:`submit`: track ``stamped`` (from :meth:`stamp`) as a new
        order, ``pending_new``."""
        cli_ord_id = stamped.cli_ord_id
        if not cli_ord_id or cli_ord_id in self._orders:
            raise StateError(f"cli_ord_id {cli_ord_id!r} is missing or already tracked")
        self._orders[cli_ord_id] = TrackedOrder(
            intent=stamped,
            strategy=strategy,
            state=OrderState.PENDING_NEW,
            sent_ts_ms=now_ms,
            updated_ts_ms=now_ms,
        )

    def resend(self, cli_ord_id: str, *, now_ms: int) -> OrderIntent:
        """Submit a proven-absent order's intent again under a new ``cli_ord_id``."""
        if not self.may_resend(cli_ord_id):
            state = (
                self._orders[cli_ord_id].state.value if cli_ord_id in self._orders else "untracked"
            )
            raise StateError(
                f"order {cli_ord_id!r} ({state}) is not proven absent, or already filled or "
                "resent: resending could duplicate it"
            )
        old = self._orders[cli_ord_id]
        intent = replace(old.intent, cli_ord_id="", process_before_ms=None)
        stamped = self.submit(intent, now_ms=now_ms, strategy=old.strategy)
        self._orders[cli_ord_id] = replace(old, resent_as=stamped.cli_ord_id)
        self._orders[stamped.cli_ord_id] = replace(
            self._orders[stamped.cli_ord_id], resend_of=cli_ord_id
        )
        return stamped

    def amend(
        self,
        cli_ord_id: str,
        *,
        now_ms: int,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> AmendIntent:
        """Record an amend of a resting order and return the request to send. ``qty`` is the
        new total (fills included) and must exceed what already filled."""
        order = self.get(cli_ord_id)
        request = AmendIntent(
            cli_ord_id=cli_ord_id,
            qty=qty,
            limit_price=limit_price,
            stop_price=stop_price,
            order_id=order.order_id,
        )
        if request.qty is not None and request.qty <= order.filled_qty:
            raise ValidationError(
                f"amend of {cli_ord_id}: new total qty {request.qty} must exceed the filled "
                f"{order.filled_qty}; cancel the order instead"
            )
        self._apply(order, AmendRequested(), now_ms, pending_amend=request)
        return request

    def cancel(self, cli_ord_id: str, *, now_ms: int) -> CancelIntent | None:
        """Record a cancel and return the request to send, or ``None`` when there is nothing to
        send now: already ending (pending cancel, terminal) or not yet proven to rest (pending
        new, unknown): then the cancel is deferred and listed by :meth:`cancels_due`."""
        order = self.get(cli_ord_id)
        if order.state in (OrderState.PENDING_NEW, OrderState.UNKNOWN):
            self._orders[cli_ord_id] = replace(order, cancel_wanted=True)
            return None
        if order.state is OrderState.PENDING_CANCEL or order.state.is_terminal:
            return None
        self._apply(order, CancelRequested(), now_ms, cancel_wanted=False)
        return CancelIntent(cli_ord_id=cli_ord_id, order_id=order.order_id)

    # -------------------------------------------------------------------------- outcomes

    def on_submit_result(self, result: SubmitResult, *, now_ms: int) -> tuple[OrderUpdated, ...]:
        """Apply the venue's answer to a submit."""
        order = self.get(result.cli_ord_id)
        if not result.accepted and order.acknowledged and order.state is not OrderState.UNKNOWN:
            # The private feed showed the order (resting or ended) before this reply arrived:
            # the feed is authoritative about existence, a late refusal changes nothing.
            return ()
        if not result.accepted:
            if result.status == "clientOrderIdAlreadyExist":
                # An order with our id exists: ours, sent earlier. Not absent: find it.
                return self._collect(
                    self._apply(order, ReplyLost(), now_ms, acknowledged=True, reason=result.status)
                )
            return self._collect(
                self._apply(
                    order,
                    Rejected(),
                    now_ms,
                    proven_absent=order.filled_qty == 0,
                    reason=result.reason or result.status,
                )
            )
        order_id = result.order_id or order.order_id
        if order.state is OrderState.REJECTED:
            # The feed reported the order gone before this acceptance arrived: it existed, so
            # it was cancelled (fills, if any, are booked below); never treat it as absent.
            self._orders[order.cli_ord_id] = replace(
                order,
                state=OrderState.CANCELLED,
                acknowledged=True,
                proven_absent=False,
                order_id=order_id,
                updated_ts_ms=now_ms,
            )
            if order_id:
                self._by_order_id[order_id] = order.cli_ord_id
            updates: list[OrderUpdated | None] = [
                OrderUpdated(self._orders[order.cli_ord_id], order.state, EventKind.FOUND_CANCELLED)
            ]
        else:
            updates = [
                self._apply(order, Acknowledged(), now_ms, acknowledged=True, order_id=order_id)
            ]
        updates.extend(self._book_fill(fill, now_ms) for fill in result.fills)
        order = self.get(result.cli_ord_id)
        if result.remainder_cancelled and not order.state.is_terminal:
            updates.append(self._apply(order, Cancelled(), now_ms, reason=result.status))
        return self._collect(*updates)

    def on_reply_lost(
        self, cli_ord_id: str, *, now_ms: int, reason: str = ""
    ) -> ReconcileNeeded | None:
        """A request about ``cli_ord_id`` may or may not have been carried out (timeout, 5xx,
        disconnect). The order becomes unknown; returns what to look up (``None`` if the order
        had already ended and nothing else is unknown)."""
        order = self.get(cli_ord_id)
        self._apply(order, ReplyLost(), now_ms, reason=reason or "reply lost", pending_amend=None)
        return self.reconcile_needed(now_ms)

    def on_send_failed(
        self, cli_ord_id: str, *, now_ms: int, reason: str
    ) -> tuple[OrderUpdated, ...]:
        """The last request about ``cli_ord_id`` was surely never sent (connect error)."""
        order = self.get(cli_ord_id)
        partial = order.filled_qty > 0
        if order.state is OrderState.PENDING_NEW:
            return self._collect(
                self._apply(
                    order, Rejected(), now_ms, proven_absent=True, reason=f"not sent: {reason}"
                )
            )
        if order.state is OrderState.PENDING_CANCEL:
            updates = [self._apply(order, CancelRefused(partial), now_ms, reason=reason)]
            order = self.get(cli_ord_id)
            if order.pending_amend is not None:  # the amend sent before is still outstanding
                updates.append(self._apply(order, AmendRequested(), now_ms))
            return self._collect(*updates)
        if order.state is OrderState.PENDING_AMEND:
            return self._collect(
                self._apply(order, AmendRefused(partial), now_ms, reason=reason, pending_amend=None)
            )
        return ()

    def on_amend_result(self, result: AmendResult, *, now_ms: int) -> tuple[OrderUpdated, ...]:
        """Apply the venue's answer to an amend."""
        order = self.get(result.cli_ord_id)
        partial = order.filled_qty > 0
        if result.accepted:
            amend = order.pending_amend
            intent = order.intent
            if amend is not None:
                intent = replace(
                    intent,
                    qty=amend.qty if amend.qty is not None else intent.qty,
                    limit_price=amend.limit_price
                    if amend.limit_price is not None
                    else intent.limit_price,
                    stop_price=amend.stop_price
                    if amend.stop_price is not None
                    else intent.stop_price,
                )
            return self._collect(
                self._apply(order, Amended(partial), now_ms, intent=intent, pending_amend=None)
            )
        if result.status in _EDIT_GONE:
            return self._collect(
                self._apply(order, Disappeared(), now_ms, reason=result.status, pending_amend=None)
            )
        return self._collect(
            self._apply(
                order,
                AmendRefused(partial),
                now_ms,
                reason=result.reason or result.status,
                pending_amend=None,
            )
        )

    def on_cancel_result(self, result: CancelResult, *, now_ms: int) -> tuple[OrderUpdated, ...]:
        """Apply the venue's answer to a cancel (``not_found`` makes the order unknown)."""
        order = self.get(result.cli_ord_id)
        event: OrderEvent
        if result.outcome is CancelOutcome.CANCELLED:
            event = Cancelled()
        elif result.outcome is CancelOutcome.FILLED:
            event = FoundFilled()
        else:
            event = Disappeared()
        return self._collect(
            self._apply(order, event, now_ms, reason=f"cancel: {result.outcome.value}")
        )

    def on_fill(self, fill: FillRecord, *, now_ms: int) -> tuple[OrderUpdated, ...]:
        """Book a fill into its order's state (once per ``fill_id``; fills of orders the tracker
        does not know are ignored here and still belong in the position book)."""
        return self._collect(self._book_fill(fill, now_ms))

    def on_order_update(self, snapshot: OrderSnapshot, *, now_ms: int) -> tuple[OrderUpdated, ...]:
        """Apply the venue's view of one order (private feed, ``orders/status`` row).

        A resting snapshot of an order that already ended is stale and ignored, except for a
        proven-absent one: that would mean the proof was wrong, so it raises.
        """
        order = self.find(snapshot.cli_ord_id, snapshot.order_id)
        if order is None:
            return ()
        return self._collect(self._apply_snapshot(order, snapshot, now_ms))

    def reconcile(
        self,
        *,
        open_orders: Sequence[OrderSnapshot],
        statuses: Sequence[OrderSnapshot],
        fills: Iterable[FillRecord],
        now_ms: int,
        open_orders_complete: bool = True,
    ) -> tuple[OrderUpdated, ...]:
        """Resolve orders against the venue's lookups (``now_ms`` = when the first was sent).

        Fills are booked first. Each live order found in ``open_orders`` or ``statuses`` takes
        that state; an unknown order found nowhere is proven gone once ``now_ms`` reaches its
        proof time; a resting order missing from a complete ``open_orders`` becomes unknown.
        """
        updates: list[OrderUpdated | None] = [self._book_fill(fill, now_ms) for fill in fills]
        open_index = _index(open_orders)
        status_index = _index(statuses)
        for cli_ord_id in list(self._orders.live):
            order = self._orders[cli_ord_id]
            snapshot = _lookup(open_index, order) or _lookup(status_index, order)
            if snapshot is not None:
                updates.append(self._apply_snapshot(order, snapshot, now_ms))
            elif order.state is OrderState.UNKNOWN:
                if now_ms >= self._proof_time_ms(order, now_ms):
                    existed = order.acknowledged or order.filled_qty > 0
                    updates.append(
                        self._apply(
                            order,
                            NotFound(acknowledged=existed),
                            now_ms,
                            proven_absent=not existed,
                            reason="found nowhere after the settle window",
                        )
                    )
            elif (
                open_orders_complete
                and order.state is not OrderState.PENDING_NEW
                and order.updated_ts_ms < now_ms  # an ack after the lookup was sent may be missing
            ):
                updates.append(
                    self._apply(order, Disappeared(), now_ms, reason="missing from open orders")
                )
        return self._collect(*updates)

    def restore(self, order: TrackedOrder) -> None:
        """Load an order from a journal after a restart (it must not be tracked yet)."""
        if order.cli_ord_id in self._orders:
            raise StateError(f"order {order.cli_ord_id!r} is already tracked")
        self._orders[order.cli_ord_id] = order
        if order.order_id:
            self._by_order_id[order.order_id] = order.cli_ord_id

    # -------------------------------------------------------------------------- internals

    def _live(self, strategy: str | None, symbol: str | None) -> Iterable[TrackedOrder]:
        for order in self._orders.live.values():
            if strategy is not None and order.strategy != strategy:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            yield order

    def _proof_time_ms(self, order: TrackedOrder, now_ms: int) -> int:
        since = order.unknown_since_ms if order.unknown_since_ms is not None else now_ms
        deadline = order.intent.process_before_ms or 0
        margin = self.clock_margin_ms if deadline else 0
        return max(since + self.settle_ms, deadline + margin)

    def _apply(
        self, order: TrackedOrder, event: OrderEvent, now_ms: int, **changes: object
    ) -> OrderUpdated | None:
        state = apply_order_event(order.state, event)
        if state is OrderState.UNKNOWN:
            if order.state is not OrderState.UNKNOWN:
                changes["unknown_since_ms"] = now_ms
        else:
            changes["unknown_since_ms"] = None
        changed = state is not order.state or any(
            getattr(order, k) != v for k, v in changes.items()
        )
        if not changed:
            return None
        updated = replace(order, state=state, updated_ts_ms=now_ms, **changes)  # type: ignore[arg-type]
        self._orders[order.cli_ord_id] = updated
        if updated.order_id:
            self._by_order_id[updated.order_id] = updated.cli_ord_id
        return OrderUpdated(order=updated, previous=order.state, event=event.kind)

    def _apply_snapshot(
        self, order: TrackedOrder, snapshot: OrderSnapshot, now_ms: int
    ) -> OrderUpdated | None:
        changes: dict[str, object] = {
            "acknowledged": True,
            "reported_filled_qty": max(order.reported_filled_qty, snapshot.filled_qty),
        }
        if snapshot.order_id:
            changes["order_id"] = snapshot.order_id
        resting = snapshot.state in (OrderState.OPEN, OrderState.PARTIALLY_FILLED)
        if order.state.is_terminal and resting:
            if order.proven_absent:
                raise StateError(
                    f"order {order.cli_ord_id} was proven absent but the venue reports it "
                    f"{snapshot.state.value}: stop trading and reconcile by hand"
                )
            return None  # a snapshot older than the event that ended the order
        event: OrderEvent
        if resting:
            partial = snapshot.filled_qty > 0 or order.filled_qty > 0
            event = FoundOpen(partially_filled=partial)
        elif snapshot.state is OrderState.FILLED:
            event = FoundFilled()
        elif snapshot.state is OrderState.CANCELLED:
            event = FoundCancelled()
        elif order.acknowledged or order.filled_qty > 0:
            event = FoundCancelled()  # e.g. a trigger that failed to activate after resting
        else:
            event = FoundRejected()
            changes["proven_absent"] = order.filled_qty == 0
        if snapshot.reason:
            changes["reason"] = snapshot.reason
        return self._apply(order, event, now_ms, **changes)

    def _book_fill(self, fill: FillRecord, now_ms: int) -> OrderUpdated | None:
        order = self.find(fill.cli_ord_id, fill.order_id)
        if order is None or fill.fill_id in order.fill_ids:
            return None
        if fill.symbol != order.symbol or fill.side is not order.intent.side:
            raise StateError(
                f"fill {fill.fill_id} ({fill.side} {fill.symbol}) does not match order "
                f"{order.cli_ord_id} ({order.intent.side} {order.symbol})"
            )
        filled = order.filled_qty + fill.qty
        if filled > order.intent.qty:
            raise StateError(
                f"order {order.cli_ord_id} filled {filled} of {order.intent.qty}: overfill; "
                "stop trading and reconcile positions with the exchange"
            )
        changes: dict[str, object] = {
            "filled_qty": filled,
            "fill_ids": order.fill_ids | {fill.fill_id},
            "acknowledged": True,
            "order_id": order.order_id or fill.order_id,
        }
        if order.state is OrderState.FILLED:
            # Known filled already (status row, cancel reply): book the qty, the state stays.
            updated = replace(order, updated_ts_ms=now_ms, **changes)  # type: ignore[arg-type]
            self._orders[order.cli_ord_id] = updated
            return OrderUpdated(order=updated, previous=order.state, event=EventKind.FILLED_PARTIAL)
        return self._apply(order, Filled(complete=filled == order.intent.qty), now_ms, **changes)

    @staticmethod
    def _collect(*updates: OrderUpdated | None) -> tuple[OrderUpdated, ...]:
        return tuple(u for u in updates if u is not None)


def _stamped(intent: OrderIntent, cli_ord_id: str, process_before_ms: int) -> OrderIntent:
    """``intent`` with its id and deadline set. A copy field by field: ``dataclasses.replace``
    would validate the whole (already valid) intent again, on every order's path to the wire."""
    if len(cli_ord_id) > MAX_CLI_ORD_ID_LEN:
        raise ValidationError(
            f"cli_ord_id is {len(cli_ord_id)} characters; Kraken allows at most "
            f"{MAX_CLI_ORD_ID_LEN}"
        )
    stamped = object.__new__(OrderIntent)
    put = object.__setattr__
    put(stamped, "symbol", intent.symbol)
    put(stamped, "side", intent.side)
    put(stamped, "qty", intent.qty)
    put(stamped, "order_type", intent.order_type)
    put(stamped, "limit_price", intent.limit_price)
    put(stamped, "stop_price", intent.stop_price)
    put(stamped, "reduce_only", intent.reduce_only)
    put(stamped, "post_only", intent.post_only)
    put(stamped, "cli_ord_id", cli_ord_id)
    put(stamped, "process_before_ms", process_before_ms)
    return stamped


def _index(snapshots: Sequence[OrderSnapshot]) -> dict[str, OrderSnapshot]:
    index: dict[str, OrderSnapshot] = {}
    for snapshot in snapshots:
        index[f"o:{snapshot.order_id}"] = snapshot
        if snapshot.cli_ord_id:
            index[f"c:{snapshot.cli_ord_id}"] = snapshot
    return index


def _lookup(index: dict[str, OrderSnapshot], order: TrackedOrder) -> OrderSnapshot | None:
    found = index.get(f"c:{order.cli_ord_id}")
    if found is None and order.order_id:
        found = index.get(f"o:{order.order_id}")
    return found


__all__ = [
    "DEFAULT_CLOCK_MARGIN_MS",
    "DEFAULT_SETTLE_MS",
    "CliOrdIdGenerator",
    "OrderTracker",
    "OrderUpdated",
    "ReconcileNeeded",
    "TrackedOrder",
]
