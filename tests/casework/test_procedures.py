"""Every procedure of DOMAIN.md §5 driven through casework from open case to final state, and the refusals."""
from __future__ import annotations

import datetime as dt

import pytest
from dateutil.relativedelta import relativedelta

from casework.dispositions import decide_step, file_material, judge_correction, record_referral
from casework.followups import fire_due
from casework.queries import dossier, inbox
from casework.search import record_attempt
from models.catalogue import Disposition, procedure
from models.codes import CaseState, MemberKind, Stage, StepKind
from models.errors import Refusal
from models.store import AuditEvent, FollowUp
from tests.casework.drive import (VOTE_PASSED, add_member, approve_open, case_of, drive_to_end, file_all_materials,
                                  open_step, propose, search, start)
from tests.conftest import T0

LATER = T0 + dt.timedelta(days=20)


def titles(code: Disposition) -> list[str]:
    return [s.title for s in procedure(code).steps]


_campaigns = iter(range(1, 1000))


def new_case(store, name="王五", **member) -> str:
    mid = add_member(store, name=name, **member)
    start(store, campaign_id=f"C{next(_campaigns)}")
    return case_of(store, mid)


def case_fired(results) -> list:
    return [r for r in results if r.kind != "phase_deadline"]


# ---------------------------------------------------------------- the search

def test_campaign_opens_cases_only_for_the_lost(orgs):
    lost = add_member(orgs, name="甲", last_contact=dt.date(2025, 9, 7))  # exactly six months before the start
    kept = add_member(orgs, name="乙", last_contact=dt.date(2025, 9, 8))
    never = add_member(orgs, name="丙", last_contact=None)
    elsewhere = add_member(orgs, name="丁", branch="OB1")  # another base committee's member
    result = start(orgs)
    assert result.cases_opened == 2
    with orgs.reading() as s:
        items = inbox(s, now=T0, org_id="B1")
    assert {i.member_name for i in items} == {"甲", "丙"}
    assert all(i.title == "直接联系" and i.due_at.startswith("2026-03-23T01:00") for i in items)
    case_of(orgs, lost), case_of(orgs, never)
    with pytest.raises(Exception):
        case_of(orgs, kept)
    with pytest.raises(Exception):
        case_of(orgs, elsewhere)


def test_four_stages_in_order_then_unreachable(orgs):
    cid = new_case(orgs)
    with pytest.raises(Refusal) as err:
        record_attempt(orgs, actor_id="sec1", now=T0, case_id=cid, stage="network", method="亲属", description="问亲属",
                       witness="李四", outcome="not_found")
    assert err.value.code == "stage_out_of_order"
    # Several attempts may stand in one stage.
    record_attempt(orgs, actor_id="sec1", now=T0, case_id=cid, stage="direct", method="打电话", description="空号",
                   witness="李四", outcome="not_found", concludes_stage=False)
    assert open_step(orgs, cid).stage is Stage.DIRECT
    record_attempt(orgs, actor_id="sec1", now=T0, case_id=cid, stage="direct", method="登门走访",
                   description="家中无人", witness="李四", outcome="not_found")
    record_attempt(orgs, actor_id="org1", now=T0, case_id=cid, stage="network", method="邻居", description="邻居不知",
                   witness="李四", outcome="not_found")
    step = open_step(orgs, cid)
    assert (step.stage, step.org_id) == (Stage.DEPARTMENT, "TOWN")
    with pytest.raises(Refusal) as err:  # the inter-departmental search is the base committee's
        record_attempt(orgs, actor_id="sec1", now=T0, case_id=cid, stage="department", method="公安户籍系统",
                       description="查询", witness="李四", outcome="not_found")
    assert err.value.code == "wrong_level"
    with pytest.raises(Refusal) as err:
        record_attempt(orgs, actor_id="town_staff", now=T0, case_id=cid, stage="department", method="公安户籍系统",
                       description="查询", witness="", outcome="not_found")
    assert err.value.code == "attempt_incomplete"
    record_attempt(orgs, actor_id="town_staff", now=T0, case_id=cid, stage="department", method="公安户籍系统",
                   description="户籍无迁移记录", witness="钱干事", outcome="not_found")
    result = record_attempt(orgs, actor_id="sec1", now=T0, case_id=cid, stage="other", method="网络社交平台",
                            description="无线索", witness="李四", outcome="not_found")
    assert result.state == "unreachable" and result.column == "W"
    assert result.open_step.kind == "proposal"
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert [a["stage"] for a in d["attempts"]] == ["direct", "direct", "network", "department", "other"]


def test_dead_closes_the_case(orgs):
    cid = new_case(orgs)
    result = search(orgs, cid, outcome="dead", at=Stage.NETWORK)
    assert (result.state, result.column, result.open_step) == ("closed", "X", None)


# ---------------------------------------------------------------- every procedure, end to end

CONTACTED_CHAINS = [
    (Disposition.NORMAL_MANAGEMENT, MemberKind.FULL, "closed", "C"),
    (Disposition.KEEP_RELATION, MemberKind.FULL, "closed", "D"),
    (Disposition.SUSPEND_ABROAD, MemberKind.FULL, "closed", "E"),
    (Disposition.CORRECT_IN_TIME, MemberKind.FULL, "correcting", "F"),
    (Disposition.PERSUADE_WITHDRAW, MemberKind.FULL, "closed", "H"),
    (Disposition.SELF_ABANDONMENT, MemberKind.FULL, "closed", "I"),
    (Disposition.VOLUNTARY_WITHDRAWAL, MemberKind.FULL, "closed", "J"),
    (Disposition.NON_RECOGNITION, MemberKind.FULL, "closed", "K"),
    (Disposition.CANCEL_PROBATIONARY, MemberKind.PROBATIONARY, "closed", "L"),
    (Disposition.EXPULSION, MemberKind.FULL, "closed", "M"),
]


@pytest.mark.parametrize("code,kind,final_state,column", CONTACTED_CHAINS, ids=[c[0].value for c in CONTACTED_CHAINS])
def test_contacted_procedures(orgs, code, kind, final_state, column):
    cid = new_case(orgs, kind=kind)
    assert search(orgs, cid, outcome="contacted", at=Stage.DIRECT).column == "N"
    propose(orgs, cid, code.value)
    decided = drive_to_end(orgs, cid)
    assert decided == titles(code)
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert (d["state"], d["column"]) == (final_state, column)
    orgs_by_title = {st["title"]: st["org_id"] for st in d["steps"] if st["kind"] == "review"}
    for spec in procedure(code).steps:
        expected = {"branch": "B1", "base_committee": "TOWN", "upper_department": "COUNTY",
                    "county_department": "COUNTY"}[spec.body.level.value]
        assert orgs_by_title[spec.title] == expected


UNREACHABLE_CHAINS = [
    (Disposition.SUSPEND_UNREACHABLE, MemberKind.FULL, "suspended", "T"),
    (Disposition.SUSPEND_ABROAD_UNREACHABLE, MemberKind.FULL, "suspended", "U"),
    (Disposition.CANCEL_PROBATIONARY_UNREACHABLE, MemberKind.PROBATIONARY, "closed", "R"),
    (Disposition.EXPULSION, MemberKind.FULL, "closed", "V"),
]


@pytest.mark.parametrize("code,kind,final_state,column", UNREACHABLE_CHAINS,
                         ids=[c[0].value for c in UNREACHABLE_CHAINS])
def test_unreachable_procedures(orgs, code, kind, final_state, column):
    cid = new_case(orgs, kind=kind)
    search(orgs, cid, outcome="not_found")
    propose(orgs, cid, code.value, conduct="")
    assert drive_to_end(orgs, cid) == titles(code)
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert (d["state"], d["column"]) == (final_state, column)


def test_relation_settled_only_when_managed_elsewhere(orgs):
    cid = new_case(orgs)
    search(orgs, cid, outcome="managed_elsewhere", at=Stage.NETWORK)
    propose(orgs, cid, "relation_settled")
    drive_to_end(orgs, cid)
    other = new_case(orgs, name="赵六")
    search(orgs, other, outcome="contacted", at=Stage.DIRECT)
    with pytest.raises(Refusal) as err:
        propose(orgs, other, "relation_settled")
    assert err.value.code == "not_managed_elsewhere"
    with orgs.reading() as s:
        assert dossier(s, cid, now=LATER)["column"] == "C"


def suspended_case(store, name="王五") -> tuple[str, dt.datetime]:
    cid = new_case(store, name=name)
    search(store, cid, outcome="not_found")
    propose(store, cid, "suspend_unreachable", conduct="")
    file_all_materials(store, cid)
    approve_open(store, cid, now=T0)  # the general meeting
    effective = T0 + dt.timedelta(days=3, hours=2)
    approve_open(store, cid, now=effective)  # the base committee approves: the suspension takes effect
    approve_open(store, cid, now=effective + dt.timedelta(days=1))  # the upper department files it
    return cid, effective


def test_two_year_review_scheduled_exactly_and_fires_once(orgs):
    cid, effective = suspended_case(orgs)
    with orgs.reading() as s:
        (f,) = s.query(FollowUp).filter(FollowUp.case_id == cid).all()
        assert f.kind.value == "two_year_review" and f.due_at == effective + relativedelta(years=2)
    assert case_fired(fire_due(orgs, effective + relativedelta(years=2) - dt.timedelta(seconds=1))) == []
    with pytest.raises(Refusal) as err:
        propose(orgs, cid, "removal_after_suspension", now=effective + relativedelta(years=1))
    assert err.value.code == "suspension_too_recent"
    moved = effective + relativedelta(years=2, days=3)
    fired = case_fired(fire_due(orgs, moved))
    assert [f.fired for f in fired] == [True]
    assert fire_due(orgs, moved + dt.timedelta(days=1)) == []
    step = open_step(orgs, cid)
    assert step.title == titles(Disposition.REMOVAL_AFTER_SUSPENSION)[0]
    assert drive_to_end(orgs, cid, now=moved) == titles(Disposition.REMOVAL_AFTER_SUSPENSION)
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert (d["state"], d["column"]) == ("closed", "Q")


def test_restoration_inside_two_years_cancels_the_review(orgs):
    cid, effective = suspended_case(orgs)
    applied = effective + relativedelta(years=1)
    propose(orgs, cid, "restore_membership", now=applied, grounds="本人书面申请恢复党籍")
    with orgs.reading() as s:
        (f,) = s.query(FollowUp).filter(FollowUp.case_id == cid).all()
        assert f.status.value == "cancelled"
    assert case_fired(fire_due(orgs, effective + relativedelta(years=3))) == []
    assert drive_to_end(orgs, cid, now=applied) == titles(Disposition.RESTORE_MEMBERSHIP)
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert (d["state"], d["column"]) == ("closed", "C")


def test_restoration_after_two_years_is_refused(orgs):
    cid, effective = suspended_case(orgs)
    with pytest.raises(Refusal) as err:
        propose(orgs, cid, "restore_membership", now=effective + relativedelta(years=2), grounds="申请")
    assert err.value.code == "restoration_too_late"


def test_correction_period_end_then_no_change_leads_to_persuasion(orgs):
    cid = new_case(orgs)
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    propose(orgs, cid, "correct_in_time", correction_months=3)
    drive_to_end(orgs, cid)
    with orgs.reading() as s:
        (f,) = s.query(FollowUp).filter(FollowUp.case_id == cid).all()
        assert f.due_at == T0 + relativedelta(months=3)
    fire_due(orgs, T0 + relativedelta(months=3))
    step = open_step(orgs, cid)
    assert step.kind is StepKind.JUDGEMENT and step.org_id == "B1"
    result = judge_correction(orgs, actor_id="sec1", now=T0 + relativedelta(months=3), step_id=step.id,
                              changed=False, opinion="期满仍无转变")
    assert result.open_step.title == titles(Disposition.PERSUADE_WITHDRAW)[0]
    drive_to_end(orgs, cid, now=T0 + relativedelta(months=4))
    with orgs.reading() as s:
        assert dossier(s, cid, now=LATER)["column"] == "H"


# ---------------------------------------------------------------- refusals

@pytest.fixture
def removal_case(orgs):
    """A contacted member with persuade-to-withdraw proposed: the longest chain, at its first step."""
    cid = new_case(orgs)
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    propose(orgs, cid, "persuade_withdraw", grounds="以退党相要挟，经教育不改")
    return cid


def test_wrong_level_and_wrong_organisation_refused(removal_case, orgs):
    cid = removal_case
    approve_open(orgs, cid)  # branch committee opinion
    step = open_step(orgs, cid)
    assert step.org_id == "TOWN"
    for actor, code in (("sec1", "wrong_level"), ("other_sec", "wrong_level"), ("county_org", "wrong_level"),
                        ("town_staff", "not_a_decider")):
        with pytest.raises(Refusal) as err:
            decide_step(orgs, actor_id=actor, now=T0, step_id=step.id, verdict="approve", opinion="同意")
        assert err.value.code == code, actor
        assert "依据" in err.value.text


def test_removal_cannot_be_finalised_without_the_upper_department(removal_case, orgs):
    cid = removal_case
    file_all_materials(orgs, cid)
    for _ in range(5):  # up to the base committee's final review
        approve_open(orgs, cid)
    step = open_step(orgs, cid)
    assert step.step_key == "upper_approval"
    with pytest.raises(Refusal) as err:
        decide_step(orgs, actor_id="town_sec", now=T0, step_id=step.id, verdict="approve", opinion="批准")
    assert err.value.code == "wrong_level"
    with orgs.reading() as s:
        assert dossier(s, cid, now=LATER)["column"] == "N"  # not out of the party until the upper department approves
    approve_open(orgs, cid)
    with orgs.reading() as s:
        assert dossier(s, cid, now=LATER)["column"] == "H"


def test_a_decided_step_cannot_be_decided_again(removal_case, orgs):
    step = open_step(orgs, removal_case)
    approve_open(orgs, removal_case)
    with pytest.raises(Refusal) as err:
        decide_step(orgs, actor_id="sec1", now=T0, step_id=step.id, verdict="approve", opinion="再次同意")
    assert err.value.code == "step_closed"


def test_repeated_request_is_answered_not_applied(removal_case, orgs):
    step = open_step(orgs, removal_case)
    args = dict(actor_id="sec1", now=T0, step_id=step.id, verdict="approve", opinion="同意")
    first = decide_step(orgs, request_id="req-1", **args)
    with orgs.reading() as s:
        events = s.query(AuditEvent).count()
    again = decide_step(orgs, request_id="req-1", **args)
    assert again == first.model_copy(update={"replayed": True})
    with orgs.reading() as s:
        assert s.query(AuditEvent).count() == events
    with pytest.raises(Refusal) as err:
        decide_step(orgs, request_id="req-1", **{**args, "opinion": "另一意见"})
    assert err.value.code == "request_id_reused"


@pytest.mark.parametrize("change,code", [
    (dict(member_signed=False, signature_note=""), "signature_required"),
    (dict(guide=""), "guide_required"),
    (dict(vote={"entitled": 20, "present": 10, "in_favour": 8, "against": 1, "abstaining": 1}), "no_quorum"),
    (dict(vote={**VOTE_PASSED, "in_favour": 10, "against": 7}), "vote_not_passed"),
    (dict(vote={**VOTE_PASSED, "in_favour": 19}), "vote_invalid"),
    (dict(vote=None), "vote_required"),
])
def test_general_meeting_needs_signature_guide_quorum_majority(removal_case, orgs, change, code):
    cid = removal_case
    for _ in range(3):
        approve_open(orgs, cid)
    assert open_step(orgs, cid).step_key == "general_meeting"
    with pytest.raises(Refusal) as err:
        approve_open(orgs, cid, **change)
    assert err.value.code == code


def test_signed_resolution_needs_no_note(removal_case, orgs):
    for _ in range(3):
        approve_open(orgs, removal_case)
    approve_open(orgs, removal_case, member_signed=True, signature_note="")
    assert open_step(orgs, removal_case).step_key == "base_final_review"


def test_effective_step_needs_materials_on_file(orgs):
    cid = new_case(orgs)
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    propose(orgs, cid, "normal_management")
    approve_open(orgs, cid)
    approve_open(orgs, cid)
    with pytest.raises(Refusal) as err:
        approve_open(orgs, cid)
    assert err.value.code == "materials_missing"
    assert err.value.details["missing"] == list(procedure(Disposition.NORMAL_MANAGEMENT).materials)
    with pytest.raises(Refusal) as err:
        file_material(orgs, actor_id="sec1", now=T0, case_id=cid, kind="随便什么", reference="x")
    assert err.value.code == "unknown_material"


def test_rejection_goes_back_one_step_with_the_reason(removal_case, orgs):
    cid = removal_case
    approve_open(orgs, cid)
    approve_open(orgs, cid)  # base committee review
    step = open_step(orgs, cid)
    assert step.step_key == "upper_pre_review"
    with pytest.raises(Refusal) as err:
        decide_step(orgs, actor_id="county_org", now=T0, step_id=step.id, verdict="reject", opinion="  ")
    assert err.value.code == "opinion_required"
    decide_step(orgs, actor_id="county_org", now=T0, step_id=step.id, verdict="reject", opinion="调查材料不充分")
    back = open_step(orgs, cid)
    assert (back.step_key, back.org_id, back.reopened_from) == ("base_review", "TOWN", step.id)
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    rejected = [st for st in d["steps"] if st["status"] == "rejected"]
    assert rejected[0]["opinion"] == "调查材料不充分"
    assert d["form"]["upper_pre_review"][0]["verdict"] == "不同意（退回）"


def test_rejection_at_the_first_step_withdraws_the_proposal(removal_case, orgs):
    step = open_step(orgs, removal_case)
    decide_step(orgs, actor_id="sec1", now=T0, step_id=step.id, verdict="reject", opinion="情形不符，改为限期改正")
    back = open_step(orgs, removal_case)
    assert back.kind is StepKind.PROPOSAL
    propose(orgs, removal_case, "correct_in_time")
    with orgs.reading() as s:
        d = dossier(s, removal_case, now=LATER)
    assert [x["status"] for x in d["dispositions"]] == ["withdrawn", "in_progress"]


@pytest.mark.parametrize("code,kind,expected", [
    ("suspend_unreachable", MemberKind.PROBATIONARY, "probationary"),
    ("cancel_probationary_unreachable", MemberKind.FULL, "not_probationary"),
    ("normal_management", MemberKind.FULL, "not_applicable"),
])
def test_proposals_that_do_not_fit_the_case(orgs, code, kind, expected):
    cid = new_case(orgs, kind=kind)
    search(orgs, cid, outcome="not_found")
    with pytest.raises(Refusal) as err:
        propose(orgs, cid, code)
    assert err.value.code == expected


def test_proposal_needs_investigation_and_a_searching_case_cannot_be_disposed(orgs):
    cid = new_case(orgs)
    with pytest.raises(Refusal) as err:
        propose(orgs, cid, "suspend_unreachable")
    assert err.value.code == "not_awaiting_proposal"
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    with pytest.raises(Refusal) as err:
        propose(orgs, cid, "normal_management", conduct="")
    assert err.value.code == "investigation_required"


def test_concurrent_edit_detected(removal_case, orgs):
    step = open_step(orgs, removal_case)
    with orgs.reading() as s:
        version = dossier(s, removal_case, now=LATER)["version"]
    approve_open(orgs, removal_case)
    from models.errors import ConcurrentEdit
    nxt = open_step(orgs, removal_case)
    with pytest.raises(ConcurrentEdit):
        decide_step(orgs, actor_id="town_sec", now=T0, step_id=nxt.id, verdict="approve", opinion="同意",
                    expected_version=version)
    assert step.id != nxt.id


def test_mass_removals_warn_but_do_not_refuse(orgs):
    ids = [add_member(orgs, name=f"成员{i}") for i in range(6)]
    start(orgs)
    warnings = []
    for mid in ids:
        cid = case_of(orgs, mid)
        search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
        warnings.append(propose(orgs, cid, "self_abandonment").warning)
    assert warnings[:4] == [None] * 4
    assert all("大呼隆" in w for w in warnings[4:])


def test_referral_is_recorded_beside_the_disposition(orgs):
    cid = new_case(orgs)
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    record_referral(orgs, actor_id="sec1", now=T0, case_id=cid, target="police", summary="涉嫌诈骗")
    with pytest.raises(Refusal):
        record_referral(orgs, actor_id="sec2", now=T0, case_id=cid, target="police", summary="x")
    with orgs.reading() as s:
        d = dossier(s, cid, now=LATER)
    assert d["referrals"][0]["target_label"] == "公安机关" and d["state"] == CaseState.CONTACTED.value
