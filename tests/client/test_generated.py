"""Client/AsyncClient methods are generated from the endpoint table; stale files fail here."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from krakenfutures.client.async_methods import AsyncMethods
from krakenfutures.client.sync_methods import SyncMethods
from krakenfutures.core.rest.endpoints import ENDPOINTS

ROOT = Path(__file__).resolve().parents[2]


def test_generated_method_files_match_the_endpoint_table() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_client.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_sync_and_async_twins_have_the_same_methods_and_signatures() -> None:
    for endpoint in ENDPOINTS:
        sync = getattr(SyncMethods, endpoint.name)
        async_ = getattr(AsyncMethods, endpoint.name)
        assert inspect.iscoroutinefunction(async_) and not inspect.iscoroutinefunction(sync)
        assert inspect.signature(sync) == inspect.signature(async_)
