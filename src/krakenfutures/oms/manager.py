"""``OrderManager``: sends what the :class:`OrderTracker` decides, over a :class:`Venue`, and never
duplicates an order.

The tracker is pure bookkeeping; this class adds the asynchronous half. Each intent is tracked
and written to the journal (the ``recorder``) *before* its request is sent, each outcome goes back
into the tracker, and every lost reply is resolved by reconciliation before anything is resent:

* accepted / refused reply: applied at once (a refusal is an outcome, not an error);
* nothing was sent (``ConnectError``, ``apiLimitExceeded``, ``authenticationError``): the order
  is proven absent and, for connection and rate-limit failures, resent under a new
  ``cli_ord_id`` after the ``gate`` approves it again;
* the request may have been carried out (timeout, dropped connection, 5xx, ``Unavailable``):
  the order becomes ``unknown`` and :meth:`reconcile` looks it up in open orders,
  ``orders/status`` and fills; only an order proven never to have existed is resent.

Errors that concern the whole bot (authentication, no funds) are reported through ``on_error``;
the runtime decides to halt and alert. The manager never raises into strategy code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from krakenfutures.core.events import FundingPaid
from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.errors import (
    AuthenticationError,
    ConnectError,
    KrakenFuturesError,
    PermissionDeniedError,
    RateLimitError,
    StateError,
)
from krakenfutures.oms.eager import in_eager_step, start_eager
from krakenfutures.oms.positions import PositionBook
from krakenfutures.oms.tracker import OrderTracker, OrderUpdated, TrackedOrder
from krakenfutures.oms.venue import CancelResult, FillRecord, OrderSnapshot, SubmitResult, Venue

log = logging.getLogger("krakenfutures.oms")
_R = TypeVar("_R")
_Q = TypeVar("_Q")

RESEND_REASONS = ("not sent", "found nowhere")
"""Reasons of a proven-absent order that mean *we* lost it (not an exchange refusal): only
those are resent automatically."""

HALTING_STATUSES = frozenset({"insufficientAvailableFunds"})
"""Refusal statuses that stop new orders of the strategy (the runtime's error policy)."""


class Recorder(Protocol):
    """Where the manager writes what it is about to do and what happened (the journal)."""

    def record_request(
        self,
        action: str,
        intent: object,
        *,
        strategy: str,
        ts_ms: int,
        order: TrackedOrder | None = None,
    ) -> object: ...  # pragma: no cover - protocol

    def record_order(self, order: TrackedOrder, *, ts_ms: int) -> object: ...  # pragma: no cover

    def record_fill(
        self, fill: FillRecord, *, strategy: str, ts_ms: int
    ) -> object: ...  # pragma: no cover

    def record_funding(self, payment: FundingPaid, *, ts_ms: int) -> object: ...  # pragma: no cover


class _NullRecorder:
    def record_request(
        self,
        action: str,
        intent: object,
        *,
        strategy: str,
        ts_ms: int,
        order: TrackedOrder | None = None,
    ) -> None:
        pass

    def record_order(self, order: TrackedOrder, *, ts_ms: int) -> None:
        pass

    def record_fill(self, fill: FillRecord, *, strategy: str, ts_ms: int) -> None:
        pass

    def record_funding(self, payment: FundingPaid, *, ts_ms: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class ManagerError:
    """Something the runtime's error policy must see: ``kind`` is ``authentication``,
    ``permission``, ``insufficient_funds``, ``refused`` (any other refusal status, for the
    circuit breaker), ``rate_limit`` or ``unexpected``; ``status`` is Kraken's string."""

    kind: str
    strategy: str
    status: str
    detail: str
    cli_ord_id: str = ""


class OrderManager:
    """Order flow over one venue (see the module docstring).

    ``clock_ms`` gives the time; ``gate(intent, strategy)`` re-approves an intent before an
    automatic resend (returning a reason string vetoes it); ``on_order``/``on_fill``/``on_error``
    are called for every tracked change, booked fill and policy-relevant error (never inside the
    ``submit``/``amend``/``cancel`` call that caused them, even with ``eager_sends``).
    """

    def __init__(
        self,
        venue: Venue,
        tracker: OrderTracker,
        *,
        clock_ms: Callable[[], int],
        positions: PositionBook | None = None,
        recorder: Recorder | None = None,
        on_order: Callable[[OrderUpdated], None] = lambda _u: None,
        on_fill: Callable[[FillRecord, str], None] = lambda _f, _s: None,
        on_error: Callable[[ManagerError], None] = lambda _e: None,
        gate: Callable[[OrderIntent, str], str | None] = lambda _i, _s: None,
        auto_resend: bool = True,
        max_resends: int = 5,
        sleep: Callable[[float], object] = asyncio.sleep,
        eager_sends: bool = True,
        keep_ended_s: float = 600.0,
    ) -> None:
        self.venue = venue
        # Optional: a venue that can begin a submit from plain code (see LiveVenue.start_submit).
        self._start_submit: Callable[[OrderIntent], tuple[bool, Awaitable[SubmitResult]]] | None
        self._start_submit = getattr(venue, "start_submit", None)
        self._start_cancel: Callable[[CancelIntent], tuple[bool, Awaitable[CancelResult]]] | None
        self._start_cancel = getattr(venue, "start_cancel", None)
        self.tracker = tracker
        self.positions = positions if positions is not None else PositionBook()
        self.recorder: Recorder = recorder if recorder is not None else _NullRecorder()
        self._clock_ms = clock_ms
        self._on_order = on_order
        self._on_fill = on_fill
        self._on_error = on_error
        self._gate = gate
        self.auto_resend = auto_resend
        self.max_resends = max_resends
        self._sleep = sleep
        self.eager_sends = eager_sends
        """Send each request within the ``submit``/``amend``/``cancel`` call (its bytes leave
        before the call returns) instead of on the next event-loop turn."""
        self.keep_ended_s = keep_ended_s
        """How long an order that ended stays in the tracker (found by ``find``, counted in
        ``orders()``) before reconciliation forgets it; its final state stays counted."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconcile_lock = asyncio.Lock()
        self._reconcile_task: asyncio.Task[None] | None = None
        self._resends: dict[str, int] = {}  # cli_ord_id -> resend generation
        self.sent_requests = 0
        self.lost_replies = 0
        self.resent = 0

    # ------------------------------------------------------------------------ intents

    def submit(self, intent: OrderIntent, *, strategy: str = "") -> OrderIntent:
        """Track, journal and queue ``intent``; returns it stamped with its ``cli_ord_id``.
        Must be called from the event loop's thread."""
        now = self._clock_ms()
        start = self._start_submit if self.eager_sends else None
        if start is None:
            stamped = self.tracker.submit(intent, now_ms=now, strategy=strategy)
            # One journal row: a submit request alone restores as the pending order it created
            # (the journal rebuilds it), so the order snapshot is not written twice here.
            self.recorder.record_request("submit", stamped, strategy=strategy, ts_ms=now)
            self._spawn(self._send_submit(stamped, strategy), eager=True)
            return stamped
        # The cheapest way to the wire: journal, then the venue writes the request from here,
        # before the order is tracked (bookkeeping nothing reads until this call returns) and
        # before any task exists for the reply. What it could not send at once (no free
        # connection, rate-limit pacing) goes out in the task's eager first step.
        stamped = self.tracker.stamp(intent, now_ms=now)
        self.recorder.record_request("submit", stamped, strategy=strategy, ts_ms=now)
        sent, rest = _begin(start, stamped)
        self.tracker.track_new(stamped, now_ms=now, strategy=strategy)
        self._spawn_rest(self._send_submit(stamped, strategy, rest), sent, rest)
        return stamped

    def amend(
        self,
        cli_ord_id: str,
        *,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> AmendIntent:
        """Track, journal and queue an amend (raises :class:`StateError` if the order is not
        resting, :class:`ValidationError` for a bad qty)."""
        now = self._clock_ms()
        order = self.tracker.get(cli_ord_id)
        request = self.tracker.amend(
            cli_ord_id, now_ms=now, qty=qty, limit_price=limit_price, stop_price=stop_price
        )
        self.recorder.record_request("amend", request, strategy=order.strategy, ts_ms=now)
        self._record(self.tracker.get(cli_ord_id), now)
        self._spawn(self._send_amend(request), eager=True)
        return request

    def cancel(self, cli_ord_id: str) -> CancelIntent | None:
        """Track, journal and queue a cancel; ``None`` when deferred or nothing to do (the
        tracker sends deferred cancels once the order is known to rest)."""
        now = self._clock_ms()
        request = self.tracker.cancel(cli_ord_id, now_ms=now)
        order = self.tracker.get(cli_ord_id)
        self._record(order, now)
        if request is not None:
            self.recorder.record_request("cancel", request, strategy=order.strategy, ts_ms=now)
            start = self._start_cancel if self.eager_sends else None
            if start is None:
                self._spawn(self._send_cancel(request), eager=True)
            else:  # written from here, as a submit is
                sent, rest = _begin(start, request)
                self._spawn_rest(self._send_cancel(request, rest), sent, rest)
        return request

    def cancel_all(self, *, strategy: str | None = None, symbol: str | None = None) -> int:
        """Cancel every live order (of ``strategy`` / in ``symbol``); returns how many."""
        count = 0
        for order in self.tracker.orders(live_only=True):
            if strategy is not None and order.strategy != strategy:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            self.cancel(order.cli_ord_id)
            count += 1
        return count

    # ------------------------------------------------------------------------ inbound

    def apply_fill(self, fill: FillRecord) -> bool:
        """Book a fill from any source (reply, feed, REST) once; returns True if new."""
        now = self._clock_ms()
        order = self.tracker.find(fill.cli_ord_id, fill.order_id)
        strategy = order.strategy if order is not None else ""
        try:
            updates = self.tracker.on_fill(fill, now_ms=now)
        except StateError as exc:
            self._on_error(ManagerError("unexpected", strategy, "", str(exc)))
            updates = ()
        booked = self.positions.apply_fill(fill, strategy=strategy)
        if booked is not None:
            self.recorder.record_fill(fill, strategy=strategy, ts_ms=now)
        self._publish(updates, now)
        if booked is not None:
            self._on_fill(fill, strategy)
        return booked is not None

    def apply_snapshot(self, snapshot: OrderSnapshot) -> None:
        """Apply the venue's view of one order (private feed)."""
        now = self._clock_ms()
        try:
            updates = self.tracker.on_order_update(snapshot, now_ms=now)
        except StateError as exc:
            self._on_error(ManagerError("unexpected", "", "", str(exc), snapshot.cli_ord_id or ""))
            return
        self._publish(updates, now)

    def apply_funding(self, payment: FundingPaid) -> bool:
        """Book a venue-reported funding payment once (by ``payment_id``)."""
        booked = self.positions.apply_funding_payment(
            payment.strategy,
            payment.symbol,
            payment.amount,
            ts_ms=payment.ts_ms,
            payment_id=payment.payment_id or None,
        )
        if booked:
            self.recorder.record_funding(payment, ts_ms=self._clock_ms())
        return booked

    # ------------------------------------------------------------------------ reconcile

    def request_reconcile(self) -> None:
        """Run :meth:`reconcile` soon (once, however often it is asked for)."""
        if self._reconcile_task is None or self._reconcile_task.done():
            self._reconcile_task = asyncio.get_running_loop().create_task(self._reconcile_soon())

    async def reconcile(self, *, full: bool = False) -> tuple[OrderUpdated, ...]:
        """Look up unknown orders (and, if ``full``, check every live order against a complete
        open-orders snapshot), wait for the proof time when absence must be proven, apply the
        result and resend orders proven lost. Returns the changes."""
        async with self._reconcile_lock:
            changes: list[OrderUpdated] = []
            for _ in range(20):  # each round proves or finds; bounded against a stuck venue
                now = self._clock_ms()
                need = self.tracker.reconcile_needed(now)
                if need is None and not full:
                    break
                ids = need.cli_ord_ids if need else ()
                since = need.fills_since_ms if need else now - 3_600_000
                started = self._clock_ms()
                open_orders = await self.venue.open_orders()
                statuses = await self.venue.order_status(ids) if ids else ()
                fills = await self.venue.fills(since_ms=since)
                for fill in fills:
                    self.apply_fill(fill)
                updates = self.tracker.reconcile(
                    open_orders=open_orders, statuses=statuses, fills=(), now_ms=started
                )
                self._publish(updates, self._clock_ms())
                changes.extend(updates)
                full = False
                need = self.tracker.reconcile_needed(self._clock_ms())
                if need is None:
                    break
                unknown = [
                    o
                    for o in (self.tracker.get(c) for c in need.cli_ord_ids)
                    if o.state is OrderState.UNKNOWN
                ]
                if not unknown:
                    break
                wait_ms = need.not_before_ms - self._clock_ms()
                await self._sleep(max(wait_ms, 50) / 1000)
            self._resend_lost()
            self._forget_ended()
            return tuple(changes)

    def _forget_ended(self) -> None:
        """Let the tracker drop orders that ended over ``keep_ended_s`` ago (memory stays
        bounded however long the bot runs; the journal keeps them)."""
        before = self._clock_ms() - int(self.keep_ended_s * 1000)
        if self.tracker.forget_ended(before):
            tracked = self.tracker.find
            self._resends = {c: g for c, g in self._resends.items() if tracked(c) is not None}

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every queued request has been answered (or ``timeout_s``)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._tasks or (self._reconcile_task and not self._reconcile_task.done()):
            pending = set(self._tasks)
            if self._reconcile_task and not self._reconcile_task.done():
                pending.add(self._reconcile_task)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.wait(pending, timeout=left)

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet."""
        return len(self._tasks)

    # ------------------------------------------------------------------------ senders

    async def _ask(self, cli: str, strategy: str, request: Awaitable[_R]) -> _R | None:
        """Await one venue call; a failure goes through :meth:`_failed` and gives ``None``."""
        self.sent_requests += 1
        try:
            result = await request
        except BaseException as exc:
            if in_eager_step():  # failed before suspending: leave the strategy's stack first
                await asyncio.sleep(0)
            self._failed(cli, strategy, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return None
        if in_eager_step():
            # Answered without suspending (an in-process venue): the reply's events call
            # strategy hooks, which must not run inside the strategy's own submit call.
            await asyncio.sleep(0)
        return result

    async def _send_submit(
        self, intent: OrderIntent, strategy: str, rest: Awaitable[SubmitResult] | None = None
    ) -> None:
        cli = intent.cli_ord_id
        result = await self._ask(cli, strategy, rest or self.venue.submit_order(intent))
        if result is None:
            return
        now = self._clock_ms()
        updates = self.tracker.on_submit_result(result, now_ms=now)
        self._publish(updates, now)
        for fill in result.fills:
            self.apply_fill(fill)
        if not result.accepted and result.status != "clientOrderIdAlreadyExist":
            kind = "insufficient_funds" if result.status in HALTING_STATUSES else "refused"
            self._on_error(ManagerError(kind, strategy, result.status, result.reason, cli))
        elif result.status == "clientOrderIdAlreadyExist":
            self.request_reconcile()
        self._send_due_cancels()

    async def _send_amend(self, request: AmendIntent) -> None:
        cli = request.cli_ord_id
        strategy = self.tracker.get(cli).strategy
        result = await self._ask(cli, strategy, self.venue.amend_order(request))
        if result is None:
            return
        now = self._clock_ms()
        self._publish(self.tracker.on_amend_result(result, now_ms=now), now)
        if not result.accepted:
            self._on_error(ManagerError("refused", strategy, result.status, result.reason, cli))
            if self.tracker.get(cli).state is OrderState.UNKNOWN:
                self.request_reconcile()
        self._send_due_cancels()

    async def _send_cancel(
        self, request: CancelIntent, rest: Awaitable[CancelResult] | None = None
    ) -> None:
        cli = request.cli_ord_id
        strategy = self.tracker.get(cli).strategy
        result = await self._ask(cli, strategy, rest or self.venue.cancel_order(request))
        if result is None:
            return
        now = self._clock_ms()
        self._publish(self.tracker.on_cancel_result(result, now_ms=now), now)
        if self.tracker.get(cli).state is OrderState.UNKNOWN:
            self.request_reconcile()

    def _failed(self, cli_ord_id: str, strategy: str, exc: BaseException) -> None:
        """Apply the venue error contract (see :mod:`krakenfutures.oms.venue`)."""
        now = self._clock_ms()
        surely_not_sent = isinstance(
            exc, ConnectError | RateLimitError | AuthenticationError | PermissionDeniedError
        )
        if surely_not_sent:
            self._publish(self.tracker.on_send_failed(cli_ord_id, now_ms=now, reason=str(exc)), now)
            if isinstance(exc, AuthenticationError):
                self._on_error(
                    ManagerError(
                        "authentication", strategy, "authenticationError", str(exc), cli_ord_id
                    )
                )
            elif isinstance(exc, PermissionDeniedError):
                self._on_error(
                    ManagerError("permission", strategy, "permission", str(exc), cli_ord_id)
                )
            elif isinstance(exc, RateLimitError):
                self._on_error(
                    ManagerError("rate_limit", strategy, "apiLimitExceeded", str(exc), cli_ord_id)
                )
            # Nothing happened on the exchange: resend, but not at once into the same
            # refusal (rate limit) or dead connection. The wait grows per resend generation.
            generation = self._resends.get(cli_ord_id, 0)
            base = 1.0 if isinstance(exc, RateLimitError) else 0.25
            self._spawn(self._resend_after(min(base * 2**generation, 30.0)))
            return
        self.lost_replies += 1
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if not isinstance(exc, KrakenFuturesError | asyncio.CancelledError):
            log.error("order %s: unexpected %s; reconciling", cli_ord_id, reason, exc_info=exc)
            self._on_error(ManagerError("unexpected", strategy, "", reason, cli_ord_id))
        self.tracker.on_reply_lost(cli_ord_id, now_ms=now, reason=reason)
        self._record(self.tracker.get(cli_ord_id), now)
        log.warning("order %s: reply lost (%s); reconciling before any resend", cli_ord_id, reason)
        if not isinstance(exc, asyncio.CancelledError):
            self.request_reconcile()

    # ------------------------------------------------------------------------ internals

    def _resend_lost(self) -> None:
        if not self.auto_resend:
            return
        for order in self.tracker.resend_candidates():
            cli = order.cli_ord_id
            if not order.reason.startswith(RESEND_REASONS):
                continue  # the exchange refused it: resending would be refused again
            generation = self._resends.get(cli, 0)
            if generation >= self.max_resends:
                continue
            veto = self._gate(order.intent, order.strategy)
            if veto:
                log.warning("order %s proven lost; not resent: %s", cli, veto)
                self._resends[cli] = self.max_resends
                continue
            stamped = self.tracker.resend(cli, now_ms=self._clock_ms())
            self._resends[stamped.cli_ord_id] = generation + 1
            self.resent += 1
            now = self._clock_ms()
            self._record(self.tracker.get(cli), now)
            self.recorder.record_request(
                "submit",
                stamped,
                strategy=order.strategy,
                ts_ms=now,
                order=self.tracker.get(stamped.cli_ord_id),
            )
            log.info("order %s proven never placed; resent as %s", cli, stamped.cli_ord_id)
            self._spawn(self._send_submit(stamped, order.strategy))

    async def _resend_after(self, delay_s: float) -> None:
        await self._sleep(delay_s)
        self._resend_lost()

    def _send_due_cancels(self) -> None:
        for cli in self.tracker.cancels_due():
            self.cancel(cli)

    async def _reconcile_soon(self) -> None:
        try:
            await self.reconcile()
        except KrakenFuturesError as exc:
            log.warning("reconcile failed (%s); retrying in 1 s", exc)
            await self._sleep(1.0)
            self._reconcile_task = None
            self.request_reconcile()

    def _publish(self, updates: Sequence[OrderUpdated], now_ms: int) -> None:
        for update in updates:
            self._record(update.order, now_ms)
            self._on_order(update)

    def _record(self, order: TrackedOrder, now_ms: int) -> None:
        self.recorder.record_order(order, ts_ms=now_ms)

    def _spawn_rest(
        self, coro: Coroutine[Any, Any, None], sent: bool, rest: Awaitable[Any]
    ) -> None:
        """Run the task that finishes a request begun by :func:`_begin`: eagerly when its
        bytes have not left yet."""
        task = self._spawn(coro, eager=not sent)
        if task is not None:  # cancelled before its first step, it never awaits ``rest``
            task.add_done_callback(lambda _t: rest.close())  # type: ignore[attr-defined]

    def _spawn(
        self, coro: Coroutine[Any, Any, None], *, eager: bool = False
    ) -> asyncio.Task[None] | None:
        """Run ``coro`` as a tracked task (returned unless it is done already); ``eager``: its
        first step (build, sign and hand the request to the transport) now, on this stack (see
        :mod:`krakenfutures.oms.eager`)."""
        if eager and self.eager_sends:
            task = start_eager(coro)
            if task.done():
                return None
        else:
            task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _begin(
    start: Callable[[_Q], tuple[bool, Awaitable[_R]]], request: _Q
) -> tuple[bool, Awaitable[_R]]:
    """``start(request)``; a request that cannot even be built fails as the awaited call
    would (``rest`` raises), so the error contract has one path."""
    try:
        return start(request)
    except Exception as exc:
        return True, _raising(exc)


async def _raising(exc: BaseException) -> Any:
    """An awaitable that fails with ``exc`` (a request that failed before it could be sent)."""
    raise exc


__all__ = ["HALTING_STATUSES", "ManagerError", "OrderManager", "Recorder"]
