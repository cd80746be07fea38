"""The transition rules, pure: given where a case stands and what someone proposes, allowed or refused with the rule.

Nothing here touches the store or Prefect. `casework` gathers the facts, asks these functions, and writes what they
answer; `flows` only follow what the store then shows."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .catalogue import Column, Contact, Disposition, Procedure, StepSpec, procedure, procedures
from .codes import STAGE_ORDER, Action, Body, CaseState, MemberKind, Outcome, Role, Stage, Verdict
from .errors import Refusal
from .timing import suspension_review_due


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know of a case."""

    state: CaseState
    member_kind: MemberKind
    contact: Contact | None  # the search result, or SUSPENDED while membership is suspended
    catalogue_version: str
    managed_elsewhere: bool = False
    suspended_at: dt.datetime | None = None
    procedure: Disposition | None = None
    step_index: int | None = None
    search_stage: Stage | None = None


# ---------------------------------------------------------------- the search

@dataclass(frozen=True)
class AfterAttempt:
    state: CaseState
    next_stage: Stage | None = None  # the stage whose work opens next, if the search goes on
    open_proposal: bool = False
    contact: Contact | None = None
    dead: bool = False


def check_attempt(facts: CaseFacts, stage: Stage) -> None:
    if facts.state is not CaseState.SEARCHING:
        raise Refusal("not_searching", f"案件当前状态为“{facts.state.label}”，不能再登记查找记录", "001 §2")
    if stage is not facts.search_stage:
        current = facts.search_stage.label if facts.search_stage else "无"
        raise Refusal(
            "stage_out_of_order",
            f"查找须依次经过直接联系、人际查找、部门查找、其他方式查找，当前阶段为“{current}”，不能登记“{stage.label}”",
            "001 §2", current_stage=facts.search_stage.value if facts.search_stage else None,
        )


def after_attempt(stage: Stage, outcome: Outcome, concludes_stage: bool) -> AfterAttempt | None:
    """What follows a recorded attempt; None when the stage stays open for more attempts."""
    if outcome in (Outcome.CONTACTED, Outcome.MANAGED_ELSEWHERE):
        return AfterAttempt(CaseState.CONTACTED, open_proposal=True, contact=Contact.CONTACTED)
    if outcome is Outcome.DEAD:
        return AfterAttempt(CaseState.CLOSED, dead=True)
    if not concludes_stage:
        return None
    position = STAGE_ORDER.index(stage)
    if position + 1 < len(STAGE_ORDER):
        return AfterAttempt(CaseState.SEARCHING, next_stage=STAGE_ORDER[position + 1])
    # After the last stage without contact the member is still unreachable [004].
    return AfterAttempt(CaseState.UNREACHABLE, open_proposal=True, contact=Contact.UNREACHABLE)


# ---------------------------------------------------------------- proposing a disposition

PROPOSAL_STATES = {CaseState.CONTACTED, CaseState.UNREACHABLE, CaseState.SUSPENDED, CaseState.CORRECTING}


def eligible(facts: CaseFacts, now: dt.datetime) -> list[Procedure]:
    """The procedures that may be proposed for this case now."""
    out = []
    for p in procedures(facts.catalogue_version):
        try:
            check_proposal(facts, p, now)
        except Refusal:
            continue
        out.append(p)
    return out


def check_proposal(facts: CaseFacts, proc: Procedure, now: dt.datetime) -> None:
    if facts.state not in PROPOSAL_STATES:
        raise Refusal("not_awaiting_proposal", f"案件当前状态为“{facts.state.label}”，不能提出处置意见",
                      "003", state=facts.state.value)
    when = proc.eligibility
    if facts.state is CaseState.CORRECTING and not when.during_correction:
        raise Refusal("correcting", "限期改正期间只能在期满评估仍无转变后提出劝退，或登记开除党籍决定", "003 #5")
    if facts.contact not in proc.applies_to:
        applies = "、".join(c.label for c in proc.applies_to)
        raise Refusal("not_applicable", f"“{proc.title}”只适用于{applies}的党员，本案为“{facts.contact.label if facts.contact else '查找中'}”",
                      proc.source)
    if facts.member_kind not in proc.member_kinds:
        if facts.member_kind is MemberKind.PROBATIONARY:
            raise Refusal("probationary", f"预备党员不适用“{proc.title}”：无法取得联系或出国（境）定居的预备党员应取消预备党员资格",
                          "000 §4")
        raise Refusal("not_probationary", f"“{proc.title}”只适用于预备党员", proc.source)
    if when.managed_elsewhere and not facts.managed_elsewhere:
        raise Refusal("not_managed_elsewhere", f"“{proc.title}”只适用于查找结果为“已纳入其他党组织管理”的党员", proc.source)
    window = when.suspension_window
    if window is not None:
        if facts.suspended_at is None:
            raise Refusal("not_suspended", "本案没有因无法取得联系而停止党籍的记录", "000 §4")
        due = suspension_review_due(facts.suspended_at)
        if (now < due) != window.before_due:
            raise Refusal(window.refusal_code, window.refusal.format(due=due.date().isoformat()), "000 §4",
                          due=due.isoformat())


# ---------------------------------------------------------------- who may act

@dataclass(frozen=True)
class OrgChain:
    """The organisations above a member's branch: who acts at each level for this case."""

    branch: str
    base_committee: str | None
    upper_department: str | None
    county_department: str | None

    def for_body(self, body: Body) -> str | None:
        level = body.level.value
        return {"branch": self.branch, "base_committee": self.base_committee,
                "upper_department": self.upper_department, "county_department": self.county_department}[level]


def check_actor(body: Body, required_org: str | None, actor_roles: dict[str, set[Role]], *, deciding: bool,
                org_names: dict[str, str] | None = None) -> str:
    """Refuse unless the actor holds a role at the organisation that acts for `body` on this case. Returns the org
    the actor acts for. `actor_roles` maps org id to the actor's roles there."""
    names = org_names or {}
    if required_org is None:
        raise Refusal("no_such_level", f"本案所在党支部之上没有{body.level.label}，无法办理此步骤", "DOMAIN §1")
    roles = actor_roles.get(required_org, set())
    where = names.get(required_org, required_org)
    if not roles:
        held = "、".join(names.get(o, o) for o in actor_roles) or "无"
        raise Refusal("wrong_level",
                      f"此步骤须由{where}（{body.label}）办理，您不在该组织任职（现任职组织：{held}）", "DOMAIN §1",
                      required_org=required_org, body=body.value)
    if deciding and not any(r.may_decide for r in roles):
        raise Refusal("not_a_decider", f"{where}的工作人员可以登记，但审批决定须由书记、副书记或委员作出", "DOMAIN §1")
    return required_org


# ---------------------------------------------------------------- deciding a step

@dataclass(frozen=True)
class Vote:
    """A general meeting's vote. DECISION: the meeting needs more than half of the members entitled to vote present,
    and a resolution passes with more than half of those entitled in favour (the Party's rule for branch meetings)."""

    entitled: int
    present: int
    in_favour: int
    against: int = 0
    abstaining: int = 0

    def passes(self) -> bool:
        return self.in_favour * 2 > self.entitled


@dataclass(frozen=True)
class DecisionInput:
    verdict: Verdict
    opinion: str
    member_signed: bool = False
    signature_note: str = ""
    guide: str = ""  # who the base committee sent to guide the meeting
    vote: Vote | None = None


def check_decision(step: StepSpec, decision: DecisionInput, missing_materials: list[str]) -> None:
    if not decision.opinion.strip():
        what = "退回理由" if decision.verdict is Verdict.REJECT else "意见"
        raise Refusal("opinion_required", f"“{step.title}”须填写{what}", "DOMAIN §5")
    if step.action in (Action.NOTIFY, Action.RECORD) and decision.verdict is Verdict.REJECT:
        raise Refusal("cannot_reject", f"“{step.title}”是登记事项，不能退回", "003")
    if step.action is Action.VOTE:
        _check_vote(step, decision)
    if step.effective and decision.verdict is Verdict.APPROVE and missing_materials:
        raise Refusal("materials_missing", "处置材料不全，不能审批生效。尚缺：" + "、".join(missing_materials), "003 所需材料",
                      missing=missing_materials)


def _check_vote(step: StepSpec, decision: DecisionInput) -> None:
    vote = decision.vote
    if vote is None:
        raise Refusal("vote_required", "支部党员大会须登记应到会有表决权党员数、实到人数和表决结果", "000 §3")
    if min(vote.entitled, vote.present, vote.in_favour, vote.against, vote.abstaining) < 0 or vote.entitled == 0:
        raise Refusal("vote_invalid", "表决人数不能为负数，应到会人数须大于0", "000 §3")
    if vote.present > vote.entitled or vote.in_favour + vote.against + vote.abstaining > vote.present:
        raise Refusal("vote_invalid", "实到人数不能多于应到人数，表决票数之和不能多于实到人数", "000 §3")
    if vote.present * 2 <= vote.entitled:
        raise Refusal("no_quorum", f"到会有表决权党员{vote.present}人，未超过应到会{vote.entitled}人的半数，会议不能作出决议",
                      "DOMAIN §5")
    if decision.verdict is Verdict.APPROVE and not vote.passes():
        raise Refusal("vote_not_passed", f"赞成{vote.in_favour}票，未超过应到会有表决权党员{vote.entitled}人的半数，决议未通过，应登记为不通过",
                      "DOMAIN §5")
    if decision.verdict is Verdict.REJECT and vote.passes():
        raise Refusal("vote_passed", f"赞成{vote.in_favour}票已超过半数，决议已通过，不能登记为不通过", "DOMAIN §5")
    if decision.verdict is Verdict.APPROVE:
        if step.needs_signature and not decision.member_signed and not decision.signature_note.strip():
            raise Refusal("signature_required",
                          "处置决议需由本人签字；本人拒不签字或因故不能签字的，党支部要在决议上注明", "000 §3")
        if step.needs_guide and not decision.guide.strip():
            raise Refusal("guide_required", "基层党委应派人到会指导，须登记到会指导人员", "000 §3")


@dataclass(frozen=True)
class AfterDecision:
    next_index: int | None = None  # the step that opens next
    withdrawn: bool = False  # rejected at the first step: the proposal is withdrawn
    finished: bool = False
    becomes_effective: bool = False
    result_state: CaseState | None = None


def after_decision(proc: Procedure, index: int, verdict: Verdict) -> AfterDecision:
    """A rejection sends the case back to the step before with the reason on record (DOMAIN §5); a rejection at the
    first step withdraws the proposal. An approval opens the next step, or finishes the procedure."""
    if verdict is Verdict.REJECT:
        return AfterDecision(withdrawn=True) if index == 0 else AfterDecision(next_index=index - 1)
    effective = proc.steps[index].effective
    if index + 1 < len(proc.steps):
        return AfterDecision(next_index=index + 1, becomes_effective=effective)
    return AfterDecision(finished=True, becomes_effective=effective, result_state=proc.result_state)


def step_of(facts: CaseFacts) -> StepSpec:
    if facts.procedure is None or facts.step_index is None:
        raise Refusal("no_open_step", "本案当前没有待审批的步骤", "DOMAIN §5")
    return procedure(facts.procedure, facts.catalogue_version).steps[facts.step_index]


# ---------------------------------------------------------------- where the statistics count a case

def case_column(*, dead: bool, contact: Contact | None, effective: Procedure | None,
                contact_when_effective: Contact | None = None) -> Column:
    """The one leaf column of [002 annex 5] a case is counted in: confirmed dead (X); else the column of the latest
    disposition in effect (by the search result when it took effect); else still being investigated (N) when
    contacted, or still searching (W)."""
    if dead:
        return Column.X
    if effective is not None:
        return effective.column_for(contact_when_effective or contact or Contact.UNREACHABLE)
    return Column.N if contact is Contact.CONTACTED else Column.W


# ---------------------------------------------------------------- no quotas, no rush [001 §4]

MASS_REMOVAL_WINDOW_DAYS = 30  # DECISION: configurable
MASS_REMOVAL_THRESHOLD = 5


def mass_removal_warning(removals_in_window: int, threshold: int = MASS_REMOVAL_THRESHOLD,
                         window_days: int = MASS_REMOVAL_WINDOW_DAYS) -> str | None:
    """A warning, never a refusal: the seeds forbid quotas and rushed mass dispositions, so the software warns when a
    branch pushes unusually many removals through at once."""
    if removals_in_window >= threshold:
        return (f"提醒：本支部{window_days}天内已提出{removals_in_window}件出党处置。处置失联党员不定指标、不卡比例，"
                f"不搞“大呼隆”，应有计划、有步骤地进行，避免集中大量处置（依据：《党员组织关系排查有关问题说明》4）")
    return None
