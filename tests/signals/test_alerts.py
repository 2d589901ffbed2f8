"""Alert records, the throttle, the detectors and redaction: pure, no clock."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenfutures.core.events import Halted, TradingStateChanged
from krakenfutures.core.types import TradingState
from krakenfutures.signals.alerts import (
    MINUTE_MS,
    Alert,
    AlertKind,
    AlertThrottle,
    ReconnectStorm,
    Severity,
    alert_for_authentication_failure,
    alert_for_halt,
    alert_for_state_change,
    check_funding_spike,
    check_large_fill,
    check_liquidation_distance,
    check_liquidation_risk,
    redact,
)

T0 = 1_767_225_600_000


def info(text: str, ts_ms: int, *, key: str | None = None, severity: str = "info") -> Alert:
    return Alert(AlertKind.INFO, Severity(severity), text, ts_ms, key=key)


# ------------------------------------------------------------------------------ records


def test_severity_ranks_not_string_order() -> None:
    assert Severity.CRITICAL.at_least(Severity.WARNING)
    assert Severity.WARNING.at_least("info")
    assert not Severity.INFO.at_least(Severity.WARNING)
    assert sorted(Severity, key=lambda s: s.rank) == [
        Severity.INFO,
        Severity.WARNING,
        Severity.CRITICAL,
    ]


def test_alert_accepts_strings_and_formats_one_line() -> None:
    alert = Alert("halt", "critical", "stopped\nbecause\t reasons", T0, symbol="PF_XBTUSD",
                  strategy="mm", suppressed=2)  # fmt: skip
    assert alert.kind is AlertKind.HALT and alert.severity is Severity.CRITICAL
    line = alert.format_text()
    assert "\n" not in line and "\t" not in line
    assert line == (
        "CRITICAL halt PF_XBTUSD [mm]: stopped because reasons (+2 suppressed) "
        "@ 2026-01-01T00:00:00.000Z"
    )
    with pytest.raises(ValueError):
        Alert("nonsense", "info", "x", T0)
    with pytest.raises(TypeError):
        Alert("info", "info", "x", 1.5)  # type: ignore[arg-type]


def test_dedupe_key_defaults_to_content() -> None:
    assert info("a", T0).dedupe_key == info("a", T0 + 5).dedupe_key
    assert info("a", T0).dedupe_key != info("b", T0).dedupe_key
    assert info("a", T0, key="k").dedupe_key == "k"


# ------------------------------------------------------------------------------ throttle


def test_throttle_dedupes_within_window_and_reports_suppressed() -> None:
    throttle = AlertThrottle(dedupe_window_ms=10_000, max_per_minute=100)
    assert throttle.admit(info("same", T0, key="k")) is not None
    assert throttle.admit(info("same", T0 + 1_000, key="k")) is None
    assert throttle.admit(info("same", T0 + 9_999, key="k")) is None
    assert throttle.pending == 2
    passed = throttle.admit(info("other", T0 + 9_999))
    assert passed is not None and passed.suppressed == 2
    assert "(+2 suppressed)" in passed.format_text()
    assert throttle.pending == 0 and throttle.suppressed_total == 2
    again = throttle.admit(info("same", T0 + 10_000, key="k"))  # window measured from the last pass
    assert again is not None and again.suppressed == 0


def test_throttle_rate_cap_but_critical_passes() -> None:
    throttle = AlertThrottle(dedupe_window_ms=0, max_per_minute=3)
    passed = [throttle.admit(info(f"n{i}", T0 + i)) for i in range(5)]
    assert [p is not None for p in passed] == [True, True, True, False, False]
    critical = throttle.admit(info("halt", T0 + 10, severity="critical"))
    assert critical is not None and critical.suppressed == 2
    # A minute after the first three, room again.
    later = throttle.admit(info("later", T0 + MINUTE_MS + 2))
    assert later is not None


def test_throttle_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        AlertThrottle(max_per_minute=0)
    with pytest.raises(ValueError):
        AlertThrottle(dedupe_window_ms=-1)


@given(
    events=st.lists(
        st.tuples(
            st.integers(0, 5_000),  # gap to previous alert, ms
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from(list(Severity)),
        ),
        max_size=200,
    ),
    window=st.integers(0, 20_000),
    cap=st.integers(1, 10),
)
def test_throttle_accounts_for_every_alert_and_keeps_its_limits(
    events: list[tuple[int, str, Severity]], window: int, cap: int
) -> None:
    throttle = AlertThrottle(dedupe_window_ms=window, max_per_minute=cap)
    ts, passed, last_pass = T0, [], {}
    for gap, key, severity in events:
        ts += gap
        out = throttle.admit(Alert(AlertKind.INFO, severity, key, ts, key=key))
        if out is not None:
            assert key not in last_pass or ts - last_pass[key] >= window
            last_pass[key] = ts
            passed.append(out)
    reported = sum(a.suppressed for a in passed)
    assert len(passed) + throttle.suppressed_total == len(events)
    assert reported + throttle.pending == throttle.suppressed_total
    for i, alert in enumerate(passed):  # a non-critical pass never makes a minute exceed cap
        if alert.severity is not Severity.CRITICAL:
            in_minute = [a for a in passed[: i + 1] if a.ts_ms > alert.ts_ms - MINUTE_MS]
            assert len(in_minute) <= cap


# ------------------------------------------------------------------------------ redact


def test_redact_masks_every_occurrence_longest_first() -> None:
    text = "token 123:abc in url /bot123:abc/sendMessage and part 123"
    assert redact(text, ["123", "123:abc"]) == (
        "token **** in url /bot****/sendMessage and part ****"
    )
    assert redact("nothing here", ["secret", ""]) == "nothing here"


SECRET_CHARS = st.text(alphabet="abcXYZ0189:_-/+=", min_size=1, max_size=12)


@given(
    pieces=st.lists(st.text(alphabet="abcXYZ0189 :/_-+=.", max_size=10), max_size=6),
    secrets=st.lists(SECRET_CHARS, min_size=1, max_size=3),
)
def test_redacted_text_never_contains_a_secret(pieces: list[str], secrets: list[str]) -> None:
    text = "".join(p + secrets[i % len(secrets)] for i, p in enumerate(pieces))
    out = redact(text, secrets)
    for secret in secrets:
        assert secret not in out


# ------------------------------------------------------------------------------ detectors


def test_reconnect_storm_alerts_once_then_rearms() -> None:
    storm = ReconnectStorm(3, 60_000, feed="ws-private")
    assert [storm.on_reconnect(T0 + i * 1_000) for i in range(3)] == [None] * 3
    alert = storm.on_reconnect(T0 + 3_000)
    assert alert is not None and alert.kind is AlertKind.RECONNECT_STORM
    assert "ws-private reconnected 4 times within 60 s" in alert.text
    assert storm.on_reconnect(T0 + 4_000) is None  # same storm
    assert storm.on_reconnect(T0 + 200_000) is None  # calm again: re-armed
    second = [storm.on_reconnect(T0 + 201_000 + i) for i in range(3)]
    assert second[:2] == [None, None] and second[2] is not None  # 4th within the window


def test_reconnects_spread_out_never_storm() -> None:
    storm = ReconnectStorm(2, 10_000)
    assert all(storm.on_reconnect(T0 + i * 5_000) is None for i in range(50))


def test_large_fill_linear_and_inverse_notional() -> None:
    kw = {"ts_ms": T0}
    assert check_large_fill("PF_XBTUSD", D("0.5"), D("50000"), D("25001"), **kw) is None
    alert = check_large_fill(
        "PF_XBTUSD", D("-0.5"), D("50000"), D("25000"), side="sell", fill_id="f1", **kw
    )
    assert alert is not None and alert.key == "large_fill:f1"
    assert "sell 0.5 @ 50000" in alert.text and "25,000.00 USD" in alert.text
    # Inverse: 1 contract = 1 USD whatever the price.
    assert check_large_fill("PI_XBTUSD", D(9_999), D("50000"), D(10_000), **kw) is None
    assert check_large_fill("PI_XBTUSD", D(10_000), D("1"), D(10_000), **kw) is not None


@given(
    qty=st.decimals(min_value=D("0.0001"), max_value=D(1000), places=4),
    price=st.decimals(min_value=D("0.01"), max_value=D(100_000), places=2),
    threshold=st.decimals(min_value=D(1), max_value=D(10_000_000), places=0),
)
def test_large_fill_fires_exactly_at_threshold(qty: D, price: D, threshold: D) -> None:
    alert = check_large_fill("PF_ETHUSD", qty, price, threshold, ts_ms=T0)
    assert (alert is not None) == (qty * price >= threshold)


def test_liquidation_risk_levels() -> None:
    kw = {"ts_ms": T0, "threshold": D(2), "critical_threshold": D("1.2")}
    assert check_liquidation_risk(D(2001), D(1000), **kw) is None
    warning = check_liquidation_risk(D(2000), D(1000), **kw)
    assert warning is not None and warning.severity is Severity.WARNING
    assert "2.00x maintenance margin" in warning.text
    critical = check_liquidation_risk(D(1100), D(1000), **kw)
    assert critical is not None and critical.severity is Severity.CRITICAL
    assert critical.key != warning.key  # escalation is not deduplicated away
    assert check_liquidation_risk(D(5), D(0), **kw) is None  # nothing at risk


def test_liquidation_distance() -> None:
    kw = {"ts_ms": T0}
    assert check_liquidation_distance("PF_XBTUSD", D(100), None, D("0.1"), **kw) is None
    assert check_liquidation_distance("PF_XBTUSD", D(100), D(80), D("0.1"), **kw) is None
    near = check_liquidation_distance("PF_XBTUSD", D(100), D(91), D("0.1"), **kw)
    assert near is not None and near.severity is Severity.WARNING and "9.00%" in near.text
    very = check_liquidation_distance("PF_XBTUSD", D(100), D(102), D("0.1"), **kw)
    assert very is not None and very.severity is Severity.CRITICAL


def test_funding_spike_both_directions() -> None:
    assert check_funding_spike("PF_XBTUSD", D("0.0001"), D("0.001"), ts_ms=T0) is None
    up = check_funding_spike("PF_XBTUSD", D("0.002"), D("0.001"), ts_ms=T0)
    down = check_funding_spike("PF_XBTUSD", D("-0.001"), D("0.001"), ts_ms=T0)
    assert up is not None and "longs pay" in up.text
    assert down is not None and "shorts pay" in down.text


def test_state_change_alerts_by_severity() -> None:
    def change(state: TradingState, previous: TradingState) -> Alert | None:
        return alert_for_state_change(
            TradingStateChanged("PF_XBTUSD", state, previous, ("status: suspended",), T0)
        )

    suspended = change(TradingState.SUSPENDED, TradingState.OPEN)
    assert suspended is not None and suspended.severity is Severity.CRITICAL
    assert suspended.text == "trading state open -> suspended (status: suspended)"
    assert suspended.symbol == "PF_XBTUSD" and suspended.ts_ms == T0
    reopened = change(TradingState.OPEN, TradingState.SUSPENDED)
    assert reopened is not None and reopened.severity is Severity.INFO
    post_only = change(TradingState.POST_ONLY, TradingState.OPEN)
    assert post_only is not None and post_only.severity is Severity.WARNING
    assert change(TradingState.OPEN, TradingState.OPEN) is None


def test_halt_alerts_are_critical_and_named_by_cause() -> None:
    auth = alert_for_halt(Halted("authentication", "authenticationError on sendorder", T0))
    assert auth.kind is AlertKind.AUTHENTICATION and auth.severity is Severity.CRITICAL
    assert "all strategies" in auth.text
    one = alert_for_halt(Halted("circuit_breaker", "5 rejects", T0, strategy="mm"))
    assert one.kind is AlertKind.HALT and one.strategy == "mm" and "strategy mm" in one.text
    recon = alert_for_halt(Halted("reconcile_mismatch", "position differs", T0))
    assert recon.kind is AlertKind.RECONCILE
    failed = alert_for_authentication_failure("401 on /accounts", ts_ms=T0)
    assert failed.severity is Severity.CRITICAL and failed.key == "authentication"
