"""The papers' tests: real cases on SQLite and PostgreSQL (the `orgs` fixture of tests/conftest.py)."""
from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: prints through headless Chromium (/usr/bin/chromium); runs in the "
                                       "normal suite, select with -m browser")


import pytest  # noqa: E402


@pytest.fixture
def papers(orgs):
    """Four cases of one campaign under 某镇党委: contacted and normally managed, removed by persuasion (with a
    rejection on the way), suspended as unreachable, and one still being searched for."""
    from tests.reports.cases import build_all

    return build_all(orgs)
