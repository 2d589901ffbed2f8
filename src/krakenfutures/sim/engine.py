"""The simulated Kraken Futures exchange: :class:`Exchange`, pure and deterministic.

No sockets, no clock, no global randomness: every mutating call takes ``now_ms`` (epoch ms; the
engine clock never goes backwards, an earlier ``now_ms`` counts as "now") and ids come from the
injected :class:`random.Random`, so a seed reproduces a run exactly. Results are domain values
(:mod:`krakenfutures.sim.domain`); the REST and WS layers turn them into Kraken's wire shapes.
Listeners registered with :meth:`Exchange.add_listener` receive every published event
(:data:`~krakenfutures.sim.domain.ExchangeEvent`) synchronously, in order.

Rules and simplifications are documented where they live: order entry in
:mod:`krakenfutures.sim.orders`, edits/cancels/batches in :mod:`krakenfutures.sim.amend`,
margin in :mod:`krakenfutures.sim.accounts`, mark price and candles in
:mod:`krakenfutures.sim.marketdata`, clock/fills/funding/liquidation in
:mod:`krakenfutures.sim.settlement`, invariants in :mod:`krakenfutures.sim.invariants`.
Funding: at each hour boundary every position is settled at the rate set at the previous
boundary (pro rata for the part of the hour it was open, valued at the mark at settlement),
then the next rate is computed from the current mark/index premium (``relative_funding_rate``)
and recorded. Liquidation: when an account's margin equity in a margin group falls below its
maintenance margin, its orders in the group are cancelled and its positions closed at the mark
(rounded to the tick) with fill type ``liquidation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from random import Random
from typing import Any

import msgspec

from krakenfutures.core.types import QtyMode, SelfTradeStrategy, Side, TradingState, TriggerSignal
from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.accounts import FLEX
from krakenfutures.sim.core import Listener
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.invariants import check_invariants
from krakenfutures.sim.marketdata import record_candle, update_mark
from krakenfutures.sim.queries import Queries
from krakenfutures.sim.state import AccountData, ExchangeConfig, ExchangeState, MarketState

ZERO = Decimal(0)
SNAPSHOT_FORMAT = "krakenfutures.sim.exchange/1"
MAX_DMS_TIMEOUT_S = 2**32 - 1


class Exchange(Queries):
    """A Kraken Futures exchange in memory: instruments, books, accounts, funding, liquidation."""

    def __init__(
        self,
        config: ExchangeConfig | None = None,
        *,
        rng: Random | None = None,
        now_ms: int = 0,
        accounts: Iterable[str] = (),
    ) -> None:
        config = config or ExchangeConfig()
        markets = {
            spec.symbol: MarketState(
                symbol=spec.symbol,
                index_price=spec.reference_price,
                mark_price=spec.reference_price,
                mark_ts_ms=now_ms,
            )
            for spec in config.instruments
        }
        state = ExchangeState(now_ms=now_ms, funding_cursor_ms=now_ms, markets=markets)
        super().__init__(config, rng if rng is not None else Random(0), state)
        for name in accounts:
            self.open_account(name)

    # ------------------------------------------------------------------------------- setup

    @property
    def now_ms(self) -> int:
        """The engine clock: the latest ``now_ms`` seen."""
        return self.state.now_ms

    def open_account(
        self,
        account: str,
        *,
        flex: Mapping[str, Decimal] | None = None,
        cash: Mapping[str, Decimal] | None = None,
        margin: Mapping[str, Mapping[str, Decimal]] | None = None,
        stp: SelfTradeStrategy = SelfTradeStrategy.REJECT_TAKER,
    ) -> None:
        """Create an account funded from the arguments or the config defaults (flex USD
        100,000; ``fi_xbtusd`` 1 XBT). Raises :class:`ValidationError` if it exists."""
        if not isinstance(account, str) or not account:
            raise ValidationError(f"account name must be a non-empty string, got {account!r}")
        if account in self.state.accounts:
            raise ValidationError(f"account {account!r} already exists")
        cfg = self.config
        self.state.accounts[account] = AccountData(
            name=account,
            flex={
                k.upper(): Decimal(v)
                for k, v in (flex if flex is not None else cfg.default_flex).items()
            },
            cash={
                k.lower(): Decimal(v)
                for k, v in (cash if cash is not None else cfg.default_cash).items()
            },
            margin={
                g.lower(): {c.lower(): Decimal(v) for c, v in m.items()}
                for g, m in (margin if margin is not None else cfg.default_margin).items()
            },
            stp=SelfTradeStrategy(stp),
        )

    def account_names(self) -> list[str]:
        """Every account, sorted."""
        return sorted(self.state.accounts)

    def instruments(self) -> list[InstrumentSpec]:
        """Listed instruments, in config order."""
        return list(self.specs.values())

    def instrument(self, symbol: str) -> InstrumentSpec:
        """One instrument (case-insensitive symbol); :class:`ValidationError` if unknown."""
        return self.specs[self._symbol(symbol)]

    def has_symbol(self, symbol: str) -> bool:
        """Whether ``symbol`` is listed (case-insensitive)."""
        return isinstance(symbol, str) and symbol.strip().upper() in self.specs

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every published event from now on."""
        self.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self.listeners.remove(listener)

    # ------------------------------------------------------------------ clock, prices, admin

    def advance(self, now_ms: int) -> None:
        """Move the clock: funding boundaries, dead man's switches, mark, triggers, liquidations."""
        self._begin(now_ms)

    def set_index_price(self, symbol: str, price: Decimal, now_ms: int) -> None:
        """Set the index (spot) price; the mark follows per the mark model."""
        symbol = self._symbol(symbol)
        _positive(price, "index price")
        now = self._begin(now_ms)
        market = self.state.markets[symbol]
        market.index_price = price
        record_candle(market, "spot", now, price, ZERO)
        update_mark(market, self.specs[symbol], self.books[symbol], self.config, now, force=True)
        self._moved.add(symbol)
        self._settle(now)

    def set_mark_price(self, symbol: str, price: Decimal | None, now_ms: int) -> None:
        """Pin the mark price (tests, scenarios); ``None`` releases it to the mark model."""
        symbol = self._symbol(symbol)
        now = self._begin(now_ms)
        market = self.state.markets[symbol]
        if price is None:
            market.mark_pinned = False
            update_mark(
                market, self.specs[symbol], self.books[symbol], self.config, now, force=True
            )
        else:
            _positive(price, "mark price")
            market.mark_pinned = True
            market.mark_price = price
            market.premium = price - market.index_price
            record_candle(market, "mark", now, price, ZERO)
        self._moved.add(symbol)
        self._settle(now)

    def set_trading_state(
        self, symbol: str, trading_state: TradingState | str, now_ms: int
    ) -> None:
        """Switch an instrument between open, post_only, suspended and maintenance (unknown =
        inactive). Maintenance publishes a high-priority maintenance notification; leaving it
        withdraws the notice."""
        symbol = self._symbol(symbol)
        new = TradingState(trading_state)
        now = self._begin(now_ms)
        market = self.state.markets[symbol]
        note = f"{symbol} is under maintenance"
        notes = self.state.notifications
        if new is TradingState.MAINTENANCE and market.trading_state is not TradingState.MAINTENANCE:
            notes.append(d.Notification("maintenance", "high", note, now, None))
        elif new is not TradingState.MAINTENANCE:
            notes[:] = [n for n in notes if n.note != note]
        market.trading_state = new

    def trading_state(self, symbol: str) -> TradingState:
        """Current trading state of an instrument."""
        return self.state.markets[self._symbol(symbol)].trading_state

    def notifications(self) -> list[d.Notification]:
        """Notices for ``/notifications``."""
        return list(self.state.notifications)

    def add_notification(self, notification: d.Notification) -> None:
        """Publish a notice (general, maintenance...)."""
        self.state.notifications.append(notification)

    def set_self_trade_strategy(
        self, account: str, strategy: SelfTradeStrategy | str
    ) -> SelfTradeStrategy:
        """Set the account's self-trade prevention strategy; returns it."""
        acct = self._acct(account)
        acct.stp = SelfTradeStrategy(strategy)
        return acct.stp

    def self_trade_strategy(self, account: str) -> SelfTradeStrategy:
        """The account's self-trade prevention strategy (REJECT_TAKER by default)."""
        return self._acct(account).stp

    def transfer(
        self,
        account: str,
        from_wallet: str,
        to_wallet: str,
        unit: str,
        amount: Decimal,
        now_ms: int,
    ) -> str:
        """Move funds between ``cash``, ``flex`` and inverse margin accounts. Returns
        ``success`` or Kraken's error string: ``invalidAccount``, ``invalidUnit``,
        ``invalidAmount``, ``insufficientFunds``."""
        acct = self._acct(account)
        now = self._begin(now_ms)
        src, dst = from_wallet.lower(), to_wallet.lower()
        wallets = {"cash", FLEX, *self.ledger.groups(acct)}
        if src not in wallets or dst not in wallets or src == dst:
            return "invalidAccount"
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            return "invalidAmount"
        ccy = unit.upper()
        for wallet in (src, dst):
            if wallet not in ("cash", FLEX) and ccy.lower() != self.ledger.group_currency(wallet):
                return "invalidUnit"
        balances_src = self._balances(acct, src)
        key_src = ccy if src == FLEX else ccy.lower()
        available = balances_src.get(key_src, ZERO)
        if src == FLEX:
            state = self.ledger.account_state(acct, now).flex
            available = state.currencies[key_src].available if key_src in state.currencies else ZERO
        elif src != "cash":
            available = min(available, self.ledger.account_state(acct, now).margin_accounts[src].af)
        if amount > available:
            return "insufficientFunds"
        for wallet, delta in ((src, -amount), (dst, amount)):
            balances = self._balances(acct, wallet)
            key = ccy if wallet == FLEX else ccy.lower()
            old = balances.get(key, ZERO)
            balances[key] = old + delta
            self._log(
                acct,
                now,
                asset=ccy.lower(),
                info="transfer",
                booking_uid=self._uuid(),
                margin_account=wallet,
                old_balance=old,
                new_balance=balances[key],
            )
        return "success"

    def withdraw(
        self, account: str, wallet: str, currency: str, amount: Decimal, now_ms: int
    ) -> tuple[str, str | None]:
        """Withdraw ``amount`` of ``currency`` from ``cash`` or ``flex`` to the (outside) Spot
        wallet. Returns ``("success", uid)`` or Kraken's error string and None:
        ``invalidAccount``, ``invalidAmount``, ``invalidUnit``, ``insufficientFunds``. From
        ``flex`` only the currency's ``available`` amount (margin kept) can leave."""
        acct = self._acct(account)
        src = wallet.lower()
        if src not in ("cash", FLEX):
            return "invalidAccount", None
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            return "invalidAmount", None
        key = currency.upper() if src == FLEX else currency.lower()
        balances = self._balances(acct, src)
        if key not in balances:
            return "invalidUnit", None
        now = self._begin(now_ms)
        available = balances[key]
        if src == FLEX:
            available = self.ledger.account_state(acct, now).flex.currencies[key].available
        if amount > available:
            return "insufficientFunds", None
        old = balances[key]
        balances[key] = old - amount
        uid = self._uuid()
        self._log(
            acct,
            now,
            asset=key.lower(),
            info="cross-exchange transfer",
            booking_uid=uid,
            margin_account=src,
            old_balance=old,
            new_balance=balances[key],
        )
        self._touched.add(acct.name)
        self._settle(now)
        return "success", uid

    def _balances(self, acct: AccountData, wallet: str) -> dict[str, Decimal]:
        if wallet == "cash":
            return acct.cash
        if wallet == FLEX:
            return acct.flex
        return acct.margin.setdefault(wallet, {})

    # ------------------------------------------------------------------------------ orders

    def send_order(
        self,
        account: str,
        *,
        symbol: str,
        side: Side | str,
        order_type: str,
        qty: Decimal,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trigger_signal: TriggerSignal | str | None = None,
        reduce_only: bool = False,
        cli_ord_id: str | None = None,
        now_ms: int,
    ) -> d.OrderResult:
        """``sendorder``. ``order_type``: lmt, post, mkt, ioc, fok, stp, take_profit."""
        acct = self._acct(account)
        symbol, side_, kind = self._validate_send(symbol, side, order_type, limit_price, stop_price)
        signal = TriggerSignal(trigger_signal) if trigger_signal is not None else None
        now = self._begin(now_ms)
        result = self._place(
            acct,
            symbol,
            side_,
            kind,
            qty,
            limit_price,
            stop_price,
            signal,
            reduce_only,
            cli_ord_id,
            now,
        )
        self._settle(now)
        return result

    def edit_order(
        self,
        account: str,
        *,
        order_id: str | None = None,
        cli_ord_id: str | None = None,
        qty: Decimal | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        qty_mode: QtyMode | str = QtyMode.RELATIVE,
        now_ms: int,
    ) -> d.OrderResult:
        """``editorder``: ``qty`` is the new open size (RELATIVE) or the new total including
        fills (ABSOLUTE)."""
        acct = self._acct(account)
        now = self._begin(now_ms)
        result = self._edit(
            acct, order_id, cli_ord_id, qty, limit_price, stop_price, QtyMode(qty_mode), now
        )
        self._settle(now)
        return result

    def cancel_order(
        self,
        account: str,
        *,
        order_id: str | None = None,
        cli_ord_id: str | None = None,
        now_ms: int,
    ) -> d.OrderResult:
        """``cancelorder``: status ``cancelled``, ``filled`` (closed by a fill recently) or ``notFound``."""
        acct = self._acct(account)
        now = self._begin(now_ms)
        result = self._cancel(acct, order_id, cli_ord_id, now)
        self._settle(now)
        return result

    def cancel_all_orders(
        self, account: str, symbol: str | None = None, *, now_ms: int
    ) -> d.CancelAllResult:
        """``cancelallorders``, optionally for one symbol; trigger orders included."""
        acct = self._acct(account)
        sym = self._symbol(symbol) if symbol is not None else None
        now = self._begin(now_ms)
        views = self._cancel_all(acct, sym, now, d.CANCELLED_BY_USER)
        self._settle(now)
        events = tuple(d.Cancelled(v, d.CANCELLED_BY_USER) for v in views)
        status = "cancelled" if views else "noOrdersToCancel"
        return d.CancelAllResult(status, sym or "all", tuple(views), now, events)

    def cancel_all_orders_after(
        self, account: str, timeout_s: int, *, now_ms: int
    ) -> d.DeadMansSwitch:
        """Dead man's switch: cancel all the account's orders ``timeout_s`` seconds from now
        unless called again; 0 disarms."""
        acct = self._acct(account)
        if (
            not isinstance(timeout_s, int)
            or isinstance(timeout_s, bool)
            or not 0 <= timeout_s <= MAX_DMS_TIMEOUT_S
        ):
            raise ValidationError(
                f"timeout must be an integer number of seconds in [0, {MAX_DMS_TIMEOUT_S}], got {timeout_s!r}"
            )
        now = self._begin(now_ms)
        acct.dms_trigger_ms = now + timeout_s * 1000 if timeout_s else 0
        return d.DeadMansSwitch(now, acct.dms_trigger_ms)

    def batch(
        self, account: str, instructions: Sequence[d.BatchInstruction], *, now_ms: int
    ) -> list[d.BatchItemResult]:
        """``batchorder``: instructions run in order, each with its own result. Malformed
        arguments anywhere raise before anything runs."""
        acct = self._acct(account)
        now = self._begin(now_ms)
        return self._batch(acct, instructions, now)

    # ---------------------------------------------------------------------------- persistence

    def snapshot(self) -> dict[str, Any]:
        """The whole exchange as plain JSON-able values (Decimals as strings)."""
        self.state.rng_state = self.rng.getstate()
        data = {
            "format": SNAPSHOT_FORMAT,
            "config": self.config.to_dict(),
            "state": msgspec.to_builtins(self.state),
        }
        self.state.rng_state = None
        return data

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> Exchange:
        """Rebuild an exchange from :meth:`snapshot` output (also after a JSON round trip)."""
        if data.get("format") != SNAPSHOT_FORMAT:
            raise ValidationError(
                f"not an exchange snapshot (format {data.get('format')!r}, expected {SNAPSHOT_FORMAT})"
            )
        config = ExchangeConfig.from_dict(data["config"])
        try:
            state = msgspec.convert(data["state"], ExchangeState, strict=False)
        except msgspec.ValidationError as exc:
            raise ValidationError(f"corrupt exchange snapshot: {exc}") from exc
        rng = Random()
        if state.rng_state is not None:
            version, internal, gauss = state.rng_state
            rng.setstate((version, tuple(internal), gauss))
        state.rng_state = None
        exchange = cls.__new__(cls)
        Queries.__init__(exchange, config, rng, state)
        return exchange

    # ----------------------------------------------------------------------------- invariants

    def check_invariants(self) -> list[str]:
        """Broken invariants (empty when healthy); see :func:`~krakenfutures.sim.invariants.check_invariants`."""
        return check_invariants(self)


def _positive(price: Decimal, what: str) -> None:
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValidationError(f"{what} must be a positive Decimal, got {price!r}")


__all__ = ["SNAPSHOT_FORMAT", "Exchange"]
