"""Fixtures for the runtime tests: the simulator over loopback with the unified dialect's keys
(a module that needs another simulator defines its own ``sim``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from krakenfutures.testing import SimHandle, running_simulator, sim_config

from .uws_sim import UWS_KEYS


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    """The simulator over loopback (fake clock) with its default keys plus a uws Spot key of
    ``main`` and a counterparty account ``other`` (:data:`uws_sim.UWS_KEYS`)."""
    cfg = sim_config()
    with running_simulator(dataclasses.replace(cfg, keys=(*cfg.keys, *UWS_KEYS))) as handle:
        yield handle
