"""Margin levels, IM/MM, leverage and the linear liquidation price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.money import (
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

LIN, INV = ContractKind.LINEAR, ContractKind.INVERSE

# Live PI_XBTUSD marginLevels (reference §9.3), as JSON decodes them.
PI_XBTUSD_ROWS = [
    {"contracts": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01},
    {"contracts": 500000, "initialMargin": 0.04, "maintenanceMargin": 0.02},
    {"contracts": 1000000, "initialMargin": 0.06, "maintenanceMargin": 0.03},
    {"contracts": 3000000, "initialMargin": 0.1, "maintenanceMargin": 0.05},
    {"contracts": 50000000, "initialMargin": 0.4, "maintenanceMargin": 0.2},
]
PI_LEVELS = parse_margin_levels(PI_XBTUSD_ROWS)
PF_LEVELS = parse_margin_levels(
    [
        {
            "contracts": None,
            "numNonContractUnits": 1000000,
            "initialMargin": "0.04",
            "maintenanceMargin": "0.02",
        },
        {
            "contracts": None,
            "numNonContractUnits": 0,
            "initialMargin": "0.02",
            "maintenanceMargin": "0.01",
        },
    ]
)


def test_parse_margin_levels() -> None:
    assert PI_LEVELS[0] == MarginLevel(D(0), D("0.02"), D("0.01"))
    assert PI_LEVELS[-1] == MarginLevel(D(50000000), D("0.4"), D("0.2"))
    assert (
        MarginLevel(D(0), D("0.02"), D("0.01")),
        MarginLevel(D(1000000), D("0.04"), D("0.02")),
    ) == PF_LEVELS

    @dataclass
    class Row:
        numNonContractUnits: float
        initialMargin: float
        maintenanceMargin: float
        contracts: int | None = None

    assert parse_margin_levels([Row(0.0, 0.1, 0.05)]) == (
        MarginLevel(D("0.0"), D("0.1"), D("0.05")),
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "empty"),
        ([{"initialMargin": 0.02, "maintenanceMargin": 0.01}], "neither contracts"),
        ([{"contracts": 0, "maintenanceMargin": 0.01}], "missing initialMargin"),
        (
            [
                {"contracts": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01},
                {"contracts": 0, "initialMargin": 0.04, "maintenanceMargin": 0.02},
            ],
            "strictly ascend",
        ),
    ],
)
def test_parse_margin_levels_refuses_bad_rows(rows: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_margin_levels(rows)


@pytest.mark.parametrize(
    ("size", "initial", "maintenance"),
    [
        ("0", "0.02", "0.01"),
        ("499999", "0.02", "0.01"),
        ("500000", "0.04", "0.02"),  # threshold inclusive (conservative)
        ("-750000", "0.04", "0.02"),  # sign ignored
        ("2999999.5", "0.06", "0.03"),
        ("3000000", "0.1", "0.05"),
        ("75000000", "0.4", "0.2"),
    ],
)
def test_margin_rates_pick_the_level(size: str, initial: str, maintenance: str) -> None:
    assert margin_rates(PI_LEVELS, D(size)) == (D(initial), D(maintenance))


def test_first_level_applies_below_its_threshold() -> None:
    levels = (MarginLevel(D(100), D("0.1"), D("0.05")), MarginLevel(D(200), D("0.2"), D("0.1")))
    assert margin_rates(levels, D(5)) == (D("0.1"), D("0.05"))


def test_inverse_margin_in_coin() -> None:
    # 100,000 USD contracts at 50,000 = 2 XBT; level I: IM 2 % = 0.04 XBT, MM 1 % = 0.02 XBT.
    assert initial_margin(INV, D(100000), D(50000), PI_LEVELS) == D("0.04")
    assert maintenance_margin(INV, D(-100000), D(50000), PI_LEVELS) == D("0.02")
    # 600,000 contracts: level II by contract count (4 %), 12 XBT notional.
    assert initial_margin(INV, D(600000), D(50000), PI_LEVELS) == D("0.48")


def test_linear_margin_in_usd_by_notional() -> None:
    assert initial_margin(LIN, D(1), D(50000), PF_LEVELS) == D(1000)
    assert maintenance_margin(LIN, D(-1), D(50000), PF_LEVELS) == D(500)
    # 20 XBT at 50,000 = 1,000,000 USD notional: level II.
    assert initial_margin(LIN, D(20), D(50000), PF_LEVELS) == D(40000)


def test_extreme_volatility_multiplier_raises_initial_margin_only() -> None:
    assert initial_margin(LIN, D(1), D(50000), PF_LEVELS, im_multiplier=D("2.5")) == D(2500)
    with pytest.raises(ConfigError, match="multiplier"):
        initial_margin(LIN, D(1), D(50000), PF_LEVELS, im_multiplier=D(0))


def test_max_leverage() -> None:
    assert max_leverage(PI_LEVELS) == D(50)
    assert max_leverage([MarginLevel(D(0), D("0.5"), D("0.25"))]) == D(2)
    with pytest.raises(ConfigError):
        max_leverage([])


def test_margin_needs_a_positive_price() -> None:
    with pytest.raises(ConfigError, match="price"):
        initial_margin(INV, D(1), D(0), PI_LEVELS)


@given(
    st.sampled_from([LIN, INV]),
    st.decimals(min_value=D(0), max_value=D("1e8"), places=2),
    st.decimals(min_value=D(0), max_value=D("1e8"), places=2),
    st.decimals(min_value=D("0.01"), max_value=D("1e6"), places=2),
)
def test_margin_grows_with_size(kind: ContractKind, q1: D, q2: D, price: D) -> None:
    small, big = sorted((q1, q2))
    levels = PI_LEVELS if kind is INV else PF_LEVELS
    assert initial_margin(kind, small, price, levels) <= initial_margin(kind, big, price, levels)
    assert maintenance_margin(kind, big, price, levels) <= initial_margin(kind, big, price, levels)


def test_liquidation_price_examples() -> None:
    # Long 1 at 50,000 with 5,000 collateral and 1 % MM: (50,000 - 5,000) / 0.99.
    long_liq = liquidation_price_linear(D(1), D(50000), D(5000), D("0.01"))
    assert long_liq is not None and abs(long_liq - D(45000) / D("0.99")) < D("1e-20")
    short_liq = liquidation_price_linear(D(-1), D(50000), D(5000), D("0.01"))
    assert short_liq is not None and abs(short_liq - D(55000) / D("1.01")) < D("1e-20")
    assert (
        liquidation_price_linear(D(1), D(50000), D(60000), D("0.01")) is None
    )  # over-collateralised
    assert liquidation_price_linear(D(0), D(50000), D(1), D("0.01")) is None
    with pytest.raises(ConfigError):
        liquidation_price_linear(D(1), D(50000), D(1), D(1))


@given(
    st.decimals(min_value=D("-100"), max_value=D("100"), places=3).filter(lambda q: q != 0),
    st.decimals(min_value=D(1), max_value=D(100000), places=1),
    st.decimals(min_value=D(0), max_value=D(100000), places=2),
    st.decimals(min_value=D(0), max_value=D("0.5"), places=4),
)
def test_equity_equals_maintenance_at_the_liquidation_price(
    qty: D, entry: D, collateral: D, mm: D
) -> None:
    price = liquidation_price_linear(qty, entry, collateral, mm)
    if price is None:
        assert qty > 0
        return
    equity = collateral + qty * (price - entry)
    assert abs(equity - abs(qty) * price * mm) <= D("1e-18") * (abs(qty) * entry + collateral + 1)
