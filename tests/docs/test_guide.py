"""Every Python example in docs/guide.md runs, against a simulator over loopback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from krakenfutures.client.limiter import clear_limiters
from krakenfutures.config import sim_credentials_path, write_credentials
from krakenfutures.testing import running_simulator, sim_config

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide.md"
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)


def test_the_guide_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_example_runs(index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As a reader would have it: `kf sim` wrote its key pair where kf/Client look for it.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("KRAKEN_FUTURES_STATE_DIR", str(tmp_path / "state"))
    for name in ("KRAKEN_FUTURES_API_KEY", "KRAKEN_FUTURES_API_SECRET", "KRAKEN_FUTURES_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    clear_limiters()
    with running_simulator(sim_config(seed=3, market=True)) as sim:
        sim.tick()
        write_credentials(
            sim_credentials_path(), sim.api_key, sim.api_secret, base_url=sim.base_url
        )
        exec(compile(BLOCKS[index], f"guide.md block {index}", "exec"), {"BASE_URL": sim.base_url})
