"""The four search stages: every attempt on record with its time, what was done, the witness and a remark
[002 annex 4]; the stages in order [001 §2]; the outcome routes the case."""
from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import func, select

from models.catalogue import Contact
from models.chronology import check_moment
from models.codes import Body, CaseState, Outcome, Stage, StepKind, StepStatus
from models.errors import Refusal
from models.rules import after_attempt, case_column, check_attempt
from models.statistics import counted_after_finding
from models.store import Attempt, Campaign, Case, Member, Step
from models.text import checked_arguments
from models.timing import as_utc, local_date, local_midnight
from models.views import AttemptRecorded

from .cases import authorise, case_summary, close_step, facts, load_case, open_step, open_step_of, set_column
from .membership import contact_found, death_confirmed
from .uow import Work, action


@action("record_attempt", AttemptRecorded)
@checked_arguments
def record_attempt(work: Work, *, case_id: str, stage: str, method: str, description: str, witness: str,
                   outcome: str, attempted_at: str | None = None, remark: str = "", concludes_stage: bool = True,
                   expected_version: int | None = None) -> AttemptRecorded:
    """Record one attempt. A contact, a death or a relation found elsewhere ends the search; "not found" ends the
    stage (and opens the next) unless `concludes_stage` is False, so a stage may hold several attempts."""
    try:
        stage_, outcome_ = Stage(stage), Outcome(outcome)  # type: ignore[call-arg]  # lookups by value
    except ValueError:
        raise Refusal("bad_input", f"查找阶段“{stage}”或结果“{outcome}”无效", "001 §2") from None
    missing = [label for label, value in (("查找方式", method), ("查找过程", description), ("证明人", witness))
               if not str(value or "").strip()]
    if missing:
        raise Refusal("attempt_incomplete", "查找记录须写明" + "、".join(missing) + "（证明人须签字）", "002 附件4")
    case = load_case(work, case_id, expected_version)
    check_attempt(facts(work, case), stage_)
    org_id = authorise(work, case, stage_.body, deciding=False)
    try:
        when = as_utc(dt.datetime.fromisoformat(attempted_at)) if attempted_at else work.now
    except ValueError:
        raise Refusal("bad_date", f"查找时间“{attempted_at}”不是有效时间（应为YYYY-MM-DDTHH:MM）", "002 附件4") from None
    step = cast(Step, open_step_of(work.session, case.id))  # check_attempt: the case is searching, its step open
    _check_time(work, case, step, when)
    work.session.add(Attempt(case_id=case.id, step_id=step.id, stage=stage_, method=method.strip(),
                             description=description.strip(), attempted_at=when, witness=witness.strip(),
                             remark=remark.strip() or None, outcome=outcome_, concludes_stage=concludes_stage,
                             recorded_by=work.actor_id, recorded_at=work.now))
    nxt = after_attempt(stage_, outcome_, concludes_stage)
    if nxt is not None:
        close_step(work, step, StepStatus.DONE)
        case.state = nxt.state
        if nxt.next_stage is not None:
            case.search_stage = nxt.next_stage
            new = open_step(work, case, kind=StepKind.SEARCH, body=nxt.next_stage.body, title=nxt.next_stage.label,
                            stage=nxt.next_stage)
        else:
            case.search_stage = None
            case.search_ended_on = local_date(when)
            case.contact = nxt.contact
            case.managed_elsewhere = outcome_ is Outcome.MANAGED_ELSEWHERE
            case.dead = nxt.dead
            if nxt.dead:
                case.closed_at = work.now
                death_confirmed(work, case.member_id, case.id)
            elif nxt.contact is Contact.CONTACTED:  # contacted, or found managed by another organisation
                contact_found(work, case.member_id, local_date(when))
            if nxt.dead or nxt.contact is Contact.CONTACTED:  # a pocket member found early never counts in A
                case.counted_from = counted_after_finding(case.counted_from, local_date(when))
            new = None
            if nxt.open_proposal:
                new = open_step(work, case, kind=StepKind.PROPOSAL, body=Body.BRANCH,
                                title=StepKind.PROPOSAL.label if nxt.contact is Contact.CONTACTED
                                else "经查找仍然无法取得联系，提出处置意见")
        set_column(work, case, case_column(dead=case.dead, contact=case.contact, effective=None))
        work.advance(case.id, "attempt_recorded", closed_step=step.id, step_id=new.id if new else None)
    work.session.flush()
    work.audit(case_id=case.id, org_id=org_id, stage=stage_, method=method, outcome=outcome_,
               concludes_stage=concludes_stage, witness=witness)
    return case_summary(work, case, AttemptRecorded, outcome=outcome_.value,
                        search_finished=case.state is not CaseState.SEARCHING)


def _check_time(work: Work, case: Case, step, when: dt.datetime) -> None:
    """Time order (models.chronology): the attempt not in the future, not before 1921 or the member's birth, not
    before the search began (the campaign's start day or the case's opening, whichever is earlier: `--at` enters
    work done before the case was typed in) nor before the case's latest attempt; and recorded (`--now`) not before
    its step was opened."""
    s = work.session
    birth = s.scalar(select(Member.birth_date).where(Member.id == case.member_id))
    began = case.opened_at
    if case.campaign_id is not None:
        start = s.scalar(select(Campaign.start_date).where(Campaign.id == case.campaign_id))
        began = min(began, local_midnight(cast(dt.date, start)))  # foreign key
    latest = s.scalar(select(func.max(Attempt.attempted_at)).where(Attempt.case_id == case.id))
    check_moment("attempt", "查找时间", when, now=work.now, birth=birth,
                 after=[("查找开始时间", began), ("本案上一次查找的时间", latest)], rule="002 附件4")
    if step is not None:
        check_moment("attempt", "登记时间", work.now, now=work.now,
                     after=[(f"“{step.title}”的开启时间", step.opened_at)], rule="DOMAIN §4")
