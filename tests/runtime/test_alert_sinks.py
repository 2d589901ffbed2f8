"""Alert sinks and the router over real loopback HTTP: a fake Telegram Bot API and a small
webhook receiver. Every test that touches a token scans what was delivered and logged for it."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from krakenfutures.config import ENV_TELEGRAM_TOKEN, Secret, load_telegram_token
from krakenfutures.errors import ConfigError, CredentialsError, TransportError
from krakenfutures.runtime.alert_sinks import (
    ALERTS_LOGGER,
    AlertRouter,
    LogSink,
    TelegramSink,
    WebhookSink,
    secret_texts,
    sinks_from_config,
    telegram_token,
)
from krakenfutures.signals.alerts import Alert, AlertKind, AlertThrottle, Severity
from krakenfutures.testing import TEST_SECRET
from krakenfutures.testing.fake_telegram import FAKE_BOT_TOKEN, FakeTelegram

T0 = 1_767_225_600_000
CHAT = 4242
WRONG_TOKEN = "987654321:AAWrongTokenWrongTokenWrongToken_xyz"


def alert(text: str = "hello", severity: str = "warning", ts_ms: int = T0, **kw: Any) -> Alert:
    return Alert(AlertKind.INFO, Severity(severity), text, ts_ms, **kw)


def assert_no_secret(texts: list[str], *secrets: str) -> None:
    """None of the texts holds a secret (raw, URL-quoted, or base64 as a Secret holds it)."""
    forms: set[str] = set()
    for secret in secrets:
        forms.update(secret_texts([secret]))
        forms.add(base64.b64encode(secret.encode()).decode())
    for text in texts:
        for form in forms:
            assert form not in text


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = [caplog.text]
    for record in caplog.records:
        out.append(record.getMessage())
        if record.exc_text:
            out.append(record.exc_text)
    return out


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as tg:
        yield tg


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx logs request URLs at INFO: catch everything


class Receiver:
    """A webhook endpoint on loopback that records JSON bodies and can fail on demand."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.statuses: list[int] = []  # answers to give first, then 200
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        self.bodies.append(await request.json())
        return web.json_response({"ok": True})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/T0SECRET/abc", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}/hooks/T0SECRET/abc"
    yield rec
    await runner.cleanup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------------------ token


def test_token_comes_from_env_and_never_shows() -> None:
    assert load_telegram_token({}) is None
    token = load_telegram_token({ENV_TELEGRAM_TOKEN: f"  {FAKE_BOT_TOKEN}\n"})
    assert token is not None and token.key().decode() == FAKE_BOT_TOKEN
    sink = TelegramSink(token, CHAT)
    assert_no_secret(
        [repr(token), str(token), f"{token}", repr(sink), str(vars(sink))], FAKE_BOT_TOKEN
    )
    for bad in ("not-a-token", "12ab:xyz", "123:", "123:has space", "123:ü"):
        with pytest.raises(CredentialsError) as info:
            load_telegram_token({ENV_TELEGRAM_TOKEN: bad})
        assert bad not in str(info.value) and ENV_TELEGRAM_TOKEN in str(info.value)
    with pytest.raises(ConfigError, match="must be a Secret"):
        TelegramSink(FAKE_BOT_TOKEN, CHAT)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="https"):
        TelegramSink(token, CHAT, base_url="http://api.telegram.org")


# ------------------------------------------------------------------------------ telegram


async def test_telegram_delivers_over_loopback(
    telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    sink = TelegramSink(telegram_token(telegram.token), CHAT, base_url=telegram.base_url)
    try:
        loud = alert("margin low", "critical", symbol="PF_XBTUSD")
        await sink.send(loud)
        await sink.send(alert("fyi", "info"))
    finally:
        await sink.aclose()
    assert telegram.texts(CHAT) == [loud.format_text(), alert("fyi", "info").format_text()]
    first, second = telegram.messages[str(CHAT)]
    assert first.params["disable_notification"] is False
    assert second.params["disable_notification"] is True  # info arrives silently
    # httpx logged the requests, with the token masked by the sink's filter.
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines and all("/bot****/sendMessage" in line for line in lines)
    assert_no_secret(logged(caplog), telegram.token)


async def test_telegram_waits_out_429_retry_after(telegram: FakeTelegram) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    token = telegram_token(telegram.token)
    sink = TelegramSink(token, CHAT, base_url=telegram.base_url, sleep=sleep)
    telegram.fail_next(2, status=429, retry_after=3)
    await sink.send(alert("after the flood"))
    assert waits == [3.0, 3.0]
    assert len(telegram.texts(CHAT)) == 1 and telegram.requests["sendmessage"] == 3

    # A wait longer than the sink's cap goes back to the caller, with the hint.
    short = TelegramSink(token, CHAT, base_url=telegram.base_url, sleep=sleep, max_retry_after_s=5)
    telegram.fail_next(1, status=429, retry_after=60)
    with pytest.raises(TransportError, match="retry after 60 s") as info:
        await short.send(alert("flood"))
    assert info.value.retry_after_s == 60  # type: ignore[attr-defined]
    assert waits == [3.0, 3.0]
    await sink.aclose()
    await short.aclose()


async def test_wrong_token_is_a_config_error_without_the_token(
    telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    sink = TelegramSink(telegram_token(WRONG_TOKEN), CHAT, base_url=telegram.base_url)
    with pytest.raises(ConfigError) as info:
        await sink.send(alert())
    error = info.value
    assert "401" in str(error) and ENV_TELEGRAM_TOKEN in str(error)
    assert error.__cause__ is None and error.__context__ is None
    # Through the router: one attempt only (retrying a bad token is pointless), logged clean.
    router = AlertRouter([sink], backoff_s=0.001)
    router.start()
    router.publish(alert("x", key="x"))
    await router.aclose(timeout_s=5)
    assert telegram.requests["sendmessage"] == 2
    assert dict(router.stats())["telegram"].failed == 1
    assert any("gave up" in r.getMessage() and "401" in r.getMessage() for r in caplog.records)
    assert_no_secret([*logged(caplog), repr(error), str(error.args)], WRONG_TOKEN)
    assert telegram.all_texts() == []


async def test_unknown_chat_and_server_errors(telegram: FakeTelegram) -> None:
    telegram.chats = {str(CHAT)}
    token = telegram_token(telegram.token)
    stranger = TelegramSink(token, 1, base_url=telegram.base_url)
    with pytest.raises(ConfigError, match="chat not found"):
        await stranger.send(alert())
    sink = TelegramSink(token, CHAT, base_url=telegram.base_url)
    telegram.fail_next(1, status=500)
    with pytest.raises(TransportError, match="HTTP 500"):
        await sink.send(alert())
    await stranger.aclose()
    await sink.aclose()


async def test_network_failure_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    sink = TelegramSink(
        telegram_token(FAKE_BOT_TOKEN), CHAT, base_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(TransportError) as info:
        await sink.send(alert())
    await sink.aclose()
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert "ConnectError" in str(info.value)
    assert_no_secret([*logged(caplog), str(info.value)], FAKE_BOT_TOKEN)


async def test_caller_client_is_used_and_left_open(telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        sink = TelegramSink(
            telegram_token(telegram.token), CHAT, base_url=telegram.base_url, client=client
        )
        await sink.send(alert())
        await sink.aclose()
        assert not client.is_closed
    assert len(telegram.texts(CHAT)) == 1


# ------------------------------------------------------------------------------ webhook


async def test_webhook_posts_json_and_hides_its_url(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    sink = WebhookSink(receiver.url, headers={"Authorization": "Bearer hook-secret-1"})
    for shown in (repr(sink), str(vars(sink))):
        assert "T0SECRET" not in shown and "hook-secret" not in shown
    one = alert("big fill", symbol="PF_XBTUSD", strategy="mm", ts_ms=T0 + 1)
    await sink.send(one)
    assert receiver.bodies == [
        {
            "kind": "info",
            "severity": "warning",
            "text": "big fill",
            "ts_ms": T0 + 1,
            "symbol": "PF_XBTUSD",
            "strategy": "mm",
            "suppressed": 0,
        }
    ]
    assert receiver.headers[0]["Authorization"] == "Bearer hook-secret-1"
    receiver.statuses = [404]
    with pytest.raises(ConfigError, match="HTTP 404"):
        await sink.send(one)
    receiver.statuses = [503]
    with pytest.raises(TransportError, match="HTTP 503"):
        await sink.send(one)
    await sink.aclose()
    assert_no_secret(logged(caplog), "/hooks/T0SECRET/abc", "hook-secret-1")


async def test_router_retries_a_webhook_until_it_answers(receiver: Receiver) -> None:
    receiver.statuses = [500, 502]
    router = AlertRouter([WebhookSink(receiver.url)], backoff_s=0.001)
    router.start()
    router.publish(alert("eventually"))
    await router.aclose(timeout_s=5)
    assert [b["text"] for b in receiver.bodies] == ["eventually"]
    stats = dict(router.stats())["webhook"]
    assert (stats.delivered, stats.failed) == (1, 0)


# ------------------------------------------------------------------------------ router


class Recorder:
    name = "recorder"
    min_severity = Severity.INFO

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.closed = False

    async def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    async def aclose(self) -> None:
        self.closed = True


class Hanging(Recorder):
    name = "hanging"

    async def send(self, alert: Alert) -> None:
        await asyncio.Event().wait()  # never answers


class Exploding(Recorder):
    name = "exploding"

    def __init__(self, leak: str) -> None:
        super().__init__()
        self.leak = leak
        self.calls = 0

    async def send(self, alert: Alert) -> None:
        self.calls += 1
        raise RuntimeError(f"cannot reach https://example.invalid/{self.leak}")

    async def aclose(self) -> None:
        raise RuntimeError(f"close failed: {self.leak}")


async def test_publish_never_blocks_on_a_hanging_sink(caplog: pytest.LogCaptureFixture) -> None:
    hanging, recorder = Hanging(), Recorder()
    router = AlertRouter([hanging, recorder], throttle=None, max_queue=100, send_timeout_s=3600)
    router.start()
    for i in range(1500):  # sync calls: nothing here can wait on a sink
        router.publish(alert(f"n{i}", ts_ms=T0 + i))
    stats = dict(router.stats())
    assert stats["hanging"].dropped == 1400 and stats["recorder"].dropped == 1400
    for _ in range(1000):  # the healthy sink drains while the other hangs
        if len(recorder.alerts) == 100:
            break
        await asyncio.sleep(0.005)
    assert [a.text for a in recorder.alerts] == [f"n{i}" for i in range(1400, 1500)]
    await router.aclose(timeout_s=0.05)  # returns although `hanging` never answers
    assert recorder.closed and hanging.closed
    router.publish(alert("after close"))
    assert router.dropped_after_close == 1
    assert any("not delivered before close" in r.getMessage() for r in caplog.records)


async def test_min_severity_and_throttle_are_per_sink() -> None:
    quiet, chatty = Recorder(), Recorder()
    quiet.name, quiet.min_severity = "quiet", Severity.CRITICAL
    router = AlertRouter(
        [quiet, chatty], throttle=lambda: AlertThrottle(dedupe_window_ms=60_000, max_per_minute=5)
    )
    router.publish(alert("a", "info", key="k"))
    router.publish(alert("a again", "info", key="k", ts_ms=T0 + 1))
    router.publish(alert("halt", "critical", ts_ms=T0 + 2))
    await router.aclose(timeout_s=5)  # flushes although start() was never called
    assert [a.text for a in quiet.alerts] == ["halt"]
    assert [(a.text, a.suppressed) for a in chatty.alerts] == [("a", 0), ("halt", 1)]
    stats = dict(router.stats())
    assert (stats["quiet"].throttled, stats["recorder"].throttled) == (0, 1)


async def test_log_sink_levels(caplog: pytest.LogCaptureFixture) -> None:
    sink = LogSink()
    for severity in ("info", "warning", "critical"):
        await sink.send(alert(severity, severity))
    records = [r for r in caplog.records if r.name == ALERTS_LOGGER]
    assert [r.levelno for r in records] == [logging.INFO, logging.WARNING, logging.CRITICAL]
    assert records[2].getMessage().startswith("CRITICAL info: critical @ ")


async def test_secrets_never_reach_a_sink_or_a_log(
    telegram: FakeTelegram, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """End to end: alerts that mention the API secret and the bot token, a sink whose errors
    quote them, retries and a 429; nothing delivered or logged holds either."""
    api_secret = Secret(TEST_SECRET)
    token = telegram_token(telegram.token)
    exploding = Exploding(f"{TEST_SECRET}/{telegram.token}")
    tg_sink = TelegramSink(token, CHAT, base_url=telegram.base_url, max_retry_after_s=0)
    router = AlertRouter(
        [LogSink(), exploding, tg_sink, WebhookSink(receiver.url)],
        redact=(api_secret,),
        backoff_s=0.001,
        max_backoff_s=0.01,
    )
    telegram.fail_next(1, status=429, retry_after=1)  # longer than the sink waits: router retries
    router.start()
    router.publish(alert(f"key leaked? {TEST_SECRET}", "critical", strategy="mm"))
    router.publish(alert(f"token leaked? bot{telegram.token}/x", ts_ms=T0 + 1))
    await router.aclose(timeout_s=5)

    stats = dict(router.stats())
    assert stats["telegram"].delivered == 2 and stats["webhook"].delivered == 2
    assert stats["exploding"].failed == 2 and exploding.calls == 8  # 4 attempts each
    delivered = telegram.all_texts() + [str(b) for b in receiver.bodies]
    assert len(delivered) == 4 and all("****" in text for text in delivered)
    assert any("gave up" in r.getMessage() for r in caplog.records)
    assert any("did not close cleanly" in r.getMessage() for r in caplog.records)
    assert_no_secret(delivered + logged(caplog), TEST_SECRET, telegram.token)


# ------------------------------------------------------------------------------ config


def test_sinks_from_config_builds_what_the_table_names() -> None:
    env = {ENV_TELEGRAM_TOKEN: FAKE_BOT_TOKEN}
    sinks = sinks_from_config(
        {
            "telegram_chat_id": CHAT,
            "webhook_url": "https://hooks.example.com/x/y",
            "min_severity": "warning",
            "telegram_min_severity": "critical",
        },
        env,
    )
    assert [type(s) for s in sinks] == [TelegramSink, WebhookSink]
    assert [s.min_severity for s in sinks] == [Severity.CRITICAL, Severity.WARNING]
    assert sinks_from_config({}, env) == []  # no chat id: no Telegram, whatever the env says


@pytest.mark.parametrize("key", ["telegram_token", "telegram_bot_token", "token", "api_secret"])
def test_sinks_from_config_refuses_a_token_in_the_file(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        sinks_from_config({"telegram_chat_id": CHAT, key: FAKE_BOT_TOKEN}, {})
    message = str(info.value)
    assert ENV_TELEGRAM_TOKEN in message and FAKE_BOT_TOKEN not in message


def test_sinks_from_config_errors_say_what_to_fix() -> None:
    with pytest.raises(ConfigError, match=ENV_TELEGRAM_TOKEN):
        sinks_from_config({"telegram_chat_id": CHAT}, {})
    with pytest.raises(ConfigError, match="unknown key"):
        sinks_from_config({"telegram_chat": CHAT}, {})
    with pytest.raises(ConfigError, match="info, warning, critical"):
        sinks_from_config({"min_severity": "loud"}, {})
    with pytest.raises(ConfigError, match="unknown key"):
        sinks_from_config({"log": False}, {})
    with pytest.raises(ConfigError, match="webhook_url"):
        sinks_from_config({"webhook_url": "ftp://x"}, {})
