"""Prefect's multi-server set-up for the scale tests: a private redis-server, a Prefect database of this process's own
on the test PostgreSQL, two API servers (`--no-services`) and one background-services process (deploy/cluster.py);
started once per module, stopped and dropped after it."""
from __future__ import annotations

import os
import shutil

import pytest

from deploy.cluster import PrefectCluster, RedisServer
from deploy.server import drop_pg_database, ensure_pg_database
from tests.conftest import PG_URL, ORG_TREE, T0, _new_installation, _truncate


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is missing: run scripts/bootstrap (it installs Debian's redis-server)")
    server = RedisServer(home=tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, redis_server):
    name = f"prefect_scale_{os.getpid()}"
    drop_pg_database(PG_URL, name)
    c = PrefectCluster(home=tmp_path_factory.mktemp("prefect-cluster"), database_url=ensure_pg_database(PG_URL, name),
                       redis_url=redis_server.url, api_servers=2, scheduler=False).start()
    yield c
    c.stop()
    drop_pg_database(PG_URL, name)


@pytest.fixture
def pg_orgs(pg_store):
    """The session's PostgreSQL store, emptied, with the test organisation tree."""
    from casework.orgs import import_organisations

    _truncate(pg_store)
    _new_installation(pg_store)
    import_organisations(pg_store, actor_id=None, now=T0, **ORG_TREE)
    return pg_store
