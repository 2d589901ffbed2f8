"""The venue clock the runtime lives by.

Orders carry deadlines judged by the *exchange's* clock (``processBefore``), funding falls on its
hours and the trading-state monitor ages data against it. Live that is wall time; the simulator
may run accelerated (``kf sim --speed 120``: an hour in 30 s), and tests move a fake clock by
hand. Waits the runtime does for its own pacing (dead man's switch re-arm, timers, polls) are in
*wall* seconds; :meth:`VenueClock.exchange_s` converts a wall span into exchange seconds (e.g.
the dead man's switch timeout) so safety properties hold in wall time at any speed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class VenueClock(Protocol):
    """Exchange time plus the speed it runs at relative to wall time."""

    speed: float

    def now_ms(self) -> int:
        """Exchange time, epoch ms."""
        ...

    async def sleep(self, wall_s: float) -> None:
        """Wait ``wall_s`` seconds of wall time (a fake clock advances instead)."""
        ...


class WallClock:
    """Live trading: exchange time is our wall time (NTP-synced machines assumed)."""

    speed = 1.0

    def now_ms(self) -> int:
        """Wall time in epoch ms."""
        return time.time_ns() // 1_000_000

    async def sleep(self, wall_s: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(wall_s)


class ScaledClock:
    """An accelerated simulator's clock: ``start_ms`` at construction, ``speed`` x wall time."""

    def __init__(self, start_ms: int, speed: float) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self.speed = speed
        self._start_ms = start_ms
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        """Exchange time, epoch ms."""
        return self._start_ms + int((time.monotonic() - self._t0) * 1000 * self.speed)

    async def sleep(self, wall_s: float) -> None:
        """``asyncio.sleep`` in wall seconds."""
        await asyncio.sleep(wall_s)


class FollowClock:
    """Exchange time read from another clock in this process (an embedded simulator's)."""

    def __init__(self, now_ms: Callable[[], int], speed: float) -> None:
        self.speed = speed
        self._now = now_ms

    def now_ms(self) -> int:
        """The followed clock's time."""
        return self._now()

    async def sleep(self, wall_s: float) -> None:
        """``asyncio.sleep`` in wall seconds."""
        await asyncio.sleep(wall_s)


class ManualClock:
    """Tests: exchange time is ``now_ms()`` of a fake clock; ``sleep`` advances it by the wall
    span times ``speed`` and yields to the event loop once."""

    def __init__(
        self, now_ms: Callable[[], int], advance: Callable[[int], object], speed: float = 1.0
    ) -> None:
        self.speed = speed
        self._now = now_ms
        self._advance = advance

    def now_ms(self) -> int:
        """The fake time."""
        return self._now()

    async def sleep(self, wall_s: float) -> None:
        """Advance the fake clock, then yield."""
        if wall_s > 0:
            self._advance(int(wall_s * 1000 * self.speed))
        await asyncio.sleep(0)


def exchange_s(clock: VenueClock, wall_s: float) -> int:
    """``wall_s`` wall seconds expressed in whole exchange seconds at ``clock``'s speed."""
    return max(1, round(wall_s * clock.speed))


__all__ = ["FollowClock", "ManualClock", "ScaledClock", "VenueClock", "WallClock", "exchange_s"]
