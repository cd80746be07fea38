"""schemathesis against /api's OpenAPI schema: generated requests (valid and not) get no server error and every
answer matches the schema. Bounded for CI (SCHEMATHESIS_EXAMPLES, default 25 per operation); the full run is
`SCHEMATHESIS_EXAMPLES=500 .venv/bin/python -m pytest tests/web/test_api_schema.py`."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from casework.accounts import create_token
from casework.db import Store
from models.actor import Actor, Channel
from tests.web.world import Clock, build_world
from web.app import Settings, create_app

_DIR = Path(tempfile.mkdtemp(prefix="lostcontact-api-"))
STORE = Store(f"sqlite:///{_DIR / 'store.sqlite'}")
APP = create_app(STORE, Settings(base_url="http://testserver", clock=Clock()))
schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def token() -> str:
    STORE.upgrade()
    build_world(STORE)
    return create_token(STORE, actor=Actor("town_sec", Channel.CLI), name="schemathesis",
                        now=dt.datetime.now(dt.timezone.utc))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_answers_by_its_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
