"""sim.toml: defaults, every section mapped onto the engine's types, clear errors."""

from __future__ import annotations

import base64
import random
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.core.signing import decode_secret
from krakenfutures.core.types import SelfTradeStrategy, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.sim.config import (
    SimConfig,
    example_config,
    generate_key_pair,
    load_config,
    parse_config,
)
from krakenfutures.sim.engine import Exchange
from krakenfutures.sim.instruments import DEFAULT_INSTRUMENTS
from krakenfutures.sim.market import MarketConfig

KEY, SECRET = generate_key_pair(random.Random(1))


def parse(text: str) -> SimConfig:
    return parse_config(tomllib.loads(text))


def test_no_file_means_defaults() -> None:
    cfg = load_config(None)
    assert cfg == SimConfig()
    assert (cfg.host, cfg.port, cfg.speed, cfg.seed) == ("127.0.0.1", 8787, 1.0, 0)
    assert cfg.exchange.instruments == DEFAULT_INSTRUMENTS
    assert cfg.market == MarketConfig() and cfg.keys == () and cfg.rate_limits


def test_example_config_loads_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(example_config())
    cfg = load_config(path)
    assert cfg.accounts == {"main": {"flex": {"USD": Decimal(100000)}}}
    assert cfg.market == MarketConfig()
    assert cfg.exchange.max_open_orders == 500
    # Every commented-out example line is valid too once uncommented (keys aside).
    lines = []
    for line in example_config().splitlines():
        stripped = line.removeprefix("# ")
        if line.startswith("# [[keys]]") or line.startswith("# api_"):
            continue
        if (
            line.startswith("# ")
            and ("=" in stripped or stripped.startswith(("[", "{", "]")))
            and not stripped.startswith(("account", "permission", "withdrawal", "sim.toml"))
        ):
            lines.append(stripped)
        else:
            lines.append(line)
    full = parse("\n".join(lines))
    assert full.trading_states == {"PF_XBTUSD": TradingState.OPEN}
    assert full.exchange.fee_schedule.name == "flat"
    assert full.start_ms == 1767225600000
    assert full.market.symbols == ("PF_XBTUSD",)


def test_every_section(tmp_path: Path) -> None:
    cfg = parse(
        f"""
seed = 42
rate_limits = false
nonce_tolerance_ms = 250

[server]
host = "::1"
port = 0

[clock]
speed = 60
start_ms = 1767225600000

[[keys]]
api_key = "{KEY}"
api_secret = "{SECRET}"
account = "alice"
permission = "read"

[[keys]]
api_key = "second"
api_secret = "{SECRET}"

[accounts.alice]
flex = {{ USD = 5000, XBT = "0.5" }}
cash = {{ usd = 10 }}
margin = {{ fi_xbtusd = {{ xbt = 2 }} }}
self_trade_strategy = "CANCEL_MAKER_SELF"

[[instruments]]
symbol = "pf_xbtusd"
size_precision = 3
max_position_size = 10
post_only = true

[[instruments]]
symbol = "PF_DOGEUSD"
tick_size = 0.00001
lot_size = 1
reference_price = "0.15"
trading_state = "maintenance"
margin_levels = [{{ threshold = 0, initial = 0.1, maintenance = 0.05 }}]

[fees]
tiers = [{{ min_volume_usd = 0, maker = "0.0001", taker_pct = "0.03" }}]

[exchange]
max_open_orders = 50
default_flex = {{ USD = 1000 }}

[faults]
http_5xx_rate = 0.1
rate_limit_exhausted = true

[market]
levels = 3
taker_rate_per_min = 1
"""
    )
    assert (cfg.seed, cfg.rate_limits, cfg.nonce_tolerance_ms) == (42, False, 250)
    assert (cfg.host, cfg.port, cfg.speed, cfg.start_ms) == ("::1", 0, 60.0, 1767225600000)
    alice, second = cfg.keys
    assert (alice.api_key, alice.account, alice.permission) == (KEY, "alice", Permission.READ)
    assert (second.account, second.permission, second.withdrawal) == (
        "main",
        Permission.FULL,
        False,
    )
    assert SECRET not in repr(cfg)
    assert cfg.accounts["alice"] == {
        "flex": {"USD": Decimal(5000), "XBT": Decimal("0.5")},
        "cash": {"usd": Decimal(10)},
        "margin": {"fi_xbtusd": {"xbt": Decimal(2)}},
        "stp": SelfTradeStrategy.CANCEL_MAKER_SELF,
    }
    specs = {s.symbol: s for s in cfg.exchange.instruments}
    assert list(specs) == ["PF_XBTUSD", "PF_ETHUSD", "PF_SOLUSD", "PI_XBTUSD", "PF_DOGEUSD"]
    xbt = specs["PF_XBTUSD"]
    assert (xbt.lot_size, xbt.max_position_size, xbt.tick_size) == (
        Decimal("0.001"),
        Decimal(10),
        Decimal(1),
    )
    assert xbt.reference_price == DEFAULT_INSTRUMENTS[0].reference_price  # untouched fields kept
    doge = specs["PF_DOGEUSD"]
    assert (doge.base, doge.tick_size, doge.reference_price) == (
        "DOGE",
        Decimal("0.00001"),
        Decimal("0.15"),
    )
    assert doge.margin_levels[0].initial == Decimal("0.1")
    assert cfg.trading_states == {
        "PF_XBTUSD": TradingState.POST_ONLY,
        "PF_DOGEUSD": TradingState.MAINTENANCE,
    }
    tier = cfg.exchange.fee_schedule.tiers[0]
    assert (tier.maker, tier.taker) == (Decimal("0.0001"), Decimal("0.0003"))
    assert cfg.exchange.max_open_orders == 50
    assert cfg.exchange.default_flex == {"USD": Decimal(1000)}
    assert cfg.faults.http_5xx_rate == 0.1 and cfg.faults.rate_limit_exhausted
    assert (cfg.market.levels, cfg.market.taker_rate_per_min) == (3, 1.0)
    # The result drives the engine directly.
    ex = Exchange(cfg.exchange, now_ms=cfg.start_ms or 0)
    ex.open_account("alice", **cfg.accounts["alice"])
    assert ex.self_trade_strategy("alice") is SelfTradeStrategy.CANCEL_MAKER_SELF


def test_only_listed_instruments() -> None:
    cfg = parse(
        'default_instruments = false\n[[instruments]]\nsymbol = "PF_XBTUSD"\ntick_size = 1\nlot_size = 0.0001\n'
    )
    assert [s.symbol for s in cfg.exchange.instruments] == ["PF_XBTUSD"]
    with pytest.raises(ConfigError, match="no instruments"):
        parse("default_instruments = false")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sead = 1", r"top level: unknown key 'sead'; valid keys: seed, rate_limits"),
        (
            "[server]\nportt = 1",
            r"\[server\]: unknown key 'portt'; valid keys: host, port, allow_remote",
        ),
        ("[clock]\nspeed = 0", r"\[clock\] speed must be a number > 0"),
        ("[server]\nport = 70000", r"port must be in \[0, 65535\]"),
        (
            '[market]\nsymbols = ["PF_NOPEUSD"]',
            r"\[market\] symbols: PF_NOPEUSD not listed; instruments: PF_XBTUSD",
        ),
        ("[market]\nlevel = 3", r"\[market\]: unknown key 'level'; valid keys: enabled, symbols"),
        ("[faults]\nlatency = 3", r"\[faults\]: unknown fault 'latency'; known: "),
        ("[faults]\nhttp_5xx_rate = 2", r"\[faults\]: .*probability"),
        (
            "[exchange]\ninstruments = []",
            r"\[exchange\]: unknown key 'instruments'; valid keys: max_open_orders",
        ),
        (
            '[exchange]\nmax_open_orders = "x"',
            r"\[exchange\]: .*max_open_orders must be an integer",
        ),
        ("[fees]\ntiers = []", r"fee config: 'tiers' must be a non-empty list"),
        (
            "[accounts.bob]\nflexx = {USD = 1}",
            r"\[accounts.bob\]: unknown key 'flexx'; valid keys: flex, cash",
        ),
        (
            "[accounts.bob]\nflex = {USD = -1}",
            r"\[accounts.bob\] flex.USD: must be a finite amount >= 0",
        ),
        ("[accounts._mm]\nflex = {USD = 1}", r"reserved for the synthetic market"),
        (
            '[accounts.bob]\nself_trade_strategy = "NOPE"',
            r"self_trade_strategy: 'NOPE' is not one of REJECT_TAKER",
        ),
        ("[[instruments]]\ntick_size = 1", r"symbol is required"),
        (
            '[[instruments]]\nsymbol = "PF_XBTUSD"\ntick = 1',
            r"\[\[instruments\]\] #1: unknown key 'tick'; valid keys: symbol, tick_size",
        ),
        (
            '[[instruments]]\nsymbol = "PF_NEWUSD"\ntick_size = 1',
            r"instrument PF_NEWUSD: lot_size is required",
        ),
        (
            '[[instruments]]\nsymbol = "PF_XBTUSD"\nlot_size = 1\nsize_precision = 2',
            r"lot_size or size_precision, not both",
        ),
        (
            '[[instruments]]\nsymbol = "PF_XBTUSD"\ntrading_state = "closed"',
            r"trading_state: 'closed' is not one of open",
        ),
        (
            '[[instruments]]\nsymbol = "PF_XBTUSD"\ntrading_state = "open"\npost_only = true',
            r"contradicts",
        ),
        (
            '[[instruments]]\nsymbol = "PF_XBTUSD"\n[[instruments]]\nsymbol = "pf_xbtusd"',
            r"listed twice",
        ),
        ('[[keys]]\napi_key = "k"', r"\[\[keys\]\] #1: api_secret is required"),
        (
            f'[[keys]]\napi_key = "k"\napi_secret = "{SECRET}"\npermission = "admin"',
            r"permission must be \"read\" or \"full\"",
        ),
        (f'[[keys]]\napi_key = "k"\napi_secret = "{SECRET}"\naccount = "_taker"', r"reserved"),
        (
            f'[[keys]]\napi_key = "k"\napi_secret = "{SECRET}"\n[[keys]]\napi_key = "k"\napi_secret = "{SECRET}"',
            r"configured twice",
        ),
        ('seed = "1"', r"seed: expected int"),
        ("rate_limits = 1", r"rate_limits: expected bool"),
    ],
)
def test_errors_name_the_section_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(text)


def test_bad_secret_is_refused_without_echoing_it() -> None:
    secret = "not*base64*at*all!"
    with pytest.raises(ConfigError) as info:
        parse(f'[[keys]]\napi_key = "kkkk1234"\napi_secret = "{secret}"')
    assert "kkkk..." in str(info.value) and secret not in str(info.value)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing.toml not found"):
        load_config(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('[keys\napi_secret = "s3cr3t"\n')
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_config(broken)
    assert "s3cr3t" not in str(info.value)
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: \[server\]: unknown key 'prot'"):
        load_config(bad)


def test_generated_keys_look_like_krakens() -> None:
    api_key, secret = generate_key_pair()
    other_key, _ = generate_key_pair()
    assert len(api_key) == 56 and api_key != other_key
    base64.b64decode(api_key, validate=True)
    assert len(decode_secret(secret)) == 64 and len(secret) == 88
    assert generate_key_pair(random.Random(5)) == generate_key_pair(random.Random(5))


def test_remote_host_is_read_as_given() -> None:
    # The launcher refuses a non-loopback host unless allow_remote (file or flag) is set.
    cfg = parse('[server]\nhost = "0.0.0.0"\nallow_remote = true')
    assert (cfg.host, cfg.allow_remote) == ("0.0.0.0", True)
