"""Fixtures for the CLI tests: a `Cli` bound to the store of tests/conftest.py (SQLite file or PostgreSQL schema)."""
from __future__ import annotations

import pytest

from tests.cli.helpers import Cli


@pytest.fixture
def cli(store, tmp_path) -> Cli:
    return Cli(store.url, tmp_path)
