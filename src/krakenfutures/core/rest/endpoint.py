"""The :class:`Endpoint` record: one row of the declarative endpoint table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn

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


class TypeRef:
    """A type written as text in a module's namespace, imported and evaluated on first use.

    The endpoint table names its ~80 params and result types this way: building every schema
    struct when the table loads would cost ``import krakenfutures`` about 12 ms, and a program
    uses a handful of endpoints. ``TypeRef("krakenfutures.core.rest.schema_market",
    "list[Ticker]")`` resolves to ``list[Ticker]`` like a string annotation would.
    """

    __slots__ = ("expr", "module")

    def __init__(self, module: str, expr: str) -> None:
        self.module = module
        self.expr = expr

    def resolve(self) -> Any:
        """Import the module and evaluate the expression in its namespace."""
        import importlib

        namespace = vars(importlib.import_module(self.module))
        # The text comes from our own endpoint table, never from input: the same evaluation
        # typing.get_type_hints applies to string annotations.
        return eval(self.expr, namespace)

    def __repr__(self) -> str:
        return f"TypeRef({self.module!r}, {self.expr!r})"


def _wire_to_field(params: type[msgspec.Struct] | None) -> dict[str, str]:
    if params is None:
        return {}
    return {f.encode_name: f.name for f in msgspec.structs.fields(params)}


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
            ``None`` when the endpoint takes none. May be given as a :class:`TypeRef`; reading
            the attribute always gives the resolved type.
        result: msgspec type the response decodes into (the *inner* value when ``key`` is set);
            may be given as a :class:`TypeRef` too.
        key: top-level field of the success envelope that the client returns; ``None`` returns
            the whole decoded body as ``result``.
        envelope: ``True`` for ``{"result": "success", "serverTime": ...}`` replies (v3); history
            and charts reply with bare JSON.
        path_params: params fields that go into the path rather than the query/body.
        deprecated: human note when Kraken has deprecated the endpoint.
        doc: one-line description (CLI help and docs).

    Immutable. Equality and hashing are by identity: each endpoint exists once (in
    :data:`~krakenfutures.core.rest.endpoints.ENDPOINTS`), and per-endpoint caches on the hot
    path (encoders, decoders) then cost one pointer hash instead of hashing thirteen fields.
    """

    __slots__ = (
        "_params_ref",
        "_result_ref",
        "auth",
        "cost",
        "deprecated",
        "doc",
        "envelope",
        "key",
        "method",
        "name",
        "params",
        "path",
        "path_params",
        "permission",
        "pool",
        "result",
        "wire_to_field",
    )

    name: str
    method: str
    path: str
    permission: Permission
    pool: Pool
    cost: int | Callable[[Mapping[str, Any]], int]
    params: type[msgspec.Struct] | None
    result: Any
    key: str | None
    envelope: bool
    path_params: tuple[str, ...]
    deprecated: str
    doc: str
    auth: bool
    """Whether requests are signed (every permission but ``PUBLIC``)."""
    wire_to_field: dict[str, str]
    """Wire param name -> python field name (computed on first use)."""

    def __init__(
        self,
        name: str,
        method: str,
        path: str,
        permission: Permission,
        pool: Pool,
        cost: int | Callable[[Mapping[str, Any]], int],
        params: type[msgspec.Struct] | TypeRef | None,
        result: Any,
        key: str | None = None,
        envelope: bool = True,
        path_params: tuple[str, ...] = (),
        deprecated: str = "",
        doc: str = "",
    ) -> None:
        init = object.__setattr__
        init(self, "name", name)
        init(self, "method", method)
        init(self, "path", path)
        init(self, "permission", permission)
        init(self, "pool", pool)
        init(self, "cost", cost)
        init(self, "key", key)
        init(self, "envelope", envelope)
        init(self, "path_params", path_params)
        init(self, "deprecated", deprecated)
        init(self, "doc", doc)
        init(self, "auth", permission is not Permission.PUBLIC)
        # TypeRefs stay unresolved (the slot empty) until first read: see __getattr__.
        init(self, "_params_ref", params)
        init(self, "_result_ref", result)
        if not isinstance(params, TypeRef):
            init(self, "params", params)
        if not isinstance(result, TypeRef):
            init(self, "result", result)

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise type every typo as Any

        def __getattr__(self, attr: str) -> Any:
            # Called only for an empty slot: a lazily named type, or the wire name map, that
            # is made on first read and then read from the slot at plain attribute speed.
            if attr == "params" or attr == "result":
                ref = object.__getattribute__(self, f"_{attr}_ref")
                value = ref.resolve() if isinstance(ref, TypeRef) else ref
            elif attr == "wire_to_field":
                value = _wire_to_field(self.params)
            else:
                raise AttributeError(f"'Endpoint' object has no attribute {attr!r}")
            object.__setattr__(self, attr, value)
            return value

    def __setattr__(self, attr: str, value: Any) -> NoReturn:
        raise AttributeError(f"Endpoint is immutable; cannot set {attr!r}")

    def __delattr__(self, attr: str) -> NoReturn:
        raise AttributeError(f"Endpoint is immutable; cannot delete {attr!r}")

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, {self.method!r}, {self.path!r})"

    def cost_of(self, wire_params: Mapping[str, Any]) -> int:
        """Rate-limit cost of one call with these wire-named params."""
        if callable(self.cost):
            return self.cost(wire_params)
        return self.cost
