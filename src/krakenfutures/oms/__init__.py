"""Order management: the ``Venue`` port, order tracking by ``cli_ord_id`` and the position book.

Pure bookkeeping: no I/O, no clock (``now_ms`` is passed in). Imports only ``core`` and
``errors``; never ``client``, ``sim`` or ``transport`` (import-linter enforces it).
"""

from krakenfutures.core.orders import AmendIntent, CancelIntent, OrderIntent, OrderState
from krakenfutures.oms.positions import PositionBook, PositionPnl, settlement_currency
from krakenfutures.oms.tracker import (
    DEFAULT_CLOCK_MARGIN_MS,
    DEFAULT_SETTLE_MS,
    CliOrdIdGenerator,
    OrderTracker,
    OrderUpdated,
    ReconcileNeeded,
    TrackedOrder,
)
from krakenfutures.oms.venue import (
    AmendResult,
    BalanceRecord,
    CancelAllResult,
    CancelOutcome,
    CancelResult,
    FillRecord,
    OrderSnapshot,
    PositionRecord,
    SubmitResult,
    Venue,
)

__all__ = [
    "DEFAULT_CLOCK_MARGIN_MS",
    "DEFAULT_SETTLE_MS",
    "AmendIntent",
    "AmendResult",
    "BalanceRecord",
    "CancelAllResult",
    "CancelIntent",
    "CancelOutcome",
    "CancelResult",
    "CliOrdIdGenerator",
    "FillRecord",
    "OrderIntent",
    "OrderSnapshot",
    "OrderState",
    "OrderTracker",
    "OrderUpdated",
    "PositionBook",
    "PositionPnl",
    "PositionRecord",
    "ReconcileNeeded",
    "SubmitResult",
    "TrackedOrder",
    "Venue",
    "settlement_currency",
]
