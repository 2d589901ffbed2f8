"""Trade commands of `kf`: place an order, cancel, and the dead man's switch.

An order request can succeed at the HTTP level and still be refused: Kraken answers
``result: success`` with ``sendStatus.status`` such as ``insufficientAvailableFunds``. Those end
with exit code 6 after printing the status, Kraken's meaning of it and the order events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import click

from krakenfutures.cli import render
from krakenfutures.cli.common import (
    POSITIVE_DECIMAL,
    ExitCode,
    KfError,
    dialect,
    dialect_option,
    fetch_instrument,
    json_option,
    state,
)
from krakenfutures.core.types import normalize_symbol

if TYPE_CHECKING:
    from krakenfutures.cli.main import KfGroup
    from krakenfutures.core.rest.schema_common import OrderEvent

MAX_CLI_ORD_ID = 100
MAX_DEADMAN_S = 2**32 - 1  # Kraken's timeout is a uint32


def choose_order_type(
    *, limit: Decimal | None, post: bool, ioc: bool, stop: Decimal | None, trigger: str | None
) -> str:
    """The ``orderType`` the flags ask for: ``mkt`` (no price), ``lmt`` (--limit), ``post``,
    ``ioc``, or ``stp`` (--stop, with an optional --limit as worst fill price).

    Raises:
        click.UsageError: contradictory or incomplete flags (exit code 2).
    """
    if post and ioc:
        raise click.UsageError("--post and --ioc exclude each other: a post-only order never takes")
    if stop is not None:
        if post or ioc:
            raise click.UsageError("--stop makes a stop order; it cannot also be --post or --ioc")
        return "stp"
    if trigger is not None:
        raise click.UsageError("--trigger only applies to stop orders (give --stop PRICE)")
    if post or ioc:
        name = "--post" if post else "--ioc"
        if limit is None:
            raise click.UsageError(f"{name} needs a price: add --limit PRICE")
        return "post" if post else "ioc"
    return "lmt" if limit is not None else "mkt"


def _event_rows(events: list[OrderEvent]) -> list[tuple[Any, ...]]:
    from krakenfutures.core.rest.schema_common import (
        CancelEvent,
        EditEvent,
        ExecutionEvent,
        PlaceEvent,
        RejectEvent,
    )

    rows: list[tuple[Any, ...]] = []
    for event in events:
        if isinstance(event, ExecutionEvent):
            rows.append(("EXECUTION", event.price, event.qty, f"execution {event.execution_id}"))
        elif isinstance(event, PlaceEvent):
            placed = event.order or event.order_trigger
            price = None
            if event.order is not None:
                price = event.order.limit_price
            elif event.order_trigger is not None:
                price = event.order_trigger.trigger_price
            detail = f"{placed.type} order placed" if placed is not None else "placed"
            rows.append(("PLACE", price, placed.qty if placed is not None else None, detail))
        elif isinstance(event, RejectEvent):
            rows.append(("REJECT", None, None, event.reason))
        elif isinstance(event, CancelEvent):
            rows.append(("CANCEL", None, None, f"order {event.uid}"))
        elif isinstance(event, EditEvent):
            rows.append(("EDIT", event.new.limit_price, event.new.qty, "order edited"))
    return rows


def _report(
    kind: str, reply: Any, fields: list[tuple[str, Any]], extra: dict[str, Any] | None = None
) -> None:
    """Print an order-entry reply; exit 6 when its status is a refusal."""
    from krakenfutures.core.classify import order_outcome

    outcome = order_outcome(reply.status)
    events = list(getattr(reply, "order_events", []))
    if state().json:
        document: dict[str, Any] = {
            "accepted": outcome.accepted,
            "reason": outcome.reason or None,
            **render.to_plain(reply),
            **(extra or {}),
        }
        render.emit_json(document)
    else:
        meaning = "accepted" if outcome.accepted else f"NOT accepted: {outcome.reason}"
        render.pairs(kind, [("status", f"{reply.status} ({meaning})"), *fields])
        rows = _event_rows(events)
        if rows:
            render.table("Events", ["event", ("price", "right"), ("qty", "right"), "detail"], rows)
    if not outcome.accepted:
        raise KfError(
            f"{kind.lower()} not accepted: {reply.status}: {outcome.reason}", ExitCode.ORDER_REFUSED
        )


@click.command()
@json_option
@dialect_option
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("symbol")
@click.argument("size", type=POSITIVE_DECIMAL)
@click.option(
    "--limit",
    "limit",
    type=POSITIVE_DECIMAL,
    metavar="PRICE",
    help="Limit price (a limit order; with --stop the worst fill price).",
)
@click.option("--post", is_flag=True, help="Post-only: refused rather than taking liquidity.")
@click.option("--ioc", is_flag=True, help="Immediate-or-cancel at --limit.")
@click.option("--reduce-only", is_flag=True, help="Only reduce an existing position.")
@click.option("--stop", type=POSITIVE_DECIMAL, metavar="PRICE", help="Stop (trigger) price.")
@click.option(
    "--trigger",
    type=click.Choice(["mark", "index", "last"]),
    help="Price that fires a --stop order [Kraken's default: mark].",
)
@click.option("--cli-ord-id", metavar="ID", help="Your own order id (<= 100 characters).")
def order(
    side: str,
    symbol: str,
    size: Decimal,
    limit: Decimal | None,
    post: bool,
    ioc: bool,
    reduce_only: bool,
    stop: Decimal | None,
    trigger: str | None,
    cli_ord_id: str | None,
) -> None:
    """Place an order: SIDE is buy or sell, SIZE in contracts.

    \b
    The type follows from the flags:
      (none)           mkt   market (IOC with Kraken's 1% price protection)
      --limit P        lmt   limit
      --limit P --post post  post-only limit
      --limit P --ioc  ioc   immediate-or-cancel
      --stop S         stp   stop-market (add --limit P for stop-limit)

    Exit code 6 if Kraken does not accept the order (e.g. insufficientAvailableFunds).
    """
    order_type = choose_order_type(limit=limit, post=post, ioc=ioc, stop=stop, trigger=trigger)
    if cli_ord_id is not None and not 0 < len(cli_ord_id) <= MAX_CLI_ORD_ID:
        raise click.BadParameter(
            f"must be 1 to {MAX_CLI_ORD_ID} characters, got {len(cli_ord_id)}",
            param_hint="--cli-ord-id",
        )
    request = f"{order_type} {side.lower()} {render.dec(size)} "
    suffix = (f" limit {render.dec(limit)}" if limit is not None else "") + (
        f" stop {render.dec(stop)}" if stop is not None else ""
    )
    if dialect() == "unified":
        reply, executions = _order_unified(
            order_type, side, symbol, size, limit, stop, trigger, reduce_only, cli_ord_id
        )
        request += normalize_symbol(symbol) + suffix
    else:
        client = state().client(private=True)  # no key: fail before any network call
        inst = fetch_instrument(symbol)
        reply = client.send_order(
            order_type=order_type,
            symbol=inst.symbol,
            side=side.lower(),
            qty=size,
            limit_price=limit,
            stop_price=stop,
            trigger_signal=trigger,
            reduce_only=True if reduce_only else None,
            cli_ord_id=cli_ord_id,
        )
        from krakenfutures.core.rest.schema_common import ExecutionEvent

        executions = [
            (e.execution_id, e.price, e.qty)
            for e in reply.order_events
            if isinstance(e, ExecutionEvent)
        ]
        request += inst.symbol + suffix
    filled = sum((qty for _, _, qty in executions), Decimal(0))
    fields: list[tuple[str, Any]] = [
        ("order id", reply.order_id),
        ("cli ord id", reply.cli_ord_id),
        ("request", request),
        ("received", reply.received_time),
        ("executed", f"{render.dec(filled)} in {len(executions)} execution(s)"),
    ]
    extra = {
        "order_type": order_type,
        "executions": [
            {"execution_id": eid, "price": render.dec(price), "qty": render.dec(qty)}
            for eid, price, qty in executions
        ],
    }
    _report("Order", reply, fields, extra)


def _order_unified(
    order_type: str,
    side: str,
    symbol: str,
    size: Decimal,
    limit: Decimal | None,
    stop: Decimal | None,
    trigger: str | None,
    reduce_only: bool,
    cli_ord_id: str | None,
) -> tuple[Any, list[tuple[str, Decimal, Decimal]]]:
    """``kf order`` over uws: the reply and its immediate executions ``(id, price, qty)``.
    uws triggers on ``last`` or ``index`` only, so ``--trigger mark`` is a usage error."""
    from krakenfutures.cli import uws_cli
    from krakenfutures.core.orders import OrderIntent
    from krakenfutures.errors import ValidationError

    if trigger == "mark":
        raise click.BadParameter(
            "the Unified WebSocket has no mark-price trigger: use --trigger last or index",
            param_hint="--trigger",
        )
    uws_cli.spot_credentials()  # no key: fail before any network call
    try:
        intent = OrderIntent(
            symbol=symbol,
            side=side.lower(),  # type: ignore[arg-type]
            qty=size,
            order_type=order_type,  # type: ignore[arg-type]
            limit_price=limit,
            stop_price=stop,
            reduce_only=reduce_only,
            cli_ord_id=cli_ord_id or "",
        )
    except ValidationError as exc:
        raise click.UsageError(str(exc)) from None
    reply, fills = uws_cli.place_order(intent, trigger)
    return reply, [(f.fill_id, f.price, f.qty) for f in fills]


@click.command()
@json_option
@dialect_option
@click.argument("order_id", required=False)
@click.option("--cli-ord-id", metavar="ID", help="Cancel the order with this client order id.")
@click.option("--all", "cancel_all", is_flag=True, help="Cancel all open orders.")
@click.option("--symbol", metavar="S", help="With --all: only the orders of this contract.")
def cancel(
    order_id: str | None, cli_ord_id: str | None, cancel_all: bool, symbol: str | None
) -> None:
    """Cancel ORDER_ID, or --cli-ord-id ID, or --all [--symbol S].

    Exit code 6 if Kraken does not cancel it (e.g. notFound).
    """
    chosen = sum(x for x in (order_id is not None, cli_ord_id is not None, cancel_all))
    if chosen != 1:
        raise click.UsageError("name exactly one of: ORDER_ID, --cli-ord-id ID, --all")
    if symbol is not None and not cancel_all:
        raise click.UsageError("--symbol only narrows --all")
    unified = dialect() == "unified"
    if unified:
        from krakenfutures.cli import uws_cli

        uws_cli.spot_credentials()  # no key: fail before any network call
    else:
        client = state().client(private=True)
    if cancel_all:
        if unified:
            sym = normalize_symbol(symbol) if symbol else None
            reply: Any = uws_cli.cancel_all(sym)
        else:
            sym = fetch_instrument(symbol, param_hint="--symbol").symbol if symbol else None
            reply = client.cancel_all_orders(symbol=sym)
        cancelled = [
            ref.order_id + (f" ({ref.cli_ord_id})" if ref.cli_ord_id else "")
            for ref in reply.cancelled_orders
        ]
        _report(
            "Cancel all",
            reply,
            [
                ("scope", reply.cancel_only or sym or "all"),
                ("cancelled", f"{len(cancelled)} order(s)"),
                *[("", item) for item in cancelled],
                ("received", reply.received_time),
            ],
        )
        return
    if unified:
        one: Any = uws_cli.cancel_order(order_id, cli_ord_id)
    else:
        one = client.cancel_order(order_id=order_id, cli_ord_id=cli_ord_id)
    _report(
        "Cancel",
        one,
        [
            ("order id", one.order_id or order_id),
            ("cli ord id", one.cli_ord_id or cli_ord_id),
            ("received", one.received_time),
        ],
    )


@click.command()
@json_option
@dialect_option
@click.argument("seconds", type=click.IntRange(min=0, max=MAX_DEADMAN_S))
def deadman(seconds: int) -> None:
    """Dead man's switch: cancel all orders in SECONDS unless called again; 0 disarms.

    Kraken suggests arming 60 s and calling again every 15-20 s.
    """
    if dialect() == "unified":
        from krakenfutures.cli import uws_cli

        reply: Any = uws_cli.arm_deadman(seconds)
        armed = seconds > 0
    else:
        reply = state().client(private=True).cancel_all_orders_after(timeout=seconds)
        armed = reply.trigger_time not in ("0", "")
    if state().json:
        render.emit_json({"armed": armed, "timeout_s": seconds, **render.to_plain(reply)})
        return
    render.pairs(
        "Dead man's switch",
        [
            ("state", f"armed for {seconds} s" if armed else "disarmed"),
            ("server time", reply.current_time),
            ("cancels all orders at", reply.trigger_time if armed else None),
        ],
    )


def register(group: KfGroup) -> None:
    """Add the trade commands to ``group`` (the `kf` group)."""
    for command in (order, cancel, deadman):
        group.add_command(command, section="Trade")


__all__ = ["choose_order_type", "register"]
