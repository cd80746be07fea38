"""Real Prefect servers for the flow tests: one on SQLite (the embedded default, one runner thread) and one on
PostgreSQL (several runner threads, several runners), each started once per test session on loopback."""
from __future__ import annotations

import os

import pytest
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from deploy.server import PrefectServer, drop_pg_database, ensure_pg_database
from tests.conftest import PG_URL


@pytest.fixture(scope="session")
def prefect_sqlite(tmp_path_factory):
    server = PrefectServer(home=tmp_path_factory.mktemp("prefect-sqlite"), scheduler=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prefect_postgres(tmp_path_factory):
    name = f"prefect_test_{os.getpid()}"
    drop_pg_database(PG_URL, name)
    server = PrefectServer(home=tmp_path_factory.mktemp("prefect-pg"), database_url=ensure_pg_database(PG_URL, name),
                           scheduler=False).start()
    yield server
    server.stop()
    drop_pg_database(PG_URL, name)


@pytest.fixture
def prefect(request, store, monkeypatch, tmp_path):
    """The Prefect server that goes with the store's backend, with our deployments applied, and the settings a
    runner in this process uses."""
    from caserunner.deployments import apply_deployments

    server = request.getfixturevalue("prefect_sqlite" if store.is_sqlite else "prefect_postgres")
    monkeypatch.setenv("LOSTCONTACT_DB_URL", store.url)
    monkeypatch.setenv("LOSTCONTACT_ARCHIVE_DIR", str(tmp_path / "archive"))
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        apply_deployments(with_schedules=False)
        yield server
    # Prefect's events worker is one per process and per client type, not per server: drained here, the next test
    # (perhaps against the other server) gets a worker of its own. A runner talks to one server and never needs this.
    EventsWorker.drain_all(timeout=10)
