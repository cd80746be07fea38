"""For the scale tests: a private redis-server (Prefect's stream names are fixed, so a set-up of its own), a Prefect
database of this process's own on the test PostgreSQL (dropped after the module), the PostgreSQL case store with the
test organisation tree."""
from __future__ import annotations

import os
import shutil

import pytest

from deploy.cluster import RedisServer
from deploy.server import drop_pg_database
from tests.conftest import ORG_TREE, PG_URL, T0, _new_installation, _truncate


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run scripts/bootstrap (it installs Debian's redis-server)")
    server = RedisServer(home=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prefect_db():
    """A postgresql:// URL naming a database that does not exist yet (`lostcontact up` creates it)."""
    name = f"prefect_scale_{os.getpid()}"
    drop_pg_database(PG_URL, name)
    yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    drop_pg_database(PG_URL, name)


@pytest.fixture
def pg_orgs(pg_store):
    """The session's PostgreSQL store, emptied, with the test organisation tree."""
    from casework.orgs import import_organisations

    _truncate(pg_store)
    _new_installation(pg_store)
    import_organisations(pg_store, actor_id=None, now=T0, **ORG_TREE)
    return pg_store
