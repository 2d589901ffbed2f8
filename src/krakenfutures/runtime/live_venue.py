"""``LiveVenue``: the :class:`~krakenfutures.oms.venue.Venue` port over Kraken's REST v3, through an
:class:`~krakenfutures.client.async_.AsyncClient` (the live exchange, or the simulator on loopback).

Intents go to the wire (``build_*``) and replies come back as domain records (``parse_*``):

* ``post_only`` is order type ``post``; ``process_before_ms`` is ``processBefore`` (ISO text);
  ``reduce_only``, ``stop_price`` (``stp``/``take_profit``, trigger signal from the venue's
  ``trigger_signal``) and ``cli_ord_id`` pass as they are. An amend's ``qty`` is the new total,
  so it goes out with ``qtyMode=ABSOLUTE``.
* A refusal (``postWouldExecute``, ``insufficientAvailableFunds``...) arrives inside
  ``result: success`` and becomes ``accepted=False`` with Kraken's status and a reason: never
  an exception. An accepted reply carrying a ``REJECT`` event and no execution (how a post-only
  order that would cross may be reported) is a refusal too.
* Executions in a ``sendorder``/``editorder`` reply (``orderEvents`` ``EXECUTION``) become
  :class:`~krakenfutures.oms.venue.FillRecord` with ``fill_id = executionId``; an order that
  took liquidity on entry or edit is the taker. An edit's fills have no field in
  :class:`~krakenfutures.oms.venue.AmendResult`: they go to ``on_edit_fill`` (the feed and
  :meth:`LiveVenue.fills` report them as well).
* Kraken's REST fills and order replies carry **no fee**: the fee is *computed* with the fee
  schedule (maker or taker from ``fillType``; only ``maker`` is maker) at ``volume_30d_usd``,
  in the contract's settlement currency (USD for linear, the base coin for inverse). It is an
  estimate: Kraken's central fee service may charge otherwise. The WebSocket ``fills`` feed
  carries the real ``fee_paid`` (see :mod:`krakenfutures.runtime.legacy_feed`).

Exceptions, as :mod:`krakenfutures.oms.venue` requires:

====================================  ==========================================================
raised                                meaning
====================================  ==========================================================
``ConnectError``                      nothing was sent (after the client's own retries)
``TimeoutError_``, other              the request may or may not have been carried out: a
``TransportError``                    timeout, a connection dropped after sending, an unreadable
                                      reply (translated from ``RemoteProtocolError`` here), or a
                                      ``sendorder`` answered ``wouldProcessAfterSpecifiedTime``
                                      (see below)
``UnavailableError``                  HTTP 5xx, ``Unavailable``, ``Server Error``: maybe done
other ``ExchangeError``               ``authenticationError``, ``apiLimitExceeded``,
                                      ``invalidArgument``...: the runtime's error policy
``ValidationError``                   an intent the venue cannot express (``trailing_stop``):
                                      raised before anything is sent
====================================  ==========================================================

Why ``wouldProcessAfterSpecifiedTime`` is not a refusal here: the client retries a ``sendorder``
whose reply was lost (it has a ``cliOrdId``, so a duplicate is refused, not executed). If the
retry arrives after ``processBefore`` Kraken answers ``wouldProcessAfterSpecifiedTime`` for the
*retry*, while the first attempt may well have executed; with a 10 s client timeout and a 5 s
deadline that is the usual outcome of a timeout. Reporting it as a refusal would let the OMS
"prove" the order absent, so it is raised as :class:`~krakenfutures.errors.TimeoutError_` and
the OMS reconciles (an order that really arrived late is then proven absent and resent).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from krakenfutures.core.classify import order_outcome
from krakenfutures.core.events import FundingPaid
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FeeSchedule, fee_for_fill
from krakenfutures.core.orders import OrderState
from krakenfutures.core.rest.endpoints import BY_NAME
from krakenfutures.core.rest.schema_account import FlexAccount, MarginAccount
from krakenfutures.core.rest.schema_common import (
    CancelEvent,
    EditEvent,
    ExecutionEvent,
    OrderEvent,
    PlaceEvent,
    RejectEvent,
)
from krakenfutures.core.rest.schema_orders import CancelOrderParams, SendOrderParams
from krakenfutures.core.timefmt import iso_ms, parse_iso_ms
from krakenfutures.core.types import (
    OrderType,
    QtyMode,
    Side,
    TriggerSignal,
    contract_kind,
    normalize_symbol,
)
from krakenfutures.errors import (
    RemoteProtocolError,
    TimeoutError_,
    TransportError,
    ValidationError,
)
from krakenfutures.oms.positions import settlement_currency as book_settlement_currency
from krakenfutures.oms.venue import (
    AmendIntent,
    AmendResult,
    BalanceRecord,
    CancelAllResult,
    CancelIntent,
    CancelOutcome,
    CancelResult,
    FillRecord,
    OrderIntent,
    OrderSnapshot,
    PositionRecord,
    SubmitResult,
)

if TYPE_CHECKING:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.core.rest.endpoint import Endpoint

log = logging.getLogger("krakenfutures.runtime")
ZERO = Decimal(0)
FILLS_PAGE = 100
"""Kraken's ``/fills`` returns at most this many rows per call."""
_SEND_ORDER = BY_NAME["send_order"]
_CANCEL_ORDER = BY_NAME["cancel_order"]

FeeFn = Callable[[str, Decimal, Decimal, bool], tuple[Decimal, str]]
"""``fee(symbol, qty, price, maker) -> (fee, currency)``."""

_REJECT_STATUS = {
    "POST_WOULD_EXECUTE": "postWouldExecute",
    "IOC_WOULD_NOT_EXECUTE": "iocWouldNotExecute",
    "SELF_FILL": "selfFill",
    "WOULD_NOT_REDUCE_POSITION": "wouldNotReducePosition",
    "INSUFFICIENT_MARGIN": "insufficientAvailableFunds",
}
"""``REJECT`` event reasons -> the ``sendStatus`` value that means the same."""

_TRIGGER_TYPES = {"stop": OrderType.STP, "take_profit": OrderType.TAKE_PROFIT}
_STATUS_STATES = {
    "FULLY_EXECUTED": OrderState.FILLED,
    "CANCELLED": OrderState.CANCELLED,
    "REJECTED": OrderState.REJECTED,
    # A trigger that failed to activate never became an order: the tracker turns this into
    # cancelled for an acknowledged order.
    "TRIGGER_ACTIVATION_FAILURE": OrderState.REJECTED,
}


# ------------------------------------------------------------------------------------ fees


def settlement_currency(symbol: str, overrides: Mapping[str, str] | None = None) -> str:
    """The currency fees, PnL and funding of ``symbol`` are paid in (the position book's rule:
    ``USD`` for linear contracts, the base coin for inverse ones); ``overrides`` maps symbols
    to a currency when the rule does not fit."""
    symbol = normalize_symbol(symbol)
    if overrides and symbol in overrides:
        return overrides[symbol].upper()
    return book_settlement_currency(symbol)


def estimate_fee(
    symbol: str,
    qty: Decimal,
    price: Decimal,
    *,
    maker: bool,
    schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE,
    volume_30d_usd: Decimal = ZERO,
) -> Decimal:
    """The fee a fill of ``qty`` at ``price`` costs by ``schedule`` (an estimate: Kraken's REST
    replies carry none), in :func:`settlement_currency`; negative = rebate."""
    return fee_for_fill(
        contract_kind(symbol),
        qty,
        price,
        maker=maker,
        schedule=schedule,
        volume_30d_usd=volume_30d_usd,
    )


# ---------------------------------------------------------------------------- intent -> wire


def build_send_order(
    intent: OrderIntent, *, trigger_signal: TriggerSignal = TriggerSignal.MARK
) -> dict[str, Any]:
    """Keyword arguments of ``AsyncClient.send_order`` for ``intent``.

    Raises:
        ValidationError: ``trailing_stop`` (its deviation parameters are not in an intent).
    """
    if intent.order_type is OrderType.TRAILING_STOP:
        raise ValidationError(
            "trailing_stop orders need trailing-stop parameters an OrderIntent does not carry; "
            "send them with the client's send_order"
        )
    trigger = intent.order_type in (OrderType.STP, OrderType.TAKE_PROFIT)
    deadline = intent.process_before_ms
    return {
        "order_type": OrderType.POST if intent.post_only else intent.order_type,
        "symbol": intent.symbol,
        "side": intent.side,
        "qty": intent.qty,
        "limit_price": intent.limit_price,
        "stop_price": intent.stop_price,
        "trigger_signal": trigger_signal if trigger else None,
        "reduce_only": True if intent.reduce_only else None,
        "cli_ord_id": intent.cli_ord_id or None,
        "process_before": iso_ms(deadline) if deadline is not None else None,
    }


def send_order_params(
    intent: OrderIntent, *, trigger_signal: TriggerSignal = TriggerSignal.MARK
) -> SendOrderParams:
    """The ``sendorder`` params struct for ``intent``: ``SendOrderParams(**build_send_order(...))``
    built directly, without the keyword dict (this is on every order's path to the wire).

    Raises:
        ValidationError: ``trailing_stop`` (its deviation parameters are not in an intent).
    """
    order_type = intent.order_type
    if order_type is OrderType.TRAILING_STOP:
        raise ValidationError(
            "trailing_stop orders need trailing-stop parameters an OrderIntent does not carry; "
            "send them with the client's send_order"
        )
    deadline = intent.process_before_ms
    return SendOrderParams(
        order_type=OrderType.POST if intent.post_only else order_type,
        symbol=intent.symbol,
        side=intent.side,
        qty=intent.qty,
        limit_price=intent.limit_price,
        stop_price=intent.stop_price,
        trigger_signal=trigger_signal if order_type in _TRIGGERED else None,
        reduce_only=True if intent.reduce_only else None,
        cli_ord_id=intent.cli_ord_id or None,
        process_before=iso_ms(deadline) if deadline is not None else None,
    )


_TRIGGERED = frozenset({OrderType.STP, OrderType.TAKE_PROFIT})


def _cancel_params(intent: CancelIntent) -> CancelOrderParams:
    # By the exchange's id when known: it names exactly one order, even after a resend.
    return CancelOrderParams(
        order_id=intent.order_id, cli_ord_id=None if intent.order_id else intent.cli_ord_id
    )


def build_edit_order(intent: AmendIntent) -> dict[str, Any]:
    """Keyword arguments of ``AsyncClient.edit_order``: the order by ``order_id`` when known
    (else ``cli_ord_id``); ``qty`` is a new total, hence ``qtyMode=ABSOLUTE``."""
    return {
        "order_id": intent.order_id,
        "cli_ord_id": None if intent.order_id else intent.cli_ord_id,
        "qty": intent.qty,
        "limit_price": intent.limit_price,
        "stop_price": intent.stop_price,
        "qty_mode": QtyMode.ABSOLUTE if intent.qty is not None else None,
    }


# ---------------------------------------------------------------------------- wire -> domain


def _event_order_id(event: OrderEvent) -> str | None:
    if isinstance(event, ExecutionEvent):
        return event.order_prior_execution.order_id
    if isinstance(event, PlaceEvent):
        if event.order is not None:
            return event.order.order_id
        return event.order_trigger.uid if event.order_trigger is not None else None
    if isinstance(event, EditEvent):
        return event.new.order_id
    return event.uid


def parse_execution(
    event: ExecutionEvent, *, ts_ms: int, fee: FeeFn, cli_ord_id: str | None = None
) -> FillRecord:
    """An ``EXECUTION`` event of our order as a taker fill (``fill_id`` = ``executionId``)."""
    prior = event.order_prior_execution
    amount, currency = fee(prior.symbol, event.qty, event.price, False)
    return FillRecord(
        fill_id=event.execution_id,
        order_id=prior.order_id,
        cli_ord_id=prior.cli_ord_id or cli_ord_id,
        symbol=prior.symbol,
        side=prior.side,
        qty=event.qty,
        price=event.price,
        fee=amount,
        fee_currency=currency,
        ts_ms=ts_ms,
        maker=False,
    )


def parse_send_status(reply: Any, intent: OrderIntent, *, fee: FeeFn) -> SubmitResult:
    """A ``sendStatus`` as a :class:`SubmitResult` (see the module docstring for the rules)."""
    cli = intent.cli_ord_id or reply.cli_ord_id or ""
    order_id = reply.order_id
    ts_ms = parse_iso_ms(reply.received_time) or 0
    ours = [e for e in reply.order_events if order_id is None or _event_order_id(e) == order_id]
    fills = tuple(
        parse_execution(e, ts_ms=ts_ms, fee=fee, cli_ord_id=cli or None)
        for e in ours
        if isinstance(e, ExecutionEvent)
    )
    status = reply.status
    outcome = order_outcome(status)
    accepted, reason = outcome.accepted, outcome.reason
    reject = next((e for e in ours if isinstance(e, RejectEvent)), None)
    if accepted and reject is not None and not fills:
        status = _REJECT_STATUS.get(reject.reason, reject.reason)
        accepted, reason = False, order_outcome(status).reason
    elif not accepted and fills:
        # Something executed, whatever the status says: the order existed.
        log.warning("sendorder %s: status %r with executions; taken as placed", cli, status)
        accepted, reason = True, ""
    remainder = False
    if accepted:
        filled = sum((f.qty for f in fills), ZERO)
        resting = any(isinstance(e, PlaceEvent) for e in ours)
        ended = status == "cancelled" or any(isinstance(e, CancelEvent | RejectEvent) for e in ours)
        if ours:
            remainder = (ended or not resting) and filled < intent.qty
        else:
            # No events at all: a reply the client recovered via orders/status after a lost
            # one. What became of the order is unknown here; the feed or a lookup will tell.
            remainder = status == "cancelled"
    return SubmitResult(
        cli_ord_id=cli,
        accepted=accepted,
        status=status,
        order_id=order_id,
        reason=reason,
        fills=fills,
        remainder_cancelled=remainder,
    )


def parse_edit_status(
    reply: Any, intent: AmendIntent, *, fee: FeeFn
) -> tuple[AmendResult, tuple[FillRecord, ...]]:
    """An ``editStatus`` as an :class:`AmendResult` plus the executions the edit caused."""
    outcome = order_outcome(reply.status)
    ts_ms = parse_iso_ms(reply.received_time) or 0
    fills = tuple(
        parse_execution(e, ts_ms=ts_ms, fee=fee, cli_ord_id=intent.cli_ord_id or None)
        for e in reply.order_events
        if isinstance(e, ExecutionEvent)
    )
    accepted = outcome.accepted and reply.status != "cancelled"
    result = AmendResult(
        cli_ord_id=intent.cli_ord_id,
        accepted=accepted,
        status=reply.status,
        reason="" if accepted else outcome.reason,
    )
    return result, fills


def parse_cancel_status(reply: Any, intent: CancelIntent) -> CancelResult:
    """A ``cancelStatus``: ``cancelled``, ``filled``, else not found (any other status leaves
    the order's fate open, which the OMS resolves by reconciling)."""
    outcome = {"cancelled": CancelOutcome.CANCELLED, "filled": CancelOutcome.FILLED}.get(
        reply.status, CancelOutcome.NOT_FOUND
    )
    return CancelResult(
        cli_ord_id=intent.cli_ord_id,
        outcome=outcome,
        order_id=reply.order_id or intent.order_id,
    )


def parse_cancel_all(reply: Any) -> CancelAllResult:
    """A ``cancelallorders`` status: the ids of the orders it cancelled."""
    order_ids = [ref.order_id for ref in reply.cancelled_orders]
    cli_ids = [ref.cli_ord_id for ref in reply.cancelled_orders if ref.cli_ord_id]
    known = set(order_ids)
    for event in reply.order_events:  # some replies name orders only in their CANCEL events
        if isinstance(event, CancelEvent) and event.uid not in known:
            known.add(event.uid)
            order_ids.append(event.uid)
            if event.order is not None and event.order.cli_ord_id:
                cli_ids.append(event.order.cli_ord_id)
    return CancelAllResult(order_ids=tuple(order_ids), cli_ord_ids=tuple(dict.fromkeys(cli_ids)))


def parse_open_order(row: Any) -> OrderSnapshot:
    """A REST ``openOrders`` row (``order_type`` ``lmt`` covers post-only orders too)."""
    unfilled = row.unfilled_size if row.unfilled_size is not None else ZERO
    return OrderSnapshot(
        order_id=row.order_id,
        cli_ord_id=row.cli_ord_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.filled_size + unfilled,
        filled_qty=row.filled_size,
        state=OrderState.PARTIALLY_FILLED if row.filled_size > 0 else OrderState.OPEN,
        order_type=_TRIGGER_TYPES.get(row.order_type, OrderType.LMT),
        limit_price=row.limit_price or None,
        stop_price=row.stop_price or None,
        reduce_only=row.reduce_only,
        ts_ms=parse_iso_ms(row.last_update_time) or 0,
    )


def parse_order_status(row: Any) -> OrderSnapshot:
    """An ``orders/status`` row. ``ENTERED_BOOK``/``TRIGGER_PLACED`` rest; a trigger's type
    (stop or take-profit) follows from its side and trigger direction."""
    order = row.order
    side = Side(order.side.lower())
    filled = order.filled or ZERO
    state = _STATUS_STATES.get(row.status)
    if state is None:  # ENTERED_BOOK, TRIGGER_PLACED and anything new: it rests
        state = OrderState.PARTIALLY_FILLED if filled > 0 else OrderState.OPEN
    order_type, stop_price = OrderType.LMT, None
    trigger = order.price_trigger_options
    if trigger is not None:
        stop_price = trigger.trigger_price
        above = trigger.trigger_side.upper() == "TRIGGER_ABOVE"
        order_type = OrderType.STP if above == (side is Side.BUY) else OrderType.TAKE_PROFIT
    return OrderSnapshot(
        order_id=order.order_id,
        cli_ord_id=order.cli_ord_id,
        symbol=order.symbol,
        side=side,
        qty=order.qty if order.qty is not None else filled,
        filled_qty=filled,
        state=state,
        order_type=order_type,
        limit_price=order.limit_price,
        stop_price=stop_price,
        reduce_only=order.reduce_only,
        ts_ms=parse_iso_ms(order.last_update_timestamp) or 0,
        reason=row.error or row.update_reason or "",
    )


def parse_fill(row: Any, *, fee: FeeFn) -> FillRecord:
    """A REST ``fills`` row; its fee is computed (REST carries none), maker iff ``maker``."""
    maker = row.fill_type == "maker"
    amount, currency = fee(row.symbol, row.qty, row.price, maker)
    return FillRecord(
        fill_id=row.fill_id,
        order_id=row.order_id,
        cli_ord_id=row.cli_ord_id,
        symbol=row.symbol,
        side=Side(row.side),
        qty=row.qty,
        price=row.price,
        fee=amount,
        fee_currency=currency,
        ts_ms=parse_iso_ms(row.fill_time) or 0,
        maker=maker,
    )


def parse_position(row: Any) -> PositionRecord:
    """A REST ``openPositions`` row: ``side`` long/short with unsigned ``size`` -> signed qty."""
    return PositionRecord(
        symbol=row.symbol,
        qty=row.qty if row.side == "long" else -row.qty,
        entry_price=row.price,
        ts_ms=parse_iso_ms(row.fill_time) or 0,
    )


def parse_accounts(accounts: Mapping[str, Any]) -> list[BalanceRecord]:
    """Collateral from REST ``accounts``: each inverse margin wallet (``fi_*``, its coin, the
    available funds ``af``), then each currency of the multi-collateral ``flex`` wallet. The
    spot-like ``cash`` wallet is no collateral and left out. A coin held in both comes twice,
    the flex figure last (so a mapping keyed by currency keeps it)."""
    inverse: list[BalanceRecord] = []
    flex: list[BalanceRecord] = []
    for account in accounts.values():
        if isinstance(account, FlexAccount):
            for currency, row in account.currencies.items():
                flex.append(BalanceRecord(currency.upper(), row.quantity, row.available))
        elif isinstance(account, MarginAccount):
            coin = account.currency
            balance = account.balances.get(coin, account.balances.get(coin.upper(), ZERO))
            available = account.auxiliary.af
            inverse.append(
                BalanceRecord(
                    coin.upper(), balance, available if available is not None else balance
                )
            )
    return inverse + flex


def parse_funding_entry(row: Any) -> FundingPaid | None:
    """An account-log ``funding rate change`` row as a payment (``amount`` > 0 paid: the log's
    ``realized_funding`` is what the wallet gained); ``None`` for other rows."""
    if row.info != "funding rate change" or row.realized_funding is None or not row.contract:
        return None
    return FundingPaid(
        symbol=row.contract,
        amount=-row.realized_funding,
        ts_ms=parse_iso_ms(row.date) or 0,
        payment_id=row.booking_uid or f"account-log-{row.id}",
    )


# ---------------------------------------------------------------------------------- venue


class LiveVenue:
    """The :class:`~krakenfutures.oms.venue.Venue` protocol over an ``AsyncClient``.

    Args:
        client: an authenticated :class:`~krakenfutures.client.async_.AsyncClient` (its retry
            policy and rate limiter apply to every call; the venue does not close it).
        fees: the schedule REST fills' fees are computed with (Kraken's published tiers by
            default).
        volume_30d_usd: the account's 30-day volume picking the tier; an attribute, update it
            as volume grows.
        fee_currencies: symbol -> settlement currency where :func:`settlement_currency`'s rule
            (USD for linear, base coin for inverse) does not fit.
        trigger_signal: what stop/take-profit orders trigger on (Kraken: ``mark`` by default).
        max_fill_pages: bound on ``/fills`` pages (100 fills each, cost 25 after the first)
            :meth:`fills` reads back to ``since_ms``.
        on_edit_fill: called with each fill an ``editorder`` reply reports (an amend that
            crossed the book); :class:`~krakenfutures.oms.venue.AmendResult` has no field for
            them.

    See the module docstring for the wire mapping and what each exception means.
    """

    def __init__(
        self,
        client: AsyncClient,
        *,
        fees: FeeSchedule = DEFAULT_FEE_SCHEDULE,
        volume_30d_usd: Decimal = ZERO,
        fee_currencies: Mapping[str, str] | None = None,
        trigger_signal: TriggerSignal = TriggerSignal.MARK,
        max_fill_pages: int = 10,
        on_edit_fill: Callable[[FillRecord], None] | None = None,
    ) -> None:
        if max_fill_pages < 1:
            raise ValidationError(f"max_fill_pages must be >= 1, got {max_fill_pages}")
        self.client = client
        self.fee_schedule = fees
        self.volume_30d_usd = Decimal(volume_30d_usd)
        self.fee_currencies = {normalize_symbol(k): v for k, v in (fee_currencies or {}).items()}
        self.trigger_signal = TriggerSignal(trigger_signal)
        self.margin: tuple[Decimal, Decimal] | None = None
        """``(margin_equity, maintenance_margin)`` of the flex account at the last
        :meth:`balances` call."""
        self.max_fill_pages = max_fill_pages
        self.on_edit_fill = on_edit_fill

    def fee_for(
        self, symbol: str, qty: Decimal, price: Decimal, maker: bool
    ) -> tuple[Decimal, str]:
        """``(fee, currency)`` of a fill by the venue's schedule and current 30-day volume."""
        fee = estimate_fee(
            symbol,
            qty,
            price,
            maker=maker,
            schedule=self.fee_schedule,
            volume_30d_usd=self.volume_30d_usd,
        )
        return fee, settlement_currency(symbol, self.fee_currencies)

    # -------------------------------------------------------------------------- orders

    async def submit_order(self, intent: OrderIntent) -> SubmitResult:
        """Send a new order; a refusal is ``accepted=False``. ``wouldProcessAfterSpecifiedTime``
        raises :class:`TimeoutError_` (the module docstring says why)."""
        # ``client.call`` with the params struct: what ``client.send_order(**kwargs)`` does,
        # without building and unpacking a keyword dict on every order.
        params = send_order_params(intent, trigger_signal=self.trigger_signal)
        return await self._submitted(intent, self.client.call(_SEND_ORDER, params))

    def start_submit(self, intent: OrderIntent) -> tuple[bool, Awaitable[SubmitResult]]:
        """:meth:`submit_order` begun from plain code: the request is built, signed and, when
        the client's transport can write at once, sent within this call. Returns ``(sent,
        rest)``; awaiting ``rest`` gives what :meth:`submit_order` returns or raises. Raises
        :class:`ValidationError` for an intent that cannot be sent."""
        params = send_order_params(intent, trigger_signal=self.trigger_signal)
        sent, rest = self._begin(_SEND_ORDER, params)
        return sent, self._submitted(intent, rest)

    def _begin(self, endpoint: Endpoint, params: Any) -> tuple[bool, Awaitable[Any]]:
        """``client.start_call`` when the client has it (else the plain call, not sent yet)."""
        start = getattr(self.client, "start_call", None)
        if start is None:
            return False, self.client.call(endpoint, params)
        return start(endpoint, params)  # type: ignore[no-any-return]

    async def _submitted(self, intent: OrderIntent, call: Awaitable[Any]) -> SubmitResult:
        try:  # what _unknown_if_unreadable does, without a coroutine more on every order
            reply = await call
        except RemoteProtocolError as exc:
            raise _unreadable("sendorder", intent.cli_ord_id, exc) from exc
        if reply.status == "wouldProcessAfterSpecifiedTime":
            raise TimeoutError_(
                f"sendorder {intent.cli_ord_id or '(no cli_ord_id)'} reached the exchange after "
                "its processBefore deadline; if the client retried after a lost reply an earlier "
                "attempt may have executed: reconcile before resending"
            )
        return parse_send_status(reply, intent, fee=self.fee_for)

    async def amend_order(self, intent: AmendIntent) -> AmendResult:
        """Edit a resting order (``qty`` = new total incl. fills); fills the edit caused go to
        ``on_edit_fill``."""
        reply = await _unknown_if_unreadable(
            self.client.edit_order(**build_edit_order(intent)), "editorder", intent.cli_ord_id
        )
        result, fills = parse_edit_status(reply, intent, fee=self.fee_for)
        if self.on_edit_fill is not None:
            for fill in fills:
                self.on_edit_fill(fill)
        return result

    async def cancel_order(self, intent: CancelIntent) -> CancelResult:
        """Cancel one order, by ``order_id`` when known, else ``cli_ord_id``."""
        call = self.client.call(_CANCEL_ORDER, _cancel_params(intent))
        return await self._cancelled(intent, call)

    def start_cancel(self, intent: CancelIntent) -> tuple[bool, Awaitable[CancelResult]]:
        """:meth:`cancel_order` begun from plain code, as :meth:`start_submit` begins a
        submit: ``(sent, rest)``."""
        sent, rest = self._begin(_CANCEL_ORDER, _cancel_params(intent))
        return sent, self._cancelled(intent, rest)

    async def _cancelled(self, intent: CancelIntent, call: Awaitable[Any]) -> CancelResult:
        reply = await _unknown_if_unreadable(call, "cancelorder", intent.cli_ord_id)
        return parse_cancel_status(reply, intent)

    async def cancel_all(self, symbol: str | None = None) -> CancelAllResult:
        """Cancel every open order (trigger orders included), or those of ``symbol``."""
        call = self.client.cancel_all_orders(
            symbol=normalize_symbol(symbol) if symbol is not None else None
        )
        return parse_cancel_all(await _unknown_if_unreadable(call, "cancelallorders", ""))

    async def arm_deadman(self, timeout_s: int) -> None:
        """``cancelallordersafter``: cancel everything ``timeout_s`` seconds from now unless
        re-armed; 0 disarms. Kraken suggests 60 s, re-armed every 15-20 s."""
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or timeout_s < 0:
            raise ValidationError(f"deadman timeout must be an int >= 0 seconds, got {timeout_s!r}")
        await _unknown_if_unreadable(
            self.client.cancel_all_orders_after(timeout=timeout_s), "cancelallordersafter", ""
        )

    # ------------------------------------------------------------------------- lookups

    async def open_orders(self) -> list[OrderSnapshot]:
        """Every resting order (``openorders``: a complete snapshot)."""
        return [parse_open_order(row) for row in await self.client.get_open_orders()]

    async def order_status(
        self, cli_ord_ids: Sequence[str], *, order_ids: Sequence[str] = ()
    ) -> list[OrderSnapshot]:
        """``orders/status`` for these ids: open orders and those closed in the last ~5 s."""
        if not cli_ord_ids and not order_ids:
            return []
        rows = await self.client.get_order_status(
            cli_ord_ids=list(cli_ord_ids) or None, order_ids=list(order_ids) or None
        )
        return [parse_order_status(row) for row in rows]

    async def fills(self, since_ms: int | None = None) -> list[FillRecord]:
        """Our fills at or after ``since_ms`` (the latest 100 when ``None``), oldest first, fees
        computed. Pages back through ``/fills`` (at most ``max_fill_pages`` calls)."""
        rows = await self.client.get_fills()
        seen = {row.fill_id: row for row in rows}
        pages = 1
        while since_ms is not None and len(rows) >= FILLS_PAGE and pages < self.max_fill_pages:
            oldest = min(parse_iso_ms(row.fill_time) or 0 for row in rows)
            if oldest < since_ms:
                break
            # "before lastFillTime" is strict: ask for oldest + 1 ms so fills sharing the oldest
            # millisecond are not skipped (the repeats are dropped by fill_id).
            rows = await self.client.get_fills(last_fill_time=iso_ms(oldest + 1))
            pages += 1
            fresh = [row for row in rows if row.fill_id not in seen]
            if not fresh:
                break
            seen.update((row.fill_id, row) for row in fresh)
        fills = [parse_fill(row, fee=self.fee_for) for row in reversed(seen.values())]
        fills.sort(key=lambda f: f.ts_ms)  # stable: same-ms fills keep the exchange's order
        if since_ms is None:
            return fills
        return [f for f in fills if f.ts_ms >= since_ms]

    async def positions(self) -> list[PositionRecord]:
        """Net positions (flat symbols left out)."""
        rows = await self.client.get_open_positions()
        return [parse_position(row) for row in rows if row.qty]

    async def balances(self) -> list[BalanceRecord]:
        """Collateral balances (see :func:`parse_accounts`). Also keeps :attr:`margin`: the
        multi-collateral account's ``(margin_equity, maintenance_margin)`` for the runtime's
        liquidation-risk alert (``None`` without a flex account)."""
        accounts = await self.client.get_accounts()
        flex = accounts.get("flex")
        equity = getattr(flex, "margin_equity", None)
        maintenance = getattr(flex, "maintenance_margin", None)
        self.margin = (
            (equity, maintenance) if equity is not None and maintenance is not None else None
        )
        return parse_accounts(accounts)

    async def funding_payments(
        self, since_ms: int | None = None, *, page_size: int = 500, max_pages: int = 10
    ) -> list[FundingPaid]:
        """Funding payments booked at or after ``since_ms`` (account log ``funding rate
        change`` rows), oldest first; ``amount`` > 0 was paid. Uses the history rate-limit pool."""
        out: list[FundingPaid] = []
        from_id: int | None = None
        for _ in range(max_pages):
            page = await self.client.history_account_log(
                since=since_ms,
                from_id=from_id,
                sort="asc",
                info="funding rate change",
                count=page_size,
            )
            out.extend(p for p in map(parse_funding_entry, page.logs) if p is not None)
            if len(page.logs) < page_size:
                break
            from_id = max(row.id for row in page.logs) + 1
        return out

    def __repr__(self) -> str:
        return f"LiveVenue({self.client!r})"


async def _unknown_if_unreadable(call: Awaitable[Any], what: str, cli_ord_id: str) -> Any:
    """Await a state-changing call; an unreadable reply means it may have been carried out."""
    try:
        return await call
    except RemoteProtocolError as exc:
        raise _unreadable(what, cli_ord_id, exc) from exc


def _unreadable(what: str, cli_ord_id: str, exc: Exception) -> TransportError:
    return TransportError(
        f"{what} {cli_ord_id or ''}: the reply could not be read ({exc}); the request may "
        "have been carried out: reconcile"
    )


__all__ = [
    "FILLS_PAGE",
    "LiveVenue",
    "build_edit_order",
    "build_send_order",
    "estimate_fee",
    "parse_accounts",
    "parse_cancel_all",
    "parse_cancel_status",
    "parse_edit_status",
    "parse_execution",
    "parse_fill",
    "parse_funding_entry",
    "parse_open_order",
    "parse_order_status",
    "parse_position",
    "parse_send_status",
    "send_order_params",
    "settlement_currency",
]
