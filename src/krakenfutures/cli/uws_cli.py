"""The unified dialect (``--dialect unified``) of `kf watch` and the trading commands.

Where the legacy commands talk REST v3 and WebSocket v1 with a Futures key, these talk the
Unified WebSocket: market data on a public :class:`~krakenfutures.client.uws.AsyncUwsConnection`,
order entry on a private one whose token comes from Spot REST ``GetWebSocketsToken`` with a
**Spot** key (``KRAKEN_SPOT_API_KEY``/``KRAKEN_SPOT_API_SECRET``). The commands in
:mod:`~krakenfutures.cli.trade` and :mod:`~krakenfutures.cli.watch` keep their rendering and
exit codes; this module only turns uws answers into the shapes they print.

Against ``kf sim`` both sockets and Spot REST live on the simulator's origin; against Kraken
(``live``) the sockets are ``wss://uws.kraken.com`` and the token comes from api.kraken.com.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from krakenfutures.cli.common import state

if TYPE_CHECKING:
    from krakenfutures.client.uws import AsyncUwsConnection
    from krakenfutures.config import Credentials
    from krakenfutures.core.orders import OrderIntent
    from krakenfutures.core.uws.events import UwsReply
    from krakenfutures.oms.venue import FillRecord
    from krakenfutures.runtime.unified_venue import UnifiedVenue


@dataclass(frozen=True, slots=True)
class OrderRef:
    """An order named in a cancel-all answer (what legacy ``cancelledOrders`` rows hold)."""

    order_id: str
    cli_ord_id: str | None = None


@dataclass(frozen=True, slots=True)
class UwsOrderReply:
    """A uws order-entry answer in the shape `kf` prints for legacy ``sendStatus`` and
    ``cancelStatus``: ``status`` is the legacy status word it means (``placed``, ``cancelled``,
    ``notFound``, ``postWouldExecute``...), ``error`` Kraken's uws text for a refusal."""

    status: str
    order_id: str | None = None
    cli_ord_id: str | None = None
    received_time: str | None = None
    error: str | None = None
    order_events: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class UwsCancelAllReply:
    """A uws cancel-all answer shaped like legacy ``/cancelallorders``' ``cancelStatus``."""

    status: str
    cancel_only: str
    cancelled_orders: tuple[OrderRef, ...] = ()
    received_time: str | None = None
    order_events: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class UwsDeadman:
    """``cancel_all_orders_after``'s answer (times as Kraken sent them, ``None`` if absent)."""

    current_time: str | None
    trigger_time: str | None


# ------------------------------------------------------------------------------ connections


def uws_origin() -> str:
    """Where the sockets are: ``live`` for Kraken, else the ``--base-url`` origin (``kf sim``)."""
    from krakenfutures.config import LIVE_BASE_URL, Settings, resolve_base_url

    st = state()
    base = resolve_base_url(st.base_url) if st.base_url else Settings.from_env().base_url
    return "live" if base.rstrip("/") == LIVE_BASE_URL.rstrip("/") else base


def spot_credentials() -> Credentials:
    """The Spot key pair the unified dialect signs with, checked before any network call.

    Raises:
        CredentialsError: none (or half of one) is set (exit code 3).
    """
    from krakenfutures.config import ENV_API_KEY, load_spot_credentials
    from krakenfutures.errors import CredentialsError

    try:
        return load_spot_credentials()
    except CredentialsError as exc:
        raise CredentialsError(
            f"--dialect unified trades over the Unified WebSocket, which needs a Spot key: {exc}. "
            f"A Futures key ({ENV_API_KEY}) does not work on uws."
        ) from None


def public_connection() -> AsyncUwsConnection:
    """A public uws connection (market data, books kept) for the invocation's origin."""
    from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for

    return AsyncUwsConnection(uws_url_for(uws_origin()))


def private_connection(*, reconnect: bool) -> tuple[AsyncUwsConnection, Any]:
    """A private uws connection (not connected yet; ``reconnect`` for long-running views) with
    its token from Spot REST and the Spot key, and that Spot REST client; close both.

    Raises:
        CredentialsError: no Spot key (exit 3), checked before any network call.
    """
    from krakenfutures.client.spot_rest import AsyncSpotRest
    from krakenfutures.client.uws import AsyncUwsConnection, uws_url_for
    from krakenfutures.client.uws_token import TokenPolicy
    from krakenfutures.config import SPOT_LIVE_BASE_URL

    creds = spot_credentials()
    origin = uws_origin()
    timeout_s = state().timeout_s or 10.0
    spot = AsyncSpotRest(
        creds.api_key,
        creds.secret.reveal(),
        base_url=SPOT_LIVE_BASE_URL if origin == "live" else origin,
        timeout_s=timeout_s,
    )
    conn = AsyncUwsConnection(
        uws_url_for(origin, private=True),
        token_provider=TokenPolicy(spot),
        reconnect=reconnect,
        request_timeout_s=timeout_s,
    )
    return conn, spot


@contextlib.asynccontextmanager
async def private_venue() -> AsyncIterator[UnifiedVenue]:
    """A connected :class:`~krakenfutures.runtime.unified_venue.UnifiedVenue` over a private
    socket with a fresh token (one-shot commands: no reconnect); closed on exit.

    Raises:
        CredentialsError: no Spot key (exit 3). ConnectError: no server (exit 5).
    """
    from krakenfutures.runtime.unified_venue import UnifiedVenue

    conn, spot = private_connection(reconnect=False)
    venue = UnifiedVenue(conn, lookup_timeout_s=state().timeout_s or 10.0)
    try:
        await venue.start()
        yield venue
    finally:
        await conn.aclose()
        await spot.aclose()


def _refusal(reply: UwsReply, method: str) -> str:
    """The legacy status a failed uws reply means; raises what is no refusal (auth, limits)."""
    from krakenfutures.errors import ExchangeError
    from krakenfutures.runtime.unified_venue import check_order_error

    verdict = check_order_error(reply.errors[0] if reply.errors else "", method)
    if isinstance(verdict, ExchangeError):
        raise verdict
    return verdict


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


# ----------------------------------------------------------------------------------- trading


def place_order(intent: OrderIntent, trigger: str | None) -> tuple[UwsOrderReply, list[FillRecord]]:
    """``add_order`` for ``intent``; the reply and the fills the order made at once (read from
    ``executions`` after a ping barrier, as legacy ``sendorder`` reports its executions)."""
    from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS
    from krakenfutures.core.uws.build import build_add_order

    params = build_add_order(intent, DEFAULT_ASSUMPTIONS, trigger_reference=trigger or "last")

    async def main() -> tuple[UwsOrderReply, list[FillRecord]]:
        async with private_venue() as venue:
            reply = await venue.conn.request("add_order", params)
            cli = intent.cli_ord_id or None
            if not reply.ok:
                status = _refusal(reply, "add_order")
                return UwsOrderReply(status, cli_ord_id=cli, error=reply.errors[0]), []
            order_id = getattr(reply.result, "order_id", None) or None
            await venue.stream.barrier(venue.lookup_timeout_s)
            fills = [f for f in venue.stream.fills.values() if f.order_id == order_id]
            ended = _ended_at_once(venue, order_id)
            if ended is not None:  # legacy sendorder says so in its reply; uws on executions
                return UwsOrderReply(ended[0], order_id, cli, error=ended[1]), fills
            return UwsOrderReply("placed", order_id, cli), fills

    result: tuple[UwsOrderReply, list[FillRecord]] = _run(main())
    return result


def _ended_at_once(venue: UnifiedVenue, order_id: str | None) -> tuple[str, str] | None:
    """``(legacy status, reason)`` when the order left the book unfilled as soon as it came (a
    post-only order that would take, an IOC with nothing to match), else ``None``."""
    from krakenfutures.core.orders import OrderState
    from krakenfutures.core.types import OrderType

    entry = venue.stream.closed.get(order_id or "")
    if entry is None:
        return None
    snap = entry[0]
    if snap.filled_qty or snap.state not in (OrderState.CANCELLED, OrderState.REJECTED):
        return None
    status = {OrderType.POST: "postWouldExecute", OrderType.IOC: "iocWouldNotExecute"}.get(
        snap.order_type
    )
    return (status, snap.reason or snap.state.value) if status is not None else None


_CANCEL_STATUS = {"cancelled": "cancelled", "filled": "filled", "not_found": "notFound"}


def cancel_order(order_id: str | None, cli_ord_id: str | None) -> UwsOrderReply:
    """``cancel_order`` by ``order_id`` or ``cli_ord_id``: ``cancelled``, ``filled`` (it had
    filled) or ``notFound``."""
    from krakenfutures.core.orders import CancelIntent

    intent = CancelIntent(cli_ord_id or "", order_id)

    async def main() -> UwsOrderReply:
        async with private_venue() as venue:
            result = await venue.cancel_order(intent)
        status = _CANCEL_STATUS[result.outcome.value]
        return UwsOrderReply(status, result.order_id or order_id, cli_ord_id)

    reply: UwsOrderReply = _run(main())
    return reply


def cancel_all(symbol: str | None) -> UwsCancelAllReply:
    """Every open order (of ``symbol``): ``cancelled`` with the orders, or ``noOrdersToCancel``."""

    async def main() -> UwsCancelAllReply:
        async with private_venue() as venue:
            await venue.stream.barrier(venue.lookup_timeout_s)
            resting = {o.order_id: o for o in venue.stream.resting()}
            result = await venue.cancel_all(symbol)
        refs = tuple(
            OrderRef(oid, resting[oid].cli_ord_id if oid in resting else None)
            for oid in result.order_ids
        )
        status = "cancelled" if refs else "noOrdersToCancel"
        return UwsCancelAllReply(status, symbol or "all", refs)

    reply: UwsCancelAllReply = _run(main())
    return reply


def arm_deadman(seconds: int) -> UwsDeadman:
    """``cancel_all_orders_after`` ``seconds`` (0 disarms).

    Raises:
        ExchangeError: the server refused it (exit code 4).
    """
    from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS
    from krakenfutures.core.uws.schema import ASSET_CLASS
    from krakenfutures.core.uws.schema_orders import CancelAllOrdersAfterParams
    from krakenfutures.errors import ExchangeError

    asset_class = ASSET_CLASS if DEFAULT_ASSUMPTIONS.cancel_after_asset_class else None
    params = CancelAllOrdersAfterParams(timeout=seconds, asset_class=asset_class)
    method = "cancel_all_orders_after"

    async def main() -> UwsDeadman:
        async with private_venue() as venue:
            reply = await venue.conn.request(method, params)
        if not reply.ok:
            status = _refusal(reply, method)
            raise ExchangeError(f"{method} refused: {status}", code=status, endpoint=method)
        result = reply.result
        return UwsDeadman(
            getattr(result, "current_time", None), getattr(result, "trigger_time", None)
        )

    answer: UwsDeadman = _run(main())
    return answer


# ------------------------------------------------------------------------------------- watch


def book_depth(depth: int) -> int:
    """The smallest ``book`` subscription depth uws offers that shows ``depth`` levels."""
    from krakenfutures.core.uws.schema import BOOK_DEPTHS

    return next(d for d in BOOK_DEPTHS if d >= depth)


def channel_rows(event: Any) -> list[tuple[str, Any]]:
    """``(symbol, data)`` per entry of a ``book``/``ticker``/``trade`` message, symbols in our
    spelling; ``[]`` for anything else."""
    from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS
    from krakenfutures.core.uws.schema_channels import BookMessage, TickerMessage, TradeMessage

    if not isinstance(event, BookMessage | TickerMessage | TradeMessage):
        return []
    return [(DEFAULT_ASSUMPTIONS.from_wire_symbol(d.symbol), d) for d in event.data]


def trade_ticks(event: Any) -> tuple[Any, ...]:
    """The :class:`~krakenfutures.core.events.TradeTick` records of a ``trade`` message (a
    snapshot's oldest first); ``()`` for anything else."""
    from krakenfutures.core.uws.schema_channels import TradeMessage
    from krakenfutures.runtime.unified_feed import translate

    return translate(event) if isinstance(event, TradeMessage) else ()


_STATUS_KINDS = {
    "Subscribed": "subscribed",
    "StatusChanged": "status",
    "MaintenanceNotice": "maintenance",
    "ChecksumMismatch": "book_checksum_mismatch",
    "UwsBookResynced": "book_resynced",
    "Reconnected": "reconnected",
}


def json_lines(event: Any) -> None:
    """Print a uws event as JSON lines: one per channel entry (``{"kind": "book_snapshot" |
    "book" | "ticker" | "trade" ..., "symbol": ..., <fields>}``, the legacy kinds where they
    mean the same), one per status event; heartbeats and request replies print nothing."""
    import click
    import msgspec

    from krakenfutures.cli.render import to_plain

    rows = channel_rows(event)
    docs: list[dict[str, Any]] = []
    if rows:
        kind = type(event).__struct_config__.tag  # the channel name
        suffix = "_snapshot" if event.is_snapshot else ""
        docs = [{"kind": f"{kind}{suffix}", **to_plain(d), "symbol": s} for s, d in rows]
    elif type(event).__name__ in _STATUS_KINDS:
        plain = {k: v for k, v in to_plain(event).items() if k != "result"}
        docs = [{"kind": _STATUS_KINDS[type(event).__name__], **plain}]
    for doc in docs:
        click.echo(msgspec.json.encode(doc).decode())


def note(event: Any) -> None:
    """Status worth a line on a human's screen (reconnects, checksum resyncs, maintenance)."""
    import click

    kind = _STATUS_KINDS.get(type(event).__name__)
    if kind is not None and kind not in ("subscribed", "status"):
        click.echo(f"[{kind}] {event}", err=True)


def check_refusal(event: Any) -> None:
    """A refused subscription (unknown symbol, ...) as a usage error (exit code 2).

    Raises:
        ValidationError: the server refused a subscription.
    """
    from krakenfutures.core.uws.events import SubscribeFailed
    from krakenfutures.errors import ValidationError

    if isinstance(event, SubscribeFailed):
        what = f"{event.channel} {event.symbol or ''}".strip()
        raise ValidationError(f"the server refused the subscription to {what}: {event.error}")


__all__ = [
    "OrderRef",
    "UwsCancelAllReply",
    "UwsDeadman",
    "UwsOrderReply",
    "arm_deadman",
    "book_depth",
    "cancel_all",
    "cancel_order",
    "channel_rows",
    "check_refusal",
    "json_lines",
    "note",
    "place_order",
    "private_connection",
    "private_venue",
    "public_connection",
    "spot_credentials",
    "trade_ticks",
    "uws_origin",
]
