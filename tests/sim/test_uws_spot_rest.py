"""Spot REST on the simulator (``/0/private/GetWebSocketsToken``, ``/0/private/TradeVolume``),
driven in memory through ``Simulator.handle_http`` with hand-built bytes and an independently
written signer (hashlib + hmac, reference §2.1), plus the Spot-key config and token lifetime."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.errors import ConfigError
from krakenfutures.sim.config import SPOT_KEY, KeyConfig, parse_config
from krakenfutures.testing import TEST_KEY, TEST_SECRET, SimHandle, make_simulator, sim_config

SPOT = "spot-key-main"
SPOT_READ = "spot-key-read"
SPOT_NO_WS = "spot-key-no-ws"
TOKEN = "/0/private/GetWebSocketsToken"
VOLUME = "/0/private/TradeVolume"
XBT = "PF_XBTUSD"


def api_sign(path: str, nonce: str, body: bytes, secret: str = TEST_SECRET) -> str:
    digest = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


def spot_config(**changes: Any) -> Any:
    base = sim_config()
    keys = (
        KeyConfig(SPOT, TEST_SECRET, "main", kind=SPOT_KEY),
        KeyConfig(SPOT_READ, TEST_SECRET, "main", Permission.READ, kind=SPOT_KEY),
        KeyConfig(SPOT_NO_WS, TEST_SECRET, "main", kind=SPOT_KEY, websocket=False),
        KeyConfig("futures-other", TEST_SECRET, "other"),
    )
    return dataclasses.replace(base, keys=(*base.keys, *keys), **changes)


class Spot:
    """Signed Spot REST calls against an in-memory simulator."""

    def __init__(self, handle: SimHandle) -> None:
        self.handle = handle
        self.nonce = 1_767_225_600_000

    def post(
        self,
        path: str,
        body: bytes | None = None,
        *,
        key: str | None = SPOT,
        sign: str | None = None,
        json_body: bool = False,
        method: str = "POST",
    ) -> tuple[dict[str, Any], dict[str, str]]:
        if body is None:
            self.nonce += 1
            body = f"nonce={self.nonce}".encode()
        nonce = _nonce_of(body)
        headers = {
            "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded"
        }
        if key is not None:
            headers["API-Key"] = key
            headers["API-Sign"] = sign if sign is not None else api_sign(path, nonce, body)
        reply = self.handle.simulator.handle_http(
            method, path, b"", headers, body, self.handle.clock.now_ms()
        )
        assert reply.status == 200
        return json.loads(reply.body, parse_float=Decimal), reply.headers

    def token(self) -> str:
        out, _ = self.post(TOKEN)
        assert out["error"] == [], out
        return str(out["result"]["token"])


def _nonce_of(body: bytes) -> str:
    if body.startswith(b"{"):
        return str(json.loads(body).get("nonce", ""))
    fields = dict(p.split("=", 1) for p in body.decode().split("&") if "=" in p)
    return fields.get("nonce", "")


@pytest.fixture
def spot() -> Spot:
    return Spot(make_simulator(spot_config()))


# ------------------------------------------------------------------------------ the token


def test_token_issued_with_kraken_shape(spot: Spot) -> None:
    out, _ = spot.post(TOKEN)
    assert out["error"] == []
    assert out["result"]["expires"] == 900
    token = out["result"]["token"]
    assert len(token) == 43 and token.isalnum()
    assert spot.token() != token  # each call a new token


def test_json_body_is_accepted_and_signed_as_sent(spot: Spot) -> None:
    body = b'{"nonce": 1767225600123}'
    out, _ = spot.post(TOKEN, body, json_body=True)
    assert out["error"] == [] and out["result"]["token"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"key": None}, "EAPI:Invalid key"),
        ({"key": "nobody"}, "EAPI:Invalid key"),
        ({"sign": base64.b64encode(b"x" * 64).decode()}, "EAPI:Invalid signature"),
        ({"body": b"nonce=abc"}, "EAPI:Invalid nonce"),
        ({"body": b"otp=1"}, "EAPI:Invalid nonce"),
        ({"key": SPOT_NO_WS}, "EGeneral:Permission denied"),
        ({"method": "GET"}, "EGeneral:Unknown method"),
    ],
)
def test_refusals_use_spot_error_envelope(spot: Spot, kwargs: Any, error: str) -> None:
    out, _ = spot.post(TOKEN, **kwargs)
    assert out == {"error": [error]}  # no "result" on errors


def test_wrong_secret_is_an_invalid_signature(spot: Spot) -> None:
    body = b"nonce=5"
    other = base64.b64encode(b"another secret").decode()
    out, _ = spot.post(TOKEN, body, sign=api_sign(TOKEN, "5", body, other))
    assert out == {"error": ["EAPI:Invalid signature"]}


def test_nonce_must_strictly_increase_per_key(spot: Spot) -> None:
    assert spot.post(TOKEN, b"nonce=100")[0]["error"] == []
    assert spot.post(TOKEN, b"nonce=100")[0] == {"error": ["EAPI:Invalid nonce"]}
    assert spot.post(TOKEN, b"nonce=99")[0] == {"error": ["EAPI:Invalid nonce"]}
    assert spot.post(TOKEN, b"nonce=50", key=SPOT_READ)[0]["error"] == []  # its own counter
    assert spot.post(TOKEN, b"nonce=101")[0]["error"] == []


def test_refused_signature_does_not_burn_the_nonce(spot: Spot) -> None:
    assert spot.post(TOKEN, b"nonce=7", sign="bad")[0] == {"error": ["EAPI:Invalid signature"]}
    assert spot.post(TOKEN, b"nonce=7")[0]["error"] == []


def test_futures_key_on_spot_rest_is_an_invalid_key_with_a_hint(spot: Spot) -> None:
    out, headers = spot.post(TOKEN, key=TEST_KEY)
    assert out == {"error": ["EAPI:Invalid key"]}
    assert "Futures key" in headers["X-Sim-Hint"] and 'kind = "spot"' in headers["X-Sim-Hint"]


def test_spot_key_is_refused_by_futures_rest(spot: Spot) -> None:
    from krakenfutures.testing import exchange_pair

    client, _ = exchange_pair(spot_config(), api_key=SPOT)
    from krakenfutures.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        client.get_open_orders()


# ----------------------------------------------------------------------------- TradeVolume


def test_trade_volume_fees_follow_schedule_and_30_day_volume(spot: Spot) -> None:
    body = b'{"nonce": 1767225600500, "pair": [{"asset": "PF_XBTUSD", "aclass": "derivatives"}]}'
    out, _ = spot.post(VOLUME, body, json_body=True)
    assert out["error"] == []
    result = out["result"]
    assert result["currency"] == "ZUSD" and result["volume"] == "0.0000"
    assert result["fees"][XBT] == {
        "fee": "0.0500",
        "minfee": "0.0100",
        "maxfee": "0.0500",
        "nextfee": "0.0400",
        "nextvolume": "100000.0000",
        "tiervolume": "0.0000",
    }
    assert result["fees_maker"][XBT]["fee"] == "0.0200"
    assert "schedules" not in result
    # 2 XBT at 60,000 = 120,000 USD traded: the second tier.
    ex, now = spot.handle.exchange, spot.handle.clock.now_ms()
    ex.send_order(
        "other",
        symbol=XBT,
        side="sell",
        order_type="lmt",
        qty=Decimal(2),
        limit_price=Decimal(60000),
        now_ms=now,
    )
    ex.send_order("main", symbol=XBT, side="buy", order_type="mkt", qty=Decimal(2), now_ms=now)
    out, _ = spot.post(VOLUME, b"nonce=1767225600600&pair=PF_XBTUSD,BTC/USD&fee_schedule=true")
    result = out["result"]
    assert Decimal(result["volume"]) == 120000
    assert (
        result["fees"][XBT]["fee"] == "0.0400"
        and result["fees"][XBT]["tiervolume"] == "100000.0000"
    )
    assert result["fees"]["BTC/USD"] == result["fees"][XBT]  # either spelling, keyed as sent
    tiers = ex.config.fee_schedule.tiers
    assert [row["fee"] for row in result["schedules"][XBT]] == [
        f"{t.taker * 100:.4f}" for t in tiers
    ]


def test_trade_volume_without_pairs_gives_no_fees(spot: Spot) -> None:
    out, _ = spot.post(VOLUME)
    assert set(out["result"]) == {"currency", "volume"}


@pytest.mark.parametrize(
    "pair",
    [
        '[{"asset": "PF_NOPE", "aclass": "derivatives"}]',
        '[{"asset": "PF_XBTUSD", "aclass": "forex"}]',
    ],
)
def test_trade_volume_unknown_pair(spot: Spot, pair: str) -> None:
    body = f'{{"nonce": 1767225600700, "pair": {pair}}}'.encode()
    assert spot.post(VOLUME, body, json_body=True)[0] == {"error": ["EQuery:Unknown asset pair"]}


def test_read_only_spot_key_may_query_volume(spot: Spot) -> None:
    assert spot.post(VOLUME, b"nonce=9", key=SPOT_READ)[0]["error"] == []


# -------------------------------------------------------------------------- token lifetime


def _subscribe(handle: SimHandle, conn: Any, token: str) -> dict[str, Any]:
    hub = handle.simulator.uws_hub
    msg = {"method": "subscribe", "params": {"channel": "balances", "token": token}, "req_id": 1}
    return json.loads(hub.receive(conn, json.dumps(msg), handle.clock.now_ms())[0])


def test_token_must_be_used_within_15_minutes_then_lives_on_its_connection(spot: Spot) -> None:
    handle, hub = spot.handle, spot.handle.simulator.uws_hub
    now = handle.clock.now_ms
    late, used = spot.token(), spot.token()
    hub.connect((True, 1), now())
    hub.connect((True, 2), now())
    handle.clock.advance(900_000)  # exactly 15 minutes: still usable
    assert _subscribe(handle, (True, 1), used)["success"] is True
    handle.clock.advance(1)
    assert _subscribe(handle, (True, 2), late) | {"time_in": 0, "time_out": 0} == {
        "method": "subscribe",
        "error": "ESession:Invalid session",
        "success": False,
        "req_id": 1,
        "time_in": 0,
        "time_out": 0,
    }
    # The connection that accepted its token keeps it, hours later; a new connection does not.
    handle.clock.advance(3 * 3_600_000)
    cancel = {"method": "cancel_all", "params": {"asset_class": "derivatives", "token": used}}
    reply = json.loads(hub.receive((True, 1), json.dumps(cancel), now())[0])
    assert reply["success"] is True and reply["result"] == {"count": 0}
    assert _subscribe(handle, (True, 2), used)["error"] == "ESession:Invalid session"


# -------------------------------------------------------------------------------- config


def test_sim_toml_spot_keys_and_backward_compatibility() -> None:
    text = f"""
[[keys]]
api_key = "fut"
api_secret = "{TEST_SECRET}"

[[keys]]
api_key = "spt"
api_secret = "{TEST_SECRET}"
kind = "spot"
permission = "read"
websocket = false

[uws]
symbol_format = "pair"
"""
    cfg = parse_config(tomllib.loads(text))
    fut, spt = cfg.keys
    assert (fut.kind, fut.is_spot, fut.websocket) == ("futures", False, True)
    assert (spt.kind, spt.is_spot, spt.websocket, spt.permission) == (
        "spot",
        True,
        False,
        Permission.READ,
    )
    assert cfg.uws_symbol_format == "pair"
    assert parse_config({}).uws_symbol_format == "native"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[keys]]\napi_key = "k"\napi_secret = "{s}"\nkind = "margin"', "kind must be"),
        ('[uws]\nsymbol_format = "slash"', "symbol_format"),
        ("[uws]\nnope = 1", "unknown key 'nope'"),
        ('[faults]\nuws_status = "broken"', "uws_status must be one of"),
    ],
)
def test_config_refusals(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(tomllib.loads(toml.replace("{s}", TEST_SECRET)))
