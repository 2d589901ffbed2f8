"""Client <-> simulator pairs for the contract tests: the real ``Client``/``AsyncClient`` and
the real ``Simulator``, wired in memory (:func:`krakenfutures.testing.exchange_pair`) or over
loopback HTTP (:func:`krakenfutures.testing.running_simulator`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.testing import TEST_KEY, TEST_SECRET, exchange_pair, running_simulator


def make_pair(async_client: bool = False, **kwargs: Any) -> tuple[Any, Any]:
    """``(client, handle)``: a real client wired in memory to a real simulator."""
    return exchange_pair(async_client=async_client, **kwargs)


class Market:
    """Counterparties placed straight into the engine (accounts ``maker``/``maker2``)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        ex = handle.exchange
        for name in ("maker", "maker2"):
            if name not in ex.account_names():
                ex.open_account(name, flex={"USD": Decimal(10_000_000)})

    def order(
        self,
        side: str,
        qty: str,
        price: str,
        *,
        symbol: str = "PF_XBTUSD",
        account: str = "maker",
        order_type: str = "lmt",
    ) -> Any:
        r = self.handle.exchange.send_order(
            account,
            symbol=symbol,
            side=side,
            order_type=order_type,
            qty=Decimal(qty),
            limit_price=Decimal(price),
            now_ms=self.handle.clock.now_ms(),
        )
        assert r.status == "placed", r
        return r


@pytest.fixture
def pair() -> Iterator[tuple[Any, Any]]:
    client, handle = make_pair()
    handle.clock.advance(10 * 60_000)  # ten minutes into the first hour
    yield client, handle
    client.close()


@pytest.fixture
def client(pair: tuple[Any, Any]) -> Any:
    return pair[0]


@pytest.fixture
def handle(pair: tuple[Any, Any]) -> Any:
    return pair[1]


@pytest.fixture
def market(handle: Any) -> Market:
    return Market(handle)


@pytest.fixture
async def async_pair() -> Any:
    client, handle = make_pair(async_client=True)
    handle.clock.advance(10 * 60_000)
    yield client, handle, Market(handle)
    await client.aclose()


@pytest.fixture
def served() -> Iterator[Any]:
    """A simulator over real loopback HTTP (fake clock). Yields a handle with ``base_url``."""
    with running_simulator() as handle:
        handle.clock.advance(10 * 60_000)
        yield handle


def loopback_kwargs(handle: Any) -> dict[str, Any]:
    """Client arguments for a served simulator (real HTTP transport, fake clock)."""
    state = tempfile.mkdtemp(prefix="kf-test-state-")
    return {
        "api_key": TEST_KEY,
        "api_secret": TEST_SECRET,
        "base_url": handle.base_url,
        "nonce": "memory",
        "clock_ms": handle.clock.now_ms,
        "sleep": handle.clock.sleep,
        "env": {"KRAKEN_FUTURES_STATE_DIR": state, "HOME": state},
    }


@pytest.fixture
def loopback(served: Any) -> Any:
    """Factory of loopback client kwargs (``loopback()`` -> dict)."""
    return lambda: loopback_kwargs(served)
