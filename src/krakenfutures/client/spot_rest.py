"""``AsyncSpotRest``: the two Kraken **Spot** REST calls the Unified WebSocket needs.

uws authenticates with a token from ``/0/private/GetWebSocketsToken``; derivatives fees come
from ``/0/private/TradeVolume`` (reference §2, §7). Both are signed with a Spot key
(:mod:`krakenfutures.core.uws.signing`) and a nonce strictly increasing per key, from the
Futures client's nonce machinery (``nonce="file"``: one counter per key for every process).

Example::

    spot = AsyncSpotRest(env=None)                     # KRAKEN_SPOT_API_KEY / _SECRET
    token = await spot.get_websockets_token()          # Token('****', expires_s=900, ...)
    fees = await spot.trade_volume(["PF_XBTUSD"])
    fees.rates("PF_XBTUSD")                            # FeeRates(maker=..., taker=...)

Spot's ``{"error": [...]}`` becomes our error tree with what usually causes it; an ``EAPI:Invalid
nonce`` is retried once with a fresh nonce. No secret or token ever shows in a repr or error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NoReturn
from urllib.parse import urlencode

import msgspec

from krakenfutures.client.nonce_store import FileNonceSource, MemoryNonceSource, NonceSource
from krakenfutures.client.uws_token import Token
from krakenfutures.config import (
    SPOT_LIVE_BASE_URL,
    Credentials,
    load_spot_credentials,
    resolve_base_url,
    state_dir,
)
from krakenfutures.core.decimals import to_decimal
from krakenfutures.core.money import FeeSchedule, FeeTier
from krakenfutures.core.uws.signing import SPOT_PRIVATE_PREFIX, sign_spot_rest_key
from krakenfutures.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    InvalidArgumentError,
    NonceError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RemoteProtocolError,
    UnavailableError,
)

if TYPE_CHECKING:
    from krakenfutures.transport.base import AsyncTransport

TOKEN_METHOD = "GetWebSocketsToken"
TRADE_VOLUME_METHOD = "TradeVolume"
_decoder = msgspec.json.Decoder()


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Maker and taker fee rates as **fractions** (``Decimal("0.0002")`` = 0.02 %)."""

    maker: Decimal
    taker: Decimal


@dataclass(frozen=True, slots=True)
class PairFee:
    """One side's ``TradeVolume`` fee for a pair; rates as fractions (Kraken sends percent),
    ``next_*`` ``None`` at the top tier, ``tier_volume_usd`` the current tier's lower bound."""

    rate: Decimal
    min_rate: Decimal
    max_rate: Decimal
    next_rate: Decimal | None
    next_volume_usd: Decimal | None
    tier_volume_usd: Decimal


@dataclass(frozen=True, slots=True)
class TradeVolumeResult:
    """``TradeVolume``: the 30-day volume and, per pair as requested, taker and maker fees.

    ``schedules`` holds each pair's full tier table when asked for (``fee_schedule=True``).
    """

    currency: str
    volume_30d_usd: Decimal
    taker: Mapping[str, PairFee]
    maker: Mapping[str, PairFee]
    schedules: Mapping[str, FeeSchedule]

    def rates(self, pair: str) -> FeeRates:
        """The account's current maker/taker rates for ``pair`` (``ConfigError`` if not asked)."""
        if pair not in self.taker or pair not in self.maker:
            raise ConfigError(
                f"TradeVolume has no fees for {pair!r}; request it: trade_volume([{pair!r}]) "
                f"(pairs present: {sorted(self.taker)})"
            )
        return FeeRates(maker=self.maker[pair].rate, taker=self.taker[pair].rate)


def fee_schedule_from_trade_volume(result: TradeVolumeResult, pair: str) -> FeeSchedule:
    """A :class:`~krakenfutures.core.money.FeeSchedule` for ``pair``, for the fee model.

    With ``schedules`` (``trade_volume(..., fee_schedule=True)``) it is Kraken's full tier
    table; without, a one-tier schedule at the account's current rates, right for as long as
    the 30-day volume stays in its tier. ``ConfigError`` if ``pair`` was not asked for.
    """
    schedule = result.schedules.get(pair)
    if schedule is not None:
        return schedule
    rates = result.rates(pair)
    tier = FeeTier(min_volume_usd=Decimal(0), maker=rates.maker, taker=rates.taker)
    return FeeSchedule(tiers=(tier,), name=f"kraken-trade-volume-current:{pair}")


def _pct(value: Any, where: str) -> Decimal:
    return to_decimal(value, where).scaleb(-2)


def _pair_fee(raw: Any, where: str) -> PairFee:
    if not isinstance(raw, Mapping):
        raise RemoteProtocolError(f"TradeVolume {where}: expected an object, got {raw!r}")
    nextfee, nextvolume = raw.get("nextfee"), raw.get("nextvolume")
    return PairFee(
        rate=_pct(raw.get("fee"), f"{where}.fee"),
        min_rate=_pct(raw.get("minfee", raw.get("fee")), f"{where}.minfee"),
        max_rate=_pct(raw.get("maxfee", raw.get("fee")), f"{where}.maxfee"),
        next_rate=None if nextfee is None else _pct(nextfee, f"{where}.nextfee"),
        next_volume_usd=None if nextvolume is None else to_decimal(nextvolume, where),
        tier_volume_usd=to_decimal(raw.get("tiervolume", "0"), f"{where}.tiervolume"),
    )


def parse_trade_volume(result: Any) -> TradeVolumeResult:
    """Decode ``TradeVolume``'s ``result`` (numbers as text or JSON numbers, fees in percent).

    Raises:
        RemoteProtocolError: the result does not have ``TradeVolume``'s shape.
    """
    if not isinstance(result, Mapping):
        raise RemoteProtocolError(f"TradeVolume result is not an object: {result!r}")
    try:
        taker = {p: _pair_fee(v, f"fees[{p}]") for p, v in (result.get("fees") or {}).items()}
        maker = {
            p: _pair_fee(v, f"fees_maker[{p}]") for p, v in (result.get("fees_maker") or {}).items()
        }
        schedules = {
            pair: FeeSchedule.from_percent_tiers(
                [
                    {"usdVolume": r["volume"], "makerFee": r["fee_maker"], "takerFee": r["fee"]}
                    for r in rows
                ],
                name=f"kraken-trade-volume:{pair}",
            )
            for pair, rows in (result.get("schedules") or {}).items()
        }
        return TradeVolumeResult(
            currency=str(result.get("currency", "ZUSD")),
            volume_30d_usd=to_decimal(result.get("volume", "0"), "TradeVolume volume"),
            taker=taker,
            maker=maker,
            schedules=schedules,
        )
    except (ConfigError, KeyError, TypeError, AttributeError) as exc:
        raise RemoteProtocolError(f"TradeVolume result cannot be decoded: {exc}") from exc


_EXPLAINED: dict[str, tuple[type[ExchangeError], str]] = {
    "EAPI:Invalid key": (
        AuthenticationError,
        "it is not a Kraken Spot key. Usually a Futures key (futures.kraken.com) used where a "
        "Spot key is needed, or a mistyped or deleted key; create a Spot key under kraken.com "
        "Settings > API",
    ),
    "EAPI:Invalid signature": (
        AuthenticationError,
        "the signature did not verify: usually the wrong API secret (from another key, or "
        "copied incompletely); copy the private key again exactly as Kraken showed it",
    ),
    "EAPI:Invalid nonce": (
        NonceError,
        "another program used this key with a larger nonce; give each program its own key, or "
        "share the nonce state (nonce='file', same KRAKEN_FUTURES_STATE_DIR)",
    ),
    "EGeneral:Temporary lockout": (
        AuthenticationError,
        "locked out after repeated invalid-key errors; fix the key and wait (typically a few "
        "minutes, up to ~15) before retrying",
    ),
    "EGeneral:Unknown method": (NotFoundError, "Spot REST does not know this method"),
    "EGeneral:Too many requests": (RateLimitError, "rate limit hit; slow down"),
}
_BY_PREFIX: tuple[tuple[str, type[ExchangeError], str], ...] = (
    ("EAPI:Rate limit", RateLimitError, "rate limit hit; slow down"),
    ("EService:", UnavailableError, "Spot REST is unavailable; retry later"),
    ("EGeneral:Invalid arguments", InvalidArgumentError, "check the arguments"),
    ("EQuery:", InvalidArgumentError, "check the arguments (an unknown pair?)"),
)


def _raise_for(code: str, method: str, key: str, hint: str | None) -> NoReturn:
    """Raise our error for Spot's ``code``, saying what usually causes it."""
    cls, why = _EXPLAINED.get(code, (ExchangeError, "see Kraken's Spot REST error list"))
    if code == "EGeneral:Permission denied":
        cls, why = (
            PermissionDeniedError,
            (
                "enable the WebSocket permission on this key ('WebSocket interface - On')"
                if method == TOKEN_METHOD
                else "enable 'Funds permissions - Query' on this key"
            ),
        )
    for prefix, prefix_cls, prefix_why in _BY_PREFIX:
        if code not in _EXPLAINED and code.startswith(prefix):
            cls, why = prefix_cls, prefix_why
            break
    message = f"Spot REST refused {method} for key {key} ({code}): {why}"
    if hint:
        message += f" (simulator: {hint})"
    raise cls(message, code=code, endpoint=method)


class AsyncSpotRest:
    """Signed Kraken Spot REST calls (``/0/private/<method>``) for uws tokens and fees.

    Args:
        api_key, api_secret: the **Spot** key pair; ``None`` reads ``KRAKEN_SPOT_API_KEY`` and
            ``KRAKEN_SPOT_API_SECRET`` (:func:`krakenfutures.config.load_spot_credentials`).
        base_url: ``https://api.kraken.com`` (``"live"``), or the simulator's origin (it serves
            Spot REST on the same origin as Futures REST).
        nonce: ``"file"`` (one counter per key shared by every process, default), ``"memory"``
            (this process only) or any :class:`~krakenfutures.client.nonce_store.NonceSource`.
        transport: an :class:`~krakenfutures.transport.base.AsyncTransport`; default httpx.
        timeout_s: request timeout of the default transport.
        clock_ms: epoch-ms clock for nonces and token issue times.
        env: the environment to read (``None``: ``os.environ``).

    Raises:
        CredentialsError: no Spot key pair, or a malformed one.
        ConfigError: an unusable ``base_url`` or ``nonce``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | None = SPOT_LIVE_BASE_URL,
        nonce: Literal["file", "memory"] | NonceSource = "file",
        transport: AsyncTransport | None = None,
        timeout_s: float = 10.0,
        clock_ms: Callable[[], int] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.credentials: Credentials = load_spot_credentials(api_key, api_secret, env=env)
        live = base_url is None or base_url.strip().lower() == "live"
        self.base_url = SPOT_LIVE_BASE_URL if live else resolve_base_url(base_url)
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._key = self.credentials.secret.key()
        if nonce == "file":
            nonce = FileNonceSource(self.credentials.api_key, directory=state_dir(env) / "nonces")
        elif nonce == "memory":
            nonce = MemoryNonceSource()
        elif not isinstance(nonce, NonceSource):
            raise ConfigError(f"nonce must be 'file', 'memory' or a NonceSource, got {nonce!r}")
        self._nonces: NonceSource = nonce
        if transport is None:
            from krakenfutures.transport.async_pool import AsyncHttpPool

            transport = AsyncHttpPool(self.base_url, timeout_s=timeout_s)
        self._transport = transport

    def build_request(
        self, method: str, params: Mapping[str, Any], nonce: str
    ) -> tuple[str, dict[str, str], bytes]:
        """``(path, headers, body)`` of one signed call; ``nonce`` goes first in the body.

        Scalar parameters are form-encoded (as Kraken's signing example); a list or object
        parameter (``TradeVolume``'s derivatives ``pair``) makes the body JSON, nonce included.
        """
        path = SPOT_PRIVATE_PREFIX + method
        if any(isinstance(v, list | dict | tuple) for v in params.values()):
            body = msgspec.json.encode({"nonce": int(nonce), **params})
            content_type = "application/json"
        else:
            body = urlencode({"nonce": nonce, **params}).encode()
            content_type = "application/x-www-form-urlencoded"
        headers = {
            "API-Key": self.credentials.api_key,
            "API-Sign": sign_spot_rest_key(self._key, path, nonce, body),
            "Content-Type": content_type,
        }
        return path, headers, body

    async def call(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        """POST ``/0/private/<method>`` and return its ``result``; one retry on a bad nonce.

        Raises:
            ExchangeError: Spot's ``error``, as its subclass (AuthenticationError, NonceError...).
            RemoteProtocolError: not Spot's envelope. TransportError: from the transport.
        """
        try:
            return await self._call_once(method, params or {})
        except NonceError:
            return await self._call_once(method, params or {})

    async def _call_once(self, method: str, params: Mapping[str, Any]) -> Any:
        nonce = self._nonces.next(self._clock_ms())
        path, headers, body = self.build_request(method, params, nonce)
        response = await self._transport.request("POST", path, headers, body)
        hint = next((v for k, v in response.headers.items() if k.lower() == "x-sim-hint"), None)
        try:
            envelope = _decoder.decode(response.body)
        except msgspec.DecodeError:
            envelope = None
        if not isinstance(envelope, dict):
            status = response.status
            if status == 200:
                raise RemoteProtocolError(f"Spot REST reply to {method} is not Spot's envelope")
            cls = UnavailableError if status >= 500 else ExchangeError
            raise (PermissionDeniedError if status in (401, 403) else cls)(
                f"Spot REST answered HTTP {status} to {method} without Spot's envelope",
                code=f"http_{status}",
                http_status=status,
                endpoint=method,
            )
        errors = envelope.get("error") or []
        if errors:
            _raise_for(str(errors[0]), method, self.credentials.masked_key(), hint)
        if "result" not in envelope:
            raise RemoteProtocolError(f"Spot REST reply to {method} has neither error nor result")
        return envelope["result"]

    async def get_websockets_token(self) -> Token:
        """A fresh uws token (``GetWebSocketsToken``; needs the key's WebSocket permission).

        Raises:
            PermissionDeniedError: the key lacks the WebSocket permission.
            AuthenticationError: not a Spot key, or the wrong secret.
            RemoteProtocolError: no token in the reply.
        """
        issued_ms = self._clock_ms()
        result = await self.call(TOKEN_METHOD)
        value = result.get("token") if isinstance(result, dict) else None
        if not isinstance(value, str) or not value:
            raise RemoteProtocolError("GetWebSocketsToken replied without a token")
        expires = result.get("expires", 900)
        if type(expires) is not int or expires <= 0:
            raise RemoteProtocolError("GetWebSocketsToken replied with an unusable 'expires'")
        return Token(value, expires_s=expires, issued_ms=issued_ms)

    async def trade_volume(
        self, pairs: Iterable[str], *, aclass: str = "derivatives", fee_schedule: bool = False
    ) -> TradeVolumeResult:
        """``TradeVolume`` for ``pairs`` (contract symbols such as ``PF_XBTUSD``).

        Pairs go as ``{"asset": pair, "aclass": aclass}`` objects, which Kraken requires for
        derivatives (reference §7); ``fee_schedule=True`` also asks for every tier.

        Raises:
            InvalidArgumentError: an unknown pair. See :meth:`call` for the rest.
        """
        items = [{"asset": p, "aclass": aclass} for p in pairs]
        params: dict[str, Any] = {"pair": items} if items else {}
        if fee_schedule:
            params["fee_schedule"] = True
        return parse_trade_volume(await self.call(TRADE_VOLUME_METHOD, params))

    async def aclose(self) -> None:
        """Close the transport."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncSpotRest:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncSpotRest(base_url={self.base_url!r}, key={self.credentials.masked_key()})"


__all__ = [
    "TOKEN_METHOD",
    "TRADE_VOLUME_METHOD",
    "AsyncSpotRest",
    "FeeRates",
    "PairFee",
    "TradeVolumeResult",
    "fee_schedule_from_trade_volume",
    "parse_trade_volume",
]
