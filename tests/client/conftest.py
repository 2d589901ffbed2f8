"""Fixtures for the WebSocket feed tests: a simulator over loopback (REST and ``/ws/v1`` on one
port, fake clock), REST clients for a main and a counterparty account, and helpers to read the
simulator's book and to wait for feed events."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.testing import (
    TEST_SECRET,
    loopback_client,
    running_simulator,
    sim_config,
)

OTHER_KEY = "test-key-other"
SYMBOL = "PF_XBTUSD"


def feed_sim_config(**changes: Any) -> Any:
    """``sim_config`` plus a second account (``other``) to trade against."""
    from krakenfutures.sim.config import KeyConfig

    cfg = sim_config(**changes)
    other = KeyConfig(api_key=OTHER_KEY, api_secret=TEST_SECRET, account="other")
    return dataclasses.replace(cfg, keys=(*cfg.keys, other))


@pytest.fixture
def sim() -> Iterator[Any]:
    with running_simulator(feed_sim_config()) as handle:
        yield handle


@pytest.fixture
def rest(sim: Any) -> Any:
    """Sync REST client of account ``main`` over loopback."""
    client = loopback_client(sim)
    yield client
    client.close()


@pytest.fixture
def other(sim: Any) -> Any:
    """Sync REST client of account ``other`` (the counterparty)."""
    client = loopback_client(sim, api_key=OTHER_KEY)
    yield client
    client.close()


def sim_levels(sim: Any, symbol: str = SYMBOL) -> tuple[list[tuple[Decimal, Decimal]], ...]:
    """The simulator's whole book as ``(bids, asks)``, best first (read on its loop thread)."""
    view = sim._server.call(lambda: sim.exchange.book(symbol))
    return [tuple(level) for level in view.bids], [tuple(level) for level in view.asks]


def place(client: Any, side: str, price: int | str, qty: str = "0.01", **kw: Any) -> Any:
    """A resting limit order (one book delta when it does not cross)."""
    return client.send_order(
        order_type=kw.pop("order_type", "lmt"),
        symbol=kw.pop("symbol", SYMBOL),
        side=side,
        qty=Decimal(qty),
        limit_price=Decimal(price),
        **kw,
    )


async def collect_until(
    feed: Any, done: Callable[[Any], bool], *, timeout_s: float = 30.0
) -> list[Any]:
    """Events of ``feed`` up to and including the first for which ``done`` is true."""
    seen: list[Any] = []
    async with asyncio.timeout(timeout_s):
        async for event in feed:
            seen.append(event)
            if done(event):
                return seen
    raise AssertionError(f"the feed ended before the awaited event; saw {seen[-5:]}")


def make_feed(sim: Any, *, keyed: bool = True, secret: str | None = None, **kw: Any) -> Any:
    """An :class:`AsyncFeed` to ``sim`` with fast backoff and no credentials from this machine's
    environment or files (``keyed``: the simulator's main key; ``secret`` overrides its
    secret)."""
    from krakenfutures.client.feed import AsyncFeed, Backoff

    env = {"HOME": "/nonexistent-kf-home", "XDG_CONFIG_HOME": "/nonexistent-kf-home/config"}
    key = sim.api_key if keyed else None
    api_secret = (secret or sim.api_secret) if keyed else None
    kw.setdefault("backoff", Backoff(0.01, 0.05))
    return AsyncFeed(sim.base_url, key, api_secret, env=env, **kw)


async def in_thread(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """Run a blocking REST call off the event loop, so the feed keeps reading meanwhile."""
    return await asyncio.to_thread(fn, *args, **kw)


@pytest.fixture
def kit() -> Any:
    """The helpers above, for test modules (conftest is not importable by name here)."""
    import types

    return types.SimpleNamespace(
        SYMBOL=SYMBOL,
        OTHER_KEY=OTHER_KEY,
        sim_levels=sim_levels,
        place=place,
        make_feed=make_feed,
        collect_until=collect_until,
        in_thread=in_thread,
        feed_sim_config=feed_sim_config,
    )
