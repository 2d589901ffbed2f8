"""Settlement: the clock, fills, fees, funding, triggers and liquidation.

Time only moves through ``_begin(now_ms)``: every hour boundary and dead man's switch expiry
between the engine clock and ``now_ms`` is processed in time order, then the mark price is
sampled. After each mutating call ``_settle(now_ms)`` fires triggers (repeatedly: a triggered
order can move the last price), checks reduce-only orders against the positions and
liquidates accounts whose margin equity fell below maintenance margin, until nothing changes.

Every fill books the fee (by the account's 30-day volume tier), the realised PnL and the
position change into the margin wallet (flex USD for linear contracts, the coin of the
inverse margin account otherwise), writes the two account-log legs (cash and position) and a
history ``Execution``, and settles the position's accrued funding first.
"""

from __future__ import annotations

from decimal import Decimal

from krakenfutures.core.money import (
    absolute_from_relative,
    apply_fill,
    fee_for_fill,
    next_funding_time_ms,
    notional_usd,
)
from krakenfutures.core.types import Side, TriggerSignal
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.accounts import FLEX
from krakenfutures.sim.core import EngineCore
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.marketdata import predicted_relative_rate, record_candle, update_mark
from krakenfutures.sim.matching import Fill as MatchFill
from krakenfutures.sim.state import (
    AccountData,
    MarketState,
    OrderState,
    PositionState,
    trim,
)

ZERO = Decimal(0)


class Settlement(EngineCore):
    """Clock, fills, funding, triggers and liquidation on top of :class:`EngineCore`."""

    # ------------------------------------------------------------------------------- clock

    def _begin(self, now_ms: int) -> int:
        """Bring the engine to ``now_ms`` (never backwards) and settle; returns the time used."""
        if type(now_ms) is not int and (not isinstance(now_ms, int) or isinstance(now_ms, bool)):
            raise ValidationError(
                f"now_ms must be an integer of epoch milliseconds, got {now_ms!r}"
            )
        st = self.state
        now_ms = max(now_ms, st.now_ms)
        accounts = st.accounts.values()
        while True:
            boundary = next_funding_time_ms(st.funding_cursor_ms)
            dms = None  # the earliest armed dead man's switch
            for a in accounts:
                if a.dms_trigger_ms and (dms is None or a.dms_trigger_ms < dms):
                    dms = a.dms_trigger_ms
            t = min(boundary, dms) if dms is not None else boundary
            if t > now_ms:
                break
            armed = [a for a in accounts if a.dms_trigger_ms]
            st.now_ms = max(st.now_ms, t)
            if dms is not None and dms <= boundary:
                for acct in armed:
                    if acct.dms_trigger_ms == t:
                        acct.dms_trigger_ms = 0
                        self._cancel_all(acct, None, t, d.DEAD_MAN_SWITCH)
            else:
                self._funding_boundary(boundary)
                st.funding_cursor_ms = boundary
            self._settle(st.now_ms)
        st.now_ms = now_ms
        update_ms = self.config.mark_update_ms
        for symbol, market in st.markets.items():
            # update_mark returns at once for an unpinned mark sampled less than
            # mark_update_ms ago: skip the call (this runs on every engine call)
            if not market.mark_pinned and now_ms - market.mark_ts_ms < update_ms:
                continue
            if update_mark(market, self.specs[symbol], self.books[symbol], self.config, now_ms):
                self._moved.add(symbol)
        self._settle(now_ms)
        return now_ms

    def _settle(self, now_ms: int) -> None:
        """Fire triggers, enforce reduce-only, liquidate, until nothing changes."""
        if not self._touched and not self._moved:
            for market in self.state.markets.values():
                if market.triggers:
                    break
            else:  # nothing can fire, nothing to check: the loop below would do nothing
                return
        for _ in range(64):
            fired = self._fire_triggers(now_ms)
            touched, moved = self._touched, self._moved
            self._touched, self._moved = set(), set()
            candidates = set(touched)
            for symbol in moved:
                candidates |= self.holders[symbol]
            for name in sorted(candidates):
                self._check_account(self.state.accounts[name], now_ms)
            if not fired and not self._touched and not self._moved:
                return

    # ------------------------------------------------------------------------------- fills

    def _process_fills(
        self,
        order: OrderState,
        fills: list[MatchFill],
        now_ms: int,
        fill_type: str,
        prior_edit: d.OrderView | None = None,
        reduced_qty: Decimal | None = None,
    ) -> list[d.Executed]:
        """Book the matches of taker ``order``: fills, positions, fees, trades, maker updates."""
        spec = self.specs[order.symbol]
        market = self.state.markets[order.symbol]
        taker_acct = self.state.accounts[order.account]
        executed: list[d.Executed] = []
        for maker_key, _owner, ticks, lots, maker_left in fills:
            maker = self.by_key[maker_key]
            price, qty = spec.ticks_to_price(ticks), spec.lots_to_qty(lots)
            exec_id = self._uuid()
            prior = order.view()
            maker.filled += qty
            maker.last_update_ts_ms = now_ms
            order.filled += qty
            order.last_update_ts_ms = now_ms
            maker_acct = self.state.accounts[maker.account]
            # Kraken's fill_id is the execution's id (the sendorder reply's executionId), so a
            # fill seen in a reply, the fills feed and /fills is one fill. A self-trade would
            # give one account two fills of one execution: the maker side then gets its own id.
            maker_fill_id = exec_id if maker_acct is not taker_acct else self._uuid()
            self._apply_fill(
                maker_acct, maker, qty, price, True, "maker", now_ms, exec_id, maker_fill_id
            )
            self._apply_fill(taker_acct, order, qty, price, False, fill_type, now_ms, exec_id)
            self._trade(market, order.side, qty, price, now_ms, exec_id, "fill")
            if maker_left == 0:
                self.by_key.pop(maker_key, None)
                maker.key = 0
                self._close(maker, "FULLY_EXECUTED", d.FULL_FILL, now_ms, None)
            else:
                self.ledger.track(maker, True)
                if self.listeners:
                    self._emit(d.OrderUpdated(maker_acct.name, maker.view(), d.PARTIAL_FILL, False))
            executed.append(
                d.Executed(
                    exec_id, price, qty, prior, prior_edit, reduced_qty if not executed else None
                )
            )
        return executed

    def _trade(
        self,
        market: MarketState,
        side: Side,
        qty: Decimal,
        price: Decimal,
        now_ms: int,
        uid: str,
        kind: str,
    ) -> None:
        market.trade_seq += 1
        trade = d.Trade(uid, market.symbol, side, qty, price, now_ms, kind, market.trade_seq)
        market.trades.append(trade)
        trim(market.trades, min(self.config.record_cap, 10_000))
        market.last_price, market.last_ts_ms, market.last_qty = price, now_ms, qty
        record_candle(market, "trade", now_ms, price, qty)
        self._moved.add(market.symbol)
        if self.listeners:
            self._emit(d.TradeExecuted(trade))

    def _wallet(self, acct: AccountData, spec: InstrumentSpec) -> tuple[dict[str, Decimal], str]:
        if spec.margin_account == FLEX:
            return acct.flex, "USD"
        return acct.margin.setdefault(spec.margin_account, {}), spec.base.lower()

    def _log_name(self, spec: InstrumentSpec) -> str:
        if spec.margin_account == FLEX:
            return FLEX
        return f"f-{spec.base.lower()}:{spec.quote.lower()}"

    def _log(self, acct: AccountData, now_ms: int, **fields: object) -> None:
        entry = d.AccountLogEntry(id=acct.next_log_id, ts_ms=now_ms, **fields)  # type: ignore[arg-type]
        acct.next_log_id += 1
        acct.log.append(entry)
        trim(acct.log, self.config.record_cap)
        if self.listeners:
            self._emit(d.AccountLogged(acct.name, entry))

    def _apply_fill(
        self,
        acct: AccountData,
        order: OrderState,
        qty: Decimal,
        price: Decimal,
        maker: bool,
        fill_type: str,
        now_ms: int,
        exec_id: str,
        fill_id: str | None = None,
    ) -> d.Fill:
        spec = self.specs[order.symbol]
        market = self.state.markets[order.symbol]
        pos = acct.positions.get(spec.symbol)
        if pos is not None:
            self._settle_funding(acct, pos, now_ms)
        old_qty = pos.qty if pos is not None else ZERO
        old_entry = pos.entry_price if pos is not None else ZERO
        fee = fee_for_fill(
            spec.kind,
            qty,
            price,
            maker=maker,
            schedule=self.config.fee_schedule,
            volume_30d_usd=self.ledger.volume_30d(acct, now_ms),
        )
        after = apply_fill(spec.kind, old_qty, old_entry, qty * order.side.sign, price)
        wallet, ccy = self._wallet(acct, spec)
        old_balance = wallet.get(ccy, ZERO)
        wallet[ccy] = old_balance + after.realized_pnl - fee
        if after.qty == 0:
            acct.positions.pop(spec.symbol, None)
            self.holders[spec.symbol].discard(acct.name)
        elif pos is None or (old_qty > 0) != (after.qty > 0):
            acct.positions[spec.symbol] = PositionState(
                spec.symbol, after.qty, after.entry_price, now_ms, now_ms, self._uuid()
            )
            self.holders[spec.symbol].add(acct.name)
        else:
            pos.qty, pos.entry_price, pos.fill_ts_ms = after.qty, after.entry_price, now_ms
        market.long_oi += max(after.qty, ZERO) - max(old_qty, ZERO)
        self.ledger.add_volume(acct, now_ms, notional_usd(spec.kind, qty, price))
        fill = d.Fill(
            fill_id or exec_id,
            order.order_id,
            order.cli_ord_id,
            spec.symbol,
            order.side,
            qty,
            price,
            now_ms,
            fill_type,
            fee,
            ccy,
            order.remaining,
            order.type,
        )
        acct.fills.append(fill)
        trim(acct.fills, self.config.record_cap)
        info = "futures liquidation" if fill_type == "liquidation" else "futures trade"
        booking, log_name = self._uuid(), self._log_name(spec)
        common = {
            "booking_uid": booking,
            "margin_account": log_name,
            "info": info,
            "trade_price": price,
            "mark_price": market.mark_price,
            "contract": spec.symbol,
            "execution": exec_id,
        }
        self._log(
            acct,
            now_ms,
            asset=ccy.lower(),
            old_balance=old_balance,
            new_balance=wallet[ccy],
            realized_pnl=after.realized_pnl,
            fee=fee,
            **common,
        )
        self._log(
            acct,
            now_ms,
            asset=spec.symbol.lower(),
            old_balance=old_qty,
            new_balance=after.qty,
            old_average_entry_price=old_entry,
            new_average_entry_price=after.entry_price,
            **common,
        )
        self._history(
            acct, "Execution", order.view(), now_ms, fill=fill, mark_price=market.mark_price
        )
        self._touched.add(acct.name)
        if self.listeners:
            self._emit(d.FillExecuted(acct.name, fill))
            self._emit(d.PositionChanged(acct.name, spec.symbol, now_ms))
        return fill

    # ----------------------------------------------------------------------------- funding

    def _settle_funding(self, acct: AccountData, pos: PositionState, now_ms: int) -> None:
        """Accrue a position's funding up to ``now_ms`` and realise it into the wallet."""
        pos.unrealized_funding += self.ledger.pending_funding(pos, now_ms)
        pos.accrued_ms = max(pos.accrued_ms, now_ms)
        amount = pos.unrealized_funding
        if amount == 0:
            return
        spec = self.specs[pos.symbol]
        market = self.state.markets[pos.symbol]
        wallet, ccy = self._wallet(acct, spec)
        old = wallet.get(ccy, ZERO)
        wallet[ccy] = old + amount
        pos.unrealized_funding = ZERO
        self._log(
            acct,
            now_ms,
            asset=ccy.lower(),
            info="funding rate change",
            booking_uid=self._uuid(),
            margin_account=self._log_name(spec),
            old_balance=old,
            new_balance=wallet[ccy],
            mark_price=market.mark_price,
            contract=spec.symbol,
            realized_funding=amount,
            funding_rate=absolute_from_relative(market.funding_rel, market.mark_price, spec.kind),
        )
        self._touched.add(acct.name)

    def _funding_boundary(self, t: int) -> None:
        """Hour boundary ``t``: settle every position, then set the next hour's rate."""
        for symbol, market in self.state.markets.items():
            spec = self.specs[symbol]
            if not spec.perpetual:
                continue
            for name in sorted(self.holders[symbol]):
                acct = self.state.accounts[name]
                self._settle_funding(acct, acct.positions[symbol], t)
            relative = predicted_relative_rate(market, spec) or ZERO
            market.funding_rel = relative
            record = d.FundingRecord(
                t, absolute_from_relative(relative, market.mark_price, spec.kind), relative
            )
            market.funding_history.append(record)
            trim(market.funding_history, self.config.record_cap)
            if self.listeners:
                self._emit(d.FundingSettled(symbol, t, record))

    # ---------------------------------------------------------------------------- triggers

    def _signal_price(self, market: MarketState, signal: TriggerSignal | None) -> Decimal | None:
        if signal is TriggerSignal.INDEX:
            return market.index_price
        if signal is TriggerSignal.LAST:
            return market.last_price
        return market.mark_price

    def _fire_triggers(self, now_ms: int) -> bool:
        fired = False
        for market in self.state.markets.values():
            for order_id in list(market.triggers):
                if order_id not in market.triggers:
                    continue
                order = self._find_trigger(order_id)
                price = self._signal_price(market, order.trigger_signal)
                assert order.stop_price is not None
                if price is None:
                    continue
                above = order.view().trigger_side == "trigger_above"
                if (price >= order.stop_price) if above else (price <= order.stop_price):
                    fired = True
                    self._activate(order, now_ms)
        return fired

    def _find_trigger(self, order_id: str) -> OrderState:
        for acct in self.state.accounts.values():
            order = acct.orders.get(order_id)
            if order is not None:
                return order
        raise KeyError(order_id)

    # ------------------------------------------------------------------------- liquidation

    def _check_account(self, acct: AccountData, now_ms: int) -> None:
        """Shrink/cancel reduce-only orders that no longer reduce; liquidate under-margined groups."""
        for order in list(self.reduce_only.get(acct.name, {}).values()):
            pos = acct.positions.get(order.symbol)
            pos_qty = pos.qty if pos is not None else ZERO
            if pos_qty == 0 or (pos_qty > 0) == (order.side is Side.BUY):
                self._close(
                    order, "CANCELLED", d.WOULD_NOT_REDUCE_POSITION, now_ms, "OrderCancelled"
                )
                self._flush_book(order.symbol, now_ms)
            elif order.remaining > abs(pos_qty):
                order.qty = order.filled + abs(pos_qty)
                order.last_update_ts_ms = now_ms
                spec = self.specs[order.symbol]
                self.books[order.symbol].reduce(order.key, spec.qty_to_lots(order.remaining))
                self._flush_book(order.symbol, now_ms)
                self._history(
                    acct, "OrderUpdated", order.view(), now_ms, reason=d.WOULD_NOT_REDUCE_POSITION
                )
        groups = {self.ledger.group_of(p.symbol) for p in acct.positions.values()}
        for group in sorted(groups):
            if self.ledger.equity(acct, group, now_ms) < self.ledger.maintenance_margin(
                acct, group
            ):
                self._liquidate(acct, group, now_ms)

    def _liquidate(self, acct: AccountData, group: str, now_ms: int) -> None:
        """Cancel the group's orders and close its positions at the mark (the exchange's
        liquidation engine takes the other side; fills are typed ``liquidation``)."""
        for order in list(acct.orders.values()):
            if self.ledger.group_of(order.symbol) == group:
                self._close(order, "CANCELLED", d.LIQUIDATION, now_ms, self._cancel_kind(order))
                self._flush_book(order.symbol, now_ms)
        for pos in self.ledger.positions_in(acct, group):
            spec = self.specs[pos.symbol]
            market = self.state.markets[pos.symbol]
            ticks = max(1, int((market.mark_price / spec.tick_size).to_integral_value()))
            price = spec.ticks_to_price(ticks)
            side = Side.SELL if pos.qty > 0 else Side.BUY
            liq = OrderState(
                self._uuid(),
                acct.name,
                spec.symbol,
                side,
                "liquidation",
                abs(pos.qty),
                ZERO,
                price,
                None,
                None,
                True,
                None,
                now_ms,
                now_ms,
            )
            exec_id = self._uuid()
            liq.filled = liq.qty
            self._apply_fill(acct, liq, liq.qty, price, False, "liquidation", now_ms, exec_id)
            self._trade(market, side, liq.qty, price, now_ms, exec_id, "liquidation")
        acct.liquidations += 1

    def _activate(self, order: OrderState, now_ms: int) -> None:
        """Turn a fired trigger into a live order (implemented by order entry)."""
        raise NotImplementedError


__all__ = ["Settlement"]
