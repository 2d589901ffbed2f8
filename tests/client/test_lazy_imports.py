"""Getting ``krakenfutures.Client`` loads the client and its hot path, nothing it can defer.

Timing is the benchmark's business (benchmarks/bench_client.py); this pins the *cause* of a
fast import: schema structs load with the first call that needs them, and helpers needed only
to construct a client (config, nonce files, limiter) or on an error path load then.
"""

from __future__ import annotations

import json
import subprocess
import sys

DEFERRED = (
    "krakenfutures.core.rest.schema_account",
    "krakenfutures.core.rest.schema_common",
    "krakenfutures.core.rest.schema_history",
    "krakenfutures.core.rest.schema_market",
    "krakenfutures.core.rest.schema_orders",
    "krakenfutures.core.types",
    "krakenfutures.core.classify",
    "krakenfutures.core.retry",
    "krakenfutures.config",
    "krakenfutures.client.limiter",
    "krakenfutures.client.nonce_store",
    "krakenfutures.client.async_",
    "krakenfutures.transport.http_pool",
    "dataclasses",
    "hashlib",
    "http.client",
    "logging",
    "pathlib",
    "random",
    "threading",
    "urllib.parse",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_getting_client_defers_schemas_config_and_stdlib_helpers() -> None:
    loaded = _loaded_after("import krakenfutures; krakenfutures.Client")
    assert "krakenfutures.client.sync" in loaded
    assert "krakenfutures.core.rest.build" in loaded
    assert sorted(loaded & set(DEFERRED)) == []


def test_first_use_loads_only_the_schema_module_it_needs() -> None:
    code = (
        "from krakenfutures.core.rest.endpoints import BY_NAME; "
        "BY_NAME['send_order'].params; BY_NAME['send_order'].result"
    )
    loaded = _loaded_after(code)
    assert "krakenfutures.core.rest.schema_orders" in loaded
    assert "krakenfutures.core.rest.schema_market" not in loaded
    assert "krakenfutures.core.rest.schema_history" not in loaded
