"""Order entry of the simulated exchange: ``sendorder`` and trigger activation.

Refusals are Kraken's status strings inside a normal :class:`~krakenfutures.sim.domain.OrderResult`
(reference §3.4, §10.3); only malformed calls (unknown symbol or account, a limit order without
``limit_price``...) raise :class:`~krakenfutures.errors.ValidationError`, which the REST layer
answers as ``invalidArgument``/``requiredArgumentMissing``. Checks run in this order, first
failure wins: ``clientOrderIdTooBig``; ``marketSuspended`` (suspended or maintenance) /
``marketInactive`` / ``marketIsPostOnly``; ``invalidSize``; ``invalidPrice``;
``clientOrderIdAlreadyExist``; ``tooManyOrders``; ``outsidePriceCollar``;
``wouldNotReducePosition``; ``maxPositionViolation``; ``insufficientAvailableFunds``; then the
book decides ``postWouldExecute``, ``iocWouldNotExecute``, ``selfFill``.

Choices where Kraken's documentation is silent (see the reference for what is known):

* An accepted order reports ``placed`` whether it rests, fills partly or fills completely (the
  observed behaviour for market orders): its ``Executed`` events come first, then ``Placed``
  if a remainder rests. An IOC/market remainder is cancelled without an event in the reply.
* ``mkt`` becomes ``ioc`` limited at the best opposite price +/- ``market_collar`` (1 %),
  rounded towards the book; with an empty opposite side the collar is around the mark.
* ``fok`` that cannot fill completely now answers ``iocWouldNotExecute`` (no ``fok`` status
  exists in Kraken's enum).
* ``outsidePriceCollar``: a limit beyond ``mark * (1 +/- price_band)`` on its aggressive side
  (buy above, sell below; 10 % by default). Passive prices are never refused.
* Self-trade REJECT_TAKER: the taker stops at its own resting order; with nothing executed the
  answer is ``selfFill``, otherwise ``placed`` with the executions and a ``Cancelled``
  (``SELF_FILL``) for the remainder. CANCEL_MAKER_* cancel the resting orders in the way.
* Reduce-only: refused (``wouldNotReducePosition``) when flat or on the position's side;
  larger than the position it is cut to the position (``reduced_qty``); resting reduce-only
  orders are cut or cancelled whenever the position shrinks or flips.
* Trigger orders reserve no margin; reduce-only, margin and position limits are checked when
  they fire, and a failure closes them as ``TRIGGER_ACTIVATION_FAILURE``.
"""

from __future__ import annotations

from decimal import Decimal

from krakenfutures.core.types import (
    OrderType,
    Side,
    TradingState,
    TriggerSignal,
)
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.core import side_index, stp_mode
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.settlement import Settlement
from krakenfutures.sim.state import AccountData, OrderState

ZERO = Decimal(0)
MAX_CLI_ORD_ID = 100
_LIMIT_TYPES = {"lmt", "post", "ioc", "fok"}
_SUSPENDED = {TradingState.SUSPENDED, TradingState.MAINTENANCE}
_ACTIVATION_ERRORS = {
    "wouldNotReducePosition": d.WOULD_NOT_REDUCE_POSITION,
    "insufficientAvailableFunds": d.INSUFFICIENT_MARGIN,
    "maxPositionViolation": d.MAX_POSITION_VIOLATION,
    "marketSuspended": d.MARKET_SUSPENDED,
    "marketIsPostOnly": d.MARKET_IS_POST_ONLY,
}
"""sendorder statuses -> Kraken's ``OrderError`` names for failed trigger activations."""


_KINDS: dict[object, str] = {}  # accepted order types (members and their values) -> value
_SIDES: dict[object, Side] = {}  # accepted sides (members and their values) -> member


def _order_type(order_type: str | OrderType) -> str:
    try:
        kind_ = _KINDS.get(order_type)  # a dict hit instead of an enum call on the hot path
    except TypeError:  # unhashable: let the enum refuse it below
        kind_ = None
    if kind_ is not None:
        return kind_
    try:
        kind = OrderType(order_type)
    except ValueError:
        raise ValidationError(
            f"unknown order type {order_type!r}; use lmt, post, mkt, ioc, fok, stp or take_profit"
        ) from None
    if kind is OrderType.TRAILING_STOP:
        raise ValidationError("trailing_stop orders are not supported by the simulator")
    return kind.value


def _side(side: str | Side) -> Side:
    try:
        member = _SIDES.get(side)
    except TypeError:
        member = None
    if member is not None:
        return member
    try:
        return Side(side)
    except ValueError:
        raise ValidationError(f"unknown side {side!r}; use buy or sell") from None


for _kind in OrderType:
    if _kind is not OrderType.TRAILING_STOP:
        _KINDS[_kind] = _KINDS[_kind.value] = _kind.value
for _member in Side:
    _SIDES[_member] = _SIDES[_member.value] = _member


class OrderEntry(Settlement):
    """Placing orders (and firing triggers) on top of :class:`Settlement`."""

    # -------------------------------------------------------------------------------- send

    def _validate_send(
        self,
        symbol: str,
        side: str | Side,
        order_type: str | OrderType,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
    ) -> tuple[str, Side, str]:
        """Argument checks that raise (nothing here changes state)."""
        symbol = self._symbol(symbol)
        kind = _order_type(order_type)
        if kind in _LIMIT_TYPES and limit_price is None:
            raise ValidationError(f"{kind} orders need limit_price")
        if kind in d.TRIGGER_TYPES and stop_price is None:
            raise ValidationError(f"{kind} orders need stop_price")
        for name, value in (("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None and not isinstance(value, Decimal):
                raise ValidationError(f"{name} must be a Decimal, got {type(value).__name__}")
        return symbol, _side(side), kind

    def _place(
        self,
        acct: AccountData,
        symbol: str,
        side: Side,
        kind: str,
        qty: Decimal,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        trigger_signal: TriggerSignal | None,
        reduce_only: bool,
        cli_ord_id: str | None,
        now_ms: int,
    ) -> d.OrderResult:
        spec = self.specs[symbol]
        market = self.state.markets[symbol]

        def refuse(status: str) -> d.OrderResult:
            return d.OrderResult(status, None, cli_ord_id, now_ms)

        if cli_ord_id is not None and len(cli_ord_id) > MAX_CLI_ORD_ID:
            return refuse("clientOrderIdTooBig")
        if market.trading_state in _SUSPENDED:
            return refuse("marketSuspended")
        if market.trading_state is TradingState.UNKNOWN:
            return refuse("marketInactive")
        if market.trading_state is TradingState.POST_ONLY and kind != "post":
            return refuse("marketIsPostOnly")
        if not isinstance(qty, Decimal) or spec.check_qty(qty) is None:
            return refuse("invalidSize")
        if kind != "mkt" and limit_price is not None and spec.check_price(limit_price) is None:
            return refuse("invalidPrice")
        if (
            stop_price is not None
            and kind in d.TRIGGER_TYPES
            and spec.check_price(stop_price) is None
        ):
            return refuse("invalidPrice")
        if cli_ord_id is not None and (
            cli_ord_id in acct.cli_index or cli_ord_id in acct.closed_cli
        ):
            return refuse("clientOrderIdAlreadyExist")
        if len(acct.orders) >= self.config.max_open_orders:
            return refuse("tooManyOrders")
        if (
            kind in _LIMIT_TYPES
            and limit_price is not None
            and self._outside_band(spec, side, limit_price)
        ):
            return refuse("outsidePriceCollar")
        if kind == "mkt":
            limit_price, kind = self._collar_price(spec, side), "ioc"
        order = OrderState(
            self._uuid(),
            acct.name,
            symbol,
            side,
            kind,
            qty,
            ZERO,
            limit_price,
            stop_price if kind in d.TRIGGER_TYPES else None,
            (trigger_signal or TriggerSignal.MARK) if kind in d.TRIGGER_TYPES else None,
            bool(reduce_only),
            cli_ord_id,
            now_ms,
            now_ms,
        )
        if kind in d.TRIGGER_TYPES:
            self._register(acct, order)
            market.triggers.append(order.order_id)
            view = order.view()
            self._history(acct, "OrderTriggerPlaced", view, now_ms)
            if self.listeners:
                self._emit(d.OrderUpdated(acct.name, view, d.NEW_ORDER, False))
            return d.OrderResult(
                "placed", order.order_id, cli_ord_id, now_ms, (d.TriggerPlaced(view),)
            )
        status, reduced = self._admit(acct, spec, order, now_ms)
        if status is not None:
            return refuse(status)
        return self._execute(acct, spec, order, now_ms, reduced)

    def _outside_band(self, spec: InstrumentSpec, side: Side, price: Decimal) -> bool:
        mark = self.state.markets[spec.symbol].mark_price
        if side is Side.BUY:
            return price > mark * (1 + spec.price_band)
        return price < mark * (1 - spec.price_band)

    def _collar_price(self, spec: InstrumentSpec, side: Side) -> Decimal:
        best = self.books[spec.symbol].best(side_index(side.opposite))
        ref = (
            spec.ticks_to_price(best)
            if best is not None
            else self.state.markets[spec.symbol].mark_price
        )
        if side is Side.BUY:
            ticks = spec.floor_ticks(ref * (1 + spec.market_collar))
        else:
            ticks = spec.ceil_ticks(ref * (1 - spec.market_collar))
        return spec.ticks_to_price(max(ticks, 1))

    def _register(self, acct: AccountData, order: OrderState) -> None:
        acct.orders[order.order_id] = order
        if order.cli_ord_id is not None:
            acct.cli_index[order.cli_ord_id] = order.order_id

    def _admit(
        self, acct: AccountData, spec: InstrumentSpec, order: OrderState, now_ms: int
    ) -> tuple[str | None, Decimal | None]:
        """Reduce-only, position-limit and margin checks; may cut a reduce-only order."""
        pos = acct.positions.get(spec.symbol)
        pos_qty = pos.qty if pos is not None else ZERO
        if order.reduce_only:
            if pos_qty == 0 or (pos_qty > 0) == (order.side is Side.BUY):
                return "wouldNotReducePosition", None
            if order.remaining > abs(pos_qty):
                reduced = order.remaining - abs(pos_qty)
                order.qty = order.filled + abs(pos_qty)
                return None, reduced
            return None, None
        same_side = self.ledger.open_side_qty(acct.name, spec.symbol, order.side)
        projected = abs(pos_qty + order.side.sign * (same_side + order.remaining))
        if projected > spec.max_position_size and projected > abs(pos_qty):
            return "maxPositionViolation", None
        assert order.limit_price is not None
        extra = (spec.symbol, order.side, order.remaining, order.limit_price)
        if not self.ledger.margin_allows(acct, spec.margin_account, now_ms, extra):
            return "insufficientAvailableFunds", None
        return None, None

    def _refused_after_id(
        self,
        acct: AccountData,
        order: OrderState,
        status: str,
        reason: str,
        now_ms: int,
        history: str = "OrderRejected",
    ) -> d.OrderResult:
        view = self._close(order, "REJECTED", reason, now_ms, history)
        return d.OrderResult(
            status, order.order_id, order.cli_ord_id, now_ms, (d.Rejected(view, reason),)
        )

    def _execute(
        self,
        acct: AccountData,
        spec: InstrumentSpec,
        order: OrderState,
        now_ms: int,
        reduced: Decimal | None,
        fill_type: str = "taker",
    ) -> d.OrderResult:
        """Match an admitted order and rest, cancel or close what is left."""
        book = self.books[spec.symbol]
        side = side_index(order.side)
        assert order.limit_price is not None
        ticks = spec.price_to_ticks(order.limit_price)
        lots = spec.qty_to_lots(order.remaining)
        mode = stp_mode(acct.stp)
        if order.type == "post" and book.would_cross(side, ticks):
            return self._refused_after_id(
                acct, order, "postWouldExecute", d.POST_WOULD_EXECUTE, now_ms
            )
        if order.type == "fok" and book.fillable(side, ticks, lots, acct.name, mode) < lots:
            return self._refused_after_id(
                acct, order, "iocWouldNotExecute", d.IOC_WOULD_NOT_EXECUTE, now_ms
            )
        if order.type in ("ioc", "fok") and not book.would_cross(side, ticks):
            return self._refused_after_id(
                acct, order, "iocWouldNotExecute", d.IOC_WOULD_NOT_EXECUTE, now_ms
            )
        self._history(acct, "OrderPlaced", order.view(), now_ms)
        events: list[d.OrderEvent] = []
        stopped, left = False, lots
        if order.type != "post":
            executed, stopped, left = self._match(
                acct, order, side, ticks, lots, now_ms, fill_type, None, reduced
            )
            events.extend(executed)
        if stopped or (left and order.type in ("ioc", "fok")):
            reason = d.SELF_FILL if stopped else d.IOC_WOULD_NOT_EXECUTE
            if order.filled == 0:
                status = "selfFill" if stopped else "iocWouldNotExecute"
                return self._refused_after_id(acct, order, status, reason, now_ms)
            view = self._close(order, "CANCELLED", reason, now_ms, "OrderCancelled")
            if stopped:
                events.append(d.Cancelled(view, reason))
        elif left:
            order.key = self._next_key()
            self._register(acct, order)
            self._rest(order, ticks, left)  # left == lots of order.remaining: fills are on the grid
            self._flush_book(spec.symbol, now_ms)
            view = order.view()
            events.append(d.Placed(view, reduced))
            if self.listeners:
                self._emit(d.OrderUpdated(acct.name, view, d.NEW_ORDER, False))
        else:
            self._close(order, "FULLY_EXECUTED", d.FULL_FILL, now_ms, None)
        return d.OrderResult("placed", order.order_id, order.cli_ord_id, now_ms, tuple(events))

    def _match(
        self,
        acct: AccountData,
        order: OrderState,
        side: int,
        ticks: int,
        lots: int,
        now_ms: int,
        fill_type: str,
        prior_edit: d.OrderView | None,
        reduced: Decimal | None,
    ) -> tuple[list[d.Executed], bool, int]:
        """Run ``order`` against the book: returns its executions, whether self-trade
        prevention stopped it, and the lots left."""
        book = self.books[order.symbol]
        fills, cancelled, stopped, left = book.match(
            side, ticks, lots, acct.name, stp_mode(acct.stp)
        )
        self._flush_book(order.symbol, now_ms)
        for key in cancelled:
            maker = self.by_key.pop(key)
            maker.key = 0
            self._close(maker, "CANCELLED", d.SELF_FILL, now_ms, "OrderCancelled")
        executed = self._process_fills(order, fills, now_ms, fill_type, prior_edit, reduced)
        return executed, stopped, left

    # ----------------------------------------------------------------------------- triggers

    def _activate(self, order: OrderState, now_ms: int) -> None:
        """A trigger fired: it becomes a ``lmt`` (with limit) or market ``ioc`` order."""
        acct = self.state.accounts[order.account]
        spec = self.specs[order.symbol]
        market = self.state.markets[order.symbol]
        market.triggers.remove(order.order_id)
        acct.orders.pop(order.order_id, None)
        if order.cli_ord_id is not None:
            acct.cli_index.pop(order.cli_ord_id, None)
        self._history(acct, "OrderTriggerActivated", order.view(), now_ms)
        order.type = "lmt" if order.limit_price is not None else "ioc"
        if order.limit_price is None:
            order.limit_price = self._collar_price(spec, order.side)
        order.last_update_ts_ms = now_ms
        status: str | None = None
        reduced = None
        if market.trading_state in _SUSPENDED or market.trading_state is TradingState.UNKNOWN:
            status = "marketSuspended"
        elif market.trading_state is TradingState.POST_ONLY:
            status = "marketIsPostOnly"
        else:
            status, reduced = self._admit(acct, spec, order, now_ms)
        if status is not None:
            reason = _ACTIVATION_ERRORS.get(status, status)
            self._close(
                order, "TRIGGER_ACTIVATION_FAILURE", reason, now_ms, "OrderTriggerActivationFailed"
            )
            return
        if self.listeners:
            self._emit(d.OrderUpdated(acct.name, order.view(), d.STOP_ORDER_TRIGGERED, False))
        self._execute(acct, spec, order, now_ms, reduced)


__all__ = ["MAX_CLI_ORD_ID", "OrderEntry"]
