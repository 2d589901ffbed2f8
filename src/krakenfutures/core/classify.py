"""The one place that classifies Kraken's error strings, HTTP statuses and order statuses.

Top-level ``result: error`` codes become exceptions of :mod:`krakenfutures.errors`. Order statuses
(``sendStatus.status`` etc.) are outcomes, not errors: :func:`order_outcome` says whether an
order status means the instruction was carried out, and why not when it was refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from krakenfutures.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientFundsError,
    InvalidArgumentError,
    NonceError,
    NotFoundError,
    OrderRejectedError,
    PermissionDeniedError,
    RateLimitError,
    UnavailableError,
)

AUTH_HINT = (
    "Kraken could not verify the request signature (authenticationError). Usual causes: "
    "(1) a Spot API key used for Futures: Futures keys are made at futures.kraken.com under "
    "Settings > API keys; (2) the secret was copied incompletely or belongs to another key; "
    "(3) the signed path or encoding differs from the bytes sent (the path must drop "
    "'/derivatives', post data must be the exact encoded query/body); (4) the key lacks the "
    "permission the endpoint needs; (5) a clock/nonce problem when a Nonce header is sent. "
    "This error is never retried automatically."
)

_ERRORS: dict[str, tuple[type[ExchangeError], str]] = {
    "authenticationError": (AuthenticationError, AUTH_HINT),
    "apiLimitExceeded": (
        RateLimitError,
        "Kraken's rate limit was exceeded (apiLimitExceeded); back off and retry",
    ),
    "nonceBelowThreshold": (
        NonceError,
        "the nonce was lower than one Kraken already saw for this key; another process may "
        "use the same key without sharing the nonce state file",
    ),
    "nonceDuplicate": (NonceError, "the nonce was already used for this key"),
    "Unavailable": (UnavailableError, "the endpoint is unavailable right now; retry later"),
    "marketUnavailable": (UnavailableError, "the market is unavailable right now"),
    "Server Error": (UnavailableError, "Kraken reported a server error"),
    "unknownError": (UnavailableError, "Kraken reported an unknown error"),
    "invalidArgument": (InvalidArgumentError, "a parameter was refused; check its value"),
    "requiredArgumentMissing": (InvalidArgumentError, "a required parameter is missing"),
    "Json Parse Error": (InvalidArgumentError, "the request body was not valid JSON"),
    "Bad Request": (InvalidArgumentError, "the request was malformed (encode the json field)"),
    "notFound": (NotFoundError, "not found"),
    "contractNotFound": (NotFoundError, "unknown contract symbol"),
    "insufficientFunds": (InsufficientFundsError, "amount exceeds available funds"),
    "invalidAccount": (InvalidArgumentError, "unknown account name"),
    "invalidAmount": (InvalidArgumentError, "invalid amount"),
    "invalidUnit": (InvalidArgumentError, "invalid unit/currency"),
    "accountInactive": (PermissionDeniedError, "the account is inactive"),
    "permissionDenied": (PermissionDeniedError, "the API key lacks the permission needed"),
}


def error_for_code(
    code: str, *, http_status: int = 200, endpoint: str = "", detail: str = ""
) -> ExchangeError:
    """The exception for a Kraken ``error`` string (unknown codes become :class:`ExchangeError`)."""
    cls, text = _ERRORS.get(code, (ExchangeError, "Kraken refused the request"))
    where = f" [{endpoint}]" if endpoint else ""
    extra = f" ({detail})" if detail else ""
    return cls(
        f"{code}: {text}{extra}{where}", code=code, http_status=http_status, endpoint=endpoint
    )


def error_for_http(status: int, *, endpoint: str = "", detail: str = "") -> ExchangeError:
    """The exception for an HTTP error status whose body carried no Kraken error code."""
    where = f" [{endpoint}]" if endpoint else ""
    extra = f": {detail}" if detail else ""
    code = f"http_{status}"
    if status == 401:
        return PermissionDeniedError(
            f"HTTP 401 unauthorized{extra}{where}; private history endpoints need a signed "
            "request with a key that can read",
            code=code,
            http_status=status,
            endpoint=endpoint,
        )
    if status == 403:
        return PermissionDeniedError(
            f"HTTP 403 forbidden{extra}{where}", code=code, http_status=status, endpoint=endpoint
        )
    if status == 404:
        return NotFoundError(
            f"HTTP 404 not found{extra}{where}", code=code, http_status=status, endpoint=endpoint
        )
    if status == 429:
        return RateLimitError(
            f"HTTP 429 too many requests{extra}{where}",
            code=code,
            http_status=status,
            endpoint=endpoint,
        )
    if status >= 500:
        return UnavailableError(
            f"HTTP {status} from the exchange{extra}{where}; the request may or may not have "
            "been carried out",
            code=code,
            http_status=status,
            endpoint=endpoint,
        )
    return InvalidArgumentError(
        f"HTTP {status}{extra}{where}", code=code, http_status=status, endpoint=endpoint
    )


# Order statuses that mean the instruction was carried out (possibly partially).
ACCEPTED_STATUSES = frozenset(
    {"placed", "partiallyFilled", "filled", "cancelled", "edited", "noOrdersToCancel"}
)

_REASONS: dict[str, str] = {
    "marketSuspended": "the market is suspended",
    "marketInactive": "the market is inactive",
    "marketIsPostOnly": "the market is post-only: only post orders are accepted",
    "invalidPrice": "the price is not a multiple of the tick size or is out of range",
    "invalidSize": "the size is not a multiple of the lot size or is out of range",
    "insufficientAvailableFunds": "not enough available margin for this order",
    "wouldCauseLiquidation": "the order would cause liquidation",
    "clientOrderIdAlreadyExist": "an order with this cliOrdId already exists",
    "clientOrderIdTooBig": "cliOrdId is longer than 100 characters",
    "clientOrderIdTooLong": "cliOrdId is longer than 100 characters",
    "clientOrderIdInvalid": "cliOrdId is not valid",
    "maxPositionViolation": "the resulting position would exceed the maximum position size",
    "outsidePriceCollar": "the price is too far from the market (price collar)",
    "postWouldExecute": "a post-only order would have executed immediately",
    "iocWouldNotExecute": "an IOC order found nothing to execute against",
    "selfFill": "the order would have traded with your own order",
    "wouldNotReducePosition": "a reduce-only order would not reduce the position",
    "tooManySmallOrders": "too many small orders",
    "tooManyOrders": "too many open orders",
    "notFound": "the order was not found",
    "orderForEditNotFound": "the order to edit was not found",
    "orderForEditNotAStop": "the order to edit is not a stop order",
    "wouldProcessAfterSpecifiedTime": "the request would be processed after processBefore",
    "fixedLeverageTooHigh": "the order would exceed the fixed leverage",
    "wouldIncreasePriceDislocation": "the order would increase a price dislocation",
    "invalidOrderType": "unknown order type",
    "invalidSide": "unknown side",
    "requiredArgumentMissing": "a required field is missing",
}


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """What an order status means: ``accepted`` or refused with a human ``reason``."""

    status: str
    accepted: bool
    reason: str


def order_outcome(status: str) -> OrderOutcome:
    """Classify a ``sendStatus``/``editStatus``/``cancelStatus``/``batchStatus`` status."""
    if status in ACCEPTED_STATUSES:
        return OrderOutcome(status, True, "")
    return OrderOutcome(status, False, _REASONS.get(status, f"refused with status {status!r}"))


def check_order_status(status: str, *, endpoint: str = "") -> OrderRejectedError | None:
    """The :class:`OrderRejectedError` a refusal status stands for, or ``None`` if accepted."""
    outcome = order_outcome(status)
    if outcome.accepted:
        return None
    return OrderRejectedError(f"{status}: {outcome.reason}", status=status, endpoint=endpoint)
