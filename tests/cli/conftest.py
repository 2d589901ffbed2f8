"""Fixtures for the `kf` tests: an isolated environment and a loopback HTTP server that answers
with the golden wire fixtures (tests/fixtures/wire), so the CLI is exercised over a real socket
with Kraken's real payload shapes even where the simulator does not run."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest
from click.testing import CliRunner, Result

from krakenfutures.cli.main import main

WIRE = Path(__file__).resolve().parents[1] / "fixtures" / "wire"
V3 = "/derivatives/api/v3"
API_KEY = "test-key-0001"
API_SECRET = base64.b64encode(bytes(range(64))).decode()
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def wire(name: str) -> dict[str, Any]:
    """A golden fixture as a dict."""
    # Decimal, not float: the server must send the fixture's digits unchanged.
    return json.loads((WIRE / f"{name}.json").read_text(), parse_float=Decimal)


def _linear(symbol: str, base: str, tick: str, precision: int) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "pair": f"{base}:USD",
        "base": base,
        "quote": "USD",
        "type": "flexible_futures",
        "tickSize": tick,
        "contractSize": 1,
        "tradeable": True,
        "maxPositionSize": 1000000,
        "marginLevels": [
            {"numNonContractUnits": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01}
        ],
        "fundingRateCoefficient": 24,
        "maxRelativeFundingRate": 0.0025,
        "contractValueTradePrecision": precision,
        "postOnly": False,
    }


def default_routes() -> dict[tuple[str, str], Any]:
    """(method, path) -> JSON body. The instruments fixture lacks PF_XBTUSD/PF_ETHUSD, which
    the other fixtures use, so they are added."""
    instruments = wire("instruments")
    instruments["instruments"] += [
        _linear("PF_XBTUSD", "XBT", "1", 4),
        _linear("PF_ETHUSD", "ETH", "0.1", 3),
        _linear("PF_WIFUSD", "WIF", "0.0001", 0),
    ]
    return {
        ("GET", f"{V3}/instruments"): instruments,
        ("GET", f"{V3}/tickers"): wire("tickers"),
        ("GET", f"{V3}/instruments/status"): wire("instruments_status"),
        ("GET", f"{V3}/orderbook"): wire("orderbook"),
        ("GET", f"{V3}/history"): wire("trade_history"),
        ("GET", f"{V3}/historical-funding-rates"): wire("historical_funding"),
        ("GET", f"{V3}/notifications"): wire("notifications"),
        ("GET", f"{V3}/accounts"): wire("accounts"),
        ("GET", f"{V3}/openpositions"): wire("openpositions"),
        ("GET", f"{V3}/openorders"): wire("openorders"),
        ("GET", f"{V3}/fills"): wire("fills"),
        ("POST", f"{V3}/sendorder"): wire("sendorder_placed_execution"),
        ("POST", f"{V3}/cancelorder"): wire("cancelorder"),
        ("POST", f"{V3}/cancelallorders"): wire("cancelallorders"),
        ("POST", f"{V3}/cancelallordersafter"): wire("cancelallordersafter"),
    }


@dataclass
class Seen:
    """One request the fixture server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class FixtureServer:
    """Loopback server answering from ``routes``; ``seen`` records every request."""

    base_url: str
    routes: dict[tuple[str, str], Any]
    seen: list[Seen] = field(default_factory=list)
    delay_s: float = 0.0  # sleep before answering (timeouts)

    def requests_to(self, path_end: str) -> list[Seen]:
        """The requests whose path ends with ``path_end``."""
        return [s for s in self.seen if s.path.endswith(path_end)]


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    routes = default_routes()
    server_ref: dict[str, FixtureServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            srv = server_ref["srv"]
            srv.seen.append(
                Seen(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    parse_qs(body),
                    {k.lower(): v for k, v in self.headers.items()},
                )
            )
            if srv.delay_s:
                time.sleep(srv.delay_s)
            reply = srv.routes.get((self.command, parts.path))
            status = 200
            if reply is None:
                status, reply = 404, {"result": "error", "error": "notFound"}
            elif isinstance(reply, tuple):
                status, reply = reply
            data = _ENCODER.encode(reply)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, *args: Any) -> None:
            pass

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that timed out and left is expected; keep stderr for kf's output

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    srv = FixtureServer(f"http://127.0.0.1:{httpd.server_address[1]}", routes)
    server_ref["srv"] = srv
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def load_wire() -> Any:
    """The :func:`wire` loader, for tests (conftest is not importable as a module)."""
    return wire


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str | None]:
    """No credentials, no base URL from the caller's environment; state and config in tmp."""
    return {
        "KRAKEN_FUTURES_API_KEY": None,
        "KRAKEN_FUTURES_API_SECRET": None,
        "KRAKEN_FUTURES_CREDENTIALS": None,
        "KRAKEN_FUTURES_BASE_URL": None,
        "KRAKEN_FUTURES_TIMEOUT_S": None,
        "KRAKEN_FUTURES_STATE_DIR": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
    }


@pytest.fixture
def keyed_env(clean_env: dict[str, str | None]) -> dict[str, str | None]:
    """``clean_env`` plus a (well-formed) API key pair."""
    return {**clean_env, "KRAKEN_FUTURES_API_KEY": API_KEY, "KRAKEN_FUTURES_API_SECRET": API_SECRET}


@pytest.fixture
def kf(clean_env: dict[str, str | None]) -> Any:
    """Run `kf` in-process: ``kf(*args, env=...)`` -> click Result (stdout/stderr apart)."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        runner = CliRunner(env={**clean_env, **(env or {})})
        return runner.invoke(main, list(args), catch_exceptions=False)

    return run
