"""Shared by the runtime tests on the unified dialect against the simulator over loopback: its
extra keys (a uws Spot key of ``main``, a counterparty account ``other``), a uws token fetch,
fast reconnects, a trading-state source that says every market is open, and polling for a
condition."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import httpx

from krakenfutures.client.feed import Backoff
from krakenfutures.core.types import TradingState
from krakenfutures.core.uws.signing import sign_spot_rest
from krakenfutures.sim.config import KeyConfig
from krakenfutures.testing import TEST_SECRET, SimHandle

SPOT = "spot-key-uws"
OTHER = "futures-key-other"
UWS_KEYS = (
    KeyConfig(api_key=SPOT, api_secret=TEST_SECRET, account="main", kind="spot", websocket=True),
    KeyConfig(api_key=OTHER, api_secret=TEST_SECRET, account="other"),
)
FAST = Backoff(initial_s=0.01, max_s=0.05)
_nonces = itertools.count(time.time_ns() // 1000)


def token_provider(sim: SimHandle) -> Any:
    """A minimal GetWebSocketsToken fetch (the proper Spot REST client is being written)."""

    async def fetch() -> str:
        path, nonce = "/0/private/GetWebSocketsToken", str(next(_nonces))
        body = f"nonce={nonce}".encode()
        headers = {
            "API-Key": SPOT,
            "API-Sign": sign_spot_rest(TEST_SECRET, path, nonce, body),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        async with httpx.AsyncClient() as http:
            reply = await http.post(sim.base_url + path, content=body, headers=headers)
        out = reply.json()
        assert out["error"] == [], out
        return str(out["result"]["token"])

    return fetch


class OpenMonitor:
    """A trading-state source that says every market is open (REST monitoring is tested
    elsewhere; these tests are about the uws venue, market and private channels)."""

    def state(self, symbol: str) -> TradingState:
        return TradingState.OPEN

    def apply_ticker(self, ticker: object) -> None:
        pass

    async def run(self, emit: object) -> None:
        await asyncio.Event().wait()

    async def poll_once(self) -> list[Any]:
        return []


async def until(check: Callable[[], Any], what: str, timeout_s: float = 5.0) -> None:
    """Poll ``check`` until it is true; fails naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
