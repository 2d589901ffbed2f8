"""Intent -> uws params (the open points read from UwsAssumptions) and the request helpers."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent
from krakenfutures.core.types import OrderType, Side
from krakenfutures.core.uws.assumptions import (
    DEFAULT_ASSUMPTIONS,
    QtyUnit,
    SymbolFormat,
    UwsAssumptions,
)
from krakenfutures.core.uws.build import (
    build_add_order,
    build_amend_order,
    build_authorized,
    build_cancel_order,
    build_subscriptions,
    expected_responses,
)
from krakenfutures.core.uws.schema import encode
from krakenfutures.core.uws.schema_orders import CancelAllParams, CancelOrderParams
from krakenfutures.errors import ValidationError

XBT = "PF_XBTUSD"


def wire(intent: OrderIntent, assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(encode(build_add_order(intent, assumptions)))
    return out


@pytest.mark.parametrize(
    ("order_type", "extra", "expected"),
    [
        (
            OrderType.LMT,
            {"limit_price": D("60000.5")},
            {"order_type": "limit", "limit_price": 60000.5},
        ),
        (
            OrderType.POST,
            {"limit_price": D(60000)},
            {"order_type": "limit", "limit_price": 60000, "post_only": True},
        ),
        (
            OrderType.IOC,
            {"limit_price": D(60000)},
            {"order_type": "limit", "limit_price": 60000, "time_in_force": "ioc"},
        ),
        (
            OrderType.FOK,
            {"limit_price": D(60000)},
            {"order_type": "limit", "limit_price": 60000, "time_in_force": "fok"},
        ),
        (OrderType.MKT, {}, {"order_type": "market"}),
        (
            OrderType.STP,
            {"stop_price": D(59000)},
            {"order_type": "stop-loss", "triggers": {"price": 59000, "reference": "last"}},
        ),
        (
            OrderType.STP,
            {"stop_price": D(59000), "limit_price": D(58900)},
            {
                "order_type": "stop-loss-limit",
                "limit_price": 58900,
                "triggers": {"price": 59000, "reference": "last"},
            },
        ),
        (
            OrderType.TAKE_PROFIT,
            {"stop_price": D(62000)},
            {"order_type": "take-profit", "triggers": {"price": 62000, "reference": "last"}},
        ),
    ],
)
def test_order_types(
    order_type: OrderType, extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    intent = OrderIntent(XBT, Side.BUY, D("0.0100"), order_type=order_type, **extra)
    assert wire(intent) == {
        "side": "buy",
        "order_qty": 0.01,
        "asset_class": "derivatives",
        "symbol": XBT,
        **expected,
    }


def test_ids_deadline_reduce_only_and_symbol_spelling() -> None:
    intent = OrderIntent(
        XBT,
        Side.SELL,
        D(1),
        limit_price=D(100),
        reduce_only=True,
        cli_ord_id="bot-1",
        process_before_ms=1721555639050,
    )
    pair = UwsAssumptions(symbol_format=SymbolFormat.PAIR, tif_ioc="IOC")
    out = wire(intent, pair)
    assert out["symbol"] == "BTC/USD" and out["cl_ord_id"] == "bot-1" and out["reduce_only"] is True
    assert out["deadline"] == "2024-07-21T09:53:59.050Z"
    ioc = OrderIntent(XBT, Side.SELL, D(1), order_type=OrderType.IOC, limit_price=D(100))
    assert wire(ioc, pair)["time_in_force"] == "IOC"


def test_refusals() -> None:
    trailing = OrderIntent(XBT, Side.BUY, D(1), order_type=OrderType.TRAILING_STOP, stop_price=D(1))
    with pytest.raises(ValidationError, match="trailing"):
        build_add_order(trailing, DEFAULT_ASSUMPTIONS)
    base = UwsAssumptions(qty_unit=QtyUnit.BASE)
    inverse = OrderIntent("PI_XBTUSD", Side.BUY, D(100), limit_price=D(60000))
    with pytest.raises(ValidationError, match="qty_unit"):
        build_add_order(inverse, base)
    assert build_add_order(OrderIntent(XBT, Side.BUY, D(1), limit_price=D(1)), base).order_qty == D(
        1
    )


def test_amend_and_cancel() -> None:
    by_id = build_amend_order(AmendIntent("bot-1", qty=D(2), order_id="uuid-1"))
    assert json.loads(encode(by_id)) == {
        "asset_class": "derivatives",
        "order_id": "uuid-1",
        "order_qty": 2,
    }
    by_cli = build_amend_order(AmendIntent("bot-1", limit_price=D("61031.3"), stop_price=D(60000)))
    assert json.loads(encode(by_cli)) == {
        "asset_class": "derivatives",
        "cl_ord_id": "bot-1",
        "limit_price": 61031.3,
        "trigger_price": 60000,
    }
    assert build_cancel_order(CancelIntent("bot-1", "uuid-1")) == CancelOrderParams(
        asset_class="derivatives", order_id=["uuid-1"]
    )
    assert build_cancel_order(CancelIntent("bot-1")).cl_ord_id == ["bot-1"]


def test_authorization_and_response_counts() -> None:
    a = DEFAULT_ASSUMPTIONS
    mine = CancelAllParams(asset_class="derivatives", token="kept")
    assert (
        build_authorized("cancel_all", mine, "new", asset_class="derivatives", assumptions=a)
        is mine
    )
    filled = build_authorized(
        "cancel_all",
        CancelAllParams(asset_class="derivatives"),
        "t",
        asset_class="x",
        assumptions=a,
    )
    assert filled.token == "t"
    no_class = UwsAssumptions(cancel_after_asset_class=False)
    assert build_authorized(
        "cancel_all_orders_after",
        {"timeout": 0},
        "t",
        asset_class="derivatives",
        assumptions=no_class,
    ) == {"timeout": 0, "token": "t"}
    assert expected_responses("cancel_order", {"order_id": ["a", "b"], "cl_ord_id": ["c"]}, a) == 3
    assert expected_responses("cancel_order", build_cancel_order(CancelIntent("x")), a) == 1
    assert (
        expected_responses(
            "cancel_order",
            {"order_id": ["a", "b"]},
            UwsAssumptions(response_per_cancelled_id=False),
        )
        == 1
    )
    assert expected_responses("add_order", {}, a) == 1


def test_private_subscriptions_without_token_are_left_out() -> None:
    out = build_subscriptions(
        "subscribe",
        [("executions", None), ("book", XBT)],
        {("book", XBT): (("depth", 25),)},
        token=None,
        asset_class="derivatives",
        assumptions=DEFAULT_ASSUMPTIONS,
    )
    assert [(p.channel, p.depth, g) for p, g in out] == [("book", 25, [("book", XBT)])]
