"""Tiered initial/maintenance margin and leverage for Kraken Futures. Exact Decimal math.

An instrument's ``marginLevels`` (reference §9.3) is a ladder of ``{contracts |
numNonContractUnits, initialMargin, maintenanceMargin}``: the threshold counts contracts for
inverse instruments and USD notional for linear ones, and the rates are fractions (0.02 = 2 %,
i.e. 50x). The whole position takes the rate of the level its size falls in (Kraken's margin
schedule pages: "IM and MM are a function of ... position size"), and Kraken computes margin
"based on the value of the collateral currency at entry price", so pass the entry price for
positions and the limit price for orders.

Boundary reading: a level applies from its threshold *inclusive* (500,000 contracts on
``PI_XBTUSD`` is already level II). Kraken's tables ("0-500,000", "500,000-1,000,000") are
ambiguous at the seam; the inclusive reading is the conservative one (higher margin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from itertools import pairwise

from krakenfutures.core.decimals import (
    EXACT,
    ONE,
    ZERO,
    require_non_negative,
    require_positive,
    to_decimal,
)
from krakenfutures.core.types import ContractKind
from krakenfutures.errors import ConfigError


@dataclass(frozen=True, slots=True)
class MarginLevel:
    """One margin level: applies from ``threshold`` (contracts for inverse, USD notional for
    linear) upward; ``initial``/``maintenance`` are fractions of notional."""

    threshold: Decimal
    initial: Decimal
    maintenance: Decimal


def _check_levels(levels: Sequence[MarginLevel]) -> None:
    if not levels:
        raise ConfigError("margin levels are empty; the instrument has no margin schedule")
    for lower, upper in pairwise(levels):
        if upper.threshold <= lower.threshold:
            raise ConfigError(
                f"margin levels must strictly ascend by threshold, got {lower.threshold} "
                f"then {upper.threshold}"
            )


def parse_margin_levels(rows: Iterable[Mapping[str, object] | object]) -> tuple[MarginLevel, ...]:
    """Margin levels from ``/instruments`` rows (mappings or objects; ``contracts`` or
    ``numNonContractUnits``, whichever is present and not null), sorted by threshold."""
    levels = []
    for index, row in enumerate(rows):
        where = f"margin level {index}"
        threshold = None
        for key in ("contracts", "numNonContractUnits", "num_non_contract_units", "threshold"):
            value = row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)
            if value is not None:
                threshold = value
                break
        if threshold is None:
            raise ConfigError(f"{where}: neither contracts nor numNonContractUnits is given")
        initial = _get(row, ("initialMargin", "initial_margin", "initial"), where)
        maintenance = _get(row, ("maintenanceMargin", "maintenance_margin", "maintenance"), where)
        levels.append(
            MarginLevel(
                threshold=to_decimal(threshold, f"{where} threshold"),
                initial=to_decimal(initial, f"{where} initialMargin"),
                maintenance=to_decimal(maintenance, f"{where} maintenanceMargin"),
            )
        )
    levels.sort(key=lambda level: level.threshold)
    result = tuple(levels)
    _check_levels(result)
    return result


def _get(row: Mapping[str, object] | object, names: tuple[str, ...], where: str) -> object:
    for key in names:
        value = row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)
        if value is not None:
            return value
    raise ConfigError(f"{where}: missing {names[0]}")


def margin_rates(
    levels: Sequence[MarginLevel], size_or_notional: Decimal
) -> tuple[Decimal, Decimal]:
    """``(initial, maintenance)`` rates for a position size: contracts (inverse) or USD
    notional (linear), unsigned. Sizes below the first threshold use the first level."""
    _check_levels(levels)
    size = abs(size_or_notional)
    chosen = levels[0]
    for level in levels[1:]:
        if size >= level.threshold:
            chosen = level
        else:
            break
    return chosen.initial, chosen.maintenance


def _size_and_base(kind: ContractKind, qty: Decimal, price: Decimal) -> tuple[Decimal, Decimal]:
    """(tier size measure, notional in settlement currency) for ``qty`` at ``price``."""
    require_positive(price, "price")
    contracts = abs(qty)
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return contracts, contracts / price
        notional = contracts * price
        return notional, notional


def initial_margin(
    kind: ContractKind,
    qty: Decimal,
    price: Decimal,
    levels: Sequence[MarginLevel],
    *,
    im_multiplier: Decimal = ONE,
) -> Decimal:
    """Initial margin of ``qty`` contracts at ``price``, in the settlement currency (USD for
    linear, coin for inverse). ``im_multiplier`` is ``/instruments/status``'
    ``extremeVolatilityInitialMarginMultiplier`` (1 when calm); it raises IM only."""
    require_positive(im_multiplier, "initial margin multiplier")
    size, base = _size_and_base(kind, qty, price)
    initial, _ = margin_rates(levels, size)
    with localcontext(EXACT):
        return base * initial * im_multiplier


def maintenance_margin(
    kind: ContractKind, qty: Decimal, price: Decimal, levels: Sequence[MarginLevel]
) -> Decimal:
    """Maintenance margin of ``qty`` contracts at ``price``, in the settlement currency."""
    size, base = _size_and_base(kind, qty, price)
    _, maintenance = margin_rates(levels, size)
    with localcontext(EXACT):
        return base * maintenance


def max_leverage(levels: Sequence[MarginLevel]) -> Decimal:
    """Maximum leverage of the instrument: ``1 / initial`` of the first (smallest) level."""
    _check_levels(levels)
    require_positive(levels[0].initial, "initial margin of the first level")
    with localcontext(EXACT):
        return ONE / levels[0].initial


def liquidation_price_linear(
    qty_signed: Decimal,
    entry_price: Decimal,
    collateral_usd: Decimal,
    maintenance_rate: Decimal,
) -> Decimal | None:
    """Mark price at which an *isolated* linear position's equity falls to maintenance margin.

    Solves ``collateral + qty * (p - entry) = |qty| * p * mm`` for ``p``:
    ``p = (qty * entry - collateral) / (qty - |qty| * mm)``. Simplified model: one fixed
    maintenance rate, no fees, funding or cross-margin. ``None`` when flat or when a long is
    collateralised well enough never to be liquidated (``p <= 0``).
    """
    require_positive(entry_price, "entry price")
    require_non_negative(maintenance_rate, "maintenance rate")
    if maintenance_rate >= 1:
        raise ConfigError(f"maintenance rate must be below 1, got {maintenance_rate}")
    if qty_signed == 0:
        return None
    with localcontext(EXACT):
        price = (qty_signed * entry_price - collateral_usd) / (
            qty_signed - abs(qty_signed) * maintenance_rate
        )
    return price if price > ZERO else None


__all__ = [
    "MarginLevel",
    "initial_margin",
    "liquidation_price_linear",
    "maintenance_margin",
    "margin_rates",
    "max_leverage",
    "parse_margin_levels",
]
