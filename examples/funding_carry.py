"""Funding carry: hold the side of a perpetual that *receives* funding while it pays for the fees.

Kraken perpetuals settle funding every hour (reference §8.2). The WS ticker's
``relative_funding_rate_prediction`` is the predicted rate for the next hour boundary, as a
fraction of notional per hour; a positive rate means **longs pay shorts**. So with a positive
prediction a short receives it, with a negative one a long does.

Logic
-----
* **Entry** (flat, no working entry): the carry of one intended hold,
  ``carry_edge = |prediction| * hold_hours - fee_in - fee_out`` (fractions of notional), must be
  at least ``min_net_edge_bps``. The fees are the current tier's maker rates when
  ``use_post_only`` (entry and exit both worked passively) and its taker rates otherwise. The
  entry takes the receiving side: a post-only limit order joining the best price of that side,
  re-priced as the book moves, or a market order. An entry still working when the edge goes is
  cancelled.
* **Exit** (reduce-only), decided by :func:`exit_reason` and then kept until flat:

  - ``flipped``: the prediction no longer pays our side (zero or the other sign);
  - ``below_exit_edge``: it pays less than ``exit_edge_bps`` per hour;
  - ``hold_over``: the intended ``hold_hours`` are over and a fresh hold (entry fee already
    paid) would no longer clear ``min_net_edge_bps``.

  With ``use_post_only`` the exit is a post-only reduce-only limit joining the best price of the
  closing side; if it is not done ``exit_lead_s`` before the next funding time (the ticker's
  ``next_funding_ms``), it is replaced by a reduce-only market order, so that an edge that is
  gone is not carried through another funding boundary. Without ``use_post_only`` the exit is a
  reduce-only market order at once. While the market is ``post_only`` only passive orders go.
* **Gates.** Nothing new is sent unless the trading state is ``open`` or ``post_only``; other
  states cancel the working orders. A halt stops new orders for the rest of the run (an open
  position is reported with an alert: it must be closed by hand or by a restart). A denied
  intent or refused order backs off (``backoff_s`` doubling up to ``max_backoff_s``).

A position found at start (e.g. restored from the journal) is adopted and its hold counted from
then. Rates, prices and sizes are :class:`~decimal.Decimal` throughout.

Run
---
::

    kf run examples/funding_carry.py --env sim --duration 120

Parameters (``[strategy.params]`` in the bot config, or constructor keywords)
---------------------------------------------------------------------------
``symbol`` = ``"PF_XBTUSD"``
    A perpetual (only perpetuals have funding).
``qty`` = ``Decimal("0.01")``
    Position size in contracts (rounded down to the lot step).
``hold_hours`` = ``Decimal("8")``
    Intended holding time, in hours (funding periods) the entry must pay for.
``min_net_edge_bps`` = ``Decimal("2")``
    Required carry over one hold, net of the round-trip fees, in bps of notional.
``exit_edge_bps`` = ``Decimal("0.1")``
    Exit once the predicted funding received falls below this many bps per hour.
``use_post_only`` = ``True``
    Work entry and exit as post-only limit orders (maker fees) instead of market orders.
``exit_lead_s`` = ``120``
    How long before the next funding time an unfinished passive exit becomes a market order.
``timer_s`` = ``10.0``
    Seconds between re-evaluations when no ticker arrives.
``backoff_s`` = ``2.0`` / ``max_backoff_s`` = ``60.0``
    First and longest pause after a refused intent or order.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from krakenfutures.core.decimals import require_non_negative, require_positive, to_decimal
from krakenfutures.core.money import FUNDING_INTERVAL_MS, FeeTier, next_funding_time_ms
from krakenfutures.core.orders import EventKind, OrderState
from krakenfutures.core.types import OrderType, Side, TradingState, normalize_symbol
from krakenfutures.strategy import Strategy

if TYPE_CHECKING:
    from krakenfutures.core.book import OrderBook
    from krakenfutures.core.events import (
        FundingPaid,
        Halted,
        OrderDenied,
        TickerUpdate,
        TradingStateChanged,
    )
    from krakenfutures.oms.tracker import OrderUpdated, TrackedOrder
    from krakenfutures.oms.venue import FillRecord

ZERO = Decimal(0)
BPS = Decimal(10_000)
TRADING_STATES = frozenset({TradingState.OPEN, TradingState.POST_ONLY})
AMENDABLE = frozenset({OrderState.OPEN, OrderState.PARTIALLY_FILLED})
REFUSED_AMENDS = frozenset({EventKind.AMEND_REFUSED, EventKind.AMEND_REFUSED_PF})

FLIPPED = "flipped"
BELOW_EXIT_EDGE = "below_exit_edge"
HOLD_OVER = "hold_over"


# ------------------------------------------------------------------------------ pure helpers


def receiving_side(rel_rate: Decimal | None) -> Side | None:
    """The side that receives funding at ``rel_rate``: sell (short) when positive (longs pay
    shorts), buy (long) when negative, ``None`` at zero or without a rate."""
    if rel_rate is None or rel_rate == 0:
        return None
    return Side.SELL if rel_rate > 0 else Side.BUY


def received_rate(position_qty: Decimal, rel_rate: Decimal) -> Decimal:
    """Funding a position of signed ``position_qty`` receives per hour, as a fraction of its
    notional (negative = it pays; zero when flat)."""
    if position_qty == 0:
        return ZERO
    return rel_rate if position_qty < 0 else -rel_rate


def carry_edge(
    rel_rate_prediction: Decimal,
    hold_hours: Decimal | int,
    fee_rate_in: Decimal,
    fee_rate_out: Decimal,
) -> Decimal:
    """Net carry of holding the receiving side for ``hold_hours`` hourly fundings at the
    predicted rate, after the entry and exit fee rates: a fraction of notional (x 10,000 for
    bps); negative when the fees cost more than the funding brings."""
    hours = Decimal(hold_hours)
    require_non_negative(hours, "hold_hours")
    return abs(rel_rate_prediction) * hours - fee_rate_in - fee_rate_out


def round_trip_fees(tier: FeeTier, *, use_post_only: bool) -> tuple[Decimal, Decimal]:
    """(entry, exit) fee rates: the tier's maker rate both ways for post-only work, else taker."""
    rate = tier.maker if use_post_only else tier.taker
    return rate, rate


def entry_side(
    rel_rate_prediction: Decimal | None,
    *,
    hold_hours: Decimal | int,
    fee_rate_in: Decimal,
    fee_rate_out: Decimal,
    min_net_edge_bps: Decimal,
) -> Side | None:
    """The side to enter, or ``None`` when the carry over one hold does not clear
    ``min_net_edge_bps`` after fees (or there is no prediction)."""
    side = receiving_side(rel_rate_prediction)
    if side is None or rel_rate_prediction is None:
        return None
    edge = carry_edge(rel_rate_prediction, hold_hours, fee_rate_in, fee_rate_out)
    return side if edge * BPS >= min_net_edge_bps else None


def exit_reason(
    position_qty: Decimal,
    rel_rate_prediction: Decimal | None,
    *,
    exit_edge_bps: Decimal,
    held_ms: int,
    hold_hours: Decimal | int,
    fee_rate_out: Decimal,
    min_net_edge_bps: Decimal,
) -> str | None:
    """Why a held position should be closed now, or ``None`` to keep it.

    :data:`FLIPPED` when the prediction no longer pays the position (zero included),
    :data:`BELOW_EXIT_EDGE` when it pays less than ``exit_edge_bps`` per hour, :data:`HOLD_OVER`
    when ``hold_hours`` have passed and another hold, with only the exit fee left to pay, would
    not clear ``min_net_edge_bps``. Flat, or no prediction: ``None`` (nothing to decide on).
    """
    if position_qty == 0 or rel_rate_prediction is None:
        return None
    received = received_rate(position_qty, rel_rate_prediction)
    if received <= 0:
        return FLIPPED
    if received * BPS < exit_edge_bps:
        return BELOW_EXIT_EDGE
    hold_ms = Decimal(hold_hours) * FUNDING_INTERVAL_MS
    if held_ms >= hold_ms:
        again = carry_edge(rel_rate_prediction, hold_hours, ZERO, fee_rate_out)
        if again * BPS < min_net_edge_bps:
            return HOLD_OVER
    return None


def exit_is_due(now_ms: int, next_funding_ms: int, exit_lead_ms: int) -> bool:
    """True once ``now_ms`` is within ``exit_lead_ms`` of the next funding time: a passive exit
    still unfinished must then take liquidity."""
    return now_ms >= next_funding_ms - exit_lead_ms


def passive_price(side: Side, best_bid: Decimal | None, best_ask: Decimal | None) -> Decimal | None:
    """Where a post-only order of ``side`` joins the book: the best bid for a buy, the best ask
    for a sell (never crossing); ``None`` when that side of the book is empty."""
    return best_bid if side is Side.BUY else best_ask


def backoff_ms(base_s: float, max_s: float, refusals: int) -> int:
    """Pause after the ``refusals``-th consecutive refusal (1 = first): doubling, capped."""
    return int(min(base_s * 2 ** max(refusals - 1, 0), max_s) * 1000)


# ------------------------------------------------------------------------------ the strategy


class FundingCarry(Strategy):
    """Holds the funding-receiving side of a perpetual while the predicted funding pays for the
    round trip (see the module docstring for the logic and parameters)."""

    def __init__(
        self,
        *,
        symbol: str = "PF_XBTUSD",
        qty: Decimal | int | str = Decimal("0.01"),
        hold_hours: Decimal | int | str = Decimal("8"),
        min_net_edge_bps: Decimal | int | str = Decimal("2"),
        exit_edge_bps: Decimal | int | str = Decimal("0.1"),
        use_post_only: bool = True,
        exit_lead_s: int = 120,
        timer_s: float = 10.0,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
        **params: Any,
    ) -> None:
        super().__init__(
            symbol=symbol,
            qty=qty,
            hold_hours=hold_hours,
            min_net_edge_bps=min_net_edge_bps,
            exit_edge_bps=exit_edge_bps,
            use_post_only=use_post_only,
            exit_lead_s=exit_lead_s,
            timer_s=timer_s,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            **params,
        )
        self.symbol = normalize_symbol(symbol)
        # per instance, from the params (the base class declares class-level defaults)
        self.symbols = (self.symbol,)  # type: ignore[misc]
        self.qty = to_decimal(qty, "qty")
        require_positive(self.qty, "qty")
        self.hold_hours = to_decimal(hold_hours, "hold_hours")
        require_positive(self.hold_hours, "hold_hours")
        self.min_net_edge_bps = to_decimal(min_net_edge_bps, "min_net_edge_bps")
        self.exit_edge_bps = to_decimal(exit_edge_bps, "exit_edge_bps")
        self.use_post_only = bool(use_post_only)
        self.exit_lead_ms = int(exit_lead_s) * 1000
        self.timer_s = float(timer_s)  # type: ignore[misc]
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.ready = False
        self.halted = False
        self.entered_ms: int | None = None
        self.exiting = ""  # the exit reason once an exit started, until flat
        self._refusals = 0
        self._backoff_until_ms = 0
        self._busy = False  # re-entrancy guard: intents may call our hooks synchronously

    # --------------------------------------------------------------------------- hooks

    def on_start(self) -> None:
        """Size to the lot step, adopt an existing position, and evaluate."""
        inst = self.ctx.instrument(self.symbol)
        if inst.qty_step:
            self.qty = (self.qty / inst.qty_step).to_integral_value(ROUND_FLOOR) * inst.qty_step
        if self.qty < inst.min_qty or self.qty <= 0:
            reason = f"qty {self.qty} is below the minimum {inst.min_qty} of {self.symbol}"
            self.ctx.log.error("not trading: %s; raise the qty parameter", reason)
            self.ctx.alert(f"{self.name}: not trading: {reason}", severity="warning")
            return
        self.ready = True
        if self.ctx.position(self.symbol).qty != 0:
            self.entered_ms = self.ctx.now_ms
            self.ctx.log.info("adopting the open %s position", self.symbol)
        self.evaluate()

    def on_ticker(self, ticker: TickerUpdate) -> None:
        """A new funding prediction: enter, hold or exit."""
        if ticker.symbol == self.symbol:
            self.evaluate()

    def on_book(self, book: OrderBook) -> None:
        """Keep passive orders at the best price."""
        if book.symbol == self.symbol and self.ctx.open_orders(self.symbol):
            self.evaluate()

    def on_fill(self, fill: FillRecord) -> None:
        """Start the hold clock on the first fill; then re-evaluate."""
        if fill.symbol != self.symbol:
            return
        self.ctx.log.info("filled %s %s @ %s", fill.side, fill.qty, fill.price)
        self._refusals = 0
        if self.entered_ms is None:
            self.entered_ms = fill.ts_ms
        self.evaluate()

    def on_order(self, update: OrderUpdated) -> None:
        """Refusals back off; settled orders trigger a re-evaluation."""
        order = update.order
        if order.symbol != self.symbol:
            return
        if order.state is OrderState.REJECTED or update.event in REFUSED_AMENDS:
            self.ctx.log.warning(
                "order %s refused (%s): %s", order.cli_ord_id, update.event, order.reason
            )
            self._back_off()
        elif order.state is OrderState.OPEN or order.state.is_terminal:
            self.evaluate()

    def on_denied(self, denied: OrderDenied) -> None:
        """Log the refusal and pause (doubling pauses while refusals continue)."""
        self.ctx.log.warning("%s denied by %s: %s", denied.action, denied.rule, denied.reason)
        self._back_off()

    def on_funding(self, payment: FundingPaid) -> None:
        """Log what the carry earned (negative ``amount`` = received)."""
        verb = "received" if payment.amount < 0 else "paid"
        self.ctx.log.info("funding %s: %s %s", verb, abs(payment.amount), payment.symbol)

    def on_state(self, change: TradingStateChanged) -> None:
        """Cancel working orders when the state forbids orders; evaluate again when it allows."""
        if change.symbol != self.symbol:
            return
        if change.state in TRADING_STATES:
            self.evaluate()
        else:
            self.ctx.log.warning("%s is %s: cancelling orders", self.symbol, change.state.value)
            self.ctx.cancel_all(self.symbol)

    def on_halt(self, halted: Halted) -> None:
        """No new orders for the rest of the run: cancel entries, report an open position."""
        if halted.strategy not in (None, self.ctx.strategy):
            return
        self.halted = True
        for order in self._entries(self._live()):
            self.ctx.cancel(order.cli_ord_id)
        position = self.ctx.position(self.symbol).qty
        if position != 0:
            self.ctx.alert(
                f"{self.name} halted ({halted.reason}) holding {position} {self.symbol}: "
                "close it by hand",
                severity="critical",
            )

    def on_timer(self, now_ms: int) -> None:
        """Re-evaluate (exit deadlines pass even when no ticker arrives)."""
        self.evaluate()

    def on_stop(self) -> None:
        """Say what is left open: the carry position is not closed on stop."""
        position = self.ctx.position(self.symbol).qty
        if position != 0:
            self.ctx.log.warning("stopping with %s %s open", position, self.symbol)

    # --------------------------------------------------------------------------- decisions

    def fee_rates(self) -> tuple[Decimal, Decimal]:
        """(entry, exit) fee rates of the current tier (entry tier without a 30-day volume)."""
        volume = getattr(self.ctx, "volume_30d_usd", ZERO)
        return round_trip_fees(self.ctx.fees.tier_for(volume), use_post_only=self.use_post_only)

    def evaluate(self) -> None:
        """Enter, keep working, or exit, from the latest prediction, position and orders."""
        if self._busy or not self.ready or self.halted:
            return
        state = self.ctx.trading_state(self.symbol)
        if state not in TRADING_STATES or self.ctx.now_ms < self._backoff_until_ms:
            return
        ticker = self.ctx.ticker(self.symbol)
        rate = None if ticker is None else ticker.relative_funding_rate_prediction
        position = self.ctx.position(self.symbol).qty
        fee_in, fee_out = self.fee_rates()
        side = entry_side(
            rate,
            hold_hours=self.hold_hours,
            fee_rate_in=fee_in,
            fee_rate_out=fee_out,
            min_net_edge_bps=self.min_net_edge_bps,
        )
        orders = self._live()
        self._busy = True
        try:
            if position == 0:
                self.entered_ms, self.exiting = None, ""
                for order in orders:
                    if order.intent.reduce_only:  # nothing left to reduce
                        self.ctx.cancel(order.cli_ord_id)
                self._work_entry(side, self._entries(orders), state, may_submit=True)
                return
            if self.entered_ms is None:
                self.entered_ms = self.ctx.now_ms
            reason = self.exiting or exit_reason(
                position,
                rate,
                exit_edge_bps=self.exit_edge_bps,
                held_ms=self.ctx.now_ms - self.entered_ms,
                hold_hours=self.hold_hours,
                fee_rate_out=fee_out,
                min_net_edge_bps=self.min_net_edge_bps,
            )
            held_side = Side.BUY if position > 0 else Side.SELL
            if reason is None:  # holding: a partly filled entry keeps working while it pays
                keep = side if side is held_side else None
                self._work_entry(keep, self._entries(orders), state, may_submit=False)
                return
            if not self.exiting:
                self.exiting = reason
                self.ctx.log.info("exiting %s %s: %s", position, self.symbol, reason)
            self._work_entry(None, self._entries(orders), state, may_submit=False)
            exits = [o for o in orders if o.intent.reduce_only]
            self._work_exit(position, exits, state, ticker)
        finally:
            self._busy = False

    def _work_entry(
        self,
        side: Side | None,
        entries: Sequence[TrackedOrder],
        state: TradingState,
        *,
        may_submit: bool,
    ) -> None:
        """Cancel entries not on ``side``; keep one on it at the best price, or send one."""
        same = [o for o in entries if o.intent.side is side]
        for order in entries:
            if order is not (same[0] if same else None):
                self.ctx.cancel(order.cli_ord_id)
        if side is None:
            return
        if same:
            self._reprice(same[0], side)
        elif may_submit and self.use_post_only:
            price = self._passive(side)
            if price is not None:
                self.ctx.submit(
                    symbol=self.symbol, side=side, qty=self.qty, limit_price=price, post_only=True
                )
        elif may_submit and state is TradingState.OPEN:
            self.ctx.submit(symbol=self.symbol, side=side, qty=self.qty, order_type=OrderType.MKT)

    def _work_exit(
        self,
        position: Decimal,
        exits: Sequence[TrackedOrder],
        state: TradingState,
        ticker: TickerUpdate | None,
    ) -> None:
        """Close ``position`` reduce-only: passively until the funding deadline, then taking."""
        side = Side.SELL if position > 0 else Side.BUY
        now = self.ctx.now_ms
        next_funding = ticker.next_funding_ms if ticker and ticker.next_funding_ms else None
        deadline = next_funding or next_funding_time_ms(now)
        taking = not self.use_post_only or exit_is_due(now, deadline, self.exit_lead_ms)
        passive = [o for o in exits if o.intent.post_only]
        market = [o for o in exits if not o.intent.post_only]
        if taking and state is TradingState.OPEN:
            for order in passive:
                self.ctx.cancel(order.cli_ord_id)
            if not market:
                self.ctx.submit(
                    symbol=self.symbol,
                    side=side,
                    qty=abs(position),
                    order_type=OrderType.MKT,
                    reduce_only=True,
                )
            return
        if market:
            return  # a market exit is on its way
        for extra in passive[1:]:
            self.ctx.cancel(extra.cli_ord_id)
        if passive:
            self._reprice(passive[0], side)
            return
        price = self._passive(side)
        if price is not None:
            self.ctx.submit(
                symbol=self.symbol,
                side=side,
                qty=abs(position),
                limit_price=price,
                post_only=True,
                reduce_only=True,
            )

    def _reprice(self, order: TrackedOrder, side: Side) -> None:
        """Move a resting post-only order to the best price of its side (when settled)."""
        if not order.intent.post_only or order.state not in AMENDABLE or order.pending_amend:
            return
        price = self._passive(side)
        if price is not None and price != order.intent.limit_price:
            self.ctx.amend(order.cli_ord_id, limit_price=price)

    def _passive(self, side: Side) -> Decimal | None:
        book = self.ctx.book(self.symbol)
        if book is None:
            return None
        bid, ask = book.best_bid(), book.best_ask()
        return passive_price(side, bid[0] if bid else None, ask[0] if ask else None)

    def _live(self) -> list[TrackedOrder]:
        return [
            o
            for o in self.ctx.open_orders(self.symbol)
            if not (o.cancel_wanted or o.state is OrderState.PENDING_CANCEL)
        ]

    @staticmethod
    def _entries(orders: Sequence[TrackedOrder]) -> list[TrackedOrder]:
        return [o for o in orders if not o.intent.reduce_only]

    def _back_off(self) -> None:
        self._refusals += 1
        pause = backoff_ms(self.backoff_s, self.max_backoff_s, self._refusals)
        self._backoff_until_ms = self.ctx.now_ms + pause


__all__ = [
    "BELOW_EXIT_EDGE",
    "FLIPPED",
    "HOLD_OVER",
    "FundingCarry",
    "backoff_ms",
    "carry_edge",
    "entry_side",
    "exit_is_due",
    "exit_reason",
    "passive_price",
    "received_rate",
    "round_trip_fees",
]
