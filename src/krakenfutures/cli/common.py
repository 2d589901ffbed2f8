"""What every `kf` command shares: the global options, a lazily built :class:`Client`, exit
codes, argument types and symbol checks.

Nothing heavy is imported at module level: the client (and its HTTP pool) loads the first time a
command asks for it, so ``kf --help`` and ``kf fees`` never touch the network stack.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from krakenfutures.client.sync import Client
    from krakenfutures.core.rest.schema_market import Instrument


class ExitCode(enum.IntEnum):
    """Process exit codes of `kf` (documented in ``kf --help`` and cli/main.py)."""

    OK = 0
    BUG = 1
    USAGE = 2
    CONFIG = 3
    EXCHANGE = 4
    TRANSPORT = 5
    ORDER_REFUSED = 6


class KfError(click.ClickException):
    """A failure shown as one line on stderr, ending the process with ``exit_code``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click reads it per instance


# Retry less than a long-running bot would: a person (or script) at the prompt wants the answer
# soon, and a closed port should fail in well under a second.
_CLI_MAX_ATTEMPTS = 3


@dataclass
class CliState:
    """Global options of one `kf` invocation and the client built from them (``ctx.obj``)."""

    base_url: str | None = None
    json: bool = False
    credentials_file: str | None = None
    timeout_s: float | None = None
    verbose: int = 0
    dialect: str | None = None
    """``--dialect`` if given (else :func:`dialect` reads ``KRAKEN_FUTURES_DIALECT``)."""
    _client: Client | None = field(default=None, repr=False)

    def client(self, *, private: bool = False) -> Client:
        """The client for this invocation, built on first use.

        ``private=True`` first checks that credentials exist, so a private command fails with
        exit code 3 and a clear message instead of an ``authenticationError`` from the server.

        Raises:
            ConfigError: bad base URL, timeout or credentials (exit code 3).
        """
        if self._client is None:
            self._client = self._build()
        if private and self._client.credentials is None:
            from krakenfutures.config import ENV_API_KEY, ENV_API_SECRET, default_credentials_path
            from krakenfutures.errors import CredentialsError

            raise CredentialsError(
                f"this command needs an API key: set {ENV_API_KEY} and {ENV_API_SECRET}, "
                f"pass --credentials FILE, or create {default_credentials_path()} (chmod 600)"
            )
        return self._client

    def has_credentials(self) -> bool:
        """Whether API credentials were found (building the client if needed)."""
        return self.client().credentials is not None

    def _build(self) -> Client:
        from krakenfutures.client.sync import Client
        from krakenfutures.config import Settings, read_credentials_file, resolve_base_url
        from krakenfutures.core.retry import RetryPolicy

        timeout_s = self.timeout_s
        if timeout_s is None:
            timeout_s = Settings.from_env().timeout_s
        retry = RetryPolicy(max_attempts=_CLI_MAX_ATTEMPTS)
        if self.credentials_file is not None:
            # A file named on the command line wins over key variables in the environment.
            creds = read_credentials_file(self.credentials_file)
            base_url = resolve_base_url(self.base_url, fallback=creds.base_url)
            return Client(
                creds.api_key,
                creds.secret,  # a Secret is accepted as the secret and stays masked
                base_url=base_url,
                timeout_s=timeout_s,
                retry=retry,
            )
        return Client(base_url=self.base_url, timeout_s=timeout_s, retry=retry)

    @property
    def target(self) -> str | None:
        """The base URL in use, once the client exists (for error hints)."""
        return self._client.base_url if self._client is not None else None

    def close(self) -> None:
        """Close the client's pooled connections."""
        if self._client is not None:
            self._client.close()
            self._client = None


def state(ctx: click.Context | None = None) -> CliState:
    """The :class:`CliState` of the running command."""
    ctx = ctx or click.get_current_context()
    obj = ctx.find_object(CliState)
    if obj is None:  # a command invoked outside the `kf` group (tests, embedding)
        obj = ctx.ensure_object(CliState)
    return obj


def now_ms() -> int:
    """Wall-clock epoch milliseconds (the CLI is the edge; core functions take time as input)."""
    return time.time_ns() // 1_000_000


# ------------------------------------------------------------------------- time and currency


def iso_to_ms(value: str | None) -> int | None:
    """Kraken's ISO timestamps (``...Z``, optional microseconds) as epoch ms; ``None`` if unreadable."""
    from krakenfutures.core.timefmt import parse_iso_ms

    return parse_iso_ms(value)


def ms_to_iso(ts_ms: int) -> str:
    """Epoch ms as ``2026-03-02T13:00:00Z``."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def settlement_currency(inst: Instrument | None, symbol: str) -> str:
    """What PnL, fees and funding are paid in: USD for linear, the base coin for inverse."""
    from krakenfutures.core.types import ContractKind, contract_kind

    if contract_kind(symbol) is ContractKind.LINEAR:
        return "USD"
    if inst is not None and inst.base:
        return inst.base
    core = symbol.split("_")[1] if "_" in symbol else symbol
    return core[:-3] if core.upper().endswith("USD") else core


# ----------------------------------------------------------------------------- argument types


class DecimalType(click.ParamType):
    """A decimal number read exactly from its text (never through float).

    ``positive`` refuses zero and negatives, ``non_negative`` refuses negatives; errors are
    usage errors (exit 2) that name the argument.
    """

    name = "decimal"

    def __init__(self, *, positive: bool = False, non_negative: bool = False) -> None:
        self.positive = positive
        self.non_negative = non_negative

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Decimal):
            number = value
        else:
            text = str(value).strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                self.fail(f"{value!r} is not a decimal number (e.g. 0.5 or 64000)", param, ctx)
        if not number.is_finite():
            self.fail(f"{value!r} is not a finite number", param, ctx)
        if self.positive and number <= 0:
            self.fail(f"{value!r} must be greater than zero", param, ctx)
        if self.non_negative and number < 0:
            self.fail(f"{value!r} must be zero or more", param, ctx)
        return number


POSITIVE_DECIMAL = DecimalType(positive=True)
NON_NEGATIVE_DECIMAL = DecimalType(non_negative=True)
DECIMAL = DecimalType()


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        state(ctx).json = True
    return value


json_option = click.option(
    "--json",
    "_json",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="Print one JSON document instead of tables (same as kf --json).",
)
"""``--json`` after the command name too (``kf tickers --json``), for scripts that append it."""


def _set_dialect(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        state(ctx).dialect = value
    return value


dialect_option = click.option(
    "--dialect",
    "_dialect",
    type=click.Choice(["legacy", "unified"]),
    expose_value=False,
    callback=_set_dialect,
    help="legacy (REST v3 + WebSocket v1, Futures key) or unified (Unified WebSocket, Spot "
    "key) [env: KRAKEN_FUTURES_DIALECT; default: legacy].",
)
"""``--dialect`` on a command (or on the ``kf watch`` group): which wire the command uses."""


def dialect() -> str:
    """The wire dialect of the running command: ``--dialect``, else ``KRAKEN_FUTURES_DIALECT``,
    else ``legacy``.

    Raises:
        ConfigError: the environment variable holds an unknown dialect (exit code 3).
    """
    st = state()
    if st.dialect is None:
        from krakenfutures.config import dialect_from_env

        st.dialect = dialect_from_env()
    return st.dialect


# ------------------------------------------------------------------------------------ symbols


def is_index(symbol: str) -> bool:
    """Index and reference-rate rows (``in_xbtusd``, ``rr_xbtusd``) are not tradeable contracts."""
    return symbol[:3].lower() in ("in_", "rr_")


def unknown_symbol_message(symbol: str, known: list[str]) -> str:
    """Say that ``symbol`` does not exist and which ones do (close matches first)."""
    import difflib

    by_upper = {k.upper(): k for k in known}
    matches = [
        by_upper[m]
        for m in difflib.get_close_matches(symbol.upper(), list(by_upper), n=5, cutoff=0.6)
    ]
    if matches:
        return f"unknown symbol {symbol!r}; did you mean {', '.join(matches)}?"
    shown = sorted(known)[:12]
    more = f" (and {len(known) - len(shown)} more; see `kf instruments`)" if len(known) > 12 else ""
    listing = ", ".join(shown) if shown else "none"
    return f"unknown symbol {symbol!r}; symbols that exist: {listing}{more}"


def resolve_symbol(
    instruments: list[Instrument], symbol: str, *, param_hint: str = "SYMBOL"
) -> Instrument:
    """The contract named ``symbol`` (case-insensitive), or a usage error listing real ones.

    Raises:
        click.BadParameter: no contract has that symbol (exit code 2).
    """
    from krakenfutures.core.types import normalize_symbol

    wanted = normalize_symbol(symbol)
    contracts = [inst for inst in instruments if not is_index(inst.symbol)]
    for inst in contracts:
        if normalize_symbol(inst.symbol) == wanted:
            return inst
    raise click.BadParameter(
        unknown_symbol_message(symbol, [i.symbol for i in contracts]), param_hint=param_hint
    )


def fetch_instrument(symbol: str, *, param_hint: str = "SYMBOL") -> Instrument:
    """Check ``symbol`` against ``/instruments`` and return its row (see :func:`resolve_symbol`)."""
    return resolve_symbol(state().client().get_instruments(), symbol, param_hint=param_hint)


__all__ = [
    "DECIMAL",
    "NON_NEGATIVE_DECIMAL",
    "POSITIVE_DECIMAL",
    "CliState",
    "DecimalType",
    "ExitCode",
    "KfError",
    "dialect",
    "dialect_option",
    "fetch_instrument",
    "is_index",
    "iso_to_ms",
    "json_option",
    "ms_to_iso",
    "now_ms",
    "resolve_symbol",
    "settlement_currency",
    "state",
    "unknown_symbol_message",
]
