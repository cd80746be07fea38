"""The read side of casework: look-ups the interfaces need, not-found instead of an empty answer, the dossier's clock,
and the ledger's query count."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from casework.dispositions import decide_step
from casework.queries import (dossier, inbox, ledger, member_id_of, org_scope, out_of_control_members, statistics,
                              top_organisations, unreachable_register)
from models.codes import Stage
from models.errors import NotFound
from models.store import Member
from models.timing import local_date, lost_contact_duration
from tests.casework.drive import add_member, case_of, drive_to_end, open_step, propose, search, start
from tests.conftest import T0


def test_lookups_for_the_interfaces(orgs):
    mid = add_member(orgs, name="甲")
    with orgs.reading() as s:
        id_number = s.get(Member, mid).id_number
        assert top_organisations(s) == ["CITY"]
        assert org_scope(s, None) == ["CITY"] and org_scope(s, "TOWN") == ["TOWN"]
        assert member_id_of(s, mid) == mid
        assert member_id_of(s, f" {id_number.lower()} ") == mid  # as typed: spaces, a lower-case check character
        with pytest.raises(NotFound) as err:
            org_scope(s, "NOPE")
        assert err.value.message == "未找到组织：NOPE"
        with pytest.raises(NotFound) as err:
            member_id_of(s, "110101198505200000")
        assert err.value.message == "未找到党员：1101**********0000"  # an ID number is never echoed whole


@pytest.mark.parametrize("query", [
    lambda s: inbox(s, now=T0, org_id="NOPE"),
    lambda s: ledger(s, "NOPE"),
    lambda s: statistics(s, "NOPE"),
    lambda s: statistics(s, "NOPE", as_of=T0),
    lambda s: unreachable_register(s, "NOPE"),
    lambda s: out_of_control_members(s, "NOPE", T0.date()),
], ids=["inbox", "ledger", "statistics", "statistics_as_of", "unreachable", "out_of_control"])
def test_an_unknown_organisation_is_not_found_rather_than_empty(orgs, query):
    with orgs.reading() as s, pytest.raises(NotFound) as err:
        query(s)
    assert err.value.code == "not_found" and err.value.message == "未找到组织：NOPE"


def test_an_unknown_person_has_no_inbox(orgs):
    with orgs.reading() as s, pytest.raises(NotFound) as err:
        inbox(s, now=T0, person_id="nobody")
    assert err.value.message == "未找到人员：nobody"


def test_dossier_lost_contact_time_of_an_open_case_runs_to_the_callers_now(orgs):
    mid = add_member(orgs, name="乙", last_contact=dt.date(2025, 1, 1))
    start(orgs)
    cid = case_of(orgs, mid)  # still searching: the lost-contact time has not ended
    later = dt.datetime(2027, 7, 1, 2, 0, tzinfo=dt.timezone.utc)
    with orgs.reading() as s:
        at_start = dossier(s, cid, now=T0)["lost_contact_time"]
        at_later = dossier(s, cid, now=later)["lost_contact_time"]
    assert at_start == lost_contact_duration(dt.date(2025, 1, 1), local_date(T0))
    assert at_later == lost_contact_duration(dt.date(2025, 1, 1), local_date(later))
    assert at_start != at_later

    search(orgs, cid, outcome="not_found")  # the search ends: from then on the time is fixed
    with orgs.reading() as s:
        assert dossier(s, cid, now=later)["lost_contact_time"] == at_start


@contextmanager
def counting_selects(store):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def _ledger_selects(store) -> tuple[int, list[dict]]:
    with store.reading() as s:
        s.execute(select(1))  # the connection and its transaction are open before counting
        with counting_selects(store) as statements:
            rows = ledger(s, "TOWN")
    return len(statements), rows


def test_ledger_reads_in_a_fixed_number_of_queries(orgs):
    def add_cases(n: int, campaign: str) -> list[str]:
        mids = [add_member(orgs, name=f"{campaign}-{i}") for i in range(n)]
        start(orgs, campaign_id=campaign)
        cids = [case_of(orgs, m) for m in mids]
        # one suspended (its disposition effective)
        search(orgs, cids[1], outcome="not_found")
        propose(orgs, cids[1], "suspend_unreachable", grounds="确实无法取得联系")
        drive_to_end(orgs, cids[1])
        # one withdrawn at the first step and proposed again: the one in progress shows, not the latest withdrawn
        search(orgs, cids[2], outcome="contacted", at=Stage.DIRECT)
        propose(orgs, cids[2], "persuade_withdraw", grounds="以退党相要挟")
        step = open_step(orgs, cids[2])
        decide_step(orgs, actor_id="sec1", now=T0, step_id=step.id, verdict="reject", opinion="情形不符")
        propose(orgs, cids[2], "correct_in_time")
        for cid in cids[3:]:
            search(orgs, cid, outcome="not_found")
        return cids

    add_cases(3, "C1")
    few, rows = _ledger_selects(orgs)
    assert len(rows) == 3
    add_cases(6, "C2")
    many, rows = _ledger_selects(orgs)
    assert len(rows) == 9
    assert many == few <= 3

    shown = {r["case_id"]: (r["disposition"], r["disposition_status"]) for r in rows}
    searching, suspended, again = (case_of_name(orgs, f"C2-{i}") for i in range(3))
    assert shown[searching] == (None, None)
    assert shown[suspended][0] == "停止党籍（确实无法取得联系）" and shown[suspended][1] != "in_progress"
    assert shown[again] == ("限期改正", "in_progress")


def case_of_name(store, name: str) -> str:
    with store.reading() as s:
        mid = s.scalar(select(Member.id).where(Member.name == name))
    return case_of(store, mid)
