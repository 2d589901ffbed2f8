"""Fees, notional, PnL and average entry: hand-computed examples from the reference plus properties."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.money import (
    DEFAULT_FEE_SCHEDULE,
    FeeSchedule,
    FeeTier,
    apply_fill,
    average_entry_price,
    fee_for_fill,
    notional_usd,
    pnl,
    unrealized_pnl,
)
from krakenfutures.core.types import ContractKind
from krakenfutures.errors import ConfigError

LIN, INV = ContractKind.LINEAR, ContractKind.INVERSE

prices = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4)
qtys = st.decimals(min_value=D("-1000000"), max_value=D("1000000"), places=4)
nonzero_qtys = qtys.filter(lambda q: q != 0)
positive_qtys = st.decimals(min_value=D("0.0001"), max_value=D("1000000"), places=4)
volumes = st.decimals(min_value=D(0), max_value=D("1000000000"), places=2)
kinds = st.sampled_from([LIN, INV])

# /feeschedules rows exactly as JSON decodes them (percent, floats; reference §8.1).
WIRE_ROWS = [
    {"makerFee": 0.02, "takerFee": 0.05, "usdVolume": 0.0},
    {"makerFee": 0.015, "takerFee": 0.04, "usdVolume": 100000.0},
    {"makerFee": 0.0125, "takerFee": 0.03, "usdVolume": 1000000.0},
    {"makerFee": 0.01, "takerFee": 0.025, "usdVolume": 5000000.0},
    {"makerFee": 0.0075, "takerFee": 0.02, "usdVolume": 10000000.0},
    {"makerFee": 0.005, "takerFee": 0.015, "usdVolume": 20000000.0},
    {"makerFee": 0.0025, "takerFee": 0.0125, "usdVolume": 50000000.0},
    {"makerFee": 0.0, "takerFee": 0.01, "usdVolume": 100000000.0},
]


def close(a: D, b: D, rel: D = D("1e-25")) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), D(1))


# ------------------------------------------------------------------------------ fee schedule


def test_default_schedule_is_the_eight_published_tiers() -> None:
    tiers = DEFAULT_FEE_SCHEDULE.tiers
    assert len(tiers) == 8
    assert [t.min_volume_usd for t in tiers] == [
        D(v) for v in ("0", "1e5", "1e6", "5e6", "1e7", "2e7", "5e7", "1e8")
    ]
    assert [t.maker for t in tiers] == [
        D(v)
        for v in ("0.0002", "0.00015", "0.000125", "0.0001", "0.000075", "0.00005", "0.000025", "0")
    ]
    assert [t.taker for t in tiers] == [
        D(v)
        for v in (
            "0.0005",
            "0.0004",
            "0.0003",
            "0.00025",
            "0.0002",
            "0.00015",
            "0.000125",
            "0.0001",
        )
    ]


@pytest.mark.parametrize(
    ("volume", "maker", "taker"),
    [
        ("0", "0.0002", "0.0005"),
        ("99999.99", "0.0002", "0.0005"),
        ("100000", "0.0002", "0.0005"),  # "0 – 100,000" includes 100,000
        ("100000.01", "0.00015", "0.0004"),  # strictly above the breakpoint moves up
        ("100001", "0.00015", "0.0004"),
        ("1000000", "0.00015", "0.0004"),
        ("1000000.01", "0.000125", "0.0003"),
        ("100000000", "0.000025", "0.000125"),
        ("100000001", "0", "0.0001"),
        ("1e12", "0", "0.0001"),
    ],
)
def test_tier_boundaries(volume: str, maker: str, taker: str) -> None:
    assert DEFAULT_FEE_SCHEDULE.rate(maker=True, volume_30d_usd=D(volume)) == D(maker)
    assert DEFAULT_FEE_SCHEDULE.rate(maker=False, volume_30d_usd=D(volume)) == D(taker)


def test_negative_volume_is_refused() -> None:
    with pytest.raises(ConfigError, match="30-day volume"):
        DEFAULT_FEE_SCHEDULE.tier_for(D(-1))


def test_from_percent_tiers_reads_the_wire_rows() -> None:
    schedule = FeeSchedule.from_percent_tiers(reversed(WIRE_ROWS), name="mainfees")
    assert schedule.tiers == DEFAULT_FEE_SCHEDULE.tiers
    assert schedule.name == "mainfees"


def test_from_percent_tiers_accepts_objects_with_either_spelling() -> None:
    @dataclass
    class Camel:
        makerFee: str
        takerFee: str
        usdVolume: str

    @dataclass
    class Snake:
        maker_fee: D
        taker_fee: D
        usd_volume: int

    schedule = FeeSchedule.from_percent_tiers(
        [Camel("0.02", "0.05", "0"), Snake(D("-0.01"), D("0.01"), 250_000_000)]
    )
    assert schedule.tiers == (
        FeeTier(D(0), D("0.0002"), D("0.0005")),
        FeeTier(D(250_000_000), D("-0.0001"), D("0.0001")),
    )


def test_from_percent_tiers_refuses_fractions_and_gaps() -> None:
    with pytest.raises(ConfigError, match="percent vs fraction"):
        FeeSchedule.from_percent_tiers([{"makerFee": 2, "takerFee": 5, "usdVolume": 0}])
    with pytest.raises(ConfigError, match="missing takerFee"):
        FeeSchedule.from_percent_tiers([{"makerFee": 0.02, "usdVolume": 0}])
    with pytest.raises(ConfigError, match="start at 0"):
        FeeSchedule.from_percent_tiers([{"makerFee": 0.02, "takerFee": 0.05, "usdVolume": 5}])
    with pytest.raises(ConfigError, match="no tiers"):
        FeeSchedule.from_percent_tiers([])
    with pytest.raises(ConfigError, match="not a decimal"):
        FeeSchedule.from_percent_tiers([{"makerFee": "abc", "takerFee": 0.05, "usdVolume": 0}])


def test_from_config_percent_and_fraction() -> None:
    schedule = FeeSchedule.from_config(
        {
            "name": "mine",
            "tiers": [
                {"min_volume_usd": "1000000", "maker": "0.0001", "taker": 0.0003},
                {"min_volume_usd": 0, "maker_pct": "0.02", "taker_pct": 0.05},
            ],
        }
    )
    assert schedule.name == "mine"
    assert schedule.tiers == (
        FeeTier(D(0), D("0.0002"), D("0.0005")),
        FeeTier(D(1000000), D("0.0001"), D("0.0003")),
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tiers": []}, "non-empty list"),
        ({"tier": []}, "unknown keys"),
        (
            {
                "tiers": [
                    {"min_volume_usd": 0, "maker": "0.0002", "maker_pct": "0.02", "taker": "0"}
                ]
            },
            "exactly one",
        ),
        ({"tiers": [{"min_volume_usd": 0, "taker": "0.0005"}]}, "exactly one"),
        ({"tiers": [{"maker": "0.0002", "taker": "0.0005"}]}, "min_volume_usd is required"),
        (
            {"tiers": [{"min_volume_usd": 0, "maker": "0.02", "taker": "0.05"}]},
            "percent vs fraction",
        ),
        (
            {"tiers": [{"min_volume_usd": 0, "maker": "0", "taker": "0", "tacker": 1}]},
            "unknown keys",
        ),
        ({"tiers": ["0.02"]}, "expected a table"),
        ({"name": 3, "tiers": []}, "name must be a string"),
        ({"tiers": [{"min_volume_usd": True, "maker": "0", "taker": "0"}]}, "boolean"),
        (
            {
                "tiers": [
                    {"min_volume_usd": 0, "maker": "0", "taker": "0"},
                    {"min_volume_usd": 0, "maker": "0", "taker": "0"},
                ]
            },
            "strictly ascend",
        ),
    ],
)
def test_from_config_refuses_bad_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        FeeSchedule.from_config(table)


@given(volumes, volumes, st.booleans())
def test_rate_is_non_increasing_in_volume(v1: D, v2: D, maker: bool) -> None:
    low, high = sorted((v1, v2))
    assert DEFAULT_FEE_SCHEDULE.rate(maker=maker, volume_30d_usd=high) <= DEFAULT_FEE_SCHEDULE.rate(
        maker=maker, volume_30d_usd=low
    )


@given(kinds, positive_qtys, prices, volumes, volumes, st.booleans())
def test_fee_is_non_increasing_in_volume(
    kind: ContractKind, qty: D, price: D, v1: D, v2: D, maker: bool
) -> None:
    low, high = sorted((v1, v2))
    fee_low = fee_for_fill(kind, qty, price, maker=maker, volume_30d_usd=low)
    fee_high = fee_for_fill(kind, qty, price, maker=maker, volume_30d_usd=high)
    assert D(0) <= fee_high <= fee_low


# ------------------------------------------------------------------------------ notional, fees


def test_notional() -> None:
    assert notional_usd(LIN, D("2.5"), D(40000)) == D(100000)
    assert notional_usd(LIN, D("-2.5"), D(40000)) == D(100000)
    assert notional_usd(INV, D(-100000), D(4000)) == D(100000)


def test_inverse_fee_example_from_kraken() -> None:
    # 100,000 USD contracts at 4,000 = 25 XBT notional; 0.05 % taker -> 0.0125 XBT.
    assert fee_for_fill(INV, D(100000), D(4000), maker=False) == D("0.0125")
    assert fee_for_fill(INV, D(-100000), D(4000), maker=False) == D("0.0125")


def test_linear_fee_examples() -> None:
    assert fee_for_fill(LIN, D(1), D(50000), maker=False) == D(25)
    assert fee_for_fill(LIN, D(-1), D(50000), maker=True) == D(10)
    # The support page's 0.04 % of 2 BTC is 0.0008 BTC (it prints 0.008): tier 2 taker.
    assert fee_for_fill(LIN, D(2), D(50000), maker=False, volume_30d_usd=D(500000)) / D(50000) == D(
        "0.0008"
    )
    assert fee_for_fill(LIN, D(1), D(50000), maker=True, volume_30d_usd=D("2e8")) == 0


def test_rebate_gives_negative_fee() -> None:
    rebate = FeeSchedule((FeeTier(D(0), D("-0.0001"), D("0.0001")),), name="rebate")
    assert fee_for_fill(LIN, D(2), D(100), maker=True, schedule=rebate) == D("-0.02")
    assert fee_for_fill(INV, D(1000), D(50000), maker=True, schedule=rebate) == D("-0.000002")


def test_fee_needs_a_positive_price() -> None:
    with pytest.raises(ConfigError, match="fill price"):
        fee_for_fill(INV, D(1), D(0), maker=False)


@given(kinds, qtys, prices, st.booleans())
def test_fee_ignores_the_sign_of_qty(kind: ContractKind, qty: D, price: D, maker: bool) -> None:
    assert fee_for_fill(kind, qty, price, maker=maker) == fee_for_fill(
        kind, -qty, price, maker=maker
    )


@given(positive_qtys, prices, st.booleans())
def test_inverse_fee_is_linear_fee_in_coin(qty: D, price: D, maker: bool) -> None:
    # qty USD contracts at price = qty/price coins; the fee in USD is the same either way.
    inv = fee_for_fill(INV, qty, price, maker=maker)
    assert close(
        inv * price,
        notional_usd(INV, qty, price) * DEFAULT_FEE_SCHEDULE.rate(maker=maker, volume_30d_usd=D(0)),
    )


# ------------------------------------------------------------------------------------- PnL


def test_linear_pnl_examples() -> None:
    assert pnl(LIN, D(2), D(50000), D(51000)) == D(2000)
    assert pnl(LIN, D(-2), D(50000), D(51000)) == D(-2000)
    assert unrealized_pnl(LIN, D("0.5"), D(100), D(90)) == D(-5)


def test_inverse_pnl_examples() -> None:
    # 10,000 USD long from 20,000 to 25,000: 10,000 * (1/20,000 - 1/25,000) = 0.1 XBT.
    assert pnl(INV, D(10000), D(20000), D(25000)) == D("0.1")
    assert pnl(INV, D(-10000), D(20000), D(25000)) == D("-0.1")
    # Falling price: 10,000 * (1/25,000 - 1/20,000) = -0.1 XBT for the long.
    assert pnl(INV, D(10000), D(25000), D(20000)) == D("-0.1")
    assert pnl(INV, D(0), D(1), D(2)) == 0


def test_pnl_needs_positive_prices() -> None:
    with pytest.raises(ConfigError, match="entry price"):
        pnl(INV, D(1), D(0), D(1))
    with pytest.raises(ConfigError, match="exit price"):
        pnl(LIN, D(1), D(1), D(-1))


@given(kinds, qtys, prices, prices)
def test_pnl_is_antisymmetric_in_qty(kind: ContractKind, qty: D, entry: D, exit_: D) -> None:
    assert pnl(kind, qty, entry, exit_) == -pnl(kind, -qty, entry, exit_)


@given(kinds, qtys, prices, prices)
def test_pnl_reverses_with_the_prices(kind: ContractKind, qty: D, entry: D, exit_: D) -> None:
    assert pnl(kind, qty, entry, exit_) == -pnl(kind, qty, exit_, entry)


@given(kinds, qtys, prices, prices, prices)
def test_pnl_is_additive_over_a_middle_price(
    kind: ContractKind, qty: D, entry: D, middle: D, exit_: D
) -> None:
    whole = pnl(kind, qty, entry, exit_)
    first, second = pnl(kind, qty, entry, middle), pnl(kind, qty, middle, exit_)
    # Tolerance relative to the largest leg: the legs may nearly cancel.
    assert abs(first + second - whole) <= D("1e-25") * max(abs(first), abs(second), D(1))


@given(nonzero_qtys, prices, prices)
def test_long_profits_when_price_rises(qty: D, entry: D, exit_: D) -> None:
    for kind in (LIN, INV):
        result = pnl(kind, abs(qty), entry, exit_)
        assert (result > 0) == (exit_ > entry)


# --------------------------------------------------------------------------- average entry


def test_average_entry_examples() -> None:
    assert average_entry_price(LIN, D(1), D(100), D(3), D(200)) == D(175)
    assert average_entry_price(LIN, D(-1), D(100), D(-1), D(200)) == D(150)
    # Inverse: harmonic, 100 contracts at 100 + 100 at 200 = 200 / (1 + 0.5).
    inv = average_entry_price(INV, D(100), D(100), D(100), D(200))
    assert close(inv, D(400) / D(3))
    assert average_entry_price(LIN, D(0), D(0), D(-2), D(99)) == D(99)  # from flat
    assert average_entry_price(LIN, D(5), D(100), D(0), D(99)) == D(100)  # nothing filled
    assert average_entry_price(LIN, D(5), D(100), D(-2), D(120)) == D(100)  # reduce
    assert average_entry_price(INV, D(-5), D(100), D(2), D(120)) == D(100)  # reduce short
    assert average_entry_price(LIN, D(5), D(100), D(-5), D(120)) == D(0)  # flat
    assert average_entry_price(INV, D(5), D(100), D(-8), D(120)) == D(120)  # flip


@given(kinds, positive_qtys, prices, positive_qtys, prices, st.booleans())
def test_adding_keeps_entry_between_old_entry_and_fill(
    kind: ContractKind, old: D, entry: D, fill: D, price: D, short: bool
) -> None:
    sign = -1 if short else 1
    new = average_entry_price(kind, sign * old, entry, sign * fill, price)
    assert min(entry, price) <= new <= max(entry, price)


@given(kinds, positive_qtys, prices, positive_qtys, prices)
def test_inverse_average_keeps_coin_value(
    kind: ContractKind, old: D, entry: D, fill: D, price: D
) -> None:
    # The averaged entry reproduces the USD (linear) / coin (inverse) cost of both lots.
    new = average_entry_price(kind, old, entry, fill, price)
    if kind is INV:
        assert close((old + fill) / new, old / entry + fill / price)
    else:
        assert close((old + fill) * new, old * entry + fill * price)


# ---------------------------------------------------------------------------- apply_fill


def test_apply_fill_open_add_reduce_flip_close() -> None:
    p = apply_fill(LIN, D(0), D(0), D(2), D(100))
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(2), D(100), D(0))
    p = apply_fill(LIN, p.qty, p.entry_price, D(2), D(110))
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(4), D(105), D(0))
    p = apply_fill(LIN, p.qty, p.entry_price, D(-1), D(115))
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(3), D(105), D(10))
    p = apply_fill(LIN, p.qty, p.entry_price, D(-5), D(95))  # closes 3 (-30), opens 2 short
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(-2), D(95), D(-30))
    p = apply_fill(LIN, p.qty, p.entry_price, D(2), D(90))
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(0), D(0), D(10))


def test_apply_fill_inverse_close() -> None:
    p = apply_fill(INV, D(10000), D(20000), D(-10000), D(25000))
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(0), D(0), D("0.1"))


@given(
    kinds,
    st.lists(st.tuples(nonzero_qtys, prices), min_size=1, max_size=8),
    prices,
)
def test_realized_pnl_of_a_round_trip_equals_the_cash_flows(
    kind: ContractKind, fills: list[tuple[D, D]], close_price: D
) -> None:
    # Linear: sum of -qty*price over all fills (USD). Inverse: sum of qty/price (coin).
    qty, entry, realized = D(0), D(0), D(0)
    total = sum((q for q, _ in fills), D(0))
    for q, p in [*fills, (-total, close_price)]:
        if q == 0:
            continue
        after = apply_fill(kind, qty, entry, q, p)
        qty, entry, realized = after.qty, after.entry_price, realized + after.realized_pnl
    assert qty == 0
    flows = [*fills, (-total, close_price)]
    if kind is LIN:
        expected = sum((-q * p for q, p in flows), D(0))
    else:
        expected = sum((q / p for q, p in flows if q != 0), D(0))
    scale = sum((abs(q) * p if kind is LIN else abs(q) / p for q, p in flows), D(1))
    assert abs(realized - expected) <= D("1e-20") * scale
