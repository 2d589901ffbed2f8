"""Shared by the `kf` tests against the simulator over loopback: a simulator whose config has a
second account ``other`` (key :data:`OTHER_KEY`) to trade against ``main``."""

from __future__ import annotations

import dataclasses
from contextlib import AbstractContextManager
from typing import Any

from krakenfutures.testing import TEST_SECRET, running_simulator, sim_config

OTHER_KEY = "test-key-other"


def running_with_other(**changes: Any) -> AbstractContextManager[Any]:
    """:func:`running_simulator` of ``sim_config(**changes)`` plus account ``other``."""
    from krakenfutures.sim.config import KeyConfig

    cfg = sim_config(**changes)
    other = KeyConfig(api_key=OTHER_KEY, api_secret=TEST_SECRET, account="other")
    return running_simulator(dataclasses.replace(cfg, keys=(*cfg.keys, other)))
