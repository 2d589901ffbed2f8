"""What `kf watch`, `kf record` and `kf replay` share: building an :class:`AsyncFeed` from the
global options, running a coroutine until ``--seconds`` pass or Ctrl-C, and one-line JSON.

Heavy imports (the feed, websockets, pyarrow) happen inside the functions, so ``kf --help``
stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import click

from krakenfutures.cli.common import state

if TYPE_CHECKING:
    from krakenfutures.client.feed import AsyncFeed

seconds_option = click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="Stop after N seconds (default: until Ctrl-C).",
)


def build_feed(*, private: bool = False, **kwargs: Any) -> AsyncFeed:
    """An :class:`AsyncFeed` for the global options (``--base-url``, ``--credentials``).

    Raises:
        CredentialsError: ``private`` and no API key was found (exit code 3).
    """
    from krakenfutures.client.feed import AsyncFeed
    from krakenfutures.config import read_credentials_file, resolve_base_url

    st = state()
    if st.credentials_file is not None:
        creds = read_credentials_file(st.credentials_file)
        base_url = resolve_base_url(st.base_url, fallback=creds.base_url)
        feed = AsyncFeed(base_url, creds.api_key, creds.secret, **kwargs)  # type: ignore[arg-type]
    else:
        feed = AsyncFeed(st.base_url, **kwargs)
    if private and feed.credentials is None:
        from krakenfutures.config import ENV_API_KEY, ENV_API_SECRET, default_credentials_path
        from krakenfutures.errors import CredentialsError

        raise CredentialsError(
            f"private feeds need an API key: set {ENV_API_KEY} and {ENV_API_SECRET}, pass "
            f"--credentials FILE, or create {default_credentials_path()} (chmod 600)"
        )
    return feed


def run_until_stopped(
    main: Callable[[asyncio.Event], Awaitable[None]], seconds: float | None
) -> None:
    """Run ``main(stop)`` on a fresh event loop; ``stop`` is set after ``seconds`` or on Ctrl-C
    / SIGTERM, and ``main`` is expected to wind down cleanly when it is."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        if seconds is not None:
            loop.call_later(seconds, stop.set)
        await main(stop)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner())


async def iterate_until(feed: Any, stop: asyncio.Event) -> Any:
    """Async iterator over ``feed`` that ends when ``stop`` is set (the feed is closed)."""

    async def closer() -> None:
        await stop.wait()
        await feed.aclose()

    task = asyncio.get_running_loop().create_task(closer())
    try:
        async for event in feed:
            yield event
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def json_line(event: Any) -> None:
    """Print one event as one JSON line: ``{"kind": ..., <fields>}`` with Python field names
    and decimals as exact strings."""
    import msgspec

    from krakenfutures.cli.render import to_plain
    from krakenfutures.client.events import kind_of

    data = {"kind": kind_of(event), **to_plain(event)}
    click.echo(msgspec.json.encode(data).decode())


def check_refusal(event: Any) -> None:
    """Turn the server refusing a subscription into the CLI's errors (exit 2 or 4).

    Raises:
        ValidationError: ``Invalid product id``, ``Invalid feed``, ``subscribed_failed``.
        AuthenticationError: the private subscription's signed challenge was refused.
    """
    from krakenfutures.core.ws.session import AuthFailed, ErrorMessage, SubscribeFailed
    from krakenfutures.errors import AuthenticationError, ValidationError

    if isinstance(event, AuthFailed):
        raise AuthenticationError(
            f"the server refused the API key for private feeds ({event.message}); check the "
            "key and secret, and that the key is for this server",
            code="authenticationError",
        )
    if isinstance(event, ErrorMessage) and event.kind == "error":
        raise ValidationError(f"the server refused the subscription: {event.message}")
    if isinstance(event, SubscribeFailed):
        raise ValidationError(
            f"the server refused the subscription to {event.feed} {', '.join(event.product_ids)}"
        )


# ---------------------------------------------------------------------- live views (kf watch)

REFRESH_S = 0.25  # redraw live views at most 4 times a second

_FEED_STATUS = (
    "reconnected",
    "book_gap_detected",
    "book_resynced",
    "error_message",
    "unknown_message_received",
)


def note_status(event: Any) -> None:
    """Legacy feed status worth a line on a human's screen (reconnects, book resyncs)."""
    from krakenfutures.client.events import kind_of

    if kind_of(event) in _FEED_STATUS:
        click.echo(f"[{kind_of(event)}] {event}", err=True)


class LiveView:
    """A rich Live view on a terminal; elsewhere (pipes, tests) the last view printed once."""

    def __init__(self) -> None:
        from krakenfutures.cli import render

        self.console = render.console()
        self._live: Any = None
        self._last = 0.0
        self._renderable: Any = None

    def __enter__(self) -> LiveView:
        if self.console.is_terminal:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def due(self) -> bool:
        """Whether enough time passed to redraw."""
        return time.monotonic() - self._last >= REFRESH_S

    def show(self, renderable: Any) -> None:
        self._renderable = renderable
        self._last = time.monotonic()
        if self._live is not None:
            self._live.update(renderable, refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
        elif self._renderable is not None:
            self.console.print(self._renderable)


# ------------------------------------------------------------------------------- the loop


def follow(
    source: Any,
    seconds: float | None,
    *,
    unified: bool,
    update: Callable[[Any], bool] | None = None,
    view: Callable[[], Any] | None = None,
) -> None:
    """Follow ``source`` (a legacy feed or a uws connection) until ``--seconds`` or Ctrl-C:
    with ``--json`` one JSON line per event; otherwise ``update(event)`` (true if it used the
    event; status events get a line on stderr) and, when ``view`` is given, a live view it
    draws (``None``: nothing to show yet)."""
    from krakenfutures.cli import uws_cli

    as_json = state().json
    emit, refuse, note = (
        (uws_cli.json_lines, uws_cli.check_refusal, uws_cli.note)
        if unified
        else (json_line, check_refusal, note_status)
    )

    def redraw(live: Any) -> None:
        drawn = view() if view is not None else None
        if drawn is not None:
            live.show(drawn)

    async def main(stop: asyncio.Event) -> None:
        with LiveView() if view is not None and not as_json else NoView() as live:
            async for event in iterate_until(source, stop):
                refuse(event)
                if as_json:
                    emit(event)
                    continue
                if not (update is not None and update(event)):
                    note(event)
                if view is not None and live.due():
                    redraw(live)
            if not as_json:
                redraw(live)

    run_until_stopped(main, seconds)


class NoView:
    """Stands in for :class:`LiveView` where nothing is drawn (``--json``, line output)."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


__all__ = [
    "REFRESH_S",
    "LiveView",
    "NoView",
    "build_feed",
    "check_refusal",
    "follow",
    "iterate_until",
    "json_line",
    "note_status",
    "run_until_stopped",
    "seconds_option",
]
