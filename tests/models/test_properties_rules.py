"""Property-based tests (hypothesis) of the rules: the lost-contact boundary (six months without contact, as of a
date) against an oracle that counts calendar months by hand, at month ends and leap days too; and the approval chains
of every disposition, walked with any sequence of verdicts and decided by any person.

Examples per test: tests/properties.py (HYPOTHESIS_PROFILE=full for 20 times as many)."""
from __future__ import annotations

import calendar
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from models.catalogue import Disposition, procedure, procedures
from models.codes import Action, Body, Level, Role, Verdict
from models.errors import Refusal
from models.rules import OrgChain, after_decision, check_actor
from models.statistics import counts_on, pocket_counted_from
from models.timing import is_lost_contact, lost_contact_cutoff
from tests.properties import examples

days = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2150, 12, 31))


def month_end(d: dt.date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


@st.composite
def near_boundary(draw) -> tuple[dt.date, dt.date]:
    """A start date, often a month end or a leap day, and a last contact within days of six months before it."""
    start = draw(st.one_of(
        days,
        days.map(lambda d: d.replace(day=calendar.monthrange(d.year, d.month)[1])),  # month ends
        st.integers(1952, 2148).filter(calendar.isleap).map(lambda y: dt.date(y, 2, 29)),  # leap days
        st.sampled_from([dt.date(2026, 3, 7), dt.date(2024, 8, 31), dt.date(2025, 2, 28), dt.date(2024, 2, 29)])))
    months_back = draw(st.integers(5, 7))
    y, m = divmod(start.year * 12 + start.month - 1 - months_back, 12)
    anchor = dt.date(y, m + 1, min(start.day, calendar.monthrange(y, m + 1)[1]))
    return start, anchor + dt.timedelta(days=draw(st.integers(-4, 4)))


def six_months_by_hand(last: dt.date, start: dt.date) -> bool:
    """Six whole calendar months lie between the last contact and the start: counted in months, then days. (The
    cutoff's clamping to a month end, Aug 31 -> Feb 28, makes this `c.day <= start.day` at exactly six months.)"""
    months = (start.year - last.year) * 12 + start.month - last.month
    return months > 6 or (months == 6 and last.day <= start.day)


@examples(1000)
@given(case=st.one_of(near_boundary(), st.tuples(days, days)))
def test_lost_contact_is_six_calendar_months_counted_by_hand(case):
    start, last = case
    assert is_lost_contact(last, start) == six_months_by_hand(last, start)


@examples(500)
@given(start=days)
def test_the_boundary_day_is_lost_and_the_day_after_is_not(start):
    cutoff = lost_contact_cutoff(start)
    assert is_lost_contact(cutoff, start) and not is_lost_contact(cutoff + dt.timedelta(days=1), start)
    assert is_lost_contact(None, start)  # no recorded contact at all
    # Six months back lands on the same day of the month, or on the month's last day when it has no such day.
    assert cutoff.day == min(start.day, calendar.monthrange(cutoff.year, cutoff.month)[1])
    assert (start.year * 12 + start.month) - (cutoff.year * 12 + cutoff.month) == 6


@examples(1000)
@given(start=days, later=st.integers(0, 800), last=days, earlier=st.integers(0, 800))
def test_lost_contact_only_grows_with_time_and_silence(start, later, last, earlier):
    """Lost as of a date: still lost as of any later date, and with any earlier last contact."""
    if is_lost_contact(last, start):
        assert is_lost_contact(last, start + dt.timedelta(days=later))
        assert is_lost_contact(last - dt.timedelta(days=earlier), start)


@examples(1000)
@given(case=st.one_of(near_boundary(), st.tuples(days, days)), issued_before=st.integers(0, 400))
def test_a_pocket_member_counts_from_the_day_the_six_month_test_holds(case, issued_before):
    """models.statistics.pocket_counted_from: counted in column A from the first day on which the lost-contact test
    of DOMAIN §3 holds for the later of the last contact and the letter's issue."""
    day, last = case
    issued = last - dt.timedelta(days=issued_before)  # the letter was issued on or before the last contact
    assert counts_on(pocket_counted_from(last, issued), day) == is_lost_contact(max(last, issued), day)


# ---------------------------------------------------------------- the chains

LEVELS = list(Level)
CHAIN = OrgChain(branch="B1", base_committee="TOWN", upper_department="COUNTY", county_department="CITY")
ORG_OF_LEVEL = {Level.BRANCH: "B1", Level.BASE_COMMITTEE: "TOWN", Level.UPPER_DEPARTMENT: "COUNTY",
                Level.COUNTY_DEPARTMENT: "CITY"}
procs = st.sampled_from(procedures())


@examples(50)
@given(proc=procs)
def test_every_chain_climbs_to_the_level_that_makes_it_effective_and_only_files_or_notifies_after(proc):
    steps = proc.steps
    effective = proc.effective_index
    assert sum(s.effective for s in steps) == 1
    # No level above the one whose approval makes the disposition effective decides before it...
    assert max(LEVELS.index(s.body.level) for s in steps[:effective + 1]) == LEVELS.index(steps[effective].body.level)
    # ...and after it the chain only files the decision above or tells the member at the branch.
    assert all(s.action in (Action.FILE, Action.NOTIFY) for s in steps[effective + 1:])
    # A body never decides twice in a row: each step hands the case to another body.
    assert all(a.body is not b.body for a, b in zip(steps, steps[1:]))
    assert all(CHAIN.for_body(s.body) == ORG_OF_LEVEL[s.body.level] for s in steps)


@examples(400)
@given(proc=procs, verdicts=st.lists(st.sampled_from(list(Verdict)), max_size=40))
def test_any_sequence_of_verdicts_walks_the_chain_one_level_at_a_time(proc, verdicts):
    """Approvals move on one step, a rejection moves back one (at the first step it withdraws the proposal); the
    procedure finishes only when its last step is approved, having passed its effective step on the way, each step
    of the last pass approved in catalogue order."""
    index, approved_in_a_row, effective_seen = 0, [], False
    for verdict in verdicts:
        after = after_decision(proc, index, verdict)
        if verdict is Verdict.REJECT:
            assert not after.finished and not after.becomes_effective
            if index == 0:
                assert after.withdrawn
                return
            assert after.next_index == index - 1
            index, approved_in_a_row = index - 1, approved_in_a_row[:-1]
            continue
        approved_in_a_row.append(index)
        assert after.becomes_effective == proc.steps[index].effective
        effective_seen |= after.becomes_effective
        if after.finished:
            assert index == len(proc.steps) - 1 and effective_seen
            assert approved_in_a_row[-len(proc.steps):] == list(range(len(proc.steps)))
            assert after.result_state is proc.result_state
            return
        assert after.next_index == index + 1
        index += 1
    assert index < len(proc.steps)


roles_at = st.dictionaries(st.sampled_from(["B1", "B2", "TOWN", "COUNTY", "CITY", "OTHER_BASE"]),
                           st.sets(st.sampled_from(list(Role)), min_size=1, max_size=2), max_size=3)


@examples(1000)
@given(body=st.sampled_from(list(Body)), roles=roles_at, deciding=st.booleans(),
       missing=st.sets(st.sampled_from([Level.UPPER_DEPARTMENT, Level.COUNTY_DEPARTMENT])))
def test_only_a_person_of_the_organisation_at_the_steps_level_acts_and_only_a_decider_decides(body, roles, deciding,
                                                                                            missing):
    chain = OrgChain(branch="B1", base_committee="TOWN",
                     upper_department=None if Level.UPPER_DEPARTMENT in missing else "COUNTY",
                     county_department=None if Level.COUNTY_DEPARTMENT in missing else "CITY")
    required = chain.for_body(body)
    held = roles.get(required, set()) if required else set()
    allowed = bool(held) and (not deciding or any(r.may_decide for r in held))
    try:
        acts_for = check_actor(body, required, roles, deciding=deciding)
    except Refusal as refusal:
        assert not allowed and refusal.code in ("no_such_level", "wrong_level", "not_a_decider") and refusal.message
        return
    assert allowed and acts_for == required


def test_the_chains_are_those_of_every_disposition():
    """The walk above covers every procedure the catalogue knows (sampled_from draws each of them)."""
    assert {p.code for p in procedures()} == set(Disposition)
    assert all(procedure(d).steps for d in Disposition)
