"""Transport protocols and the :class:`Response` they return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(slots=True)
class Response:
    """An HTTP reply: status, lower-cased headers, raw body bytes."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class SyncTransport(Protocol):
    """Send one HTTP request and return its reply (blocking)."""

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    """Send one HTTP request and return its reply (asyncio)."""

    async def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Response: ...

    async def aclose(self) -> None: ...
