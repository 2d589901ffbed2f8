"""The exchange clock: real time scaled by ``--speed``, so funding hours can pass in minutes."""

from __future__ import annotations

import time


class SimClock:
    """Epoch-ms exchange time = start + (monotonic elapsed) x speed."""

    def __init__(self, speed: float = 1.0, start_ms: int | None = None) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.speed = speed
        self._start_ms = start_ms if start_ms is not None else time.time_ns() // 1_000_000
        self._t0 = time.monotonic()

    def now_ms(self) -> int:
        """Current exchange time in epoch milliseconds."""
        return self._start_ms + int((time.monotonic() - self._t0) * 1000 * self.speed)

    def real_seconds(self, exchange_ms: int) -> float:
        """How long ``exchange_ms`` of exchange time takes in real seconds."""
        return exchange_ms / 1000 / self.speed

    def resume_from(self, exchange_ms: int) -> None:
        """Continue from a restored exchange time if it is ahead of ours (a ``--state`` restart
        of an accelerated clock): exchange time never goes backwards."""
        now = self.now_ms()
        if exchange_ms > now:
            self._start_ms += exchange_ms - now
