"""A post-only market maker: one bid and one ask around the mid, skewed against inventory.

Logic
-----
1. **Fair price.** The mid of the best bid and ask *other than our own quotes* (a level whose
   whole size is ours is skipped, else a lone maker would chase its own quotes), shifted against
   inventory: ``fair = mid * (1 - skew_bps_per_unit * position / 10_000)``. Long inventory moves
   both quotes down (the ask gets hit sooner, the bid later); short inventory moves them up.
2. **Fee-aware spread.** Each quote sits at least ``mid * (maker_fee + min_edge_bps / 10_000)``
   from the fair price, where ``maker_fee`` is the maker rate of the current tier
   (``ctx.fees.tier_for(ctx.volume_30d_usd).maker``; a maker rebate is not used to tighten).
   So a buy at our bid and a sell at our ask earn at least both maker fees plus
   ``2 * min_edge_bps``.
3. **Ticks and the book.** The bid is rounded *down* and the ask *up* to the tick, then kept
   strictly inside the other side of the book (bid < best ask, ask > best bid): a post-only
   order that would cross is refused by Kraken, so there is no point sending it.
4. **Inventory limit.** The bid is only quoted while ``position + qty <= max_inventory`` and
   the ask while ``position - qty >= -max_inventory``: the side that would grow the position
   past the limit goes away, the side that reduces it stays.
5. **Rate-limit budget.** Quotes are *amended* in place (price only) rather than cancelled and
   replaced, and only when the fair price moved more than ``requote_bps`` since the last quote
   (or a quote is missing, a fill changed the inventory, or an order settled). An amend that
   would not change the price is never sent. When the fair price rises the ask is moved before
   the bid (and the other way round when it falls), so our own quotes never cross each other.
6. **Gates.** Quoting needs the trading state to be ``open`` or ``post_only``; any other state
   cancels both quotes and quoting resumes when the state allows it again. A halt
   (``on_halt``) cancels and stops quoting for the rest of the run (halts are lifted by hand).
   A denied intent or a refused order backs off: ``backoff_s``, doubling per consecutive
   refusal up to ``max_backoff_s``, reset when an order is acknowledged.

A partially filled quote keeps resting with what is left; a new full-size quote follows once it
is gone. Prices, sizes and rates are :class:`~decimal.Decimal` throughout.

Run
---
::

    kf run examples/market_maker.py --env sim --duration 120

Parameters (``[strategy.params]`` in the bot config, or constructor keywords)
---------------------------------------------------------------------------
``symbol`` = ``"PF_XBTUSD"``
    The contract to quote.
``qty`` = ``Decimal("0.01")``
    Size of each quote, in contracts (rounded down to the instrument's lot step).
``min_edge_bps`` = ``Decimal("1")``
    Edge per side over the maker fee, in basis points of the mid.
``skew_bps_per_unit`` = ``Decimal("100")``
    Shift of both quotes per contract of inventory, in bps of the mid (against inventory).
``max_inventory`` = ``Decimal("0.05")``
    Largest absolute position a fill may produce; beyond it the growing side is not quoted.
``requote_bps`` = ``Decimal("0.5")``
    Move the quotes only when the fair price moved more than this since the last quote.
``timer_s`` = ``5.0``
    Seconds between housekeeping passes (re-quote after a back-off, restore missing quotes).
``backoff_s`` = ``2.0`` / ``max_backoff_s`` = ``60.0``
    First and longest pause after a refused intent or order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from krakenfutures.core.decimals import require_non_negative, require_positive, to_decimal
from krakenfutures.core.orders import EventKind, OrderState
from krakenfutures.core.types import Side, TradingState, normalize_symbol
from krakenfutures.risk.rules import Denied
from krakenfutures.strategy import Strategy

if TYPE_CHECKING:
    from krakenfutures.core.book import OrderBook
    from krakenfutures.core.events import Halted, OrderDenied, TradingStateChanged
    from krakenfutures.oms.tracker import OrderUpdated, TrackedOrder
    from krakenfutures.oms.venue import FillRecord

ZERO = Decimal(0)
BPS = Decimal(10_000)
QUOTING_STATES = frozenset({TradingState.OPEN, TradingState.POST_ONLY})
"""Trading states in which post-only quotes are accepted (reference: risk.rules.GATE)."""
AMENDABLE = frozenset({OrderState.OPEN, OrderState.PARTIALLY_FILLED})
"""Order states in which a price amend can be sent (pending ones settle first)."""
REFUSED_AMENDS = frozenset({EventKind.AMEND_REFUSED, EventKind.AMEND_REFUSED_PF})
BOOK_LEVELS = 5
"""How deep to look for a level that is not only our own quote."""


# ------------------------------------------------------------------------------ pure helpers


class Quotes(NamedTuple):
    """Target quote prices; ``None`` when that side cannot be quoted (price not above zero)."""

    bid: Decimal | None
    ask: Decimal | None


def round_to_tick(price: Decimal, tick_size: Decimal, *, up: bool) -> Decimal:
    """``price`` rounded to a multiple of ``tick_size``: up (ceiling) or down (floor)."""
    require_positive(tick_size, "tick size")
    units = (price / tick_size).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return units * tick_size


def min_half_spread(maker_fee_rate: Decimal, min_edge_bps: Decimal) -> Decimal:
    """The least distance of a quote from the fair price, as a fraction of the mid: the maker
    fee (a rebate counts as zero) plus ``min_edge_bps``."""
    require_non_negative(min_edge_bps, "min_edge_bps")
    return max(maker_fee_rate, ZERO) + min_edge_bps / BPS


def skewed_fair(mid: Decimal, inventory: Decimal, skew_bps_per_unit: Decimal) -> Decimal:
    """The mid shifted against ``inventory`` (signed, long > 0): lower when long, higher when
    short, by ``skew_bps_per_unit`` bps of the mid per contract."""
    return mid - mid * skew_bps_per_unit * inventory / BPS


def quote_prices(
    *,
    mid: Decimal,
    inventory: Decimal,
    maker_fee_rate: Decimal,
    min_edge_bps: Decimal,
    skew_bps_per_unit: Decimal,
    tick_size: Decimal,
    best_bid: Decimal | None = None,
    best_ask: Decimal | None = None,
) -> Quotes:
    """Bid and ask around the skewed fair price.

    Guarantees: both on tick; ``bid < ask``; ``ask - bid >= 2 * mid * min_half_spread`` (ticks
    and the book only widen); ``bid < best_ask`` and ``ask > best_bid`` when those are given;
    a larger ``inventory`` never raises either quote.
    """
    require_positive(mid, "mid price")
    half = mid * min_half_spread(maker_fee_rate, min_edge_bps)
    fair = skewed_fair(mid, inventory, skew_bps_per_unit)
    bid = round_to_tick(fair - half, tick_size, up=False)
    ask = round_to_tick(fair + half, tick_size, up=True)
    if ask <= bid:  # only with a zero half-spread on an exact tick
        ask = bid + tick_size
    if best_ask is not None:  # strictly below the best ask, even an off-tick one
        bid = min(bid, round_to_tick(best_ask, tick_size, up=True) - tick_size)
    if best_bid is not None:
        ask = max(ask, round_to_tick(best_bid, tick_size, up=False) + tick_size)
    return Quotes(bid if bid > 0 else None, ask if ask > 0 else None)


def quote_sides(position_qty: Decimal, qty: Decimal, max_inventory: Decimal) -> tuple[bool, bool]:
    """Whether to quote (bid, ask): a side is dropped when its fill would take the position
    beyond ``max_inventory`` in absolute value."""
    return position_qty + qty <= max_inventory, position_qty - qty >= -max_inventory


def moved_bps(old: Decimal, new: Decimal) -> Decimal:
    """How far ``new`` is from ``old``, in basis points of ``old``."""
    require_positive(old, "reference price")
    return abs(new - old) / old * BPS


def best_excluding_own(
    levels: Iterable[tuple[Decimal, Decimal]], own_qty: Mapping[Decimal, Decimal]
) -> Decimal | None:
    """The first price in ``levels`` (best first) holding more than our own resting size there,
    or ``None`` if every level shown is ours."""
    for price, qty in levels:
        if qty > own_qty.get(price, ZERO):
            return price
    return None


def backoff_ms(base_s: float, max_s: float, refusals: int) -> int:
    """Pause after the ``refusals``-th consecutive refusal (1 = first): doubling, capped."""
    seconds = min(base_s * 2 ** max(refusals - 1, 0), max_s)
    return int(seconds * 1000)


def own_qty_by_price(orders: Sequence[TrackedOrder], side: Side) -> dict[Decimal, Decimal]:
    """Remaining size of our acknowledged (so possibly displayed) orders on ``side``, by limit
    price."""
    out: dict[Decimal, Decimal] = {}
    for order in orders:
        price = order.intent.limit_price
        if order.intent.side is side and price is not None and order.acknowledged:
            out[price] = out.get(price, ZERO) + order.remaining_qty
    return out


# ------------------------------------------------------------------------------ the strategy


class MarketMaker(Strategy):
    """Post-only two-sided quoting with inventory skew and a fee-aware spread (see the module
    docstring for the logic and parameters)."""

    def __init__(
        self,
        *,
        symbol: str = "PF_XBTUSD",
        qty: Decimal | int | str = Decimal("0.01"),
        min_edge_bps: Decimal | int | str = Decimal("1"),
        skew_bps_per_unit: Decimal | int | str = Decimal("100"),
        max_inventory: Decimal | int | str = Decimal("0.05"),
        requote_bps: Decimal | int | str = Decimal("0.5"),
        timer_s: float = 5.0,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
        **params: Any,
    ) -> None:
        super().__init__(
            symbol=symbol,
            qty=qty,
            min_edge_bps=min_edge_bps,
            skew_bps_per_unit=skew_bps_per_unit,
            max_inventory=max_inventory,
            requote_bps=requote_bps,
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
        self.min_edge_bps = to_decimal(min_edge_bps, "min_edge_bps")
        require_non_negative(self.min_edge_bps, "min_edge_bps")
        self.skew_bps_per_unit = to_decimal(skew_bps_per_unit, "skew_bps_per_unit")
        require_non_negative(self.skew_bps_per_unit, "skew_bps_per_unit")
        self.max_inventory = to_decimal(max_inventory, "max_inventory")
        require_non_negative(self.max_inventory, "max_inventory")
        self.requote_bps = to_decimal(requote_bps, "requote_bps")
        require_non_negative(self.requote_bps, "requote_bps")
        self.timer_s = float(timer_s)  # type: ignore[misc]
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.tick_size: Decimal | None = None
        self.halted = False
        self.disabled = ""  # why quoting is off for good (bad size), empty while fine
        self._last_fair: Decimal | None = None
        self._refusals = 0
        self._backoff_until_ms = 0
        self._busy = False  # re-entrancy guard: intents may call our hooks synchronously

    # --------------------------------------------------------------------------- hooks

    def on_start(self) -> None:
        """Learn tick and lot rules, size the quotes to the lot step, and quote."""
        inst = self.ctx.instrument(self.symbol)
        self.tick_size = inst.tick_size
        if inst.qty_step:
            self.qty = round_to_tick(self.qty, inst.qty_step, up=False)
        if self.qty < inst.min_qty or self.qty <= 0:
            self.disabled = (
                f"qty {self.qty} is below the minimum {inst.min_qty} of {self.symbol}; "
                "raise the qty parameter"
            )
            self.ctx.log.error("not quoting: %s", self.disabled)
            self.ctx.alert(f"{self.name}: not quoting: {self.disabled}", severity="warning")
            return
        self.requote(force=True)

    def on_book(self, book: OrderBook) -> None:
        """Move the quotes if the fair price moved more than ``requote_bps``."""
        if book.symbol == self.symbol:
            self.requote()

    def on_fill(self, fill: FillRecord) -> None:
        """Inventory changed: quote again around the new fair price."""
        if fill.symbol == self.symbol:
            self.ctx.log.info("filled %s %s @ %s", fill.side, fill.qty, fill.price)
            self._refusals = 0
            self.requote(force=True)

    def on_order(self, update: OrderUpdated) -> None:
        """Acks reset the back-off; refusals extend it; settled orders trigger a re-quote."""
        order = update.order
        if order.symbol != self.symbol:
            return
        if order.state is OrderState.REJECTED or update.event in REFUSED_AMENDS:
            # e.g. a post-only price that would have crossed by the time it arrived
            self.ctx.log.warning(
                "quote %s refused (%s): %s", order.cli_ord_id, update.event, order.reason
            )
            self._back_off()
            return
        if order.state is OrderState.OPEN and update.previous is OrderState.PENDING_NEW:
            self._refusals = 0
        if order.state in AMENDABLE or order.state.is_terminal:
            self.requote(force=True)

    def on_denied(self, denied: OrderDenied) -> None:
        """Log the refusal and pause quoting (doubling pauses while refusals continue)."""
        self.ctx.log.warning("%s denied by %s: %s", denied.action, denied.rule, denied.reason)
        self._back_off()

    def on_state(self, change: TradingStateChanged) -> None:
        """Pull both quotes when the state forbids post-only orders; quote again when not."""
        if change.symbol != self.symbol:
            return
        if change.state in QUOTING_STATES:
            self.ctx.log.info("%s is %s: quoting", self.symbol, change.state.value)
            self.requote(force=True)
        else:
            self.ctx.log.warning("%s is %s: pulling quotes", self.symbol, change.state.value)
            self._last_fair = None
            self.ctx.cancel_all(self.symbol)

    def on_halt(self, halted: Halted) -> None:
        """Stop quoting for the rest of the run and pull the quotes (cancels still go out)."""
        if halted.strategy not in (None, self.ctx.strategy):
            return
        self.halted = True
        self.ctx.log.error("halted (%s): %s; quotes pulled", halted.kind, halted.reason)
        self.ctx.cancel_all(self.symbol)

    def on_timer(self, now_ms: int) -> None:
        """Housekeeping: restore missing quotes once a back-off is over."""
        self.requote()

    def on_stop(self) -> None:
        """Pull the quotes (the runtime cancels too; doing it here keeps the intent explicit)."""
        self.ctx.cancel_all(self.symbol)

    # --------------------------------------------------------------------------- quoting

    def maker_fee_rate(self) -> Decimal:
        """The maker rate of the current fee tier (the entry tier when the context does not
        report a 30-day volume: the highest rate, the safe side)."""
        volume = getattr(self.ctx, "volume_30d_usd", ZERO)
        return self.ctx.fees.tier_for(volume).maker

    def can_quote(self) -> bool:
        """True when nothing (halt, trading state, bad size, back-off) stops quoting now."""
        return (
            not self.halted
            and not self.disabled
            and self.tick_size is not None
            and self.ctx.trading_state(self.symbol) in QUOTING_STATES
            and self.ctx.now_ms >= self._backoff_until_ms
        )

    def requote(self, *, force: bool = False) -> None:
        """Bring the resting quotes to their targets when something warrants it: ``force``,
        a fair-price move over ``requote_bps``, a missing or unwanted quote."""
        if self._busy or not self.can_quote():
            return
        assert self.tick_size is not None  # can_quote checked it
        book = self.ctx.book(self.symbol)
        if book is None:
            return
        orders = [o for o in self.ctx.open_orders(self.symbol) if not _leaving(o)]
        bids, asks = book.depth(BOOK_LEVELS)
        best_bid = best_excluding_own(bids, own_qty_by_price(orders, Side.BUY))
        best_ask = best_excluding_own(asks, own_qty_by_price(orders, Side.SELL))
        if best_bid is None or best_ask is None or best_bid >= best_ask:
            return  # no two-sided outside market to quote around
        mid = (best_bid + best_ask) / 2
        inventory = self.ctx.position(self.symbol).qty
        fair = skewed_fair(mid, inventory, self.skew_bps_per_unit)
        quotes = quote_prices(
            mid=mid,
            inventory=inventory,
            maker_fee_rate=self.maker_fee_rate(),
            min_edge_bps=self.min_edge_bps,
            skew_bps_per_unit=self.skew_bps_per_unit,
            tick_size=self.tick_size,
            best_bid=best_bid,
            best_ask=best_ask,
        )
        want_bid, want_ask = quote_sides(inventory, self.qty, self.max_inventory)
        targets = {
            Side.BUY: quotes.bid if want_bid else None,
            Side.SELL: quotes.ask if want_ask else None,
        }
        have = {side: [o for o in orders if o.intent.side is side] for side in Side}
        missing = any(targets[side] is not None and not have[side] for side in Side)
        unwanted = any(targets[side] is None and have[side] for side in Side)
        stale = self._last_fair is None or moved_bps(self._last_fair, fair) > self.requote_bps
        if not (force or stale or missing or unwanted):
            return
        # moving up: the ask goes first, moving down: the bid, so our quotes never cross
        rising = self._last_fair is None or fair >= self._last_fair
        sides = (Side.SELL, Side.BUY) if rising else (Side.BUY, Side.SELL)
        self._busy = True
        try:
            done = self._sync(targets, have, sides)
        finally:
            self._busy = False
        self._last_fair = fair if done else None

    def _sync(
        self,
        targets: Mapping[Side, Decimal | None],
        have: Mapping[Side, list[TrackedOrder]],
        order_of_sides: Iterable[Side],
    ) -> bool:
        """Submit, amend or cancel so each side rests at its target; False if refused."""
        for side in order_of_sides:
            target, mine = targets[side], have[side]
            keep = next((o for o in mine if o.state in AMENDABLE), mine[0] if mine else None)
            for extra in mine:
                if extra is not keep or target is None:
                    self.ctx.cancel(extra.cli_ord_id)
            if target is None:
                continue
            if keep is None:
                result = self.ctx.submit(
                    symbol=self.symbol,
                    side=side,
                    qty=self.qty,
                    limit_price=target,
                    post_only=True,
                )
                if isinstance(result, Denied):
                    return False
                continue
            # a pending order is left alone: its settling (on_order) re-quotes
            movable = keep.state in AMENDABLE and keep.pending_amend is None
            if movable and keep.intent.limit_price != target:
                refused = self.ctx.amend(keep.cli_ord_id, limit_price=target)
                if isinstance(refused, Denied):
                    return False
        return True

    def _back_off(self) -> None:
        self._refusals += 1
        pause = backoff_ms(self.backoff_s, self.max_backoff_s, self._refusals)
        self._backoff_until_ms = self.ctx.now_ms + pause
        self._last_fair = None


def _leaving(order: TrackedOrder) -> bool:
    """Already being cancelled: not a quote any more."""
    return order.cancel_wanted or order.state is OrderState.PENDING_CANCEL


__all__ = [
    "MarketMaker",
    "Quotes",
    "backoff_ms",
    "best_excluding_own",
    "min_half_spread",
    "moved_bps",
    "own_qty_by_price",
    "quote_prices",
    "quote_sides",
    "round_to_tick",
    "skewed_fair",
]
