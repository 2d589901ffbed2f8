"""Domain values of the simulated exchange -> WebSocket v1 wire structs (``core/ws/schema*``).

Pure functions used by :mod:`krakenfutures.sim.ws`. Choices where Kraken's shape is not pinned
down by the reference (§6):

* Ticker: ``premium`` is ``(mark - index) / index`` in percent to one decimal (Kraken's samples:
  ``0.7`` for mark 39790.5 / index 39511.15); ``leverage`` is ``1 / initial`` of the first
  margin level (``"50x"``); funding fields are omitted when zero, as Kraken does; perpetuals
  carry ``dtm`` 0 and ``maturityTime`` 0.
* Open orders: ``qty`` is the open (unfilled) quantity, ``filled`` the executed part; ``type``
  is ``limit`` for every resting kind (lmt, post, ioc, fok, liquidation), ``stop`` or
  ``take_profit`` for untriggered trigger orders; ``triggerSignal`` is ``last``/``mark``/
  ``spot``.
* Fills: ``order_type`` is the account's order type in REST spelling (``lmt``, ``post``,
  ``ioc``...), ``taker_order_type`` is set on taker fills only (the engine does not tell a
  maker which kind of order hit it).
* Positions: ``liquidation_threshold`` and ``initial_margin_with_orders`` are left out;
  ``initial_margin``/``maintenance_margin`` are the position's own (entry-price based, as the
  simulator's margin model); ``return_on_equity`` is ``pnl / initial_margin`` and
  ``effective_leverage`` position notional over the margin group's equity.
* Balances: ``holding`` (cash, upper-case keys), ``futures`` (inverse margin accounts, keyed
  ``F-XBT:USD``) and ``flex_futures`` without the ``isolated``/``cross`` breakdowns.
* Notifications carry ``id`` = their position in the list, from 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.margin import initial_margin, maintenance_margin, max_leverage
from krakenfutures.core.money import notional_usd
from krakenfutures.core.types import ContractKind, Side, TriggerSignal
from krakenfutures.core.ws.schema_private import (
    AccountLogEntry,
    BalancesSnapshot,
    BalancesUpdate,
    Fill,
    FlexCurrency,
    FlexFutures,
    FuturesWallet,
    Notification,
    Notifications,
    OpenOrder,
    OpenPositions,
    Position,
)
from krakenfutures.core.ws.schema_public import (
    BookDelta,
    BookLevel,
    BookSnapshot,
    Ticker,
    TickerLite,
    Trade,
)
from krakenfutures.sim import domain as d
from krakenfutures.sim.accounts import FLEX
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import iso_ms
from krakenfutures.sim.instruments import InstrumentSpec
from krakenfutures.sim.rest_wire import account_uid

ZERO = Decimal(0)
_TENTH = Decimal("0.1")
_ORDER_TYPE = {"stp": "stop", "take_profit": "take_profit"}
_SIGNAL = {TriggerSignal.LAST: "last", TriggerSignal.MARK: "mark", TriggerSignal.INDEX: "spot"}


# ------------------------------------------------------------------------------- public feeds


def build_book_snapshot(view: d.BookView) -> BookSnapshot:
    """The ``book_snapshot`` of a whole book (bids best first, asks best first)."""
    return BookSnapshot(
        symbol=view.symbol,
        ts_ms=view.ts_ms,
        seq=view.seq,
        bids=[BookLevel(price=p, qty=q) for p, q in view.bids],
        asks=[BookLevel(price=p, qty=q) for p, q in view.asks],
    )


def build_book_delta(event: d.BookChanged) -> BookDelta:
    """One ``book`` delta from the engine's level change (same ``seq``)."""
    return BookDelta(
        symbol=event.symbol,
        side=event.side,
        seq=event.seq,
        price=event.price,
        qty=event.qty,
        ts_ms=event.ts_ms,
    )


def build_trade(trade: d.Trade) -> Trade:
    """A public ``trade`` message (also the entries of ``trade_snapshot``)."""
    return Trade(
        symbol=trade.symbol,
        uid=trade.uid,
        side=trade.side,
        type=trade.type,
        seq=trade.seq,
        ts_ms=trade.ts_ms,
        qty=trade.qty,
        price=trade.price,
    )


def _nonzero(value: Decimal | None) -> Decimal | None:
    return value if value else None


def _premium(mark: Decimal, index: Decimal) -> Decimal | None:
    if not index:
        return None
    with localcontext(EXACT):
        return ((mark - index) / index * 100).quantize(_TENTH)


def _leverage(spec: InstrumentSpec) -> str:
    leverage = max_leverage(spec.margin_levels)
    if leverage == leverage.to_integral_value():
        return f"{int(leverage)}x"
    return f"{leverage.normalize():f}x"


def build_ticker(t: d.Ticker, spec: InstrumentSpec) -> Ticker:
    """The ``ticker`` message: every field, funding fields only when non-zero."""
    return Ticker(
        symbol=t.symbol,
        ts_ms=t.ts_ms,
        bid=t.bid,
        ask=t.ask,
        bid_qty=t.bid_size,
        ask_qty=t.ask_size,
        volume=t.vol24h,
        volume_quote=t.volume_quote,
        dtm=0 if spec.perpetual else None,
        leverage=_leverage(spec),
        index=t.index_price,
        premium=_premium(t.mark_price, t.index_price),
        last=t.last,
        change=t.change24h,
        open=t.open24h,
        high=t.high24h,
        low=t.low24h,
        suspended=t.suspended,
        tag=t.tag,
        pair=t.pair,
        open_interest=t.open_interest,
        mark_price=t.mark_price,
        maturity_ts_ms=0 if spec.perpetual else None,
        post_only=t.post_only,
        funding_rate=_nonzero(t.funding_rate),
        funding_rate_prediction=_nonzero(t.funding_rate_prediction),
        relative_funding_rate=_nonzero(t.relative_funding_rate),
        relative_funding_rate_prediction=_nonzero(t.relative_funding_rate_prediction),
        next_funding_ts_ms=t.next_funding_ms,
    )


def build_ticker_lite(t: d.Ticker, spec: InstrumentSpec) -> TickerLite:
    """The ``ticker_lite`` message."""
    return TickerLite(
        symbol=t.symbol,
        bid=t.bid,
        ask=t.ask,
        change=t.change24h,
        premium=_premium(t.mark_price, t.index_price),
        volume=t.vol24h,
        tag=t.tag,
        pair=t.pair,
        dtm=0 if spec.perpetual else None,
        maturity_ts_ms=0 if spec.perpetual else None,
        volume_quote=t.volume_quote,
    )


# ------------------------------------------------------------------------------ private feeds


def build_open_order(view: d.OrderView) -> OpenOrder:
    """An order as the open-orders feeds show it (``qty`` = open quantity)."""
    trigger = view.is_trigger
    return OpenOrder(
        symbol=view.symbol,
        ts_ms=view.ts_ms,
        last_update_ts_ms=view.last_update_ts_ms,
        qty=view.remaining,
        filled=view.filled,
        limit_price=view.limit_price,
        stop_price=view.stop_price if trigger else None,
        type=_ORDER_TYPE.get(view.type, "limit"),
        order_id=view.order_id,
        cli_ord_id=view.cli_ord_id,
        direction=0 if view.side is Side.BUY else 1,
        reduce_only=view.reduce_only,
        trigger_signal=_SIGNAL.get(view.trigger_signal)
        if trigger and view.trigger_signal is not None
        else None,
    )


def build_fill(fill: d.Fill, seq: int | None = None) -> Fill:
    """One of the account's fills, with ``fee_paid``/``fee_currency``."""
    return Fill(
        symbol=fill.symbol,
        ts_ms=fill.ts_ms,
        price=fill.price,
        seq=seq,
        buy=fill.side is Side.BUY,
        qty=fill.qty,
        remaining_order_qty=fill.remaining_qty,
        order_id=fill.order_id,
        cli_ord_id=fill.cli_ord_id,
        fill_id=fill.fill_id,
        fill_type=fill.fill_type,
        fee_paid=fill.fee,
        fee_currency=fill.fee_currency,
        taker_order_type=fill.order_type if fill.fill_type != "maker" else None,
        order_type=fill.order_type,
    )


def build_position(
    pos: d.Position, spec: InstrumentSpec, index_price: Decimal, group_equity: Decimal
) -> Position:
    """One open position (``balance`` signed) with its own margin figures."""
    signed = pos.qty if pos.side == "long" else -pos.qty
    im = initial_margin(spec.kind, pos.qty, pos.entry_price, spec.margin_levels)
    mm = maintenance_margin(spec.kind, pos.qty, pos.entry_price, spec.margin_levels)
    with localcontext(EXACT):
        roe = pos.unrealized_pnl / im if im else None
        notional = notional_usd(spec.kind, pos.qty, pos.mark_price)
        if spec.kind is ContractKind.INVERSE and pos.mark_price:
            notional = notional / pos.mark_price  # in coin, like the group's equity
        leverage = notional / group_equity if group_equity > 0 else None
    return Position(
        symbol=pos.symbol,
        qty=signed,
        pnl=pos.unrealized_pnl,
        entry_price=pos.entry_price,
        mark_price=pos.mark_price,
        index_price=index_price,
        effective_leverage=leverage,
        return_on_equity=roe,
        unrealized_funding=pos.unrealized_funding,
        initial_margin=im,
        maintenance_margin=mm,
        pnl_currency=None if spec.kind is ContractKind.INVERSE else pos.pnl_currency,
    )


def group_equity(state: d.AccountState, spec: InstrumentSpec) -> Decimal:
    """The equity of the margin group ``spec`` trades in: the flex wallet's margin equity (USD)
    or the inverse margin account's portfolio value (coin); 0 without that account."""
    if spec.margin_account == FLEX:
        return state.flex.margin_equity
    wallet = state.margin_accounts.get(spec.margin_account)
    return wallet.pv if wallet is not None else ZERO


def build_open_positions(ex: Exchange, account: str, seq: int) -> OpenPositions:
    """The ``open_positions`` message (snapshot and updates alike): every open position."""
    state = ex.account_state(account)
    positions = []
    for pos in ex.positions(account):
        spec = ex.instrument(pos.symbol)
        index = ex.state.markets[pos.symbol].index_price
        positions.append(build_position(pos, spec, index, group_equity(state, spec)))
    return OpenPositions(
        account=account_uid(account), positions=positions, seq=seq, ts_ms=ex.now_ms
    )


def build_balances(
    ex: Exchange, account: str, seq: int, *, snapshot: bool
) -> BalancesSnapshot | BalancesUpdate:
    """``balances_snapshot`` or a ``balances`` update; both carry every wallet."""
    state = ex.account_state(account)
    cls = BalancesSnapshot if snapshot else BalancesUpdate
    return cls(
        account=account_uid(account),
        holding=build_holding(state),
        futures=build_futures_wallets(state),
        flex_futures=build_flex(state),
        ts_ms=ex.now_ms,
        seq=seq,
    )


def build_holding(state: d.AccountState) -> dict[str, Decimal]:
    """The cash wallet: currency (upper case) -> quantity."""
    return {ccy.upper(): qty for ccy, qty in state.cash.items()}


def build_futures_wallets(state: d.AccountState) -> dict[str, FuturesWallet]:
    """Inverse margin accounts keyed ``F-XBT:USD``, amounts in the coin."""
    out: dict[str, FuturesWallet] = {}
    for m in state.margin_accounts.values():
        coin = m.currency.upper()
        name = f"F-{coin}:USD"
        out[name] = FuturesWallet(
            name=name,
            pair=f"{coin}/USD",
            unit=coin,
            portfolio_value=m.pv,
            balance=m.balances.get(m.currency, ZERO),
            maintenance_margin=m.mm,
            initial_margin=m.im,
            available=m.af,
            unrealized_funding=m.funding,
            pnl=m.pnl,
        )
    return out


def build_flex(state: d.AccountState) -> FlexFutures:
    """The multi-collateral wallet (USD amounts); ``initial_margin`` includes open orders."""
    f = state.flex
    currencies = {}
    for ccy, c in f.currencies.items():
        with localcontext(EXACT):
            haircut = (1 - c.collateral / c.value) if c.value > 0 else ZERO
        currencies[ccy] = FlexCurrency(
            quantity=c.quantity,
            value=c.value,
            collateral_value=c.collateral,
            available=c.available,
            haircut=haircut,
            conversion_spread=ZERO,
        )
    return FlexFutures(
        currencies=currencies,
        balance_value=f.balance_value,
        portfolio_value=f.portfolio_value,
        collateral_value=f.collateral_value,
        initial_margin=f.initial_margin_with_orders,
        initial_margin_without_orders=f.initial_margin,
        maintenance_margin=f.maintenance_margin,
        pnl=f.pnl,
        unrealized_funding=f.unrealized_funding,
        total_unrealized=f.total_unrealized,
        total_unrealized_as_margin=f.total_unrealized_as_margin,
        margin_equity=f.margin_equity,
        available_margin=f.available_margin,
    )


def build_log_entry(e: d.AccountLogEntry) -> AccountLogEntry:
    """An account-log row (``date`` ISO text, as the REST account log)."""
    return AccountLogEntry(
        id=e.id,
        date=iso_ms(e.ts_ms),
        asset=e.asset,
        info=e.info,
        booking_uid=e.booking_uid,
        margin_account=e.margin_account,
        old_balance=e.old_balance,
        new_balance=e.new_balance,
        old_average_entry_price=e.old_average_entry_price,
        new_average_entry_price=e.new_average_entry_price,
        trade_price=e.trade_price,
        mark_price=e.mark_price,
        realized_pnl=e.realized_pnl,
        fee=e.fee,
        execution=e.execution,
        collateral=e.collateral,
        funding_rate=e.funding_rate,
        realized_funding=e.realized_funding,
        liquidation_fee=e.liquidation_fee,
    )


def build_notifications(notes: Sequence[d.Notification]) -> Notifications:
    """The ``notifications_auth`` message: every current notice."""
    return Notifications(
        notifications=[
            Notification(
                id=i,
                type=n.type,
                priority=n.priority,
                note=n.note,
                effective_ts_ms=n.effective_ts_ms,
                expected_downtime_minutes=n.expected_downtime_minutes,
            )
            for i, n in enumerate(notes, 1)
        ]
    )


__all__ = [
    "build_balances",
    "build_book_delta",
    "build_book_snapshot",
    "build_fill",
    "build_flex",
    "build_futures_wallets",
    "build_holding",
    "build_log_entry",
    "build_notifications",
    "build_open_order",
    "build_open_positions",
    "build_position",
    "build_ticker",
    "build_ticker_lite",
    "build_trade",
    "group_equity",
]
