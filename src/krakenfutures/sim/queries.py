"""Read-only views of the simulated exchange: orders, positions, fills, accounts, market data.

Everything returned is an immutable domain value (:mod:`krakenfutures.sim.domain`); nothing
here changes state or moves the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from krakenfutures.errors import ValidationError
from krakenfutures.sim import domain as d
from krakenfutures.sim.amend import Amendments
from krakenfutures.sim.marketdata import RESOLUTIONS_MS, build_ticker, candles
from krakenfutures.sim.matching import BUY, SELL


class Queries(Amendments):
    """The read-only half of the public API."""

    def open_orders(self, account: str) -> list[d.OrderView]:
        """Resting and untriggered orders, oldest first."""
        return sorted(
            (o.view() for o in self._acct(account).orders.values()),
            key=lambda v: (v.ts_ms, v.order_id),
        )

    def order_status(
        self,
        account: str,
        order_ids: Iterable[str] = (),
        cli_ord_ids: Iterable[str] = (),
        *,
        now_ms: int | None = None,
    ) -> list[d.OrderStatus]:
        """``orders/status``: the asked orders that are open or closed within the last 5 s
        (all such orders when nothing is asked)."""
        acct = self._acct(account)
        now = self.state.now_ms if now_ms is None else max(now_ms, self.state.now_ms)
        window = self.config.order_status_window_ms
        ids = list(order_ids)
        clis = list(cli_ord_ids)
        for cli in clis:
            oid = acct.cli_index.get(cli) or next(
                (
                    c.order.order_id
                    for c in reversed(acct.closed.values())
                    if c.order.cli_ord_id == cli
                ),
                None,
            )
            if oid is not None:
                ids.append(oid)
        if not ids and not clis:
            ids = list(acct.orders) + [
                k for k, c in acct.closed.items() if now - c.closed_ms <= window
            ]
        out: list[d.OrderStatus] = []
        for oid in dict.fromkeys(ids):
            order = acct.orders.get(oid)
            if order is not None:
                status = "TRIGGER_PLACED" if order.type in d.TRIGGER_TYPES else "ENTERED_BOOK"
                out.append(d.OrderStatus(order.view(), status))
                continue
            closed = acct.closed.get(oid)
            if closed is not None and now - closed.closed_ms <= window:
                error = (
                    closed.reason
                    if closed.status in ("REJECTED", "TRIGGER_ACTIVATION_FAILURE")
                    else None
                )
                out.append(d.OrderStatus(closed.order, closed.status, closed.reason, error))
        return out

    def positions(self, account: str) -> list[d.Position]:
        """Open positions, most recently filled first."""
        acct = self._acct(account)
        out = []
        for pos in acct.positions.values():
            spec = self.specs[pos.symbol]
            out.append(
                d.Position(
                    symbol=pos.symbol,
                    side="long" if pos.qty > 0 else "short",
                    qty=abs(pos.qty),
                    entry_price=pos.entry_price,
                    unrealized_funding=self.ledger.unrealized_funding(pos, self.state.now_ms),
                    fill_ts_ms=pos.fill_ts_ms,
                    unrealized_pnl=self.ledger.upnl(pos),
                    mark_price=self.state.markets[pos.symbol].mark_price,
                    pnl_currency=spec.settlement_currency,
                )
            )
        return sorted(out, key=lambda p: (-p.fill_ts_ms, p.symbol))

    def fills(
        self,
        account: str,
        since_ts_ms: int | None = None,
        *,
        before_ts_ms: int | None = None,
        limit: int | None = None,
    ) -> list[d.Fill]:
        """Fills oldest first, optionally ``since_ts_ms <= ts < before_ts_ms``; ``limit`` keeps
        the newest ones."""
        out = [
            f
            for f in self._acct(account).fills
            if (since_ts_ms is None or f.ts_ms >= since_ts_ms)
            and (before_ts_ms is None or f.ts_ms < before_ts_ms)
        ]
        return out[-limit:] if limit else out

    def account_state(self, account: str) -> d.AccountState:
        """Balances and margin of every wallet (what ``/accounts`` serves)."""
        return self.ledger.account_state(self._acct(account), self.state.now_ms)

    def account_log(self, account: str) -> list[d.AccountLogEntry]:
        """Account-log rows, ascending ``id``."""
        return list(self._acct(account).log)

    def history(self, account: str, stream: str | None = None) -> list[d.HistoryEvent]:
        """History-API events, oldest first; ``stream`` filters ``orders``, ``triggers`` or ``executions``."""
        events = self._acct(account).history
        return [e for e in events if stream is None or e.stream == stream]

    def volume_30d(self, account: str) -> Decimal:
        """The account's 30-day traded USD notional (the fee tier input)."""
        return self.ledger.volume_30d(self._acct(account), self.state.now_ms)

    def fee_rates(self, account: str) -> tuple[Decimal, Decimal]:
        """``(maker, taker)`` fee rates (fractions) the account pays now."""
        tier = self.config.fee_schedule.tier_for(self.volume_30d(account))
        return tier.maker, tier.taker

    def book(self, symbol: str, depth: int | None = None) -> d.BookView:
        """Aggregated levels: bids descending, asks ascending, with the book ``seq``."""
        symbol = self._symbol(symbol)
        spec, book = self.specs[symbol], self.books[symbol]

        def conv(levels: list[tuple[int, int]]) -> tuple[tuple[Decimal, Decimal], ...]:
            return tuple((spec.ticks_to_price(p), spec.lots_to_qty(q)) for p, q in levels)

        return d.BookView(
            symbol,
            conv(book.depth(BUY, depth)),
            conv(book.depth(SELL, depth)),
            self.state.markets[symbol].book_seq,
            self.state.now_ms,
        )

    def book_seq(self, symbol: str) -> int:
        """Sequence number of the last book change (each level change adds 1)."""
        return self.state.markets[self._symbol(symbol)].book_seq

    def ticker(self, symbol: str, now_ms: int | None = None) -> d.Ticker:
        """Ticker of one instrument (24 h stats up to ``now_ms``, default the engine clock)."""
        symbol = self._symbol(symbol)
        now = self.state.now_ms if now_ms is None else max(now_ms, self.state.now_ms)
        return build_ticker(self.state.markets[symbol], self.specs[symbol], self.books[symbol], now)

    def tickers(self, now_ms: int | None = None) -> list[d.Ticker]:
        """Tickers of every instrument."""
        return [self.ticker(symbol, now_ms) for symbol in self.specs]

    def recent_trades(
        self, symbol: str, *, before_ts_ms: int | None = None, limit: int = 100
    ) -> list[d.Trade]:
        """Up to ``limit`` public trades before ``before_ts_ms`` (exclusive), newest first."""
        trades = self.state.markets[self._symbol(symbol)].trades
        picked = [t for t in reversed(trades) if before_ts_ms is None or t.ts_ms < before_ts_ms]
        return picked[:limit]

    def funding_history(self, symbol: str) -> list[d.FundingRecord]:
        """Funding rates set at each hour boundary, ascending."""
        return list(self.state.markets[self._symbol(symbol)].funding_history)

    def candles(
        self, symbol: str, kind: str, resolution: str, from_ms: int, to_ms: int
    ) -> list[tuple[int, Decimal, Decimal, Decimal, Decimal, Decimal]]:
        """OHLCV ``(time_ms, open, high, low, close, volume)`` of ``kind`` (trade, mark,
        spot) at ``resolution`` (1m ... 1w) for buckets starting in ``[from_ms, to_ms]``."""
        if resolution not in RESOLUTIONS_MS:
            raise ValidationError(
                f"unknown resolution {resolution!r}; use one of {', '.join(RESOLUTIONS_MS)}"
            )
        if kind not in ("trade", "mark", "spot"):
            raise ValidationError(f"unknown candle kind {kind!r}; use trade, mark or spot")
        return candles(self.state.markets[self._symbol(symbol)], kind, resolution, from_ms, to_ms)


__all__ = ["Queries"]
