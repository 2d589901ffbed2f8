"""Domain vocabulary shared by client, simulator, OMS and backtester.

Glossary (one word per concept): ``symbol`` (``PF_XBTUSD``), ``side`` (buy/sell), ``qty``
(contracts; the wire calls it ``size``), ``price``, ``order_id`` (exchange UUID), ``cli_ord_id``
(ours, <= 100 chars), ``fill_id``, ``seq``. Money and quantities are :class:`~decimal.Decimal`,
never float. Timestamps are ints with the unit in the name (``ts_ms``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

Price = Decimal
Qty = Decimal


class Side(StrEnum):
    """Order or trade side; for trades it is the taker's side."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """``orderType`` values accepted by ``sendorder``."""

    LMT = "lmt"
    POST = "post"
    MKT = "mkt"
    IOC = "ioc"
    FOK = "fok"
    STP = "stp"
    TAKE_PROFIT = "take_profit"
    TRAILING_STOP = "trailing_stop"


class TriggerSignal(StrEnum):
    """Price that fires a stop or take-profit order."""

    MARK = "mark"
    INDEX = "index"
    LAST = "last"


class QtyMode(StrEnum):
    """``editorder`` size semantics: RELATIVE = new open size, ABSOLUTE = total incl. fills."""

    RELATIVE = "RELATIVE"
    ABSOLUTE = "ABSOLUTE"


class SelfTradeStrategy(StrEnum):
    """Self-trade prevention policy of an account."""

    REJECT_TAKER = "REJECT_TAKER"
    CANCEL_MAKER_SELF = "CANCEL_MAKER_SELF"
    CANCEL_MAKER_CHILD = "CANCEL_MAKER_CHILD"
    CANCEL_MAKER_ANY = "CANCEL_MAKER_ANY"


class TradingState(StrEnum):
    """Whether an instrument can be traded now. ``UNKNOWN`` means: do not trade."""

    OPEN = "open"
    POST_ONLY = "post_only"
    SUSPENDED = "suspended"
    MAINTENANCE = "maintenance"
    UNKNOWN = "unknown"


class ContractKind(StrEnum):
    """Linear (PF_/FF_, 1 contract = 1 unit of base) or inverse (PI_/FI_, 1 contract = 1 USD)."""

    LINEAR = "linear"
    INVERSE = "inverse"


def contract_kind(symbol: str) -> ContractKind:
    """Classify a symbol by its prefix; Kraken symbols are case-insensitive."""
    prefix = symbol[:3].upper()
    if prefix in ("PI_", "FI_"):
        return ContractKind.INVERSE
    return ContractKind.LINEAR


def is_perpetual(symbol: str) -> bool:
    """Perpetuals (``PF_``/``PI_``) pay hourly funding; fixed maturities do not."""
    return symbol[:3].upper() in ("PF_", "PI_")


def normalize_symbol(symbol: str) -> str:
    """Kraken treats symbols case-insensitively and emits upper case; so do we."""
    return symbol.strip().upper()
