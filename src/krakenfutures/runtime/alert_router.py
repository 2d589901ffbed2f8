"""The alert router: fans alerts out to sinks without ever blocking the caller.

:class:`AlertRouter` takes :class:`~krakenfutures.signals.alerts.Alert` records from strategy
hooks and the runtime (``publish`` is sync and returns at once), masks known secrets, throttles
per sink and gives each sink its own bounded queue drained by its own task, so a sink that hangs
or fails delays and breaks nothing but itself. Failures are logged on this module's logger,
scrubbed of secrets and without tracebacks (an httpx exception's text can hold the request URL,
and a Telegram token is part of that URL). The sinks are in
:mod:`krakenfutures.runtime.alert_sinks`.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import quote

from krakenfutures.config import Secret
from krakenfutures.errors import ConfigError
from krakenfutures.signals.alerts import Alert, AlertThrottle, Severity
from krakenfutures.signals.alerts import redact as redact_text

logger = logging.getLogger(__name__)


class AlertSink(Protocol):
    """Somewhere alerts go. ``send`` raises on failure: :class:`ConfigError` means retrying
    will not help, anything else is retried by the router. A sink may have a
    ``secret_texts()`` method naming texts for the router to mask everywhere."""

    name: str
    min_severity: Severity

    # Optional: ``secret_texts() -> tuple[str, ...]``, texts the router must mask everywhere.

    async def send(self, alert: Alert) -> None:
        """Deliver one alert."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def secret_texts(secrets: Iterable[Secret | str]) -> tuple[str, ...]:
    """Every text under which ``secrets`` could show up: as given, URL-quoted, and for a
    :class:`Secret` also its decoded key when that is text (how a Telegram token is held)."""
    texts: set[str] = set()
    for secret in secrets:
        forms = [secret] if isinstance(secret, str) else [secret.reveal()]
        if isinstance(secret, Secret):
            try:
                decoded = secret.key().decode("ascii")
            except UnicodeDecodeError:
                decoded = ""
            if len(decoded) >= 8 and decoded.isprintable():
                forms.append(decoded)
        for form in forms:
            if form:
                texts.update((form, quote(form, safe="")))
    return tuple(texts)


class Hidden:
    """Holds sensitive values so that reprs and ``vars()`` dumps show nothing of them."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<hidden>"


# --------------------------------------------------------------------------------- router


@dataclass
class SinkStats:
    """Counters for one sink: alerts queued, delivered, given up on (``failed``), pushed out of
    a full queue (``dropped``) and held back by the throttle (``throttled``)."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    throttled: int = 0


class _Lane:
    def __init__(self, sink: AlertSink, throttle: AlertThrottle | None) -> None:
        self.sink = sink
        self.throttle = throttle
        self.queue: deque[Alert] = deque()
        self.wakeup = asyncio.Event()
        self.stats = SinkStats()
        self.task: asyncio.Task[None] | None = None
        self.sending: Alert | None = None


class AlertRouter:
    """Fans alerts out to sinks without ever blocking the caller.

    ``publish`` is sync and O(sinks); call it from the event loop's thread (strategy hooks,
    runtime callbacks). Each sink gets a throttle from ``throttle`` (a factory; ``None``
    disables throttling), a queue of at most ``max_queue`` alerts (the oldest is dropped when
    full) and a task that delivers with ``send_timeout_s`` per attempt, up to ``max_attempts``
    with doubling backoff from ``backoff_s``. ``redact`` lists secrets (``Secret`` or str) to
    mask in alerts and in the router's logs, beside what each sink's ``secret_texts()`` names.
    Sinks must not block the event loop (no sync I/O in ``send``): the router can time out and
    cancel a coroutine, not a blocked thread.
    """

    def __init__(
        self,
        sinks: Iterable[AlertSink],
        *,
        throttle: Callable[[], AlertThrottle] | None = AlertThrottle,
        redact: Iterable[Secret | str] = (),
        max_queue: int = 1000,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        send_timeout_s: float = 30.0,
    ) -> None:
        if max_queue < 1 or max_attempts < 1:
            raise ConfigError(
                f"need max_queue >= 1 and max_attempts >= 1, got {max_queue}, {max_attempts}"
            )
        self._lanes = [_Lane(s, throttle() if throttle else None) for s in sinks]
        texts = set(secret_texts(redact))
        for lane in self._lanes:
            own = getattr(lane.sink, "secret_texts", None)
            if callable(own):
                texts.update(own())
        self._texts = Hidden(tuple(texts))
        self._max_queue = max_queue
        self._max_attempts = max_attempts
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._send_timeout_s = send_timeout_s
        self._closed = False
        self.dropped_after_close = 0

    @property
    def sinks(self) -> tuple[AlertSink, ...]:
        """The sinks, in the order given."""
        return tuple(lane.sink for lane in self._lanes)

    def stats(self) -> list[tuple[str, SinkStats]]:
        """``(sink name, counters)`` per sink, in order."""
        return [(lane.sink.name, lane.stats) for lane in self._lanes]

    def publish(self, alert: Alert) -> None:
        """Queue ``alert`` for every sink that wants it (``min_severity``, throttle); never
        waits. After :meth:`aclose` alerts are dropped (counted in :attr:`dropped_after_close`)."""
        if self._closed:
            self.dropped_after_close += 1
            logger.debug("alert router is closed; dropped a %s alert", alert.kind)
            return
        alert = self._redacted(alert)
        for lane in self._lanes:
            if not alert.severity.at_least(lane.sink.min_severity):
                continue
            item = lane.throttle.admit(alert) if lane.throttle else alert
            if item is None:
                lane.stats.throttled += 1
                continue
            if len(lane.queue) >= self._max_queue:
                lane.queue.popleft()
                lane.stats.dropped += 1
                if lane.stats.dropped % 100 == 1:
                    logger.warning(
                        "alert sink %s is not keeping up: its queue is full (%d), %d alert(s) "
                        "dropped so far",
                        lane.sink.name,
                        self._max_queue,
                        lane.stats.dropped,
                    )
            lane.queue.append(item)
            lane.stats.queued += 1
            lane.wakeup.set()

    def _redacted(self, alert: Alert) -> Alert:
        texts = self._texts.value
        if not texts:
            return alert

        def clean(value: str | None) -> str | None:
            return None if value is None else redact_text(value, texts)

        return replace(
            alert,
            text=redact_text(alert.text, texts),
            symbol=clean(alert.symbol),
            strategy=clean(alert.strategy),
            key=clean(alert.key),
        )

    def start(self) -> None:
        """Start one delivery task per sink on the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        for lane in self._lanes:
            if lane.task is None:
                lane.task = loop.create_task(self._run(lane), name=f"alerts:{lane.sink.name}")

    async def __aenter__(self) -> AlertRouter:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Stop taking alerts, deliver what is queued for up to ``timeout_s``, then cancel what
        is still running (logging what was lost) and close the sinks."""
        if not self._closed:
            self.start()  # flush alerts published before start()
        self._closed = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for lane in self._lanes:
            lane.wakeup.set()
        tasks = [
            lane.task for lane in self._lanes if lane.task is not None and not lane.task.done()
        ]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        for lane in self._lanes:
            lost = len(lane.queue) + (lane.sending is not None)
            if lost:
                logger.warning(
                    "alert sink %s: %d alert(s) not delivered before close", lane.sink.name, lost
                )
                lane.queue.clear()
                lane.sending = None
            try:
                remaining = max(deadline - loop.time(), 1.0)
                await asyncio.wait_for(lane.sink.aclose(), remaining)
            except Exception as exc:
                logger.warning(
                    "alert sink %s did not close cleanly: %s", lane.sink.name, self._describe(exc)
                )

    async def _run(self, lane: _Lane) -> None:
        while True:
            if not lane.queue:
                if self._closed:
                    return
                lane.wakeup.clear()
                await lane.wakeup.wait()
                continue
            lane.sending = lane.queue.popleft()
            await self._deliver(lane, lane.sending)
            lane.sending = None

    async def _deliver(self, lane: _Lane, alert: Alert) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await asyncio.wait_for(lane.sink.send(alert), self._send_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sink is a plug-in boundary: nothing escapes it
                if isinstance(exc, ConfigError) or attempt == self._max_attempts:
                    lane.stats.failed += 1
                    self._log_failure(lane, alert, exc, attempt)
                    return
                delay = min(self._max_backoff_s, self._backoff_s * 2 ** (attempt - 1))
                hint = getattr(exc, "retry_after_s", None)
                if isinstance(hint, int | float):
                    delay = max(delay, min(float(hint), self._max_backoff_s))
                logger.debug(
                    "alert sink %s attempt %d failed (%s); retrying in %.2f s",
                    lane.sink.name,
                    attempt,
                    self._describe(exc),
                    delay,
                )
                await asyncio.sleep(delay)
            else:
                lane.stats.delivered += 1
                return

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, TimeoutError):
            return f"no answer within {self._send_timeout_s:g} s"
        return redact_text(f"{type(exc).__name__}: {exc}", self._texts.value)

    def _log_failure(self, lane: _Lane, alert: Alert, exc: Exception, attempts: int) -> None:
        logger.warning(
            "alert sink %s gave up on a %s %s alert after %d attempt(s): %s",
            lane.sink.name,
            alert.severity.value,
            alert.kind.value,
            attempts,
            self._describe(exc),
        )
        if logger.isEnabledFor(logging.DEBUG):
            # A traceback only in scrubbed text: chained httpx errors print the request URL.
            text = "".join(traceback.format_exception(exc))
            logger.debug(
                "alert sink %s failure detail:\n%s",
                lane.sink.name,
                redact_text(text, self._texts.value),
            )


__all__ = ["AlertRouter", "AlertSink", "SinkStats", "secret_texts"]
