"""Settings of the synthetic market (``[market]`` in ``sim.toml``), kept apart from the market
itself so that config loading does not need the engine."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from krakenfutures.core.decimals import to_decimal
from krakenfutures.errors import ConfigError


@dataclass(frozen=True)
class MarketConfig:
    """Knobs of the synthetic market (``[market]`` in ``sim.toml``). Money is Decimal; rates and
    probabilities are floats.

    ``symbols`` restricts the market to some instruments (empty = all). ``level_notional_usd`` is
    the USD size of the best level; level ``i`` (0 = best) is ``1 + i * level_growth`` times
    that, each drawn within +/- ``size_jitter``. The best bid/ask sit at least
    ``half_spread_bps`` from the centre, levels ``level_step_bps`` apart (both at least a tick).
    The premium has volatility ``premium_vol_bps_per_sqrt_hour``, mean reversion
    ``premium_reversion_per_hour`` and bound ``max_premium_bps``. The market maker shifts its
    centre by up to ``inventory_skew_bps`` (and takers lean up to 40 % towards reducing it) as
    its position approaches ``inventory_limit_usd``. Takers arrive ``taker_rate_per_min`` times
    per exchange minute per instrument (at most ``max_takers_per_step`` per step), for a USD
    notional log-uniform in ``[taker_min_notional_usd, taker_max_notional_usd]``; a fraction
    ``taker_ioc_fraction`` are ``ioc`` limited ``taker_ioc_band_bps`` beyond the index, the rest
    ``mkt``.
    """

    enabled: bool = True
    symbols: tuple[str, ...] = ()
    index_vol_per_sqrt_hour: Decimal = Decimal("0.01")
    levels: int = 10
    level_notional_usd: Decimal = Decimal(20_000)
    level_growth: Decimal = Decimal("0.25")
    size_jitter: Decimal = Decimal("0.25")
    half_spread_bps: Decimal = Decimal("0.5")
    level_step_bps: Decimal = Decimal("1")
    requote_bps: Decimal = Decimal("2")
    index_update_ms: int = 1_000
    refill_fraction: Decimal = Decimal("0.5")
    check_every_ms: int = 10_000
    premium_vol_bps_per_sqrt_hour: Decimal = Decimal(20)
    premium_reversion_per_hour: Decimal = Decimal(1)
    max_premium_bps: Decimal = Decimal(40)
    inventory_limit_usd: Decimal = Decimal(1_000_000)
    inventory_skew_bps: Decimal = Decimal(5)
    taker_rate_per_min: float = 20.0
    taker_min_notional_usd: Decimal = Decimal(100)
    taker_max_notional_usd: Decimal = Decimal(20_000)
    taker_ioc_fraction: float = 0.2
    taker_ioc_band_bps: Decimal = Decimal(5)
    max_takers_per_step: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal | float | int) and not value >= 0:
                raise ConfigError(f"[market] {f.name} must be >= 0, got {value}")
        if self.levels < 1:
            raise ConfigError(f"[market] levels must be >= 1, got {self.levels}")
        if (
            self.taker_min_notional_usd <= 0
            or self.taker_max_notional_usd < self.taker_min_notional_usd
        ):
            raise ConfigError("[market] need 0 < taker_min_notional_usd <= taker_max_notional_usd")
        if self.level_notional_usd <= 0 or not 0 <= self.taker_ioc_fraction <= 1:
            raise ConfigError(
                "[market] level_notional_usd must be > 0 and taker_ioc_fraction in [0, 1]"
            )
        if not 0 <= self.size_jitter < 1 or not 0 <= self.refill_fraction <= 1:
            raise ConfigError("[market] size_jitter must be in [0, 1), refill_fraction in [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (Decimals as strings); :meth:`from_dict` reads them back."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (
                str(value)
                if isinstance(value, Decimal)
                else list(value)
                if isinstance(value, tuple)
                else value
            )
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "[market]") -> MarketConfig:
        """Build from a TOML table or :meth:`to_dict` output; unknown keys and wrong types raise
        :class:`ConfigError` naming the key and listing the valid ones."""
        defaults = cls()
        valid = [f.name for f in fields(cls)]
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in valid:
                raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(valid)}")
            kwargs[key] = _coerce(getattr(defaults, key), value, f"{where} {key}")
        return cls(**kwargs)


def _coerce(default: Any, value: Any, what: str) -> Any:
    """Convert a config value to the type of the field's default."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{what}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(f"{what}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if not isinstance(value, int | float | str) or isinstance(value, bool):
            raise ConfigError(f"{what}: expected a number, got {value!r}")
        try:
            result = float(value)
        except ValueError:
            raise ConfigError(f"{what}: expected a number, got {value!r}") from None
        if not math.isfinite(result):
            raise ConfigError(f"{what}: expected a finite number, got {value!r}")
        return result
    if isinstance(default, Decimal):
        return to_decimal(value, what)
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{what}: expected a list of strings, got {value!r}")
        return tuple(v.strip().upper() for v in value)
    raise ConfigError(f"{what}: unsupported value {value!r}")  # pragma: no cover


__all__ = ["MarketConfig"]
