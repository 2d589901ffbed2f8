"""`kf` without any server: help, fees, input validation, exit-code mapping, config errors and a
connection refused on a closed port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures import errors
from krakenfutures.cli import render
from krakenfutures.cli.common import DecimalType, ExitCode, unknown_symbol_message
from krakenfutures.cli.main import describe_error
from krakenfutures.cli.trade import choose_order_type

# ----------------------------------------------------------------------------------- help


def test_help_lists_commands_and_documents_exit_codes(kf) -> None:
    result = kf("--help")
    assert result.exit_code == 0
    out = result.stdout
    for name in (
        "instruments",
        "tickers",
        "book",
        "trades",
        "status",
        "funding",
        "fees",
        "balances",
        "positions",
        "orders",
        "fills",
        "order",
        "cancel",
        "deadman",
    ):
        assert f"  {name} " in out
    assert "Read commands" in out and "Trade commands" in out
    for code in range(7):
        assert f"  {code}  " in out
    assert "insufficientAvailableFunds" in out


def test_every_command_has_help(kf) -> None:
    for name in (
        "instruments",
        "tickers",
        "book",
        "trades",
        "status",
        "funding",
        "fees",
        "balances",
        "positions",
        "orders",
        "fills",
        "order",
        "cancel",
        "deadman",
    ):
        result = kf(name, "--help")
        assert result.exit_code == 0, name
        assert "--json" in result.stdout


def test_importing_the_cli_loads_neither_rich_nor_the_client() -> None:
    code = (
        "import sys, krakenfutures.cli.main\n"
        "heavy = [m for m in ('rich', 'msgspec', 'krakenfutures.client.sync', 'httpx',"
        " 'aiohttp', 'krakenfutures.sim') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_console_script_runs() -> None:
    script = Path(sys.executable).parent / "kf"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert "Usage: kf" in out.stdout


# ------------------------------------------------------------------------------------ fees


def test_fees_table_marks_the_tier_of_the_volume(kf) -> None:
    result = kf("fees", "--volume", "2000000")
    assert result.exit_code == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "<- your tier" in line]
    assert len(rows) == 1
    assert "0.0125%" in rows[0] and "0.03%" in rows[0]
    assert "tier 3" in result.stdout


@pytest.mark.parametrize(
    ("volume", "tier", "maker", "taker"),
    [
        ("0", 1, "0.0002", "0.0005"),
        ("100000", 1, "0.0002", "0.0005"),  # the bound itself stays in the lower tier
        ("100000.01", 2, "0.00015", "0.0004"),
        ("50000001", 7, "0.000025", "0.000125"),
        ("100000001", 8, "0", "0.0001"),
    ],
)
def test_fees_json_tier_for_volume(kf, volume: str, tier: int, maker: str, taker: str) -> None:
    result = kf("--json", "fees", "--volume", volume)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["tier"] == tier
    assert Decimal(doc["maker_rate"]) == Decimal(maker)
    assert Decimal(doc["taker_rate"]) == Decimal(taker)
    assert len(doc["tiers"]) == 8
    assert doc["trade"] is None


def test_fee_of_a_linear_trade_is_exact(kf) -> None:
    result = kf(
        "fees",
        "--json",
        "--volume",
        "2000000",
        "--qty",
        "2",
        "--price",
        "64000",
        "--symbol",
        "pf_xbtusd",
    )
    trade = json.loads(result.stdout)["trade"]
    assert trade["symbol"] == "PF_XBTUSD"
    assert Decimal(trade["fee"]) == Decimal("38.4")  # 2 * 64000 * 0.03 %
    assert trade["currency"] == "USD"
    assert Decimal(trade["notional_usd"]) == Decimal("128000")


def test_fee_of_an_inverse_trade_matches_krakens_example(kf) -> None:
    # reference §8.1: 100,000 contracts at 4,000 with 0.05 % taker = 0.0125 XBT
    result = kf("fees", "--qty", "100000", "--price", "4000", "--symbol", "PI_XBTUSD")
    assert result.exit_code == 0, result.stderr
    assert "0.0125 XBT" in result.stdout
    maker = kf(
        "--json", "fees", "--qty", "100000", "--price", "4000", "--symbol", "PI_XBTUSD", "--maker"
    )
    assert Decimal(json.loads(maker.stdout)["trade"]["fee"]) == Decimal("0.005")


def test_fees_need_qty_and_price_together(kf) -> None:
    result = kf("fees", "--qty", "1")
    assert result.exit_code == ExitCode.USAGE
    assert "--price" in result.stderr
    assert kf("fees", "--symbol", "PF_XBTUSD").exit_code == ExitCode.USAGE


def test_fees_refuse_non_decimal_volume(kf) -> None:
    result = kf("fees", "--volume", "lots")
    assert result.exit_code == ExitCode.USAGE
    assert "--volume" in result.stderr and "not a decimal number" in result.stderr


# ------------------------------------------------------------------------ input validation


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["order", "buy", "PF_XBTUSD", "abc"], "SIZE"),
        (["order", "buy", "PF_XBTUSD", "0"], "SIZE"),
        (["order", "buy", "PF_XBTUSD", "-1"], None),  # click reads -1 as an option: still usage
        (["order", "buy", "PF_XBTUSD", "1", "--limit", "1,5"], "--limit"),
        (["order", "buy", "PF_XBTUSD", "1", "--stop", "nan"], "--stop"),
        (["order", "hold", "PF_XBTUSD", "1"], "'buy', 'sell'"),
        (["order", "buy", "PF_XBTUSD", "1", "--post"], "--limit"),
        (["order", "buy", "PF_XBTUSD", "1", "--limit", "5", "--post", "--ioc"], "--ioc"),
        (["order", "buy", "PF_XBTUSD", "1", "--stop", "5", "--post"], "--stop"),
        (["order", "buy", "PF_XBTUSD", "1", "--trigger", "last"], "--stop"),
        (
            ["order", "buy", "PF_XBTUSD", "1", "--limit", "5", "--cli-ord-id", "x" * 101],
            "--cli-ord-id",
        ),
        (["cancel"], "ORDER_ID"),
        (["cancel", "abc", "--all"], "ORDER_ID"),
        (["cancel", "abc", "--symbol", "PF_XBTUSD"], "--symbol"),
        (["deadman", "-5"], None),
        (["deadman", "soon"], "SECONDS"),
        (["book", "PF_XBTUSD", "--depth", "0"], "--depth"),
        (["funding", "PF_XBTUSD", "--size", "big"], "--size"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_bad_input_is_a_usage_error_naming_the_argument(
    kf, args: list[str], named: str | None
) -> None:
    # A closed base URL proves validation happens before any network call.
    result = kf("--base-url", "http://127.0.0.1:9", *args)
    assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
    assert result.stdout == ""
    if named is not None:
        assert named in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, "mkt"),
        ({"limit": Decimal(5)}, "lmt"),
        ({"limit": Decimal(5), "post": True}, "post"),
        ({"limit": Decimal(5), "ioc": True}, "ioc"),
        ({"stop": Decimal(4)}, "stp"),
        ({"stop": Decimal(4), "limit": Decimal(3), "trigger": "index"}, "stp"),
    ],
)
def test_order_type_follows_the_flags(flags: dict, expected: str) -> None:
    args = {"limit": None, "post": False, "ioc": False, "stop": None, "trigger": None, **flags}
    assert choose_order_type(**args) == expected


def test_unknown_symbol_message_offers_close_matches_in_their_own_case() -> None:
    message = unknown_symbol_message("pf_xbtusdd", ["PF_XBTUSD", "PF_ETHUSD", "in_xbtusd"])
    assert "did you mean PF_XBTUSD" in message
    listing = unknown_symbol_message("ZZZ", [f"PF_C{i}USD" for i in range(20)])
    assert "symbols that exist" in listing and "and 8 more" in listing


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_type_reads_text_exactly(value: Decimal) -> None:
    assert DecimalType().convert(str(value), None, None) == value
    assert DecimalType().convert(render.dec(value), None, None) == value


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_rendered_decimals_are_exact(value: Decimal) -> None:
    shown = render.dec(value)
    assert "E" not in shown and "e" not in shown
    assert Decimal(shown) == value
    assert render.to_plain(value) == shown


# ------------------------------------------------------------------------- exit code mapping


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.ConfigError("bad"), ExitCode.CONFIG),
        (errors.CredentialsError("bad key"), ExitCode.CONFIG),
        (errors.ValidationError("tick"), ExitCode.USAGE),
        (
            errors.AuthenticationError("authenticationError", code="authenticationError"),
            ExitCode.EXCHANGE,
        ),
        (errors.RateLimitError("apiLimitExceeded", code="apiLimitExceeded"), ExitCode.EXCHANGE),
        (errors.UnavailableError("HTTP 503", code="http_503", http_status=503), ExitCode.EXCHANGE),
        (errors.NotFoundError("notFound", code="notFound"), ExitCode.EXCHANGE),
        (errors.ConnectError("refused"), ExitCode.TRANSPORT),
        (errors.TimeoutError_("slow"), ExitCode.TRANSPORT),
        (errors.TransportError("reset"), ExitCode.TRANSPORT),
        (errors.RemoteProtocolError("garbage"), ExitCode.TRANSPORT),
        (errors.SequenceGapError("gap", expected=1, got=3), ExitCode.BUG),
        (KeyError("oops"), ExitCode.BUG),
    ],
)
def test_errors_map_to_documented_exit_codes(exc: Exception, code: int) -> None:
    got, message = describe_error(exc, "http://127.0.0.1:8787")
    assert got == code
    assert "\n" not in message


def test_connect_hint_depends_on_the_target() -> None:
    exc = errors.ConnectError("cannot connect")
    assert "kf sim" in describe_error(exc, "http://127.0.0.1:8787")[1]
    assert "kf sim" in describe_error(exc, "http://localhost:8787")[1]
    remote = describe_error(exc, "https://futures.kraken.com")[1]
    assert "kf sim" not in remote and "--base-url" in remote
    assert "--timeout" in describe_error(errors.TimeoutError_("no reply"), None)[1]


# ------------------------------------------------------------------------- config errors


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_exit_5_with_a_hint(kf) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = kf("--base-url", url, "tickers")
    assert result.exit_code == ExitCode.TRANSPORT
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert url in lines[0] and "is `kf sim` running?" in lines[0]


def test_connection_refused_from_the_environment_base_url(kf) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = kf("--json", "instruments", env={"KRAKEN_FUTURES_BASE_URL": url})
    assert result.exit_code == ExitCode.TRANSPORT
    assert result.stdout == ""
    assert "kf sim" in result.stderr


def test_verbose_adds_the_traceback(kf) -> None:
    result = kf("-v", "--base-url", f"http://127.0.0.1:{_closed_port()}", "tickers")
    assert result.exit_code == ExitCode.TRANSPORT
    assert "Traceback" in result.stderr and "ConnectError" in result.stderr


@pytest.mark.parametrize("where", ["option", "env"])
def test_demo_base_url_is_refused_with_exit_3(kf, where: str) -> None:
    if where == "option":
        result = kf("--base-url", "demo", "tickers")
    else:
        result = kf("tickers", env={"KRAKEN_FUTURES_BASE_URL": "demo"})
    assert result.exit_code == ExitCode.CONFIG
    assert "retired" in result.stderr and "kf sim" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_base_url_is_refused_even_for_offline_commands(kf) -> None:
    assert kf("--base-url", "demo", "fees").exit_code == ExitCode.CONFIG


def test_base_url_with_a_path_is_refused(kf) -> None:
    result = kf("--base-url", "https://futures.kraken.com/derivatives/api/v3", "tickers")
    assert result.exit_code == ExitCode.CONFIG
    assert "origin" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        "balances",
        "positions",
        "orders",
        "fills",
        "deadman 0",
        "cancel --all --symbol PF_XBTUSD",
        "order buy PF_XBTUSD 1",
    ],
)
def test_private_commands_without_a_key_exit_3(kf, command: str) -> None:
    # The closed port proves the key is checked before any network call.
    result = kf("--base-url", "http://127.0.0.1:9", *command.split())
    assert result.exit_code == ExitCode.CONFIG, result.stderr
    assert "KRAKEN_FUTURES_API_KEY" in result.stderr
    assert result.stdout == ""


def test_credentials_file_readable_by_others_is_refused(kf, keyed_env, tmp_path: Path) -> None:
    secret = keyed_env["KRAKEN_FUTURES_API_SECRET"]
    creds = tmp_path / "creds.toml"
    creds.write_text(f'api_key = "key-1"\napi_secret = "{secret}"\n')
    os.chmod(creds, 0o644)
    result = kf("--credentials", str(creds), "--base-url", "http://127.0.0.1:9", "balances")
    assert result.exit_code == ExitCode.CONFIG
    assert "chmod 600" in result.stderr
    assert secret not in result.stderr + result.stdout


def test_malformed_secret_is_a_config_error_without_echo(kf) -> None:
    bad = "not base64 at all!!"
    result = kf(
        "--base-url",
        "http://127.0.0.1:9",
        "balances",
        env={"KRAKEN_FUTURES_API_KEY": "key-1", "KRAKEN_FUTURES_API_SECRET": bad},
    )
    assert result.exit_code == ExitCode.CONFIG
    assert bad not in result.stderr


def test_bad_timeout_in_the_environment_is_a_config_error(kf) -> None:
    result = kf(
        "--base-url", "http://127.0.0.1:9", "tickers", env={"KRAKEN_FUTURES_TIMEOUT_S": "soon"}
    )
    assert result.exit_code == ExitCode.CONFIG
    assert "KRAKEN_FUTURES_TIMEOUT_S" in result.stderr


def test_lazy_commands_are_listed_without_being_imported() -> None:
    from click.testing import CliRunner

    from krakenfutures.cli.main import KfGroup

    group = KfGroup(name="kf")
    group.add_lazy_command(
        "ghost", "no_such_module_xyz:cmd", "Never imported by --help.", section="Simulator"
    )
    group.add_lazy_command("dm", "krakenfutures.cli.trade:deadman", "Dead man's switch.")
    result = CliRunner().invoke(group, ["--help"])
    assert result.exit_code == 0
    assert "Simulator commands" in result.stdout and "ghost" in result.stdout
    assert CliRunner().invoke(group, ["dm", "--help"]).exit_code == 0
