"""Alert sinks: the log, Telegram (Bot API over HTTPS) and generic JSON webhooks, and
:func:`sinks_from_config` for a TOML ``[alerts]`` table. Delivery, retries and throttling are
:class:`~krakenfutures.runtime.alert_router.AlertRouter`'s (re-exported here).

Secrets: the Telegram token comes only from ``KRAKEN_FUTURES_TELEGRAM_TOKEN``
(:func:`krakenfutures.config.load_telegram_token`); sinks never show it in reprs, errors or
logs, and while a sink is open a filter on the ``httpx`` logger masks it in httpx's own
``HTTP Request: POST https://.../bot<token>/...`` lines. Errors are raised without the httpx
exception attached: its text and request carry the URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from krakenfutures.config import (
    ENV_TELEGRAM_TOKEN,
    Secret,
    is_loopback_url,
    load_telegram_token,
)
from krakenfutures.errors import ConfigError, RemoteProtocolError, TransportError
from krakenfutures.runtime.alert_router import (
    AlertRouter,
    AlertSink,
    Hidden,
    SinkStats,
    secret_texts,
)
from krakenfutures.signals.alerts import Alert, Severity
from krakenfutures.signals.alerts import redact as redact_text

logger = logging.getLogger(__name__)
ALERTS_LOGGER = "krakenfutures.alerts"
TELEGRAM_API_URL = "https://api.telegram.org"
TELEGRAM_MAX_TEXT = 4096  # Bot API limit for sendMessage text


class _LogScrubber(logging.Filter):
    """Masks secrets in records of a third-party logger (httpx logs full request URLs)."""

    def __init__(self, texts: Hidden) -> None:
        super().__init__()
        self._texts = texts

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, self._texts.value)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class _HttpSink:
    """Shared plumbing: an httpx client (ours or the caller's), scrubbing, closing."""

    name = "http"

    def __init__(
        self, client: httpx.AsyncClient | None, timeout_s: float, secrets: Iterable[Secret | str]
    ) -> None:
        self._own_client = client is None
        self._client = client  # ours is made on first use: building a sink costs nothing
        self._timeout_s = timeout_s
        self._texts = Hidden(secret_texts(secrets))
        self._scrubber = _LogScrubber(self._texts)

    def _scrub(self, text: str) -> str:
        return redact_text(text, self._texts.value)

    def secret_texts(self) -> tuple[str, ...]:
        """The texts this sink must never show (the router masks them in alerts and logs)."""
        return tuple(self._texts.value)

    async def _post(
        self, url: str, payload: Mapping[str, Any], what: str, **kw: Any
    ) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout_s)
        logging.getLogger("httpx").addFilter(self._scrubber)  # a no-op once added
        failure = None
        try:
            return await self._client.post(url, json=payload, timeout=self._timeout_s, **kw)
        except Exception as exc:  # httpx's, and anything below it (ssl, h11, OSError)
            # Raised outside the except block so the original exception (its text and request
            # carry the URL) is not even attached as __context__.
            failure = self._scrub(f"{type(exc).__name__}: {exc}".rstrip(": "))
        raise TransportError(f"{what} failed before an answer came ({failure})")

    async def aclose(self) -> None:
        """Close our httpx client (not a caller's) and stop scrubbing httpx logs."""
        logging.getLogger("httpx").removeFilter(self._scrubber)
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None


def _check_url(url: str, what: str) -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{what} must be a str, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback_url(url))
    if secure and parts.hostname:
        return url.strip().rstrip("/")
    raise ConfigError(
        f"{what} must be an https:// URL (http:// only for 127.0.0.1/localhost), got "
        f"{parts.scheme or 'no'} scheme"
    )


def _retry_after(value: object) -> float | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _retryable(message: str, retry_after_s: float | None) -> TransportError:
    error = TransportError(message)
    error.retry_after_s = retry_after_s  # type: ignore[attr-defined]  # read by AlertRouter
    return error


# ---------------------------------------------------------------------------------- sinks


_LEVELS = {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING}


class LogSink:
    """Alerts as log lines on ``krakenfutures.alerts`` (critical at ``CRITICAL`` level)."""

    name = "log"

    def __init__(
        self, *, logger: logging.Logger | None = None, min_severity: Severity = Severity.INFO
    ) -> None:
        self._logger = logger or logging.getLogger(ALERTS_LOGGER)
        self.min_severity = Severity(min_severity)

    async def send(self, alert: Alert) -> None:
        """Log the alert's one-line text."""
        self._logger.log(_LEVELS.get(alert.severity, logging.CRITICAL), "%s", alert.format_text())

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"LogSink(logger={self._logger.name!r}, min_severity={self.min_severity.value!r})"


def telegram_token(text: str) -> Secret:
    """A bot token given as text (e.g. by a test) held the way
    :func:`~krakenfutures.config.load_telegram_token` holds it.

    Raises:
        CredentialsError: not shaped like ``<bot id>:<secret>``.
    """
    token = load_telegram_token({ENV_TELEGRAM_TOKEN: text})
    if token is None:
        raise ConfigError("the Telegram bot token is empty")
    return token


class TelegramSink(_HttpSink):
    """Alerts as Telegram messages via the Bot API's ``sendMessage`` (plain text; info alerts
    arrive silently). A 429 is waited out (``parameters.retry_after``, up to
    ``max_retry_after_s``) and retried here; longer waits go back to the router.

    ``token`` is a :class:`Secret` from :func:`~krakenfutures.config.load_telegram_token` or
    :func:`telegram_token`; it appears in no repr, error or log line.
    """

    name = "telegram"

    def __init__(
        self,
        token: Secret,
        chat_id: int | str,
        *,
        base_url: str = TELEGRAM_API_URL,
        client: httpx.AsyncClient | None = None,
        min_severity: Severity = Severity.INFO,
        timeout_s: float = 10.0,
        max_retry_after_s: float = 30.0,
        max_rate_limit_retries: int = 3,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not isinstance(token, Secret):
            raise ConfigError(
                "the Telegram token must be a Secret; get it with load_telegram_token() "
                f"(from {ENV_TELEGRAM_TOKEN}) or telegram_token(text)"
            )
        if isinstance(chat_id, bool) or not isinstance(chat_id, int | str) or chat_id == "":
            raise ConfigError(f"telegram chat_id must be an int or '@channel', got {chat_id!r}")
        self.base_url = _check_url(base_url, "Telegram base_url")
        self.chat_id = chat_id
        self.min_severity = Severity(min_severity)
        self._token = token
        self._max_retry_after_s = max_retry_after_s
        self._max_rate_limit_retries = max_rate_limit_retries
        self._sleep = sleep
        super().__init__(client, timeout_s, (token,))

    def __repr__(self) -> str:
        return (
            f"TelegramSink(chat_id={self.chat_id!r}, base_url={self.base_url!r}, "
            f"token=Secret('****'), min_severity={self.min_severity.value!r})"
        )

    def _url(self, method: str) -> str:
        return f"{self.base_url}/bot{self._token.key().decode('ascii')}/{method}"

    async def send(self, alert: Alert) -> None:
        """Send one message.

        Raises:
            ConfigError: bad token (401/404) or chat (400/403): retrying will not help.
            TransportError: network failure, 5xx, or a 429 longer than we wait here.
            RemoteProtocolError: an answer that is not the Bot API's JSON.
        """
        text = alert.format_text()
        if len(text) > TELEGRAM_MAX_TEXT:
            text = text[: TELEGRAM_MAX_TEXT - 1] + "…"
        payload = {
            "chat_id": self.chat_id,
            "text": text,
            "disable_notification": alert.severity is Severity.INFO,
            "link_preview_options": {"is_disabled": True},
        }
        for attempt in range(self._max_rate_limit_retries + 1):
            response = await self._post(self._url("sendMessage"), payload, "Telegram sendMessage")
            status, body = response.status_code, _json_object(response)
            if status == 200 and body.get("ok") is True:
                return
            if status != 429:
                raise self._error(status, body)
            params = body.get("parameters")
            wait = _retry_after(params.get("retry_after") if isinstance(params, dict) else None)
            if wait is None:
                wait = _retry_after(response.headers.get("retry-after")) or 1.0
            if attempt == self._max_rate_limit_retries or wait > self._max_retry_after_s:
                raise _retryable(f"Telegram rate limit (429): retry after {wait:g} s", wait)
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, status: int, body: Mapping[str, Any]) -> Exception:
        said = self._scrub(str(body.get("description", "")))[:200] or "no description"
        if status == 401:
            return ConfigError(
                f"Telegram refused the bot token (401 {said}); set {ENV_TELEGRAM_TOKEN} to the "
                "token @BotFather gave the bot"
            )
        if status == 404:
            return ConfigError(
                f"Telegram answered 404 ({said}): the bot token is malformed or "
                f"{self.base_url} is not a Bot API server"
            )
        if status in (400, 403):
            return ConfigError(
                f"Telegram refused the message to chat {self.chat_id!r} ({status} {said}); "
                "check telegram_chat_id and that the bot is a member of that chat"
            )
        if status == 200:
            return RemoteProtocolError(f"Telegram answered 200 without ok=true ({said})")
        return _retryable(f"Telegram answered HTTP {status} ({said})", None)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class WebhookSink(_HttpSink):
    """Alerts POSTed as JSON ``{"kind", "severity", "text", "ts_ms", "symbol", "strategy",
    "suppressed"}`` to ``url``. The URL's path and query and the header values are treated as
    secrets (Slack- and Discord-style URLs are credentials); reprs show the origin only.
    2xx is success; 408, 429 and 5xx are retried; other statuses are a :class:`ConfigError`."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        min_severity: Severity = Severity.INFO,
        timeout_s: float = 10.0,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https"):
            raise ConfigError("webhook_url must be an http:// or https:// URL")
        parts = urlsplit(url.strip())
        if not parts.hostname:
            raise ConfigError("webhook_url has no host")
        self.origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        self.min_severity = Severity(min_severity)
        self._target = Hidden((url.strip(), dict(headers or {})))
        hidden = [
            urlunsplit(("", "", parts.path, parts.query, parts.fragment)),
            parts.netloc.rpartition("@")[0],
            *(headers or {}).values(),
        ]
        super().__init__(client, timeout_s, [h for h in hidden if len(h) > 1])

    def __repr__(self) -> str:
        return f"WebhookSink(origin={self.origin!r}, min_severity={self.min_severity.value!r})"

    async def send(self, alert: Alert) -> None:
        """POST one alert.

        Raises:
            ConfigError: a 4xx other than 408/429 (fix the URL or the receiver).
            TransportError: network failure, 408, 429 or 5xx.
        """
        payload = {
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "text": alert.text,
            "ts_ms": alert.ts_ms,
            "symbol": alert.symbol,
            "strategy": alert.strategy,
            "suppressed": alert.suppressed,
        }
        what = f"webhook POST to {self.origin}"
        url, headers = self._target.value
        response = await self._post(url, payload, what, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        if status in (408, 429) or status >= 500:
            wait = _retry_after(response.headers.get("retry-after"))
            raise _retryable(f"{what} answered HTTP {status}", wait)
        raise ConfigError(f"{what} was refused with HTTP {status}; check webhook_url")


# --------------------------------------------------------------------------------- config


_CONFIG_KEYS = (
    "min_severity",
    "telegram_chat_id",
    "telegram_base_url",
    "telegram_min_severity",
    "webhook_url",
    "webhook_min_severity",
)


def _severity(config: Mapping[str, object], key: str, default: Severity) -> Severity:
    value = config.get(key, default)
    if isinstance(value, str) and value in Severity.__members__.values():
        return Severity(value)
    raise ConfigError(f"[alerts] {key} must be one of info, warning, critical, got {value!r}")


def sinks_from_config(
    alerts_config: Mapping[str, object],
    env: Mapping[str, str] | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> list[AlertSink]:
    """The remote sinks a TOML ``[alerts]`` table names: Telegram when ``telegram_chat_id`` is
    set (the token from ``KRAKEN_FUTURES_TELEGRAM_TOKEN`` in ``env``, ``None`` meaning the
    process environment), a webhook when ``webhook_url`` is set. ``min_severity`` applies to
    both; ``telegram_min_severity``/``webhook_min_severity`` override it. The log is not
    included: the runtime always adds a :class:`LogSink` itself.

    Raises:
        ConfigError: a token or secret written in the table, an unknown key, a bad value, or a
            chat id without the token in the environment.
    """
    for key in alerts_config:
        if "token" in key.lower() or "secret" in key.lower():
            raise ConfigError(
                f"[alerts] {key}: tokens must not be written in a config file; remove {key} "
                f"and set the environment variable {ENV_TELEGRAM_TOKEN} instead"
            )
    unknown = sorted(set(alerts_config) - set(_CONFIG_KEYS))
    if unknown:
        raise ConfigError(
            f"[alerts] unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_CONFIG_KEYS)}"
        )
    floor = _severity(alerts_config, "min_severity", Severity.INFO)
    sinks: list[AlertSink] = []
    chat_id = alerts_config.get("telegram_chat_id")
    if chat_id is not None:
        token = load_telegram_token(env)
        if token is None:
            raise ConfigError(
                f"[alerts] telegram_chat_id is set but {ENV_TELEGRAM_TOKEN} is not; export the "
                "bot token in the environment (never in the config file)"
            )
        base_url = alerts_config.get("telegram_base_url", TELEGRAM_API_URL)
        sinks.append(
            TelegramSink(
                token,
                chat_id,  # type: ignore[arg-type]  # checked by TelegramSink
                base_url=base_url,  # type: ignore[arg-type]
                client=client,
                min_severity=_severity(alerts_config, "telegram_min_severity", floor),
            )
        )
    url = alerts_config.get("webhook_url")
    if url is not None:
        sinks.append(
            WebhookSink(
                url,  # type: ignore[arg-type]  # checked by WebhookSink
                client=client,
                min_severity=_severity(alerts_config, "webhook_min_severity", floor),
            )
        )
    return sinks


__all__ = [
    "ALERTS_LOGGER",
    "TELEGRAM_API_URL",
    "AlertRouter",
    "AlertSink",
    "LogSink",
    "SinkStats",
    "TelegramSink",
    "WebhookSink",
    "secret_texts",
    "sinks_from_config",
    "telegram_token",
]
