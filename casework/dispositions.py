"""Dispositions and their approval chains: propose, decide each step at its level, file the materials, refer
violations on. The order, the levels and what each step needs come from `models.catalogue` and `models.rules`."""
from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import func, select

from models.catalogue import STARTED_BY, Contact, Disposition, procedure, procedures
from models.codes import Body, CaseState, ReferralTarget, StepKind, StepStatus, Verdict
from models.errors import Refusal
from models.chronology import check_step_time
from models.rules import (DecisionInput, Vote, after_decision, case_column, check_decision, check_proposal,
                          mass_removal_warning, MASS_REMOVAL_WINDOW_DAYS)
from models.store import Case, DispositionRow, Material, Referral, Step
from models.text import checked_arguments
from models.timing import local_date
from models.views import (CorrectionJudged, DispositionProposed, MaterialFiled, ReferralRecorded,
                          StepDecided)

from .cases import (authorise, case_summary, close_step, current_disposition, facts, load_case, load_open_step,
                    open_step, open_step_of, proc_of, set_column)
from .membership import disposition_in_effect
from .schedule import cancel_followups, schedule_followup
from .uow import Work, action


@action("propose_disposition", DispositionProposed)
@checked_arguments
def propose_disposition(work: Work, *, case_id: str, disposition: str, grounds: str, conduct: str = "",
                        lost_reasons: str = "", correction_months: int | None = None,
                        expected_version: int | None = None) -> DispositionProposed:
    """The branch records what its investigation found and proposes a disposition; the procedure's first step opens.
    For a suspended member this is also how a restoration application or the removal after two years begins."""
    try:
        code = Disposition(disposition)  # type: ignore[call-arg]  # lookup by value
    except ValueError:
        raise Refusal("bad_disposition", f"处置方式“{disposition}”不存在", "003") from None
    case = load_case(work, case_id, expected_version)
    proc = procedure(code, case.catalogue_version)
    check_proposal(facts(work, case), proc, work.now)
    _in_order(work, case, "提出处置意见")
    org_id = authorise(work, case, Body.BRANCH, deciding=True)
    if not grounds.strip():
        raise Refusal("grounds_required", f"提出“{proc.title}”须写明所依据的情形", proc.source)
    if case.state is CaseState.CONTACTED and not conduct.strip():
        raise Refusal("investigation_required", "须先了解党员失联期间表现和现实表现，与本人谈话，形成调查核实材料", "000 §3")
    params = {}
    period = proc.effects.period
    if period is not None:
        months = correction_months if correction_months is not None else period.default
        if not period.low <= months <= period.high:
            raise Refusal("bad_correction_period", f"{period.label}应在{period.low}至{period.high}个月之间",
                          period.rule)
        params[period.param] = months
    warning = None
    if proc.removal:
        warning = mass_removal_warning(_recent_removals(work, case.branch_id) + 1)
    row = _start_disposition(work, case, code, grounds.strip(), params)
    proposal = open_step_of(work.session, case.id)
    if proposal is not None and proposal.kind is StepKind.PROPOSAL:
        close_step(work, proposal, StepStatus.DONE)
        proposal.opinion = grounds.strip()
    if conduct.strip():
        case.conduct = conduct.strip()
    if lost_reasons.strip():
        case.lost_reasons = lost_reasons.strip()
    first = _open_chain_step(work, case, row, 0)
    for kind in proc.effects.cancels:
        cancel_followups(work, case.id, kind, note=proc.effects.cancel_note)
    work.advance(case.id, "disposition_proposed", disposition_id=row.id, step_id=first.id)
    work.audit(case_id=case.id, org_id=org_id, disposition=code, grounds=grounds, warning=warning)
    return case_summary(work, case, DispositionProposed, disposition_id=row.id, disposition=code.value,
                        warning=warning)


def _recent_removals(work: Work, branch_id: str) -> int:
    since = work.now - dt.timedelta(days=MASS_REMOVAL_WINDOW_DAYS)
    removals = [p.code for p in _removal_procedures()]
    return work.session.scalar(
        select(func.count()).select_from(DispositionRow).join(Case, Case.id == DispositionRow.case_id)
        .where(Case.branch_id == branch_id, DispositionRow.code.in_(removals), DispositionRow.proposed_at >= since)
    ) or 0


def _removal_procedures():
    return [p for p in procedures() if p.removal]


def _start_disposition(work: Work, case: Case, code: Disposition, grounds: str, params: dict) -> DispositionRow:
    seq = (work.session.scalar(select(func.max(DispositionRow.seq)).where(DispositionRow.case_id == case.id)) or 0) + 1
    row = DispositionRow(id=f"{case.id}-D{seq}", case_id=case.id, seq=seq, code=code,
                         catalogue_version=case.catalogue_version, status="in_progress", grounds=grounds,
                         params=params, proposed_by=work.actor_id, proposed_at=work.now)
    work.session.add(row)
    work.session.flush()
    case.disposition_id = row.id
    case.state = CaseState.IN_PROCEDURE
    return row


def _open_chain_step(work: Work, case: Case, row: DispositionRow, index: int, reopened_from: str | None = None) -> Step:
    spec = proc_of(row).steps[index]
    return open_step(work, case, kind=StepKind.REVIEW, body=spec.body, title=spec.title, disposition=row,
                     index=index, key=spec.key, reopened_from=reopened_from)


def start_by_rule(work: Work, case: Case, code: Disposition, grounds: str) -> Step:
    """A disposition the rules themselves start (the two-year review, a correction period without change)."""
    row = _start_disposition(work, case, code, grounds, {})
    row.proposed_by = None
    step = _open_chain_step(work, case, row, 0)
    work.advance(case.id, "disposition_proposed", disposition_id=row.id, step_id=step.id)
    return step


@action("decide_step", StepDecided)
@checked_arguments
def decide_step(work: Work, *, step_id: str, verdict: str, opinion: str, member_signed: bool = False,
                signature_note: str = "", guide: str = "", vote: dict[str, int] | None = None,
                expected_version: int | None = None) -> StepDecided:
    """A decision at one level on the open step of a chain. Approval opens the next step (or finishes the
    procedure); a rejection sends the case back one step with the reason on record."""
    try:
        verdict_ = Verdict(verdict)  # type: ignore[call-arg]  # lookup by value
    except ValueError:
        raise Refusal("bad_verdict", f"决定“{verdict}”无效（应为approve或reject）", "DOMAIN §5") from None
    case, step = load_open_step(work, step_id, expected_version)
    check_step_time("decision", "决定", work.now, f"“{step.title}”的开启时间", step.opened_at)
    if step.kind is not StepKind.REVIEW:
        raise Refusal("not_a_review_step", f"“{step.title}”不是审批步骤", "DOMAIN §5")
    row = cast(DispositionRow, current_disposition(work, case))  # a review step is a step of the current one
    proc = proc_of(row)
    spec = proc.steps[cast(int, step.step_index)]
    org_id = authorise(work, case, spec.body, deciding=True)
    try:
        vote_ = Vote(**vote) if vote else None
    except TypeError:
        raise Refusal("vote_invalid", "表决情况应包括应到、实到、赞成、反对、弃权人数", "000 §3") from None
    decision = DecisionInput(verdict_, opinion, member_signed, signature_note, guide, vote_)
    check_decision(spec, decision, missing_materials(work, row))

    close_step(work, step, StepStatus.DONE if verdict_ is Verdict.APPROVE else StepStatus.REJECTED)
    step.verdict, step.opinion = verdict_, opinion.strip()
    if spec.action.value == "vote":
        step.member_signed, step.signature_note, step.guide = member_signed, signature_note.strip() or None, \
            guide.strip() or None
        step.vote = vars(vote_)
    nxt = after_decision(proc, cast(int, step.step_index), verdict_)
    new: Step | None = None
    if nxt.becomes_effective:
        _take_effect(work, case, row)
    if nxt.withdrawn:
        new = _withdraw(work, case, row, reason=opinion.strip())
    elif nxt.next_index is not None:
        new = _open_chain_step(work, case, row, nxt.next_index,
                               reopened_from=step.id if verdict_ is Verdict.REJECT else None)
    elif nxt.finished:
        row.status = "completed"
        row.completed_at = work.now
        case.state = cast(CaseState, nxt.result_state)  # a finished procedure names its result
        case.disposition_id = None
        if case.state is CaseState.CLOSED:
            case.closed_at = work.now
    work.advance(case.id, "step_decided", closed_step=step.id, verdict=verdict_, step_id=new.id if new else None)
    work.audit(case_id=case.id, org_id=org_id, step_id=step.id, step=spec.key, verdict=verdict_, opinion=opinion)
    return case_summary(work, case, StepDecided, decided_step=step.id, verdict=verdict_.value)


def _take_effect(work: Work, case: Case, row: DispositionRow) -> None:
    proc = proc_of(row)
    row.status = "effective"
    row.effective_at = work.now
    set_column(work, case, case_column(dead=False, contact=case.contact, effective=proc))
    if proc.effects.suspends:
        case.suspended_at = work.now
    if proc.effects.contact is not None:
        case.contact = proc.effects.contact
    disposition_in_effect(work, case, row.code, local_date(work.now))  # the member's status follows
    for kind in proc.followups:
        schedule_followup(work, case, kind, row)


def _in_order(work: Work, case: Case, doing: str) -> None:
    """Time order (models.chronology): an action on a case not dated before the step it follows: the open step's
    opening, or, with none open (a suspended case), the last step's closing."""
    step = open_step_of(work.session, case.id) or work.session.scalar(
        select(Step).where(Step.case_id == case.id).order_by(Step.seq.desc()).limit(1))
    if step is None:
        return
    if step.status is StepStatus.OPEN:
        check_step_time("decision", doing, work.now, f"“{step.title}”的开启时间", step.opened_at)
    elif step.closed_at is not None:
        check_step_time("decision", doing, work.now, f"“{step.title}”的办理时间", step.closed_at)


def _withdraw(work: Work, case: Case, row: DispositionRow, reason: str) -> Step | None:
    """Rejected at its first step: the proposal is withdrawn and the case waits for a new one."""
    row.status = "withdrawn"
    row.completed_at = work.now
    case.disposition_id = None
    effects = proc_of(row).effects
    if case.contact is Contact.SUSPENDED:
        case.state = CaseState.SUSPENDED
        for kind in effects.restores_on_withdrawal:
            schedule_followup(work, case, kind, None)
        return None
    if effects.returns_to_judgement_after is not None and _completed(work, case, effects.returns_to_judgement_after):
        # Back to the judgement of the correction period, which is what this proposal came from.
        case.state = CaseState.CORRECTING
        return open_step(work, case, kind=StepKind.JUDGEMENT, body=Body.BRANCH_COMMITTEE,
                         title=f"重新评估限期改正情况（劝退意见被退回：{reason}）")
    case.state = CaseState.CONTACTED if case.contact is Contact.CONTACTED else CaseState.UNREACHABLE
    return open_step(work, case, kind=StepKind.PROPOSAL, body=Body.BRANCH,
                     title=f"重新提出处置意见（原意见“{row.code.label}”被退回：{reason}）")


def _completed(work: Work, case: Case, code: Disposition) -> bool:
    return cast(int, work.session.scalar(select(func.count()).select_from(DispositionRow).where(
        DispositionRow.case_id == case.id, DispositionRow.code == code,
        DispositionRow.status == "completed"))) > 0


def missing_materials(work: Work, row: DispositionRow) -> list[str]:
    on_file = set(work.session.scalars(select(Material.kind).where(Material.disposition_id == row.id)))
    return [m for m in proc_of(row).materials if m not in on_file]


@action("file_material", MaterialFiled)
@checked_arguments
def file_material(work: Work, *, case_id: str, kind: str, reference: str) -> MaterialFiled:
    """Put a document of the disposition's checklist on file [003 所需材料]."""
    case = load_case(work, case_id)
    row = current_disposition(work, case)
    if row is None:
        raise Refusal("no_disposition", "本案当前没有进行中的处置，无需归档处置材料", "003")
    check_step_time("material", "归档", work.now, f"“{row.code.label}”的提出时间", row.proposed_at)
    proc = proc_of(row)
    if kind not in proc.materials:
        raise Refusal("unknown_material", f"“{kind}”不在“{proc.title}”的材料清单中：" + "、".join(proc.materials), "003")
    if not reference.strip():
        raise Refusal("reference_required", "须写明材料的文号、存档位置或文件", "003")
    org_id = authorise(work, case, Body.BRANCH, deciding=False) if _acts_for_branch(work, case) else \
        authorise(work, case, Body.BASE_COMMITTEE, deciding=False)
    work.session.add(Material(case_id=case.id, disposition_id=row.id, kind=kind, reference=reference.strip(),
                              filed_by=work.actor_id, filed_at=work.now))
    work.session.flush()
    work.audit(case_id=case.id, org_id=org_id, disposition_id=row.id, kind=kind, reference=reference)
    return MaterialFiled(case_id=case.id, disposition_id=row.id, kind=kind, missing=missing_materials(work, row))


def _acts_for_branch(work: Work, case: Case) -> bool:
    return case.branch_id in work.roles()


@action("record_referral", ReferralRecorded)
@checked_arguments
def record_referral(work: Work, *, case_id: str, target: str, summary: str) -> ReferralRecorded:
    """Refer a discipline or law violation to discipline inspection or the police; the disposition never replaces
    their decision [001 §4]."""
    try:
        target_ = ReferralTarget(target)  # type: ignore[call-arg]  # lookup by value
    except ValueError:
        raise Refusal("bad_target", f"移送对象“{target}”无效（应为discipline或police）", "001 §4") from None
    if not summary.strip():
        raise Refusal("summary_required", "须写明移送的问题线索", "001 §4")
    case = load_case(work, case_id)
    org_id = authorise(work, case, Body.BRANCH, deciding=True) if _acts_for_branch(work, case) else \
        authorise(work, case, Body.BASE_COMMITTEE, deciding=True)
    work.session.add(Referral(case_id=case.id, target=target_, summary=summary.strip(), referred_by=work.actor_id,
                              referred_at=work.now))
    work.audit(case_id=case.id, org_id=org_id, target=target_, summary=summary)
    return ReferralRecorded(case_id=case.id, target=target_.value, target_label=target_.label)


@action("judge_correction", CorrectionJudged)
@checked_arguments
def judge_correction(work: Work, *, step_id: str, changed: bool, opinion: str,
                     expected_version: int | None = None) -> CorrectionJudged:
    """At the end of a correction period the branch judges the change: changed, the case closes; no change, the
    persuade-to-withdraw procedure starts [003 #5 (2)]."""
    case, step = load_open_step(work, step_id, expected_version)
    check_step_time("decision", "评估", work.now, f"“{step.title}”的开启时间", step.opened_at)
    if step.kind is not StepKind.JUDGEMENT:
        raise Refusal("not_a_judgement", f"“{step.title}”不是限期改正期满评估", "003 #4")
    org_id = authorise(work, case, step.body, deciding=True)
    if not opinion.strip():
        raise Refusal("opinion_required", "须写明评估意见", "003 #4")
    close_step(work, step, StepStatus.DONE)
    step.verdict = Verdict.APPROVE if changed else Verdict.REJECT
    step.opinion = opinion.strip()
    new = None
    if changed:
        case.state = CaseState.CLOSED
        case.closed_at = work.now
    else:
        new = start_by_rule(work, case, STARTED_BY["correction_unchanged"], "限期改正期满后仍无转变：" + opinion.strip())
    work.advance(case.id, "correction_judged", closed_step=step.id, step_id=new.id if new else None)
    work.audit(case_id=case.id, org_id=org_id, step_id=step.id, changed=changed, opinion=opinion)
    return case_summary(work, case, CorrectionJudged, changed=changed)
