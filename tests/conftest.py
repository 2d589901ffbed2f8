"""Suite-wide settings: hypothesis profiles. ``default`` keeps ``make test`` quick; ``fuzz``
(``make fuzz``) runs every property test with many more examples and no deadline."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    max_examples=3_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
