"""AsyncSpotRest and TokenPolicy: Kraken's published signing vector through the client's request
building, then the simulator's Spot REST over loopback (tokens a real AsyncUwsConnection
accepts, Spot errors explained, shared nonces, TradeVolume fees)."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.client.events import Reconnected
from krakenfutures.client.feed import Backoff
from krakenfutures.client.spot_rest import AsyncSpotRest, fee_schedule_from_trade_volume
from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for
from krakenfutures.client.uws_token import Token, TokenPolicy
from krakenfutures.config import load_spot_credentials
from krakenfutures.core.signing import decode_secret
from krakenfutures.core.uws.events import Subscribed, SubscribeFailed
from krakenfutures.core.uws.signing import verify_spot_rest
from krakenfutures.errors import (
    AuthenticationError,
    ConfigError,
    CredentialsError,
    NonceError,
    PermissionDeniedError,
)
from krakenfutures.testing import (
    SPOT_KEY,
    SPOT_NO_WS_KEY,
    SPOT_SECRET,
    TEST_KEY,
    TEST_SECRET,
    SimHandle,
    running_simulator,
    sim_config,
)
from krakenfutures.transport.async_pool import AsyncHttpPool
from krakenfutures.transport.base import Response

VECTOR_SECRET = (
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
)
VECTOR_NONCE = "1616492376594"
VECTOR_BODY = b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
VECTOR_SIGN = (
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)
OK = b'{"error":[],"result":{}}'


class FixedNonce:
    """A NonceSource handing out given nonces in order."""

    def __init__(self, *values: str) -> None:
        self.values = list(values)

    def next(self, now_ms: int) -> str:
        return self.values.pop(0)

    def observe(self, value: int) -> None:
        pass


class Recorder:
    """A transport that records requests and either answers canned bodies or forwards them."""

    def __init__(self, replies: list[bytes] | None = None, inner: Any = None) -> None:
        self.replies = replies or []
        self.inner = inner
        self.sent: list[tuple[str, dict[str, str], bytes]] = []

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response:
        self.sent.append((target, dict(headers), body))
        if self.inner is not None:
            response: Response = await self.inner.request(method, target, headers, body)
            return response
        return Response(200, self.replies.pop(0) if self.replies else OK)

    async def aclose(self) -> None:
        if self.inner is not None:
            await self.inner.aclose()

    def nonces(self) -> list[int]:
        out = []
        for _, headers, body in self.sent:
            if headers["Content-Type"] == "application/json":
                out.append(int(msgspec.json.decode(body)["nonce"]))
            else:
                out.append(int(body.split(b"&")[0].removeprefix(b"nonce=")))
        return out


# ------------------------------------------------------------------------- request building


async def test_published_vector_through_the_clients_request_building() -> None:
    rec = Recorder()
    spot = AsyncSpotRest("vector-key", VECTOR_SECRET, nonce=FixedNonce(VECTOR_NONCE), transport=rec)
    params = {"ordertype": "limit", "pair": "XBTUSD", "price": "37500", "type": "buy"}
    assert await spot.call("AddOrder", {**params, "volume": "1.25"}) == {}
    (target, headers, body) = rec.sent[0]
    assert target == "/0/private/AddOrder"
    assert body == VECTOR_BODY
    assert headers["API-Sign"] == VECTOR_SIGN
    assert headers["API-Key"] == "vector-key"
    assert VECTOR_SECRET not in repr(spot)


@settings(max_examples=50, deadline=None)
@given(
    nonce=st.integers(min_value=0, max_value=2**64 - 1),
    params=st.dictionaries(
        st.text("abcdefghij_", min_size=1, max_size=8).filter(lambda k: k != "nonce"),
        st.one_of(st.text(max_size=12), st.lists(st.text(max_size=5), max_size=3)),
        max_size=4,
    ),
)
def test_every_built_request_verifies_against_its_exact_body(
    nonce: int, params: dict[str, Any]
) -> None:
    spot = AsyncSpotRest("k", VECTOR_SECRET, nonce="memory", transport=Recorder())
    path, headers, body = spot.build_request("TradeVolume", params, str(nonce))
    assert verify_spot_rest(decode_secret(VECTOR_SECRET), path, nonce, body, headers["API-Sign"])
    assert not verify_spot_rest(
        decode_secret(VECTOR_SECRET), path, nonce, body + b"x", headers["API-Sign"]
    )


async def test_invalid_nonce_is_retried_once_with_a_fresh_nonce_then_raised() -> None:
    bad = b'{"error":["EAPI:Invalid nonce"]}'
    rec = Recorder([bad, b'{"error":[],"result":{"x":1}}'])
    spot = AsyncSpotRest("k", VECTOR_SECRET, nonce=FixedNonce("5", "6"), transport=rec)
    assert await spot.call("Balance") == {"x": 1}
    assert rec.nonces() == [5, 6]
    rec = Recorder([bad, bad, OK])
    spot = AsyncSpotRest("k", VECTOR_SECRET, nonce=FixedNonce("7", "8"), transport=rec)
    with pytest.raises(NonceError, match="another program"):
        await spot.call("Balance")
    assert len(rec.sent) == 2


def test_spot_credentials_come_from_spot_variables_only() -> None:
    env = {"KRAKEN_SPOT_API_KEY": "spot-k", "KRAKEN_SPOT_API_SECRET": SPOT_SECRET}
    assert load_spot_credentials(env=env).api_key == "spot-k"
    futures_only = {"KRAKEN_FUTURES_API_KEY": TEST_KEY, "KRAKEN_FUTURES_API_SECRET": TEST_SECRET}
    with pytest.raises(CredentialsError, match="KRAKEN_SPOT_API_KEY"):
        load_spot_credentials(env=futures_only)
    with pytest.raises(CredentialsError, match="KRAKEN_SPOT_API_SECRET"):
        load_spot_credentials(env={"KRAKEN_SPOT_API_KEY": "spot-k"})


def test_token_never_shows_itself() -> None:
    token = Token("1Dwc4lzSwNWOAwkMdqhssNNFhs1ed606d1WcF3XfEMw", expires_s=900, issued_ms=0)
    for text in (repr(token), str(token), f"{token}"):
        assert "1Dwc" not in text
    with pytest.raises(TypeError):
        pickle.dumps(token)
    assert token.usable(899_999, 15 * 60_000) and not token.usable(900_000, 15 * 60_000)
    assert not token.usable(60_000, 60_000)


# ------------------------------------------------------------------------------- simulator


@pytest.fixture(scope="module")
def sim() -> Any:
    with running_simulator(sim_config(spot=True)) as handle:
        yield handle


@pytest.fixture(scope="module")
def state_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One machine's nonce state for the module's simulator (its nonces outlive a test)."""
    path = str(tmp_path_factory.mktemp("state"))
    return {"KRAKEN_FUTURES_STATE_DIR": path, "HOME": path}


@pytest.fixture
async def spot(sim: SimHandle, state_env: dict[str, str]) -> AsyncIterator[AsyncSpotRest]:
    async with AsyncSpotRest(
        SPOT_KEY, SPOT_SECRET, base_url=sim.base_url, clock_ms=sim.clock.now_ms, env=state_env
    ) as client:
        yield client


def make(sim: SimHandle, env: dict[str, str], key: str, secret: str, **kw: Any) -> AsyncSpotRest:
    return AsyncSpotRest(
        key, secret, base_url=sim.base_url, clock_ms=sim.clock.now_ms, env=env, **kw
    )


async def next_of(conn: AsyncUwsConnection, *kinds: type) -> Any:
    while True:
        event = await conn.next_event(timeout_s=5)
        if isinstance(event, kinds):
            return event


async def test_token_is_accepted_by_a_private_subscription_and_renewed_on_reconnect(
    sim: SimHandle, spot: AsyncSpotRest
) -> None:
    policy = TokenPolicy(spot, clock_ms=sim.clock.now_ms)
    conn = AsyncUwsConnection(
        uws_url_for(sim.base_url, private=True),
        token_provider=policy,
        backoff=Backoff(initial_s=0.01, max_s=0.05),
        stale_after_s=None,
    )
    async with conn:
        conn.subscribe("executions")
        event = await next_of(conn, Subscribed, SubscribeFailed)
        assert isinstance(event, Subscribed) and event.channel == "executions"
        assert policy.fetches == 1
        await conn.drop_connection()
        await next_of(conn, Reconnected)
        event = await next_of(conn, Subscribed, SubscribeFailed)
        assert isinstance(event, Subscribed) and event.channel == "executions"
    assert policy.fetches == 2  # a fresh token for the reconnect
    assert policy.last is not None and policy.last.reveal() not in repr(policy)


async def test_policy_reuses_only_when_asked_and_never_past_max_age(
    sim: SimHandle, spot: AsyncSpotRest
) -> None:
    fresh = TokenPolicy(spot, clock_ms=sim.clock.now_ms)
    assert await fresh() != await fresh() and fresh.fetches == 2
    reuse = TokenPolicy(spot, clock_ms=sim.clock.now_ms, reuse_within_ms=60_000)
    first = await reuse()
    assert await reuse() == first and reuse.fetches == 1
    sim.clock.advance(60_000)
    assert await reuse() != first and reuse.fetches == 2
    with pytest.raises(ConfigError):
        TokenPolicy(spot, reuse_within_ms=15 * 60_000)


async def test_bad_secret_is_an_authentication_error_without_the_secret(
    sim: SimHandle, state_env: dict[str, str]
) -> None:
    async with make(sim, state_env, SPOT_KEY, TEST_SECRET) as wrong:
        with pytest.raises(AuthenticationError) as info:
            await wrong.get_websockets_token()
    text = str(info.value) + repr(info.value)
    assert "secret" in text and info.value.code == "EAPI:Invalid signature"
    assert TEST_SECRET not in text and SPOT_SECRET not in text


async def test_futures_key_on_spot_rest_says_a_spot_key_is_needed(
    sim: SimHandle, state_env: dict[str, str]
) -> None:
    async with make(sim, state_env, TEST_KEY, TEST_SECRET) as futures:
        with pytest.raises(AuthenticationError, match="Futures key") as info:
            await futures.get_websockets_token()
    assert info.value.code == "EAPI:Invalid key" and TEST_SECRET not in str(info.value)


async def test_key_without_websocket_permission_says_what_to_enable(
    sim: SimHandle, state_env: dict[str, str]
) -> None:
    async with make(sim, state_env, SPOT_NO_WS_KEY, SPOT_SECRET) as no_ws:
        with pytest.raises(PermissionDeniedError, match="enable the WebSocket permission"):
            await TokenPolicy(no_ws)()


async def test_two_clients_on_one_key_share_strictly_increasing_nonces(
    sim: SimHandle, state_env: dict[str, str]
) -> None:
    recs = [Recorder(inner=AsyncHttpPool(sim.base_url)) for _ in range(2)]
    clients = [make(sim, state_env, SPOT_KEY, SPOT_SECRET, transport=r) for r in recs]
    order = []
    for i in range(6):  # interleaved, all in the same clock millisecond
        rec = recs[i % 2]
        await clients[i % 2].get_websockets_token()
        order.append(rec.nonces()[-1])
    assert order == sorted(set(order))
    for client in clients:
        await client.aclose()


async def test_trade_volume_fees_equal_the_simulators_tier(
    sim: SimHandle, spot: AsyncSpotRest
) -> None:
    schedule = sim.exchange.config.fee_schedule
    volume = sim.exchange.volume_30d("main")
    tier = schedule.tier_for(volume)
    result = await spot.trade_volume(["PF_XBTUSD"])
    assert result.volume_30d_usd == volume
    rates = result.rates("PF_XBTUSD")
    assert (rates.maker, rates.taker) == (tier.maker, tier.taker)
    flat = fee_schedule_from_trade_volume(result, "PF_XBTUSD")
    assert flat.rate(maker=True, volume_30d_usd=Decimal(0)) == tier.maker
    full = await spot.trade_volume(["PF_XBTUSD", "PF_ETHUSD"], fee_schedule=True)
    assert fee_schedule_from_trade_volume(full, "PF_ETHUSD").tiers == schedule.tiers
    assert full.taker["PF_XBTUSD"].next_rate == schedule.tiers[1].taker
    with pytest.raises(ConfigError, match="PF_SOLUSD"):
        full.rates("PF_SOLUSD")
