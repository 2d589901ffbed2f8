"""``sim.toml``: the simulator's settings, read into a :class:`SimConfig`.

Every section is optional; :func:`example_config` prints a commented file with every key. Unknown
keys are refused with the section and the list of valid keys, so a typo never falls back to a
default silently. Money is read as Decimal (TOML strings, integers or floats; floats through their
shortest repr). Error messages never echo an ``api_secret``.

Sections: ``seed``, ``rate_limits``, ``nonce_tolerance_ms``, ``default_instruments`` (top level);
``[server]``, ``[clock]``, ``[[keys]]``, ``[accounts.NAME]``, ``[[instruments]]`` (overrides of a
default instrument by symbol, or additions), ``[fees]``, ``[exchange]`` (the other
:class:`~krakenfutures.sim.state.ExchangeConfig` knobs), ``[faults]``, ``[market]``, ``[uws]``.

A key is a Futures key (legacy REST v3 and WebSocket v1) unless ``kind = "spot"``: then it is a
Kraken Spot key, accepted only by Spot REST (``/0/private/...``) and so by the Unified WebSocket,
as on Kraken where the two kinds are separate key pairs. ``websocket = false`` withholds a Spot
key's "Access WebSockets API" permission.

Account names starting with ``_`` are reserved for the synthetic market
(:data:`~krakenfutures.sim.market.INTERNAL_ACCOUNTS`) and refused here.
"""

from __future__ import annotations

import base64
import random
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from krakenfutures.core.decimals import to_decimal
from krakenfutures.core.money import FeeSchedule
from krakenfutures.core.rest.endpoint import Permission
from krakenfutures.core.signing import decode_secret
from krakenfutures.core.types import SelfTradeStrategy, TradingState
from krakenfutures.errors import ConfigError
from krakenfutures.sim.faults import Faults
from krakenfutures.sim.instruments import (
    DEFAULT_INSTRUMENTS,
    InstrumentSpec,
    instrument_from_config,
)
from krakenfutures.sim.market import is_internal_account
from krakenfutures.sim.market_config import MarketConfig
from krakenfutures.sim.state import ExchangeConfig, instrument_to_dict

DEFAULT_PORT = 8787
DEFAULT_ACCOUNT = "main"
FUTURES_KEY = "futures"
"""``kind`` of a Futures key pair: legacy REST v3 + WebSocket v1."""
SPOT_KEY = "spot"
"""``kind`` of a Kraken Spot key pair: Spot REST (the uws token) + the Unified WebSocket."""


@dataclass(frozen=True)
class KeyConfig:
    """One API key pair the simulator accepts: which account it trades and what it may do.

    ``kind`` is :data:`FUTURES_KEY` (default) or :data:`SPOT_KEY` (see the module docstring);
    for a Spot key ``permission`` ``read`` forbids order entry on uws and ``websocket`` is the
    "Access WebSockets API" permission ``GetWebSocketsToken`` needs.
    """

    api_key: str
    api_secret: str = field(repr=False)
    account: str = DEFAULT_ACCOUNT
    permission: Permission = Permission.FULL
    withdrawal: bool = False
    kind: str = FUTURES_KEY
    websocket: bool = True

    @property
    def is_spot(self) -> bool:
        """Whether this is a Spot key (Spot REST + uws) rather than a Futures key."""
        return self.kind == SPOT_KEY


@dataclass(frozen=True)
class SimConfig:
    """Everything ``kf sim`` needs besides its command-line flags (which override it).

    ``accounts`` maps an account name to keyword arguments of ``Exchange.open_account``
    (``flex``, ``cash``, ``margin``, ``stp``); accounts named by a key but absent here get the
    exchange's default funding. ``trading_states`` are the initial states of instruments that do
    not start ``open``. ``seed`` seeds the exchange, the fault dice and the synthetic market.
    """

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    speed: float = 1.0
    start_ms: int | None = None
    seed: int = 0
    keys: tuple[KeyConfig, ...] = ()
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    exchange: ExchangeConfig = field(default_factory=ExchangeConfig)
    trading_states: dict[str, TradingState] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    market: MarketConfig = field(default_factory=MarketConfig)
    rate_limits: bool = True
    nonce_tolerance_ms: int = 1_000
    uws_symbol_format: str = "native"
    """How uws spells contract symbols on the wire: ``native`` (``PF_XBTUSD``) or ``pair``
    (``BTC/USD``); input is accepted in either (reference §1.5 leaves it open)."""


# ------------------------------------------------------------------------------------ loading

_TOP = (
    "seed",
    "rate_limits",
    "nonce_tolerance_ms",
    "default_instruments",
    "server",
    "clock",
    "keys",
    "accounts",
    "instruments",
    "fees",
    "exchange",
    "faults",
    "market",
    "uws",
)
_UWS = ("symbol_format",)
_SERVER = ("host", "port", "allow_remote")
_CLOCK = ("speed", "start_ms")
_KEY = ("api_key", "api_secret", "account", "permission", "withdrawal", "kind", "websocket")
_ACCOUNT = ("flex", "cash", "margin", "self_trade_strategy")
_INSTRUMENT_STATE = ("trading_state", "post_only")
_INSTRUMENT = (
    *instrument_to_dict(DEFAULT_INSTRUMENTS[0]),
    "size_precision",
    *_INSTRUMENT_STATE,
)
_EXCHANGE = tuple(
    f.name for f in fields(ExchangeConfig) if f.name not in ("instruments", "fee_schedule")
)


def load_config(path: str | Path | None) -> SimConfig:
    """Read ``sim.toml`` (``None``: all defaults). Raises :class:`ConfigError` naming the file,
    the section and the key for anything missing, misspelt or out of range."""
    if path is None:
        return parse_config({})
    path = Path(path).expanduser()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"simulator config {path} not found; `kf sim example-config > {path.name}` writes an example"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read simulator config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib gives a position, never the offending text (which could hold a secret).
        raise ConfigError(f"simulator config {path} is not valid TOML: {exc}") from None
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def parse_config(data: Mapping[str, Any]) -> SimConfig:
    """Build a :class:`SimConfig` from an already-decoded TOML document."""
    _known(data, _TOP, "top level")
    server = _table(data, "server", _SERVER)
    clock = _table(data, "clock", _CLOCK)
    host = _typed(server.get("host", "127.0.0.1"), str, "[server] host")
    # Whether a non-loopback host is allowed is decided by the launcher, after --allow-remote
    # and --host are merged over these values.
    allow_remote = _typed(server.get("allow_remote", False), bool, "[server] allow_remote")
    port = _typed(server.get("port", DEFAULT_PORT), int, "[server] port")
    if not 0 <= port <= 65535:
        raise ConfigError(f"[server] port must be in [0, 65535] (0 = any free port), got {port}")
    speed = clock.get("speed", 1.0)
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not speed > 0:
        raise ConfigError(f"[clock] speed must be a number > 0, got {speed!r}")
    start_ms = clock.get("start_ms")
    if start_ms is not None and _typed(start_ms, int, "[clock] start_ms") < 0:
        raise ConfigError(f"[clock] start_ms must be epoch milliseconds >= 0, got {start_ms}")
    tolerance = _typed(data.get("nonce_tolerance_ms", 1_000), int, "nonce_tolerance_ms")
    if tolerance < 0:
        raise ConfigError(f"nonce_tolerance_ms must be >= 0, got {tolerance}")
    instruments, states = _instruments(data)
    faults = Faults()
    try:
        faults.update(dict(_table(data, "faults", None)))
    except (TypeError, ValueError) as exc:  # ConfigError is a ValueError too
        raise ConfigError(f"[faults]: {exc}") from None
    exchange_table = dict(_table(data, "exchange", _EXCHANGE))
    exchange_table["instruments"] = [instrument_to_dict(s) for s in instruments]
    if "fees" in data:
        exchange_table["fee_schedule"] = FeeSchedule.from_config(_table(data, "fees", None))
    try:
        exchange = ExchangeConfig.from_dict(exchange_table)
    except ConfigError as exc:
        raise ConfigError(f"[exchange]: {exc}") from None
    keys = _keys(data.get("keys", []))
    market = MarketConfig.from_dict(_table(data, "market", None))
    symbol_format = _typed(
        _table(data, "uws", _UWS).get("symbol_format", "native"), str, "[uws] symbol_format"
    )
    if symbol_format not in ("native", "pair"):
        raise ConfigError(
            f'[uws] symbol_format must be "native" (PF_XBTUSD) or "pair" (BTC/USD), '
            f"got {symbol_format!r}"
        )
    unknown = [s for s in market.symbols if s not in {spec.symbol for spec in instruments}]
    if unknown:
        raise ConfigError(
            f"[market] symbols: {', '.join(unknown)} not listed; instruments: "
            f"{', '.join(spec.symbol for spec in instruments)}"
        )
    return SimConfig(
        host=host,
        port=port,
        allow_remote=allow_remote,
        speed=float(speed),
        start_ms=start_ms,
        seed=_typed(data.get("seed", 0), int, "seed"),
        keys=keys,
        accounts=_accounts(_table(data, "accounts", None)),
        exchange=exchange,
        trading_states=states,
        faults=faults,
        market=market,
        rate_limits=_typed(data.get("rate_limits", True), bool, "rate_limits"),
        nonce_tolerance_ms=tolerance,
        uws_symbol_format=symbol_format,
    )


def _keys(rows: Any) -> tuple[KeyConfig, ...]:
    if not isinstance(rows, list):
        raise ConfigError(
            "keys must be an array of tables: [[keys]] api_key = ... api_secret = ..."
        )
    out: list[KeyConfig] = []
    for i, row in enumerate(rows):
        where = f"[[keys]] #{i + 1}"
        if not isinstance(row, Mapping):
            raise ConfigError(f"{where}: expected a table")
        _known(row, _KEY, where)
        for required in ("api_key", "api_secret"):
            if required not in row:
                raise ConfigError(f"{where}: {required} is required")
        api_key = _typed(row["api_key"], str, f"{where} api_key")
        if not api_key or any(c.isspace() for c in api_key):
            raise ConfigError(f"{where}: api_key must be non-empty without spaces")
        secret = _typed(row["api_secret"], str, f"{where} api_secret")
        try:
            decode_secret(secret)
        except ConfigError as exc:  # the message never contains the secret
            raise ConfigError(f"{where} ({api_key[:4]}...): {exc}") from None
        account = _account_name(row.get("account", DEFAULT_ACCOUNT), f"{where} account")
        permission = _typed(row.get("permission", "full"), str, f"{where} permission")
        if permission not in ("read", "full"):
            raise ConfigError(f'{where}: permission must be "read" or "full", got {permission!r}')
        if any(k.api_key == api_key for k in out):
            raise ConfigError(f"{where}: api_key {api_key[:4]}... is configured twice")
        kind = _typed(row.get("kind", FUTURES_KEY), str, f"{where} kind")
        if kind not in (FUTURES_KEY, SPOT_KEY):
            raise ConfigError(
                f'{where}: kind must be "futures" (legacy REST + ws/v1) or "spot" '
                f"(Spot REST + Unified WebSocket), got {kind!r}"
            )
        out.append(
            KeyConfig(
                api_key,
                secret,
                account,
                Permission(permission),
                _typed(row.get("withdrawal", False), bool, f"{where} withdrawal"),
                kind,
                _typed(row.get("websocket", True), bool, f"{where} websocket"),
            )
        )
    return tuple(out)


def _accounts(table: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, row in table.items():
        where = f"[accounts.{name}]"
        _account_name(name, where)
        if not isinstance(row, Mapping):
            raise ConfigError(f"{where}: expected a table like flex = {{USD = 100000}}")
        _known(row, _ACCOUNT, where)
        kwargs: dict[str, Any] = {}
        for wallet in ("flex", "cash"):
            if wallet in row:
                kwargs[wallet] = _amounts(row[wallet], f"{where} {wallet}")
        if "margin" in row:
            margin = row["margin"]
            if not isinstance(margin, Mapping):
                raise ConfigError(
                    f"{where} margin: expected a table like {{fi_xbtusd = {{xbt = 1}}}}"
                )
            kwargs["margin"] = {
                str(group): _amounts(coins, f"{where} margin.{group}")
                for group, coins in margin.items()
            }
        if "self_trade_strategy" in row:
            value = row["self_trade_strategy"]
            try:
                kwargs["stp"] = SelfTradeStrategy(value)
            except ValueError:
                valid = ", ".join(s.value for s in SelfTradeStrategy)
                raise ConfigError(
                    f"{where} self_trade_strategy: {value!r} is not one of {valid}"
                ) from None
        out[name] = kwargs
    return out


def _amounts(value: Any, where: str) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table of currency = amount, e.g. {{USD = 100000}}")
    out = {}
    for ccy, amount in value.items():
        number = to_decimal(amount, f"{where}.{ccy}")
        if not number.is_finite() or number < 0:
            raise ConfigError(f"{where}.{ccy}: must be a finite amount >= 0, got {amount!r}")
        out[str(ccy)] = number
    return out


def _instruments(
    data: Mapping[str, Any],
) -> tuple[tuple[InstrumentSpec, ...], dict[str, TradingState]]:
    use_defaults = _typed(data.get("default_instruments", True), bool, "default_instruments")
    specs: dict[str, InstrumentSpec] = (
        {s.symbol: s for s in DEFAULT_INSTRUMENTS} if use_defaults else {}
    )
    rows = data.get("instruments", [])
    if not isinstance(rows, list):
        raise ConfigError("instruments must be an array of tables: [[instruments]] symbol = ...")
    states: dict[str, TradingState] = {}
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"[[instruments]] #{i + 1}"
        if not isinstance(row, Mapping):
            raise ConfigError(f"{where}: expected a table")
        _known(row, _INSTRUMENT, where)
        symbol = row.get("symbol")
        if not isinstance(symbol, str) or not symbol.strip():
            raise ConfigError(f'{where}: symbol is required (e.g. symbol = "PF_XBTUSD")')
        symbol = symbol.strip().upper()
        where = f"[[instruments]] {symbol}"
        if symbol in seen:
            raise ConfigError(f"{where}: listed twice")
        seen.add(symbol)
        if "lot_size" in row and "size_precision" in row:
            raise ConfigError(f"{where}: give lot_size or size_precision, not both")
        fields_ = {k: v for k, v in row.items() if k not in _INSTRUMENT_STATE}
        base = instrument_to_dict(specs[symbol]) if symbol in specs else {}
        if "size_precision" in fields_:
            base.pop("lot_size", None)
        merged = {**base, **fields_, "symbol": symbol}
        specs[symbol] = instrument_from_config(merged)
        state = _trading_state(row, where)
        if state is not None:
            states[symbol] = state
    if not specs:
        raise ConfigError(
            "no instruments: default_instruments = false needs [[instruments]] entries"
        )
    return tuple(specs.values()), states


def _trading_state(row: Mapping[str, Any], where: str) -> TradingState | None:
    state = None
    if "trading_state" in row:
        value = row["trading_state"]
        valid = ("open", "post_only", "suspended", "maintenance")
        if value not in valid:
            raise ConfigError(f"{where} trading_state: {value!r} is not one of {', '.join(valid)}")
        state = TradingState(value)
    if _typed(row.get("post_only", False), bool, f"{where} post_only"):
        if state not in (None, TradingState.POST_ONLY):
            raise ConfigError(
                f"{where}: post_only = true contradicts trading_state = {state.value!r}"
            )
        state = TradingState.POST_ONLY
    return state


# ------------------------------------------------------------------------------------ helpers


def _known(table: Mapping[str, Any], valid: tuple[str, ...], section: str) -> None:
    for key in table:
        if key not in valid:
            raise ConfigError(f"{section}: unknown key {key!r}; valid keys: {', '.join(valid)}")


def _table(data: Mapping[str, Any], name: str, valid: tuple[str, ...] | None) -> Mapping[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"[{name}] must be a table")
    if valid is not None:
        _known(table, valid, f"[{name}]")
    return table


def _typed(value: Any, kind: type, what: str) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{what}: expected {kind.__name__}, got {value!r}")
    return value


def _account_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what}: expected a non-empty account name")
    if is_internal_account(name):
        raise ConfigError(
            f"{what}: account names starting with '_' are reserved for the synthetic market"
        )
    return name


# ----------------------------------------------------------------------------------- keys


def generate_key_pair(rng: random.Random | None = None) -> tuple[str, str]:
    """A Kraken-looking key pair: ``api_key`` is 56 base64 characters (42 bytes), the secret
    the base64 of 64 random bytes (88 characters). Uses :mod:`secrets` unless a seeded ``rng``
    is given (tests, reproducible demos)."""

    def draw(n: int) -> bytes:
        return rng.randbytes(n) if rng is not None else secrets.token_bytes(n)

    api_key = base64.b64encode(draw(42)).decode("ascii")
    api_secret = base64.b64encode(draw(64)).decode("ascii")
    return api_key, api_secret


# -------------------------------------------------------------------------------- example


def example_config() -> str:
    """A commented ``sim.toml`` with every section; it loads as-is (the defaults, plus one
    funded account)."""
    return _EXAMPLE


_EXAMPLE = """\
# sim.toml - settings of the local Kraken Futures simulator (`kf sim --config sim.toml`).
# Every key is optional; the values shown are the defaults unless said otherwise.
# Command-line flags (--port, --seed, --speed, --api-key ...) override this file.

seed = 0                    # seeds prices, order ids and fault dice: same seed, same run
rate_limits = true          # enforce Kraken's per-key cost budgets (apiLimitExceeded)
nonce_tolerance_ms = 1000   # how long out-of-order nonces are tolerated
default_instruments = true  # list PF_XBTUSD, PF_ETHUSD, PF_SOLUSD and PI_XBTUSD

[server]
host = "127.0.0.1"          # loopback; another address also needs allow_remote (or --allow-remote)
port = 8787                 # 0 picks a free port
allow_remote = false

[clock]
speed = 1.0                 # exchange time runs this many times faster (60: an hour a minute)
# start_ms = 1767225600000  # exchange epoch ms at start (default: now)

# API keys. Without any, `kf sim` generates a pair, prints it and writes a credentials file.
# [[keys]]
# api_key = "..."           # any string without spaces (Kraken's are 56 base64 characters)
# api_secret = "..."        # base64 (Kraken's: 64 random bytes)
# account = "main"          # the account this key trades
# permission = "full"       # "read" or "full"
# withdrawal = false
# kind: "futures" (the default: REST v3 + ws/v1) or "spot" (Spot REST + Unified WebSocket)
# websocket: true (default) or false, a spot key's "Access WebSockets API" permission

# Accounts and their opening balances (default: flex USD 100,000 and 1 XBT in fi_xbtusd).
# Names starting with "_" are reserved for the synthetic market.
[accounts.main]
flex = { USD = 100000 }
# cash = { xbt = 0.5 }
# margin = { fi_xbtusd = { xbt = 1 } }
# self_trade_strategy = "REJECT_TAKER"

# Instruments: a known symbol overrides fields of the default, a new symbol adds a contract.
# [[instruments]]
# symbol = "PF_XBTUSD"
# tick_size = 1
# size_precision = 4         # or lot_size = 0.0001
# max_position_size = 1200
# reference_price = 60000    # where index and mark start
# trading_state = "open"     # open, post_only, suspended, maintenance
# margin_levels = [
#   { threshold = 0, initial = 0.02, maintenance = 0.01 },
#   { threshold = 500000, initial = 0.04, maintenance = 0.02 },
# ]

# Fee tiers by 30-day USD volume (default: Kraken's eight published tiers).
# [fees]
# name = "flat"
# tiers = [ { min_volume_usd = 0, maker_pct = "0.02", taker_pct = "0.05" } ]

# Engine knobs.
[exchange]
max_open_orders = 500
mark_ema_ms = 30000          # mark = index + EMA of (impact mid - index)
mark_premium_band = "0.005"
order_status_window_ms = 5000

# Faults, also switchable at run time with `kf sim ctl faults`.
[faults]
latency_ms = 0
drop_after_execute_next = 0  # execute the next N orders, then drop the reply
drop_after_execute_rate = 0.0
http_5xx_next = 0
http_5xx_rate = 0.0
unavailable_next = 0
unavailable_rate = 0.0
rate_limit_exhausted = false
uws_drop_next = 0            # Unified WebSocket: abort the N oldest connections
uws_checksum_break_next = 0  # a wrong book checksum on the next N book messages
uws_drop_reply_next = 0      # execute the next N order methods, never answer
uws_unavailable_next = 0     # refuse the next N order methods (EService:Unavailable)
uws_seq_skip_next = 0        # skip one sequence number on the next N sequenced private updates
uws_status = ""              # force the status system: online, maintenance, cancel_only, post_only

# The synthetic market: index random walk, a market maker and random takers.
[market]
enabled = true
# symbols = ["PF_XBTUSD"]      # default: every instrument
index_vol_per_sqrt_hour = "0.01"  # 1 % per sqrt(hour), in exchange time
index_update_ms = 1000
levels = 10                   # market-maker orders per side
level_notional_usd = 20000    # size of the best level; deeper levels grow by level_growth
level_growth = "0.25"
half_spread_bps = "0.5"
level_step_bps = "1"
requote_bps = "2"             # the ladder moves when its centre is this far off
premium_vol_bps_per_sqrt_hour = 20  # mark premium over index, hence funding
max_premium_bps = 40
taker_rate_per_min = 20.0     # random market orders per instrument per exchange minute
taker_min_notional_usd = 100
taker_max_notional_usd = 20000

# The Unified WebSocket (/v2/public, /v2/private): its token needs a key of kind "spot".
[uws]
symbol_format = "native"      # "native" (PF_XBTUSD) or "pair" (BTC/USD); input accepts both
"""


__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_PORT",
    "FUTURES_KEY",
    "SPOT_KEY",
    "KeyConfig",
    "SimConfig",
    "example_config",
    "generate_key_pair",
    "load_config",
    "parse_config",
]
