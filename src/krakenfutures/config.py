"""Settings, credentials and secrets: the only module that reads the environment.

Every function that consults the environment takes ``env: Mapping[str, str] | None``; ``None``
means :data:`os.environ`, tests pass a dict. Variables:

=================================  ==============================================================
``KRAKEN_FUTURES_API_KEY``         API key (public part); needs ``..._API_SECRET`` too
``KRAKEN_FUTURES_API_SECRET``      API secret (base64, as Kraken shows it)
``KRAKEN_FUTURES_CREDENTIALS``     path of a credentials file (TOML, see below)
``KRAKEN_FUTURES_BASE_URL``        ``live`` or an origin such as ``http://127.0.0.1:8787``
``KRAKEN_FUTURES_TIMEOUT_S``       request timeout in seconds
``KRAKEN_FUTURES_STATE_DIR``       where nonce state lives (default: XDG state dir)
``KRAKEN_FUTURES_TELEGRAM_TOKEN``  Telegram bot token for alerts (never in a config file)
``KRAKEN_SPOT_API_KEY``            Spot API key (Unified WebSocket tokens, ``TradeVolume`` fees)
``KRAKEN_SPOT_API_SECRET``         Spot API secret (base64); needs ``..._API_KEY`` too
``KRAKEN_FUTURES_DIALECT``         ``legacy`` (REST v3 + WS v1) or ``unified`` (Unified WebSocket)
``XDG_CONFIG_HOME``/``XDG_STATE_HOME``/``HOME``  the usual base directories
=================================  ==============================================================

The credentials file (default ``$XDG_CONFIG_HOME/krakenfutures/credentials.toml``) must be
readable by its owner only (``chmod 600``)::

    api_key = "..."
    api_secret = "..."
    base_url = "http://127.0.0.1:8787"   # optional

Secrets are held in :class:`Secret`, which never shows its value in ``repr``/``str``/f-strings,
logs or tracebacks and refuses to be pickled.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from krakenfutures.core.signing import decode_secret
from krakenfutures.errors import ConfigError, CredentialsError

LIVE_BASE_URL = "https://futures.kraken.com"
ENV_API_KEY = "KRAKEN_FUTURES_API_KEY"
ENV_API_SECRET = "KRAKEN_FUTURES_API_SECRET"
ENV_CREDENTIALS = "KRAKEN_FUTURES_CREDENTIALS"
ENV_BASE_URL = "KRAKEN_FUTURES_BASE_URL"
ENV_TIMEOUT = "KRAKEN_FUTURES_TIMEOUT_S"
ENV_STATE_DIR = "KRAKEN_FUTURES_STATE_DIR"
ENV_TELEGRAM_TOKEN = "KRAKEN_FUTURES_TELEGRAM_TOKEN"
ENV_SPOT_API_KEY = "KRAKEN_SPOT_API_KEY"
ENV_SPOT_API_SECRET = "KRAKEN_SPOT_API_SECRET"
ENV_DIALECT = "KRAKEN_FUTURES_DIALECT"
DIALECTS = ("legacy", "unified")
"""Wire dialects: ``legacy`` (REST v3 + WebSocket v1, Futures key) and ``unified`` (the Unified
WebSocket with a Spot key, see docs/migration-uws.md)."""
SPOT_LIVE_BASE_URL = "https://api.kraken.com"
"""Kraken Spot REST, where Unified WebSocket tokens and ``TradeVolume`` fees come from."""

_MASK = "Secret('****')"
_FILE_KEYS = frozenset({"api_key", "api_secret", "base_url"})


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def _get(env: Mapping[str, str], name: str) -> str | None:
    """An environment value, with empty strings treated as unset."""
    value = env.get(name)
    return value if value else None


class Secret:
    """A base64 API secret that never shows itself.

    ``repr``, ``str`` and any format spec give ``Secret('****')``; pickling is refused;
    equality is constant-time. The value is checked once, at construction.

    Raises:
        CredentialsError: the value is not a str, or not valid base64 (the message never
            contains the secret).
    """

    __slots__ = ("__key", "__value")

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise CredentialsError(
                f"API secret must be a str (the base64 text Kraken shows), got "
                f"{type(value).__name__}; pass e.g. secret_bytes.decode('ascii')"
            )
        value = value.strip()
        try:
            key = decode_secret(value)
        except CredentialsError as exc:
            message = str(exc)
            # Keep the rejected text out of tracebacks that print frame locals.
            del value, exc
            raise CredentialsError(message) from None
        self.__key = key
        self.__value = value

    def reveal(self) -> str:
        """The secret text itself. Only for code that must hand it on (e.g. writing a file)."""
        return self.__value

    def key(self) -> bytes:
        """The decoded HMAC key (see :func:`krakenfutures.core.signing.decode_secret`)."""
        return self.__key

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(_MASK, spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self.__value.encode(), other.__value.encode())

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self.__value.encode()).digest())

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            "a Secret cannot be pickled; give the other process the credentials through "
            f"{ENV_API_KEY}/{ENV_API_SECRET} or a credentials file instead"
        )

    def __copy__(self) -> Secret:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def _check_api_key(api_key: object) -> str:
    if not isinstance(api_key, str):
        raise CredentialsError(
            f"API key must be a str, got {type(api_key).__name__}; pass the public key text "
            "exactly as Kraken shows it (Settings > API keys)"
        )
    cleaned = api_key.strip()
    if not cleaned:
        raise CredentialsError("API key is empty; create a key pair under Settings > API keys")
    if any(ch.isspace() for ch in cleaned):
        raise CredentialsError(
            f"API key contains whitespace ({len(cleaned)} characters); copy it again in one piece"
        )
    return cleaned


def mask_key(api_key: str) -> str:
    """An API key shown safely: its first 4 characters and an ellipsis."""
    return f"{api_key[:4]}…" if len(api_key) > 8 else "…"


@dataclass(frozen=True)
class Credentials:
    """An API key pair (and the base URL a credentials file named, if any).

    ``secret`` may be given as a str; it is wrapped in :class:`Secret` and validated here.
    The repr shows only the first 4 characters of the key and never the secret.

    Raises:
        CredentialsError: the key is not a non-empty str, or the secret is not base64.
    """

    api_key: str
    secret: Secret = field(compare=True)
    base_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_key", _check_api_key(self.api_key))
        if not isinstance(self.secret, Secret):
            object.__setattr__(self, "secret", Secret(self.secret))

    def masked_key(self) -> str:
        """The key as shown in reprs and logs: ``abcd…``."""
        return mask_key(self.api_key)

    def __repr__(self) -> str:
        extra = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"Credentials(api_key={self.masked_key()!r}, secret={_MASK}{extra})"

    __str__ = __repr__


# ---------------------------------------------------------------------------- directories


def _home(env: Mapping[str, str]) -> Path:
    home = _get(env, "HOME")
    return Path(home) if home else Path.home()


def _xdg(env: Mapping[str, str], name: str, default: str) -> Path:
    value = _get(env, name)
    # The XDG spec says relative paths are invalid and must be ignored.
    if value and os.path.isabs(value):
        return Path(value)
    return _home(env) / default


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/krakenfutures`` (default ``~/.config/krakenfutures``)."""
    return _xdg(_env(env), "XDG_CONFIG_HOME", ".config") / "krakenfutures"


def default_credentials_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the credentials file is looked for when no path is given."""
    e = _env(env)
    named = _get(e, ENV_CREDENTIALS)
    return Path(named).expanduser() if named else config_dir(e) / "credentials.toml"


def sim_credentials_path(env: Mapping[str, str] | None = None) -> Path:
    """Where ``kf sim`` writes the key pair it generates (picked up for loopback base URLs)."""
    return config_dir(env) / "sim-credentials.toml"


def is_loopback_url(base_url: str) -> bool:
    """Whether an origin points at this machine (127.0.0.0/8, ::1, localhost)."""
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def sim_credentials_for(base_url: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The simulator's credentials when ``base_url`` is the loopback origin they were made for."""
    path = sim_credentials_path(env)
    if not is_loopback_url(base_url) or not path.exists():
        return None
    creds = read_credentials_file(path)
    if creds.base_url is not None and creds.base_url.rstrip("/") != base_url.rstrip("/"):
        return None
    return creds


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where local state (nonce files) lives: ``KRAKEN_FUTURES_STATE_DIR``, else
    ``$XDG_STATE_HOME/krakenfutures`` (default ``~/.local/state/krakenfutures``). Not created."""
    e = _env(env)
    named = _get(e, ENV_STATE_DIR)
    if named:
        return Path(named).expanduser()
    return _xdg(e, "XDG_STATE_HOME", os.path.join(".local", "state")) / "krakenfutures"


# ---------------------------------------------------------------------------- credentials


def _pair(api_key: str | None, api_secret: str | None, where: str, names: tuple[str, str]) -> None:
    if (api_key is None) != (api_secret is None):
        missing = names[1] if api_secret is None else names[0]
        given = names[0] if api_secret is None else names[1]
        raise CredentialsError(f"{given} is set {where} but {missing} is not: give both or neither")


def load_credentials(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials | None:
    """Find the API key pair, or ``None`` when there is none (public endpoints only).

    Precedence: the arguments, then ``KRAKEN_FUTURES_API_KEY``/``KRAKEN_FUTURES_API_SECRET``,
    then the credentials file (``path``, else ``KRAKEN_FUTURES_CREDENTIALS``, else
    ``<config dir>/krakenfutures/credentials.toml``). A missing default file means "no
    credentials"; a file named explicitly must exist.

    Raises:
        CredentialsError: only one of key/secret found, a malformed key or secret, or an
            unreadable, malformed or group/world-readable credentials file.
    """
    if api_key is not None or api_secret is not None:
        _pair(api_key, api_secret, "as an argument", ("api_key", "api_secret"))
        return Credentials(api_key, Secret(api_secret))  # type: ignore[arg-type]
    e = _env(env)
    env_key, env_secret = _get(e, ENV_API_KEY), _get(e, ENV_API_SECRET)
    if env_key is not None or env_secret is not None:
        _pair(env_key, env_secret, "in the environment", (ENV_API_KEY, ENV_API_SECRET))
        return Credentials(env_key, Secret(env_secret))  # type: ignore[arg-type]
    explicit = path is not None or _get(e, ENV_CREDENTIALS) is not None
    file = Path(path).expanduser() if path is not None else default_credentials_path(e)
    if not file.exists():
        if explicit:
            raise CredentialsError(
                f"credentials file {file} does not exist; create it with api_key and api_secret "
                f"(chmod 600), or pass the key pair as arguments"
            )
        return None
    return read_credentials_file(file)


def load_spot_credentials(
    api_key: str | None = None,
    api_secret: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """The Kraken **Spot** key pair (Unified WebSocket tokens, ``TradeVolume`` fees).

    Precedence: the arguments, then ``KRAKEN_SPOT_API_KEY``/``KRAKEN_SPOT_API_SECRET``. A Spot
    key is a different key pair from the Futures one (created under Settings > API on
    kraken.com, not futures.kraken.com), so the Futures variables are never consulted.

    Raises:
        CredentialsError: no Spot key pair found, only one half of it, or a malformed one.
    """
    if api_key is not None or api_secret is not None:
        _pair(api_key, api_secret, "as an argument", ("api_key", "api_secret"))
        return Credentials(api_key, Secret(api_secret))  # type: ignore[arg-type]
    e = _env(env)
    env_key, env_secret = _get(e, ENV_SPOT_API_KEY), _get(e, ENV_SPOT_API_SECRET)
    if env_key is None and env_secret is None:
        raise CredentialsError(
            f"no Kraken Spot API key: pass api_key/api_secret or set {ENV_SPOT_API_KEY} and "
            f"{ENV_SPOT_API_SECRET} (a Spot key from kraken.com Settings > API with the "
            "'WebSocket interface' permission; a Futures key does not work on Spot REST)"
        )
    _pair(env_key, env_secret, "in the environment", (ENV_SPOT_API_KEY, ENV_SPOT_API_SECRET))
    return Credentials(env_key, Secret(env_secret))  # type: ignore[arg-type]


def dialect_from_env(env: Mapping[str, str] | None = None) -> str:
    """The wire dialect ``KRAKEN_FUTURES_DIALECT`` names (case-insensitive), ``legacy`` if unset.

    Raises:
        ConfigError: the variable holds something other than ``legacy`` or ``unified``.
    """
    raw = _get(_env(env), ENV_DIALECT)
    if raw is None:
        return DIALECTS[0]
    value = raw.strip().lower()
    if value not in DIALECTS:
        raise ConfigError(f"{ENV_DIALECT}={raw!r}: use one of {', '.join(DIALECTS)}")
    return value


def _file_error(file: Path, text: str) -> NoReturn:
    raise CredentialsError(f"credentials file {file}: {text}")


def read_credentials_file(path: str | os.PathLike[str]) -> Credentials:
    """Read a TOML credentials file, refusing one that others could read.

    Raises:
        CredentialsError: missing, unreadable, not owner-only, malformed, or missing a field.
    """
    file = Path(path)
    try:
        st = file.stat()
    except OSError as exc:
        _file_error(file, f"cannot be read ({exc.strerror})")
    if not stat.S_ISREG(st.st_mode):
        _file_error(file, "is not a regular file")
    if os.name == "posix" and st.st_mode & 0o077:
        raise CredentialsError(
            f"credentials file {file} is readable by other users (mode "
            f"{stat.S_IMODE(st.st_mode):03o}); run: chmod 600 {file}"
        )
    import tomllib  # lazily: keeps `import krakenfutures` fast

    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages give a position, never the offending text.
        _file_error(file, f"is not valid TOML ({exc})")
    except OSError as exc:
        _file_error(file, f"cannot be read ({exc.strerror})")
    unknown = sorted(set(data) - _FILE_KEYS)
    if unknown:
        _file_error(
            file, f"unknown field(s) {', '.join(unknown)}; allowed: api_key, api_secret, base_url"
        )
    for name in ("api_key", "api_secret"):
        if name not in data:
            _file_error(file, f"{name} is missing")
    for name in _FILE_KEYS & set(data):
        if not isinstance(data[name], str):
            _file_error(file, f'{name} must be a quoted string, e.g. {name} = "..."')
    try:
        secret = Secret(data.pop("api_secret"))
        creds = Credentials(data["api_key"], secret)
    except CredentialsError as exc:
        _file_error(file, str(exc))
    base_url = data.get("base_url")
    if base_url is not None:
        try:
            base_url = resolve_base_url(base_url)
        except ConfigError as exc:
            _file_error(file, f"base_url: {exc}")
    return Credentials(creds.api_key, secret, base_url)


def _toml_string(value: str) -> str:
    # JSON string escapes (\" \\ \n \uXXXX ...) are valid TOML basic-string escapes.
    import json

    return json.dumps(value, ensure_ascii=False)


def write_credentials(
    path: str | os.PathLike[str],
    api_key: str,
    api_secret: str,
    base_url: str | None = None,
) -> Path:
    """Write a credentials file atomically with mode 0600 (parent created with 0700).

    The values are validated first, so a file that :func:`load_credentials` would refuse is
    never written. Returns the path written.

    Raises:
        CredentialsError: the key, secret or base URL is malformed.
    """
    creds = Credentials(api_key, Secret(api_secret))
    lines = [
        f"api_key = {_toml_string(creds.api_key)}",
        f"api_secret = {_toml_string(creds.secret.reveal())}",
    ]
    if base_url is not None:
        try:
            lines.append(f"base_url = {_toml_string(resolve_base_url(base_url))}")
        except ConfigError as exc:
            raise CredentialsError(f"base_url: {exc}") from None
    file = Path(path).expanduser()
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".credentials-", suffix=".tmp", dir=file.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already uses 0600; make it explicit
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return file


_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def load_telegram_token(env: Mapping[str, str] | None = None) -> Secret | None:
    """The Telegram bot token from ``KRAKEN_FUTURES_TELEGRAM_TOKEN``, or ``None`` when unset.

    :class:`Secret` holds base64 text and a bot token (``123456:AA...``) is not base64, so the
    token is carried base64-encoded: ``secret.key().decode()`` gives the token back. Tokens are
    read from the environment only, never from a config file.

    Raises:
        CredentialsError: the value is not shaped like a bot token (the message never shows it).
    """
    raw = _get(_env(env), ENV_TELEGRAM_TOKEN)
    if raw is None:
        return None
    token = raw.strip()
    bot_id, colon, rest = token.partition(":")
    if not (colon and bot_id.isascii() and bot_id.isdigit() and rest and set(rest) <= _TOKEN_CHARS):
        del raw, token, rest  # keep the rejected text out of tracebacks that print locals
        raise CredentialsError(
            f"{ENV_TELEGRAM_TOKEN} is not a Telegram bot token; expected <bot id>:<secret> "
            "exactly as @BotFather shows it"
        )
    return Secret(base64.b64encode(token.encode("ascii")).decode("ascii"))


# ---------------------------------------------------------------------------- settings


def resolve_base_url(
    value: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    fallback: str | None = None,
) -> str:
    """The origin to talk to: ``value``, else ``KRAKEN_FUTURES_BASE_URL``, else ``fallback``
    (e.g. a credentials file's ``base_url``), else :data:`LIVE_BASE_URL`.

    Accepts ``"live"`` or an origin ``scheme://host[:port]`` (http or https, no path). Paths
    such as ``/derivatives/api/v3`` are refused rather than guessed at: the client adds them.

    Raises:
        ConfigError: ``demo`` (retired), a path, query, user info, or an unusable URL.
    """
    if value is None:
        value = _get(_env(env), ENV_BASE_URL)
    if value is None:
        value = fallback
    if value is None:
        return LIVE_BASE_URL
    if not isinstance(value, str):
        raise ConfigError(f"base_url must be a str, got {type(value).__name__}")
    text = value.strip()
    word = text.lower()
    if word == "live":
        return LIVE_BASE_URL
    if word == "demo" or "demo-futures.kraken.com" in word:
        raise ConfigError(
            "the Kraken Futures demo environment (demo-futures.kraken.com) was retired in July "
            "2026; run the local simulator with `kf sim` and pass its address, e.g. "
            "base_url='http://127.0.0.1:8787'"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"base_url {text!r} is not a valid URL ({exc})") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"base_url {text!r} must be 'live' or an origin like https://futures.kraken.com "
            "or http://127.0.0.1:8787"
        )
    if parts.username is not None or parts.password is not None:
        raise ConfigError("base_url must not contain user:password@; pass credentials separately")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        origin = f"{scheme}://{parts.netloc}"
        raise ConfigError(
            f"base_url {text!r} has a path; pass the origin only ({origin!r}): the client adds "
            "/derivatives/api/v3, /api/history/... itself"
        )
    if scheme == "http" and (host == "kraken.com" or host.endswith(".kraken.com")):
        raise ConfigError(f"Kraken is reached over https only; use https://{host}")
    host_part = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host_part}" + (f":{port}" if port is not None else "")


def _timeout(raw: str | None) -> float:
    if raw is None:
        return 10.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{ENV_TIMEOUT} must be a positive number of seconds, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Where and how the client connects, with the environment applied by :meth:`from_env`."""

    base_url: str = LIVE_BASE_URL
    timeout_s: float = 10.0
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", resolve_base_url(self.base_url))
        if not isinstance(self.timeout_s, int | float) or not self.timeout_s > 0:
            raise ConfigError(f"timeout_s must be a positive number, got {self.timeout_s!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``KRAKEN_FUTURES_BASE_URL``, ``..._TIMEOUT_S``, ``..._STATE_DIR``.

        Raises:
            ConfigError: a variable holds an unusable value.
        """
        e = _env(env)
        return cls(
            base_url=resolve_base_url(None, env=e),
            timeout_s=_timeout(_get(e, ENV_TIMEOUT)),
            state_dir=state_dir(e),
        )


__all__ = [
    "DIALECTS",
    "ENV_API_KEY",
    "ENV_API_SECRET",
    "ENV_BASE_URL",
    "ENV_CREDENTIALS",
    "ENV_DIALECT",
    "ENV_SPOT_API_KEY",
    "ENV_SPOT_API_SECRET",
    "ENV_STATE_DIR",
    "ENV_TELEGRAM_TOKEN",
    "ENV_TIMEOUT",
    "LIVE_BASE_URL",
    "SPOT_LIVE_BASE_URL",
    "Credentials",
    "Secret",
    "Settings",
    "config_dir",
    "default_credentials_path",
    "dialect_from_env",
    "load_credentials",
    "load_spot_credentials",
    "load_telegram_token",
    "mask_key",
    "read_credentials_file",
    "resolve_base_url",
    "state_dir",
    "write_credentials",
]
