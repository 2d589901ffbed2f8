"""Output of `kf`: rich tables for people, one JSON document for machines (``--json``).

Numbers are shown exactly as Decimals, never through float: wire values print digit for digit
(``format(d, "f")``, so ``1E-10`` shows as ``0.0000000001``). Values *we* compute by division
(relative funding rates, inverse fees) are rounded to :data:`DERIVED_DIGITS` significant digits
and said to be so.

JSON uses the package's own field names (``qty``, ``order_id``, ``cli_ord_id``), not Kraken's
wire names: a struct becomes an object of its Python fields (plus its tag, e.g. ``"type":
"EXECUTION"``), decimals become strings, enums their values. JSON goes to stdout only; errors
go to stderr, so ``kf --json ... | jq`` always sees valid JSON or nothing.

rich and msgspec are imported inside the functions so that ``kf --help`` stays fast.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Context, Decimal
from typing import Any

import click

DERIVED_DIGITS = 12
"""Significant digits shown for values computed by division (exact wire values are not cut)."""

NONE = "-"


# ------------------------------------------------------------------------------------- values


def dec(value: Decimal | int | None) -> str:
    """A wire number shown exactly: ``Decimal("1E-10")`` -> ``0.0000000001``; ``None`` -> ``-``."""
    if value is None:
        return NONE
    if isinstance(value, int):
        return str(value)
    return format(value, "f")


def approx(value: Decimal | None, digits: int = DERIVED_DIGITS) -> Decimal | None:
    """A computed Decimal rounded to ``digits`` significant digits, trailing zeros dropped."""
    if value is None:
        return None
    if value == 0:
        return Decimal(0)
    return Context(prec=digits).plus(value).normalize()


def pct(fraction: Decimal | None, digits: int = DERIVED_DIGITS) -> str:
    """A fraction shown as percent (``0.0005`` -> ``0.05%``), exactly up to ``digits`` digits."""
    if fraction is None:
        return NONE
    return f"{dec(approx(fraction.scaleb(2), digits))}%"


def flag(value: bool | None) -> str:
    """``yes``/``no``/``-`` for an optional boolean."""
    if value is None:
        return NONE
    return "yes" if value else "no"


def text(value: Any) -> str:
    """Any cell value as text: Decimals exactly, enums by value, ``None`` as ``-``."""
    if value is None:
        return NONE
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return dec(value)
    if isinstance(value, bool):
        return flag(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


# --------------------------------------------------------------------------------------- JSON


def to_plain(obj: Any) -> Any:
    """``obj`` as JSON-ready builtins with Python field names and decimals as exact strings."""
    import msgspec

    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, Decimal):
        return dec(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, msgspec.Struct):
        config = obj.__struct_config__
        out: dict[str, Any] = {}
        if config.tag_field is not None:
            out[config.tag_field] = config.tag
        for name in obj.__struct_fields__:
            out[name] = to_plain(getattr(obj, name))
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(key): to_plain(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(item) for item in obj]
    if isinstance(obj, float):  # never produced by our code; refuse to hide a float silently
        raise TypeError(f"float {obj!r} reached the JSON output; money must be Decimal")
    return str(obj)


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    import msgspec

    click.echo(msgspec.json.encode(to_plain(obj)).decode())


# ------------------------------------------------------------------------------------- tables


def console() -> Any:
    """A rich Console on stdout. Off a terminal (pipes, tests) it is wide and colourless so that
    no number is ever cut or wrapped."""
    from rich.console import Console

    out = sys.stdout  # looked up per call: click's test runner swaps it
    if out.isatty():
        return Console(file=out, highlight=False)
    return Console(file=out, width=200, highlight=False, no_color=True, color_system=None)


Column = str | tuple[str, str]
"""A column header, or ``(header, justify)`` with justify ``left``/``right``/``center``."""


def table(
    title: str | None,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    *,
    caption: str | None = None,
    empty: str = "none",
    show_header: bool = True,
) -> None:
    """Print a table; cells go through :func:`text`. Prints ``title: none`` when there are no rows."""
    from rich.table import Table
    from rich.text import Text

    # Text objects, not str: a cell such as "[get_accounts]" must never be read as markup.
    materialised = [[Text(text(cell)) for cell in row] for row in rows]
    out = console()
    if not materialised:
        out.print(f"{title}: {empty}" if title else empty, markup=False)
        if caption:
            out.print(caption, markup=False)
        return
    grid = Table(
        title=Text(title) if title else None,
        caption=Text(caption) if caption else None,
        title_justify="left",
        caption_justify="left",
        show_header=show_header,
    )
    for column in columns:
        header, justify = (column, "left") if isinstance(column, str) else column
        grid.add_column(header, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in materialised:
        grid.add_row(*row)
    out.print(grid)


def pairs(
    title: str | None, items: Iterable[tuple[str, Any]], *, caption: str | None = None
) -> None:
    """Print a two-column key/value table."""
    table(
        title, ["", ""], [(key, value) for key, value in items], caption=caption, show_header=False
    )


def line(message: str) -> None:
    """Print one plain line of human output on stdout."""
    console().print(message, markup=False)


__all__ = [
    "DERIVED_DIGITS",
    "approx",
    "console",
    "dec",
    "emit_json",
    "flag",
    "line",
    "pairs",
    "pct",
    "table",
    "text",
    "to_plain",
]
