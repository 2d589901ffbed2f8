"""krakenfutures: a toolkit for automated trading on Kraken Futures.

The public API is curated here and pinned by ``tests/test_public_api.py``. Heavy parts (HTTP
libraries, the simulator, the CLI) load only when used, so ``import krakenfutures`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from krakenfutures.errors import (
    AuthenticationError,
    ConfigError,
    CredentialsError,
    ExchangeError,
    KrakenFuturesError,
    NonceError,
    OrderRejectedError,
    RateLimitError,
    SequenceGapError,
    TransportError,
    UnavailableError,
    ValidationError,
)

__version__ = "0.1.0"

_LAZY = {
    "Client": ("krakenfutures.client.sync", "Client"),
    "AsyncClient": ("krakenfutures.client.async_", "AsyncClient"),
    "AsyncFeed": ("krakenfutures.client.feed", "AsyncFeed"),
    "OrderBook": ("krakenfutures.core.book", "OrderBook"),
    "Credentials": ("krakenfutures.config", "Credentials"),
    "Secret": ("krakenfutures.config", "Secret"),
    "RetryPolicy": ("krakenfutures.core.retry", "RetryPolicy"),
    "Side": ("krakenfutures.core.types", "Side"),
    "OrderType": ("krakenfutures.core.types", "OrderType"),
    "TriggerSignal": ("krakenfutures.core.types", "TriggerSignal"),
    "TradingState": ("krakenfutures.core.types", "TradingState"),
}

if TYPE_CHECKING:
    from krakenfutures.client.async_ import AsyncClient
    from krakenfutures.client.feed import AsyncFeed
    from krakenfutures.client.sync import Client
    from krakenfutures.config import Credentials, Secret
    from krakenfutures.core.book import OrderBook
    from krakenfutures.core.retry import RetryPolicy
    from krakenfutures.core.types import OrderType, Side, TradingState, TriggerSignal


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'krakenfutures' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


__all__ = [
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
]
