"""The client under the simulator's fault knobs: backoff, nonce retry, no auth retry, pacing,
and idempotent order retries after a lost reply (in memory and over loopback)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.client.limiter import clear_limiters
from krakenfutures.core.retry import RetryPolicy
from krakenfutures.errors import (
    AuthenticationError,
    NonceError,
    RateLimitError,
    TimeoutError_,
    TransportError,
)
from krakenfutures.testing import exchange_pair, loopback_client, running_simulator


@pytest.fixture(autouse=True)
def _fresh_limiters() -> None:
    clear_limiters()  # each test has its own fake clock; don't share pacing state


def _count_requests(handle: Any) -> list[str]:
    seen: list[str] = []
    original = handle.simulator.handle_http

    def counting(method: str, path: str, *args: Any) -> Any:
        seen.append(path)
        return original(method, path, *args)

    handle.simulator.handle_http = counting
    return seen


def _send(client: Any, **kw: Any) -> Any:
    args = {
        "order_type": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "qty": Decimal("0.01"),
        "limit_price": Decimal(50000),
    }
    return client.send_order(**{**args, **kw})


def test_rate_limited_calls_back_off_and_then_give_up() -> None:
    client, sim = exchange_pair(retry=RetryPolicy(max_attempts=4))
    seen = _count_requests(sim)
    sim.ctl(cmd="faults", set={"rate_limit_exhausted": True})
    start = sim.clock.now_ms()
    with pytest.raises(RateLimitError):
        client.get_accounts()
    assert len(seen) == 4  # the first try plus three retries
    assert sim.clock.now_ms() > start  # the client slept (fake clock) between attempts
    sim.ctl(cmd="faults", set={"rate_limit_exhausted": False})
    assert "flex" in client.get_accounts()


def test_unavailable_is_retried_until_it_clears() -> None:
    client, sim = exchange_pair()
    seen = _count_requests(sim)
    sim.ctl(cmd="faults", set={"unavailable_next": 2})
    assert client.get_open_positions() == []
    assert len(seen) == 3


def test_authentication_error_is_never_retried_and_says_why() -> None:
    wrong = base64.b64encode(b"w" * 64).decode()
    client, sim = exchange_pair(api_secret=wrong)
    seen = _count_requests(sim)
    with pytest.raises(AuthenticationError) as info:
        client.get_accounts()
    assert len(seen) == 1
    assert "Spot" in str(info.value) and wrong not in str(info.value)


def test_nonce_error_is_retried_exactly_once_with_a_fresh_nonce() -> None:
    client, sim = exchange_pair()
    # Another process of ours raced ahead with a far higher nonce for the same key.
    sim.exchange  # noqa: B018 - the handle is live
    window = sim.simulator.gateway._nonces.setdefault(client.credentials.api_key, None)
    from krakenfutures.sim.auth import NonceWindow

    window = NonceWindow()
    window.floor = 10**30
    sim.simulator.gateway._nonces[client.credentials.api_key] = window
    seen = _count_requests(sim)
    with pytest.raises(NonceError):
        client.get_accounts()
    assert len(seen) == 2


def test_calls_wait_for_budget_instead_of_hitting_the_limit() -> None:
    client, sim = exchange_pair()
    start = sim.clock.now_ms()
    statuses = [_send(client, limit_price=Decimal(40000 + i)).status for i in range(60)]
    # 60 x cost 10 = 600 units > the 500 per 10 s budget: the client paced itself...
    assert statuses == ["placed"] * 60
    # ...by waiting (on the fake clock) at least the time 100 units take to refill: 2 s.
    assert sim.clock.now_ms() - start >= 2_000


def test_lost_reply_with_cli_ord_id_recovers_the_single_order() -> None:
    client, sim = exchange_pair()
    sim.ctl(cmd="faults", set={"drop_after_execute_next": 1})
    status = _send(client, cli_ord_id="retry-me")
    assert status.status == "placed" and status.cli_ord_id == "retry-me"
    orders = sim.exchange.open_orders("main")
    assert [o.order_id for o in orders] == [status.order_id]  # exactly one order exists


def test_lost_reply_without_cli_ord_id_is_not_resent() -> None:
    client, sim = exchange_pair()
    sim.ctl(cmd="faults", set={"drop_after_execute_next": 1})
    with pytest.raises(TimeoutError_):
        _send(client)
    assert len(sim.exchange.open_orders("main")) == 1  # executed once, never twice


def test_lost_reply_over_loopback_recovers_the_order() -> None:
    with running_simulator() as sim:
        client = loopback_client(sim)
        sim.ctl(cmd="faults", set={"drop_after_execute_next": 1})
        status = _send(client, cli_ord_id="loopback-retry")
        assert status.status == "placed"
        orders = sim._run(lambda: sim.exchange.open_orders("main"))
        assert [o.order_id for o in orders] == [status.order_id]
        sim.ctl(cmd="faults", set={"drop_after_execute_next": 1})
        with pytest.raises(TransportError):
            _send(client)
        client.close()
