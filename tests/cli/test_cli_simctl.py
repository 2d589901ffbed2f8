"""`kf sim ctl` steers a running simulator; `kf sim` refuses unsafe binds and bad flags."""

from __future__ import annotations

import json
from typing import Any

from krakenfutures.sim.server import is_loopback
from krakenfutures.testing import running_simulator


def test_ctl_switches_state_and_faults_and_orders_see_it(kf: Any) -> None:
    with running_simulator() as sim:
        out = kf("sim", "ctl", "--url", sim.base_url, "state", "PF_XBTUSD", "post_only")
        assert out.exit_code == 0, out.stderr
        assert json.loads(out.stdout)["markets"]["PF_XBTUSD"]["state"] == "post_only"
        assert sim.exchange.trading_state("PF_XBTUSD").value == "post_only"
        out = kf(
            "sim", "ctl", "--url", sim.base_url, "faults", "latency_ms=5", "unavailable_next=2"
        )
        assert out.exit_code == 0, out.stderr
        assert json.loads(out.stdout)["faults"]["unavailable_next"] == 2
        bad = kf("sim", "ctl", "--url", sim.base_url, "faults", "no_such_knob=1")
        assert bad.exit_code == 4 and "no_such_knob" in bad.stderr
        status = json.loads(kf("sim", "ctl", "--url", sim.base_url, "status").stdout)
        assert status["faults"]["latency_ms"] == 5


def test_ctl_without_a_simulator_says_what_to_do(kf: Any) -> None:
    out = kf("sim", "ctl", "--url", "http://127.0.0.1:9", "status")
    assert out.exit_code == 5 and "kf sim" in out.stderr


def test_sim_refuses_to_bind_beyond_loopback_without_the_flag(kf: Any) -> None:
    out = kf("sim", "--host", "0.0.0.0", "--port", "0")
    assert out.exit_code == 3 and "--allow-remote" in out.stderr


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("10.0.0.5") and not is_loopback(None) and not is_loopback("example.com")
