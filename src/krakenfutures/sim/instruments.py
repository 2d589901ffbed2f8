"""Instrument specifications of the simulated exchange, and the default listing.

An :class:`InstrumentSpec` is a frozen description of one contract with Decimal fields (what
``/instruments`` serves) plus the integer scale helpers the matching core needs: prices become
ticks (``price / tick_size``) and quantities become lots (``qty / lot_size``, where
``lot_size = 10 ** -contractValueTradePrecision``). A price or quantity that is not a whole
number of ticks or lots is a tick/lot violation: the ``*_to_*`` helpers raise
:class:`~krakenfutures.errors.ValidationError`, the ``check_*`` helpers return None instead.

The defaults are realistic, not a copy of the live listing (reference §9.3): Kraken's tick
sizes and size precisions, the live PI_XBTUSD-style margin ladder (0 -> 2 %/1 %, 500k -> 4 %/2 %,
1M -> 6 %/3 %, 3M -> 10 %/5 %; USD notional for linear, contracts for inverse), a
``maxRelativeFundingRate`` of 0.0025 and a ``fundingRateCoefficient`` of 24.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from krakenfutures.core.decimals import to_decimal
from krakenfutures.core.money import MarginLevel, parse_margin_levels
from krakenfutures.core.types import ContractKind, contract_kind, is_perpetual, normalize_symbol
from krakenfutures.errors import ConfigError, ValidationError


def _levels(*rows: tuple[str, str, str]) -> tuple[MarginLevel, ...]:
    return tuple(MarginLevel(Decimal(t), Decimal(i), Decimal(m)) for t, i, m in rows)


DEFAULT_MARGIN_LEVELS = _levels(
    ("0", "0.02", "0.01"),
    ("500000", "0.04", "0.02"),
    ("1000000", "0.06", "0.03"),
    ("3000000", "0.1", "0.05"),
    ("5000000", "0.2", "0.1"),
    ("50000000", "0.4", "0.2"),
)
"""Ladder used by every default instrument; thresholds are USD notional for linear contracts
and contracts (= USD) for inverse ones, so both read the same in dollars."""


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One tradeable contract.

    ``lot_size`` is the smallest order size step (``10 ** -contractValueTradePrecision``);
    ``reference_price`` seeds the simulator's index and mark until something sets them;
    ``price_band`` is the fat-finger band: a limit order priced more than this fraction beyond
    the mark price on its aggressive side is refused with ``outsidePriceCollar``;
    ``market_collar`` is the ``mkt`` protection (1 %: the order becomes an IOC limited at the
    best opposite price +/- 1 %).
    """

    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    base: str
    quote: str = "USD"
    contract_size: Decimal = Decimal(1)
    margin_levels: tuple[MarginLevel, ...] = DEFAULT_MARGIN_LEVELS
    max_position_size: Decimal = Decimal(1_000_000)
    impact_mid_size: Decimal = Decimal(1)
    max_relative_funding_rate: Decimal = Decimal("0.0025")
    funding_rate_coefficient: Decimal = Decimal(24)
    reference_price: Decimal = Decimal(100)
    price_band: Decimal = Decimal("0.1")
    market_collar: Decimal = Decimal("0.01")
    opening_ts_ms: int = 1_640_995_200_000
    kind: ContractKind = field(init=False)
    perpetual: bool = field(init=False)
    margin_account: str = field(init=False)
    """Where the contract is margined: ``flex`` (linear) or ``fi_<base><quote>`` (inverse)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", normalize_symbol(self.symbol))
        object.__setattr__(self, "kind", contract_kind(self.symbol))
        object.__setattr__(self, "perpetual", is_perpetual(self.symbol))
        account = "flex"
        if self.kind is ContractKind.INVERSE:
            account = f"fi_{self.base.lower()}{self.quote.lower()}"
        object.__setattr__(self, "margin_account", account)
        for name in ("tick_size", "lot_size", "contract_size", "max_position_size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ConfigError(
                    f"instrument {self.symbol}: {name} must be a positive Decimal, got {value!r}"
                )
        if not self.margin_levels:
            raise ConfigError(f"instrument {self.symbol}: margin_levels is empty")

    # ------------------------------------------------------------------------------ derived

    @property
    def pair(self) -> str:
        """``XBT:USD`` as tickers show it."""
        return f"{self.base}:{self.quote}"

    @property
    def size_precision(self) -> int:
        """``contractValueTradePrecision``: decimals of the size step (negative = tens)."""
        return -self.lot_size.normalize().as_tuple().exponent  # type: ignore[operator]

    @property
    def settlement_currency(self) -> str:
        """Currency of PnL, fees and funding: USD (linear) or the base coin (inverse)."""
        return self.base if self.kind is ContractKind.INVERSE else self.quote

    # ------------------------------------------------------------------------ tick helpers

    def check_price(self, price: Decimal) -> int | None:
        """Ticks for a positive price on the tick grid, else None (never raises)."""
        return _units(price, self.tick_size)

    def check_qty(self, qty: Decimal) -> int | None:
        """Lots for a positive quantity on the lot grid, else None (never raises)."""
        return _units(qty, self.lot_size)

    def price_to_ticks(self, price: Decimal) -> int:
        """Ticks of ``price``; raises :class:`ValidationError` off the tick grid or <= 0."""
        ticks = self.check_price(price)
        if ticks is None:
            raise ValidationError(
                f"{self.symbol}: price {price} is not a positive multiple of the tick size {self.tick_size}"
            )
        return ticks

    def qty_to_lots(self, qty: Decimal) -> int:
        """Lots of ``qty``; raises :class:`ValidationError` off the lot grid or <= 0."""
        lots = self.check_qty(qty)
        if lots is None:
            raise ValidationError(
                f"{self.symbol}: size {qty} is not a positive multiple of the lot size {self.lot_size}"
            )
        return lots

    def ticks_to_price(self, ticks: int) -> Decimal:
        """Price of ``ticks``."""
        return self.tick_size * ticks

    def lots_to_qty(self, lots: int) -> Decimal:
        """Quantity of ``lots``."""
        return self.lot_size * lots

    def floor_ticks(self, price: Decimal) -> int:
        """Ticks of the highest grid price <= ``price``."""
        return int((price / self.tick_size).to_integral_value(rounding="ROUND_FLOOR"))

    def ceil_ticks(self, price: Decimal) -> int:
        """Ticks of the lowest grid price >= ``price``."""
        return int((price / self.tick_size).to_integral_value(rounding="ROUND_CEILING"))

    def floor_lots(self, qty: Decimal) -> int:
        """Lots of the largest grid quantity <= ``qty``."""
        return int((qty / self.lot_size).to_integral_value(rounding="ROUND_FLOOR"))


def _units(value: Decimal, step: Decimal) -> int | None:
    try:
        if not value.is_finite() or value <= 0:
            return None
        units = value / step
        if units != units.to_integral_value():
            return None
    except (InvalidOperation, AttributeError, TypeError):
        return None
    return int(units)


def _spec(symbol: str, tick: str, lot: str, base: str, **kw: Any) -> InstrumentSpec:
    return InstrumentSpec(
        symbol=symbol, tick_size=Decimal(tick), lot_size=Decimal(lot), base=base, **kw
    )


DEFAULT_INSTRUMENTS: tuple[InstrumentSpec, ...] = (
    _spec(
        "PF_XBTUSD",
        "1",
        "0.0001",
        "XBT",
        max_position_size=Decimal(1200),
        impact_mid_size=Decimal(1),
        reference_price=Decimal(60000),
    ),
    _spec(
        "PF_ETHUSD",
        "0.1",
        "0.001",
        "ETH",
        max_position_size=Decimal(20000),
        impact_mid_size=Decimal(10),
        reference_price=Decimal(3000),
    ),
    _spec(
        "PF_SOLUSD",
        "0.01",
        "0.01",
        "SOL",
        max_position_size=Decimal(300000),
        impact_mid_size=Decimal(100),
        reference_price=Decimal(150),
    ),
    _spec(
        "PI_XBTUSD",
        "0.5",
        "1",
        "XBT",
        max_position_size=Decimal(10_000_000),
        impact_mid_size=Decimal(10000),
        reference_price=Decimal(60000),
    ),
)
"""PF_XBTUSD (tick 1, lot 0.0001), PF_ETHUSD (0.1, 0.001), PF_SOLUSD (0.01, 0.01), PI_XBTUSD
(inverse, tick 0.5, 1 contract = 1 USD)."""

_DECIMAL_KEYS = {
    "tick_size",
    "lot_size",
    "contract_size",
    "max_position_size",
    "impact_mid_size",
    "max_relative_funding_rate",
    "funding_rate_coefficient",
    "reference_price",
    "price_band",
    "market_collar",
}


def instrument_from_config(row: Mapping[str, object]) -> InstrumentSpec:
    """Build a spec from a TOML-style table: ``symbol``, ``tick_size``, ``lot_size`` (or
    ``size_precision``), ``base`` and optionally any other field; ``margin_levels`` as rows of
    ``{threshold, initial, maintenance}`` (or Kraken's ``contracts``/``numNonContractUnits``,
    ``initialMargin``, ``maintenanceMargin``). Unknown keys are refused."""
    data = dict(row)
    symbol = data.pop("symbol", None)
    if not isinstance(symbol, str) or not symbol:
        raise ConfigError(f"instrument config: 'symbol' is required, got {symbol!r}")
    where = f"instrument {symbol}"
    if "size_precision" in data:
        precision = data.pop("size_precision")
        if not isinstance(precision, int) or isinstance(precision, bool):
            raise ConfigError(f"{where}: size_precision must be an integer")
        data.setdefault("lot_size", Decimal(1).scaleb(-precision))
    kwargs: dict[str, object] = {"symbol": symbol}
    for key, value in data.items():
        if key in _DECIMAL_KEYS:
            kwargs[key] = to_decimal(value, f"{where} {key}")
        elif key == "margin_levels":
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{where}: margin_levels must be a list of tables")
            kwargs[key] = parse_margin_levels(value)
        elif key in ("base", "quote"):
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be a string")
            kwargs[key] = value.upper()
        elif key == "opening_ts_ms":
            if not isinstance(value, int):
                raise ConfigError(f"{where}: opening_ts_ms must be an integer")
            kwargs[key] = value
        else:
            raise ConfigError(f"{where}: unknown key {key!r}")
    if "base" not in kwargs:
        core = symbol.upper().split("_")[1] if "_" in symbol else symbol.upper()
        kwargs["base"] = core[:-3] if core.endswith("USD") else core
    for required in ("tick_size", "lot_size"):
        if required not in kwargs:
            raise ConfigError(f"{where}: {required} is required")
    return InstrumentSpec(**kwargs)  # type: ignore[arg-type]


__all__ = [
    "DEFAULT_INSTRUMENTS",
    "DEFAULT_MARGIN_LEVELS",
    "InstrumentSpec",
    "instrument_from_config",
]
