"""The one exception tree of krakenfutures.

Every error the package raises derives from :class:`KrakenFuturesError`. Third-party exceptions
(httpx, aiohttp, OSError, msgspec) are translated at the edge and chained with ``raise ... from``.
Order-level outcomes (``sendStatus.status`` values such as ``insufficientAvailableFunds``) are
*not* errors on Kraken: they arrive inside ``result: success`` and are returned as typed values;
:class:`OrderRejectedError` exists only for callers that ask to raise on them.

::

    KrakenFuturesError
    ├── ConfigError                     bad arguments, credentials or settings (fix and retry)
    │   └── CredentialsError            missing/malformed key or secret, unsafe credentials file
    ├── ProtocolError                   bytes that break the wire rules
    │   ├── LocalProtocolError          we were asked to send something Kraken would refuse
    │   │   └── ValidationError         unknown symbol, tick/lot violation, bad parameter
    │   └── RemoteProtocolError         the server sent something we cannot decode
    ├── TransportError                  the request may not have reached the exchange
    │   ├── ConnectError                nothing was sent (safe to retry)
    │   └── TimeoutError_               sent, no answer: the outcome is unknown
    ├── ExchangeError                   the exchange answered ``result: error`` or an HTTP error
    │   ├── AuthenticationError         ``authenticationError``: never retried
    │   ├── PermissionDeniedError       read-only key on a trading endpoint, HTTP 401/403
    │   ├── NonceError                  ``nonceBelowThreshold`` / ``nonceDuplicate``: retried once
    │   ├── RateLimitError              ``apiLimitExceeded``: retried with jittered backoff
    │   ├── UnavailableError            ``Unavailable``, ``marketUnavailable``, HTTP 5xx: retryable
    │   ├── InvalidArgumentError        ``invalidArgument``, ``requiredArgumentMissing``, HTTP 400
    │   ├── NotFoundError               ``notFound``, ``contractNotFound``, HTTP 404
    │   ├── InsufficientFundsError      ``insufficientFunds`` (transfers)
    │   └── OrderRejectedError          an order status that is a refusal (opt-in)
    └── StateError                      a broken local invariant
        ├── SequenceGapError            a feed skipped a sequence number
        └── CrossedBookError            a local order book has best bid >= best ask

Each :class:`ExchangeError` carries ``code`` (Kraken's error string), ``http_status``,
``retryable`` and ``endpoint``; none ever carries a secret.
"""

from __future__ import annotations

from decimal import Decimal


class KrakenFuturesError(Exception):
    """Root of every error raised by krakenfutures."""


class ConfigError(KrakenFuturesError, ValueError):
    """Bad arguments, settings or credentials; fix the input and try again."""


class CredentialsError(ConfigError):
    """Missing or malformed API key/secret, or an unsafe credentials file."""


class ProtocolError(KrakenFuturesError):
    """Bytes that break the wire rules, in either direction."""


class LocalProtocolError(ProtocolError):
    """We were asked to send something the exchange would refuse."""


class ValidationError(LocalProtocolError, ValueError):
    """A request parameter is invalid (unknown symbol, tick/lot violation, wrong type)."""


class RemoteProtocolError(ProtocolError):
    """The server sent something that cannot be decoded as Kraken's protocol."""


class TransportError(KrakenFuturesError):
    """The request may not have reached the exchange, or its reply was lost."""


class ConnectError(TransportError):
    """Connecting failed; nothing was sent, so the request is safe to retry."""


class TimeoutError_(TransportError):
    """The request was sent but no answer came in time: its outcome is unknown."""


class ExchangeError(KrakenFuturesError):
    """The exchange answered with ``result: error`` or an HTTP error status.

    Attributes:
        code: Kraken's error string (``apiLimitExceeded``, ``authenticationError``...) or
            ``"http_<status>"`` when the body carried none.
        http_status: the HTTP status of the reply.
        endpoint: the endpoint name (``sendorder``) the request was for, if known.
        retryable: whether retrying the same request may succeed.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int = 200,
        endpoint: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status
        self.endpoint = endpoint


class AuthenticationError(ExchangeError):
    """``authenticationError``: the signature did not verify. Never retried."""


class PermissionDeniedError(ExchangeError):
    """The key lacks the permission the endpoint needs, or the server said 401/403."""


class NonceError(ExchangeError):
    """``nonceBelowThreshold``/``nonceDuplicate``: retried once with a fresh nonce."""

    retryable = True


class RateLimitError(ExchangeError):
    """``apiLimitExceeded``: retried with jittered exponential backoff."""

    retryable = True


class UnavailableError(ExchangeError):
    """The endpoint or market is unavailable (``Unavailable``, HTTP 5xx). Retryable."""

    retryable = True


class InvalidArgumentError(ExchangeError):
    """The exchange refused a parameter (``invalidArgument``, ``requiredArgumentMissing``)."""


class NotFoundError(ExchangeError):
    """The exchange does not know the thing asked for (``notFound``)."""


class InsufficientFundsError(ExchangeError):
    """``insufficientFunds``: a transfer larger than what is available."""


class OrderRejectedError(ExchangeError):
    """An order status that is a refusal, raised only when the caller opts in.

    ``status`` is Kraken's order status (``insufficientAvailableFunds``, ``postWouldExecute``...).
    """

    def __init__(self, message: str, *, status: str, endpoint: str = "") -> None:
        super().__init__(message, code=status, endpoint=endpoint)
        self.status = status


class StateError(KrakenFuturesError):
    """A local invariant is broken; stop and resynchronise rather than continue."""


class SequenceGapError(StateError):
    """A feed skipped a sequence number; the local copy must be rebuilt from a snapshot."""

    def __init__(self, message: str, *, expected: int, got: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got


class CrossedBookError(StateError):
    """A local order book's best bid is at or above its best ask: a delta was missed.

    Attributes:
        symbol: the book's symbol.
        best_bid, best_ask: the crossing prices (Decimal).
        seq: the sequence number of the message that crossed the book.
    """

    def __init__(
        self,
        message: str,
        *,
        symbol: str,
        best_bid: Decimal | None,
        best_ask: Decimal | None,
        seq: int,
    ) -> None:
        super().__init__(message)
        self.symbol = symbol
        self.best_bid = best_bid
        self.best_ask = best_ask
        self.seq = seq


__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectError",
    "CredentialsError",
    "CrossedBookError",
    "ExchangeError",
    "InsufficientFundsError",
    "InvalidArgumentError",
    "KrakenFuturesError",
    "LocalProtocolError",
    "NonceError",
    "NotFoundError",
    "OrderRejectedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RemoteProtocolError",
    "SequenceGapError",
    "StateError",
    "TimeoutError_",
    "TransportError",
    "UnavailableError",
    "ValidationError",
]
