"""The hot path's shortcuts give exactly what the plain code gives (decision-to-wire work)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.decimals import EXACT
from krakenfutures.core.orders import OrderIntent
from krakenfutures.core.rest.schema_orders import SendOrderParams
from krakenfutures.core.types import OrderType, Side, TradingState
from krakenfutures.oms.tracker import CliOrdIdGenerator, OrderTracker, _stamped
from krakenfutures.risk.rules import Denied, RiskLimits, RiskState, _band, check_position
from krakenfutures.runtime.context import _ORDER_TYPES, _SIDES, _enum
from krakenfutures.runtime.live_venue import build_send_order, send_order_params

prices = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(200_000), places=2)
qtys = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1000), places=3)
types = st.sampled_from([t for t in OrderType if t is not OrderType.TRAILING_STOP])


@st.composite
def intents(draw: st.DrawFn) -> OrderIntent:
    order_type = draw(types)
    needs_limit = order_type in (OrderType.LMT, OrderType.POST, OrderType.IOC, OrderType.FOK)
    needs_stop = order_type in (OrderType.STP, OrderType.TAKE_PROFIT)
    return OrderIntent(
        symbol=draw(st.sampled_from(["PF_XBTUSD", "pi_ethusd", "FI_XBTUSD_260327"])),
        side=draw(st.sampled_from(Side)),
        qty=draw(qtys),
        order_type=order_type,
        limit_price=draw(prices) if needs_limit else draw(st.none() | prices),
        stop_price=draw(prices) if needs_stop else None,
        reduce_only=draw(st.booleans()),
        post_only=order_type in (OrderType.LMT, OrderType.POST) and draw(st.booleans()),
        cli_ord_id=draw(st.sampled_from(["", "bot-1", "x" * 100])),
        process_before_ms=draw(st.none() | st.integers(0, 4_102_444_800_000)),
    )


@given(intents())
def test_send_order_params_equal_the_keyword_route(intent: OrderIntent) -> None:
    assert send_order_params(intent) == SendOrderParams(**build_send_order(intent))


@given(intents(), st.integers(0, 2**45))
def test_stamped_equals_replace(intent: OrderIntent, deadline: int) -> None:
    expected = dataclasses.replace(intent, cli_ord_id="c-1", process_before_ms=deadline)
    assert _stamped(intent, "c-1", deadline) == expected


@given(st.lists(st.tuples(intents(), st.sampled_from(["a", "b"]), st.booleans()), max_size=12))
def test_live_sums_equal_the_separate_queries(orders: list[tuple[OrderIntent, str, bool]]) -> None:
    tracker = OrderTracker(CliOrdIdGenerator("t"))
    for intent, strategy, cancel in orders:
        stamped = tracker.submit(
            dataclasses.replace(intent, cli_ord_id=""), now_ms=1, strategy=strategy
        )
        if cancel:
            tracker.on_send_failed(stamped.cli_ord_id, now_ms=2, reason="test")
    for strategy in ("a", "b", "c"):
        for symbol in ("PF_XBTUSD", "PI_ETHUSD", "FI_XBTUSD_260327"):
            assert tracker.live_sums(strategy, symbol) == (
                tracker.live_count(strategy=strategy, symbol=symbol),
                tracker.live_qty(Side.BUY, symbol=symbol, strategy=strategy),
                tracker.live_qty(Side.SELL, symbol=symbol, strategy=strategy),
            )


@given(prices, prices, st.decimals(min_value=0, max_value=1, places=6))
def test_band_bounds_equal_the_exact_context_operators(
    mark: Decimal, price: Decimal, band: Decimal
) -> None:
    with localcontext(EXACT):
        low, high = mark * (1 - band), mark * (1 + band)
    verdict = _band(mark, "limit price", price, band)
    assert isinstance(verdict, Denied) is (not low <= price <= high)
    if isinstance(verdict, Denied):
        assert f"{low}..{high}" in verdict.reason


@given(intents(), qtys, qtys, st.decimals(min_value=-1000, max_value=1000, places=3), qtys)
def test_position_rule_equals_the_exact_context_operators(
    intent: OrderIntent, buy: Decimal, sell: Decimal, position: Decimal, limit: Decimal
) -> None:
    state = RiskState(TradingState.OPEN, None, position, buy, sell)
    with localcontext(EXACT):
        same_side = buy if intent.side is Side.BUY else -sell
        before = position + same_side
        after = before + intent.signed_qty
    denied = not intent.reduce_only and abs(after) > limit and abs(after) > abs(before)
    verdict = check_position(intent, state, RiskLimits(max_position_qty=limit))
    assert isinstance(verdict, Denied) is denied


@pytest.mark.parametrize("value", ["buy", "sell", Side.BUY, "lmt", "post", OrderType.STP])
def test_enum_lookup_equals_the_enum_call(value: object) -> None:
    for kind, table in ((Side, _SIDES), (OrderType, _ORDER_TYPES)):
        try:
            expected = kind(value)
        except ValueError:
            with pytest.raises(ValueError):
                _enum(kind, table, value)  # type: ignore[arg-type]
        else:
            assert _enum(kind, table, value) is expected  # type: ignore[arg-type]
