"""Perpetual funding: hourly schedule, relative vs absolute rates, payments. Exact Decimal math.

Facts (reference §8.2, §11.5-6):

* Funding is **hourly**. Kraken accrues it as unrealised PnL during the hour and settles it at
  the end of each hour or when the net position changes. This module models the settlement at
  hour boundaries; over whole hours the totals agree.
* Two kinds of rate. The *relative* rate is a fraction of notional per hour (WS
  ``relative_funding_rate``, history ``relativeFundingRate``). The *absolute* rate is quote per
  contract per hour (REST ticker ``fundingRate``, history ``fundingRate``): for linear contracts
  it is USD per 1 unit of base, so ``relative = absolute / price``; for inverse contracts it is
  coin per 1 USD contract, so ``relative = absolute * price``. Either way a position pays
  ``qty * absolute`` per hour, in its settlement currency.
* Sign: a positive rate means **longs pay shorts**. :func:`funding_payment` returns what the
  position pays (positive = pays, negative = receives).

Times are epoch milliseconds passed in by the caller; nothing here reads a clock.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from krakenfutures.core.decimals import (
    EXACT,
    ONE,
    require_non_negative,
    require_positive,
)
from krakenfutures.core.types import ContractKind
from krakenfutures.errors import ConfigError

FUNDING_INTERVAL_MS = 3_600_000
"""One hour: Kraken perpetuals settle funding at every UTC hour boundary."""


# ---------------------------------------------------------------------------------- schedule


def next_funding_time_ms(now_ms: int) -> int:
    """The next hour boundary strictly after ``now_ms`` (a boundary itself maps to the next one).

    This is what the WS ticker's ``next_funding_rate_time`` carries (reference §8.2).
    """
    return (now_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def _check_span(start_ms: int, end_ms: int) -> None:
    if end_ms < start_ms:
        raise ConfigError(f"funding span ends before it starts ({end_ms} < {start_ms})")


def funding_periods_between(start_ms: int, end_ms: int) -> int:
    """How many hour boundaries ``b`` satisfy ``start_ms < b <= end_ms``.

    A position opened exactly on a boundary does not pay for it (that boundary closed the hour
    before it existed); one still open exactly at ``end_ms`` on a boundary does. Holding for
    ``h`` whole hours from any instant therefore crosses exactly ``h`` boundaries.
    """
    _check_span(start_ms, end_ms)
    return end_ms // FUNDING_INTERVAL_MS - start_ms // FUNDING_INTERVAL_MS


def funding_times_between(start_ms: int, end_ms: int) -> range:
    """The hour boundaries counted by :func:`funding_periods_between`, ascending, in epoch ms."""
    _check_span(start_ms, end_ms)
    return range(next_funding_time_ms(start_ms), end_ms + 1, FUNDING_INTERVAL_MS)


# --------------------------------------------------------------------------------------- rates


def relative_funding_rate(
    mark: Decimal,
    index: Decimal,
    *,
    max_relative: Decimal,
    coefficient: Decimal = ONE,
) -> Decimal:
    """The simulator's hourly relative funding rate from a mark/index premium.

    Model: ``premium = (mark - index) / index``; ``rate = premium / coefficient``, clamped to
    ``[-max_relative, +max_relative]``. ``coefficient`` is the instrument's
    ``fundingRateCoefficient`` (24 on live perpetuals: the premium is read as a daily figure and
    spread over 24 hourly payments) and ``max_relative`` its ``maxRelativeFundingRate`` (0.0025
    live). Kraken averages the premium over the preceding hour and its exact formula is not
    published in our sources: feed this function that average (or a single sample) and treat
    the result as a faithful-in-shape model, not Kraken's figure.
    """
    require_positive(index, "index price")
    require_positive(mark, "mark price")
    require_positive(coefficient, "funding rate coefficient")
    require_non_negative(max_relative, "max relative funding rate")
    with localcontext(EXACT):
        rate = (mark - index) / index / coefficient
    if rate > max_relative:
        return max_relative
    if rate < -max_relative:
        return -max_relative
    return rate


def absolute_from_relative(relative: Decimal, price: Decimal, kind: ContractKind) -> Decimal:
    """Absolute rate (quote per contract per hour) from a relative one at ``price``.

    Linear: ``relative * price`` (USD per unit of base). Inverse: ``relative / price`` (coin per
    1 USD contract), the inverse of reference §8.2's "relative ≈ absolute × price".
    """
    require_positive(price, "price")
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return relative / price
        return relative * price


def relative_from_absolute(absolute: Decimal, price: Decimal, kind: ContractKind) -> Decimal:
    """Relative rate (fraction of notional per hour) from an absolute one at ``price``.

    Linear: ``absolute / price`` (ccxt's reading). Inverse: ``absolute * price`` (reference
    §8.2: −6.26e-11 × 21,980 ≈ −1.38e-6).
    """
    require_positive(price, "price")
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return absolute * price
        return absolute / price


# ------------------------------------------------------------------------------------ payments


def funding_payment(
    kind: ContractKind, qty_signed: Decimal, relative_rate: Decimal, price: Decimal
) -> Decimal:
    """What a position pays at one funding boundary (positive = pays, negative = receives).

    Linear (USD): ``qty * price * rate``. Inverse (coin): ``qty / price * rate``. Longs
    (``qty > 0``) pay when the rate is positive; shorts receive. Equal to
    ``qty * absolute_from_relative(rate, price, kind)``.
    """
    require_positive(price, "price")
    with localcontext(EXACT):
        if kind is ContractKind.INVERSE:
            return qty_signed * relative_rate / price
        return qty_signed * price * relative_rate


def funding_cost(
    kind: ContractKind,
    qty_signed: Decimal,
    relative_rate: Decimal,
    price: Decimal,
    *,
    start_ms: int,
    end_ms: int,
) -> Decimal:
    """Funding paid holding the position from ``start_ms`` to ``end_ms`` at a constant rate
    and price: one :func:`funding_payment` per hour boundary crossed (positive = pays)."""
    periods = funding_periods_between(start_ms, end_ms)
    payment = funding_payment(kind, qty_signed, relative_rate, price)
    with localcontext(EXACT):
        return payment * periods


__all__ = [
    "FUNDING_INTERVAL_MS",
    "absolute_from_relative",
    "funding_cost",
    "funding_payment",
    "funding_periods_between",
    "funding_times_between",
    "next_funding_time_ms",
    "relative_from_absolute",
    "relative_funding_rate",
]
