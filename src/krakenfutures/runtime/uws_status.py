"""``UwsStatusWatch``: the trading-state inputs the Unified WebSocket still gives once the legacy
REST status endpoints are gone (2027-03-01), read off one public uws socket of its own.

It keeps what the ``status`` channel (engine ``system`` value and maintenance/emergency entries,
sent on connect and on every change) and the ``instrument`` channel (each pair's ``status``,
snapshot then updates) last said, and whether that is still *current*: both channels speak
only on a change, so their data is exactly as current as the socket is alive. :meth:`live` is
true while the socket is connected (a silent one is dropped by the connection's
``stale_after_s`` heartbeat check) and has delivered, since its latest (re)connect, both a
``status`` message and the ``instrument`` snapshot. The
:class:`~krakenfutures.runtime.monitor.TradingStateMonitor` turns this into the core's flags
(:mod:`krakenfutures.core.uws.status`); the rules stay there.

The socket is its own rather than the market data one so the gate never depends on whether
someone iterates the market stream, and a dead status socket ages the gate into UNKNOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from krakenfutures.client.events import Reconnected
from krakenfutures.client.uws import AsyncUwsConnection
from krakenfutures.core.uws.assumptions import DEFAULT_ASSUMPTIONS, UwsAssumptions
from krakenfutures.core.uws.events import MaintenanceNotice, StatusChanged, SubscribeFailed
from krakenfutures.core.uws.schema_channels import InstrumentMessage

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 3.0
"""How long :meth:`UwsStatusWatch.wait_live` waits by default for the first complete data."""


class UwsStatusWatch:
    """The uws ``status`` + ``instrument`` channels on ``conn`` (a public connection the watch
    reads alone; it subscribes ``instrument`` and closes the connection in :meth:`aclose`).

    ``on_change()`` is called after every message that changed what the watch holds (the
    monitor re-derives and emits at once instead of at its next poll).
    """

    def __init__(
        self,
        conn: AsyncUwsConnection,
        *,
        assumptions: UwsAssumptions = DEFAULT_ASSUMPTIONS,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.conn = conn
        self.assumptions = assumptions
        self.on_change = on_change
        self.system: str | None = None
        """The last ``status.system`` value (``None``: none received yet)."""
        self.notices: tuple[MaintenanceNotice, ...] = ()
        """The maintenance/emergency entries of the last ``status`` message."""
        self.pairs: dict[str, str | None] = {}
        """Contract symbol -> its ``instrument`` pair ``status`` (``None``: not given)."""
        self.failure: BaseException | None = None
        self._seen: set[str] = set()  # "status"/"instrument" since the latest (re)connect
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        conn.subscribe("instrument")

    # ------------------------------------------------------------------------------ state

    def live(self) -> bool:
        """Whether what the watch holds is current now (see the module docstring)."""
        return self.conn.is_connected and {"status", "instrument"} <= self._seen

    def why_not_live(self) -> str:
        """Why :meth:`live` is false, for a verdict's reasons."""
        if self.failure is not None:
            return f"uws status socket gave up: {type(self.failure).__name__}: {self.failure}"
        if not self.conn.is_connected:
            return "uws status socket is not connected"
        missing = [c for c in ("status", "instrument") if c not in self._seen]
        return f"no uws {' and '.join(missing)} message on this connection yet"

    # ------------------------------------------------------------------------------ reading

    async def start(self) -> None:
        """Connect and start reading; idempotent (a watch that gave up is not restarted)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._pump(), name="uws-status")

    async def wait_live(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Start, then wait up to ``timeout_s`` for :meth:`live`; returns it."""
        await self.start()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not self.live() and self.failure is None:
                    self._ready.clear()
                    await self._ready.wait()
        return self.live()

    def apply(self, event: object) -> bool:
        """Take one event of the connection in; returns whether the held data changed."""
        if isinstance(event, Reconnected):
            self._seen.clear()  # status and the instrument snapshot come again
            return True
        if isinstance(event, StatusChanged):
            self.system, self.notices = event.system, ()
            self._seen.add("status")
            return True
        if isinstance(event, MaintenanceNotice):  # follows its StatusChanged
            self.notices = (*self.notices, event)
            return True
        if isinstance(event, InstrumentMessage):
            if event.is_snapshot:
                self.pairs = {}
                self._seen.add("instrument")
            for pair in event.pairs:
                symbol = self.assumptions.from_wire_symbol(pair.symbol)
                self.pairs[symbol] = pair.status
            return True
        if isinstance(event, SubscribeFailed) and event.channel == "instrument":
            log.warning("uws instrument subscription refused: %s", event.error)
        return False

    async def _pump(self) -> None:
        try:
            async for event in self.conn:
                if self.apply(event):
                    self._ready.set()
                    if self.on_change is not None:
                        self.on_change()
        except Exception as exc:  # gave up reconnecting: the data ages into UNKNOWN
            self.failure = exc
            log.error("uws status socket gave up (%s); the trading state turns UNKNOWN", exc)
        finally:
            self._ready.set()

    async def aclose(self) -> None:
        """Stop reading and close the connection."""
        task, self._task = self._task, None
        await self.conn.aclose()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def __repr__(self) -> str:
        return (
            f"UwsStatusWatch(system={self.system!r}, pairs={len(self.pairs)}, live={self.live()})"
        )


__all__ = ["READY_TIMEOUT_S", "UwsStatusWatch"]
