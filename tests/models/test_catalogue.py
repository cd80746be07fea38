"""The disposition catalogue as data: what DOMAIN.md §5 and [003] say, checked without a database."""
import pytest

from models.catalogue import CATALOGUES, CURRENT_VERSION, Column, Contact, Disposition, procedure, procedures
from models.codes import Action, Body, CaseState, FollowUpKind, Level, MemberKind


def test_every_disposition_has_a_procedure_with_one_effective_step():
    assert {p.code for p in procedures()} == set(Disposition)
    for p in procedures():
        assert sum(s.effective for s in p.steps) == 1, p.code
        assert p.materials, p.code
        assert len({s.key for s in p.steps}) == len(p.steps), p.code


def test_the_longest_chain_is_seven_steps_two_levels_above_the_branch():
    for code in (Disposition.PERSUADE_WITHDRAW, Disposition.SELF_ABANDONMENT, Disposition.REMOVAL_AFTER_SUSPENSION):
        steps = procedure(code).steps
        assert [(s.body, s.action) for s in steps] == [
            (Body.BRANCH_COMMITTEE, Action.OPINION), (Body.BASE_COMMITTEE, Action.REVIEW),
            (Body.UPPER_DEPARTMENT, Action.PRE_REVIEW), (Body.GENERAL_MEETING, Action.VOTE),
            (Body.BASE_COMMITTEE, Action.REVIEW), (Body.UPPER_DEPARTMENT, Action.APPROVE), (Body.BRANCH, Action.NOTIFY)]
        assert steps[5].effective and steps[3].needs_signature and steps[3].needs_guide
        assert {s.body.level for s in steps} == {Level.BRANCH, Level.BASE_COMMITTEE, Level.UPPER_DEPARTMENT}


def test_correction_needs_the_base_committee_only():
    steps = procedure(Disposition.CORRECT_IN_TIME).steps
    assert Body.UPPER_DEPARTMENT not in {s.body for s in steps}
    assert [s.key for s in steps] == ["branch_committee_opinion", "base_pre_review", "general_meeting",
                                      "base_approval", "notify"]
    assert procedure(Disposition.CORRECT_IN_TIME).followups == (FollowUpKind.CORRECTION_END,)
    assert procedure(Disposition.CORRECT_IN_TIME).result_state is CaseState.CORRECTING


@pytest.mark.parametrize("code,column,applies", [
    (Disposition.NORMAL_MANAGEMENT, Column.C_OTHER, Contact.CONTACTED),
    (Disposition.KEEP_RELATION, Column.D, Contact.CONTACTED),
    (Disposition.SUSPEND_ABROAD, Column.E, Contact.CONTACTED),
    (Disposition.CORRECT_IN_TIME, Column.F, Contact.CONTACTED),
    (Disposition.PERSUADE_WITHDRAW, Column.H, Contact.CONTACTED),
    (Disposition.SELF_ABANDONMENT, Column.I, Contact.CONTACTED),
    (Disposition.VOLUNTARY_WITHDRAWAL, Column.J, Contact.CONTACTED),
    (Disposition.NON_RECOGNITION, Column.K, Contact.CONTACTED),
    (Disposition.CANCEL_PROBATIONARY, Column.L, Contact.CONTACTED),
    (Disposition.SUSPEND_UNREACHABLE, Column.T, Contact.UNREACHABLE),
    (Disposition.SUSPEND_ABROAD_UNREACHABLE, Column.U, Contact.UNREACHABLE),
    (Disposition.REMOVAL_AFTER_SUSPENSION, Column.Q, Contact.SUSPENDED),
    (Disposition.CANCEL_PROBATIONARY_UNREACHABLE, Column.R, Contact.UNREACHABLE),
])
def test_statistics_column_and_applicability(code, column, applies):
    p = procedure(code)
    assert p.column_for(applies) is column
    assert applies in p.applies_to


def test_expulsion_is_counted_by_the_search_result():
    p = procedure(Disposition.EXPULSION)
    assert (p.column_for(Contact.CONTACTED), p.column_for(Contact.UNREACHABLE)) == (Column.M, Column.V)


def test_unreachable_members_are_suspended_only_when_full_members():
    for code in (Disposition.SUSPEND_UNREACHABLE, Disposition.SUSPEND_ABROAD_UNREACHABLE, Disposition.SUSPEND_ABROAD):
        assert procedure(code).member_kinds == frozenset({MemberKind.FULL})
    for code in (Disposition.CANCEL_PROBATIONARY, Disposition.CANCEL_PROBATIONARY_UNREACHABLE):
        assert procedure(code).member_kinds == frozenset({MemberKind.PROBATIONARY})


def test_non_recognition_is_approved_by_a_county_or_higher_department():
    assert procedure(Disposition.NON_RECOGNITION).steps[-1].body is Body.COUNTY_DEPARTMENT


def test_versions_are_kept_apart():
    assert CURRENT_VERSION in CATALOGUES
    with pytest.raises(KeyError):
        procedure(Disposition.NORMAL_MANAGEMENT, "1999.1")


def test_casework_names_no_procedure():
    """What a procedure does is declared in the catalogue (Effects, Eligibility, STARTED_BY); casework applies it, and
    the rules and the member's standing derive from it, by data."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [*(root / "casework").glob("*.py"), root / "models" / "rules.py", root / "models" / "membership.py"]
    named = [f"{p.name}:{n}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"Disposition\.[A-Z_]+", line)]
    assert named == []


def test_what_each_procedure_writes_on_the_member():
    """[000 §4] [003]: removals take the member out of the party, suspensions suspend, a restoration reactivates and
    counts as a contact; the others leave the standing as it is."""
    from models.membership import MemberStatus, effect_of

    out = {Disposition.PERSUADE_WITHDRAW, Disposition.SELF_ABANDONMENT, Disposition.VOLUNTARY_WITHDRAWAL,
           Disposition.CANCEL_PROBATIONARY, Disposition.NON_RECOGNITION, Disposition.EXPULSION,
           Disposition.REMOVAL_AFTER_SUSPENSION, Disposition.CANCEL_PROBATIONARY_UNREACHABLE}
    suspended = {Disposition.SUSPEND_ABROAD, Disposition.SUSPEND_UNREACHABLE, Disposition.SUSPEND_ABROAD_UNREACHABLE}
    for code in Disposition:
        effect = effect_of(code)
        expected = (MemberStatus.OUT if code in out else MemberStatus.SUSPENDED if code in suspended
                    else MemberStatus.ACTIVE if code is Disposition.RESTORE_MEMBERSHIP else None)
        assert effect.status is expected, code
        assert effect.contact is (code is Disposition.RESTORE_MEMBERSHIP), code


def test_when_a_procedure_may_be_proposed_is_declared():
    during = {p.code for p in procedures() if p.eligibility.during_correction}
    assert during == {Disposition.PERSUADE_WITHDRAW, Disposition.EXPULSION}  # [003 #5]
    assert [p.code for p in procedures() if p.eligibility.managed_elsewhere] == [Disposition.RELATION_SETTLED]
    windows = {p.code: p.eligibility.suspension_window.before_due for p in procedures()
               if p.eligibility.suspension_window}
    assert windows == {Disposition.RESTORE_MEMBERSHIP: True, Disposition.REMOVAL_AFTER_SUSPENSION: False}  # [000 §4]


def test_effects_are_declared_where_the_seeds_put_them():
    from models.catalogue import STARTED_BY, Contact, Disposition, procedure
    from models.codes import FollowUpKind

    restore = procedure(Disposition.RESTORE_MEMBERSHIP).effects
    assert restore.contact is Contact.CONTACTED and restore.cancels == (FollowUpKind.TWO_YEAR_REVIEW,)
    assert restore.restores_on_withdrawal == (FollowUpKind.TWO_YEAR_REVIEW,)
    for code in (Disposition.SUSPEND_UNREACHABLE, Disposition.SUSPEND_ABROAD_UNREACHABLE):
        assert procedure(code).effects.suspends and procedure(code).effects.contact is Contact.SUSPENDED
    period = procedure(Disposition.CORRECT_IN_TIME).effects.period
    assert (period.low, period.high, period.default) == (1, 24, 6)
    assert procedure(Disposition.PERSUADE_WITHDRAW).effects.returns_to_judgement_after is Disposition.CORRECT_IN_TIME
    assert STARTED_BY == {"two_year_review": Disposition.REMOVAL_AFTER_SUSPENSION,
                          "correction_unchanged": Disposition.PERSUADE_WITHDRAW}
