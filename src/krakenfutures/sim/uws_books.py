"""Depth-limited book mirrors behind the uws ``book`` channel, with the v2 checksum.

One :class:`BookMirror` per (symbol, subscribed depth) holds the levels last sent, as wire texts.
After an engine book change, :meth:`UwsBooks.update` reads the engine's top ``depth`` levels and
sends the difference: changed or new levels with their quantity, levels that left with
``qty: 0`` - except levels pushed out of range by better ones, which a v2 client drops itself
when it truncates to its depth (reference §4.11: "no zero-qty update is sent for levels that
fall out of range"). Levels that come into range (after a removal) are sent as new levels. The
checksum covers the top 10 of the mirror, which is exactly the client's book when it applies
the update and truncates.

The engine publishes one ``BookChanged`` per level after a whole operation has changed the
book, so the first event of an operation already sees the final book: the mirror remembers the
engine ``seq`` it reflects and later events of the same operation produce no message.

Numbers are printed with the instrument's precision (:func:`fixed`): those texts go on the wire
and are what the checksum hashes, computed by the client's own
:func:`krakenfutures.core.uws.checksum.book_checksum` over the same digits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

from krakenfutures.core.uws.checksum import book_checksum
from krakenfutures.core.uws.schema import CHECKSUM_DEPTH
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.uws_wire import iso_us, price_decimals, qty_decimals

DEPTHS = (10, 25, 100, 500, 1000)
"""Depths a ``book`` subscription may ask for (default 10)."""
Level = tuple[str, str]  # (price text, qty text) as sent


def fixed(value: Decimal, decimals: int) -> str:
    """``value`` printed with exactly ``decimals`` decimals (no exponent), as on the wire."""
    return format(value, f".{max(decimals, 0)}f")


def _top(side: list[Level]) -> list[tuple[Decimal, Decimal]]:
    # Decimal keeps the digits of the text ("0.0100" stays 0.0100), so the hash sees the wire.
    return [(Decimal(p), Decimal(q)) for p, q in side[:CHECKSUM_DEPTH]]


@dataclass
class BookMirror:
    """What subscribers of one (symbol, depth) were sent: each side best first."""

    symbol: str
    depth: int
    seq: int = -1
    bids: list[Level] = field(default_factory=list)
    asks: list[Level] = field(default_factory=list)

    def checksum(self) -> int:
        """The v2 checksum of the top 10 levels."""
        return book_checksum(_top(self.asks), _top(self.bids))


def _levels(side: list[Level]) -> list[dict[str, Any]]:
    return [{"price": msgspec.Raw(p.encode()), "qty": msgspec.Raw(q.encode())} for p, q in side]


def _diff(old: list[Level], new: list[Level], depth: int, descending: bool) -> list[Level]:
    """Level changes turning ``old`` into ``new`` for a client that truncates to ``depth``."""
    before = dict(old)
    after = dict(new)
    out: list[Level] = [(p, q) for p, q in new if before.get(p) != q]
    # A side that is not full has no levels out of range: any level that went is really gone.
    bound = Decimal(new[-1][0]) if new and len(new) >= depth else None
    for price, _ in old:
        if price in after:
            continue
        if bound is not None:
            beyond = Decimal(price) < bound if descending else Decimal(price) > bound
            if beyond:
                continue  # pushed out of range: the client's truncation drops it
        out.append((price, "0"))
    return out


class UwsBooks:
    """The mirrors of every subscribed (symbol, depth); ``wire_symbol`` spells symbols."""

    def __init__(self, exchange: Exchange, wire_symbol: Callable[[str], str]) -> None:
        self.exchange = exchange
        self._wire = wire_symbol
        self._mirrors: dict[tuple[str, int], BookMirror] = {}
        self._fmt: dict[str, tuple[int, int]] = {
            s.symbol: (price_decimals(s), qty_decimals(s)) for s in exchange.instruments()
        }

    def _read(self, symbol: str, depth: int) -> tuple[int, list[Level], list[Level]]:
        view = self.exchange.book(symbol, depth)
        pd, qd = self._fmt[symbol]
        bids = [(fixed(p, pd), fixed(q, qd)) for p, q in view.bids[:depth]]
        asks = [(fixed(p, pd), fixed(q, qd)) for p, q in view.asks[:depth]]
        return view.seq, bids, asks

    def snapshot(self, symbol: str, depth: int) -> dict[str, Any]:
        """The snapshot entry for a new subscriber (the mirror is refreshed first)."""
        mirror = self._mirrors.get((symbol, depth))
        if mirror is None:
            mirror = self._mirrors[(symbol, depth)] = BookMirror(symbol, depth)
        self.update(symbol, depth, 0)  # bring it to the engine's state (message discarded)
        return {
            "symbol": self._wire(symbol),
            "bids": _levels(mirror.bids),
            "asks": _levels(mirror.asks),
            "checksum": mirror.checksum(),
        }

    def update(self, symbol: str, depth: int, ts_ms: int) -> dict[str, Any] | None:
        """The update entry since the last message, or ``None`` when nothing in range moved."""
        mirror = self._mirrors.get((symbol, depth))
        if mirror is None or mirror.seq == self.exchange.book_seq(symbol):
            return None
        seq, bids, asks = self._read(symbol, depth)
        bid_changes = _diff(mirror.bids, bids, depth, descending=True)
        ask_changes = _diff(mirror.asks, asks, depth, descending=False)
        mirror.seq, mirror.bids, mirror.asks = seq, bids, asks
        if not bid_changes and not ask_changes:
            return None
        return {
            "symbol": self._wire(symbol),
            "bids": _levels(bid_changes),
            "asks": _levels(ask_changes),
            "checksum": mirror.checksum(),
            "timestamp": iso_us(ts_ms),
        }

    def depths(self, symbol: str) -> list[int]:
        """Depths with a mirror for ``symbol``."""
        return [dep for (sym, dep) in self._mirrors if sym == symbol]

    def release(self, symbol: str, depth: int) -> None:
        """Forget a mirror nobody subscribes to any more."""
        self._mirrors.pop((symbol, depth), None)


__all__ = ["DEPTHS", "BookMirror", "UwsBooks", "fixed"]
