"""Fixtures: a real case store on SQLite and on PostgreSQL, each migrated by Alembic.

SQLite: one migrated template file per session, copied for every test. PostgreSQL: one database migrated per session
(LOSTCONTACT_TEST_PG_URL, default the local server's `test` database, in a schema of this process's own), truncated for every
test; TRUNCATE does not fire the audit log's append-only row triggers."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid

import pytest
from sqlalchemy import text

from casework.db import Store
from models.store import Base
from models.timing import UTC

PG_URL = os.environ.get("LOSTCONTACT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_SCHEMA = f"lostcontact_test_{os.getpid()}"  # one per test process, so parallel runs never collide


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "store.sqlite"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    with store.engine.connect() as c:
        c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(scope="session")
def pg_store():
    admin = Store(PG_URL)
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    sep = "&" if "?" in PG_URL else "?"
    store = Store(f"{PG_URL}{sep}options=-csearch_path%3D{PG_SCHEMA}")
    store.upgrade()
    yield store
    store.dispose()
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def _truncate(store: Store) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with store.engine.begin() as c:
        c.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def _new_installation(store: Store) -> None:
    """Every test's store is a new installation, as a freshly created store would be."""
    with store.engine.begin() as c:
        c.execute(text("DELETE FROM installation"))
        c.execute(text("INSERT INTO installation (id, created_at) VALUES (:id, :at)"),
                  {"id": uuid.uuid4().hex, "at": dt.datetime.now(UTC)})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path, sqlite_template):
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite"
        shutil.copy(sqlite_template, path)
        s = Store(f"sqlite:///{path}")
        _new_installation(s)
        yield s
        s.dispose()
    else:
        s = request.getfixturevalue("pg_store")
        _truncate(s)
        _new_installation(s)
        yield s


T0 = dt.datetime(2026, 3, 7, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai, the day a campaign starts


ORG_TREE = {
    "organisations": [
        {"id": "CITY", "name": "某市委组织部", "kind": "department", "parent": None, "county_or_higher": True},
        {"id": "COUNTY", "name": "某县委组织部", "kind": "department", "parent": "CITY", "county_or_higher": True},
        {"id": "TOWN", "name": "某镇党委", "kind": "base_committee", "parent": "COUNTY"},
        {"id": "B1", "name": "东村党支部", "kind": "branch", "parent": "TOWN", "category": 3},
        {"id": "B2", "name": "西村党支部", "kind": "branch", "parent": "TOWN", "category": "③"},
        {"id": "OTHER_BASE", "name": "另一镇党委", "kind": "base_committee", "parent": "COUNTY"},
        {"id": "OB1", "name": "南村党支部", "kind": "branch", "parent": "OTHER_BASE", "category": 3},
    ],
    "people": [
        {"id": "sec1", "name": "张书记", "roles": [{"org": "B1", "role": "secretary"}]},
        {"id": "org1", "name": "李组织委员", "roles": [{"org": "B1", "role": "organisation_member"}]},
        {"id": "sec2", "name": "王书记", "roles": [{"org": "B2", "role": "secretary"}]},
        {"id": "town_sec", "name": "赵书记", "roles": [{"org": "TOWN", "role": "secretary"}]},
        {"id": "town_staff", "name": "钱干事", "roles": [{"org": "TOWN", "role": "staff"}]},
        {"id": "county_org", "name": "孙部长", "roles": [{"org": "COUNTY", "role": "deputy_secretary"}]},
        {"id": "other_sec", "name": "周书记", "roles": [{"org": "OB1", "role": "secretary"},
                                                      {"org": "OTHER_BASE", "role": "secretary"}]},
    ],
}


@pytest.fixture
def orgs(store):
    from casework.orgs import import_organisations

    import_organisations(store, actor_id=None, now=T0, **ORG_TREE)
    return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def unmigrated_store(request, tmp_path):
    """A store with no schema yet, to migrate step by step (a schema of this process's own on PostgreSQL)."""
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'old.sqlite'}")
        yield store
        store.dispose()
        return
    schema = f"lostcontact_migration_{os.getpid()}"
    admin = Store(PG_URL)
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    store = Store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield store
    store.dispose()
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()
