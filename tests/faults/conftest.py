"""Tests marked `slow` (the long crash loop) run only when asked for: `pytest -m slow tests/faults`."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with `-m slow` (see tests/faults/test_crash_loop.py)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
