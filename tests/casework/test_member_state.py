"""Issue 21 point 2: a member's state follows the cases, so the next campaign reads what the last one found: a contact
found moves the last-contact date, a death, a removal and a suspension are written on the member, a restoration
undoes the suspension; a campaign never opens a case for a member with an open case, dead, out of the party or
suspended, and says whom it skipped and why."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from casework.campaigns import start_campaign
from casework.queries import dossier
from casework.search import record_attempt
from models.codes import CaseState, Stage
from models.membership import MemberStatus
from models.store import AuditEvent, Case, Member
from tests.casework.drive import add_member, case_of, drive_to_end, propose, search, start
from tests.conftest import T0

LATER = T0 + dt.timedelta(days=10)
# Six months after every contact of the first campaign: all five members are lost again as of this start.
NEXT = dict(start_date="2026-09-20", now=T0 + dt.timedelta(days=200))


def again(store, campaign_id: str, start_date: str, now: dt.datetime) -> dict:
    """A later campaign of the same base committee (no phase deadlines)."""
    return start_campaign(store, actor_id="town_sec", now=now, campaign_id=campaign_id, org_id="TOWN",
                          name="再次集中排查", start_date=start_date)


def member(store, mid: str) -> Member:
    with store.reading() as s:
        return s.get(Member, mid)


def test_the_next_campaign_skips_the_dead_the_removed_the_suspended_and_the_open(orgs):
    found = add_member(orgs, name="甲")
    dead = add_member(orgs, name="乙")
    removed = add_member(orgs, name="丙")
    suspended = add_member(orgs, name="丁")
    still = add_member(orgs, name="戊")
    start(orgs)
    record_attempt(orgs, actor_id="sec1", now=LATER, case_id=case_of(orgs, found), stage="direct", method="打电话",
                   description="本人接听，已在外地务工", witness="李四", outcome="contacted",
                   attempted_at="2026-03-16T10:00+08:00")
    search(orgs, case_of(orgs, dead), outcome="dead", at=Stage.NETWORK, now=LATER)
    search(orgs, case_of(orgs, removed), outcome="contacted", at=Stage.DIRECT, now=LATER)
    propose(orgs, case_of(orgs, removed), "self_abandonment", now=LATER)
    drive_to_end(orgs, case_of(orgs, removed), now=LATER)
    search(orgs, case_of(orgs, suspended), outcome="not_found", now=LATER)
    propose(orgs, case_of(orgs, suspended), "suspend_unreachable", now=LATER)
    drive_to_end(orgs, case_of(orgs, suspended), now=LATER)
    # The first campaign closed: the contacted member's case is closed too (normal management).
    propose(orgs, case_of(orgs, found), "normal_management", now=LATER)
    drive_to_end(orgs, case_of(orgs, found), now=LATER)

    assert member(orgs, found).last_contact_on == dt.date(2026, 3, 16)
    assert member(orgs, found).status is MemberStatus.ACTIVE
    assert member(orgs, dead).status is MemberStatus.DEAD
    assert member(orgs, removed).status is MemberStatus.OUT
    assert member(orgs, suspended).status is MemberStatus.SUSPENDED
    assert "自行脱党除名" in member(orgs, removed).status_note

    later = again(orgs, "C2026B", **NEXT)
    with orgs.reading() as s:
        reopened = {s.get(Case, cid).member_id for cid in later.case_ids}
    # The one contacted (whose case closed under normal management) is the only one opened again.
    assert reopened == {found}
    skipped = {x.member_id: x for x in later.skipped}
    assert set(skipped) == {dead, removed, suspended, still}
    assert skipped[dead].code == "dead" and skipped[dead].reason.startswith("已确认死亡")
    assert skipped[removed].code == "out" and "已出党" in skipped[removed].reason
    assert skipped[still].code == "open_case" and skipped[still].open_case == case_of(orgs, still)
    assert skipped[still].reason == f"已有未结案件{case_of(orgs, still)}，不重复立案"
    # The suspended member's case stays open (the two-year review), so either reason keeps them out.
    assert skipped[suspended].code in ("open_case", "suspended")
    assert later.cases_opened == 1


def test_a_contact_found_after_the_cutoff_keeps_the_member_out_of_the_next_campaign(orgs):
    """The bug as filed: contacted after the cut-off, then opened again as lost-contact by a later campaign."""
    mid = add_member(orgs, name="己", last_contact=dt.date(2025, 1, 1))
    start(orgs)
    cid = case_of(orgs, mid)
    search(orgs, cid, outcome="contacted", at=Stage.NETWORK, now=LATER)
    propose(orgs, cid, "normal_management", now=LATER)
    drive_to_end(orgs, cid, now=LATER)
    with orgs.reading() as s:
        assert s.get(Case, cid).state is CaseState.CLOSED
        # The case's papers keep the contact it opened on: the lost-contact time runs from it to the search's end.
        assert dossier(s, cid, now=LATER)["member"]["last_contact_on"] == "2025-01-01"
    assert member(orgs, mid).last_contact_on == dt.date(2026, 3, 17)
    result = again(orgs, "C2026B", start_date="2026-09-16", now=T0 + dt.timedelta(days=200))
    assert result.cases_opened == 0 and result.skipped == []
    # Six months after the contact (inclusive, DOMAIN §3) the member is lost again, and gets a new case.
    result = again(orgs, "C2026C", start_date="2026-09-17", now=T0 + dt.timedelta(days=200))
    assert result.cases_opened == 1


def test_restoration_makes_the_member_active_and_in_contact(orgs):
    mid = add_member(orgs, name="庚")
    start(orgs)
    cid = case_of(orgs, mid)
    search(orgs, cid, outcome="not_found", now=LATER)
    propose(orgs, cid, "suspend_unreachable", now=LATER)
    drive_to_end(orgs, cid, now=LATER)
    assert member(orgs, mid).status is MemberStatus.SUSPENDED
    back = LATER + dt.timedelta(days=100)
    propose(orgs, cid, "restore_membership", now=back, lost_reasons="")
    drive_to_end(orgs, cid, now=back)
    m = member(orgs, mid)
    assert m.status is MemberStatus.ACTIVE and m.last_contact_on == dt.date(2026, 6, 25)


def test_every_case_records_what_opened_it(orgs):
    add_member(orgs, name="辛")
    cid = start(orgs).case_ids[0]
    with orgs.reading() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.case_id == cid)).all()
        assert [(e.action, e.payload["event"], e.payload["opened_by"], e.payload["campaign_id"]) for e in events] == \
            [("start_campaign", "case_opened", "campaign", "C2026")]
        # One function opens cases: both callers go through casework.membership.open_case.
        assert s.scalar(select(func.count()).select_from(Case)) == 1
