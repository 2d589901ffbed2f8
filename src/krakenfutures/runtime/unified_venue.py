"""``UnifiedVenue``: the :class:`~krakenfutures.oms.venue.Venue` port over one private Unified
WebSocket (uws) connection: order entry by request, every lookup from an ``executions`` mirror.

uws has no request/response queries (no ``openorders``, no ``orders/status``, no ``fills``):
what the account holds streams on the private channels.
:class:`~krakenfutures.runtime.unified_market.PrivateStream` is the single
reader of a private :class:`~krakenfutures.client.uws.AsyncUwsConnection` (one per connection,
:func:`~krakenfutures.runtime.unified_market.private_stream`); it translates every message with a
:class:`~krakenfutures.runtime.unified_feed.UnifiedFeedTranslator`, keeps the mirror (resting
orders from the ``executions`` snapshot + updates, recently closed orders, fills from ``trade``
executions, balances, positions) and hands the same records to listeners
(:class:`~krakenfutures.runtime.unified_market.UnifiedMarket`).

A lookup is only as good as the mirror, so each one first runs a *barrier*: a ``ping`` on the
private socket, answered after everything the server queued before it; the lookup waits until
the reader has applied every message up to that ``pong``, and until the ``executions`` snapshot
of the current connection is in. A lookup that cannot get there (disconnected, no snapshot)
raises :class:`~krakenfutures.errors.TimeoutError_`; it never answers from a stale mirror, which
could "prove" an order absent and make the OMS resend it.

Errors, as :mod:`krakenfutures.oms.venue` requires:

=====================================  ========================================================
uws outcome                            venue result
=====================================  ========================================================
``success: true``                      accepted (``placed``/``edited``/cancelled)
``EOrder:*`` / ``EGeneral:Invalid``    ``accepted=False`` with the legacy status it means
                                       (:data:`ORDER_ERRORS`; ``Duplicate cl_ord_id`` is
                                       ``clientOrderIdAlreadyExist``: the OMS then reconciles)
reply lost on a dropped socket,        raised as it is (``TransportError``/``TimeoutError_``):
no reply in time                       maybe executed; the OMS resolves it from this mirror
                                       before any resend (``cl_ord_id`` + ``deadline`` make
                                       a late duplicate impossible)
not connected                          ``ConnectError``: nothing was sent
``EService:Unavailable``               ``UnavailableError``
``EOrder:Rate limit exceeded``         ``RateLimitError``
``ESession:*``/``EAPI:*``/permission   ``AuthenticationError``/``PermissionDeniedError``
=====================================  ========================================================

What uws does not give (reference §6, §9): history. Fills go back only as far as the
``snap_trades`` snapshot (last 50) plus what streamed since; funding payments only as far as
this venue's start (``ledgers`` has no snapshot), so :meth:`UnifiedVenue.funding_payments` adds
the legacy account log from ``fallback`` (a :class:`~krakenfutures.runtime.live_venue.LiveVenue`)
while it exists. :meth:`UnifiedVenue.positions` reads the ``positions`` channel and asks the
fallback only while that channel gave no data (its payload is unconfirmed on Kraken).
``balances`` carries no "available" figure, so ``available`` equals ``balance``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.core.events import FundingPaid
from krakenfutures.core.orders import OrderState
from krakenfutures.core.types import normalize_symbol
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.build import build_add_order, build_amend_order, build_cancel_order
from krakenfutures.core.uws.events import UwsReply
from krakenfutures.core.uws.schema import ASSET_CLASS
from krakenfutures.core.uws.schema_orders import (
    CancelAllOrdersAfterParams,
    CancelAllParams,
    CancelOrderParams,
)
from krakenfutures.errors import (
    AuthenticationError,
    ExchangeError,
    KrakenFuturesError,
    PermissionDeniedError,
    RateLimitError,
    UnavailableError,
    ValidationError,
)
from krakenfutures.oms.venue import (
    AmendIntent,
    AmendResult,
    BalanceRecord,
    CancelAllResult,
    CancelIntent,
    CancelOutcome,
    CancelResult,
    FillRecord,
    OrderIntent,
    OrderSnapshot,
    PositionRecord,
    SubmitResult,
    Venue,
)
from krakenfutures.runtime.unified_market import private_stream

ORDER_ERRORS: tuple[tuple[str, str], ...] = (
    ("EOrder:Duplicate cl_ord_id", "clientOrderIdAlreadyExist"),
    ("EOrder:Insufficient", "insufficientAvailableFunds"),
    ("EOrder:Post only", "postWouldExecute"),
    ("EOrder:Reduce only", "wouldNotReducePosition"),
    ("EOrder:Immediate or cancel", "iocWouldNotExecute"),
    ("EOrder:Self trade", "selfFill"),
    ("EOrder:Unknown order", "orderForEditNotFound"),
    ("EOrder:Invalid price:outside", "outsidePriceCollar"),
    ("EOrder:Invalid price", "invalidPrice"),
    ("EOrder:Orders limit", "tooManyOrders"),
    ("EOrder:Margin position size", "maxPositionViolation"),
    ("EOrder:Deadline elapsed", "wouldProcessAfterSpecifiedTime"),
    ("EGeneral:Invalid arguments:order_qty", "invalidSize"),
    ("EGeneral:Invalid arguments:cl_ord_id", "clientOrderIdInvalid"),
    ("EService:Market in post_only", "marketIsPostOnly"),
    ("EService:Market in cancel_only", "marketSuspended"),
)
"""uws ``error`` prefixes -> the legacy order status meaning the same refusal (first match).
Kraken's derivatives texts are a gap (reference §3.6): these are the simulator's, in the
documented ``E<Cat>:<Desc>`` style; any other ``EOrder:``/``EGeneral:Invalid`` is a refusal with
the text as status."""


log = logging.getLogger(__name__)


def check_order_error(error: str, method: str) -> str | ExchangeError:
    """The refusal status an order ``error`` means, or the exception it stands for (returned,
    never raised): auth/session -> :class:`AuthenticationError`, permission ->
    :class:`PermissionDeniedError`, rate limit -> :class:`RateLimitError`, service errors ->
    :class:`UnavailableError`."""
    text = error.strip()
    for prefix, status in ORDER_ERRORS:
        if text.startswith(prefix):
            return status
    if text.startswith("EOrder:Rate limit") or "Rate limit" in text:
        return RateLimitError(f"{method}: {text}; back off", code=text, endpoint=method)
    if "Permission denied" in text:
        return PermissionDeniedError(
            f"{method}: {text}: the Spot key lacks trading rights", code=text, endpoint=method
        )
    if text.startswith(("ESession:", "EAPI:")):
        return AuthenticationError(
            f"{method}: {text}: the WebSocket token or key was refused (fetch a fresh token "
            "with a Spot key that has the WebSocket permission)",
            code=text,
            endpoint=method,
        )
    if text.startswith("EService:"):
        return UnavailableError(
            f"{method}: {text}; it may or may not have been carried out", code=text, endpoint=method
        )
    return text or "refused"


def _status_of(reply: UwsReply, method: str) -> str:
    """The refusal status of a failed reply (raising what is no refusal)."""
    verdict = check_order_error(reply.errors[0] if reply.errors else "", method)
    if isinstance(verdict, ExchangeError):
        raise verdict
    return verdict


class UnifiedVenue:
    """The :class:`~krakenfutures.oms.venue.Venue` protocol over a private uws connection.

    Args:
        conn: an :class:`~krakenfutures.client.uws.AsyncUwsConnection` on ``/v2/private``
            with a ``token_provider`` (the venue subscribes ``executions``, ``positions`` and
            ``balances`` on it and does not close it).
        fallback: a venue asked for :meth:`positions` while uws has no ``positions`` data
            (legacy REST while it exists); ``None``: return what uws has.
        lookup_timeout_s: how long a lookup may wait for the mirror to be in sync.
        closed_window_s: how long :meth:`order_status` reports closed orders (Kraken: ~5 s;
            longer is harmless and helps after a slow reconnect).
        assumptions, asset_class: the connection's own (symbol spelling, ``asset_class``).

    See the module docstring for the wire mapping and what each exception means.
    """

    def __init__(
        self,
        conn: AsyncUwsConnection,
        *,
        fallback: Venue | None = None,
        lookup_timeout_s: float = 10.0,
        closed_window_s: float = 60.0,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        asset_class: str = ASSET_CLASS,
    ) -> None:
        self.conn = conn
        self.stream = private_stream(conn, assumptions)
        self.fallback = fallback
        self.lookup_timeout_s = lookup_timeout_s
        self.closed_window_s = closed_window_s
        self._assume = assumptions
        self._asset_class = asset_class

    async def start(self) -> None:
        """Connect and start the private reader (every method does this on first use)."""
        await self.stream.start()

    async def _request(self, method: str, params: Any) -> UwsReply:
        await self.stream.start()
        return await self.conn.request(method, params)

    # -------------------------------------------------------------------------- orders

    async def submit_order(self, intent: OrderIntent) -> SubmitResult:
        """``add_order`` with ``cl_ord_id`` and ``deadline``; a refusal is ``accepted=False``.
        An order the engine accepts and ends at once (post-only that would cross, IOC without
        a match) is ``placed`` here; its end arrives on ``executions``."""
        params = build_add_order(intent, self._assume, asset_class=self._asset_class)
        reply = await self._request("add_order", params)
        cli = intent.cli_ord_id
        if reply.ok:
            order_id = getattr(reply.result, "order_id", None) or None
            return SubmitResult(cli_ord_id=cli, accepted=True, status="placed", order_id=order_id)
        status = _status_of(reply, "add_order")
        return SubmitResult(cli_ord_id=cli, accepted=False, status=status, reason=reply.errors[0])

    async def amend_order(self, intent: AmendIntent) -> AmendResult:
        """``amend_order`` (``qty`` is the new total, fills included), in place."""
        params = build_amend_order(intent, asset_class=self._asset_class)
        reply = await self._request("amend_order", params)
        if reply.ok:
            return AmendResult(cli_ord_id=intent.cli_ord_id, accepted=True, status="edited")
        status = _status_of(reply, "amend_order")
        return AmendResult(intent.cli_ord_id, accepted=False, status=status, reason=reply.errors[0])

    async def cancel_order(self, intent: CancelIntent) -> CancelResult:
        """``cancel_order`` by ``order_id`` when known (else ``cli_ord_id``). An unknown order
        is ``filled`` if the mirror saw it fill, else ``not_found`` (the OMS reconciles)."""
        params = build_cancel_order(intent, asset_class=self._asset_class)
        reply = await self._request("cancel_order", params)
        if reply.ok:
            order_id = getattr(reply.result, "order_id", None) or intent.order_id
            return CancelResult(intent.cli_ord_id, CancelOutcome.CANCELLED, order_id)
        _status_of(reply, "cancel_order")  # raises what is no refusal
        for snap, _ in self.stream.closed.values():
            same = snap.order_id == intent.order_id or snap.cli_ord_id == intent.cli_ord_id
            if same and snap.state is OrderState.FILLED:
                return CancelResult(intent.cli_ord_id, CancelOutcome.FILLED, snap.order_id)
        return CancelResult(intent.cli_ord_id, CancelOutcome.NOT_FOUND, intent.order_id)

    async def cancel_all(self, symbol: str | None = None) -> CancelAllResult:
        """Every open order (``cancel_all``), or those of ``symbol``: uws ``cancel_all`` has no
        symbol filter (reference §4.5), so those are cancelled by id from the mirror. The
        result names the orders the mirror showed resting and the server cancelled."""
        await self.stream.barrier(self.lookup_timeout_s)
        resting = self.stream.resting()
        if symbol is None:
            reply = await self._request(
                "cancel_all", CancelAllParams(asset_class=self._asset_class)
            )
            if not reply.ok:
                _status_of(reply, "cancel_all")
                return CancelAllResult()
            gone = resting
        else:
            wanted = normalize_symbol(symbol)
            gone = [o for o in resting if o.symbol == wanted]
            if not gone:
                return CancelAllResult()
            params = CancelOrderParams(
                asset_class=self._asset_class, order_id=[o.order_id for o in gone]
            )
            reply = await self._request("cancel_order", params)
            done = {getattr(r, "order_id", None) for r in reply.results}
            gone = [o for o in gone if o.order_id in done]
        return CancelAllResult(
            order_ids=tuple(o.order_id for o in gone),
            cli_ord_ids=tuple(o.cli_ord_id for o in gone if o.cli_ord_id),
        )

    async def arm_deadman(self, timeout_s: int) -> None:
        """``cancel_all_orders_after``: cancel everything ``timeout_s`` seconds from now unless
        re-armed; 0 disarms."""
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or timeout_s < 0:
            raise ValidationError(f"deadman timeout must be an int >= 0 seconds, got {timeout_s!r}")
        asset_class = self._asset_class if self._assume.cancel_after_asset_class else None
        params = CancelAllOrdersAfterParams(timeout=timeout_s, asset_class=asset_class)
        reply = await self._request("cancel_all_orders_after", params)
        if not reply.ok:
            verdict = check_order_error(reply.errors[0], "cancel_all_orders_after")
            if isinstance(verdict, ExchangeError):
                raise verdict
            raise ExchangeError(
                f"cancel_all_orders_after refused: {verdict}",
                code=verdict,
                endpoint="cancel_all_orders_after",
            )

    # ------------------------------------------------------------------------- lookups

    async def open_orders(self) -> list[OrderSnapshot]:
        """Every resting order: the ``executions`` snapshot plus updates (complete once the
        barrier passed)."""
        await self.stream.barrier(self.lookup_timeout_s)
        return self.stream.resting()

    async def order_status(self, cli_ord_ids: Sequence[str]) -> list[OrderSnapshot]:
        """Orders with these ``cli_ord_id`` values: resting, or closed within
        ``closed_window_s`` as the mirror saw them."""
        await self.stream.barrier(self.lookup_timeout_s)
        wanted = set(cli_ord_ids)
        found = [o for o in self.stream.resting() if o.cli_ord_id in wanted]
        found += [
            o for o in self.stream.recent_closed(self.closed_window_s) if o.cli_ord_id in wanted
        ]
        return found

    async def fills(self, since_ms: int | None = None) -> list[FillRecord]:
        """Fills at or after ``since_ms``, oldest first: the ``snap_trades`` snapshot (the last
        50) plus every ``trade`` execution since; nothing older (uws has no fill history)."""
        await self.stream.barrier(self.lookup_timeout_s)
        out = [f for f in self.stream.fills.values() if since_ms is None or f.ts_ms >= since_ms]
        out.sort(key=lambda f: f.ts_ms)
        return out

    async def positions(self) -> list[PositionRecord]:
        """Net positions from the ``positions`` channel (flat ones left out). While it gave no
        data, ``fallback.positions()`` if a fallback is set, else an empty list."""
        await self.stream.barrier(self.lookup_timeout_s)
        if not self.stream.positions_live and self.fallback is not None:
            return list(await self.fallback.positions())
        return [p for p in self.stream.positions.values() if p.qty]

    async def funding_payments(self, since_ms: int | None = None) -> list[FundingPaid]:
        """Funding payments at or after ``since_ms``, oldest first: those the ``ledgers``
        channel streamed since this venue started, plus the fallback's (the legacy account
        log: history from before the start) while it answers. Both carry the account log's
        payment ids, so a payment seen through both is listed once. After the legacy
        switch-off the fallback fails and only the streamed payments remain."""
        await self.stream.barrier(self.lookup_timeout_s)
        found = {
            p.key: p
            for p in self.stream.funding.values()
            if since_ms is None or p.ts_ms >= since_ms
        }
        source = getattr(self.fallback, "funding_payments", None)
        if source is not None:
            try:
                older = await source(since_ms=since_ms)
            except KrakenFuturesError as exc:
                log.debug("funding history from the legacy fallback unavailable (%s)", exc)
            else:
                for p in older:
                    found.setdefault(p.key, p)
        return sorted(found.values(), key=lambda p: p.ts_ms)

    @property
    def margin(self) -> tuple[Decimal, Decimal] | None:
        """``(margin_equity, maintenance_margin)`` of the flex account from the ``margin``
        channel (``None`` before it spoke): what the runtime's liquidation-risk alert reads,
        as :attr:`LiveVenue.margin <krakenfutures.runtime.live_venue.LiveVenue.margin>`."""
        return self.stream.margin

    async def balances(self) -> list[BalanceRecord]:
        """Balances per currency from the ``balances`` channel (``available`` = ``balance``:
        the channel has no available-margin figure; ``margin`` is not read here)."""
        await self.stream.barrier(self.lookup_timeout_s)
        return list(self.stream.balances.values())

    def __repr__(self) -> str:
        return f"UnifiedVenue({self.conn!r})"


__all__ = ["ORDER_ERRORS", "UnifiedVenue", "check_order_error"]
