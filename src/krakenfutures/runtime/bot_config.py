"""Bot configuration from TOML (``kf run --config bot.toml``), with documented defaults.

Secrets are never read from this file: API keys come from the environment or the credentials
file (:func:`krakenfutures.config.load_credentials`), the Telegram token from
``KRAKEN_FUTURES_TELEGRAM_TOKEN``. A secret-looking key in the TOML is refused with a message
saying where it belongs. Unknown keys are refused too (a typo must not silently drop a limit).

Example (every key optional; shown with its default)::

    [bot]
    name = "bot"            # journal file, cli_ord_id prefix, logs
    env = "sim"             # sim: embedded simulator (or --base-url to a running kf sim); live
    dialect = "legacy"      # legacy (REST v3 + WS v1)
    journal = ""            # default: <state dir>/journal-<name>-<env>.sqlite
    durability = "process"  # process: survives kill -9; power: fsync every record
    nonce = "none"          # none | file | memory (requests in flight at once: see launch.py)

    [sim]                   # the embedded simulator of env = "sim"
    speed = 120.0           # exchange seconds per wall second (an hour of funding in 30 s)
    seed = 7

    [strategy]
    path = "examples/market_maker.py:MarketMaker"
    [strategy.params]       # passed to the strategy's __init__
    qty = "0.01"

    [risk]                  # defaults for every symbol; [risk.PF_XBTUSD] overrides per symbol
    max_position_qty = "1"
    max_order_qty = "0.5"
    max_order_notional_usd = "100000"
    max_open_orders = 10
    price_band = "0.05"
    max_daily_loss = "5000"

    [runtime]
    deadman_timeout_s = 60
    deadman_interval_s = 15
    reconcile_interval_s = 30
    funding_poll_s = 15
    monitor_poll_s = 5
    large_fill_usd = "250000"

    [alerts]
    telegram_chat_id = ""   # token from KRAKEN_FUTURES_TELEGRAM_TOKEN
    webhook_url = ""
    min_severity = "info"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from krakenfutures.errors import ConfigError
from krakenfutures.risk.rules import RiskLimits
from krakenfutures.runtime.node import NodeSettings

_SECRETISH = ("secret", "api_key", "apikey", "token", "password", "private_key")
_ENVS = ("sim", "live")
_DIALECTS = ("legacy", "unified")


@dataclass(frozen=True)
class BotConfig:
    """A parsed bot config (see the module docstring for the file format)."""

    name: str = "bot"
    env: str = "sim"
    dialect: str = "legacy"
    journal: str = ""
    durability: str = "process"
    nonce: str = "none"
    sim_speed: float = 120.0
    sim_seed: int = 7
    strategy_path: str = ""
    strategy_params: dict[str, Any] = field(default_factory=dict)
    risk: RiskLimits = field(default_factory=RiskLimits)
    risk_by_symbol: dict[str, RiskLimits] = field(default_factory=dict)
    settings: NodeSettings = field(default_factory=NodeSettings)
    monitor_poll_s: float = 5.0
    alerts: dict[str, Any] = field(default_factory=dict)

    def limits(self) -> dict[str, RiskLimits]:
        """Per-symbol limits with ``"*"`` as the default."""
        return {"*": self.risk, **self.risk_by_symbol}


def load_bot_config(path: str | Path | None, **overrides: Any) -> BotConfig:
    """Read ``path`` (``None``: defaults only) and apply CLI ``overrides`` (non-None values)."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"bot config {p} not found; create it or leave out --config"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"bot config {p} is not valid TOML: {exc}") from None
    return parse_bot_config(raw, **overrides)


def parse_bot_config(raw: dict[str, Any], **overrides: Any) -> BotConfig:
    """Build a :class:`BotConfig` from parsed TOML (see :func:`load_bot_config`)."""
    _refuse_secrets(raw, "")
    _only(raw, {"bot", "sim", "strategy", "risk", "runtime", "alerts"}, "top level")
    bot = _table(raw, "bot", {"name", "env", "dialect", "journal", "durability", "nonce"})
    sim = _table(raw, "sim", {"speed", "seed"})
    strategy = _table(raw, "strategy", {"path", "params"})
    runtime = _table(raw, "runtime", {f.name for f in fields(NodeSettings)} | {"monitor_poll_s"})
    alerts = _table(
        raw,
        "alerts",
        {
            "telegram_chat_id",
            "webhook_url",
            "min_severity",
            "telegram_min_severity",
            "webhook_min_severity",
            "telegram_base_url",
        },
    )
    risk_raw = dict(raw.get("risk", {}))
    per_symbol = {k: v for k, v in risk_raw.items() if isinstance(v, dict)}
    base_risk = {k: v for k, v in risk_raw.items() if not isinstance(v, dict)}

    values: dict[str, Any] = {
        "name": str(bot.get("name", "bot")),
        "env": str(bot.get("env", "sim")),
        "dialect": str(bot.get("dialect", "legacy")),
        "journal": str(bot.get("journal", "")),
        "durability": str(bot.get("durability", "process")),
        "nonce": str(bot.get("nonce", "none")),
        "sim_speed": float(sim.get("speed", 120.0)),
        "sim_seed": int(sim.get("seed", 7)),
        "strategy_path": str(strategy.get("path", "")),
        "strategy_params": dict(strategy.get("params", {})),
        "risk": _limits(base_risk, "[risk]"),
        "risk_by_symbol": {
            k.upper(): _limits({**base_risk, **v}, f"[risk.{k}]") for k, v in per_symbol.items()
        },
        "settings": _settings(runtime),
        "monitor_poll_s": float(runtime.get("monitor_poll_s", 5.0)),
        "alerts": alerts,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = BotConfig(**values)
    if config.env not in _ENVS:
        raise ConfigError(f"bot env {config.env!r}: use one of {', '.join(_ENVS)}")
    if config.dialect not in _DIALECTS:
        raise ConfigError(f"dialect {config.dialect!r}: use one of {', '.join(_DIALECTS)}")
    if config.durability not in ("process", "power"):
        raise ConfigError(f"durability {config.durability!r}: use process or power")
    if config.nonce not in ("none", "file", "memory"):
        raise ConfigError(f"[bot] nonce {config.nonce!r}: use none, file or memory")
    if config.sim_speed <= 0:
        raise ConfigError(f"[sim] speed must be > 0, got {config.sim_speed}")
    return config


def _refuse_secrets(table: dict[str, Any], where: str) -> None:
    for key, value in table.items():
        if any(word in key.lower() for word in _SECRETISH) and key != "telegram_chat_id":
            raise ConfigError(
                f"{where}{key} looks like a secret: secrets never go in the bot config. Use "
                "KRAKEN_FUTURES_API_KEY / KRAKEN_FUTURES_API_SECRET (or the credentials file) "
                "and KRAKEN_FUTURES_TELEGRAM_TOKEN"
            )
        if isinstance(value, dict):
            _refuse_secrets(value, f"{where}{key}.")


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(allowed))}"
        )


def _table(raw: dict[str, Any], name: str, allowed: set[str]) -> dict[str, Any]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    _only(table, allowed, f"[{name}]")
    return table


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise ConfigError(f'{where}: write money and sizes as strings ("0.5"), not floats')
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: {value!r} is not a number") from None


def _limits(raw: dict[str, Any], where: str) -> RiskLimits:
    allowed = {f.name for f in fields(RiskLimits)}
    _only(raw, allowed, where)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values[key] = int(value) if key == "max_open_orders" else _decimal(value, f"{where} {key}")
    return RiskLimits(**values)


def _settings(raw: dict[str, Any]) -> NodeSettings:
    values: dict[str, Any] = {}
    for f in fields(NodeSettings):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name == "large_fill_usd":
            values[f.name] = _decimal(value, f"[runtime] {f.name}")
        elif f.name == "reconnect_storm":
            values[f.name] = (int(value[0]), float(value[1]))
        elif f.name == "cancel_on_stop":
            values[f.name] = bool(value)
        elif isinstance(getattr(NodeSettings(), f.name), int):
            values[f.name] = int(value)
        else:
            values[f.name] = float(value)
    return NodeSettings(**values)


__all__ = ["BotConfig", "load_bot_config", "parse_bot_config"]
