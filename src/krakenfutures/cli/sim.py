"""`kf sim`: run the local exchange simulator; `kf sim ctl`: steer a running one.

The simulator speaks Kraken Futures' REST protocol on loopback. Without ``--api-key`` it makes a
key pair, prints it, and writes a credentials file (``sim-credentials.toml`` in the config
directory) that ``kf`` and ``Client`` pick up automatically for loopback base URLs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import urllib.error
import urllib.request
from typing import Any

import click

DEFAULT_PORT = 8787


@click.group(invoke_without_command=True)
@click.option("--host", default=None, help="Interface to bind (default 127.0.0.1).")
@click.option(
    "--port", type=int, default=None, help=f"Port (default {DEFAULT_PORT}; 0 = any free)."
)
@click.option("--api-key", default=None, help="Use this API key instead of generating one.")
@click.option("--api-secret", default=None, help="Secret for --api-key (base64).")
@click.option("--seed", type=int, default=None, help="Seed: the same seed replays the same market.")
@click.option(
    "--speed", type=float, default=None, help="Exchange clock speed (60 = an hour a minute)."
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="sim.toml (see `kf sim example-config`).",
)
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keep state in this SQLite file; a restart resumes exactly.",
)
@click.option("--allow-remote", is_flag=True, help="Allow binding a non-loopback address.")
@click.option("--no-market", is_flag=True, help="No synthetic flow: an empty, quiet exchange.")
@click.pass_context
def sim(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    api_key: str | None,
    api_secret: str | None,
    seed: int | None,
    speed: float | None,
    config_path: str | None,
    state_path: str | None,
    allow_remote: bool,
    no_market: bool,
) -> None:
    """Run the local Kraken Futures simulator (Kraken retired its futures demo in July 2026)."""
    if ctx.invoked_subcommand is not None:
        return
    from krakenfutures.cli.common import KfError
    from krakenfutures.sim.launch import prepare, serve_forever

    try:
        plan = prepare(
            host=host,
            port=port,
            api_key=api_key,
            api_secret=api_secret,
            seed=seed,
            speed=speed,
            config_path=config_path,
            state_path=state_path,
            allow_remote=allow_remote,
            market=not no_market,
        )
    except Exception as exc:  # config problems: one clear line, exit 3
        from krakenfutures.errors import ConfigError

        if isinstance(exc, ConfigError):
            raise KfError(str(exc), 3) from exc
        raise
    for line in plan.banner():
        click.echo(line)
    try:
        asyncio.run(serve_forever(plan))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        raise KfError(
            f"cannot serve on {plan.host}:{plan.port}: {exc.strerror or exc}; "
            "is another simulator running? try --port 0",
            5,
        ) from exc


def _ctl_url(base_url: str | None) -> str:
    from krakenfutures.config import resolve_base_url

    return resolve_base_url(base_url or f"http://127.0.0.1:{DEFAULT_PORT}") + "/_sim/ctl"


def _post(url: str, command: dict[str, Any]) -> dict[str, Any]:
    from krakenfutures.cli.common import KfError

    req = urllib.request.Request(
        url,
        data=json.dumps(command).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise KfError(f"simulator refused the command: {detail}", 4) from exc
    except OSError as exc:
        raise KfError(
            f"cannot reach the simulator at {url}: {exc}; is `kf sim` running?", 5
        ) from exc


@sim.group()
@click.option(
    "--url", "base_url", default=None, help="Simulator origin (default http://127.0.0.1:8787)."
)
@click.pass_context
def ctl(ctx: click.Context, base_url: str | None) -> None:
    """Steer a running simulator (its control endpoint answers loopback only)."""
    ctx.obj = _ctl_url(base_url)


def _show(result: dict[str, Any]) -> None:
    click.echo(json.dumps(result, indent=2, sort_keys=True))


@ctl.command("status")
@click.pass_obj
def ctl_status(url: str) -> None:
    """Clock, trading states, prices and faults."""
    _show(_post(url, {"cmd": "status"}))


@ctl.command("state")
@click.argument("symbol")
@click.argument("state", type=click.Choice(["open", "post_only", "suspended", "maintenance"]))
@click.pass_obj
def ctl_state(url: str, symbol: str, state: str) -> None:
    """Switch SYMBOL's trading state (orders are then refused the way Kraken refuses them)."""
    _show(_post(url, {"cmd": "state", "symbol": symbol, "state": state}))


@ctl.command("faults")
@click.argument("settings", nargs=-1, required=True)
@click.pass_obj
def ctl_faults(url: str, settings: tuple[str, ...]) -> None:
    """Set fault knobs, e.g. `latency_ms=200 drop_after_execute_next=1 unavailable_next=3`."""
    changes: dict[str, str] = {}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.UsageError(f"{item!r}: write NAME=VALUE, e.g. http_5xx_next=2")
        changes[name] = value
    _show(_post(url, {"cmd": "faults", "set": changes}))


@ctl.command("index")
@click.argument("symbol")
@click.argument("price")
@click.pass_obj
def ctl_index(url: str, symbol: str, price: str) -> None:
    """Set SYMBOL's index price (the mark follows)."""
    _show(_post(url, {"cmd": "index", "symbol": symbol, "price": price}))


@ctl.command("save")
@click.pass_obj
def ctl_save(url: str) -> None:
    """Write a snapshot of the state file now."""
    _show(_post(url, {"cmd": "save"}))


@sim.command("example-config")
def example_config() -> None:
    """Print a commented sim.toml to start from."""
    from krakenfutures.sim.config import example_config as text

    sys.stdout.write(text())


def _install_sigterm() -> None:  # pragma: no cover - process plumbing
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
