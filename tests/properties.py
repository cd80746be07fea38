"""How many examples the property tests draw: the `ci` amount by default, 20 times as many with
HYPOTHESIS_PROFILE=full (the knob tests/casework/test_hostile_fuzz.py and benchmarks/fuzz.py use too). Each test
sets its own `max_examples` from `examples(n)`, so nothing here changes hypothesis's global profile."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FULL = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "full"


def examples(ci: int) -> settings:
    return settings(max_examples=ci * 20 if FULL else ci, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
