"""The v2 book checksum (reference §4.11) against the published vector and the SDK's examples,
plus properties of the number formatting."""

from __future__ import annotations

import zlib
from decimal import Decimal

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from krakenfutures.core.book import OrderBook
from krakenfutures.core.uws.checksum import (
    book_checksum,
    check_checksum,
    checksum_of,
    checksum_text,
    format_number,
    strip_number,
)

from .golden import (
    CHECKSUM_VECTOR,
    CHECKSUM_VECTOR_CRC,
    VECTOR_ASKS,
    VECTOR_BIDS,
)


def as_levels(levels: list[tuple[str, str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in levels]


def test_published_vector_hashes_to_published_crc() -> None:
    assert len(CHECKSUM_VECTOR) == 281
    assert zlib.crc32(CHECKSUM_VECTOR.encode()) == CHECKSUM_VECTOR_CRC


def test_vector_book_builds_the_vector_string_and_crc() -> None:
    asks, bids = as_levels(VECTOR_ASKS), as_levels(VECTOR_BIDS)
    assert checksum_text(asks, bids) == CHECKSUM_VECTOR
    assert book_checksum(asks, bids) == CHECKSUM_VECTOR_CRC


def test_order_book_of_the_vector_verifies() -> None:
    book = OrderBook("BTC/USD")
    book.apply_snapshot(as_levels(VECTOR_BIDS)[::-1], as_levels(VECTOR_ASKS)[::-1], 1)
    assert checksum_of(book) == CHECKSUM_VECTOR_CRC
    assert check_checksum(book, CHECKSUM_VECTOR_CRC)
    assert not check_checksum(book, CHECKSUM_VECTOR_CRC ^ 1)


def test_only_the_top_ten_levels_count() -> None:
    asks = [*as_levels(VECTOR_ASKS), (Decimal("45300.1"), Decimal("9"))]
    bids = [*as_levels(VECTOR_BIDS), (Decimal("45270.1"), Decimal("9"))]
    assert book_checksum(asks, bids) == CHECKSUM_VECTOR_CRC
    book = OrderBook("X")
    book.apply_snapshot(bids, asks, 1)
    assert checksum_of(book) == CHECKSUM_VECTOR_CRC


def test_strip_examples_from_the_reference_and_sdk() -> None:
    assert strip_number("45285.21000000") == "4528521000000"
    assert strip_number("0.00159953") == "159953"
    assert strip_number("0") == ""
    assert strip_number("0.0") == ""
    assert strip_number("12345") == "12345"
    assert strip_number("0.000123") == "123"


def test_sdk_hand_computed_baseline() -> None:
    # krakenfx/kraken-api-sdk checksum_tests.rs: compute_book_crc32_matches_hand_computed_baseline
    asks = as_levels([("45285.21000000", "1.5"), ("45286.41545719", "53")])
    bids = as_levels([("45282.11000000", "0.45"), ("45281.01000000", "0.0001")])
    expected = zlib.crc32(b"452852100000015452864154571953")
    expected = zlib.crc32(b"45282110000004545281010000001", expected)
    assert book_checksum(asks, bids) == expected


def test_decimals_keep_the_wire_digits() -> None:
    # trailing zeros and tiny numbers must come back as sent, never in exponent form
    assert format_number(Decimal("0.00000010")) == "10"
    assert format_number(Decimal("1.0E-7")) == "10"  # how msgspec decodes 0.00000010
    assert format_number(Decimal("45285.20")) == "4528520"
    assert format_number(Decimal("1E+2")) == "100"


json_numbers = st.builds(
    lambda whole, frac: whole + ("." + frac if frac is not None else ""),
    st.just("0") | st.from_regex(r"[1-9][0-9]{0,11}", fullmatch=True),
    st.none() | st.text("0123456789", min_size=1, max_size=12),
)
"""Numbers as JSON writes them (no leading zeros), with any trailing zeros."""


@settings(deadline=None)
@given(json_numbers)
def test_formatting_a_decoded_number_equals_stripping_its_text(text: str) -> None:
    # what msgspec makes of a JSON number (digits kept) hashes like the wire text itself
    value = msgspec.json.decode(text.encode(), type=Decimal)
    assert format_number(value) == strip_number(text)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(json_numbers, json_numbers), max_size=12),
    st.lists(st.tuples(json_numbers, json_numbers), max_size=12),
)
def test_checksum_is_crc32_of_stripped_top_ten(
    asks: list[tuple[str, str]], bids: list[tuple[str, str]]
) -> None:
    text = "".join(strip_number(p) + strip_number(q) for p, q in asks[:10] + bids[:10])
    assert book_checksum(as_levels(asks), as_levels(bids)) == zlib.crc32(text.encode())
