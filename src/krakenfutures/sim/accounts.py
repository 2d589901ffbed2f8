"""Valuation and margin of simulated accounts: equity, initial/maintenance margin, snapshots.

Margin groups: every linear contract margins in the one cross-margined ``flex`` account; each
inverse contract margins in its coin's account (``fi_xbtusd``), amounts in that coin.

Simplifications (documented, deliberate):

* Position margin uses the **entry price**, order margin the **limit price** (as
  :mod:`krakenfutures.core.margin` advises); the whole size takes the rate of its level.
* Open orders add margin only for the part that would grow the position: per symbol,
  ``max(IM(buys beyond the short), IM(sells beyond the long))`` at the orders' average price
  (reduce-only and untriggered orders add none).
* Flex collateral: ``value * (1 - haircut)`` for positive balances, negative balances count in
  full; unrealised PnL and unrealised funding count 1:1 as margin. No conversion fees.
* Unrealised funding accrues linearly within the hour at the rate in effect and the current
  mark, and is settled at each hour boundary and whenever the position changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, localcontext

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.money import (
    FUNDING_INTERVAL_MS,
    funding_payment,
    initial_margin,
    maintenance_margin,
    unrealized_pnl,
)
from krakenfutures.core.types import Side
from krakenfutures.sim.domain import (
    AccountState,
    CurrencyBalance,
    FlexAccountState,
    MarginAccountState,
)
from krakenfutures.sim.exposure import Exposure, OrderOverride
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.state import (
    AccountData,
    ExchangeConfig,
    MarketState,
    OrderState,
    PositionState,
)

ZERO = Decimal(0)
DAY_MS = 86_400_000
FLEX = "flex"


class Ledger:
    """Values accounts against the current mark prices. Reads state, never mutates it."""

    def __init__(
        self,
        specs: Mapping[str, InstrumentSpec],
        markets: Mapping[str, MarketState],
        config: ExchangeConfig,
    ) -> None:
        self.specs = specs
        self.markets = markets
        self.config = config
        self.exposure = Exposure(specs)
        """Open-order sums and cached margin terms."""
        self._coin_symbol: dict[str, str] = {}
        for spec in specs.values():
            self._coin_symbol.setdefault(spec.base, spec.symbol)

    # ------------------------------------------------------------------------------ prices

    def usd_price(self, currency: str) -> Decimal:
        """USD value of one unit of ``currency`` (index of its instrument, else ``fx_prices``)."""
        ccy = currency.upper()
        if ccy in self.config.fx_prices:
            return self.config.fx_prices[ccy]
        symbol = self._coin_symbol.get(ccy)
        if symbol is not None:
            return self.markets[symbol].index_price
        return ZERO

    def haircut(self, currency: str) -> Decimal:
        """Collateral haircut of a flex currency (fraction)."""
        return self.config.haircuts.get(currency.upper(), self.config.default_haircut)

    # ----------------------------------------------------------------------------- funding

    def pending_funding(self, pos: PositionState, now_ms: int) -> Decimal:
        """Funding the holder accrued since ``pos.accrued_ms`` (negative = owes), not yet
        added to ``pos.unrealized_funding``."""
        spec = self.specs[pos.symbol]
        if not spec.perpetual or now_ms <= pos.accrued_ms or pos.qty == 0:
            return ZERO
        market = self.markets[pos.symbol]
        if market.funding_rel == 0:
            return ZERO
        pays = funding_payment(spec.kind, pos.qty, market.funding_rel, market.mark_price)
        with localcontext(EXACT):
            return -pays * (now_ms - pos.accrued_ms) / FUNDING_INTERVAL_MS

    def unrealized_funding(self, pos: PositionState, now_ms: int) -> Decimal:
        """Accrued plus pending funding of a position."""
        return pos.unrealized_funding + self.pending_funding(pos, now_ms)

    def upnl(self, pos: PositionState) -> Decimal:
        """Unrealised PnL of a position at the mark, in its settlement currency."""
        spec = self.specs[pos.symbol]
        return unrealized_pnl(
            spec.kind, pos.qty, pos.entry_price, self.markets[pos.symbol].mark_price
        )

    # ---------------------------------------------------------------------------- margins

    def group_of(self, symbol: str) -> str:
        """The margin account a symbol trades in (``flex`` or ``fi_<coin>usd``)."""
        return self.specs[symbol].margin_account

    def group_currency(self, group: str) -> str:
        """Settlement currency key of a margin group: ``USD`` (flex) or the lower-case coin."""
        if group == FLEX:
            return "USD"
        for spec in self.specs.values():
            if spec.margin_account == group:
                return spec.base.lower()
        return group[3:-3]

    def positions_in(self, acct: AccountData, group: str) -> list[PositionState]:
        """The account's positions margined in ``group``."""
        return [p for p in acct.positions.values() if self.specs[p.symbol].margin_account == group]

    def collateral(self, acct: AccountData, group: str) -> Decimal:
        """Margin collateral before PnL: flex collateral value, or the coin balance."""
        if group != FLEX:
            return acct.margin.get(group, {}).get(self.group_currency(group), ZERO)
        total = ZERO
        with localcontext(EXACT):
            for ccy, qty in acct.flex.items():
                value = qty * self.usd_price(ccy)
                total += value * (1 - self.haircut(ccy)) if value > 0 else value
        return total

    def equity(self, acct: AccountData, group: str, now_ms: int) -> Decimal:
        """Margin equity: collateral + unrealised PnL + unrealised funding."""
        total = self.collateral(acct, group)
        for pos in self.positions_in(acct, group):
            total += self.upnl(pos) + self.unrealized_funding(pos, now_ms)
        return total

    def initial_margin(self, acct: AccountData, group: str) -> Decimal:
        """Initial margin of the positions alone."""
        total = ZERO
        for pos in self.positions_in(acct, group):
            spec = self.specs[pos.symbol]
            total += initial_margin(spec.kind, pos.qty, pos.entry_price, spec.margin_levels)
        return total

    def maintenance_margin(self, acct: AccountData, group: str) -> Decimal:
        """Maintenance margin of the positions."""
        total = ZERO
        for pos in self.positions_in(acct, group):
            spec = self.specs[pos.symbol]
            total += maintenance_margin(spec.kind, pos.qty, pos.entry_price, spec.margin_levels)
        return total

    # ---------------------------------------------------------------- open-order exposure

    def track(self, order: OrderState, resting: bool) -> None:
        """Record (``resting``) or forget an order's margin exposure. Call after every change
        of a resting order's size, price or state: margin checks read these running sums
        (:class:`~krakenfutures.sim.exposure.Exposure`) instead of walking the orders."""
        self.exposure.track(order, resting)

    def reset_exposure(self) -> None:
        """Forget every tracked order (before re-tracking after a restore)."""
        self.exposure.reset()

    def open_side_qty(self, account: str, symbol: str, side: Side) -> Decimal:
        """Remaining quantity of the resting, non-reduce-only orders on one side of a symbol."""
        return self.exposure.open_side_qty(account, symbol, side)

    def initial_margin_with_orders(
        self,
        acct: AccountData,
        group: str,
        extra: OrderOverride | None = None,
        skip: str | None = None,
    ) -> Decimal:
        """Initial margin of positions plus open orders (see the module docstring); ``extra``
        adds a hypothetical order, ``skip`` leaves out a tracked order (for edits).
        Incremental: only the terms whose inputs changed are recomputed."""
        return self.exposure.initial_margin(acct, group, extra, skip)

    def margin_allows(
        self,
        acct: AccountData,
        group: str,
        now_ms: int,
        extra: OrderOverride,
        skip: str | None = None,
    ) -> bool:
        """Whether an order may be placed: it must not raise initial margin beyond equity.
        Orders that do not raise the requirement (reducing ones) always pass."""
        before, after = self.exposure.margins(acct, group, extra, skip)
        if after <= before:
            return True
        return self.equity(acct, group, now_ms) - after >= 0

    # --------------------------------------------------------------------------- volumes

    @staticmethod
    def volume_30d(acct: AccountData, now_ms: int) -> Decimal:
        """Traded USD notional over the last 30 UTC days including today."""
        today = now_ms // DAY_MS
        return sum((v for day, v in acct.volume.items() if today - day < 30), ZERO)

    @staticmethod
    def add_volume(acct: AccountData, now_ms: int, notional: Decimal) -> None:
        """Count traded notional for the fee tier, forgetting days older than 30."""
        today = now_ms // DAY_MS
        acct.volume[today] = acct.volume.get(today, ZERO) + notional
        if len(acct.volume) > 31:
            for day in [d for d in acct.volume if today - d >= 30]:
                del acct.volume[day]

    # ---------------------------------------------------------------------------- snapshot

    def groups(self, acct: AccountData) -> list[str]:
        """Inverse margin accounts the account has (funded or with positions)."""
        names = set(acct.margin)
        names.update(self.group_of(p.symbol) for p in acct.positions.values())
        names.discard(FLEX)
        return sorted(names)

    def account_state(self, acct: AccountData, now_ms: int) -> AccountState:
        """Everything the ``accounts`` reply needs (see :class:`AccountState`)."""
        return AccountState(
            account=acct.name,
            cash=dict(acct.cash),
            flex=self._flex_state(acct, now_ms),
            margin_accounts={g: self._margin_state(acct, g, now_ms) for g in self.groups(acct)},
        )

    def _flex_state(self, acct: AccountData, now_ms: int) -> FlexAccountState:
        positions = self.positions_in(acct, FLEX)
        pnl = sum((self.upnl(p) for p in positions), ZERO)
        funding = sum((self.unrealized_funding(p, now_ms) for p in positions), ZERO)
        total_unrealized = pnl + funding
        collateral = self.collateral(acct, FLEX)
        margin_equity = collateral + total_unrealized
        im_orders = self.initial_margin_with_orders(acct, FLEX)
        available_margin = margin_equity - im_orders
        currencies: dict[str, CurrencyBalance] = {}
        balance_value = ZERO
        with localcontext(EXACT):
            for ccy, qty in sorted(acct.flex.items()):
                price = self.usd_price(ccy)
                value = qty * price
                balance_value += value
                cut = self.haircut(ccy)
                coll = value * (1 - cut) if value > 0 else value
                unit_coll = price * (1 - cut)
                room = available_margin / unit_coll if unit_coll > 0 else ZERO
                available = max(ZERO, min(qty, room))
                currencies[ccy] = CurrencyBalance(
                    quantity=qty, value=value, collateral=coll, available=available
                )
        return FlexAccountState(
            currencies=currencies,
            initial_margin=self.initial_margin(acct, FLEX),
            initial_margin_with_orders=im_orders,
            maintenance_margin=self.maintenance_margin(acct, FLEX),
            balance_value=balance_value,
            portfolio_value=balance_value + total_unrealized,
            collateral_value=collateral,
            pnl=pnl,
            unrealized_funding=funding,
            total_unrealized=total_unrealized,
            total_unrealized_as_margin=total_unrealized,
            available_margin=available_margin,
            margin_equity=margin_equity,
        )

    def _margin_state(self, acct: AccountData, group: str, now_ms: int) -> MarginAccountState:
        coin = self.group_currency(group)
        balance = acct.margin.get(group, {}).get(coin, ZERO)
        positions = self.positions_in(acct, group)
        pnl = sum((self.upnl(p) for p in positions), ZERO)
        funding = sum((self.unrealized_funding(p, now_ms) for p in positions), ZERO)
        pv = balance + pnl + funding
        mm = self.maintenance_margin(acct, group)
        balances = {coin: balance}
        balances.update({p.symbol: p.qty for p in positions})
        with localcontext(EXACT):
            usd = pv * self.usd_price(coin)
            tt = mm / 2
        return MarginAccountState(
            currency=coin,
            balances=balances,
            usd=usd,
            pv=pv,
            pnl=pnl,
            af=pv - self.initial_margin_with_orders(acct, group),
            funding=funding,
            im=self.initial_margin(acct, group),
            mm=mm,
            lt=mm,
            tt=tt,
        )


__all__ = ["FLEX", "Ledger", "OrderOverride"]
