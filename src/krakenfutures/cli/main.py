"""`kf`: the Kraken Futures command line (console script ``kf = krakenfutures.cli.main:main``).

``main`` is the click group. Commands: :mod:`~krakenfutures.cli.read` (instruments, tickers,
book, trades, status), :mod:`~krakenfutures.cli.costs` (funding, fees),
:mod:`~krakenfutures.cli.account` (balances, positions, orders, fills) and
:mod:`~krakenfutures.cli.trade` (order, cancel, deadman); output in :mod:`~krakenfutures.cli.render`,
shared options and the lazily built client in :mod:`~krakenfutures.cli.common`.

Other command groups plug in with ``main.add_command(cmd, section="...")`` or, to keep
``kf --help`` fast, lazily with ``main.add_lazy_command(name, "module:attr", help)`` (see the
bottom of this module).

Exit codes scripts can rely on:

====  ==========================================================================================
0     success
1     unexpected error: a bug in kf (run again with ``-v`` for the traceback)
2     usage error: unknown option, a size/price that is not a decimal number, unknown symbol
3     configuration or credentials error: bad base URL (``demo`` is retired), unreadable or
      group-readable credentials file, a private command without an API key
4     the exchange refused the request (``result: error`` or an HTTP error), e.g.
      ``authenticationError``, ``apiLimitExceeded``, ``invalidArgument``
5     transport error: connection refused, timeout (outcome unknown), unreadable reply
6     the order request reached the exchange but the order was not accepted: ``sendStatus``
      (or ``cancelStatus``) says e.g. ``insufficientAvailableFunds`` or ``postWouldExecute``
====  ==========================================================================================

Errors print one line on stderr (``Error: ...``) saying what went wrong and what to do; a
traceback only with ``-v``. Secrets never appear: messages come from the error tree, which never
carries them.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
from typing import Any

import click

from krakenfutures.cli.common import CliState, ExitCode, KfError

EPILOG = """\b
Exit codes:
  0  success
  1  unexpected error (a bug in kf: rerun with -v for the traceback)
  2  usage error: bad option, number or symbol
  3  configuration/credentials error (base URL, credentials file, no API key)
  4  the exchange refused the request (authenticationError, apiLimitExceeded, ...)
  5  transport error: connection refused, timeout, unreadable reply
  6  order not accepted (insufficientAvailableFunds, postWouldExecute, ...)

\b
Environment: KRAKEN_FUTURES_BASE_URL ('live' or e.g. http://127.0.0.1:8787),
KRAKEN_FUTURES_API_KEY + KRAKEN_FUTURES_API_SECRET or KRAKEN_FUTURES_CREDENTIALS (a TOML
file, chmod 600), KRAKEN_FUTURES_TIMEOUT_S, KRAKEN_FUTURES_DIALECT (legacy|unified),
KRAKEN_SPOT_API_KEY + KRAKEN_SPOT_API_SECRET (a Spot key with the WebSocket permission, for the
unified dialect), KRAKEN_FUTURES_TELEGRAM_TOKEN (bot alerts).
"""

_SECTIONS = ("Read", "Trade")
_log_handler: logging.Handler | None = None


def _is_loopback(base_url: str | None) -> bool:
    from krakenfutures.config import is_loopback_url

    return bool(base_url) and is_loopback_url(base_url or "")


def describe_error(exc: Exception, base_url: str | None) -> tuple[int, str]:
    """The exit code and the one-line message for an error raised by a command."""
    from krakenfutures import errors as e

    if isinstance(exc, e.ConfigError):
        return ExitCode.CONFIG, str(exc)
    if isinstance(exc, e.LocalProtocolError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, e.ConnectError):
        if _is_loopback(base_url):
            hint = "is `kf sim` running?"
        else:
            hint = "check the network and the base URL (--base-url or KRAKEN_FUTURES_BASE_URL)"
        return ExitCode.TRANSPORT, f"{exc}; {hint}"
    if isinstance(exc, e.TimeoutError_):
        return ExitCode.TRANSPORT, f"{exc}; check with `kf orders`/`kf fills`, or raise --timeout"
    if isinstance(exc, e.TransportError):
        return ExitCode.TRANSPORT, str(exc)
    if isinstance(exc, e.RemoteProtocolError):
        where = f"; is {base_url} a Kraken Futures server?" if base_url else ""
        return ExitCode.TRANSPORT, f"unreadable reply: {exc}{where}"
    if isinstance(exc, e.ExchangeError):
        return ExitCode.EXCHANGE, str(exc)
    return (
        ExitCode.BUG,
        f"internal error ({type(exc).__name__}: {exc}); rerun with -v and report it",
    )


def _configure_logging(verbose: int) -> None:
    """-v shows the client's retries and warnings on stderr, -vv its debug lines. Without -v
    nothing is logged: Python's last-resort handler would otherwise print retry warnings."""
    global _log_handler
    logger = logging.getLogger("krakenfutures")
    if _log_handler is not None:
        logger.removeHandler(_log_handler)
    if verbose:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("kf: %(levelname)s %(name)s: %(message)s"))
        logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    else:
        handler = logging.NullHandler()
        logger.setLevel(logging.NOTSET)
    logger.addHandler(handler)
    _log_handler = handler


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (e.g. a test runner's buffer)
        pass


class KfGroup(click.Group):
    """The `kf` group: maps errors to exit codes, lists commands by section, loads some lazily."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sections: dict[str, str] = {}
        self._lazy: dict[str, tuple[str, str, str]] = {}

    def add_command(
        self, cmd: click.Command, name: str | None = None, section: str = "Other"
    ) -> None:
        """Register ``cmd`` under ``section`` of ``kf --help`` (Read, Trade, or any other)."""
        super().add_command(cmd, name)
        self._sections[name or cmd.name or ""] = section

    def add_lazy_command(
        self, name: str, target: str, short_help: str, *, section: str = "Other"
    ) -> None:
        """Register ``module:attr`` as command ``name`` without importing it until it runs."""
        self._lazy[name] = (target, short_help, section)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self._lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._lazy:
            target, _, section = self._lazy[cmd_name]
            module, _, attr = target.partition(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command, cmd_name, section=section)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: dict[str, list[tuple[str, str]]] = {}
        width = max((len(n) for n in self.list_commands(ctx)), default=0)
        limit = formatter.width - 6 - width
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
                if command.hidden:
                    continue
                short, section = (
                    command.get_short_help_str(limit),
                    self._sections.get(name, "Other"),
                )
            else:
                _, short, section = self._lazy[name]
            rows.setdefault(section, []).append((name, short))
        order = [s for s in _SECTIONS if s in rows] + sorted(set(rows) - set(_SECTIONS))
        for section in order:
            with formatter.section(f"{section} commands"):
                formatter.write_dl(rows[section])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # The reader went away (`kf tickers | head -1`): not an error of kf. Point stdout at
            # /dev/null so the interpreter's final flush does not raise again.
            _silence_stdout()
            ctx.exit(ExitCode.OK)
        except Exception as exc:
            obj = ctx.find_object(CliState)
            if obj is not None and obj.verbose:
                traceback.print_exc(file=sys.stderr)
            code, message = describe_error(exc, obj.target if obj is not None else None)
            raise KfError(message, code) from exc


@click.group(
    name="kf",
    cls=KfGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--base-url",
    metavar="URL",
    help="'live' or an origin such as http://127.0.0.1:8787 [env: KRAKEN_FUTURES_BASE_URL; "
    "default: live]",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option(
    "--credentials",
    "credentials_file",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="TOML file with api_key and api_secret (chmod 600) [env: KRAKEN_FUTURES_CREDENTIALS].",
)
@click.option(
    "--timeout",
    "timeout_s",
    metavar="S",
    type=click.FloatRange(min=0, min_open=True, max=3600),
    help="Seconds to wait for each reply [env: KRAKEN_FUTURES_TIMEOUT_S; default: 10].",
)
@click.option(
    "-v", "--verbose", count=True, help="Show retries (-v), debug lines (-vv), tracebacks."
)
@click.version_option(package_name="krakenfutures", prog_name="kf")
@click.pass_context
def main(
    ctx: click.Context,
    base_url: str | None,
    as_json: bool,
    credentials_file: str | None,
    timeout_s: float | None,
    verbose: int,
) -> None:
    """Kraken Futures from the command line: market data, account state, orders.

    Talks to https://futures.kraken.com by default; point it at the local simulator with
    --base-url http://127.0.0.1:8787 (or KRAKEN_FUTURES_BASE_URL). Read commands on market
    data need no API key; account and trade commands do.
    """
    _configure_logging(verbose)
    if base_url is not None:
        # Refuse a bad --base-url ('demo', a path) before any command runs, even offline ones.
        from krakenfutures.config import resolve_base_url

        base_url = resolve_base_url(base_url)
    obj = CliState(
        base_url=base_url,
        json=as_json,
        credentials_file=credentials_file,
        timeout_s=timeout_s,
        verbose=verbose,
    )
    ctx.obj = obj
    ctx.call_on_close(obj.close)


from krakenfutures.cli import read, trade  # noqa: E402  (plain modules: click only at import)

read.register(main)
trade.register(main)
main.add_lazy_command(
    "sim",
    "krakenfutures.cli.sim:sim",
    "Run the local exchange simulator (kf sim), or steer one (kf sim ctl).",
    section="Simulator",
)
main.add_lazy_command(
    "watch",
    "krakenfutures.cli.watch:watch",
    "Live WebSocket feeds: book ladder, trades, tickers, your orders/fills/positions.",
    section="Live data",
)
main.add_lazy_command(
    "record",
    "krakenfutures.cli.record:record",
    "Record public feeds to Parquet (raw frames + typed events) until Ctrl-C.",
    section="Live data",
)
main.add_lazy_command(
    "replay",
    "krakenfutures.cli.record:replay",
    "Stream a recording back as typed events (at recorded or accelerated pace).",
    section="Live data",
)
main.add_lazy_command(
    "run",
    "krakenfutures.cli.run:run",
    "Run a strategy as a bot (embedded simulator by default; --env live for Kraken).",
    section="Bots",
)
main.add_lazy_command(
    "kill",
    "krakenfutures.cli.run:kill",
    "Cancel every open order and stop a running bot.",
    section="Bots",
)
main.add_lazy_command(
    "demo",
    "krakenfutures.cli.demo:demo",
    "Trade a short session against an embedded simulator.",
    section="Simulator",
)


__all__ = ["EPILOG", "KfGroup", "describe_error", "main"]
