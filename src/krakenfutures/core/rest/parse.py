"""Decode REST replies into typed values, or raise the exception they stand for.

Kraken answers in three ways: the v3 envelope ``{"result": "success"|"error", "serverTime",
"error"?, "errors"?, <payload>}`` usually with HTTP 200 even for errors; newer endpoints with real
HTTP errors and ``errors: [{code, message}]``; history/charts with bare JSON and HTTP 401 bodies
like ``{"reason": ..., "status": "unauthorized"}``. All three land here.
"""

from __future__ import annotations

from typing import Any

import msgspec

from krakenfutures.core.rest.endpoint import Endpoint
from krakenfutures.errors import ExchangeError, RemoteProtocolError


class _Probe(msgspec.Struct):
    result: str | None = None
    error: str | None = None
    errors: list[Any] | None = None
    status: Any = None
    reason: str | None = None


_probe = msgspec.json.Decoder(_Probe)
_decoders: dict[Endpoint, msgspec.json.Decoder[Any]] = {}


def _decoder_for(endpoint: Endpoint) -> msgspec.json.Decoder[Any]:
    dec = _decoders.get(endpoint)
    if dec is None:
        if endpoint.key is not None:
            env = msgspec.defstruct(
                f"{endpoint.name}_envelope",
                [
                    ("result", str | None, None),
                    ("error", str | None, None),
                    (endpoint.key, endpoint.result | None, None),
                ],
            )
            dec = msgspec.json.Decoder(env)
        else:
            dec = msgspec.json.Decoder(endpoint.result)
        _decoders[endpoint] = dec
    return dec


def _error_detail(probe: _Probe) -> tuple[str, str]:
    """Pick Kraken's error code and a detail string out of the many error shapes."""
    if probe.error:
        return probe.error, ""
    if probe.errors:
        first = probe.errors[0]
        if isinstance(first, str):
            return first, ", ".join(str(e) for e in probe.errors[1:])
        if isinstance(first, dict):
            code = str(first.get("message") or first.get("code") or "unknownError")
            return code, f"code {first.get('code')}" if "code" in first else ""
    if probe.reason:
        return "", probe.reason
    return "", ""


def parse_response(endpoint: Endpoint, http_status: int, body: bytes) -> Any:
    """Decode one reply to ``endpoint``: the typed payload, or raise an :class:`ExchangeError`.

    Raises:
        ExchangeError: a subclass chosen by :mod:`krakenfutures.core.classify`.
        RemoteProtocolError: the body is not the JSON shape Kraken sends.
    """
    if http_status >= 400 or b'"error' in body[:4096]:
        raise_for_error(endpoint, http_status, body)
    if endpoint.result is str and not body.lstrip().startswith((b"{", b"[", b'"')):
        return body.decode("utf-8", "replace")  # CSV exports (accountlogcsv)
    try:
        decoded = _decoder_for(endpoint).decode(body)
    except msgspec.DecodeError as exc:
        raise RemoteProtocolError(
            f"{endpoint.name}: cannot decode the reply ({exc}); first bytes: {body[:120]!r}"
        ) from exc
    if endpoint.key is None:
        return decoded
    if decoded.result not in (None, "success"):
        raise_for_error(endpoint, http_status, body)
    value = getattr(decoded, endpoint.key)
    if value is None:
        raise RemoteProtocolError(
            f"{endpoint.name}: success reply without {endpoint.key!r}; first bytes: {body[:120]!r}"
        )
    return value


def raise_for_error(endpoint: Endpoint, http_status: int, body: bytes) -> None:
    """Raise the exception an error reply stands for; return if the body is a success."""
    # Imported here, on the error path only: the classification tables cost ~2 ms to import.
    from krakenfutures.core.classify import error_for_code, error_for_http

    try:
        probe = _probe.decode(body) if body else _Probe()
    except msgspec.DecodeError:
        if http_status >= 400:
            text = body[:200].decode("utf-8", "replace").strip()
            raise error_for_http(http_status, endpoint=endpoint.name, detail=text) from None
        raise RemoteProtocolError(f"{endpoint.name}: reply is not JSON: {body[:120]!r}") from None
    code, detail = _error_detail(probe)
    if probe.result == "error" or probe.error or (http_status >= 400 and code):
        exc: ExchangeError = error_for_code(
            code or "unknownError", http_status=http_status, endpoint=endpoint.name, detail=detail
        )
        raise exc
    if http_status >= 400:
        raise error_for_http(http_status, endpoint=endpoint.name, detail=detail)
