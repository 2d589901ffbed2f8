"""The curated public API: exactly these names, each importable, nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys

import krakenfutures

PUBLIC = {
    "AsyncClient",
    "AsyncFeed",
    "AuthenticationError",
    "Client",
    "ConfigError",
    "Credentials",
    "CredentialsError",
    "ExchangeError",
    "KrakenFuturesError",
    "NonceError",
    "OrderBook",
    "OrderRejectedError",
    "OrderType",
    "RateLimitError",
    "RetryPolicy",
    "Secret",
    "SequenceGapError",
    "Side",
    "TradingState",
    "TransportError",
    "TriggerSignal",
    "UnavailableError",
    "ValidationError",
    "__version__",
}


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert set(krakenfutures.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(krakenfutures, name) is not None


def test_import_loads_no_http_websocket_or_cli_library() -> None:
    code = (
        "import sys, krakenfutures; krakenfutures.Client; "
        "print(sorted(m for m in ('httpx','aiohttp','websockets','rich','click','pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
