"""A REST bench for the simulator's handlers: an exchange behind the real :class:`Gateway`,
driven with hand-built wire bytes and an independently written signer (hashlib + hmac), so the
tests do not share the client's request building or :mod:`krakenfutures.core.signing`; and the
simulator over real loopback (``sim``, with the keys a module names in ``sim_keys``) with legacy
REST clients of account ``main`` (``rest``) and of account ``other`` (``other``)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.core.rest.endpoints import lookup
from krakenfutures.core.rest.parse import parse_response
from krakenfutures.sim.auth import ApiKey
from krakenfutures.sim.config import KeyConfig
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Gateway, Reply
from krakenfutures.sim.rest import RestExtras, build_handlers
from krakenfutures.testing import SimHandle, loopback_client, running_simulator, sim_config

HOUR = 3_600_000
H0 = 472_222 * HOUR
T0 = H0 + 10 * 60_000  # ten minutes past an hour boundary
SECRET = base64.b64encode(bytes(range(64))).decode()
V3 = "/derivatives/api/v3"
D = Decimal


def independent_authent(
    secret_b64: str, path: str, post_data: bytes, nonce: str, *, strip: bool = True
) -> str:
    """Kraken's Authent, written from the docs (reference §1.2) without our signing module;
    ``strip=False`` signs the path as given (the classic mistake)."""
    signed_path = path
    if strip and path.startswith("/derivatives"):
        signed_path = path[len("/derivatives") :]
    digest = hashlib.sha256(post_data + nonce.encode() + signed_path.encode()).digest()
    mac = hmac.new(base64.b64decode(secret_b64), digest, hashlib.sha512).digest()
    return base64.b64encode(mac).decode()


class Bench:
    """Exchange + gateway + hand-built requests. ``now`` is the request time (ms)."""

    secret = SECRET
    authent = staticmethod(independent_authent)

    def __init__(self, *, rate_limits: bool = True) -> None:
        self.now = T0
        self.exchange = Exchange(now_ms=T0, accounts=["alice", "bob"])
        self.exchange.set_index_price("PF_XBTUSD", D(60000), T0)
        self.extras = RestExtras()
        self.keys = {
            "full-a": ApiKey("full-a", SECRET, "alice"),
            "full-b": ApiKey("full-b", SECRET, "bob"),
            "read-a": ApiKey("read-a", SECRET, "alice", Permission.READ),
            "wd-a": ApiKey("wd-a", SECRET, "alice", withdrawal=True),
        }
        self.gateway = Gateway(
            build_handlers(self.exchange, self.extras), self.keys, rate_limits=rate_limits
        )
        self._nonce = 1_700_000_000_000

    def next_nonce(self) -> str:
        self._nonce += 1
        return str(self._nonce)

    def raw(
        self,
        method: str,
        path: str,
        query: bytes = b"",
        body: bytes = b"",
        *,
        key: str | None = "full-a",
        nonce: str | None = "auto",
        headers: dict[str, str] | None = None,
        authent: str | None = None,
    ) -> Reply:
        """Send exact bytes; signs ``query + body`` unless ``authent`` is given."""
        h: dict[str, str] = {}
        if body:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        if key is not None:
            n = self.next_nonce() if nonce == "auto" else (nonce or "")
            h["APIKey"] = key
            h["Authent"] = authent or independent_authent(SECRET, path, query + body, n)
            if n:
                h["Nonce"] = n
        h.update(headers or {})
        return self.gateway.handle(method, path, query, h, body, self.now)

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> Reply:
        """Form-encode ``params`` (query for GET, body otherwise) with urllib, sign and send."""
        encoded = urlencode(params or {}, doseq=True).encode()
        if method == "GET":
            return self.raw(method, path, encoded, b"", **kw)
        return self.raw(method, path, b"", encoded, **kw)

    def typed(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Like :meth:`call`, decoded by the client's parser into the endpoint's result type."""
        reply = self.call(method, path, params, **kw)
        found = lookup(method, path)
        assert found is not None, path
        return parse_response(found[0], reply.status, reply.body)

    def body(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Like :meth:`call`, the JSON body as plain Python (numbers as Decimal)."""
        reply = self.call(method, path, params, **kw)
        assert reply.status < 500, reply.body
        return json.loads(reply.body, parse_float=Decimal)

    def send(self, key: str = "full-a", **params: Any) -> dict[str, Any]:
        """``sendorder`` with wire-named params; the ``sendStatus`` object."""
        out = self.body("POST", f"{V3}/sendorder", params, key=key)
        assert out["result"] == "success", out
        return out["sendStatus"]

    def book_liquidity(self, symbol: str = "PF_XBTUSD", mid: int = 60000, qty: str = "1") -> None:
        """Bob rests one sell 10 above and one buy 10 below ``mid``."""
        for side, price in (("sell", mid + 10), ("buy", mid - 10)):
            status = self.send(
                "full-b", orderType="lmt", symbol=symbol, side=side, size=qty, limitPrice=str(price)
            )
            assert status["status"] == "placed", status


@pytest.fixture
def bench() -> Iterator[Bench]:
    yield Bench()


@pytest.fixture
def free_bench() -> Iterator[Bench]:
    """A bench without rate limits (many calls in one test)."""
    yield Bench(rate_limits=False)


@pytest.fixture
def make_bench() -> type[Bench]:
    """The bench class, for tests that need several."""
    return Bench


@pytest.fixture
def sim_keys() -> tuple[KeyConfig, ...]:
    """The keys :func:`sim` adds to the simulator's own: none here; a module overrides this."""
    return ()


@pytest.fixture
def sim(sim_keys: tuple[KeyConfig, ...]) -> Iterator[SimHandle]:
    """The simulator over real loopback (REST and WebSockets on one port), fake clock, with its
    default keys plus ``sim_keys``."""
    base = sim_config()
    with running_simulator(dataclasses.replace(base, keys=(*base.keys, *sim_keys))) as handle:
        yield handle


@pytest.fixture
def rest(sim: SimHandle) -> Any:
    """Legacy REST client of account ``main`` over loopback."""
    return loopback_client(sim)


@pytest.fixture
def other(sim: SimHandle, sim_keys: tuple[KeyConfig, ...]) -> Any:
    """Legacy REST client of account ``other`` (the counterparty), by its key in ``sim_keys``."""
    [api_key] = [key.api_key for key in sim_keys if key.account == "other"]
    return loopback_client(sim, api_key=api_key)
