"""The request flow, written once as a generator and driven by both the sync and async client.

Like httpx's ``auth_flow``: the generator yields what it needs (the time, a pause, a request
sent) and the driver answers, so retries, nonces, rate-limit waits and error classification
exist in exactly one place. A driver answers :data:`NOW` with epoch ms, :class:`Sleep` with
``None`` after sleeping, and :class:`Send` with the transport's :class:`Response` (or throws the
transport's exception into the generator).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import msgspec

from krakenfutures.core.rest.build import Request, build_request
from krakenfutures.core.rest.endpoint import Endpoint, Pool
from krakenfutures.core.rest.parse import parse_response
from krakenfutures.errors import KrakenFuturesError, NonceError, RateLimitError

if TYPE_CHECKING:
    from krakenfutures.core.retry import RetryPolicy
    from krakenfutures.transport.base import Response


def _log() -> Any:
    # logging costs ~8 ms to import here and is only needed when something goes wrong.
    import logging

    return logging.getLogger("krakenfutures.client")


NOW = "now"


# msgspec Structs rather than dataclasses: one is made per request, and the dataclasses module
# alone costs `import krakenfutures` ~3 ms.
class Sleep(msgspec.Struct, frozen=True, gc=False):
    """Ask the driver to pause for ``ms`` milliseconds."""

    ms: int


class Send(msgspec.Struct, frozen=True, gc=False):
    """Ask the driver to send ``request`` and answer with the :class:`Response`."""

    request: Request


Action = str | Sleep | Send

# Endpoints that are safe to send twice: reads, cancels and deadman; sendorder only with a
# cliOrdId (a duplicate is refused as clientOrderIdAlreadyExist rather than executed twice).
_IDEMPOTENT_POSTS = frozenset(
    {
        "get_order_status",
        "cancel_order",
        "cancel_all_orders",
        "cancel_all_orders_after",
        "edit_order",
    }
)


def is_idempotent(endpoint: Endpoint, params: msgspec.Struct | None) -> bool:
    """Whether resending this exact call can never do harm."""
    if endpoint.method == "GET" or endpoint.name in _IDEMPOTENT_POSTS:
        return True
    if endpoint.name == "send_order":
        return getattr(params, "cli_ord_id", None) is not None
    if endpoint.name == "batch_order":
        instructions = getattr(params, "instructions", None) or []
        return all(
            getattr(i, "order", "send") != "send" or getattr(i, "cli_ord_id", None)
            for i in instructions
        )
    return False


class CallContext(msgspec.Struct, kw_only=True):
    """What the flow needs besides the endpoint: credentials, nonces, limiter, policy, RNG."""

    api_key: str | None
    key: bytes | None
    next_nonce: Callable[[int], str]
    observe_nonce: Callable[[int], None]
    reserve: Callable[[str, int, int], int]
    on_rate_limited: Callable[[str, int], None]
    policy: RetryPolicy
    rand: Callable[[], float]


def call_flow(
    ctx: CallContext, endpoint: Endpoint, params: msgspec.Struct | None
) -> Generator[Action, Any, Any]:
    """Build, sign, pace, send, parse and retry one endpoint call; return the typed result."""
    attempt = 0
    nonce_retries = 0
    uncertain = False  # an earlier attempt may have been executed
    idempotent = is_idempotent(endpoint, params)
    while True:
        now_ms: int = yield NOW
        nonce = ctx.next_nonce(now_ms) if endpoint.auth else ""
        request = build_request(endpoint, params, api_key=ctx.api_key, key=ctx.key, nonce=nonce)
        if endpoint.pool is not Pool.NONE:
            # The StrEnum member is its own str: no ``.value`` (a Python-level enum property).
            wait_ms = ctx.reserve(endpoint.pool, request.cost, now_ms)
            if wait_ms > 0:
                _log().debug("%s waits %d ms for rate-limit budget", endpoint.name, wait_ms)
                yield Sleep(wait_ms)
        try:
            response: Response = yield Send(request)
            result = parse_response(endpoint, response.status, response.body)
            if (
                uncertain
                and endpoint.name == "send_order"
                and getattr(result, "status", None) == "clientOrderIdAlreadyExist"
            ):
                # An earlier attempt whose reply was lost did place the order: find it rather
                # than report the duplicate as a refusal. This is what makes retries safe.
                recovered = yield from _recover_sent_order(ctx, params, result)
                return recovered
            return result
        except KrakenFuturesError as exc:
            from krakenfutures.core.retry import check_not_executed  # the error path only

            if not check_not_executed(exc):
                uncertain = True
            if isinstance(exc, RateLimitError):
                ctx.on_rate_limited(endpoint.pool.value, now_ms)
            if isinstance(exc, NonceError) and nonce:
                # Our floor was too low (another process, or a reset): jump past it.
                ctx.observe_nonce(int(nonce) + 1_000_000)
            delay = ctx.policy.decide(
                exc,
                attempt,
                rand=ctx.rand(),
                idempotent=idempotent,
                nonce_retries_done=nonce_retries,
            )
            if delay is None:
                raise
            attempt += 1
            if isinstance(exc, NonceError):
                nonce_retries += 1
            _log().warning(
                "%s failed (%s: %s); retry %d in %d ms",
                endpoint.name,
                type(exc).__name__,
                getattr(exc, "code", "") or str(exc)[:80],
                attempt,
                delay,
            )
            if delay > 0:
                yield Sleep(delay)


def _recover_sent_order(
    ctx: CallContext, params: Any, duplicate: Any
) -> Generator[Action, Any, Any]:
    """After a lost reply, look the order up by ``cliOrdId`` and answer as the lost reply would
    have (status ``placed``); fall back to the duplicate status if it cannot be found."""
    from krakenfutures.core.rest.endpoints import BY_NAME
    from krakenfutures.core.rest.schema_orders import OrderStatusParams, SendStatus

    cli_ord_id = params.cli_ord_id
    endpoint = BY_NAME["get_order_status"]
    now_ms: int = yield NOW
    nonce = ctx.next_nonce(now_ms)
    lookup = OrderStatusParams(cli_ord_ids=[cli_ord_id])
    request = build_request(endpoint, lookup, api_key=ctx.api_key, key=ctx.key, nonce=nonce)
    response: Response = yield Send(request)
    rows = parse_response(endpoint, response.status, response.body)
    for row in rows:
        if row.order.cli_ord_id == cli_ord_id and row.status != "REJECTED":
            _log().warning(
                "send_order %s: reply was lost but the order exists (%s); returning it",
                cli_ord_id,
                row.order.order_id,
            )
            return SendStatus(
                order_id=row.order.order_id,
                status="placed",
                received_time=row.order.timestamp,
                cli_ord_id=cli_ord_id,
                order_events=[],
            )
    return duplicate
