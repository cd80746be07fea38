"""`lostcontact up --api-servers N --runners M` refuses what Prefect's multi-server set-up cannot run on, before
starting anything: a SQLite case store, a Prefect database that is not PostgreSQL. (The set-up itself runs in
tests/scale/.)"""
from __future__ import annotations

import pytest

from deploy.up import SetUpRefused, main


def test_a_sqlite_store_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSTCONTACT_DB_URL", f"sqlite:///{tmp_path / 'store.sqlite'}")
    with pytest.raises(SetUpRefused, match="PostgreSQL案件库"):
        main(["--api-servers", "2", "--home", str(tmp_path / "prefect"), "--prefect-db", "postgresql://x/prefect"])
    assert not (tmp_path / "prefect").exists()  # nothing started


@pytest.mark.postgres
def test_a_prefect_database_on_sqlite_is_refused(tmp_path, monkeypatch, pg_store):
    monkeypatch.setenv("LOSTCONTACT_DB_URL", pg_store.url)
    monkeypatch.delenv("LOSTCONTACT_PREFECT_DB", raising=False)
    with pytest.raises(SetUpRefused, match="PostgreSQL数据库"):
        main(["--runners", "2", "--home", str(tmp_path / "prefect")])
    assert not (tmp_path / "prefect").exists()
