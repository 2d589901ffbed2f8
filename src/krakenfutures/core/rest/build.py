"""Build signed wire requests from typed params (the client's side of the REST protocol).

Encoding rules, the same every time so that what we sign is what we send:

* GET params go in the query string, POST/PUT params in an ``application/x-www-form-urlencoded``
  body; path placeholders (``/tickers/{symbol}``) are filled from the params and not repeated.
* Keys in struct field order; lists as repeated keys (``orderIds=a&orderIds=b``); booleans as
  ``true``/``false``; Decimals in plain notation (never exponents); ``None`` omitted.
* Every value is percent-encoded with RFC 3986 rules (unreserved ``A-Za-z0-9-._~`` kept, space as
  ``%20``), which Kraken's post-2025 verifier accepts and which round-trips any client's decoding.
* ``batchorder``'s single ``json`` field holds ``{"batchOrder": [...]}`` as compact JSON with
  decimals as JSON numbers, percent-encoded like any other value.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any
from urllib.parse import quote

import msgspec

from krakenfutures.core.rest.endpoint import Endpoint, Permission
from krakenfutures.core.signing import sign_message, signed_path
from krakenfutures.errors import ValidationError

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_PUBLIC = Permission.PUBLIC
_signed_paths: dict[str, str] = {}  # wire path -> signed path (a bounded set: the endpoints)
_batch_encoder = msgspec.json.Encoder(decimal_format="number")


class Request(msgspec.Struct):
    """A request ready for any transport: bytes and headers exactly as they go on the wire.

    A msgspec Struct rather than a dataclass: it is built on every call, and its C ``__init__``
    is several times cheaper.
    """

    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]
    endpoint: Endpoint
    cost: int

    @property
    def target(self) -> str:
        """Path plus ``?query`` when there is one: the HTTP request-target."""
        return f"{self.path}?{self.query}" if self.query else self.path


def encode_value(value: Any) -> str:
    """Render one scalar param as wire text (before percent-encoding)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValidationError(f"cannot send non-finite number {value}; pass a finite Decimal")
        return format(value, "f")
    if isinstance(value, float):
        raise ValidationError(
            f"float {value!r} given where an exact number is needed; pass Decimal('{value}') or a str"
        )
    return str(value)


_needs_quote = re.compile(r"[^A-Za-z0-9._~-]").search


_pct_cache: dict[str, str] = {}


def _pct(text: str) -> str:
    """Percent-encode one value; symbols and enum words repeat, so results are memoised."""
    done = _pct_cache.get(text)
    if done is not None:
        return done
    # Most values (symbols, numbers, UUIDs) need no escaping: skip quote()'s overhead for them.
    done = text if _needs_quote(text) is None else quote(text, safe="")
    if len(text) <= 32 and len(_pct_cache) < 4096:
        _pct_cache[text] = done
    return done


def _dec(value: Decimal) -> str:
    text = str(value)
    if "E" in text or "N" in text or "I" in text:  # exponent, NaN or Infinity: the slow path
        return encode_value(value)
    return text


# Fast encoders by exact type; anything else (enums, lists, floats) takes encode_value.
_FAST: dict[type, Callable[[Any], str]] = {
    str: _pct,
    Decimal: _dec,
    bool: lambda v: "true" if v else "false",
    int: str,
}

Plan = tuple[tuple[str, str, str], ...]
_plans: dict[type[msgspec.Struct], Plan] = {}


def _plan(cls: type[msgspec.Struct]) -> Plan:
    """Per params type: (attribute, wire name, ``"wire="`` prefix already percent-encoded)."""
    plan = _plans.get(cls)
    if plan is None:
        fields = msgspec.structs.fields(cls)
        plan = _plans[cls] = tuple(
            (f.name, f.encode_name, _pct(f.encode_name) + "=") for f in fields
        )
    return plan


def wire_pairs(params: msgspec.Struct | None, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """The (wire name, python value) pairs of a params struct, ``None`` values dropped."""
    if params is None:
        return []
    out: list[tuple[str, Any]] = []
    for attr, wire, _ in _plan(type(params)):
        if attr in skip:
            continue
        value = getattr(params, attr)
        if value is not None:
            out.append((wire, value))
    return out


def _encode_one(prefix: str, value: Any, parts: list[str]) -> None:
    fast = _FAST.get(type(value))
    if fast is not None:
        parts.append(prefix + fast(value))
    elif isinstance(value, (list, tuple)):
        if prefix == "json=":
            parts.append(prefix + _pct(_batch_json(value)))
        else:
            for item in value:
                _encode_one(prefix, item, parts)
    else:
        parts.append(prefix + _pct(encode_value(value)))


_encoders: dict[tuple[type[msgspec.Struct], tuple[str, ...]], Callable[[Any], str]] = {}


def _compile_encoder(cls: type[msgspec.Struct], skip: tuple[str, ...]) -> Callable[[Any], str]:
    """Generate a straight-line encoder for one params type.

    Signing sits on every order, and a generic loop over fields with per-value type dispatch
    costs more than the HMAC itself; the generated function does one attribute read and one
    known conversion per field (the same trick msgspec and attrs use for their hot paths).
    """
    hints = typing.get_type_hints(cls)
    lines = ["def encode(p):", "    parts = []", "    add = parts.append"]
    for attr, _, prefix in _plan(cls):
        if attr in skip:
            continue
        args = set(typing.get_args(hints[attr])) | {hints[attr]}
        lines.append(f"    v = p.{attr}")
        lines.append("    if v is not None:")
        if args <= {Decimal, type(None)}:
            lines.append(
                f"        add({prefix!r} + (_dec(v) if v.__class__ is _Decimal else _slow(v)))"
            )
        elif args <= {str, type(None)} or any(
            isinstance(a, type) and issubclass(a, StrEnum) for a in args
        ):
            lines.append("        if isinstance(v, str):")
            lines.append(f"            add({prefix!r} + _pct(str(v)))")
            lines.append("        else:")
            lines.append(f"            _slow_one({prefix!r}, v, parts)")
        elif args <= {bool, type(None)}:
            lines.append(
                f"        add({prefix!r} + ('true' if v is True else 'false' if v is False else _slow(v)))"
            )
        else:
            lines.append(f"        _slow_one({prefix!r}, v, parts)")
    lines.append("    return '&'.join(parts)")
    namespace: dict[str, Any] = {
        "_dec": _dec,
        "_Decimal": Decimal,
        "_pct": _pct,
        "_slow": lambda v: _pct(encode_value(v)),
        "_slow_one": _encode_one,
    }
    exec("\n".join(lines), namespace)
    fn: Callable[[Any], str] = namespace["encode"]
    return fn


def encode_params(params: msgspec.Struct | None, skip: tuple[str, ...] = ()) -> str:
    """Percent-encode a params struct into ``a=1&b=2`` in field order (the hot path)."""
    if params is None:
        return ""
    key = (type(params), skip)
    fn = _encoders.get(key)
    if fn is None:
        fn = _encoders[key] = _compile_encoder(type(params), skip)
    return fn(params)


def encode_pairs(pairs: list[tuple[str, Any]]) -> str:
    """Percent-encode ``(name, value)`` pairs into ``a=1&b=2``; lists become repeated keys."""
    parts: list[str] = []
    for name, value in pairs:
        _encode_one(_pct(name) + "=", value, parts)
    return "&".join(parts)


def _batch_json(instructions: list[Any] | tuple[Any, ...]) -> str:
    return _batch_encoder.encode({"batchOrder": list(instructions)}).decode()


def fill_path(endpoint: Endpoint, params: msgspec.Struct | None) -> str:
    """The wire path with ``{placeholders}`` filled from params (percent-encoded)."""
    path = endpoint.path
    for name in endpoint.path_params:
        value = getattr(params, name, None) if params is not None else None
        if value is None:
            raise ValidationError(f"{endpoint.name} needs {name!r}; pass {name}=...")
        path = path.replace("{" + name + "}", _pct(encode_value(value)))
    return path


def build_request(
    endpoint: Endpoint,
    params: msgspec.Struct | None,
    *,
    api_key: str | None = None,
    key: bytes | None = None,
    nonce: str = "",
    extra_headers: Mapping[str, str] | None = None,
) -> Request:
    """Turn typed params into a signed :class:`Request`.

    Public endpoints are sent unsigned even when credentials are given. Private endpoints need
    ``api_key`` and the decoded secret ``key``; ``nonce`` may be ``""`` to send no Nonce header.
    """
    if params is not None and endpoint.params is not None and type(params) is not endpoint.params:
        raise ValidationError(
            f"{endpoint.name} takes {endpoint.params.__name__}, got {type(params).__name__}"
        )
    path = fill_path(endpoint, params) if endpoint.path_params else endpoint.path
    encoded = encode_params(params, endpoint.path_params)
    if endpoint.method == "GET":
        query, body = encoded, b""
        headers: dict[str, str] = {}
    else:
        query, body = "", encoded.encode()
        headers = {"Content-Type": FORM_CONTENT_TYPE}
    if endpoint.permission is not _PUBLIC:
        if api_key is None or key is None:
            raise ValidationError(
                f"{endpoint.name} is a private endpoint: create the client with api_key and "
                "api_secret (or KRAKEN_FUTURES_API_KEY / KRAKEN_FUTURES_API_SECRET)"
            )
        headers["APIKey"] = api_key
        signed = _signed_paths.get(path)
        if signed is None:
            if len(_signed_paths) > 1024:  # paths with placeholders vary by symbol; stay bounded
                _signed_paths.clear()
            signed = _signed_paths[path] = signed_path(path)
        # Query and body are ASCII after percent-encoding: one concatenation, one encode.
        headers["Authent"] = sign_message(key, encoded + nonce + signed)
        if nonce:
            headers["Nonce"] = nonce
    if extra_headers:
        headers.update(extra_headers)
    cost_fn: Callable[..., int] | int = endpoint.cost
    cost = cost_fn(dict(wire_pairs(params))) if callable(cost_fn) else cost_fn
    return Request(endpoint.method, path, query, body, headers, endpoint, cost)
