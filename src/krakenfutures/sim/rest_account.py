"""Private account handlers: wallets, positions, preferences, transfers, withdrawals, settings.

Reads never change state. Simplifications (documented, deliberate):

* Leverage and PnL preferences are stored per account in :class:`RestExtras` and echoed back
  (``maxFixedLeverage``/``pnlCurrency`` on positions); the engine margins every contract cross
  and realises linear PnL in USD whatever they say. Refusals use the classic ``error`` envelope
  (unknown symbol ``contractNotFound``, bad value ``invalidArgument``) where Kraken answers
  these newer endpoints with HTTP 500 and numeric ``errors`` codes.
* ``triggerEstimates`` of inverse margin accounts are left empty (nulls).
* There are no subaccounts: ``/subaccounts`` lists none, subaccount transfers answer
  ``invalidAccount`` and the trading-enabled switch ``notFound``.
* ``/withdrawal`` debits ``cash`` (default) or ``flex`` and returns a uid; refusals are
  ``invalidAccount``, ``invalidAmount``, ``invalidUnit`` or ``insufficientFunds`` (Kraken's
  documented example failure ``Unavailable`` comes from the fault knobs).
* The unwind queue ranks each position among same-side holders by unrealised PnL relative to
  its entry notional, in quintiles (20 = unwound last ... 100 = first).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from krakenfutures.core.rest.schema_account import (
    Auxiliary,
    CashAccount,
    FlexAccount,
    FlexCurrency,
    LeveragePreference,
    MarginAccount,
    MarginRequirements,
    Notification,
    OpenPosition,
    PnlPreference,
    UnwindQueueEntry,
)
from krakenfutures.core.types import ContractKind, SelfTradeStrategy
from krakenfutures.errors import ConfigError
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Call, Refusal, iso_ms
from krakenfutures.sim.rest_market import fee_schedule_uid
from krakenfutures.sim.rest_wire import account_of, account_uid, sane

PNL_CURRENCIES = frozenset({"USD", "EUR", "GBP", "USDC", "USDT", "BTC", "XBT", "ETH"})
EXTRAS_FORMAT = "krakenfutures.sim.rest-extras/1"


@dataclass
class RestExtras:
    """Per-account REST settings the engine does not model: leverage and PnL preferences.

    ``leverage[account][symbol]`` is the isolated max leverage; ``pnl[account][symbol]`` the
    PnL currency. :meth:`snapshot`/:meth:`restore` keep them across restarts.
    """

    leverage: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    pnl: dict[str, dict[str, str]] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        """Plain JSON-able form (Decimals as strings)."""
        return {
            "format": EXTRAS_FORMAT,
            "leverage": {a: {s: str(v) for s, v in m.items()} for a, m in self.leverage.items()},
            "pnl": {a: dict(m) for a, m in self.pnl.items()},
        }

    @classmethod
    def restore(cls, data: Mapping[str, Any]) -> RestExtras:
        """Rebuild from :meth:`snapshot` output; an empty mapping gives empty settings."""
        if not data:
            return cls()
        if data.get("format") != EXTRAS_FORMAT:
            raise ConfigError(
                f"not a REST extras snapshot (format {data.get('format')!r}, expected {EXTRAS_FORMAT})"
            )
        try:
            leverage = {
                str(a): {str(s): Decimal(str(v)) for s, v in dict(m).items()}
                for a, m in dict(data.get("leverage", {})).items()
            }
            pnl = {
                str(a): {str(s): str(v) for s, v in dict(m).items()}
                for a, m in dict(data.get("pnl", {})).items()
            }
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise ConfigError(f"corrupt REST extras snapshot: {exc}") from exc
        return cls(leverage=leverage, pnl=pnl)


def _listed(exchange: Exchange, symbol: str) -> str:
    if not exchange.has_symbol(symbol):
        raise Refusal("contractNotFound")
    return symbol.strip().upper()


def account_handlers(exchange: Exchange, extras: RestExtras) -> dict[str, Callable[[Call], Any]]:
    """Handlers of the private account endpoints."""

    def get_fee_schedule_volumes(call: Call) -> dict[str, Decimal]:
        account = account_of(call, exchange)
        name = exchange.config.fee_schedule.name
        return {fee_schedule_uid(name): exchange.volume_30d(account)}

    def get_accounts(call: Call) -> dict[str, Any]:
        state = exchange.account_state(account_of(call, exchange))
        out: dict[str, Any] = {"cash": CashAccount(balances=dict(state.cash))}
        for name, m in state.margin_accounts.items():
            out[name] = MarginAccount(
                currency=m.currency,
                balances=dict(m.balances),
                auxiliary=Auxiliary(usd=m.usd, pv=m.pv, pnl=m.pnl, af=m.af, funding=m.funding),
                margin_requirements=MarginRequirements(im=m.im, mm=m.mm, lt=m.lt, tt=m.tt),
                trigger_estimates=MarginRequirements(),
            )
        f = state.flex
        out["flex"] = FlexAccount(
            currencies={
                ccy: FlexCurrency(
                    quantity=c.quantity,
                    value=c.value,
                    collateral=c.collateral,
                    available=c.available,
                )
                for ccy, c in f.currencies.items()
            },
            initial_margin=f.initial_margin,
            initial_margin_with_orders=f.initial_margin_with_orders,
            maintenance_margin=f.maintenance_margin,
            balance_value=f.balance_value,
            portfolio_value=f.portfolio_value,
            collateral_value=f.collateral_value,
            pnl=f.pnl,
            unrealized_funding=f.unrealized_funding,
            total_unrealized=f.total_unrealized,
            total_unrealized_as_margin=f.total_unrealized_as_margin,
            available_margin=f.available_margin,
            margin_equity=f.margin_equity,
        )
        return out

    def get_open_positions(call: Call) -> list[OpenPosition]:
        account = account_of(call, exchange)
        leverage = extras.leverage.get(account, {})
        pnl = extras.pnl.get(account, {})
        return [
            OpenPosition(
                side=p.side,
                symbol=p.symbol,
                price=p.entry_price,
                fill_time=iso_ms(p.fill_ts_ms),
                qty=p.qty,
                unrealized_funding=p.unrealized_funding,
                pnl_currency=pnl.get(p.symbol, p.pnl_currency),
                max_fixed_leverage=leverage.get(p.symbol),
            )
            for p in exchange.positions(account)
        ]

    def get_leverage_preferences(call: Call) -> list[LeveragePreference]:
        prefs = extras.leverage.get(account_of(call, exchange), {})
        return [LeveragePreference(symbol=s, max_leverage=v) for s, v in sorted(prefs.items())]

    def set_leverage_preferences(call: Call) -> dict[str, Any]:
        account = account_of(call, exchange)
        symbol = _listed(exchange, call.params.symbol)
        value: Decimal | None = call.params.max_leverage
        if value is None:  # no maxLeverage: back to cross margin
            extras.leverage.get(account, {}).pop(symbol, None)
            return {}
        cap = 1 / min(lv.initial for lv in exchange.instrument(symbol).margin_levels)
        if not sane(value) or value < 1 or value > cap:
            raise Refusal("invalidArgument")
        extras.leverage.setdefault(account, {})[symbol] = value
        return {}

    def get_pnl_preferences(call: Call) -> list[PnlPreference]:
        prefs = extras.pnl.get(account_of(call, exchange), {})
        return [PnlPreference(symbol=s, pnl_currency=c) for s, c in sorted(prefs.items())]

    def set_pnl_preferences(call: Call) -> dict[str, Any]:
        account = account_of(call, exchange)
        symbol = _listed(exchange, call.params.symbol)
        currency = str(call.params.pnl_preference).strip().upper()
        if exchange.instrument(symbol).kind is not ContractKind.LINEAR:
            raise Refusal("invalidArgument")  # inverse contracts settle in their coin
        if currency not in PNL_CURRENCIES:
            raise Refusal("invalidArgument")
        extras.pnl.setdefault(account, {})[symbol] = currency
        return {}

    def transfer(call: Call) -> dict[str, Any]:
        account = account_of(call, exchange)
        p = call.params
        if not sane(p.amount):
            raise Refusal("invalidAmount")
        status = exchange.transfer(
            account, p.from_account, p.to_account, p.unit, p.amount, call.now_ms
        )
        if status != "success":
            raise Refusal(status)
        return {}

    def transfer_subaccount(call: Call) -> dict[str, Any]:
        account_of(call, exchange)
        raise Refusal("invalidAccount")  # the simulator has no subaccounts

    def withdrawal(call: Call) -> str:
        account = account_of(call, exchange)
        p = call.params
        if not sane(p.amount):
            raise Refusal("invalidAmount")
        status, uid = exchange.withdraw(
            account, p.source_wallet or "cash", p.currency, p.amount, call.now_ms
        )
        if uid is None:
            raise Refusal(status)
        return uid

    def get_notifications(call: Call) -> list[Notification]:
        account_of(call, exchange)
        return [
            Notification(
                type=n.type,
                priority=n.priority,
                note=n.note,
                effective_time=iso_ms(n.effective_ts_ms),
                expected_downtime_minutes=n.expected_downtime_minutes,
            )
            for n in exchange.notifications()
        ]

    def get_unwind_queue(call: Call) -> list[UnwindQueueEntry]:
        account = account_of(call, exchange)
        mine = exchange.positions(account)
        if not mine:
            return []
        everyone = {name: exchange.positions(name) for name in exchange.account_names()}
        out = []
        for pos in mine:
            peers = [
                _profit_ratio(q.unrealized_pnl, q.qty, q.entry_price)
                for positions in everyone.values()
                for q in positions
                if q.symbol == pos.symbol and q.side == pos.side
            ]
            own = _profit_ratio(pos.unrealized_pnl, pos.qty, pos.entry_price)
            rank = sum(1 for r in peers if r <= own)  # 1..n, n = most profitable
            quintile = -(-rank * 5 // len(peers))
            out.append(UnwindQueueEntry(symbol=pos.symbol, percentile=quintile * 20))
        return out

    def get_self_trade_strategy(call: Call) -> SelfTradeStrategy:
        return exchange.self_trade_strategy(account_of(call, exchange))

    def set_self_trade_strategy(call: Call) -> SelfTradeStrategy:
        return exchange.set_self_trade_strategy(account_of(call, exchange), call.params.strategy)

    def get_subaccounts(call: Call) -> dict[str, Any]:
        account = account_of(call, exchange)
        return {"masterAccountUid": account_uid(account), "subaccounts": []}

    def subaccount_trading(call: Call) -> bool:
        account_of(call, exchange)
        raise Refusal("notFound")

    return {
        "get_fee_schedule_volumes": get_fee_schedule_volumes,
        "get_accounts": get_accounts,
        "get_open_positions": get_open_positions,
        "get_leverage_preferences": get_leverage_preferences,
        "set_leverage_preferences": set_leverage_preferences,
        "get_pnl_preferences": get_pnl_preferences,
        "set_pnl_preferences": set_pnl_preferences,
        "transfer": transfer,
        "transfer_subaccount": transfer_subaccount,
        "withdrawal": withdrawal,
        "get_notifications": get_notifications,
        "get_unwind_queue": get_unwind_queue,
        "get_self_trade_strategy": get_self_trade_strategy,
        "set_self_trade_strategy": set_self_trade_strategy,
        "get_subaccounts": get_subaccounts,
        "get_subaccount_trading_enabled": subaccount_trading,
        "set_subaccount_trading_enabled": subaccount_trading,
    }


def _profit_ratio(upnl: Decimal, qty: Decimal, entry: Decimal) -> Decimal:
    notional = qty * entry
    return upnl / notional if notional else Decimal(0)


__all__ = ["PNL_CURRENCIES", "RestExtras", "account_handlers"]
