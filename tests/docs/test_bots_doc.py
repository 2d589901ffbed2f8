"""Every Python example in docs/bots.md and docs/migration-uws.md runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCKS = [
    block
    for name in ("bots.md", "migration-uws.md")
    for block in re.findall(r"```python\n(.*?)```", (DOCS / name).read_text(), re.S)
]


def test_the_bot_guide_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_bot_guide_example_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRAKEN_FUTURES_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    exec(compile(BLOCKS[index], f"bots.md block {index}", "exec"), {"__name__": f"bots_md_{index}"})
