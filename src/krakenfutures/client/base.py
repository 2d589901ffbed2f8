"""Construction shared by :class:`Client` and :class:`AsyncClient`: credentials, target,
nonce source, shared rate limiter and retry policy."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from krakenfutures.client.flow import CallContext

if TYPE_CHECKING:
    import random
    from pathlib import Path

    from krakenfutures.client.nonce_store import NonceSource
    from krakenfutures.config import Credentials
    from krakenfutures.core.retry import RetryPolicy

NonceMode = Literal["file", "memory", "none"]


def _no_wait(pool: str, cost: int, now_ms: int) -> int:
    return 0


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ClientBase:
    """Everything but the I/O driver. Not for direct use."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        *,
        base_url: str | None = None,
        credentials_file: str | Path | None = None,
        timeout_s: float = 10.0,
        nonce: NonceMode = "file",
        retry: RetryPolicy | None = None,
        clock_ms: Callable[[], int] | None = None,
        rng: random.Random | None = None,
        rate_limit: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        # Imported here rather than at module level: credentials files, nonce stores and the
        # limiter bring pathlib, hashlib, threading and random, about 15 ms that
        # `import krakenfutures` need not pay before a client is made.
        import random

        from krakenfutures.client.limiter import limiter_for
        from krakenfutures.config import load_credentials, resolve_base_url, sim_credentials_for
        from krakenfutures.core.retry import RetryPolicy

        creds = load_credentials(api_key, api_secret, path=credentials_file, env=env)
        file_base_url = creds.base_url if creds is not None else None
        self.base_url = resolve_base_url(base_url, env=env, fallback=file_base_url)
        if creds is None:
            # `kf sim` writes its generated key pair for its own loopback origin.
            creds = sim_credentials_for(self.base_url, env)
        self.credentials: Credentials | None = creds
        self.timeout_s = timeout_s
        self._clock_ms = clock_ms or _wall_ms
        self._rng = rng or random.Random()
        self._nonces = self._nonce_source(nonce, creds, env)
        limiter = limiter_for(creds.api_key if creds else None)
        self._ctx = CallContext(
            api_key=creds.api_key if creds else None,
            key=creds.secret.key() if creds else None,
            next_nonce=self._nonces.next,
            observe_nonce=self._nonces.observe,
            # rate_limit=False is for targets without Kraken's budgets (benchmarks, a simulator
            # started with limits off); against Kraken, pacing here avoids apiLimitExceeded.
            reserve=limiter.reserve if rate_limit else _no_wait,
            on_rate_limited=limiter.on_rate_limited,
            policy=retry or RetryPolicy(),
            rand=self._rng.random,
        )

    @staticmethod
    def _nonce_source(
        mode: NonceMode, creds: Credentials | None, env: Mapping[str, str] | None
    ) -> NonceSource:
        from krakenfutures.client.nonce_store import FileNonceSource, MemoryNonceSource, NoNonce
        from krakenfutures.config import state_dir

        if mode == "none" or creds is None:
            return NoNonce()
        if mode == "memory":
            return MemoryNonceSource()
        return FileNonceSource(creds.api_key, directory=state_dir(env) / "nonces")

    def __repr__(self) -> str:
        who = self.credentials.masked_key() if self.credentials else "public"
        return f"{type(self).__name__}(base_url={self.base_url!r}, key={who})"
