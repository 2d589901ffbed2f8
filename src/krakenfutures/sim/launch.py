"""Start-up of ``kf sim``: merge flags over ``sim.toml``, make keys, bind, serve, save on exit."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from krakenfutures.config import read_credentials_file, sim_credentials_path, write_credentials
from krakenfutures.errors import ConfigError
from krakenfutures.sim.app import Simulator
from krakenfutures.sim.clock import SimClock
from krakenfutures.sim.config import KeyConfig, SimConfig, generate_key_pair, load_config
from krakenfutures.sim.persist import StateStore
from krakenfutures.sim.server import SimServer, is_loopback

log = logging.getLogger("krakenfutures.sim")


@dataclass
class LaunchPlan:
    """Everything decided before binding: the config, where credentials went, the state file."""

    config: SimConfig
    credentials_file: Path | None
    state_path: Path | None
    generated_key: bool

    @property
    def host(self) -> str:
        """Interface to bind."""
        return self.config.host

    @property
    def port(self) -> int:
        """Port to bind (0 = any free)."""
        return self.config.port

    def banner(self) -> list[str]:
        """What ``kf sim`` prints before serving: where, which keys, how to point clients."""
        cfg = self.config
        url = f"http://{cfg.host}:{cfg.port}"
        where = (
            "loopback only"
            if is_loopback(cfg.host)
            else "ALL interfaces you bound (--allow-remote)"
        )
        lines = [
            f"krakenfutures simulator on {url} ({where})",
            f"  seed {cfg.seed}, clock x{cfg.speed:g}, market {'on' if cfg.market.enabled else 'off'}"
            + (f", state {self.state_path}" if self.state_path else ", state in memory"),
        ]
        for key in cfg.keys:
            lines.append(
                f"  account {key.account!r} ({key.permission.value}): api_key={key.api_key}"
            )
            if self.generated_key:
                lines.append(f"    api_secret={key.api_secret}")
        if self.credentials_file:
            lines.append(
                f"  credentials written to {self.credentials_file} (used by kf/Client for {url})"
            )
        lines += [
            f"  WebSocket v1: ws://{cfg.host}:{cfg.port}/ws/v1",
            f"  try: kf --base-url {url} tickers",
            f"  any Kraken Futures client: base URL {url}, paths /derivatives/api/v3/... as on futures.kraken.com",
            "  Ctrl-C to stop",
        ]
        return lines


def prepare(
    *,
    host: str | None = None,
    port: int | None = None,
    api_key: str | None = None,
    api_secret: str | None = None,
    seed: int | None = None,
    speed: float | None = None,
    config_path: str | None = None,
    state_path: str | None = None,
    allow_remote: bool = False,
    market: bool = True,
    write_creds: bool = True,
) -> LaunchPlan:
    """Merge command-line flags over the config file and decide keys and credentials."""
    cfg = load_config(config_path)
    changes: dict[str, object] = {}
    if host is not None:
        changes["host"] = host
    if port is not None:
        changes["port"] = port
    if seed is not None:
        changes["seed"] = seed
    if speed is not None:
        if speed <= 0:
            raise ConfigError(f"--speed must be > 0, got {speed}")
        changes["speed"] = speed
    if allow_remote:
        changes["allow_remote"] = True
    if not market:
        changes["market"] = dataclasses.replace(cfg.market, enabled=False)
    if (api_key is None) != (api_secret is None):
        raise ConfigError("give both --api-key and --api-secret, or neither to generate a pair")
    generated = False
    if api_key is not None and api_secret is not None:
        changes["keys"] = (
            KeyConfig(api_key=api_key, api_secret=api_secret, account="main"),
            *cfg.keys[1:],
        )
    elif not cfg.keys:
        previous = _previous_sim_key() if write_creds else None
        if previous is not None:
            # Same key pair as last time, so bots configured against the simulator keep working
            # across restarts (and a --state file's account stays reachable).
            key, secret = previous
        else:
            key, secret = generate_key_pair()
            generated = True
        changes["keys"] = (KeyConfig(api_key=key, api_secret=secret, account="main"),)
    cfg = dataclasses.replace(cfg, **changes)  # type: ignore[arg-type]
    if not is_loopback(cfg.host) and not cfg.allow_remote:
        raise ConfigError(
            f"refusing to bind {cfg.host}: the simulator binds loopback (127.0.0.1) by default; "
            "pass --allow-remote (or allow_remote = true) to expose it"
        )
    creds = None
    if write_creds:
        first = cfg.keys[0]
        origin = f"http://{'127.0.0.1' if cfg.host in ('0.0.0.0', '::') else cfg.host}:{cfg.port}"
        creds = write_credentials(
            sim_credentials_path(), first.api_key, first.api_secret, base_url=origin
        )
    return LaunchPlan(cfg, creds, Path(state_path) if state_path else None, generated)


def _previous_sim_key() -> tuple[str, str] | None:
    path = sim_credentials_path()
    if not path.exists():
        return None
    try:
        creds = read_credentials_file(path)
    except ConfigError:
        return None
    return creds.api_key, creds.secret.reveal()


async def serve_forever(plan: LaunchPlan) -> None:
    """Serve until cancelled (Ctrl-C); with a state file, snapshot on the way out."""
    cfg = plan.config
    clock = SimClock(cfg.speed, cfg.start_ms)
    store = StateStore(plan.state_path) if plan.state_path else None
    sim = Simulator(cfg, now_ms=clock.now_ms(), store=store)
    clock.resume_from(sim.exchange.now_ms)
    server = SimServer.for_simulator(sim, clock, host=cfg.host, port=cfg.port)
    await server.start()
    try:
        while True:
            await asyncio.sleep(3600)
    finally:
        with contextlib.suppress(Exception):
            await server.stop()
        if store is not None:
            sim.save(clock.now_ms())
            store.close()
