"""Fees, notional, PnL and average entry for Kraken Futures contracts: exact Decimal math.

Units (reference §9.2):

* **linear** (``PF_``/``FF_``): 1 contract = 1 unit of base; notional, fees, PnL and funding
  are in USD.
* **inverse** (``PI_``/``FI_``): 1 contract = 1 USD; notional is the contract count in USD,
  fees, PnL and funding are in the base coin (XBT for ``PI_XBTUSD``).

Fee rates are **fractions** (``Decimal("0.0002")`` = 0.02 %); Kraken's ``/feeschedules`` rows are
in percent and go through :meth:`FeeSchedule.from_percent_tiers`. Signed quantities are positive
for long/buy and negative for short/sell. Nothing here reads a clock or rounds to a tick: callers
round for display or settlement.

Funding (:mod:`krakenfutures.core.funding`) and margin (:mod:`krakenfutures.core.margin`) live in
their own modules and are re-exported here, so ``from krakenfutures.core.money import ...``
reaches the whole money API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise

from krakenfutures.core.decimals import (
    EXACT,
    ZERO,
    require_non_negative,
    require_positive,
    to_decimal,
)
from krakenfutures.core.funding import (
    FUNDING_INTERVAL_MS,
    absolute_from_relative,
    funding_cost,
    funding_payment,
    funding_periods_between,
    funding_times_between,
    next_funding_time_ms,
    relative_from_absolute,
    relative_funding_rate,
)
from krakenfutures.core.margin import (
    MarginLevel,
    initial_margin,
    liquidation_price_linear,
    maintenance_margin,
    margin_rates,
    max_leverage,
    parse_margin_levels,
)
from krakenfutures.core.types import ContractKind
from krakenfutures.errors import ConfigError

MAX_ABS_FEE_RATE = Decimal("0.01")
"""Loaders refuse |rate| >= 1 %: Kraken's fees are hundredths of a percent, so a bigger value
almost always means percent and fraction were mixed up."""


# --------------------------------------------------------------------------------------- fees


@dataclass(frozen=True, slots=True)
class FeeTier:
    """One row of a fee schedule: applies to 30-day volumes strictly above ``min_volume_usd``
    (the first tier also covers volumes from 0). Rates are fractions; negative = rebate."""

    min_volume_usd: Decimal
    maker: Decimal
    taker: Decimal


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """Volume-tiered maker/taker rates, tiers ascending by ``min_volume_usd``, first at 0.

    Boundary reading: Kraken's table says "0 – 100,000" then "100,001 – 1,000,000", and
    ``/feeschedules`` gives each tier's ``usdVolume`` lower bound (0, 100000, ...). We read the
    bound as exclusive: a 30-day volume of exactly 100,000 USD is still tier 1, and any volume
    strictly greater than a breakpoint (100,000.01) moves up.
    """

    tiers: tuple[FeeTier, ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        if not isinstance(self.tiers, tuple):
            object.__setattr__(self, "tiers", tuple(self.tiers))
        if not self.tiers:
            raise ConfigError(f"fee schedule {self.name!r} has no tiers")
        if self.tiers[0].min_volume_usd != 0:
            raise ConfigError(
                f"fee schedule {self.name!r}: the first tier must start at 0 USD volume, "
                f"got {self.tiers[0].min_volume_usd}"
            )
        for lower, upper in pairwise(self.tiers):
            if upper.min_volume_usd <= lower.min_volume_usd:
                raise ConfigError(
                    f"fee schedule {self.name!r}: tier volumes must strictly ascend, "
                    f"got {lower.min_volume_usd} then {upper.min_volume_usd}"
                )

    def tier_for(self, volume_30d_usd: Decimal) -> FeeTier:
        """The tier for a 30-day USD volume (see the class docstring for boundaries)."""
        require_non_negative(volume_30d_usd, "30-day volume")
        chosen = self.tiers[0]
        for tier in self.tiers[1:]:
            if volume_30d_usd > tier.min_volume_usd:
                chosen = tier
            else:
                break
        return chosen

    def rate(self, *, maker: bool, volume_30d_usd: Decimal) -> Decimal:
        """The maker or taker rate (fraction) for a 30-day USD volume."""
        tier = self.tier_for(volume_30d_usd)
        return tier.maker if maker else tier.taker

    @classmethod
    def from_percent_tiers(
        cls, rows: Iterable[Mapping[str, object] | object], *, name: str = "kraken"
    ) -> FeeSchedule:
        """Build from Kraken ``/feeschedules`` tier rows: ``makerFee``/``takerFee`` in percent,
        ``usdVolume`` the tier's lower bound. Rows may be mappings or objects (``makerFee`` or
        ``maker_fee`` spelling) and come in any order; numbers may be float, str or Decimal."""
        tiers = []
        for index, row in enumerate(rows):
            where = f"fee schedule {name!r} row {index}"
            maker = _field(row, ("makerFee", "maker_fee"), where)
            taker = _field(row, ("takerFee", "taker_fee"), where)
            volume = _field(row, ("usdVolume", "usd_volume"), where)
            tiers.append(
                FeeTier(
                    min_volume_usd=to_decimal(volume, f"{where} usdVolume"),
                    maker=_checked_rate(
                        to_decimal(maker, f"{where} makerFee").scaleb(-2), f"{where} makerFee"
                    ),
                    taker=_checked_rate(
                        to_decimal(taker, f"{where} takerFee").scaleb(-2), f"{where} takerFee"
                    ),
                )
            )
        tiers.sort(key=lambda tier: tier.min_volume_usd)
        return cls(tiers=tuple(tiers), name=name)

    @classmethod
    def from_config(cls, mapping: Mapping[str, object]) -> FeeSchedule:
        """Build from a TOML-style table::

            [fees]
            name = "my tiers"
            tiers = [
              { min_volume_usd = "0",      maker_pct = "0.02",  taker_pct = "0.05" },
              { min_volume_usd = "100000", maker = "0.00015", taker = "0.0004" },
            ]

        Each tier gives ``min_volume_usd`` and, per side, either a fraction (``maker``,
        ``taker``) or a percent (``maker_pct``, ``taker_pct``), never both. Unknown keys are
        refused so a typo cannot silently fall back to defaults.
        """
        unknown = set(mapping) - {"name", "tiers"}
        if unknown:
            raise ConfigError(f"fee config: unknown keys {sorted(unknown)}; expected name, tiers")
        name = mapping.get("name", "config")
        if not isinstance(name, str):
            raise ConfigError(f"fee config: name must be a string, got {type(name).__name__}")
        rows = mapping.get("tiers")
        if not isinstance(rows, list | tuple) or not rows:
            raise ConfigError("fee config: 'tiers' must be a non-empty list of tables")
        tiers = []
        for index, row in enumerate(rows):
            where = f"fee config {name!r} tier {index}"
            if not isinstance(row, Mapping):
                raise ConfigError(f"{where}: expected a table, got {type(row).__name__}")
            extra = set(row) - {"min_volume_usd", "maker", "taker", "maker_pct", "taker_pct"}
            if extra:
                raise ConfigError(f"{where}: unknown keys {sorted(extra)}")
            if "min_volume_usd" not in row:
                raise ConfigError(f"{where}: min_volume_usd is required")
            tiers.append(
                FeeTier(
                    min_volume_usd=to_decimal(row["min_volume_usd"], f"{where} min_volume_usd"),
                    maker=_config_rate(row, "maker", where),
                    taker=_config_rate(row, "taker", where),
                )
            )
        tiers.sort(key=lambda tier: tier.min_volume_usd)
        return cls(tiers=tuple(tiers), name=name)


def _field(row: Mapping[str, object] | object, names: tuple[str, ...], where: str) -> object:
    for key in names:
        if isinstance(row, Mapping):
            if key in row:
                return row[key]
        elif hasattr(row, key):
            return getattr(row, key)
    raise ConfigError(f"{where}: missing {names[0]}")


def _checked_rate(rate: Decimal, where: str) -> Decimal:
    if abs(rate) >= MAX_ABS_FEE_RATE:
        raise ConfigError(
            f"{where}: fee rate {rate} (as a fraction) is 1 % or more; Kraken fees are "
            "hundredths of a percent, check percent vs fraction"
        )
    return rate


def _config_rate(row: Mapping[str, object], side: str, where: str) -> Decimal:
    has_fraction, has_pct = side in row, f"{side}_pct" in row
    if has_fraction == has_pct:
        raise ConfigError(f"{where}: give exactly one of {side} (fraction) or {side}_pct (percent)")
    if has_fraction:
        return _checked_rate(to_decimal(row[side], f"{where} {side}"), f"{where} {side}")
    pct = to_decimal(row[f"{side}_pct"], f"{where} {side}_pct")
    return _checked_rate(pct.scaleb(-2), f"{where} {side}_pct")


def _tier(volume: str, maker_pct: str, taker_pct: str) -> FeeTier:
    return FeeTier(Decimal(volume), Decimal(maker_pct).scaleb(-2), Decimal(taker_pct).scaleb(-2))


DEFAULT_FEE_SCHEDULE = FeeSchedule(
    tiers=(
        _tier("0", "0.02", "0.05"),
        _tier("100000", "0.015", "0.04"),
        _tier("1000000", "0.0125", "0.03"),
        _tier("5000000", "0.01", "0.025"),
        _tier("10000000", "0.0075", "0.02"),
        _tier("20000000", "0.005", "0.015"),
        _tier("50000000", "0.0025", "0.0125"),
        _tier("100000000", "0", "0.01"),
    ),
    name="kraken-futures-standard",
)
"""Kraken Futures' published eight tiers (reference §8.1, support article 360048917612).
Since 2026-06-22 live fees come from Kraken's central fee service; this stays the simulator's
default and the documented schedule."""


# ---------------------------------------------------------------------------- notional / fees


def notional_usd(kind: ContractKind, qty: Decimal, price: Decimal) -> Decimal:
    """Unsigned USD notional: linear ``|qty| * price``; inverse ``|qty|`` (1 USD per contract)."""
    if kind is ContractKind.INVERSE:
        return abs(qty)
    # EXACT's method computes what ``*`` computes under ``localcontext(EXACT)``, without
    # entering a context on every call (the risk rules value every order).
    return EXACT.multiply(abs(qty), price)


def fee_for_fill(
    kind: ContractKind,
    qty: Decimal,
    price: Decimal,
    *,
    maker: bool,
    schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE,
    volume_30d_usd: Decimal = ZERO,
) -> Decimal:
    """Fee charged for a fill, in the settlement currency; negative = rebate.

    Linear: ``|qty| * price * rate`` USD. Inverse: ``|qty| / price * rate`` coin (reference
    §8.1: 100,000 contracts at 4,000 with 0.05 % taker = 0.0125 XBT). The sign of ``qty`` does
    not matter: buyers and sellers pay alike.
    """
    require_positive(price, "fill price")
    rate = schedule.rate(maker=maker, volume_30d_usd=volume_30d_usd)
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return abs(qty) * rate / price
        return abs(qty) * price * rate


# ------------------------------------------------------------------------------------- PnL


def pnl(
    kind: ContractKind, qty_signed: Decimal, entry_price: Decimal, exit_price: Decimal
) -> Decimal:
    """PnL of ``qty_signed`` contracts opened at ``entry_price`` and closed at ``exit_price``.

    Linear (USD): ``qty * (exit - entry)``. Inverse (coin): ``qty * (1/entry - 1/exit)``,
    computed as ``qty * (exit - entry) / (entry * exit)`` so it rounds once. Fees excluded.
    """
    require_positive(entry_price, "entry price")
    require_positive(exit_price, "exit price")
    if qty_signed == 0:
        return ZERO
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return qty_signed * (exit_price - entry_price) / (entry_price * exit_price)
        return qty_signed * (exit_price - entry_price)


def unrealized_pnl(
    kind: ContractKind, qty_signed: Decimal, entry_price: Decimal, mark_price: Decimal
) -> Decimal:
    """PnL the position would realise if closed at ``mark_price`` (same math as :func:`pnl`)."""
    return pnl(kind, qty_signed, entry_price, mark_price)


def average_entry_price(
    kind: ContractKind,
    old_qty_signed: Decimal,
    old_entry: Decimal,
    fill_qty_signed: Decimal,
    fill_price: Decimal,
) -> Decimal:
    """Entry price of the position after a fill.

    * adding (same sign, or from flat): linear is the quantity-weighted mean of prices;
      inverse is the contract-weighted *harmonic* mean (``total / sum(qty_i / price_i)``),
      the price at which the coin value of all contracts equals the coin actually paid;
    * reducing: entry unchanged (the closed part realises PnL at ``fill_price``);
    * closing exactly: ``Decimal(0)``, a flat position has no entry;
    * reversing: the remainder opens at ``fill_price``.
    """
    require_positive(fill_price, "fill price")
    if old_qty_signed == 0:
        return fill_price
    require_positive(old_entry, "entry price")
    if fill_qty_signed == 0:
        return old_entry
    if (old_qty_signed > 0) != (fill_qty_signed > 0):
        new_qty = old_qty_signed + fill_qty_signed
        if new_qty == 0:
            return ZERO
        if (new_qty > 0) == (old_qty_signed > 0):
            return old_entry
        return fill_price
    old_abs, fill_abs = abs(old_qty_signed), abs(fill_qty_signed)
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            # (a + b) / (a/e + b/p) rewritten to divide once.
            average = (
                (old_abs + fill_abs)
                * old_entry
                * fill_price
                / (old_abs * fill_price + fill_abs * old_entry)
            )
        else:
            average = (old_abs * old_entry + fill_abs * fill_price) / (old_abs + fill_abs)
    # The exact mean lies between the two prices; keep rounding from pushing it outside.
    return min(max(average, min(old_entry, fill_price)), max(old_entry, fill_price))


@dataclass(frozen=True, slots=True)
class PositionAfterFill:
    """A net position after one fill: signed ``qty``, ``entry_price`` (0 when flat) and the
    ``realized_pnl`` of the part the fill closed, in the settlement currency, fees excluded."""

    qty: Decimal
    entry_price: Decimal
    realized_pnl: Decimal


def apply_fill(
    kind: ContractKind,
    qty_signed: Decimal,
    entry_price: Decimal,
    fill_qty_signed: Decimal,
    fill_price: Decimal,
) -> PositionAfterFill:
    """Apply a fill to a net position (Kraken keeps one net position per contract)."""
    new_qty = qty_signed + fill_qty_signed
    new_entry = average_entry_price(kind, qty_signed, entry_price, fill_qty_signed, fill_price)
    realized = ZERO
    if qty_signed != 0 and fill_qty_signed != 0 and (qty_signed > 0) != (fill_qty_signed > 0):
        closed_abs = min(abs(qty_signed), abs(fill_qty_signed))
        closed_signed = closed_abs if qty_signed > 0 else -closed_abs
        realized = pnl(kind, closed_signed, entry_price, fill_price)
    return PositionAfterFill(qty=new_qty, entry_price=new_entry, realized_pnl=realized)


__all__ = [
    "DEFAULT_FEE_SCHEDULE",
    "FUNDING_INTERVAL_MS",
    "MAX_ABS_FEE_RATE",
    "FeeSchedule",
    "FeeTier",
    "MarginLevel",
    "PositionAfterFill",
    "absolute_from_relative",
    "apply_fill",
    "average_entry_price",
    "fee_for_fill",
    "funding_cost",
    "funding_payment",
    "funding_periods_between",
    "funding_times_between",
    "initial_margin",
    "liquidation_price_linear",
    "maintenance_margin",
    "margin_rates",
    "max_leverage",
    "next_funding_time_ms",
    "notional_usd",
    "parse_margin_levels",
    "pnl",
    "relative_from_absolute",
    "relative_funding_rate",
    "unrealized_pnl",
]
