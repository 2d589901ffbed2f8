"""Changing and removing orders: ``editorder``, ``cancelorder`` and ``batchorder``.

Edit rules (Kraken documents only the ``qtyMode`` semantics; the rest is our reading):

* ``qty`` is the new open size (``RELATIVE``, the default) or the new total including what
  already filled (``ABSOLUTE``); a result of zero or less is ``invalidSize``.
* A new price or a larger size loses time priority, a smaller size keeps it.
* A ``lmt`` edit that crosses executes at once (fill type ``takerAfterEdit``); a ``post``
  edit that would cross is refused (``postWouldExecute``) and the order left unchanged; under
  REJECT_TAKER an edit that would reach the account's own order is refused (``selfFill``).
* ``stop_price`` on an order that is not an untriggered stop/take-profit is
  ``orderForEditNotAStop``; an unknown or closed order is ``orderForEditNotFound``.
* Size increases are checked like new orders (``maxPositionViolation``,
  ``insufficientAvailableFunds``); reduce-only orders are cut to the position.

``cancelorder`` answers ``cancelled``, ``filled`` (the order filled within the closed-order
memory) or ``notFound``. A batch validates every instruction's arguments before running any,
then runs them in order, each with its own status.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from krakenfutures.core.types import QtyMode, SelfTradeStrategy, Side, TradingState
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.core import side_index
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.matching import STP_NONE, STP_REJECT_TAKER
from krakenfutures.sim.orders import OrderEntry
from krakenfutures.sim.state import AccountData, OrderState

ZERO = Decimal(0)
_SUSPENDED = {TradingState.SUSPENDED, TradingState.MAINTENANCE, TradingState.UNKNOWN}


class Amendments(OrderEntry):
    """Edit, cancel and batch on top of :class:`OrderEntry`."""

    # -------------------------------------------------------------------------------- edit

    def _find_open(
        self, acct: AccountData, order_id: str | None, cli_ord_id: str | None
    ) -> OrderState | None:
        if order_id is None and cli_ord_id is None:
            raise ValidationError("give order_id or cli_ord_id")
        if order_id is None and cli_ord_id is not None:
            order_id = acct.cli_index.get(cli_ord_id)
        return acct.orders.get(order_id) if order_id is not None else None

    def _edit(
        self,
        acct: AccountData,
        order_id: str | None,
        cli_ord_id: str | None,
        qty: Decimal | None,
        limit_price: Decimal | None,
        stop_price: Decimal | None,
        qty_mode: QtyMode,
        now_ms: int,
    ) -> d.OrderResult:
        order = self._find_open(acct, order_id, cli_ord_id)
        if order is None:
            return d.OrderResult("orderForEditNotFound", order_id, cli_ord_id, now_ms)

        def refuse(status: str) -> d.OrderResult:
            return d.OrderResult(status, order.order_id, order.cli_ord_id, now_ms)

        spec = self.specs[order.symbol]
        market = self.state.markets[order.symbol]
        is_trigger = order.type in d.TRIGGER_TYPES
        if stop_price is not None and not is_trigger:
            return refuse("orderForEditNotAStop")
        if market.trading_state in _SUSPENDED or market.trading_state is TradingState.UNKNOWN:
            return refuse("marketSuspended")
        new_remaining = order.remaining
        if qty is not None:
            if not isinstance(qty, Decimal) or not qty.is_finite():
                return refuse("invalidSize")
            new_remaining = qty if QtyMode(qty_mode) is QtyMode.RELATIVE else qty - order.filled
            if new_remaining <= 0 or spec.check_qty(new_remaining) is None:
                return refuse("invalidSize")
        for price in (limit_price, stop_price):
            if price is not None and (
                not isinstance(price, Decimal) or spec.check_price(price) is None
            ):
                return refuse("invalidPrice")
        new_limit = limit_price if limit_price is not None else order.limit_price
        old = order.view()
        if is_trigger:
            order.qty = order.filled + new_remaining
            order.limit_price = new_limit
            order.stop_price = stop_price if stop_price is not None else order.stop_price
            return self._edited(acct, order, old, now_ms, None, [])
        assert new_limit is not None
        if self._outside_band(spec, order.side, new_limit) and new_limit != order.limit_price:
            return refuse("outsidePriceCollar")
        reduced = None
        pos = acct.positions.get(order.symbol)
        pos_qty = pos.qty if pos is not None else ZERO
        if order.reduce_only:
            if pos_qty == 0 or (pos_qty > 0) == (order.side is Side.BUY):
                return refuse("wouldNotReducePosition")
            if new_remaining > abs(pos_qty):
                reduced, new_remaining = new_remaining - abs(pos_qty), abs(pos_qty)
        elif new_remaining > order.remaining or new_limit != order.limit_price:
            same = self.ledger.open_side_qty(acct.name, order.symbol, order.side) - order.remaining
            projected = abs(pos_qty + order.side.sign * (same + new_remaining))
            if projected > spec.max_position_size and projected > abs(pos_qty):
                return refuse("maxPositionViolation")
            extra = (order.symbol, order.side, new_remaining, new_limit)
            if not self.ledger.margin_allows(
                acct, spec.margin_account, now_ms, extra, skip=order.order_id
            ):
                return refuse("insufficientAvailableFunds")
        book = self.books[order.symbol]
        side = side_index(order.side)
        ticks = spec.price_to_ticks(new_limit)
        lots = spec.qty_to_lots(new_remaining)
        crosses = new_limit != order.limit_price and book.would_cross(side, ticks)
        if crosses and order.type == "post":
            return refuse("postWouldExecute")
        if (
            crosses
            and acct.stp is SelfTradeStrategy.REJECT_TAKER
            and self._blocked_by_self(acct, spec, side, ticks, lots)
        ):
            return refuse("selfFill")
        order.qty = order.filled + new_remaining
        keeps_priority = new_limit == order.limit_price and lots <= spec.qty_to_lots(old.remaining)
        order.limit_price = new_limit
        order.last_update_ts_ms = now_ms
        if keeps_priority:
            book.reduce(order.key, lots)
            self.ledger.track(order, True)
            self._flush_book(order.symbol, now_ms)
            return self._edited(acct, order, old, now_ms, reduced, [])
        book.remove(order.key)
        self.by_key.pop(order.key, None)
        self.ledger.track(order, False)
        self._flush_book(order.symbol, now_ms)
        executed: list[d.OrderEvent] = []
        if crosses:
            fills, _, lots = self._match(
                acct, order, side, ticks, lots, now_ms, "takerAfterEdit", old, None
            )
            executed.extend(fills)
        if lots:
            order.key = self._next_key()
            self._rest(order)
            self._flush_book(order.symbol, now_ms)
            return self._edited(acct, order, old, now_ms, reduced, executed)
        order.key = 0
        result = self._edited(acct, order, old, now_ms, reduced, executed)
        self._close(order, "FULLY_EXECUTED", d.FULL_FILL, now_ms, None)
        return result

    def _blocked_by_self(
        self, acct: AccountData, spec: InstrumentSpec, side: int, ticks: int, lots: int
    ) -> bool:
        book = self.books[spec.symbol]
        return book.fillable(side, ticks, lots, acct.name, STP_REJECT_TAKER) < book.fillable(
            side, ticks, lots, acct.name, STP_NONE
        )

    def _edited(
        self,
        acct: AccountData,
        order: OrderState,
        old: d.OrderView,
        now_ms: int,
        reduced: Decimal | None,
        executed: list[d.OrderEvent],
    ) -> d.OrderResult:
        new = order.view()
        kind = "OrderTriggerUpdated" if order.type in d.TRIGGER_TYPES else "OrderUpdated"
        self._history(acct, kind, new, now_ms, old_order=old, reason=d.EDITED_BY_USER)
        if self.listeners:
            self._emit(d.OrderUpdated(acct.name, new, d.EDITED_BY_USER, False))
        events: list[d.OrderEvent] = [d.Edited(old, new, reduced), *executed]
        return d.OrderResult("edited", order.order_id, order.cli_ord_id, now_ms, tuple(events))

    # ------------------------------------------------------------------------------ cancel

    def _cancel(
        self, acct: AccountData, order_id: str | None, cli_ord_id: str | None, now_ms: int
    ) -> d.OrderResult:
        order = self._find_open(acct, order_id, cli_ord_id)
        if order is None:
            closed = acct.closed.get(order_id) if order_id is not None else None
            if closed is None and cli_ord_id is not None:
                closed = next(
                    (c for c in reversed(acct.closed.values()) if c.order.cli_ord_id == cli_ord_id),
                    None,
                )
            if closed is not None and closed.status == "FULLY_EXECUTED":
                return d.OrderResult(
                    "filled", closed.order.order_id, closed.order.cli_ord_id, now_ms
                )
            return d.OrderResult("notFound", order_id, cli_ord_id, now_ms)
        view = self._close(
            order, "CANCELLED", d.CANCELLED_BY_USER, now_ms, self._cancel_kind(order)
        )
        self._flush_book(order.symbol, now_ms)
        return d.OrderResult(
            "cancelled",
            order.order_id,
            order.cli_ord_id,
            now_ms,
            (d.Cancelled(view, d.CANCELLED_BY_USER),),
        )

    # ------------------------------------------------------------------------------- batch

    def _batch(
        self, acct: AccountData, instructions: Sequence[d.BatchInstruction], now_ms: int
    ) -> list[d.BatchItemResult]:
        for item in instructions:  # argument errors first: a malformed batch changes nothing
            if isinstance(item, d.SendInstruction):
                self._validate_send(
                    item.symbol, item.side, item.order_type, item.limit_price, item.stop_price
                )
            elif isinstance(item, d.EditInstruction | d.CancelInstruction):
                if item.order_id is None and item.cli_ord_id is None:
                    raise ValidationError(
                        "batch edit/cancel instructions need order_id or cli_ord_id"
                    )
            else:
                raise ValidationError(f"unknown batch instruction {type(item).__name__}")
        out: list[d.BatchItemResult] = []
        for item in instructions:
            if isinstance(item, d.SendInstruction):
                symbol, side, kind = self._validate_send(
                    item.symbol, item.side, item.order_type, item.limit_price, item.stop_price
                )
                result = self._place(
                    acct,
                    symbol,
                    side,
                    kind,
                    item.qty,
                    item.limit_price,
                    item.stop_price,
                    item.trigger_signal,
                    item.reduce_only,
                    item.cli_ord_id,
                    now_ms,
                )
                out.append(d.BatchItemResult(item.order_tag, "send", result))
            elif isinstance(item, d.EditInstruction):
                result = self._edit(
                    acct,
                    item.order_id,
                    item.cli_ord_id,
                    item.qty,
                    item.limit_price,
                    item.stop_price,
                    item.qty_mode,
                    now_ms,
                )
                out.append(d.BatchItemResult(item.order_tag, "edit", result))
            else:
                result = self._cancel(acct, item.order_id, item.cli_ord_id, now_ms)
                out.append(d.BatchItemResult(item.order_tag, "cancel", result))
            self._settle(now_ms)
        return out


__all__ = ["Amendments"]
