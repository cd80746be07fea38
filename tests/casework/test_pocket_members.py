"""Issue 21 point 4: transfer receipts [000 §2] and pocket members [001 §1] [004 §4]. The case for a missing receipt
opens the day after the due day; a receipt on the due day is on time and closes the matter; the case records what
opened it; and it counts in column A only once the member has been out of contact six months as of the table's date
(models.statistics.pocket_counted_from / counts_on)."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from casework.followups import fire_due, issue_transfer_letter, record_receipt
from casework.opening import hold_case_openings
from casework.queries import statistics
from casework.search import record_attempt
from models.codes import CaseState, FollowUpStatus, StepStatus
from models.membership import MemberStatus
from models.store import AuditEvent, Case, FollowUp, Member, Step
from models.timing import LOCAL_TZ
from tests.casework.drive import add_member
from tests.conftest import T0

DUE = dt.date(2026, 4, 30)  # issued 2026-03-01, valid 30 days, then one month for the receipt


def local(day: str, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour, minute), LOCAL_TZ)


def letter(store, letter_id: str = "L-1", last_contact=dt.date(2026, 2, 1)) -> str:
    mid = add_member(store, name="吴十", last_contact=last_contact)
    result = issue_transfer_letter(store, actor_id="sec1", now=T0, letter_id=letter_id, member_id=mid,
                                   receiving_org="某区街道党工委", issued_on="2026-03-01", validity_days=30)
    assert result.receipt_due == DUE.isoformat()
    return mid


def pocket(results) -> list:
    return [r for r in results if r.fired and r.kind == "transfer_receipt"]


def case(store, case_id: str = "POCKET-L-1") -> Case | None:
    with store.reading() as s:
        return s.get(Case, case_id)


def column_a(store, day: str) -> int:
    with store.reading() as s:
        return statistics(s, "TOWN", as_of=local(day, 12))["table"]["A"]


def test_the_case_opens_the_day_after_the_due_day(orgs):
    letter(orgs)
    assert fire_due(orgs, local("2026-04-30", 0, 0)) == []
    assert fire_due(orgs, local("2026-04-30", 23, 59)) == []  # the receipt may still come today
    assert case(orgs) is None
    fired = pocket(fire_due(orgs, local("2026-05-01", 0, 0)))
    assert len(fired) == 1 and fired[0].case.case_id == "POCKET-L-1"
    assert "回执应于2026-04-30前收回" in fired[0].note


def test_a_receipt_on_the_due_day_is_on_time(orgs):
    mid = letter(orgs)
    record_receipt(orgs, actor_id="sec1", now=local("2026-04-30", 16), letter_id="L-1", received_on="2026-04-30")
    assert pocket(fire_due(orgs, local("2026-05-02"))) == []
    assert case(orgs) is None
    with orgs.reading() as s:
        assert s.get(FollowUp, "receipt:L-1").status is FollowUpStatus.CANCELLED
        assert s.get(Member, mid).status is MemberStatus.TRANSFERRED


def test_a_receipt_of_the_due_day_entered_late_closes_the_case(orgs):
    """The receipt came back on the due day but was typed in after the sweep had opened the case: the member is at
    the receiving organisation, so the search ends and the case closes; it never counts in the statistics."""
    letter(orgs)
    pocket(fire_due(orgs, local("2026-05-01", 2)))
    assert case(orgs).state is CaseState.SEARCHING
    result = record_receipt(orgs, actor_id="sec1", now=local("2026-05-03", 10), letter_id="L-1",
                            received_on="2026-04-30")
    assert result.closed_case == "POCKET-L-1"
    closed = case(orgs)
    assert closed.state is CaseState.CLOSED and closed.search_stage is None and closed.managed_elsewhere
    with orgs.reading() as s:
        steps = s.scalars(select(Step).where(Step.case_id == "POCKET-L-1")).all()
        assert [st.status for st in steps] == [StepStatus.CANCELLED]
        assert "回执已收到（2026-04-30）" in steps[0].opinion
    assert column_a(orgs, "2026-05-02") == 0 and column_a(orgs, "2027-05-01") == 0


def test_the_pocket_case_has_an_audit_trail_of_what_opened_it(orgs):
    letter(orgs)
    fire_due(orgs, local("2026-05-01", 2))
    with orgs.reading() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.case_id == "POCKET-L-1")
                           .order_by(AuditEvent.id)).all()
        follow = s.get(FollowUp, "receipt:L-1")
    assert follow.case_id == "POCKET-L-1" and follow.status is FollowUpStatus.FIRED
    opened = events[0].payload
    assert (events[0].action, opened["event"], opened["opened_by"], opened["letter_id"], opened["followup_id"],
            opened["receipt_due"], opened["receiving_org"]) == \
        ("fire_followup", "case_opened", "transfer_receipt", "L-1", "receipt:L-1", "2026-04-30", "某区街道党工委")
    assert events[-1].payload["followup_id"] == "receipt:L-1" and "逾期未收到" in events[-1].payload["note"]


def test_column_a_counts_a_pocket_member_only_after_six_months_without_contact(orgs):
    """Last contact 2026-02-01, letter issued 2026-03-01 (the member came for it): out of contact six months from
    2026-09-01. Searched from 2026-05-01, counted in A (as W, still searching) from 2026-09-01."""
    letter(orgs)
    fire_due(orgs, local("2026-05-01", 2))
    assert case(orgs).counted_from == dt.date(2026, 9, 1)
    assert column_a(orgs, "2026-05-02") == 0
    assert column_a(orgs, "2026-08-31") == 0
    with orgs.reading() as s:
        table = statistics(s, "TOWN", as_of=local("2026-09-01", 12))["table"]
    assert (table["A"], table["O"], table["W"]) == (1, 1, 1)


def test_a_pocket_member_found_within_six_months_never_counts(orgs):
    letter(orgs)
    fire_due(orgs, local("2026-05-01", 2))
    record_attempt(orgs, actor_id="sec1", now=local("2026-05-06", 10), case_id="POCKET-L-1", stage="direct",
                   method="打电话", description="接收党组织答复：本人已报到，回执漏寄", witness="李四",
                   outcome="managed_elsewhere", attempted_at=local("2026-05-05", 15).isoformat())
    assert column_a(orgs, "2026-05-10") == 0 and column_a(orgs, "2027-05-10") == 0
    with orgs.reading() as s:
        assert s.get(Member, case(orgs).member_id).last_contact_on == dt.date(2026, 5, 5)


def test_a_pocket_member_still_unreachable_counts_once_six_months_have_passed(orgs):
    """The search may end (unreachable) before the six months are up: the member is still out of contact, so the
    case counts from 2026-09-01, in O (W until a disposition)."""
    letter(orgs)
    fire_due(orgs, local("2026-05-01", 2))
    for day, stage in ((5, "direct"), (6, "network"), (7, "department"), (8, "other")):
        record_attempt(orgs, actor_id="town_staff" if stage == "department" else "sec1",
                       now=local(f"2026-05-{day:02d}", 18), case_id="POCKET-L-1", stage=stage, method="打电话",
                       description="未果", witness="李四", outcome="not_found",
                       attempted_at=local(f"2026-05-{day:02d}", 15).isoformat())
    assert case(orgs).state is CaseState.UNREACHABLE
    assert column_a(orgs, "2026-08-31") == 0
    with orgs.reading() as s:
        table = statistics(s, "TOWN", as_of=local("2026-09-01", 12))["table"]
    assert (table["A"], table["O"], table["W"]) == (1, 1, 1)


def test_a_pocket_case_waits_for_a_campaign_deciding_who_gets_a_case(orgs):
    """PostgreSQL: the missing receipt's case is decided under the lock a campaign start holds
    (casework.opening.hold_case_openings), so the two cannot both open a case for the member."""
    if orgs.is_sqlite:
        pytest.skip("SQLite serialises its writers already (BEGIN IMMEDIATE)")
    letter(orgs)
    done = threading.Event()
    with orgs.writing() as holder:
        hold_case_openings(holder)  # a campaign start in progress, still deciding
        worker = threading.Thread(target=lambda: (fire_due(orgs, local("2026-05-01")), done.set()))
        worker.start()
        assert not done.wait(1.5)  # the follow-up waits for the campaign's transaction
        holder.rollback()
    worker.join(30)
    assert done.is_set() and case(orgs) is not None
