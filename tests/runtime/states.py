"""Short names for the trading states, shared by the trading-state monitor tests."""

from __future__ import annotations

from krakenfutures.core.types import TradingState

OPEN, POST_ONLY, SUSPENDED, MAINTENANCE, UNKNOWN = (
    TradingState.OPEN,
    TradingState.POST_ONLY,
    TradingState.SUSPENDED,
    TradingState.MAINTENANCE,
    TradingState.UNKNOWN,
)
