"""Kraken's REST time text <-> epoch milliseconds (pure: no clock is read).

REST v3 speaks ISO-8601 UTC (``2026-01-01T00:00:00.000Z``; milliseconds optional on input,
microseconds seen in ``lastTime``); WebSocket, history and charts speak epoch ms.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_iso_ms(text: str | None, *, assume_utc: bool = True) -> int | None:
    """Epoch ms of an ISO-8601 time, or ``None`` when absent or unreadable.

    A time without a zone is taken as UTC, unless ``assume_utc=False`` (then it is unreadable:
    the simulator refuses such input as Kraken does).
    """
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if parsed.tzinfo is None:
        if not assume_utc:
            return None
        parsed = parsed.replace(tzinfo=UTC)
    # Integer arithmetic: ``timestamp() * 1000`` goes through a float and can lose a
    # millisecond (e.g. ...T00:00:00.291Z -> ...290).
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


@functools.lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def iso_ms(ts_ms: int) -> str:
    """Kraken's REST timestamp format: ``2026-01-01T00:00:00.000Z``."""
    # One reply formats the same few instants several times; strftime dominates, so cache it.
    seconds, ms = divmod(ts_ms, 1000)
    return f"{_iso_seconds(seconds)}{ms:03d}Z"
