"""Order entry and order queries on the wire: send/edit/cancel/batch, open orders, fills, status.

Order outcomes such as ``insufficientAvailableFunds`` are *statuses* inside ``result: success``
(``SendStatus.status`` etc.), not errors. See :mod:`krakenfutures.core.rest.schema_common` for the
conventions every struct follows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from krakenfutures.core.rest.schema_common import OrderEvent, OrderIdRef, camel_names
from krakenfutures.core.types import OrderType, QtyMode, Side, TriggerSignal

PriceUnit = Literal["PERCENT", "QUOTE_CURRENCY"]
"""Unit of trailing-stop deviations and relative limit-price offsets."""

# ---------------------------------------------------------------------------------------------
# Params
# ---------------------------------------------------------------------------------------------


class SendOrderParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(qty="size"),
):
    """``POST /sendorder``. ``mkt`` is an IOC with a 1% collar; ``stop_price`` triggers
    ``stp``/``take_profit``; ``cli_ord_id`` <= 100 chars; ``process_before`` is ISO time."""

    order_type: OrderType
    symbol: str
    side: Side
    qty: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trigger_signal: TriggerSignal | None = None
    reduce_only: bool | None = None
    cli_ord_id: str | None = None
    trailing_stop_max_deviation: Decimal | None = None
    trailing_stop_deviation_unit: PriceUnit | None = None
    limit_price_offset_value: Decimal | None = None
    limit_price_offset_unit: PriceUnit | None = None
    process_before: str | None = None
    broker: str | None = None


class EditOrderParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(qty="size"),
):
    """``POST /editorder``: name the order by ``order_id`` (wire ``orderId``) or ``cli_ord_id``.

    ``qty_mode`` RELATIVE (Kraken's default) sets the open size, ABSOLUTE the total incl. fills.
    """

    order_id: str | None = None
    cli_ord_id: str | None = None
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_stop_max_deviation: Decimal | None = None
    trailing_stop_deviation_unit: PriceUnit | None = None
    qty_mode: QtyMode | None = None
    process_before: str | None = None


class CancelOrderParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"cli_ord_id": "cliOrdId", "process_before": "processBefore"},
):
    """``POST /cancelorder``: ``order_id`` (wire ``order_id``) or ``cli_ord_id``."""

    order_id: str | None = None
    cli_ord_id: str | None = None
    process_before: str | None = None


class CancelAllParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``POST /cancelallorders``: all open orders, or those of one ``symbol``."""

    symbol: str | None = None


class CancelAllAfterParams(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``POST /cancelallordersafter`` (dead man's switch): seconds until all orders are cancelled;
    ``0`` disarms. Kraken suggests re-arming 60 s every 15-20 s."""

    timeout: int


class BatchSend(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="order",
    tag="send",
    rename=camel_names(order_tag="order_tag", qty="size"),
):
    """A ``send`` instruction; ``order_tag`` maps it to its ``batchStatus`` row."""

    order_tag: str
    order_type: OrderType
    symbol: str
    side: Side
    qty: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    cli_ord_id: str | None = None
    trigger_signal: TriggerSignal | None = None
    reduce_only: bool | None = None
    trailing_stop_max_deviation: Decimal | None = None
    trailing_stop_deviation_unit: PriceUnit | None = None


class BatchEdit(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="order",
    tag="edit",
    rename=camel_names(order_id="order_id", qty="size"),
):
    """An ``edit`` instruction: note the batch uses ``order_id``, unlike ``/editorder``'s ``orderId``."""

    order_id: str | None = None
    cli_ord_id: str | None = None
    qty: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_stop_max_deviation: Decimal | None = None
    trailing_stop_deviation_unit: PriceUnit | None = None
    qty_mode: QtyMode | None = None


class BatchCancel(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    tag_field="order",
    tag="cancel",
    rename={"cli_ord_id": "cliOrdId"},
):
    """A ``cancel`` instruction by ``order_id`` or ``cli_ord_id``."""

    order_id: str | None = None
    cli_ord_id: str | None = None


BatchInstruction = BatchSend | BatchEdit | BatchCancel
"""One ``batchOrder`` entry, told apart by its ``order`` field."""


class BatchOrderParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"instructions": "json", "process_before": "ProcessBefore"},
):
    """``POST /batchorder``: the single form field ``json`` carries ``{"batchOrder": [...]}``
    (decimals as JSON numbers); Kraken spells the optional deadline ``ProcessBefore``."""

    instructions: list[BatchInstruction]
    process_before: str | None = None


class BatchOrderPayload(
    msgspec.Struct, frozen=True, kw_only=True, rename={"batch_order": "batchOrder"}
):
    """The decoded ``json`` form field of ``/batchorder`` (what the simulator receives)."""

    batch_order: list[BatchInstruction]


class FillsParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"last_fill_time": "lastFillTime"},
):
    """``GET /fills``: the last 100 fills, or the 100 before ``last_fill_time`` (ISO; costs 25)."""

    last_fill_time: str | None = None


class OrderStatusParams(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={"order_ids": "orderIds", "cli_ord_ids": "cliOrdIds"},
):
    """``POST /orders/status``: repeated ``orderIds``/``cliOrdIds`` keys. Only orders open now or
    closed within the last 5 s are reported."""

    order_ids: list[str] | None = None
    cli_ord_ids: list[str] | None = None


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class SendStatus(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(order_id="order_id"),
):
    """``sendStatus``: ``status`` is ``placed`` or a refusal (``insufficientAvailableFunds``,
    ``postWouldExecute``, ``iocWouldNotExecute``, ``selfFill``, ...). A fully executed market
    order still says ``placed``; read the ``EXECUTION`` events."""

    order_id: str | None = None
    status: str
    received_time: str | None = None
    cli_ord_id: str | None = None
    order_events: list[OrderEvent] = []


class EditStatus(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename=camel_names()
):
    """``editStatus``: ``edited`` or a refusal such as ``orderForEditNotFound``."""

    status: str
    order_id: str | None = None
    received_time: str | None = None
    cli_ord_id: str | None = None
    order_events: list[OrderEvent] = []


class CancelStatus(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(order_id="order_id"),
):
    """``cancelStatus`` of ``/cancelorder``: ``cancelled``, ``filled`` or ``notFound``."""

    status: str
    order_id: str | None = None
    received_time: str | None = None
    cli_ord_id: str | None = None
    order_events: list[OrderEvent] = []


class CancelAllStatus(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """``cancelStatus`` of ``/cancelallorders``: ``cancelled`` or ``noOrdersToCancel``;
    ``cancel_only`` is ``all`` or the symbol."""

    received_time: str | None = None
    cancel_only: str | None = None
    status: str
    cancelled_orders: list[OrderIdRef] = []
    order_events: list[OrderEvent] = []


class DeadManSwitchStatus(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """``status`` of ``/cancelallordersafter``; ``trigger_time`` is ``"0"`` when disarmed."""

    current_time: str
    trigger_time: str


class BatchStatus(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename={
        "cli_ord_id": "cliOrdId",
        "date_time_received": "dateTimeReceived",
        "order_events": "orderEvents",
    },
):
    """One ``batchStatus`` row, matched to its instruction by ``order_tag`` (sends) or ``order_id``."""

    status: str
    order_tag: str | None = None
    order_id: str | None = None
    cli_ord_id: str | None = None
    date_time_received: str | None = None
    order_events: list[OrderEvent] = []


class OpenOrder(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(order_id="order_id"),
):
    """An ``openOrders`` row: ``status`` ``untouched``/``partiallyFilled``; ``order_type`` ``lmt``,
    ``stop`` or ``take_profit``; ``trigger_signal`` ``mark``/``last``/``spot``."""

    order_id: str
    cli_ord_id: str | None = None
    symbol: str
    side: Side
    order_type: str
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    unfilled_size: Decimal | None = None
    received_time: str
    status: str
    filled_size: Decimal
    reduce_only: bool
    trigger_signal: str | None = None
    last_update_time: str


class Fill(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    rename=camel_names(fill_id="fill_id", order_id="order_id", qty="size"),
):
    """A ``fills`` row (no fee on REST: fees are on WS ``fills`` and the account log).

    ``fill_type``: maker, taker, liquidation, assignor, assignee, takerAfterEdit,
    unwindBankrupt, unwindCounterparty.
    """

    fill_id: str
    symbol: str
    side: Side
    order_id: str
    cli_ord_id: str | None = None
    qty: Decimal
    price: Decimal
    fill_time: str
    fill_type: str


class TriggerOptions(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """Trigger of an ``orders/status`` order: side ``TRIGGER_ABOVE``/``BELOW``, signal
    ``MARK_PRICE``/``LAST_PRICE``/``SPOT_PRICE``."""

    trigger_price: Decimal
    trigger_side: str
    trigger_signal: str


class CachedOrder(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names(qty="quantity")):
    """The order inside an ``orders/status`` row; ``type`` is ``ORDER`` or ``TRIGGER_ORDER``."""

    type: str
    order_id: str
    cli_ord_id: str | None = None
    symbol: str
    side: str
    qty: Decimal | None = None
    filled: Decimal | None = None
    limit_price: Decimal | None = None
    reduce_only: bool = False
    timestamp: str
    last_update_timestamp: str
    price_trigger_options: TriggerOptions | None = None
    trigger_time: str | None = None


class OrderStatusDetails(msgspec.Struct, frozen=True, kw_only=True, rename=camel_names()):
    """An ``orders/status`` row. ``status``: ENTERED_BOOK, FULLY_EXECUTED, REJECTED, CANCELLED,
    TRIGGER_PLACED, TRIGGER_ACTIVATION_FAILURE; ``update_reason`` e.g. ``DEAD_MAN_SWITCH``."""

    order: CachedOrder
    status: str
    update_reason: str | None = None
    error: str | None = None


__all__ = [
    "BatchCancel",
    "BatchEdit",
    "BatchInstruction",
    "BatchOrderParams",
    "BatchOrderPayload",
    "BatchSend",
    "BatchStatus",
    "CachedOrder",
    "CancelAllAfterParams",
    "CancelAllParams",
    "CancelAllStatus",
    "CancelOrderParams",
    "CancelStatus",
    "DeadManSwitchStatus",
    "EditOrderParams",
    "EditStatus",
    "Fill",
    "FillsParams",
    "OpenOrder",
    "OrderStatusDetails",
    "OrderStatusParams",
    "PriceUnit",
    "SendOrderParams",
    "SendStatus",
    "TriggerOptions",
]
