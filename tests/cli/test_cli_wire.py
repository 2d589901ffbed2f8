"""`kf` over a real loopback socket against a server that answers with Kraken's golden wire
payloads (tests/fixtures/wire): tables, JSON, what goes on the wire, and exit codes 4/5/6."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from krakenfutures.cli.common import ExitCode

V3 = "/derivatives/api/v3"


@pytest.fixture
def run(kf, fixture_server, keyed_env):
    """``run(*args, keyed=True)``: kf against the fixture server, with a key by default."""

    def invoke(*args: str, keyed: bool = True):
        return kf("--base-url", fixture_server.base_url, *args, env=keyed_env if keyed else None)

    return invoke


# ------------------------------------------------------------------------------ market data


def test_instruments_table_shows_exact_tick_and_lot(run) -> None:
    result = run("instruments", keyed=False)
    assert result.exit_code == 0, result.stderr
    pepe = next(line for line in result.stdout.splitlines() if "PF_PEPEUSD" in line)
    assert "0.0000000001" in pepe  # tickSize 1e-10 shown exactly, not as 1e-10 or 0.0
    assert " 1000 " in pepe  # contractValueTradePrecision -3: lots of 1000
    assert "in_xbtusd" not in result.stdout
    assert "in_xbtusd" in run("instruments", "--all", keyed=False).stdout


def test_instruments_json_uses_python_names_and_decimal_strings(run) -> None:
    result = run("--json", "instruments", keyed=False)
    rows = json.loads(result.stdout)
    pi = next(r for r in rows if r["symbol"] == "PI_XBTUSD")
    assert pi["tick_size"] == "0.5"
    assert pi["max_relative_funding_rate"] == "0.0025"
    assert pi["margin_levels"][1] == {
        "contracts": "500000",
        "num_non_contract_units": None,
        "initial_margin": "0.04",
        "maintenance_margin": "0.02",
    }


def test_tickers_filter_is_case_insensitive_and_keeps_digits(run) -> None:
    result = run("--json", "tickers", "pi_xbtusd", "PF_XBTUSD", keyed=False)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["symbol"] for r in rows] == ["PI_XBTUSD", "PF_XBTUSD"]
    assert rows[0]["funding_rate"] == "-0.0000000000626"
    assert rows[1]["change_24h"] == "1.7300380228136882"
    assert rows[1]["vol_24h"] == "4812.0714"


def test_unknown_ticker_symbol_lists_close_matches(run) -> None:
    result = run("tickers", "PF_XBTUS", keyed=False)
    assert result.exit_code == ExitCode.USAGE
    assert "did you mean PF_XBTUSD" in result.stderr


def test_unknown_symbol_is_checked_against_instruments(run, fixture_server) -> None:
    result = run("book", "PF_DOGEUSD", keyed=False)
    assert result.exit_code == ExitCode.USAGE
    assert "unknown symbol 'PF_DOGEUSD'" in result.stderr
    assert "PF_XBTUSD" in result.stderr  # the symbols that do exist are named
    assert not fixture_server.requests_to("/orderbook")


def test_book_depth_and_spread(run, fixture_server) -> None:
    result = run("book", "pf_xbtusd", "--depth", "2", keyed=False)
    assert result.exit_code == 0, result.stderr
    assert "64209.5" in result.stdout and "64205" not in result.stdout
    assert "spread 3" in result.stdout
    assert fixture_server.requests_to("/orderbook")[0].query == {"symbol": ["PF_XBTUSD"]}
    doc = json.loads(run("--json", "book", "PF_XBTUSD", "--depth", "1", keyed=False).stdout)
    assert doc == {"symbol": "PF_XBTUSD", "bids": [["64210", "1.2451"]], "asks": [["64213", "0.5"]]}


def test_trades_limit(run) -> None:
    rows = json.loads(run("--json", "trades", "PF_XBTUSD", "--limit", "1", keyed=False).stdout)
    assert len(rows) == 1
    assert rows[0]["qty"] == "0.0042" and rows[0]["side"] == "buy"


# ----------------------------------------------------------------------------------- status


def test_status_without_key_derives_state_and_says_notifications_were_skipped(
    run, fixture_server
) -> None:
    result = run("--json", "status", keyed=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    states = {v["symbol"]: v for v in doc["verdicts"]}
    assert states["PF_XBTUSD"]["state"] == "open"
    assert states["FF_XBTUSD_260626"]["state"] == "suspended"
    assert any("suspended" in r for r in states["FF_XBTUSD_260626"]["reasons"])
    assert states["PF_ETHUSD"]["state"] == "unknown"  # no ticker for it: do not trade
    assert "IN_XBTUSD" not in states
    assert doc["notifications_checked"] is False
    assert any("no API key" in note for note in doc["notes"])
    assert not fixture_server.requests_to("/notifications")


def test_status_of_one_symbol_names_the_dislocation(run, fixture_server) -> None:
    fixture_server.routes[("GET", f"{V3}/tickers")]["tickers"].append(
        {"symbol": "PF_WIFUSD", "suspended": False, "postOnly": False, "markPrice": "2.5"}
    )
    result = run("status", "pf_wifusd")
    assert result.exit_code == 0, result.stderr
    assert "post_only" in result.stdout
    assert "price dislocation (ABOVE_UPPER_BOUND)" in result.stdout


def test_status_applies_a_maintenance_window_in_effect(run, fixture_server) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    fixture_server.routes[("GET", f"{V3}/notifications")] = {
        "result": "success",
        "notifications": [
            {
                "type": "maintenance",
                "priority": "high",
                "note": "engine upgrade",
                "effectiveTime": start.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "expectedDowntimeMinutes": 30,
            }
        ],
    }
    doc = json.loads(run("--json", "status", "PF_XBTUSD").stdout)
    verdict = doc["verdicts"][0]
    assert doc["notifications_checked"] is True
    assert verdict["state"] == "maintenance" and verdict["can_post"] is False
    assert "engine upgrade" in verdict["reasons"][0]
    signed = fixture_server.requests_to("/notifications")[0]
    assert signed.headers["apikey"] == "test-key-0001" and signed.headers["authent"]


# ---------------------------------------------------------------------------------- funding


def test_funding_cost_of_a_linear_long(run) -> None:
    result = run("--json", "funding", "PF_XBTUSD", "--size", "2", "--hours", "8", keyed=False)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["funding_rate"] == "0.3171268"
    # absolute rate is USD per contract per hour: 2 * 0.3171268 * 8 hours
    assert Decimal(doc["cost"]["at_current_rate"]) == Decimal("5.0740288")
    assert Decimal(doc["cost"]["at_predicted_rate"]) == Decimal("2.2912")
    assert doc["cost"]["currency"] == "USD"
    assert doc["next_funding_time_ms"] % 3_600_000 == 0
    assert [r["timestamp"][11:13] for r in doc["history"]] == ["08", "07", "06"]  # newest first


def test_funding_cost_of_an_inverse_short(run) -> None:
    result = run("funding", "PI_XBTUSD", "--size", "-10000", "--hours", "24", keyed=False)
    assert result.exit_code == 0, result.stderr
    # negative rate: shorts pay. 10000 * 6.26e-11 * 24 = 0.000015024 XBT
    assert "you pay 0.000015024 XBT" in result.stdout
    assert "10000 short for 24 h" in result.stdout


def test_funding_refuses_a_fixed_maturity(run) -> None:
    result = run("funding", "FF_XBTUSD_260626", keyed=False)
    assert result.exit_code == ExitCode.USAGE
    assert "not a perpetual" in result.stderr


# ---------------------------------------------------------------------------------- account


def test_balances_show_every_wallet_kind(run) -> None:
    result = run("balances")
    assert result.exit_code == 0, result.stderr
    for text in ("141.31756797", "fi_xbtusd", "4210.55", "4998.721054420551", "13983.19"):
        assert text in result.stdout
    doc = json.loads(run("--json", "balances").stdout)
    assert doc["flex"]["type"] == "multiCollateralMarginAccount"
    assert doc["flex"]["currencies"]["USD"]["available"] == "4210.55"


def test_positions_show_entry_digits_and_unrealised_pnl(run) -> None:
    result = run("--json", "positions")
    rows = {r["symbol"]: r for r in json.loads(result.stdout)}
    assert rows["PI_XBTUSD"]["price"] == "63392.749993345933"
    assert rows["PI_XBTUSD"]["pnl_unit"] == "XBT"
    assert Decimal(rows["PI_XBTUSD"]["unrealized_pnl"]) < 0  # short, mark above entry
    assert rows["FI_XBTUSD_260327"]["unrealized_pnl"] is None  # no ticker: no guess


def test_orders_and_fills(run) -> None:
    orders = run("orders")
    assert orders.exit_code == 0
    assert "mm-ask-7" in orders.stdout and "take_profit" in orders.stdout
    fills = json.loads(run("--json", "fills", "--limit", "1").stdout)
    assert len(fills) == 1 and fills[0]["cli_ord_id"] == "bot-7f3a-0001"


def test_authentication_error_is_exit_4_and_never_shows_the_secret(
    run, fixture_server, keyed_env
) -> None:
    fixture_server.routes[("GET", f"{V3}/accounts")] = {
        "result": "error",
        "serverTime": "2026-03-02T09:45:53.818Z",
        "error": "authenticationError",
    }
    for verbose in ((), ("-v",)):
        result = run(*verbose, "balances")
        assert result.exit_code == ExitCode.EXCHANGE
        assert "authenticationError" in result.stderr and "Spot API key" in result.stderr
        assert result.stdout == ""
        assert keyed_env["KRAKEN_FUTURES_API_SECRET"] not in result.stderr
    assert "Traceback" not in run("balances").stderr


def test_server_error_is_exit_4(run, fixture_server) -> None:
    fixture_server.routes[("GET", f"{V3}/tickers")] = (
        503,
        {"result": "error", "error": "Unavailable"},
    )
    result = run("tickers", keyed=False)
    assert result.exit_code == ExitCode.EXCHANGE
    assert "Unavailable" in result.stderr


def test_a_reply_that_is_not_krakens_is_exit_5(run, fixture_server) -> None:
    fixture_server.routes[("GET", f"{V3}/tickers")] = ["not", "an", "envelope"]
    result = run("tickers", keyed=False)
    assert result.exit_code == ExitCode.TRANSPORT
    assert "Kraken Futures server" in result.stderr


def test_timeout_is_exit_5_with_a_hint(run, fixture_server) -> None:
    fixture_server.delay_s = 0.5
    result = run("--timeout", "0.1", "tickers", keyed=False)
    assert result.exit_code == ExitCode.TRANSPORT
    assert "--timeout" in result.stderr and "Traceback" not in result.stderr


def test_credentials_file_gives_key_and_base_url(kf, fixture_server, clean_env, tmp_path) -> None:
    import os

    secret = base64.b64encode(b"\x07" * 64).decode()
    creds = tmp_path / "creds.toml"
    creds.write_text(
        f'api_key = "file-key"\napi_secret = "{secret}"\nbase_url = "{fixture_server.base_url}"\n'
    )
    os.chmod(creds, 0o600)
    # the file named on the command line wins over a key pair in the environment
    env = {"KRAKEN_FUTURES_API_KEY": "env-key", "KRAKEN_FUTURES_API_SECRET": secret}
    result = kf("--credentials", str(creds), "orders", env=env)
    assert result.exit_code == 0, result.stderr
    assert fixture_server.requests_to("/openorders")[0].headers["apikey"] == "file-key"
    assert secret not in result.stdout + result.stderr


# ------------------------------------------------------------------------------------ trade


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], {"orderType": "mkt"}),
        (["--limit", "64000.5"], {"orderType": "lmt", "limitPrice": "64000.5"}),
        (["--limit", "64000", "--post"], {"orderType": "post", "limitPrice": "64000"}),
        (
            ["--limit", "64000", "--ioc", "--reduce-only"],
            {"orderType": "ioc", "limitPrice": "64000", "reduceOnly": "true"},
        ),
        (["--stop", "60000"], {"orderType": "stp", "stopPrice": "60000"}),
        (
            ["--stop", "60000", "--limit", "59000", "--trigger", "last", "--cli-ord-id", "abc-1"],
            {
                "orderType": "stp",
                "stopPrice": "60000",
                "limitPrice": "59000",
                "triggerSignal": "last",
                "cliOrdId": "abc-1",
            },
        ),
    ],
)
def test_order_flags_choose_what_goes_on_the_wire(run, fixture_server, flags, expected) -> None:
    result = run("order", "SELL", "pf_xbtusd", "0.0100", *flags)
    assert result.exit_code == 0, result.stderr
    sent = fixture_server.requests_to("/sendorder")
    assert len(sent) == 1
    form = {key: values[0] for key, values in sent[0].form.items()}
    assert form.pop("symbol") == "PF_XBTUSD" and form.pop("side") == "sell"
    assert Decimal(form.pop("size")) == Decimal("0.01")
    assert form == expected
    assert sent[0].headers["apikey"] == "test-key-0001"


def test_order_prints_status_id_and_executions(run) -> None:
    result = run("order", "buy", "PF_ETHUSD", "0.5")
    assert result.exit_code == 0, result.stderr
    for text in (
        "placed (accepted)",
        "61ca5732-3478-42fe-8362-abbfd9465294",
        "1869.175",
        "e1ec9f63-2338-4c44-b40a-43486c6732d7",
        "0.5 in 1 execution(s)",
    ):
        assert text in result.stdout
    doc = json.loads(run("--json", "order", "buy", "PF_ETHUSD", "0.5").stdout)
    assert doc["accepted"] is True and doc["status"] == "placed"
    assert doc["executions"] == [
        {"execution_id": "e1ec9f63-2338-4c44-b40a-43486c6732d7", "price": "1869.175", "qty": "0.5"}
    ]
    assert doc["order_events"][0]["type"] == "EXECUTION"


@pytest.mark.parametrize(
    ("fixture", "status", "meaning"),
    [
        ("sendorder_rejected_funds", "insufficientAvailableFunds", "not enough available margin"),
        ("sendorder_post_rejected", "postWouldExecute", "would have executed immediately"),
    ],
)
def test_refused_order_is_exit_6_with_krakens_meaning(
    run, fixture_server, load_wire, fixture: str, status: str, meaning: str
) -> None:
    fixture_server.routes[("POST", f"{V3}/sendorder")] = load_wire(fixture)
    args = ("order", "sell", "PF_XBTUSD", "0.0125", "--limit", "64210", "--post")
    result = run(*args)
    assert result.exit_code == ExitCode.ORDER_REFUSED, result.stderr
    assert status in result.stdout  # the table still shows what happened
    error = result.stderr.strip().splitlines()
    assert len(error) == 1 and status in error[0] and meaning in error[0]
    as_json = run("--json", *args)
    assert as_json.exit_code == ExitCode.ORDER_REFUSED
    doc = json.loads(as_json.stdout)  # stdout stays pure JSON; the error line goes to stderr
    assert doc["accepted"] is False and doc["status"] == status and meaning in doc["reason"]


def test_cancel_by_id_and_by_cli_ord_id(run, fixture_server) -> None:
    assert run("cancel", "cb4e34f6").exit_code == 0
    assert run("cancel", "--cli-ord-id", "mine-1").exit_code == 0
    sent = [s.form for s in fixture_server.requests_to("/cancelorder")]
    assert sent == [{"order_id": ["cb4e34f6"]}, {"cliOrdId": ["mine-1"]}]


def test_cancel_of_an_unknown_order_is_exit_6(run, fixture_server) -> None:
    fixture_server.routes[("POST", f"{V3}/cancelorder")] = {
        "result": "success",
        "cancelStatus": {"status": "notFound", "receivedTime": "2026-03-02T11:26:20.806Z"},
    }
    result = run("cancel", "nope")
    assert result.exit_code == ExitCode.ORDER_REFUSED
    assert "notFound" in result.stderr and "not found" in result.stderr


def test_cancel_all_for_one_symbol(run, fixture_server) -> None:
    result = run("cancel", "--all", "--symbol", "pf_ethusd")
    assert result.exit_code == 0, result.stderr
    assert "89e3edbe-d739-4c52-b866-6f5a8407ff6e (mm-ask-3)" in result.stdout
    assert fixture_server.requests_to("/cancelallorders")[0].form == {"symbol": ["PF_ETHUSD"]}
    assert run("cancel", "--all", "--symbol", "PF_NOPE").exit_code == ExitCode.USAGE


def test_deadman_arm_and_disarm(run, fixture_server, tmp_path) -> None:
    armed = json.loads(run("--json", "deadman", "60").stdout)
    assert armed["armed"] is True and armed["trigger_time"] == "2026-03-02T12:52:23.839Z"
    fixture_server.routes[("POST", f"{V3}/cancelallordersafter")] = {
        "result": "success",
        "status": {"currentTime": "2026-03-02T12:53:01.002Z", "triggerTime": "0"},
    }
    result = run("deadman", "0")
    assert result.exit_code == 0 and "disarmed" in result.stdout
    sent = [s.form for s in fixture_server.requests_to("/cancelallordersafter")]
    assert sent == [{"timeout": ["60"]}, {"timeout": ["0"]}]


def test_json_flag_after_the_command(run) -> None:
    result = run("tickers", "PF_XBTUSD", "--json", keyed=False)
    assert json.loads(result.stdout)[0]["symbol"] == "PF_XBTUSD"
