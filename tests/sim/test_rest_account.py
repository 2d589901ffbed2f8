"""Private account and history handlers: wallets, withdrawal, preferences, unwind queue, the
account log and history streams, persistence of the REST extras and replay determinism."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.errors import ConfigError
from krakenfutures.sim.rest import RestExtras

V3 = "/derivatives/api/v3"
H3 = "/api/history/v3"
D = Decimal
XBT = "PF_XBTUSD"


def test_accounts_wire_shape(bench: Any) -> None:
    accounts = bench.body("GET", f"{V3}/accounts")["accounts"]
    assert list(accounts) == ["cash", "fi_xbtusd", "flex"]
    assert accounts["cash"] == {"type": "cashAccount", "balances": {}}
    fi = accounts["fi_xbtusd"]
    assert (
        fi["type"] == "marginAccount" and fi["currency"] == "xbt" and fi["balances"] == {"xbt": "1"}
    )
    assert set(fi["auxiliary"]) == {"usd", "pv", "pnl", "af", "funding"}
    assert set(fi["marginRequirements"]) == {"im", "mm", "lt", "tt"}
    flex = accounts["flex"]
    assert flex["type"] == "multiCollateralMarginAccount"
    assert set(flex["currencies"]["USD"]) == {"quantity", "value", "collateral", "available"}
    assert D(flex["availableMargin"]) == D(100000) and D(flex["marginEquity"]) == D(100000)


def test_inverse_position_appears_in_its_margin_account(bench: Any) -> None:
    bench.send(
        "full-b", orderType="lmt", symbol="PI_XBTUSD", side="sell", size="1000", limitPrice="60000"
    )
    status = bench.send(orderType="mkt", symbol="PI_XBTUSD", side="buy", size="1000")
    assert status["status"] == "placed"
    fi = bench.typed("GET", f"{V3}/accounts")["fi_xbtusd"]
    assert fi.balances["PI_XBTUSD"] == D(1000)
    fee = D(1000) / D(60000) * D("0.0005")  # inverse fee in coin: qty_usd / price x rate
    assert abs(fi.balances["xbt"] - (D(1) - fee)) < D("1e-12")  # wire rounds to 12 dp
    assert fi.margin_requirements.im > 0


def test_withdrawal_debits_the_wallet_and_logs_it(bench: Any) -> None:
    out = bench.body(
        "POST",
        f"{V3}/withdrawal",
        {"currency": "USD", "amount": "125.5", "sourceWallet": "flex"},
        key="wd-a",
    )
    assert out["result"] == "success"
    assert bench.exchange.account_state("alice").flex.currencies["USD"].quantity == D("99874.5")
    (row,) = bench.typed("GET", f"{H3}/account-log", {"info": "cross-exchange transfer"}).logs
    assert row.booking_uid == out["uid"] and row.old_balance - row.new_balance == D("125.5")
    assert (
        bench.body("POST", f"{V3}/withdrawal", {"currency": "usd", "amount": "1"}, key="wd-a")[
            "error"
        ]
        == "invalidUnit"
    )
    too_much = {"currency": "usd", "amount": "1000000", "sourceWallet": "flex"}
    assert (
        bench.body("POST", f"{V3}/withdrawal", too_much, key="wd-a")["error"] == "insufficientFunds"
    )
    bad_wallet = {"currency": "usd", "amount": "1", "sourceWallet": "moon"}
    assert (
        bench.body("POST", f"{V3}/withdrawal", bad_wallet, key="wd-a")["error"] == "invalidAccount"
    )


def test_withdrawal_from_flex_keeps_margin(bench: Any) -> None:
    bench.book_liquidity(qty="20")
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="10")  # ~600k notional, IM ~36k
    available = bench.exchange.account_state("alice").flex.currencies["USD"].available
    over = {"currency": "usd", "amount": str(available + 1), "sourceWallet": "flex"}
    assert bench.body("POST", f"{V3}/withdrawal", over, key="wd-a")["error"] == "insufficientFunds"
    ok = {"currency": "usd", "amount": str(available), "sourceWallet": "flex"}
    assert bench.body("POST", f"{V3}/withdrawal", ok, key="wd-a")["result"] == "success"
    assert bench.exchange.check_invariants() == []


def test_leverage_and_pnl_preferences_round_trip(bench: Any) -> None:
    assert (
        bench.body(
            "PUT", f"{V3}/leveragepreferences", {"symbol": "pf_xbtusd", "maxLeverage": "20"}
        )["result"]
        == "success"
    )
    assert (
        bench.body("PUT", f"{V3}/pnlpreferences", {"symbol": XBT, "pnlPreference": "usdc"})[
            "result"
        ]
        == "success"
    )
    prefs = bench.typed("GET", f"{V3}/leveragepreferences")
    assert [(p.symbol, p.max_leverage) for p in prefs] == [(XBT, D(20))]
    assert bench.typed("GET", f"{V3}/leveragepreferences", key="full-b") == []
    bench.book_liquidity()
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01")
    (pos,) = bench.typed("GET", f"{V3}/openpositions")
    assert pos.max_fixed_leverage == D(20) and pos.pnl_currency == "USDC"
    bench.body("PUT", f"{V3}/leveragepreferences", {"symbol": XBT})  # no maxLeverage: cross again
    assert bench.typed("GET", f"{V3}/leveragepreferences") == []
    restored = RestExtras.restore(json.loads(json.dumps(bench.extras.snapshot())))
    assert restored == bench.extras and restored.pnl == {"alice": {XBT: "USDC"}}
    assert RestExtras.restore({}) == RestExtras()
    with pytest.raises(ConfigError):
        RestExtras.restore({"format": "something else"})


def test_self_trade_strategy_changes_matching(bench: Any) -> None:
    out = bench.body("PUT", f"{V3}/self-trade-strategy", {"strategy": "CANCEL_MAKER_SELF"})
    assert out["strategy"] == "CANCEL_MAKER_SELF"
    assert bench.body("GET", f"{V3}/self-trade-strategy")["strategy"] == "CANCEL_MAKER_SELF"
    rest = bench.send(orderType="lmt", symbol=XBT, side="sell", size="0.01", limitPrice="60100")
    take = bench.send(orderType="lmt", symbol=XBT, side="buy", size="0.01", limitPrice="60100")
    assert take["status"] == "placed"  # own maker cancelled, the taker rests
    assert {o.order_id for o in bench.exchange.open_orders("alice")} == {take["order_id"]}
    assert rest["order_id"] not in {o.order_id for o in bench.exchange.open_orders("alice")}


def test_unwind_queue_ranks_positions(bench: Any) -> None:
    assert bench.typed("GET", f"{V3}/unwindqueue") == []
    bench.book_liquidity()
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.1")
    (entry,) = bench.typed("GET", f"{V3}/unwindqueue")
    assert entry.symbol == XBT and entry.percentile in (20, 40, 60, 80, 100)
    (short,) = bench.typed("GET", f"{V3}/unwindqueue", key="full-b")
    assert short.percentile == 100  # the only short holder


def test_subaccounts_are_empty(bench: Any) -> None:
    out = bench.body("GET", f"{V3}/subaccounts")
    assert out["subaccounts"] == [] and len(out["masterAccountUid"]) == 36
    assert (
        bench.body("GET", f"{V3}/subaccounts", key="full-b")["masterAccountUid"]
        != out["masterAccountUid"]
    )


def test_account_log_filters_and_csv(free_bench: Any) -> None:
    bench = free_bench
    bench.book_liquidity()
    for _ in range(3):
        bench.now += 1_000
        bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01")
    log = bench.typed("GET", f"{H3}/account-log").logs
    assert [e.id for e in log] == [6, 5, 4, 3, 2, 1]  # desc by default; two legs per fill
    asc = bench.typed("GET", f"{H3}/account-log", {"sort": "asc", "from": 2, "to": 4}).logs
    assert [e.id for e in asc] == [2, 3, 4]
    assert [e.id for e in bench.typed("GET", f"{H3}/account-log", {"count": 2}).logs] == [6, 5]
    since = bench.typed("GET", f"{H3}/account-log", {"since": bench.now}).logs
    assert {e.id for e in since} == {5, 6}
    assert bench.typed("GET", f"{H3}/account-log", {"info": "transfer"}).logs == []
    text = bench.typed("GET", f"{H3}/accountlogcsv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == ["6", "5", "4", "3", "2", "1"]
    assert rows[-1]["asset"] == "usd" and D(rows[-1]["fee"]) == D("0.01") * 60010 * D("0.0005")


def test_private_history_streams(free_bench: Any) -> None:
    bench = free_bench
    bench.book_liquidity()
    trig = bench.send(
        orderType="stp", symbol=XBT, side="sell", size="0.01", stopPrice="50000", cliOrdId="sl"
    )
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.02")
    bench.body("POST", f"{V3}/cancelorder", {"order_id": trig["order_id"]})
    execs = bench.typed("GET", "/api/history/v2/executions").elements
    (e,) = execs
    execution = e.event["Execution"]["execution"]
    assert (
        execution["takerOrder"]["accountUid"]
        == bench.body("GET", f"{V3}/subaccounts")["masterAccountUid"]
    )
    assert execution["makerOrder"] is None and D(execution["usdValue"]) == D("0.02") * 60010
    triggers = bench.typed("GET", f"{H3}/triggers", {"sort": "asc"}).elements
    kinds = [next(iter(t.event)) for t in triggers]
    assert kinds == ["OrderTriggerPlaced", "OrderTriggerCancelled"]
    placed = triggers[0].event["OrderTriggerPlaced"]["order"]
    assert placed["clientId"] == "sl" and placed["triggerOptions"]["triggerSide"] == "TRIGGER_BELOW"
    assert bench.typed("GET", f"{H3}/orders", {"tradeable": "PF_ETHUSD"}).elements == []
    positions = bench.typed("GET", f"{H3}/positions", {"opened": "true"}).elements
    (update,) = positions
    body = update.event["PositionUpdate"]
    assert body["positionChange"] == "opened" and body["newPosition"] == "0.0200"
    assert bench.typed("GET", f"{H3}/positions", {"closed": "true"}).elements == []


def test_public_market_history_is_anonymous(bench: Any) -> None:
    bench.book_liquidity()
    bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.01", cliOrdId="secret-id")
    execs = bench.typed("GET", f"{H3}/market/{XBT}/executions", key=None)
    (e,) = execs.elements
    assert e.event["Execution"]["execution"]["takerOrder"] == {"tradeable": XBT, "direction": "Buy"}
    orders = bench.call("GET", f"{H3}/market/{XBT}/orders", key=None)
    assert b"secret-id" not in orders.body and b"accountUid" not in orders.body
    assert json.loads(orders.body)["len"] >= 2
    bench.exchange.set_mark_price(XBT, D(60123), bench.now)
    price = bench.typed("GET", f"{H3}/market/{XBT}/price", key=None).elements
    assert price[0].event == {"MarkPriceChanged": {"price": "60123"}}


def test_the_same_requests_reproduce_the_same_exchange(make_bench: Any) -> None:
    def run() -> tuple[Any, Any]:
        bench = make_bench(rate_limits=False)
        bench.book_liquidity()
        bench.send(orderType="mkt", symbol=XBT, side="buy", size="0.05")
        bench.body(
            "POST",
            f"{V3}/withdrawal",
            {"currency": "USD", "amount": "7", "sourceWallet": "flex"},
            key="wd-a",
        )
        bench.body("PUT", f"{V3}/leveragepreferences", {"symbol": XBT, "maxLeverage": "5"})
        bench.body("POST", f"{V3}/cancelallordersafter", {"timeout": "30"}, key="full-b")
        bench.now += 3_600_000
        bench.exchange.advance(bench.now)
        return bench.exchange.snapshot(), bench.extras.snapshot()

    assert run() == run()
