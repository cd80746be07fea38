"""A campaign start opens its cases set-wise (`casework.opening`, issue 22): for every member it must write exactly the
rows the single path (`membership.open_case`, one ORM flush per row) writes: the case, its column history, the direct
search in the inbox, the outbox row, the audit event, value for value and in the same order; and never a second open
case for a member, also when two campaigns start at the same moment. On SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import JSON, func, select, update

from casework.campaigns import phase_due_at
from casework.membership import open_case
from casework.roster import lost_contact_members
from casework.uow import Work
from models.actor import Actor, Channel
from models.codes import CampaignPhase, CaseState, FollowUpKind, FollowUpStatus, Situation
from models.store import (AuditEvent, Campaign, CampaignPhaseRow, Case, CaseColumn, FollowUp, Member, OutboxRow,
                          Step)
from tests.casework.drive import add_member, start
from tests.conftest import T0

START = dt.date(2026, 3, 7)
# Autoincrement keys: PostgreSQL does not give back sequence values of a rolled-back transaction, so the two paths'
# keys differ; the rows are compared in key order instead.
TABLES = ((Case, None), (CaseColumn, "id"), (Step, None), (OutboxRow, "id"), (AuditEvent, "id"))


def rows_of(session, case_ids: list[str]) -> dict[str, list[dict]]:
    """Every row the opening wrote, per table, in key order; JSON columns also say whether they are SQL NULL (JSON
    `null` reads back as None too)."""
    out = {}
    for model, surrogate in TABLES:
        table = model.__table__
        key = table.c.id if model is Case else table.c.case_id
        cols = [c for c in table.c if c.name != surrogate]
        nulls = [c.is_(None).label(f"{c.name}_is_sql_null") for c in table.c if isinstance(c.type, JSON)]
        query = select(*cols, *nulls).where(key.in_(case_ids)).order_by(table.c.id)
        if model is AuditEvent:
            query = query.where(table.c.action == "start_campaign")
        out[table.name] = [dict(r._mapping) for r in session.execute(query)]
    return out


def single_path(store, campaign_id: str) -> tuple[list[str], dict[str, list[dict]]]:
    """What `start_campaign` wrote before the bulk path (one `open_case` per member), in a transaction rolled back."""
    session = store.writing()
    try:
        work = Work(session, T0, "town_sec", None, "start_campaign", actor=Actor("town_sec", Channel.SYSTEM))
        session.add(Campaign(id=campaign_id, org_id="TOWN", name="2026年党员组织关系集中排查", start_date=START,
                             created_by="town_sec", created_at=T0))
        for phase, due in ((CampaignPhase.SEARCH, "2026-03-31"), (CampaignPhase.DISPOSE, "2026-08-31")):
            session.add(CampaignPhaseRow(campaign_id=campaign_id, phase=phase, starts_on=START,
                                         due_at=phase_due_at(due)))
            session.add(FollowUp(id=f"{campaign_id}:phase:{phase.value}", kind=FollowUpKind.PHASE_DEADLINE,
                                 campaign_id=campaign_id, subject_id=phase.value, due_at=phase_due_at(due),
                                 status=FollowUpStatus.PENDING, created_at=T0))
        session.flush()
        ids = []
        for n, member in enumerate(lost_contact_members(session, "TOWN", START), start=1):
            case = open_case(work, member, case_id=f"{campaign_id}-{n:05d}", campaign_id=campaign_id,
                             base_committee_id="TOWN",
                             lost_reasons=member.situation.label if member.situation else None,
                             cause={"opened_by": "campaign", "campaign_id": campaign_id, "start_date": START})
            ids.append(case.id)
        session.flush()
        return ids, rows_of(session, ids)
    finally:
        session.rollback()
        session.close()


def test_a_campaign_start_writes_for_each_member_the_rows_the_single_path_writes(orgs):
    members = [add_member(orgs, name="甲"), add_member(orgs, name="乙", branch="B2", last_contact=None),
               add_member(orgs, name="丙", last_contact=dt.date(2025, 9, 7)),
               add_member(orgs, name="丁", branch="B2")]
    add_member(orgs, name="戊", last_contact=dt.date(2026, 1, 1))  # not lost-contact: no case on either path
    with orgs.writing() as s:
        s.execute(update(Member).where(Member.id == members[0]).values(situation=Situation.OUT_FOR_WORK))
        s.commit()
    expected_ids, expected = single_path(orgs, "C2026")
    assert len(expected_ids) == 4 and {t: len(r) for t, r in expected.items()} == dict.fromkeys(expected, 4)

    result = start(orgs)  # the bulk path, committed
    assert result.case_ids == expected_ids
    with orgs.reading() as s:
        actual = rows_of(s, result.case_ids)
    for table in expected:
        assert actual[table] == expected[table], table
    by_member = {r["member_id"]: r for r in expected["cases"]}
    assert by_member[members[0]]["lost_reasons"] == "外出务工经商" and by_member[members[0]]["version"] == 1
    assert all(r["vote_is_sql_null"] for r in actual["steps"])


def test_a_member_with_an_open_case_gets_no_second_one(orgs):
    first = add_member(orgs, name="甲")
    start(orgs, campaign_id="C1")
    second = add_member(orgs, name="乙")
    later = start(orgs, campaign_id="C2", now=T0 + dt.timedelta(days=1))
    assert later.cases_opened == 1
    assert [(s.member_id, s.code, s.open_case) for s in later.skipped] == [(first, "open_case", "C1-00001")]
    with orgs.reading() as s:
        open_cases = dict(s.execute(select(Case.member_id, func.count()).where(Case.state != CaseState.CLOSED)
                                    .group_by(Case.member_id)).tuples().all())
    assert open_cases == {first: 1, second: 1}


def test_two_campaigns_started_at_once_open_one_case_per_member(orgs):
    members = [add_member(orgs, name=f"党员{i}", branch="B1" if i % 2 else "B2") for i in range(12)]
    gate = threading.Barrier(2)

    def go(campaign_id: str) -> dict:
        gate.wait()
        return start(orgs, campaign_id=campaign_id)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(go, ["CA", "CB"]))
    assert sorted(r.cases_opened for r in results) == [0, 12]
    loser = next(r for r in results if r.cases_opened == 0)
    assert {s.code for s in loser.skipped} == {"open_case"}
    with orgs.reading() as s:
        per_member = dict(s.execute(select(Case.member_id, func.count()).group_by(Case.member_id)).tuples().all())
        outbox = s.scalar(select(func.count()).select_from(OutboxRow))
    assert per_member == {m: 1 for m in members}
    assert outbox == 12
