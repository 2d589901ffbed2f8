"""ISO <-> epoch ms, shared by the CLI, the mirrors and the simulator."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.timefmt import iso_ms, parse_iso_ms


def test_kraken_shapes() -> None:
    assert iso_ms(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"
    assert parse_iso_ms("2026-01-01T00:00:00.123Z") == 1_767_225_600_123
    assert parse_iso_ms("2026-01-01T00:00:00Z") == 1_767_225_600_000
    assert parse_iso_ms("2025-11-17T00:31:01.835715Z") == 1_763_339_461_835
    assert parse_iso_ms("2026-01-01T00:00:00") == 1_767_225_600_000
    assert parse_iso_ms("2026-01-01T00:00:00", assume_utc=False) is None
    assert parse_iso_ms("yesterday") is None and parse_iso_ms(None) is None


@given(st.integers(0, 4_102_444_800_000))
def test_round_trip(ts_ms: int) -> None:
    assert parse_iso_ms(iso_ms(ts_ms)) == ts_ms
