"""``kf run``: run a strategy as a bot; ``kf kill``: cancel everything and stop a running bot.

``kf run path/to/strategy.py[:Class] --env sim`` with no ``--base-url`` starts an embedded
simulator (accelerated clock, fixed seed) in the same process and trades against it over real
loopback HTTP and WebSocket: no keys, no internet. With ``--base-url`` it trades against a
running ``kf sim`` (env sim) or Kraken (env live, keys from the environment or the credentials
file). A live dashboard shows while attached to a terminal; ``--json`` prints the summary only.

The bot writes ``<state dir>/bot-<name>.pid`` while it runs; ``kf kill`` cancels every order of
the account through REST first (so orders are gone even if the bot hangs), then stops the bot
(SIGTERM, SIGKILL after ``--grace`` seconds) and cancels once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from krakenfutures.cli.common import KfError, state

MAKE_RUN_STRATEGY = "examples/market_maker.py:MarketMaker"


def parse_duration(text: str | None) -> float | None:
    """``90``, ``90s``, ``2m``, ``1h`` -> seconds; ``None`` -> run until stopped."""
    if text is None or text == "":
        return None
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    unit = text[-1].lower()
    number = text[:-1] if unit in units else text
    try:
        value = float(number) * units.get(unit, 1.0)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give seconds or a number with s/m/h (90, 2m, 1h)"
        ) from None
    if value <= 0:
        raise click.BadParameter(f"{text!r}: the duration must be positive")
    return value


def pid_path(name: str) -> Path:
    """Where a running bot named ``name`` writes its pid."""
    from krakenfutures.config import state_dir

    return state_dir() / f"bot-{name}.pid"


@click.command("run")
@click.argument("strategy_spec", required=False)
@click.option(
    "--env",
    "env_name",
    type=click.Choice(["sim", "live"]),
    default=None,
    help="sim (default) or live.",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Bot config TOML.")
@click.option("--duration", help="Stop after this long (90, 2m, 1h); default: until Ctrl-C.")
@click.option("--speed", type=float, help="Embedded simulator clock speed (default 120).")
@click.option("--seed", type=int, help="Embedded simulator market seed (default 7).")
@click.option("--name", help="Bot name (journal, pid file, order ids).")
@click.option(
    "--journal", "journal_path", type=click.Path(dir_okay=False), help="Journal SQLite file."
)
@click.option(
    "--dialect", type=click.Choice(["legacy", "unified"]), default=None, help="Wire dialect."
)
@click.option(
    "--dashboard/--no-dashboard", default=None, help="Live view (default: when a terminal)."
)
@click.option("--yes", is_flag=True, help="Do not ask before trading live.")
@click.option("--json", "as_json", is_flag=True, help="Print only the final summary as JSON.")
@click.pass_context
def run(
    ctx: click.Context,
    strategy_spec: str | None,
    env_name: str | None,
    config_path: str | None,
    duration: str | None,
    speed: float | None,
    seed: int | None,
    name: str | None,
    journal_path: str | None,
    dialect: str | None,
    dashboard: bool | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Run STRATEGY (path/to/file.py[:Class]) as a bot: against an embedded simulator by default."""
    from krakenfutures.runtime.bot_config import load_bot_config

    cli = state(ctx)
    as_json = as_json or cli.json
    config = load_bot_config(
        config_path,
        env=env_name,
        name=name,
        sim_speed=speed,
        sim_seed=seed,
        dialect=dialect,
    )
    spec = strategy_spec or config.strategy_path or MAKE_RUN_STRATEGY
    seconds = parse_duration(duration)
    from krakenfutures.config import Settings, is_loopback_url, resolve_base_url

    base_url = resolve_base_url(cli.base_url) if cli.base_url else Settings.from_env().base_url
    if config.env == "live":
        if not is_loopback_url(base_url) and not yes and not as_json:
            click.confirm(f"Trade LIVE on {base_url} with {spec}?", abort=True)
    elif not is_loopback_url(base_url):
        if cli.base_url:
            raise KfError(
                f"--env sim trades only against a simulator on this machine, not {base_url}; "
                "use --env live for Kraken",
                exit_code=3,
            )
        base_url = None  # no simulator named: start the embedded one
    show = dashboard if dashboard is not None else (sys.stdout.isatty() and not as_json)
    result = asyncio.run(_main(spec, config, base_url, seconds, show, journal_path))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _print_summary(result)
    if result.get("halts"):
        ctx.exit(6)


async def _main(
    spec: str,
    config: Any,
    base_url: str | None,
    seconds: float | None,
    show: bool,
    journal_path: str | None,
) -> dict[str, Any]:
    from krakenfutures.runtime.launch import build_node, load_strategy

    strategy = load_strategy(spec, config.strategy_params)
    async with contextlib.AsyncExitStack() as stack:
        spot_key = spot_secret = None
        if config.env == "sim" and base_url is None:
            base_url, clock, key, secret, spot_key, spot_secret = _embedded_sim(stack, config)
            if journal_path is None and not config.journal:
                # A fresh embedded exchange each run: a journal must never be reconciled
                # against another exchange's state, so each run gets its own.
                from krakenfutures.runtime.journal import default_journal_path

                stamp = time.strftime("%Y%m%d-%H%M%S")
                journal_path = str(default_journal_path(config.name, venue=f"embedded-{stamp}"))
        else:
            clock = await _venue_clock(base_url)
            key = secret = None
        wiring = await build_node(
            [strategy],
            config,
            base_url=base_url,
            clock=clock,
            api_key=key,
            api_secret=secret,
            spot_key=spot_key,
            spot_secret=spot_secret,
            journal_path=journal_path,
        )
        stack.push_async_callback(wiring.aclose)
        node = wiring.node
        pid_file = pid_path(config.name)
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(json.dumps({"pid": os.getpid(), "base_url": base_url}))
        stack.callback(lambda: pid_file.unlink(missing_ok=True))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, node.stop)
        started = time.monotonic()
        view = asyncio.create_task(_dashboard(node, started, base_url, show))
        try:
            await node.run(seconds)
        finally:
            view.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await view
        from krakenfutures.cli.dashboard import summary

        result = summary(node, started=started)
        result["base_url"] = base_url
        result["journal"] = str(wiring.journal.path)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _embedded_sim(
    stack: contextlib.AsyncExitStack, config: Any
) -> tuple[str, Any, str, str, str, str]:
    import dataclasses

    from krakenfutures.runtime.clock import FollowClock
    from krakenfutures.sim.app import Simulator
    from krakenfutures.sim.clock import SimClock
    from krakenfutures.sim.config import KeyConfig, generate_key_pair
    from krakenfutures.sim.launch import prepare
    from krakenfutures.sim.server import SimServer, ThreadedServer

    plan = prepare(port=0, seed=config.sim_seed, speed=config.sim_speed, write_creds=False)
    # A Spot key with the WebSocket permission on the same account: the unified dialect's
    # credentials (Kraken keeps Futures and Spot keys apart; so does the simulator).
    spot_key, spot_secret = generate_key_pair()
    spot = KeyConfig(spot_key, spot_secret, account=plan.config.keys[0].account, kind="spot")
    cfg = dataclasses.replace(plan.config, keys=(*plan.config.keys, spot))
    sim_clock = SimClock(cfg.speed, cfg.start_ms)
    sim = Simulator(cfg, now_ms=sim_clock.now_ms())
    server = ThreadedServer(SimServer.for_simulator(sim, sim_clock))
    server.start()
    stack.callback(server.stop)
    key = cfg.keys[0]
    clock = FollowClock(sim_clock.now_ms, cfg.speed)
    return server.base_url, clock, key.api_key, key.api_secret, spot_key, spot_secret


async def _venue_clock(base_url: str | None) -> Any:
    """Wall time for Kraken; a ``kf sim``'s own (possibly accelerated) clock for a simulator."""
    from krakenfutures.config import is_loopback_url
    from krakenfutures.runtime.clock import ScaledClock, WallClock

    if base_url is None or not is_loopback_url(base_url):
        return WallClock()
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            reply = await http.post(f"{base_url.rstrip('/')}/_sim/ctl", json={"cmd": "status"})
            status = reply.json()
        return ScaledClock(int(status["now_ms"]), float(status.get("speed", 1.0)))
    except (httpx.HTTPError, ValueError, KeyError):
        return WallClock()  # not a kf sim: a loopback proxy to a real-time venue


async def _dashboard(node: Any, started: float, base_url: str, show: bool) -> None:
    from krakenfutures.cli.dashboard import render

    if not show:
        while True:  # plain progress lines for logs
            await asyncio.sleep(10)
            m = node.manager
            click.echo(
                f"[kf run] orders {sum(m.tracker.state_counts().values())} fills "
                f"{sum(p.fill_count for p in m.positions.positions())} requests {m.sent_requests} "
                f"halts {len(node.halts)}",
                err=True,
            )
    from rich.live import Live

    title = f"kf run: {', '.join(s.name for s in node.strategies)} on {base_url}"
    with Live(
        render(node, title=title, started=started), refresh_per_second=4, screen=False
    ) as live:
        while True:
            await asyncio.sleep(0.25)
            live.update(render(node, title=title, started=started))


def _print_summary(result: dict[str, Any]) -> None:
    click.echo("session summary:")
    for key in (
        "wall_seconds",
        "orders",
        "order_states",
        "fills",
        "funding_payments",
        "requests",
        "lost_replies",
        "resent",
    ):
        click.echo(f"  {key}: {result[key]}")
    for currency, t in result["pnl"].items():
        click.echo(
            f"  PnL {currency}: trading {t['trading']}  fees -{t['fees']}  funding {t['funding']}  net {t['net']}"
        )
    for p in result["positions"]:
        click.echo(f"  position {p['strategy']} {p['symbol']}: {p['qty']} @ {p['entry']}")
    for who, reason in result["halts"].items():
        click.echo(f"  HALTED {who}: {reason}")
    click.echo(f"  journal: {result['journal']}")


@click.command("kill")
@click.option("--name", default="bot", show_default=True, help="Bot name given to kf run.")
@click.option(
    "--grace", type=float, default=10.0, show_default=True, help="Seconds before SIGKILL."
)
@click.pass_context
def kill(ctx: click.Context, name: str, grace: float) -> None:
    """Cancel every open order of the account and stop the running bot NAME."""
    cli = state(ctx)
    info: dict[str, Any] = {}
    path = pid_path(name)
    if path.exists():
        info = json.loads(path.read_text())
    if cli.base_url is None and info.get("base_url"):
        cli.base_url = info["base_url"]
    client = cli.client(private=True)
    first = client.cancel_all_orders()
    pid = info.get("pid")
    stopped = False
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                try:
                    os.kill(int(pid), 0)
                except ProcessLookupError:
                    stopped = True
                    break
                time.sleep(0.1)
            if not stopped:
                os.kill(int(pid), signal.SIGKILL)
                stopped = True
    second = client.cancel_all_orders()
    cancelled = len(getattr(first, "cancelled_orders", []) or []) + len(
        getattr(second, "cancelled_orders", []) or []
    )
    out = {"cancelled_orders": cancelled, "bot_pid": pid, "bot_stopped": stopped}
    if cli.json:
        click.echo(json.dumps(out))
    else:
        click.echo(
            f"cancelled {cancelled} order(s); "
            + (f"bot {pid} stopped" if pid else f"no running bot named {name!r} ({path} absent)")
        )


__all__ = ["kill", "parse_duration", "pid_path", "run"]
