"""The Decimal context and input coercion shared by the money, funding and margin math.

Every public function of :mod:`krakenfutures.core.money` and :mod:`krakenfutures.core.funding`
computes under :data:`EXACT` (28 significant digits, banker's rounding, errors trapped), so the
client, the simulator and the backtester get identical digits whatever the caller's thread
context is. Products and sums of exchange numbers (prices, sizes, rates) are exact at that
precision; only divisions (inverse contracts, rates) round, and then symmetrically. 28 digits
is Python's default precision on purpose: a caller negating or adding our results in a default
context does not round them a second time.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

from krakenfutures.errors import ConfigError

EXACT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""Decimal context of the money math: 28 digits, round-half-even (sign-symmetric)."""

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: object, what: str) -> Decimal:
    """Coerce a wire or config number to Decimal, or raise :class:`ConfigError` naming ``what``.

    Accepts Decimal, int and numeric strings as they are. A float (JSON numbers decoded by
    msgspec, TOML floats) is converted through its shortest ``repr`` (``0.0125`` stays
    ``Decimal("0.0125")``), never through its binary value. Booleans, NaN and infinities are
    refused: they are never a valid price, size or rate.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a number, got a boolean ({value!r})")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ConfigError(f"{what}: {value!r} is not a decimal number") from None
    else:
        raise ConfigError(f"{what}: expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ConfigError(f"{what}: {value!r} is not a finite number")
    return result


def require_positive(value: Decimal, what: str) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite Decimal greater than zero."""
    if not value.is_finite() or value <= 0:
        raise ConfigError(f"{what} must be greater than zero, got {value}")


def require_non_negative(value: Decimal, what: str) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite Decimal >= 0."""
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{what} must be zero or more, got {value}")
