"""Fault knobs of the simulator: what goes wrong, on purpose, for reliability tests.

Counters (``*_next``) fire on the next N matching requests (``ws_*``: book deltas or
connections), deterministically; rates fire at random from the simulator's seeded RNG. Set from
``sim.toml`` ``[faults]`` or ``kf sim ctl faults``. ``uws_*`` knobs act on the Unified WebSocket
endpoints (``uws_status``: a forced ``status`` ``system`` value, empty for the real one;
``uws_seq_skip_next``: the next N sequenced private updates skip one ``sequence`` number, so a
client sees exactly N gaps).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

from krakenfutures.errors import ConfigError


@dataclass
class Faults:
    """Current fault settings; all zero means a well-behaved exchange."""

    latency_ms: int = 0
    drop_after_execute_next: int = 0  # execute the order, then never answer
    drop_after_execute_rate: float = 0.0
    http_5xx_next: int = 0  # answer 502 without touching state
    http_5xx_rate: float = 0.0
    unavailable_next: int = 0  # answer {"error": "Unavailable"} without touching state
    unavailable_rate: float = 0.0
    rate_limit_exhausted: bool = False  # every costed call gets apiLimitExceeded
    # WebSocket v1 (see krakenfutures.sim.ws): book-delta disturbances, each unit used by one
    # delta that has recipients; drops apply at once to open connections; slow is per frame.
    ws_gap_next: int = 0  # withhold the next N book deltas: subscribers see a seq gap
    ws_duplicate_next: int = 0  # send the next N book deltas twice
    ws_reorder_next: int = 0  # send the next N book deltas after the one that follows them
    ws_drop_next: int = 0  # abort up to N open connections (oldest first), no close frame
    ws_slow_ms: int = 0  # wait this long before writing each frame to a WebSocket client
    # Unified WebSocket (see krakenfutures.sim.uws): ``/v2/public`` and ``/v2/private``.
    uws_drop_next: int = 0  # abort up to N open uws connections (oldest first), no close frame
    uws_checksum_break_next: int = 0  # the next N book messages carry a wrong checksum
    uws_drop_reply_next: int = 0  # execute the next N order methods, then never answer
    uws_unavailable_next: int = 0  # refuse the next N order methods: EService:Unavailable
    # skip one ``sequence`` number on each of the next N updates of a sequence-checked private
    # channel (executions, balances, ledgers by default), counted per recipient connection
    uws_seq_skip_next: int = 0
    uws_status: str = ""  # forced status ``system``: online, maintenance, cancel_only, post_only

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``{name: value}`` changes, refusing unknown knobs with the list of known ones."""
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ConfigError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            if isinstance(current, str):
                value = _status_value(name, value)
            elif isinstance(current, bool):
                value = (
                    value
                    if isinstance(value, bool)
                    else str(value).lower() in ("1", "true", "yes", "on")
                )
            elif isinstance(current, int):
                value = int(value)
            else:
                value = float(value)
                if not 0.0 <= value <= 1.0:
                    raise ConfigError(f"fault {name} is a probability: give a value in [0, 1]")
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``kf sim ctl status`` and JSON."""
        return asdict(self)

    def take(self, counter: str, rate: str, rng: random.Random) -> bool:
        """Whether the fault named ``counter``/``rate`` fires for this request (consumes one)."""
        left = getattr(self, counter)
        if left > 0:
            setattr(self, counter, left - 1)
            return True
        p = getattr(self, rate)
        # The fault RNG draws only when a rate is set, so runs without faults stay reproducible.
        return bool(p) and rng.random() < p


UWS_SYSTEMS = ("online", "maintenance", "cancel_only", "post_only")
"""Values of the uws ``status`` channel's ``system`` field (reference §3.5)."""


def _status_value(name: str, value: Any) -> str:
    text = "" if value is None else str(value).strip().lower()
    if text not in ("", *UWS_SYSTEMS):
        raise ConfigError(
            f"fault {name} must be one of {', '.join(UWS_SYSTEMS)} (or empty for the real state)"
        )
    return text
