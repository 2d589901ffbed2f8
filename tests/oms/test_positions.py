"""PositionBook: hand-computed PnL with fees and funding, linear and inverse; no double booking."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.money import fee_for_fill
from krakenfutures.core.types import ContractKind, Side
from krakenfutures.errors import ValidationError
from krakenfutures.oms import FillRecord, PositionBook, PositionRecord, settlement_currency

LIN, INV = "PF_XBTUSD", "PI_XBTUSD"


def fill(
    fill_id: str,
    side: Side,
    qty: str,
    price: str,
    fee: str,
    *,
    symbol: str = LIN,
    ts_ms: int = 1,
) -> FillRecord:
    return FillRecord(
        fill_id=fill_id,
        order_id="o",
        cli_ord_id="c",
        symbol=symbol,
        side=side,
        qty=D(qty),
        price=D(price),
        fee=D(fee),
        fee_currency=settlement_currency(symbol),
        ts_ms=ts_ms,
        maker=False,
    )


def test_settlement_currency():
    assert settlement_currency("pf_xbtusd") == "USD"
    assert settlement_currency("FF_ETHUSD_250627") == "USD"
    assert settlement_currency("PI_XBTUSD") == "XBT"
    assert settlement_currency("FI_ETHUSD_250627") == "ETH"


def test_linear_round_trip_with_fees_and_funding():
    book = PositionBook()
    # Buy 2 @ 50,000, taker 0.05 %: fee 2 * 50,000 * 0.0005 = 50 USD.
    assert fee_for_fill(ContractKind.LINEAR, D(2), D(50000), maker=False) == D(50)
    book.apply_fill(fill("f1", Side.BUY, "2", "50000", "50"), strategy="mm")
    # Sell 1 @ 51,000, maker 0.02 %: fee 10.2 USD; realised 1 * (51,000 - 50,000) = 1,000.
    p = book.apply_fill(fill("f2", Side.SELL, "1", "51000", "10.2"), strategy="mm")
    assert p is not None
    assert (p.qty, p.entry_price, p.realized_pnl, p.fees_paid) == (
        D(1),
        D(50000),
        D(1000),
        D("60.2"),
    )
    # Funding: +0.01 %/h at 52,000 on 1 long pays 5.2; -0.005 %/h at 50,000 pays us 2.5.
    assert book.apply_funding(LIN, relative_rate=D("0.0001"), price=D(52000), ts_ms=3_600_000) == {
        "mm": D("5.2")
    }
    book.apply_funding(LIN, relative_rate=D("-0.00005"), price=D(50000), ts_ms=7_200_000)
    p = book.get("mm", LIN)
    assert (p.funding_paid, p.funding_received, p.net_funding) == (D("5.2"), D("2.5"), D("-2.7"))
    # Unrealised at mark 52,000: 1 * 2,000. Net = 1,000 - 60.2 - 5.2 + 2.5 + 2,000 = 2,937.1.
    assert p.unrealized_pnl(D(52000)) == D(2000)
    assert p.net_pnl(D(52000)) == D("2937.1")
    assert book.total_pnl({"pf_xbtusd": D(52000)}) == {"USD": D("2937.1")}
    assert p.currency == "USD" and p.fill_count == 2 and p.last_ts_ms == 7_200_000


def test_inverse_round_trip_in_coin():
    book = PositionBook()
    # Buy 10,000 contracts (USD) @ 40,000, taker: 10,000 * 0.0005 / 40,000 = 0.000125 XBT.
    assert fee_for_fill(ContractKind.INVERSE, D(10000), D(40000), maker=False) == D("0.000125")
    book.apply_fill(fill("i1", Side.BUY, "10000", "40000", "0.000125", symbol=INV))
    p = book.get("", INV)
    # Unrealised at 50,000: 10,000 * (1/40,000 - 1/50,000) = 0.05 XBT.
    assert p.unrealized_pnl(D(50000)) == D("0.05")
    # Funding +0.01 %/h at 50,000: 10,000 * 0.0001 / 50,000 = 0.00002 XBT paid.
    book.apply_funding(INV, relative_rate=D("0.0001"), price=D(50000), ts_ms=3_600_000)
    # Sell 10,000 @ 50,000, maker: 10,000 * 0.0002 / 50,000 = 0.00004 XBT.
    p = book.apply_fill(fill("i2", Side.SELL, "10000", "50000", "0.00004", symbol=INV))
    assert p is not None and p.qty == 0 and p.entry_price == 0
    assert p.realized_pnl == D("0.05") and p.fees_paid == D("0.000165")
    # Net = 0.05 - 0.000165 - 0.00002 = 0.049815 XBT; flat, so no mark is needed.
    assert p.net_pnl() == D("0.049815")
    assert book.total_pnl({}) == {"XBT": D("0.049815")}


def test_short_reversal_and_rebates():
    book = PositionBook()
    book.apply_fill(fill("s1", Side.SELL, "3", "100", "-0.06"))  # maker rebate lowers fees
    p = book.apply_fill(fill("s2", Side.BUY, "5", "90", "0.225"))  # closes 3, opens 2 long @ 90
    assert p is not None
    assert (p.qty, p.entry_price, p.realized_pnl) == (D(2), D(90), D(30))
    assert p.fees_paid == D("0.165")


def test_each_fill_and_funding_is_booked_once():
    book = PositionBook()
    f = fill("f1", Side.BUY, "1", "100", "0.05")
    assert book.apply_fill(f) is not None
    assert book.apply_fill(f) is None
    assert book.apply_fill(f, strategy="other") is None  # one fill belongs to one owner
    assert book.apply_funding(LIN, relative_rate=D("0.001"), price=D(100), ts_ms=5) == {
        "": D("0.1")
    }
    assert book.apply_funding(LIN, relative_rate=D("0.001"), price=D(100), ts_ms=5) == {}
    assert book.apply_funding_payment("", LIN, D("-0.3"), ts_ms=9, payment_id="log-1")
    assert not book.apply_funding_payment("", LIN, D("-0.3"), ts_ms=9, payment_id="log-1")
    p = book.get("", LIN)
    assert (p.qty, p.fees_paid, p.funding_paid, p.funding_received) == (
        D(1),
        D("0.05"),
        D("0.1"),
        D("0.3"),
    )


def test_strategies_are_kept_apart_and_add_up():
    book = PositionBook()
    book.apply_fill(fill("a", Side.BUY, "2", "100", "0"), strategy="mm")
    book.apply_fill(fill("b", Side.SELL, "0.5", "100", "0"), strategy="carry")
    book.apply_fill(fill("c", Side.BUY, "1", "10000", "0", symbol=INV), strategy="carry")
    assert book.net_qty(LIN) == D("1.5")
    payments = book.apply_funding(LIN, relative_rate=D("0.01"), price=D(100), ts_ms=1)
    assert payments == {"mm": D(2), "carry": D("-0.5")}  # the short receives
    assert [p.strategy for p in book.positions(strategy="carry")] == ["carry", "carry"]
    totals = book.total_pnl({LIN: D(110), INV: D(10000)}, strategy="carry")
    assert totals == {"USD": D("-5") + D("0.5"), "XBT": D(0)}
    assert book.diff([PositionRecord(LIN, D("1.5"), D(100)), PositionRecord(INV, D(2), D(1))]) == {
        INV: (D(1), D(2))
    }


def test_an_open_position_needs_a_mark():
    book = PositionBook()
    book.apply_fill(fill("a", Side.BUY, "1", "100", "0"))
    with pytest.raises(ValidationError, match="mark price"):
        book.get("", LIN).net_pnl()
    with pytest.raises(ValidationError):
        book.total_pnl({})


prices = st.decimals(min_value=D("0.5"), max_value=D("100000"), places=1)
qtys = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3)


@given(
    st.lists(st.tuples(st.sampled_from([Side.BUY, Side.SELL]), qtys, prices), max_size=20), prices
)
def test_realised_plus_unrealised_equals_cash_flow(trades, mark):
    """Linear, no fees: total PnL = cash received - cash paid + position value at the mark."""
    book = PositionBook()
    cash = D(0)
    for i, (side, qty, price) in enumerate(trades):
        book.apply_fill(fill(f"f{i}", side, str(qty), str(price), "0"))
        cash += -qty * price if side is Side.BUY else qty * price
    p = book.get("", LIN)
    # Exact but for the average entry price, a division rounded to 28 digits on each add.
    scale = 1 + sum(qty * price for _, qty, price in trades) + abs(p.qty) * mark
    assert abs(p.net_pnl(mark) - (cash + p.qty * mark)) <= scale * D("1e-24")
