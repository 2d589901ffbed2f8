"""The one place that decides whether a failed call is retried, and after how long.

Rules (reference §4, §5), applied by :meth:`RetryPolicy.decide`:

==============================  ==================================================================
error                           decision
==============================  ==================================================================
RateLimitError                  backoff ("full jitter": ``rand * min(max, base * 2**attempt)``)
NonceError                      retry at once (0 ms) with a fresh nonce, ``nonce_retries`` times
ConnectError                    backoff: nothing was sent
UnavailableError, refused       backoff: an ``Unavailable``/``marketUnavailable`` body is a
                                definite refusal, nothing was executed
UnavailableError, unknown       backoff only if the call is idempotent: HTTP 5xx without a Kraken
                                body, ``Server Error`` and ``unknownError`` leave the outcome open
TimeoutError_ (and other        backoff only if the call is idempotent: the request went out and
TransportError)                 the outcome is unknown
anything else                   never (authentication, permission, invalid argument, not found,
                                insufficient funds, validation, config, protocol errors)
==============================  ==================================================================

Every rule is capped by ``max_attempts`` (the total number of tries, the first included).
``retry_unknown_outcome=True`` lifts the idempotency condition for callers who accept a
possible duplicate.

Idempotent means "sending it twice can do no harm": reads, cancels, ``cancelallordersafter``,
edits, and **sendorder with a cliOrdId**. The last holds because Kraken refuses a second order
with the same ``cliOrdId`` (status ``clientOrderIdAlreadyExist``) instead of executing it twice;
a caller who sees that status after a timeout looks the order up by ``cliOrdId`` to learn what the
first attempt did. Without a ``cliOrdId`` a lost reply to sendorder is never resent.

Randomness is injected: ``rand`` is a number in [0, 1] from the caller's RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

from krakenfutures.errors import (
    ConfigError,
    ConnectError,
    ExchangeError,
    KrakenFuturesError,
    LocalProtocolError,
    NonceError,
    OrderRejectedError,
    RateLimitError,
    TransportError,
    UnavailableError,
)

# Kraken error strings in a JSON body that still leave the outcome open: the server failed
# somewhere while handling the request, perhaps after acting on it.
_UNKNOWN_OUTCOME_CODES = frozenset({"Server Error", "unknownError"})


def check_not_executed(error: KrakenFuturesError) -> bool:
    """Whether ``error`` proves the request was *not* carried out by the exchange.

    True for refusals (a Kraken error string in the body, HTTP 4xx, ``Unavailable``), for
    connection failures (nothing sent) and for errors raised before sending (validation,
    config). False when the outcome is unknown: timeouts, other transport failures, HTTP 5xx
    without a Kraken error body, ``Server Error``/``unknownError``, undecodable replies.
    """
    if isinstance(error, ConnectError):
        return True
    if isinstance(error, TransportError):
        return False
    if isinstance(error, OrderRejectedError):
        return True
    if isinstance(error, ExchangeError):
        code = error.code
        if code in _UNKNOWN_OUTCOME_CODES:
            return False
        if code.startswith("http_"):
            return error.http_status < 500
        return True
    # Raised before anything was sent. RemoteProtocolError, StateError and the rest leave the
    # outcome open.
    return isinstance(error, LocalProtocolError | ConfigError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How persistent a client is; :meth:`decide` applies the rules of this module.

    Attributes:
        max_attempts: total tries of one call, the first included (1 = never retry).
        base_delay_ms: backoff cap for the first retry; doubled for each later one.
        max_delay_ms: the backoff cap never grows beyond this.
        nonce_retries: immediate retries allowed after ``nonceBelowThreshold``/``nonceDuplicate``.
        retry_unknown_outcome: also retry non-idempotent calls whose outcome is unknown
            (timeouts, bare 5xx). Off by default: a resent order may execute twice.
    """

    max_attempts: int = 5
    base_delay_ms: int = 250
    max_delay_ms: int = 8_000
    nonce_retries: int = 1
    retry_unknown_outcome: bool = False

    def __post_init__(self) -> None:
        for name in ("max_attempts", "base_delay_ms", "max_delay_ms", "nonce_retries"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"RetryPolicy.{name} must be an int >= 0, got {value!r}")
        if self.max_attempts < 1:
            raise ConfigError("RetryPolicy.max_attempts must be >= 1 (1 means: never retry)")
        if self.base_delay_ms > self.max_delay_ms:
            raise ConfigError(
                f"RetryPolicy.base_delay_ms ({self.base_delay_ms}) must not exceed "
                f"max_delay_ms ({self.max_delay_ms})"
            )

    def backoff_ms(self, attempt: int, rand: float) -> int:
        """Full-jitter backoff: ``rand * min(max_delay_ms, base_delay_ms * 2**attempt)``."""
        # Cap the shift: 2**63 ms is beyond any max_delay_ms, and it keeps the int small.
        cap = min(self.max_delay_ms, self.base_delay_ms << min(attempt, 63))
        return min(cap, int(rand * cap))

    def decide(
        self,
        error: KrakenFuturesError,
        attempt: int,
        *,
        rand: float,
        idempotent: bool,
        nonce_retries_done: int | None = None,
    ) -> int | None:
        """Milliseconds to wait before retrying after ``error``, or ``None`` to give up.

        Args:
            error: what the failed try raised.
            attempt: how many retries this call already had (0 after the first try failed).
            rand: a number in [0, 1] from the caller's RNG, for jitter.
            idempotent: whether sending the same call again can do no harm (see the module
                docstring; a sendorder with a cliOrdId counts).
            nonce_retries_done: how many of the earlier retries followed a nonce error. When
                not given, every earlier retry is assumed to have been one (the cautious choice).

        Raises:
            ConfigError: ``attempt`` is negative or ``rand`` is outside [0, 1].
        """
        if not isinstance(attempt, int) or attempt < 0:
            raise ConfigError(f"attempt must be an int >= 0, got {attempt!r}")
        if not 0.0 <= rand <= 1.0:
            raise ConfigError(f"rand must be in [0, 1], got {rand!r}")
        if attempt + 1 >= self.max_attempts:
            return None
        if isinstance(error, NonceError):
            done = attempt if nonce_retries_done is None else nonce_retries_done
            return 0 if done < self.nonce_retries else None
        if isinstance(error, RateLimitError | ConnectError):
            return self.backoff_ms(attempt, rand)
        if isinstance(error, UnavailableError | TransportError):
            if idempotent or self.retry_unknown_outcome or check_not_executed(error):
                return self.backoff_ms(attempt, rand)
            return None
        return None


__all__ = ["RetryPolicy", "check_not_executed"]
