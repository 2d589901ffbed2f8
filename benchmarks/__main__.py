"""Run every benchmark and print one table (``python -m benchmarks [--json] [name-filter]``).

Each ``benchmarks/bench_*.py`` exposes ``bench()`` returning a row dict or a list of them, with
``name``, ``result`` (text), ``target`` (text) and ``ok`` (bool or None); the matching benchmark's
``ops_per_s`` form is accepted too.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TARGETS_OPS = {"matching: mixed add/cancel/match": 200_000}


def _rows(result: Any) -> list[dict[str, Any]]:
    items = result if isinstance(result, list) else [result]
    rows = []
    for r in items:
        if "ops_per_s" in r and "result" not in r:
            target = TARGETS_OPS.get(r["name"])
            r = {
                "name": r["name"],
                "result": f"{r['ops_per_s']:,} ops/s",
                "target": f">= {target:,} ops/s" if target else "",
                "ok": r["ops_per_s"] >= target if target else None,
            }
        rows.append(r)
    return rows


def _run_alone(name: str) -> Any:
    """``benchmarks.<name>.bench()`` in a fresh interpreter: each benchmark gets a process of
    its own, as the program it stands for would (an earlier benchmark's heap and caches would
    otherwise weigh on the latency figures of a later one)."""
    code = (
        "import json, sys; from benchmarks import " + name + " as m; "
        "sys.stdout.write(json.dumps(m.bench()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"name": name, "result": f"failed: {done.stderr.strip()[-300:]}", "ok": False}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    as_json = "--json" in sys.argv
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
    here = Path(__file__).parent
    rows: list[dict[str, Any]] = []
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarks", total=len(names))
        for name in names:
            if wanted and not any(w in name for w in wanted):
                progress.advance(task)
                continue
            progress.update(task, description=name)
            rows += _rows(_run_alone(name))
            progress.advance(task)
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        from rich.table import Table

        table = Table(title="krakenfutures benchmarks (this machine, this run)")
        for col in ("benchmark", "result", "target", "ok"):
            table.add_column(col)
        for r in rows:
            ok = r.get("ok")
            table.add_row(
                r["name"],
                r["result"],
                r.get("target", ""),
                "" if ok is None else ("[green]yes" if ok else "[red]NO"),
            )
        Console().print(table)
    return 0 if all(r.get("ok") is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
