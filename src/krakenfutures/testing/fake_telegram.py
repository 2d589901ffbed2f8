"""A loopback fake of the Telegram Bot API, for testing alert delivery over real HTTP.

It answers like ``api.telegram.org`` for ``/bot<token>/sendMessage`` and ``/bot<token>/getMe``:
``{"ok": true, "result": ...}`` on success; ``401 Unauthorized`` for a wrong token; ``404 Not
Found`` for other paths and methods; ``400 Bad Request: ...`` for a missing chat or text, a text
over 4096 characters, or a chat outside ``chats`` when that is given. Knobs make the next
requests fail with 429 (``parameters.retry_after`` and a ``Retry-After`` header) or 500, or wait
``delay_s`` before answering.

Example::

    async with FakeTelegram() as tg:
        sink = TelegramSink(telegram_token(tg.token), 42, base_url=tg.base_url)
        tg.fail_next(1, status=429, retry_after=1)
        ...
        assert tg.texts(42) == [...]
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

FAKE_BOT_TOKEN = "123456789:AAFakeTokenForTests_0123456789abcdefg"
MAX_TEXT = 4096


@dataclass(frozen=True)
class ReceivedMessage:
    """A message the fake accepted: chat id as text, the text and the other parameters."""

    chat_id: str
    text: str
    params: dict[str, Any]
    message_id: int


def _reply(status: int, description: str, **extra: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description, **extra}
    return web.json_response(body, status=status)


class FakeTelegram:
    """The fake server; use as ``async with FakeTelegram() as tg`` (binds 127.0.0.1 on a free
    port). ``messages`` maps chat id (as text) to what arrived, in order; ``requests`` counts
    every request by Bot API method (``"?"`` for unroutable paths)."""

    def __init__(self, token: str = FAKE_BOT_TOKEN, *, chats: set[int | str] | None = None) -> None:
        self.token = token
        self.chats = None if chats is None else {str(c) for c in chats}
        self.messages: defaultdict[str, list[ReceivedMessage]] = defaultdict(list)
        self.requests: defaultdict[str, int] = defaultdict(int)
        self.delay_s = 0.0
        self._failures: deque[tuple[int, int]] = deque()
        self._next_id = 1
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def fail_next(self, n: int = 1, *, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next ``n`` well-addressed requests with ``status`` (429 carries
        ``retry_after`` seconds; anything else is a bare error such as 500)."""
        self._failures.extend([(status, retry_after)] * n)

    def texts(self, chat_id: int | str) -> list[str]:
        """The texts received for ``chat_id``, in order."""
        return [m.text for m in self.messages[str(chat_id)]]

    def all_texts(self) -> list[str]:
        """Every text received, for any chat."""
        return [m.text for msgs in self.messages.values() for m in msgs]

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # No access log: it would print the token path, and a real Bot API's logs are not ours.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        # Telegram's path is /bot<token>/<method>; methods are case-insensitive.
        head, _, method = request.path.lstrip("/").partition("/")
        if not head.startswith("bot") or not method or "/" in method:
            self.requests["?"] += 1
            return _reply(404, "Not Found")
        method = method.lower()
        self.requests[method] += 1
        if head[3:] != self.token:
            return _reply(401, "Unauthorized")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self._failures:
            status, retry_after = self._failures.popleft()
            if status == 429:
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after},
                    },
                    status=429,
                    headers={"Retry-After": str(retry_after)},
                )
            return _reply(status, "Internal Server Error" if status >= 500 else "Bad Request")
        if method == "getme":
            bot_id = int(self.token.partition(":")[0])
            user = {"id": bot_id, "is_bot": True, "first_name": "fake", "username": "fake_bot"}
            return web.json_response({"ok": True, "result": user})
        if method != "sendmessage":
            return _reply(404, "Not Found")
        params = await self._params(request)
        if params is None:
            return _reply(400, "Bad Request: can't parse JSON object")
        return self._send_message(params)

    async def _params(self, request: web.Request) -> dict[str, Any] | None:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.read() or b"{}")
            except ValueError:
                return None
            if not isinstance(body, dict):
                return None
            params.update(body)
        elif request.can_read_body:
            params.update(await request.post())
        return params

    def _send_message(self, params: dict[str, Any]) -> web.Response:
        chat = params.get("chat_id")
        text = params.get("text")
        if chat in (None, ""):
            return _reply(400, "Bad Request: chat_id is empty")
        if not isinstance(text, str) or not text.strip():
            return _reply(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return _reply(400, "Bad Request: message is too long")
        chat_id = str(chat)
        if self.chats is not None and chat_id not in self.chats:
            return _reply(400, "Bad Request: chat not found")
        message_id, self._next_id = self._next_id, self._next_id + 1
        self.messages[chat_id].append(ReceivedMessage(chat_id, text, params, message_id))
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "text": text,
        }
        return web.json_response({"ok": True, "result": result})


__all__ = ["FAKE_BOT_TOKEN", "FakeTelegram", "ReceivedMessage"]
