"""Strictly increasing nonces from an injected clock.

Kraken's ``Nonce`` header is optional; when sent it must be a "continuously incrementing integer"
per API key (reference §1.1). We scale the clock to microseconds (``now_ms * 1000``) so that up to
a thousand requests fit in one millisecond before the counter runs ahead of the clock, and take
``last + 1`` whenever the clock has not moved on (or went backwards). The result only ever grows.

This module is pure: the caller passes the time and owns any locking. Sharing one counter between
threads or processes is the client's job (``krakenfutures.client.nonce_store``).
"""

from __future__ import annotations

from krakenfutures.errors import ConfigError

#: Clock milliseconds are multiplied by this so several nonces fit in one millisecond.
SCALE = 1000


def _check_int(name: str, value: object) -> int:
    # bool is an int subclass; a True nonce is always a bug, so refuse it.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value}")
    return value


def next_nonce(last: int, now_ms: int) -> int:
    """The nonce to use after ``last`` at clock time ``now_ms``: ``max(now_ms * 1000, last + 1)``.

    Always strictly greater than ``last``, whatever the clock says.
    """
    scaled = now_ms * SCALE
    return scaled if scaled > last else last + 1


class NonceGenerator:
    """A strictly increasing nonce counter driven by clock values the caller passes in.

    Example::

        gen = NonceGenerator()
        a = gen.next(1_700_000_000_000)   # 1_700_000_000_000_000
        b = gen.next(1_700_000_000_000)   # a + 1: same millisecond
        gen.observe(b + 10_000)           # the server saw something higher
        assert gen.next(1_700_000_000_000) > b + 10_000

    Not thread-safe: wrap it in a lock when several threads share it.
    """

    __slots__ = ("_last",)

    def __init__(self, last: int = 0) -> None:
        self._last = _check_int("last", last)

    @property
    def last(self) -> int:
        """The highest nonce handed out or observed so far (0 before any)."""
        return self._last

    def next(self, now_ms: int) -> int:
        """Return a nonce strictly greater than every earlier one, scaled from ``now_ms``."""
        self._last = value = next_nonce(self._last, _check_int("now_ms", now_ms))
        return value

    def observe(self, value: int) -> None:
        """Raise the floor: every later nonce will be greater than ``value``.

        Call it after a ``nonceBelowThreshold`` reply (with something above the refused nonce)
        or after reading the last nonce from a state file. Lower values are ignored.
        """
        value = _check_int("value", value)
        if value > self._last:
            self._last = value

    def __repr__(self) -> str:
        return f"NonceGenerator(last={self._last})"


__all__ = ["SCALE", "NonceGenerator", "next_nonce"]
