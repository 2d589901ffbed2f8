"""Random REST traffic, valid and invalid, against the gateway: the server never answers 5xx
and the exchange's invariants (no crossed book, no unexplained negative balance, consistent
indexes) hold after every request."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krakenfutures.core.rest.endpoints import ENDPOINTS

SYMBOLS = ["PF_XBTUSD", "pf_ethusd", "PF_SOLUSD", "PI_XBTUSD", "PF_NOPE", "", "in_xbtusd"]
PRICES = {
    "PF_XBTUSD": ["59990", "60000", "60010", "59000", "61000", "60000.5"],
    "PF_ETHUSD": ["2990.5", "3000", "3010.1", "2999.95"],
    "PF_SOLUSD": ["149.99", "150", "150.01", "150.001"],
    "PI_XBTUSD": ["59999.5", "60000", "60000.5", "60000.25"],
}
JUNK_NUMBERS = ["NaN", "-1", "0", "1e400", "abc", "Infinity", "1e-30", "", "99999999999999999999"]
SIZES = ["0.001", "0.01", "0.1", "1", "10", "1000", "0.00001", "3"]


# Order entry dominates the traffic; every other endpoint still comes up.
_BY_NAME = {ep.name: ep for ep in ENDPOINTS}
_ORDER_NAMES = ["send_order"] * 12 + ["edit_order"] * 4 + ["cancel_order"] * 3 + ["batch_order"] * 4
WEIGHTED = [_BY_NAME[n] for n in _ORDER_NAMES] + list(ENDPOINTS)


def _number(pool: list[str]) -> st.SearchStrategy[str]:
    # sampled_from shrinks towards its first items: valid numbers first, junk one time in five
    return st.sampled_from(pool * 4 + JUNK_NUMBERS[: len(pool)])


@st.composite
def order_params(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    symbol = draw(st.sampled_from(SYMBOLS[:4] * 5 + SYMBOLS))
    prices = PRICES.get(symbol.upper(), PRICES["PF_XBTUSD"])
    params: dict[str, Any] = {
        "orderType": draw(st.sampled_from(["lmt", "mkt", "post", "ioc", "fok", "stp", "take_profit", "lmt", "mkt", "trailing_stop", "limit"])),
        "symbol": symbol,
        "side": draw(st.sampled_from(["buy", "sell"] * 5 + ["hold"])),
        "size": draw(_number(SIZES)),
    }  # fmt: skip
    if draw(st.sampled_from([True, True, True, False])):
        params["limitPrice"] = draw(_number(prices))
    if draw(st.booleans()):
        params["stopPrice"] = draw(_number(prices))
    if draw(st.booleans()):
        params["triggerSignal"] = draw(st.sampled_from(["mark", "index", "last", "moon"]))
    if draw(st.booleans()):
        params["reduceOnly"] = draw(st.sampled_from(["true", "True", "false", "maybe"]))
    if draw(st.booleans()):
        params["cliOrdId"] = draw(
            st.one_of(st.sampled_from(["a", "b", "c"]), st.text(max_size=120))
        )
    if ids and draw(st.booleans()):
        params["orderId"] = params["order_id"] = draw(st.sampled_from(ids))
    return params


def _batch_json(draw: st.DrawFn, ids: list[str]) -> str:
    items = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["send", "edit", "cancel"] * 3 + ["other"]))
        p = draw(order_params(ids))
        p["order"] = kind
        p["order_tag"] = str(draw(st.integers(0, 9)))
        for key in ("size", "limitPrice", "stopPrice"):
            if key in p and draw(st.booleans()):
                with contextlib.suppress(ValueError):
                    p[key] = float(p[key]) if p[key] not in ("", "abc") else p[key]
        items.append(p)
    if draw(st.sampled_from([False] * 9 + [True])):
        return draw(st.sampled_from(["{", "[]", '{"batchOrder": 5}', "null", '"x"']))
    return json.dumps({"batchOrder": items}, allow_nan=True)


@st.composite
def request(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    ep = draw(st.sampled_from(WEIGHTED))
    path = ep.path
    for name in ep.path_params:
        value = draw(st.sampled_from(["PF_XBTUSD", "trade", "1m", "mark", "x", "PF_NOPE", "1h"]))
        path = path.replace("{" + name + "}", quote(value, safe=""))
    params: dict[str, Any] = {}
    if ep.name == "batch_order":
        params["json"] = _batch_json(draw, ids)
    elif ep.params is not None:
        params = draw(order_params(ids))
        extra = {
            "timeout": draw(st.sampled_from(["0", "1", "60", "-5", "abc", "4294967296"])),
            "amount": draw(_number(["1", "10", "100000"])),
            "fromAccount": draw(st.sampled_from(["flex", "cash", "fi_xbtusd", "x"])),
            "toAccount": draw(st.sampled_from(["flex", "cash", "fi_xbtusd"])),
            "unit": draw(st.sampled_from(["usd", "USD", "xbt", "eth"])),
            "currency": draw(st.sampled_from(["usd", "USD", "xbt"])),
            "sourceWallet": draw(st.sampled_from(["flex", "cash"])),
            "maxLeverage": draw(_number(["1", "10", "50", "51"])),
            "pnlPreference": draw(st.sampled_from(["USD", "BTC", "DOGE"])),
            "strategy": draw(st.sampled_from(["REJECT_TAKER", "CANCEL_MAKER_ANY", "X"])),
            "qtyMode": draw(st.sampled_from(["RELATIVE", "ABSOLUTE", "x"])),
            "count": draw(st.sampled_from(["1", "5", "0", "-1", "x"])),
            "since": draw(st.sampled_from(["0", "1700000000000", "x"])),
            "sort": draw(st.sampled_from(["asc", "desc", "up"])),
            "from": draw(st.sampled_from(["0", "1", "1700000000", "x"])),
            "lastFillTime": draw(st.sampled_from(["2023-11-14T22:10:00.000Z", "junk"])),
            "continuation_token": draw(st.sampled_from(["MQ==", "%%", "LTE="])),
        }
        for key in draw(st.lists(st.sampled_from(sorted(extra)), max_size=4, unique=True)):
            params[key] = extra[key]
    return {
        "method": draw(st.sampled_from([ep.method] * 19 + ["DELETE"])),
        "path": path,
        "params": params,
        "in_query": draw(st.booleans()),
        "key": draw(st.sampled_from(["full-a"] * 6 + ["full-b"] * 3 + ["read-a", "wd-a", None])),
        "tamper": draw(st.sampled_from([False] * 14 + [True])),
        "advance_ms": draw(st.sampled_from([0, 0, 0, 1_000, 45_000, 600_000])),
    }


def _drive(bench: Any, steps: list[dict[str, Any]]) -> None:
    bench.book_liquidity()
    bench.book_liquidity("PF_ETHUSD", 3000, "5")
    ids: list[str] = []
    for step in steps:
        bench.now += step["advance_ms"]
        encoded = urlencode(step["params"]).encode()
        query, body = (
            (encoded, b"") if step["in_query"] or step["method"] == "GET" else (b"", encoded)
        )
        authent = "AAAA" + "A" * 84 if step["tamper"] else None
        reply = bench.raw(
            step["method"], step["path"], query, body, key=step["key"], authent=authent
        )
        assert reply.status < 500, (step, reply.body)
        if reply.content_type == "application/json" and reply.body[:1] in (b"{", b"["):
            data = json.loads(reply.body)
            status = data.get("sendStatus") if isinstance(data, dict) else None
            if isinstance(status, dict) and status.get("order_id"):
                ids.append(status["order_id"])
        if step["advance_ms"]:
            bench.exchange.advance(bench.now)
        assert bench.exchange.check_invariants() == [], step


def _steps(ids: list[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(request(ids), min_size=1, max_size=25)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_steps(["00000000-0000-4000-8000-000000000000"]))
def test_random_requests_never_break_the_server(
    make_bench: Any, steps: list[dict[str, Any]]
) -> None:
    _drive(make_bench(rate_limits=False), steps)


@pytest.mark.slow
@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(request(["00000000-0000-4000-8000-000000000000"]), min_size=1, max_size=80))
def test_random_requests_never_break_the_server_long(
    make_bench: Any, steps: list[dict[str, Any]]
) -> None:
    _drive(make_bench(rate_limits=True), steps)
