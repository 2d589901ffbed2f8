"""The two Spot REST calls uws needs, on the simulator's HTTP port, sans-I/O (reference §2, §7).

``POST /0/private/GetWebSocketsToken`` and ``POST /0/private/TradeVolume``, answered in Spot's
envelope: ``{"error": [], "result": {...}}`` on success, ``{"error": ["E<Cat>:<Desc>"]}`` (HTTP
200, no ``result``) on failure. Checks, first failure wins:

1. method and path: anything but ``POST`` on a known ``/0/private/`` path is
   ``EGeneral:Unknown method``;
2. ``API-Key`` header: missing or not a Spot key is ``EAPI:Invalid key`` (a Futures key gets the
   same answer, as on Kraken where it does not exist on Spot; the reply carries an
   ``X-Sim-Hint`` header and the simulator logs why, since a client cannot tell otherwise);
3. body: form-encoded or JSON (``Content-Type: application/json`` or a body starting with
   ``{``) with a ``nonce``; a missing or malformed nonce is ``EAPI:Invalid nonce``;
4. ``API-Sign`` over the raw body (:mod:`krakenfutures.core.uws.signing`): ``EAPI:Invalid
   signature``;
5. the nonce must exceed the key's last accepted nonce: ``EAPI:Invalid nonce``;
6. permission: ``GetWebSocketsToken`` needs "Access WebSockets API" (``websocket = true``):
   ``EGeneral:Permission denied``.

``TradeVolume`` (our reading where §7 leaves gaps): ``pair`` is a comma-separated list or a list
of ``{"asset": <contract>, "aclass": "derivatives"}`` objects (JSON body, or JSON text in a form
field); each ``asset`` is a contract symbol in either uws spelling and keys the answer as sent.
``fees`` (taker) and ``fees_maker`` give, in percent as 4-decimal strings, ``fee``, ``minfee``,
``maxfee``, ``nextfee``/``nextvolume`` (``null`` at the top tier) and ``tiervolume``, from the
simulator's fee schedule and the account's 30-day USD volume; ``fee_schedule=true`` adds
``schedules``: per pair, every tier as ``{"volume", "fee", "fee_maker"}``. An unknown pair or a
non-derivatives ``aclass`` is ``EQuery:Unknown asset pair``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from krakenfutures.core.money import FeeSchedule, FeeTier
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, SymbolFormat, UwsAssumptions
from krakenfutures.core.uws.signing import verify_spot_rest
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.gateway import Reply
from krakenfutures.sim.uws_auth import SpotKey, SpotNonces, TokenStore, parse_nonce

log = logging.getLogger("krakenfutures.sim")
SPOT_PREFIX = "/0/"
TOKEN_PATH = "/0/private/GetWebSocketsToken"
TRADE_VOLUME_PATH = "/0/private/TradeVolume"
HINT_HEADER = "X-Sim-Hint"
_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="string")
_FOUR = Decimal("0.0001")


class SpotError(Exception):
    """A Spot REST refusal: ``code`` is Kraken's ``E<Category>:<Description>`` text."""

    def __init__(self, code: str, hint: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.hint = hint


def spot_reply(result: Any = None, error: str | None = None, hint: str | None = None) -> Reply:
    """Spot's envelope: ``{"error": [...], "result": ...}`` (no ``result`` on errors)."""
    body: dict[str, Any] = {"error": [error] if error else []}
    if error is None:
        body["result"] = result
    headers = {HINT_HEADER: hint} if hint else {}
    return Reply(200, _encoder.encode(body), headers=headers)


class SpotRest:
    """Spot REST for uws: authenticate Spot keys, issue tokens, answer ``TradeVolume``.

    Args:
        exchange: the engine (fee schedule and 30-day volumes).
        keys: Spot ``API-Key`` -> :class:`SpotKey`.
        tokens: where issued tokens go (the uws endpoint checks them there).
        futures_keys: the Futures keys, only to explain an ``EAPI:Invalid key``.
        assumptions: uws symbol spelling (pairs are accepted in both spellings).
    """

    def __init__(
        self,
        exchange: Exchange,
        keys: Mapping[str, SpotKey],
        tokens: TokenStore,
        *,
        futures_keys: frozenset[str] = frozenset(),
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
    ) -> None:
        self.exchange = exchange
        self.keys = dict(keys)
        self.tokens = tokens
        self.nonces = SpotNonces()
        self._futures_keys = futures_keys
        self._assumptions = assumptions
        self._pair_reading = replace(assumptions, symbol_format=SymbolFormat.PAIR)

    @staticmethod
    def serves(path: str) -> bool:
        """Whether ``path`` belongs to Spot REST (``/0/...``) rather than Futures REST."""
        return path.startswith(SPOT_PREFIX)

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes, now_ms: int
    ) -> Reply:
        """Answer one Spot REST request; never raises."""
        try:
            if method != "POST" or path not in (TOKEN_PATH, TRADE_VOLUME_PATH):
                raise SpotError("EGeneral:Unknown method")
            key, params = self._authenticate(path, headers, body)
            if path == TOKEN_PATH:
                if not key.websocket:
                    raise SpotError(
                        "EGeneral:Permission denied",
                        "this Spot key lacks the 'Access WebSockets API' permission "
                        "(websocket = true in sim.toml)",
                    )
                grant = self.tokens.issue(key, now_ms)
                return spot_reply({"token": grant.token, "expires": self.tokens.ttl_ms // 1000})
            return spot_reply(self._trade_volume(key.account, params))
        except SpotError as exc:
            if exc.hint:
                log.info("Spot REST %s refused (%s): %s", path, exc.code, exc.hint)
            return spot_reply(error=exc.code, hint=exc.hint)

    # -- authentication ------------------------------------------------------------------------

    def _authenticate(
        self, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[SpotKey, dict[str, Any]]:
        h = {k.lower(): v for k, v in headers.items()}
        api_key = h.get("api-key", "")
        key = self.keys.get(api_key)
        if key is None:
            hint = "no API-Key header" if not api_key else "unknown key"
            if api_key in self._futures_keys:
                hint = (
                    "this is a Futures key; Spot REST and the Unified WebSocket need a Kraken "
                    'Spot key (kind = "spot" in sim.toml) with the WebSocket permission'
                )
            raise SpotError("EAPI:Invalid key", hint)
        params = _params(h.get("content-type", ""), body)
        raw_nonce = params.get("nonce")
        nonce = parse_nonce(raw_nonce)
        if nonce is None:
            raise SpotError("EAPI:Invalid nonce", "the body needs nonce=<unsigned 64-bit integer>")
        if not verify_spot_rest(key.key, path, str(raw_nonce), body, h.get("api-sign", "")):
            raise SpotError("EAPI:Invalid signature")
        if not self.nonces.check(api_key, nonce):
            raise SpotError("EAPI:Invalid nonce", "nonce not above the last accepted one")
        return key, params

    # -- TradeVolume ---------------------------------------------------------------------------

    def _trade_volume(self, account: str, params: Mapping[str, Any]) -> dict[str, Any]:
        pairs = self._pairs(params.get("pair"))
        schedule = self.exchange.config.fee_schedule
        volume = self.exchange.volume_30d(account)
        result: dict[str, Any] = {"currency": "ZUSD", "volume": _four(volume)}
        if pairs:
            result["fees"] = {name: _fee_info(schedule, volume, False) for name in pairs}
            result["fees_maker"] = {name: _fee_info(schedule, volume, True) for name in pairs}
        if _truthy(params.get("fee_schedule")) and pairs:
            rows = [
                {
                    "volume": _four(t.min_volume_usd),
                    "fee": _pct(t.taker),
                    "fee_maker": _pct(t.maker),
                }
                for t in schedule.tiers
            ]
            result["schedules"] = {name: rows for name in pairs}
        return result

    def _pairs(self, value: Any) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = _decoder.decode(value)
            except msgspec.DecodeError:
                raise SpotError("EGeneral:Invalid arguments:pair") from None
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list):
            raise SpotError("EGeneral:Invalid arguments:pair")
        names: list[str] = []
        for item in items:
            if isinstance(item, dict):
                name, aclass = item.get("asset"), item.get("aclass", "derivatives")
            else:
                name, aclass = item, "derivatives"
            if not isinstance(name, str) or aclass != "derivatives" or not self._listed(name):
                raise SpotError("EQuery:Unknown asset pair")
            names.append(name.strip())
        return names

    def _listed(self, wire: str) -> bool:
        for reading in (self._assumptions, self._pair_reading):
            try:
                if self.exchange.has_symbol(reading.from_wire_symbol(wire)):
                    return True
            except ValueError:
                continue
        return False


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """The body's parameters: JSON object or form fields (last value wins)."""
    if "json" in content_type.lower() or body.lstrip().startswith(b"{"):
        try:
            data = _decoder.decode(body)
        except msgspec.DecodeError:
            raise SpotError("EGeneral:Invalid arguments", "the JSON body does not parse") from None
        if not isinstance(data, dict):
            raise SpotError("EGeneral:Invalid arguments", "the JSON body must be an object")
        return data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise SpotError("EGeneral:Invalid arguments", "the body is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _four(value: Decimal) -> str:
    """Kraken's TradeVolume number text: at least 4 decimals, more only when needed."""
    if value == value.quantize(_FOUR):
        return format(value.quantize(_FOUR), "f")
    return format(value.normalize(), "f")


def _pct(rate: Decimal) -> str:
    return _four(rate * 100)


def _fee_info(schedule: FeeSchedule, volume: Decimal, maker: bool) -> dict[str, Any]:
    def rate(tier: FeeTier) -> Decimal:
        return tier.maker if maker else tier.taker

    tiers = schedule.tiers
    current = schedule.tier_for(volume)
    index = tiers.index(current)
    upper = tiers[index + 1] if index + 1 < len(tiers) else None
    return {
        "fee": _pct(rate(current)),
        "minfee": _pct(min(rate(t) for t in tiers)),
        "maxfee": _pct(max(rate(t) for t in tiers)),
        "nextfee": _pct(rate(upper)) if upper is not None else None,
        "nextvolume": _four(upper.min_volume_usd) if upper is not None else None,
        "tiervolume": _four(current.min_volume_usd),
    }


__all__ = [
    "HINT_HEADER",
    "SPOT_PREFIX",
    "TOKEN_PATH",
    "TRADE_VOLUME_PATH",
    "SpotError",
    "SpotRest",
    "spot_reply",
]
