"""Migration 0004 on a store that already has cases (SQLite and PostgreSQL): the members get the state their cases
say, each case keeps the last contact it opened on, pending transfer-receipt follow-ups move to the day after their
due day; and it downgrades."""
from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import inspect, text

from casework.db import Store
from migrations import config

T = "2026-03-07 01:00:00"




def rows(store, sql: str) -> list[tuple]:
    with store.engine.connect() as c:
        return [tuple(r) for r in c.execute(text(sql))]


def test_0004_backfills_member_state_and_downgrades(unmigrated_store):
    cfg = config(unmigrated_store.engine)
    command.upgrade(cfg, "0003")
    with unmigrated_store.engine.begin() as c:
        c.execute(text(f"INSERT INTO organisations (id, name, kind, county_or_higher, created_at) "
                       f"VALUES ('B1', '东村党支部', 'branch', false, '{T}')"))
        for mid, last in (("m1", "2025-01-01"), ("m2", "2025-01-01"), ("m3", "2025-01-01"), ("m4", None)):
            c.execute(text("INSERT INTO members (id, id_number, branch_id, name, gender, birth_date, kind, "
                           "last_contact_on, reported_to_branch, created_at, updated_at) VALUES (:id, :n, 'B1', :id, "
                           "'male', '1985-05-20', 'full', :last, false, :t, :t)"),
                      {"id": mid, "n": f"ID{mid}", "last": last, "t": T})
        # m1 contacted (search ended 2026-03-20), m2 dead, m3 removed (self-abandonment in effect), m4 untouched.
        for cid, mid, state, contact, dead, ended in (("c1", "m1", "closed", "contacted", False, "2026-03-20"),
                                                      ("c2", "m2", "closed", None, True, "2026-03-18"),
                                                      ("c3", "m3", "closed", "contacted", False, "2026-03-19")):
            c.execute(text('INSERT INTO cases (id, member_id, branch_id, catalogue_version, state, contact, '
                           'managed_elsewhere, dead, "column", search_ended_on, opened_at, version) VALUES '
                           "(:id, :m, 'B1', '2018.1', :state, :contact, false, :dead, 'C', :ended, :t, 1)"),
                      {"id": cid, "m": mid, "state": state, "contact": contact, "dead": dead, "ended": ended, "t": T})
        c.execute(text("INSERT INTO dispositions (id, case_id, seq, code, catalogue_version, status, grounds, params, "
                       "proposed_at) VALUES ('c3-D1', 'c3', 1, 'self_abandonment', '2018.1', 'completed', '…', '{}', "
                       f"'{T}')"))
        c.execute(text("INSERT INTO followups (id, kind, subject_id, due_at, status, created_at) VALUES "
                       f"('receipt:L-1', 'transfer_receipt', 'L-1', '2026-04-29 16:00:00', 'pending', '{T}')"))
    command.upgrade(cfg, "0004")

    status = dict(rows(unmigrated_store, "SELECT id, status FROM members"))
    assert status == {"m1": "active", "m2": "dead", "m3": "out", "m4": "active"}
    last = {k: str(v) if v else None for k, v in rows(unmigrated_store, "SELECT id, last_contact_on FROM members")}
    assert last == {"m1": "2026-03-20", "m2": "2025-01-01", "m3": "2026-03-19", "m4": None}
    kept = {k: str(v) for k, v in rows(unmigrated_store, "SELECT id, last_contact_on FROM cases")}
    assert kept == {"c1": "2025-01-01", "c2": "2025-01-01", "c3": "2025-01-01"}
    (due,), = rows(unmigrated_store, "SELECT due_at FROM followups")
    due = due if isinstance(due, dt.datetime) else dt.datetime.fromisoformat(str(due))
    assert due.replace(tzinfo=None) in (dt.datetime(2026, 4, 30, 16, 0),)  # midnight after 2026-04-30, Beijing

    command.downgrade(cfg, "0003")
    assert "status" not in {c["name"] for c in inspect(unmigrated_store.engine).get_columns("members")}
    assert "counted_from" not in {c["name"] for c in inspect(unmigrated_store.engine).get_columns("cases")}


def test_alembic_own_command_line_migrates_the_store_named_by_the_environment(tmp_path, monkeypatch):
    """migrations/env.py without an engine handed over (alembic's command line) opens LOSTCONTACT_DB_URL itself,
    without casework: the store it names gets every table."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("LOSTCONTACT_DB_URL", url)
    command.upgrade(config(), "head")
    store = Store(url)
    assert {"cases", "members", "steps", "notifications"} <= set(inspect(store.engine).get_table_names())
    store.dispose()
