"""The simulated exchange's mutable state and its configuration.

Every piece of state the engine keeps, except the order books (rebuilt from the open orders,
whose ``key`` is their time-priority rank), is a :class:`msgspec.Struct` here, so
``Exchange.snapshot()`` is one ``msgspec.to_builtins`` call (Decimals become strings, enums
their values) and ``Exchange.restore()`` one ``msgspec.convert``. Keep it that way: anything the
engine needs after a restart must live in these structs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import Any

import msgspec

from krakenfutures.core.decimals import to_decimal
from krakenfutures.core.money import DEFAULT_FEE_SCHEDULE, FeeSchedule
from krakenfutures.core.types import SelfTradeStrategy, Side, TradingState, TriggerSignal
from krakenfutures.errors import ConfigError
from krakenfutures.sim.domain import (
    AccountLogEntry,
    Fill,
    FundingRecord,
    HistoryEvent,
    Notification,
    OrderView,
    Trade,
)
from krakenfutures.sim.instruments import (
    DEFAULT_INSTRUMENTS,
    InstrumentSpec,
    instrument_from_config,
)

ZERO = Decimal(0)


def _d(value: str) -> Decimal:
    return Decimal(value)


@dataclass(frozen=True)
class ExchangeConfig:
    """Static settings of a simulated exchange.

    ``haircuts`` are flex collateral haircuts (fractions; unlisted currencies use
    ``default_haircut``); ``fx_prices`` value collateral currencies that no instrument prices
    (a coin is valued at the index of the first instrument with that base). The mark price is
    ``index + premium`` where the premium is an EMA (time constant ``mark_ema_ms``, updated at
    most every ``mark_update_ms``) of ``impact mid - index``, clamped to
    ``mark_premium_band * index``. ``order_status_window_ms`` is how long closed orders stay
    visible to ``orders/status`` (Kraken: 5 s); ``closed_memory_ms`` how long a closed order's
    ``cliOrdId`` stays taken and ``cancelorder`` still answers ``filled``. ``record_cap`` bounds
    each account's fills, log and history and each symbol's recent trades.
    """

    instruments: tuple[InstrumentSpec, ...] = DEFAULT_INSTRUMENTS
    fee_schedule: FeeSchedule = DEFAULT_FEE_SCHEDULE
    max_open_orders: int = 500
    default_flex: Mapping[str, Decimal] = field(default_factory=lambda: {"USD": Decimal(100_000)})
    default_margin: Mapping[str, Mapping[str, Decimal]] = field(
        default_factory=lambda: {"fi_xbtusd": {"xbt": Decimal(1)}}
    )
    default_cash: Mapping[str, Decimal] = field(default_factory=dict)
    haircuts: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "USD": ZERO,
            "USDT": ZERO,
            "USDC": ZERO,
            "EUR": ZERO,
            "GBP": ZERO,
            "XBT": _d("0.02"),
            "ETH": _d("0.05"),
        }
    )
    default_haircut: Decimal = Decimal("0.1")
    fx_prices: Mapping[str, Decimal] = field(
        default_factory=lambda: {
            "USD": Decimal(1),
            "USDT": Decimal(1),
            "USDC": Decimal(1),
            "EUR": _d("1.08"),
            "GBP": _d("1.27"),
        }
    )
    mark_ema_ms: int = 30_000
    mark_update_ms: int = 1_000
    mark_premium_band: Decimal = Decimal("0.005")
    order_status_window_ms: int = 5_000
    closed_memory_ms: int = 3_600_000
    record_cap: int = 50_000

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (Decimals as strings); :meth:`from_dict` reverses it."""
        return {
            "instruments": [instrument_to_dict(spec) for spec in self.instruments],
            "fee_schedule": {
                "name": self.fee_schedule.name,
                "tiers": [
                    {
                        "min_volume_usd": str(t.min_volume_usd),
                        "maker": str(t.maker),
                        "taker": str(t.taker),
                    }
                    for t in self.fee_schedule.tiers
                ],
            },
            "max_open_orders": self.max_open_orders,
            "default_flex": {k: str(v) for k, v in self.default_flex.items()},
            "default_margin": {
                k: {c: str(v) for c, v in m.items()} for k, m in self.default_margin.items()
            },
            "default_cash": {k: str(v) for k, v in self.default_cash.items()},
            "haircuts": {k: str(v) for k, v in self.haircuts.items()},
            "default_haircut": str(self.default_haircut),
            "fx_prices": {k: str(v) for k, v in self.fx_prices.items()},
            "mark_ema_ms": self.mark_ema_ms,
            "mark_update_ms": self.mark_update_ms,
            "mark_premium_band": str(self.mark_premium_band),
            "order_status_window_ms": self.order_status_window_ms,
            "closed_memory_ms": self.closed_memory_ms,
            "record_cap": self.record_cap,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExchangeConfig:
        """Build from :meth:`to_dict` output or a TOML table with the same keys (all optional).
        Unknown keys are refused so that a typo cannot fall back to a default silently."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"simulator config: unknown keys {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key == "instruments":
                kwargs[key] = tuple(instrument_from_config(row) for row in value)
            elif key == "fee_schedule":
                kwargs[key] = _fee_schedule(value)
            elif key in ("default_flex", "default_cash", "haircuts", "fx_prices"):
                kwargs[key] = {str(k): to_decimal(v, f"{key}.{k}") for k, v in dict(value).items()}
            elif key == "default_margin":
                kwargs[key] = {
                    str(k): {str(c): to_decimal(v, f"{key}.{k}.{c}") for c, v in dict(m).items()}
                    for k, m in dict(value).items()
                }
            elif key in ("default_haircut", "mark_premium_band"):
                kwargs[key] = to_decimal(value, key)
            else:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"simulator config: {key} must be an integer, got {value!r}")
                kwargs[key] = value
        config = cls(**kwargs)
        if len({spec.symbol for spec in config.instruments}) != len(config.instruments):
            raise ConfigError("simulator config: instrument symbols must be unique")
        return config


def _fee_schedule(value: Any) -> FeeSchedule:
    if isinstance(value, FeeSchedule):
        return value
    if not isinstance(value, Mapping):
        raise ConfigError("simulator config: fee_schedule must be a table with name and tiers")
    return FeeSchedule.from_config(value)


def instrument_to_dict(spec: InstrumentSpec) -> dict[str, Any]:
    """A spec as a plain table that :func:`instrument_from_config` reads back."""
    return {
        "symbol": spec.symbol,
        "tick_size": str(spec.tick_size),
        "lot_size": str(spec.lot_size),
        "base": spec.base,
        "quote": spec.quote,
        "contract_size": str(spec.contract_size),
        "margin_levels": [
            {
                "threshold": str(lv.threshold),
                "initial": str(lv.initial),
                "maintenance": str(lv.maintenance),
            }
            for lv in spec.margin_levels
        ],
        "max_position_size": str(spec.max_position_size),
        "impact_mid_size": str(spec.impact_mid_size),
        "max_relative_funding_rate": str(spec.max_relative_funding_rate),
        "funding_rate_coefficient": str(spec.funding_rate_coefficient),
        "reference_price": str(spec.reference_price),
        "price_band": str(spec.price_band),
        "market_collar": str(spec.market_collar),
        "opening_ts_ms": spec.opening_ts_ms,
    }


# ------------------------------------------------------------------------------ the structs


class OrderState(msgspec.Struct):
    """An open (resting or untriggered) order. ``key`` is its rank in time priority (the
    matching book's key); 0 for untriggered trigger orders. ``type`` as in :class:`OrderView`."""

    order_id: str
    account: str
    symbol: str
    side: Side
    type: str
    qty: Decimal
    filled: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    trigger_signal: TriggerSignal | None
    reduce_only: bool
    cli_ord_id: str | None
    ts_ms: int
    last_update_ts_ms: int
    key: int = 0

    def view(self) -> OrderView:
        """The immutable view reported to users."""
        return OrderView(
            order_id=self.order_id,
            cli_ord_id=self.cli_ord_id,
            type=self.type,
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            filled=self.filled,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trigger_signal=self.trigger_signal,
            reduce_only=self.reduce_only,
            ts_ms=self.ts_ms,
            last_update_ts_ms=self.last_update_ts_ms,
        )

    @property
    def remaining(self) -> Decimal:
        """Unfilled quantity."""
        return self.qty - self.filled


class ClosedOrder(msgspec.Struct):
    """An order that left the book: ``status`` is the ``orders/status`` value."""

    order: OrderView
    closed_ms: int
    status: str
    reason: str | None
    was_trigger: bool = False


class PositionState(msgspec.Struct):
    """A net position: signed ``qty``; ``unrealized_funding`` accrued up to ``accrued_ms``."""

    symbol: str
    qty: Decimal
    entry_price: Decimal
    fill_ts_ms: int
    accrued_ms: int
    uid: str
    unrealized_funding: Decimal = ZERO


class AccountData(msgspec.Struct):
    """One account: balances per wallet, positions, open orders and its records.

    ``flex`` balances by upper-case currency, ``cash`` by lower-case currency, ``margin`` per
    inverse margin account (``fi_xbtusd``) by lower-case coin. ``volume`` is traded USD
    notional per UTC day (epoch day number), for the 30-day fee tier.
    """

    name: str
    flex: dict[str, Decimal]
    cash: dict[str, Decimal]
    margin: dict[str, dict[str, Decimal]]
    stp: SelfTradeStrategy = SelfTradeStrategy.REJECT_TAKER
    positions: dict[str, PositionState] = {}
    orders: dict[str, OrderState] = {}
    cli_index: dict[str, str] = {}
    closed: dict[str, ClosedOrder] = {}
    closed_cli: dict[str, int] = {}
    volume: dict[int, Decimal] = {}
    fills: list[Fill] = []
    log: list[AccountLogEntry] = []
    history: list[HistoryEvent] = []
    next_log_id: int = 1
    dms_trigger_ms: int = 0
    liquidations: int = 0


class MarketState(msgspec.Struct):
    """Per-instrument market state (the book itself lives in the engine).

    ``funding_rel`` is the relative rate in effect for the current hour; ``triggers`` the ids
    of untriggered orders in placement order; ``candles[kind][minute] = [o, h, l, c, volume, quote_volume]``
    for kinds ``trade``, ``mark`` and ``spot``; ``long_oi`` the open interest (sum of longs).
    """

    symbol: str
    index_price: Decimal
    mark_price: Decimal
    trading_state: TradingState = TradingState.OPEN
    premium: Decimal = ZERO
    mark_pinned: bool = False
    mark_ts_ms: int = 0
    last_price: Decimal | None = None
    last_ts_ms: int | None = None
    last_qty: Decimal | None = None
    funding_rel: Decimal = ZERO
    funding_history: list[FundingRecord] = []
    trades: list[Trade] = []
    trade_seq: int = 0
    book_seq: int = 0
    long_oi: Decimal = ZERO
    triggers: list[str] = []
    candles: dict[str, dict[int, list[Decimal]]] = {}


class ExchangeState(msgspec.Struct):
    """Everything that changes, in one struct: what ``snapshot()`` serialises."""

    now_ms: int
    funding_cursor_ms: int
    markets: dict[str, MarketState]
    accounts: dict[str, AccountData] = {}
    notifications: list[Notification] = []
    next_key: int = 1
    rng_state: Any = None


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid(rng: Random) -> str:
    """A version-4 UUID string drawn from the injected RNG (reproducible under a seed); the
    same text as ``str(uuid.UUID(int=..., version=4))``, without building the object."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def trim(records: list[Any], cap: int) -> None:
    """Drop the oldest records beyond ``cap`` (in chunks, so appends stay amortised O(1))."""
    if len(records) > cap + max(64, cap // 10):
        del records[: len(records) - cap]


__all__ = [
    "AccountData",
    "ClosedOrder",
    "ExchangeConfig",
    "ExchangeState",
    "MarketState",
    "OrderState",
    "PositionState",
    "instrument_to_dict",
    "new_uuid",
    "trim",
]
