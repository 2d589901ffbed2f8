"""The v2 ``book`` checksum (reference §4.11): CRC32 over the top 10 levels of each side.

The string is the asks (best 10, price low to high) then the bids (best 10, high to low); each
level adds its price then its qty, each written as on the wire with the ``.`` removed and the
leading zeros stripped (``45285.2`` -> ``452852``, ``0.00100000`` -> ``100000``, ``0.0`` ->
``""``). The CRC is IEEE CRC32 (``zlib.crc32``) compared as an unsigned 32-bit integer.

Kraken hashes the numbers *as sent* (full precision, trailing zeros included), so the decimals
must keep the wire text: msgspec decodes a JSON number into a :class:`~decimal.Decimal` with
exactly its digits (``0.00100000`` stays ``Decimal('0.00100000')``), and
:func:`format_number` writes it back positionally (``format(d, "f")``, never ``1E-7``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice

from krakenfutures.core.book import Level, OrderBook
from krakenfutures.core.uws.schema import CHECKSUM_DEPTH


def strip_number(text: str) -> str:
    """``text`` with every ``.`` removed, then its leading zeros (``"0.00159953"`` ->
    ``"159953"``, ``"0"`` -> ``""``)."""
    return text.replace(".", "").lstrip("0")


def format_number(value: Decimal) -> str:
    """The checksum form of a wire number kept as a Decimal (its digits as sent)."""
    return strip_number(format(value, "f"))


def checksum_text(asks: Iterable[Level], bids: Iterable[Level]) -> str:
    """The string Kraken hashes: the first 10 ``asks`` then the first 10 ``bids``, each level
    as price then qty (callers pass asks low to high, bids high to low)."""
    parts: list[str] = []
    for side in (asks, bids):
        for price, qty in islice(side, CHECKSUM_DEPTH):
            parts.append(format_number(price))
            parts.append(format_number(qty))
    return "".join(parts)


def book_checksum(asks: Iterable[Level], bids: Iterable[Level]) -> int:
    """CRC32 (unsigned) of :func:`checksum_text`."""
    return zlib.crc32(checksum_text(asks, bids).encode("ascii"))


def checksum_of(book: OrderBook) -> int:
    """The checksum of ``book``'s top 10 levels per side."""
    bids, asks = book.depth(CHECKSUM_DEPTH)
    return book_checksum(asks, bids)


def check_checksum(book: OrderBook, expected: int) -> bool:
    """Whether ``book`` hashes to ``expected`` (a verdict: never raises)."""
    return checksum_of(book) == expected


__all__ = [
    "book_checksum",
    "check_checksum",
    "checksum_of",
    "checksum_text",
    "format_number",
    "strip_number",
]
