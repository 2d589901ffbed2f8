"""``PositionBook``: fills, fees and funding booked into positions and PnL per strategy and symbol.

All amounts are Decimal in the contract's settlement currency (USD for linear ``PF_``/``FF_``,
the base coin for inverse ``PI_``/``FI_``; reference §9.2). The math is
:mod:`krakenfutures.core.money`'s: :func:`~krakenfutures.core.money.apply_fill` for the net
position, average entry and realised PnL, :func:`~krakenfutures.core.money.funding_payment` for
funding. Each fill is booked once per ``fill_id`` and each funding payment once per key, so
replaying a journal, or seeing a fill from both a reply and the feed, never doubles anything.

Sign conventions: ``fees_paid`` is net of rebates (a maker rebate lowers it, it may go
negative); ``funding_paid`` and ``funding_received`` are both >= 0. Net PnL =
realised - fees paid - funding paid + funding received + unrealised(mark).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.money import apply_fill, funding_payment, unrealized_pnl
from krakenfutures.core.types import ContractKind, contract_kind, normalize_symbol
from krakenfutures.errors import ValidationError
from krakenfutures.oms.venue import FillRecord, PositionRecord

ZERO = Decimal(0)


def settlement_currency(symbol: str) -> str:
    """USD for linear contracts; the base coin for inverse ones (``PI_XBTUSD`` -> ``XBT``)."""
    symbol = normalize_symbol(symbol)
    if contract_kind(symbol) is ContractKind.LINEAR:
        return "USD"
    parts = symbol.split("_")
    pair = parts[1] if len(parts) > 1 else symbol
    return pair[:-3] if pair.endswith("USD") and len(pair) > 3 else pair


@dataclass(frozen=True, slots=True)
class PositionPnl:
    """One strategy's net position and PnL in one symbol.

    ``qty`` is signed (long > 0), ``entry_price`` is 0 when flat, ``realized_pnl`` excludes
    fees and funding. See the module docstring for signs.
    """

    strategy: str
    symbol: str
    qty: Decimal = ZERO
    entry_price: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    funding_paid: Decimal = ZERO
    funding_received: Decimal = ZERO
    fill_count: int = 0
    last_ts_ms: int = 0

    @property
    def kind(self) -> ContractKind:
        """Linear or inverse, from the symbol."""
        return contract_kind(self.symbol)

    @property
    def currency(self) -> str:
        """The settlement currency every amount here is in."""
        return settlement_currency(self.symbol)

    @property
    def net_funding(self) -> Decimal:
        """Funding received minus funding paid."""
        with localcontext(EXACT):
            return self.funding_received - self.funding_paid

    def unrealized_pnl(self, mark_price: Decimal) -> Decimal:
        """PnL if the position were closed at ``mark_price`` (0 when flat)."""
        if self.qty == 0:
            return ZERO
        return unrealized_pnl(self.kind, self.qty, self.entry_price, mark_price)

    def net_pnl(self, mark_price: Decimal | None = None) -> Decimal:
        """Realised - fees - funding paid + funding received + unrealised at ``mark_price``.

        ``mark_price`` may be omitted only when flat: an open position cannot be valued
        without it.
        """
        if mark_price is None and self.qty != 0:
            raise ValidationError(
                f"{self.strategy or 'default'} {self.symbol}: a mark price is needed to value "
                f"the open position of {self.qty}"
            )
        unrealized = ZERO if mark_price is None else self.unrealized_pnl(mark_price)
        with localcontext(EXACT):
            return self.realized_pnl - self.fees_paid + self.net_funding + unrealized


class PositionBook:
    """Positions and PnL per (strategy, symbol); strategy ``""`` is the default owner."""

    def __init__(self) -> None:
        self._positions: dict[tuple[str, str], PositionPnl] = {}
        # Flat positions handed out for never-traded pairs, made once: the risk rules ask for
        # the position before every order (immutable, so sharing them is safe).
        self._flat: dict[tuple[str, str], PositionPnl] = {}
        self._fill_ids: set[str] = set()
        self._funding_keys: set[tuple[str, ...]] = set()

    # ---------------------------------------------------------------------------- booking

    def apply_fill(self, fill: FillRecord, *, strategy: str = "") -> PositionPnl | None:
        """Book ``fill`` (with its fee) for ``strategy``; ``None`` if that ``fill_id`` was
        already booked. Returns the position after the fill."""
        if fill.fill_id in self._fill_ids:
            return None
        position = self.get(strategy, fill.symbol)
        after = apply_fill(
            position.kind, position.qty, position.entry_price, fill.signed_qty, fill.price
        )
        with localcontext(EXACT):
            updated = replace(
                position,
                qty=after.qty,
                entry_price=after.entry_price,
                realized_pnl=position.realized_pnl + after.realized_pnl,
                fees_paid=position.fees_paid + fill.fee,
                fill_count=position.fill_count + 1,
                last_ts_ms=max(position.last_ts_ms, fill.ts_ms),
            )
        self._fill_ids.add(fill.fill_id)
        self._positions[strategy, updated.symbol] = updated
        return updated

    def apply_funding(
        self, symbol: str, *, relative_rate: Decimal, price: Decimal, ts_ms: int
    ) -> dict[str, Decimal]:
        """Book the funding of the boundary at ``ts_ms`` for every strategy holding ``symbol``:
        each pays ``funding_payment(kind, its qty, relative_rate, price)`` (positive rate: longs
        pay). Returns the payment per strategy (positive = paid); empty if this boundary was
        booked before."""
        symbol = normalize_symbol(symbol)
        key = ("rate", symbol, str(ts_ms))
        if key in self._funding_keys:
            return {}
        self._funding_keys.add(key)
        payments: dict[str, Decimal] = {}
        for (strategy, held), position in list(self._positions.items()):
            if held != symbol or position.qty == 0:
                continue
            amount = funding_payment(position.kind, position.qty, relative_rate, price)
            self._book_funding(position, amount, ts_ms)
            payments[strategy] = amount
        return payments

    def apply_funding_payment(
        self,
        strategy: str,
        symbol: str,
        amount: Decimal,
        *,
        ts_ms: int,
        payment_id: str | None = None,
    ) -> bool:
        """Book a funding ``amount`` the venue reported (positive = paid, negative = received),
        once per ``payment_id`` (default: strategy, symbol and ``ts_ms``). Use either this or
        :meth:`apply_funding` for a symbol, not both."""
        symbol = normalize_symbol(symbol)
        key = ("paid", payment_id) if payment_id else ("paid", strategy, symbol, str(ts_ms))
        if key in self._funding_keys:
            return False
        self._funding_keys.add(key)
        self._book_funding(self.get(strategy, symbol), amount, ts_ms)
        return True

    # ---------------------------------------------------------------------------- queries

    def get(self, strategy: str, symbol: str) -> PositionPnl:
        """The position of ``strategy`` in ``symbol`` (a flat zero one if never traded)."""
        key = (strategy, symbol)
        found = self._positions.get(key) or self._flat.get(key)
        if found is not None:
            return found
        symbol = normalize_symbol(symbol)
        key = (strategy, symbol)
        found = self._positions.get(key)
        if found is None:
            found = self._flat.setdefault(key, PositionPnl(strategy, symbol))
        return found

    def positions(self, *, strategy: str | None = None) -> tuple[PositionPnl, ...]:
        """Every booked position (of one ``strategy`` if given), in booking order."""
        return tuple(
            p for (owner, _), p in self._positions.items() if strategy is None or owner == strategy
        )

    def net_qty(self, symbol: str) -> Decimal:
        """The account's net position in ``symbol``: the sum over strategies."""
        symbol = normalize_symbol(symbol)
        return sum((p.qty for (_, held), p in self._positions.items() if held == symbol), ZERO)

    def total_pnl(
        self, marks: Mapping[str, Decimal], *, strategy: str | None = None
    ) -> dict[str, Decimal]:
        """Net PnL summed per settlement currency (linear USD and inverse coin amounts are
        never added together). ``marks`` by symbol must cover every open position."""
        marks = {normalize_symbol(k): v for k, v in marks.items()}
        totals: dict[str, Decimal] = {}
        for position in self.positions(strategy=strategy):
            mark = marks.get(position.symbol)
            value = position.net_pnl(mark)
            with localcontext(EXACT):
                totals[position.currency] = totals.get(position.currency, ZERO) + value
        return totals

    def diff(self, records: Iterable[PositionRecord]) -> dict[str, tuple[Decimal, Decimal]]:
        """Symbols where our net qty differs from the venue's: ``{symbol: (ours, venue's)}``."""
        theirs = {r.symbol: r.qty for r in records}
        ours_symbols = {held for (_, held) in self._positions}
        mismatches: dict[str, tuple[Decimal, Decimal]] = {}
        for symbol in sorted(ours_symbols | set(theirs)):
            ours = self.net_qty(symbol)
            venue = theirs.get(symbol, ZERO)
            if ours != venue:
                mismatches[symbol] = (ours, venue)
        return mismatches

    # -------------------------------------------------------------------------- internals

    def _book_funding(self, position: PositionPnl, amount: Decimal, ts_ms: int) -> None:
        with localcontext(EXACT):
            if amount >= 0:
                updated = replace(position, funding_paid=position.funding_paid + amount)
            else:
                updated = replace(position, funding_received=position.funding_received - amount)
        updated = replace(updated, last_ts_ms=max(position.last_ts_ms, ts_ms))
        self._positions[position.strategy, position.symbol] = updated


__all__ = ["PositionBook", "PositionPnl", "settlement_currency"]
