"""The :class:`Endpoint` record: one row of the declarative endpoint table."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec


class Pool(StrEnum):
    """Which of Kraken's rate-limit budgets a call draws on."""

    DERIVATIVES = "derivatives"  # 500 cost units per 10 s
    HISTORY = "history"  # 100 tokens, refilled 100 per 10 min
    NONE = "none"  # public market data: free


class Permission(StrEnum):
    """Key permission an endpoint needs (Kraken: General API read/full, Withdrawal API)."""

    PUBLIC = "public"
    READ = "read"
    FULL = "full"
    WITHDRAWAL = "withdrawal"


@functools.cache
def _wire_to_field(params: type[msgspec.Struct] | None) -> dict[str, str]:
    if params is None:
        return {}
    return {f.encode_name: f.name for f in msgspec.structs.fields(params)}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST endpoint, declared once and used by client, simulator, CLI and docs.

    Attributes:
        name: python method name on ``Client``/``AsyncClient`` (``send_order``).
        method: ``GET``, ``POST`` or ``PUT``.
        path: wire path including ``/derivatives`` where Kraken has it; ``{symbol}`` style
            placeholders are filled from ``path_params`` fields of the params struct.
        permission: what the API key must allow; ``PUBLIC`` endpoints are sent unsigned.
        pool: the rate-limit budget it draws on.
        cost: cost units, or a function of the encoded params (``fills`` costs 25 with
            ``lastFillTime``; ``batchorder`` 9 + number of instructions).
        params: msgspec struct of the parameters (python names, ``rename`` to wire names), or
            ``None`` when the endpoint takes none.
        result: msgspec type the response decodes into (the *inner* value when ``key`` is set).
        key: top-level field of the success envelope that the client returns; ``None`` returns
            the whole decoded body as ``result``.
        envelope: ``True`` for ``{"result": "success", "serverTime": ...}`` replies (v3); history
            and charts reply with bare JSON.
        path_params: params fields that go into the path rather than the query/body.
        deprecated: human note when Kraken has deprecated the endpoint.
        doc: one-line description (CLI help and docs).
    """

    name: str
    method: str
    path: str
    permission: Permission
    pool: Pool
    cost: int | Callable[[Mapping[str, Any]], int]
    params: type[msgspec.Struct] | None
    result: Any
    key: str | None = None
    envelope: bool = True
    path_params: tuple[str, ...] = ()
    deprecated: str = ""
    doc: str = ""

    @property
    def auth(self) -> bool:
        """Whether requests are signed."""
        return self.permission is not Permission.PUBLIC

    @property
    def wire_to_field(self) -> dict[str, str]:
        """Wire param name -> python field name (computed on first use: introspecting every
        params struct at import would cost ``import krakenfutures`` about 13 ms)."""
        return _wire_to_field(self.params)

    def cost_of(self, wire_params: Mapping[str, Any]) -> int:
        """Rate-limit cost of one call with these wire-named params."""
        if callable(self.cost):
            return self.cost(wire_params)
        return self.cost
