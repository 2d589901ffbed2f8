"""Every fact about the Unified WebSocket (uws) that the reference leaves open, in one place.

Kraken's uws pages were only partly retrieved (reference ``unified-websocket.md`` §9 lists the
gaps). Where the code needs one of those facts it reads it from a :class:`UwsAssumptions`
(default :data:`DEFAULT_ASSUMPTIONS`) instead of hard-coding it, so a live capture settles each
point by changing one value here (or passing another :class:`UwsAssumptions`), not by hunting
through the code. Each default is the most likely reading of the reference, with the reason.

=============================  ===============================  =================================
assumption                     default                          why (reference section)
=============================  ===============================  =================================
symbol format (§1.5)           ``native`` (``PF_XBTUSD``)       the docs' ``BTC/USD`` examples are
                                                                copied Spot templates and cannot
                                                                tell a perpetual from a future
time-in-force values (§4.1)    ``gtc``/``ioc``/``fok``/``gtd``  the Spot v2 ``add_order`` names
                                                                (lower case on the socket); FOK as
                                                                Spot REST gained it in May 2026
quantity unit (§4.1, §4.9)     ``contracts``                    ``qty_min``/``qty_increment`` are
                                                                "per contract" on ``instrument``
sequence-checked channels      ``ledgers``, ``executions``,     ledgers: documented (§3.4);
(§3.4, §4.10)                  ``balances``                     executions/balances carry
                                                                ``sequence`` on Spot v2
sequence scope (§4.10)         per channel                      "per connection" on ledgers, but
                                                                Spot v2 numbers each channel
one response per cancelled id  yes                              Spot v2 ``cancel_order`` streams
(§3.2)                                                          one response per order
``asset_class`` on             sent                             every other trading method takes
``cancel_all_orders_after``                                     it (§4.6 excerpt cut off)
(§4.6)
position ``size`` sign (§4.10)  signed (short < 0)              as legacy ``open_positions``;
                                                                a ``side`` field, if sent, wins
maintenance entry keys (§3.5)  :data:`MAINTENANCE_KEYS`         the values are documented, the
                                                                JSON key names were truncated
pair without a ``status`` on   not tradeable                    fail safe: the field is Spot
``instrument`` (§4.9)                                           v2's; whether derivatives pairs
                                                                carry it is unconfirmed
=============================  ===============================  =================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from krakenfutures.core.types import normalize_symbol
from krakenfutures.errors import ValidationError


class SymbolFormat(StrEnum):
    """How a derivatives symbol is spelled on uws (reference §1.5, unresolved).

    ``NATIVE``: the legacy contract symbol (``PF_XBTUSD``, ``PI_XBTUSD``, ``FI_XBTUSD_260327``).
    ``PAIR``: a Spot-style pair (``BTC/USD``), mapped to and from contract symbols through
    :attr:`UwsAssumptions.pair_symbols` or, failing that, the perpetual of the pair.
    """

    NATIVE = "native"
    PAIR = "pair"


class QtyUnit(StrEnum):
    """What ``order_qty``/``qty`` count for derivatives on uws (reference §4.1, unresolved)."""

    CONTRACTS = "contracts"
    BASE = "base"


class SequenceScope(StrEnum):
    """Whether ``sequence`` counts per channel or across a connection's sequenced channels."""

    CHANNEL = "channel"
    CONNECTION = "connection"


TIF_GTC = "gtc"
"""``time_in_force`` wire value: good till cancelled (Spot v2 default)."""
TIF_IOC = "ioc"
"""``time_in_force`` wire value: immediate or cancel."""
TIF_FOK = "fok"
"""``time_in_force`` wire value: fill or kill (assumed available for derivatives)."""
TIF_GTD = "gtd"
"""``time_in_force`` wire value: good till date (``batch_add`` says GTD is not for derivatives)."""

MAINTENANCE_KEYS: Mapping[str, tuple[str, ...]] = {
    "stage": ("stage", "maintenance_stage", "notice_stage"),
    "services": ("affected_services", "services", "affected"),
    "action": ("advised_action", "action", "recommended_action"),
    "start": ("start_time", "start", "starts_at", "window_start"),
    "end": ("end_time", "end", "ends_at", "window_end"),
    "message": ("message", "description", "text"),
}
"""Candidate JSON keys inside ``status.upcoming_maintenance``/``emergency`` entries, first hit
wins (the documented values: stage ∈ announced..final_warning_30s, services ⊆ spot_ws..all,
action ∈ continue..disconnect_and_wait; reference §3.5)."""

_BASE_ALIASES = {"XBT": "BTC"}  # legacy contract base -> Spot-style asset


@dataclass(frozen=True, slots=True)
class UwsAssumptions:
    """The open uws facts as one value; see the module docstring for each default's reason.

    Attributes:
        symbol_format: how contract symbols are spelled on the wire.
        pair_symbols: for :attr:`SymbolFormat.PAIR`, contract symbol -> wire pair
            (``{"PF_XBTUSD": "BTC/USD"}``); symbols not listed map to/from the perpetual.
        pair_prefix: the contract family a bare pair stands for (``PF_``: linear perpetuals).
        qty_unit: what order and fill quantities count.
        tif_gtc, tif_ioc, tif_fok: the ``time_in_force`` wire values.
        sequenced_channels: channels whose messages carry a gap-checked ``sequence``.
        sequence_scope: per channel, or one counter across the connection's sequenced channels.
        response_per_cancelled_id: ``cancel_order`` answers once per id (else once per request).
        cancel_after_asset_class: send ``asset_class`` with ``cancel_all_orders_after``.
        position_size_signed: ``positions`` ``size`` is negative for shorts.
        untold_pair_status_tradeable: an ``instrument`` pair that carries no ``status`` is
            taken as tradeable (else it is not: the trading-state gate stays shut for it).
    """

    symbol_format: SymbolFormat = SymbolFormat.NATIVE
    pair_symbols: Mapping[str, str] = field(default_factory=dict)
    pair_prefix: str = "PF_"
    qty_unit: QtyUnit = QtyUnit.CONTRACTS
    tif_gtc: str = TIF_GTC
    tif_ioc: str = TIF_IOC
    tif_fok: str = TIF_FOK
    sequenced_channels: frozenset[str] = frozenset({"ledgers", "executions", "balances"})
    sequence_scope: SequenceScope = SequenceScope.CHANNEL
    response_per_cancelled_id: bool = True
    cancel_after_asset_class: bool = True
    position_size_signed: bool = True
    untold_pair_status_tradeable: bool = False

    def to_wire_symbol(self, symbol: str) -> str:
        """The uws spelling of contract ``symbol``.

        Raises:
            ValidationError: ``PAIR`` format and ``symbol`` has no pair (a fixed maturity not in
                :attr:`pair_symbols`).
        """
        symbol = normalize_symbol(symbol)
        if self.symbol_format is SymbolFormat.NATIVE:
            return symbol
        mapped = {normalize_symbol(k): v for k, v in self.pair_symbols.items()}.get(symbol)
        if mapped is not None:
            return mapped
        rest = symbol.partition("_")[2]
        if not rest or "_" in rest or len(rest) <= 3:
            raise ValidationError(
                f"{symbol} has no uws pair spelling: add it to UwsAssumptions.pair_symbols "
                "(e.g. {'FI_XBTUSD_260327': '...'}) or use SymbolFormat.NATIVE"
            )
        base, quote = rest[:-3], rest[-3:]
        return f"{_BASE_ALIASES.get(base, base)}/{quote}"

    def from_wire_symbol(self, wire: str) -> str:
        """The contract symbol a uws ``symbol`` field stands for (upper case)."""
        if self.symbol_format is SymbolFormat.NATIVE or "/" not in wire:
            return normalize_symbol(wire)
        for native, pair in self.pair_symbols.items():
            if pair.upper() == wire.strip().upper():
                return normalize_symbol(native)
        base, _, quote = normalize_symbol(wire).partition("/")
        legacy = {v: k for k, v in _BASE_ALIASES.items()}.get(base, base)
        return f"{self.pair_prefix.upper()}{legacy}{quote}"


DEFAULT_ASSUMPTIONS = UwsAssumptions()
"""The most likely reading of every open point (see the module docstring)."""

__all__ = [
    "DEFAULT_ASSUMPTIONS",
    "MAINTENANCE_KEYS",
    "TIF_FOK",
    "TIF_GTC",
    "TIF_GTD",
    "TIF_IOC",
    "QtyUnit",
    "SequenceScope",
    "SymbolFormat",
    "UwsAssumptions",
]
