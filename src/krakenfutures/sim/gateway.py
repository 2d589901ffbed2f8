"""The simulator's REST front door, sans-I/O: bytes in, bytes out, exactly as Kraken answers.

Order of checks follows what a client can observe on Kraken: routing, fault injection,
authentication (headers, key, signature over the raw bytes, nonce window, permission), rate-limit
budget, parameter decoding, then the endpoint handler. No step leaks a traceback or changes state
when it refuses.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from krakenfutures.core.ratelimit import DERIVATIVES_BUDGET, HISTORY_BUDGET, CostBucket
from krakenfutures.core.rest.endpoint import Endpoint, Pool
from krakenfutures.core.rest.endpoints import lookup
from krakenfutures.core.timefmt import iso_ms
from krakenfutures.sim.auth import ApiKey, NonceWindow, verify_request
from krakenfutures.sim.faults import Faults

log = logging.getLogger("krakenfutures.sim")
_encoder = msgspec.json.Encoder(decimal_format="string")
_batch_decoder = msgspec.json.Decoder(float_hook=Decimal)
JSON = "application/json"


@dataclass(slots=True)
class Reply:
    """What the server shell sends back; ``drop`` means close the connection without a reply."""

    status: int
    body: bytes
    content_type: str = JSON
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    executed: bool = False  # a handler ran (the state may have changed): journal it


class Refusal(Exception):
    """Raised by handlers and decoding to answer with Kraken's error envelope."""

    def __init__(self, code: str, http_status: int = 200) -> None:
        super().__init__(code)
        self.code = code
        self.http_status = http_status


_LONG_DECIMAL = re.compile(rb'"(-?\d+\.\d{13,})"')


def _round_long(match: re.Match[bytes]) -> bytes:
    value = Decimal(match.group(1).decode()).quantize(Decimal("1e-12"))
    text = format(value, "f").rstrip("0").rstrip(".")
    return b'"' + (text if text not in ("", "-0") else "0").encode() + b'"'


def tidy_decimals(body: bytes) -> bytes:
    """Round values computed by division (ratios, averages, funding rates) to 12 decimals.

    The engine computes exactly with 28-digit Decimals; Kraken publishes at most ~12 decimals,
    and clients (and people reading ``kf`` tables) should see numbers shaped like Kraken's.
    """
    if b"." not in body:
        return body
    return _LONG_DECIMAL.sub(_round_long, body)


Handler = Callable[["Call"], Any]


@dataclass(slots=True)
class Call:
    """One decoded, authenticated request handed to an endpoint handler."""

    endpoint: Endpoint
    params: Any
    account: str | None
    now_ms: int
    path_vars: dict[str, str]
    raw: dict[str, list[str]]


class Gateway:
    """Authenticate, pace and decode requests, then dispatch to ``handlers[endpoint.name]``."""

    def __init__(
        self,
        handlers: Mapping[str, Handler],
        keys: Mapping[str, ApiKey],
        *,
        faults: Faults | None = None,
        rng: random.Random | None = None,
        nonce_tolerance_ms: int = 1_000,
        rate_limits: bool = True,
    ) -> None:
        self.handlers = dict(handlers)
        self.keys = dict(keys)
        self.faults = faults or Faults()
        self.rng = rng or random.Random(0)
        self._nonces: dict[str, NonceWindow] = {}
        self._buckets: dict[tuple[str, Pool], CostBucket] = {}
        self._tolerance = nonce_tolerance_ms
        self.rate_limits = rate_limits

    # -- envelopes ---------------------------------------------------------------------------
    def success(self, endpoint: Endpoint, payload: Any, now_ms: int) -> Reply:
        """Encode a success reply in the endpoint's envelope style."""
        if not endpoint.envelope:
            return Reply(200, tidy_decimals(_encoder.encode(payload)))
        body: dict[str, Any] = {"result": "success"}
        if endpoint.key is not None:
            body[endpoint.key] = payload
        elif isinstance(payload, dict):
            body.update(payload)
        body["serverTime"] = iso_ms(now_ms)
        return Reply(200, tidy_decimals(_encoder.encode(body)))

    def error(
        self, endpoint: Endpoint | None, code: str, now_ms: int, http_status: int = 200
    ) -> Reply:
        """Kraken's error answer: envelope for v3, ``{"reason","status"}`` for history 401s."""
        if endpoint is not None and not endpoint.envelope and code == "authenticationError":
            body = {
                "reason": "You are not authorized to access this endpoint.",
                "status": "unauthorized",
            }
            return Reply(401, _encoder.encode(body))
        body2 = {"result": "error", "serverTime": iso_ms(now_ms), "error": code}
        return Reply(http_status, _encoder.encode(body2))

    # -- the pipeline ------------------------------------------------------------------------
    def handle(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        headers: Mapping[str, str],
        body: bytes,
        now_ms: int,
    ) -> Reply:
        """Answer one HTTP request. Never raises: every failure becomes Kraken's answer."""
        try:
            return self._handle(method, path, raw_query, headers, body, now_ms)
        except Refusal as r:
            return self.error(None, r.code, now_ms, r.http_status)
        except Exception:  # a bug in the simulator must not look like a Kraken answer
            log.exception("simulator bug while handling %s %s", method, path)
            return self.error(None, "Server Error", now_ms, 500)

    def _handle(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        headers: Mapping[str, str],
        body: bytes,
        now_ms: int,
    ) -> Reply:
        found = lookup(method, path)
        if found is None:
            return Reply(
                404,
                _encoder.encode(
                    {"result": "error", "error": "notFound", "serverTime": iso_ms(now_ms)}
                ),
            )
        endpoint, path_vars = found
        rng = self.rng
        if self.faults.take("http_5xx_next", "http_5xx_rate", rng):
            return Reply(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
        if self.faults.take("unavailable_next", "unavailable_rate", rng):
            return self.error(endpoint, "Unavailable", now_ms)
        account: str | None = None
        if endpoint.auth:
            refusal = self._authenticate(endpoint, path, raw_query, headers, body, now_ms)
            if isinstance(refusal, str):
                return self.error(endpoint, refusal, now_ms)
            account = refusal.account
            if endpoint.pool is not Pool.NONE and not self._spend(
                refusal.api_key, endpoint, raw_query, body, now_ms
            ):
                return self.error(endpoint, "apiLimitExceeded", now_ms)
        raw = _form(raw_query, body)
        try:
            params = self._decode_params(endpoint, raw, path_vars)
        except Refusal as r:
            return self.error(endpoint, r.code, now_ms, r.http_status)
        handler = self.handlers.get(endpoint.name)
        if handler is None:
            return self.error(endpoint, "Unavailable", now_ms)
        try:
            payload = handler(Call(endpoint, params, account, now_ms, path_vars, raw))
        except Refusal as r:
            return self.error(endpoint, r.code, now_ms, r.http_status)
        reply = self.success(endpoint, payload, now_ms)
        reply.executed = True
        if endpoint.method != "GET" and self.faults.take(
            "drop_after_execute_next", "drop_after_execute_rate", rng
        ):
            reply.drop = True
        return reply

    def replay(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        account: str | None,
        body: bytes,
        now_ms: int,
    ) -> None:
        """Re-apply a request that was accepted before a restart: no auth, pacing or faults
        (its nonce and budget were spent the first time), same handler, same state change."""
        found = lookup(method, path)
        if found is None:
            return
        endpoint, path_vars = found
        handler = self.handlers.get(endpoint.name)
        if handler is None:
            return
        try:
            params = self._decode_params(endpoint, _form(raw_query, body), path_vars)
            handler(Call(endpoint, params, account, now_ms, path_vars, {}))
        except Refusal:
            pass

    def _authenticate(
        self,
        endpoint: Endpoint,
        path: str,
        raw_query: bytes,
        headers: Mapping[str, str],
        body: bytes,
        now_ms: int,
    ) -> ApiKey | str:
        h = {k.lower(): v for k, v in headers.items()}
        api_key = h.get("apikey")
        authent = h.get("authent")
        if not api_key or not authent:
            return "authenticationError"
        key = self.keys.get(api_key)
        if key is None:
            return "authenticationError"
        nonce = h.get("nonce", "")
        if not verify_request(key, path, raw_query, body, nonce, authent):
            return "authenticationError"
        if nonce:
            if not nonce.isdigit() or len(nonce) > 30:
                return "authenticationError"
            window = self._nonces.setdefault(api_key, NonceWindow(self._tolerance))
            verdict = window.check(int(nonce), now_ms)
            if verdict is not None:
                return verdict
        if not key.allows(endpoint.permission):
            return "authenticationError"
        return key

    def _spend(
        self, api_key: str, endpoint: Endpoint, raw_query: bytes, body: bytes, now_ms: int
    ) -> bool:
        if self.faults.rate_limit_exhausted:
            return False
        if not self.rate_limits:
            return True
        cost = endpoint.cost_of(self._cost_params(raw_query, body))
        return self._bucket(api_key, endpoint.pool, now_ms).try_spend(cost, now_ms)

    def _bucket(self, api_key: str, pool: Pool, now_ms: int) -> CostBucket:
        b = self._buckets.get((api_key, pool))
        if b is None:
            budget = HISTORY_BUDGET if pool is Pool.HISTORY else DERIVATIVES_BUDGET
            b = self._buckets[(api_key, pool)] = CostBucket(budget, now_ms)
        return b

    @staticmethod
    def _cost_params(raw_query: bytes, body: bytes) -> dict[str, Any]:
        return {k: v[-1] for k, v in _form(raw_query, body).items()}

    @staticmethod
    def _decode_params(
        endpoint: Endpoint, raw: dict[str, list[str]], path_vars: dict[str, str]
    ) -> Any:
        if endpoint.params is None:
            return None
        fields, lists = _param_fields(endpoint.params)
        data: dict[str, Any] = {}
        for name, values in raw.items():
            if name not in fields:
                continue  # Kraken ignores unknown params
            data[name] = values if name in lists else values[-1]
        for name, value in path_vars.items():
            for f in fields.values():
                if f.name == name:
                    data[f.encode_name] = value
        if "json" in fields and "json" in data:
            raw = data["json"]
            if isinstance(raw, list):  # the field is typed as a list: keep the last value sent
                raw = raw[-1]
            try:
                # numbers straight to Decimal: a float detour would round long prices
                data["json"] = _batch_decoder.decode(raw)["batchOrder"]
            except (msgspec.DecodeError, KeyError, TypeError):
                raise Refusal("Json Parse Error") from None
        missing = [
            f.encode_name for f in fields.values() if f.required and f.encode_name not in data
        ]
        if missing:
            raise Refusal("requiredArgumentMissing")
        try:
            return msgspec.convert(data, endpoint.params, strict=False)
        except msgspec.ValidationError:
            raise Refusal("invalidArgument") from None


@functools.cache
def _param_fields(cls: type[msgspec.Struct]) -> tuple[dict[str, Any], frozenset[str]]:
    """Wire name -> field info, and the wire names that repeat (lists); cached per params type
    because introspecting annotations costs more than handling the whole order."""
    fields = {f.encode_name: f for f in msgspec.structs.fields(cls)}
    return fields, frozenset(n for n, f in fields.items() if _is_list(f.type))


def _is_list(tp: Any) -> bool:
    text = repr(tp)
    return "list[" in text or "tuple[" in text


def _form(raw_query: bytes, body: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for blob in (raw_query, body):
        if not blob:
            continue
        try:
            text = blob.decode("utf-8")
        except UnicodeDecodeError:
            raise Refusal("invalidArgument") from None
        for k, v in parse_qsl(text, keep_blank_values=True):
            out.setdefault(k, []).append(v)
    return out
