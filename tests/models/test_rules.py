"""The transition rules, pure."""
import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta

from models.catalogue import Column, Contact, Disposition, procedure
from models.codes import Body, CaseState, MemberKind, Outcome, Role, Stage, Verdict
from models.errors import Refusal
from models.rules import (CaseFacts, DecisionInput, Vote, after_attempt, after_decision, case_column, check_actor,
                          check_attempt, check_decision, check_proposal, eligible, mass_removal_warning)
from models.timing import UTC

NOW = dt.datetime(2026, 5, 1, tzinfo=UTC)


def facts(**kw):
    base = dict(state=CaseState.CONTACTED, member_kind=MemberKind.FULL, contact=Contact.CONTACTED,
                catalogue_version="2018.1")
    return CaseFacts(**{**base, **kw})


def test_attempts_walk_the_stages_and_route():
    assert after_attempt(Stage.DIRECT, Outcome.NOT_FOUND, True).next_stage is Stage.NETWORK
    assert after_attempt(Stage.DIRECT, Outcome.NOT_FOUND, False) is None
    last = after_attempt(Stage.OTHER, Outcome.NOT_FOUND, True)
    assert (last.state, last.contact, last.open_proposal) == (CaseState.UNREACHABLE, Contact.UNREACHABLE, True)
    assert after_attempt(Stage.NETWORK, Outcome.CONTACTED, False).state is CaseState.CONTACTED
    assert after_attempt(Stage.DEPARTMENT, Outcome.DEAD, True).dead
    assert after_attempt(Stage.DIRECT, Outcome.MANAGED_ELSEWHERE, True).contact is Contact.CONTACTED


def test_attempt_out_of_order_names_the_rule():
    with pytest.raises(Refusal) as err:
        check_attempt(facts(state=CaseState.SEARCHING, search_stage=Stage.DIRECT), Stage.OTHER)
    assert err.value.code == "stage_out_of_order" and "党员组织关系排查有关问题说明" in err.value.text


def test_eligible_dispositions():
    contacted = {p.code for p in eligible(facts(), NOW)}
    assert Disposition.NORMAL_MANAGEMENT in contacted and Disposition.SUSPEND_UNREACHABLE not in contacted
    assert Disposition.CANCEL_PROBATIONARY not in contacted and Disposition.RELATION_SETTLED not in contacted
    unreachable_prob = {p.code for p in eligible(facts(state=CaseState.UNREACHABLE, contact=Contact.UNREACHABLE,
                                                       member_kind=MemberKind.PROBATIONARY), NOW)}
    assert unreachable_prob == {Disposition.CANCEL_PROBATIONARY_UNREACHABLE, Disposition.EXPULSION}


def test_two_year_window():
    suspended = facts(state=CaseState.SUSPENDED, contact=Contact.SUSPENDED, suspended_at=NOW)
    removal, restore = procedure(Disposition.REMOVAL_AFTER_SUSPENSION), procedure(Disposition.RESTORE_MEMBERSHIP)
    check_proposal(suspended, restore, NOW + relativedelta(years=2) - dt.timedelta(seconds=1))
    with pytest.raises(Refusal):
        check_proposal(suspended, restore, NOW + relativedelta(years=2))
    check_proposal(suspended, removal, NOW + relativedelta(years=2))
    with pytest.raises(Refusal):
        check_proposal(suspended, removal, NOW + relativedelta(years=2) - dt.timedelta(seconds=1))


def test_actor_checks():
    roles = {"B1": {Role.SECRETARY}, "TOWN": {Role.STAFF}}
    assert check_actor(Body.GENERAL_MEETING, "B1", roles, deciding=True) == "B1"
    assert check_actor(Body.BASE_COMMITTEE, "TOWN", roles, deciding=False) == "TOWN"
    with pytest.raises(Refusal) as err:
        check_actor(Body.BASE_COMMITTEE, "TOWN", roles, deciding=True)
    assert err.value.code == "not_a_decider"
    with pytest.raises(Refusal) as err:
        check_actor(Body.UPPER_DEPARTMENT, "COUNTY", roles, deciding=True)
    assert err.value.code == "wrong_level"
    with pytest.raises(Refusal) as err:
        check_actor(Body.COUNTY_DEPARTMENT, None, roles, deciding=True)
    assert err.value.code == "no_such_level"


def test_votes():
    assert Vote(20, 11, 11).passes() and not Vote(20, 20, 10).passes()
    meeting = procedure(Disposition.SUSPEND_UNREACHABLE).steps[0]
    ok = DecisionInput(Verdict.APPROVE, "决定停止党籍", signature_note="无法联系", vote=Vote(20, 15, 12, 2, 1))
    check_decision(meeting, ok, [])
    with pytest.raises(Refusal) as err:
        check_decision(meeting, DecisionInput(Verdict.REJECT, "未通过", vote=Vote(20, 15, 12, 2, 1)), [])
    assert err.value.code == "vote_passed"
    with pytest.raises(Refusal) as err:
        check_decision(meeting, DecisionInput(Verdict.APPROVE, "x", vote=Vote(20, 10, 8)), [])
    assert err.value.code == "no_quorum"


def test_records_cannot_be_rejected_and_materials_block_the_effective_step():
    steps = procedure(Disposition.PERSUADE_WITHDRAW).steps
    with pytest.raises(Refusal) as err:
        check_decision(steps[-1], DecisionInput(Verdict.REJECT, "不通知"), [])
    assert err.value.code == "cannot_reject"
    with pytest.raises(Refusal) as err:
        check_decision(steps[5], DecisionInput(Verdict.APPROVE, "批准"), ["《处置不合格党员审批表》"])
    assert err.value.details["missing"] == ["《处置不合格党员审批表》"]


def test_after_decision():
    p = procedure(Disposition.PERSUADE_WITHDRAW)
    assert after_decision(p, 0, Verdict.REJECT).withdrawn
    assert after_decision(p, 3, Verdict.REJECT).next_index == 2
    five = after_decision(p, 5, Verdict.APPROVE)
    assert (five.next_index, five.becomes_effective) == (6, True)
    last = after_decision(p, 6, Verdict.APPROVE)
    assert (last.finished, last.result_state) == (True, CaseState.CLOSED)


def test_case_column():
    assert case_column(dead=True, contact=None, effective=None) is Column.X
    assert case_column(dead=False, contact=Contact.CONTACTED, effective=None) is Column.N
    assert case_column(dead=False, contact=Contact.UNREACHABLE, effective=None) is Column.W
    assert case_column(dead=False, contact=None, effective=None) is Column.W
    assert case_column(dead=False, contact=Contact.SUSPENDED,
                       effective=procedure(Disposition.EXPULSION)) is Column.V


def test_mass_removal_warning():
    assert mass_removal_warning(4) is None
    assert "大呼隆" in mass_removal_warning(5)
