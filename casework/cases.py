"""What every case action shares: loading a case under lock, the facts the rules need, opening steps, moving the
statistics column, and answering in one shape."""
from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from models.catalogue import Column, Procedure, procedure
from models.codes import Body, CampaignPhase, CaseState, Stage, StepKind, StepStatus
from models.errors import ConcurrentEdit, NotFound, Refusal
from models.rules import CaseFacts, OrgChain, check_actor
from models.store import Campaign, CampaignPhaseRow, Case, CaseColumn, DispositionRow, Member, Person, Step
from models.timing import LOCAL_TZ, step_due
from models.views import CaseSummary, StepView

from .orgs import org_chain, org_names
from .uow import Work

S = TypeVar("S", bound=CaseSummary)


def load_case(work: Work, case_id: str, expected_version: int | None = None) -> Case:
    """The case, locked for this transaction (FOR UPDATE on PostgreSQL; SQLite already holds the write lock)."""
    case = work.session.scalar(select(Case).where(Case.id == case_id).with_for_update())
    if case is None:
        raise NotFound("案件", case_id)
    if expected_version is not None and case.version != expected_version:
        raise ConcurrentEdit()
    flag_modified(case, "state")  # every action on a case moves its version, so stale forms are caught
    return case


def load_open_step(work: Work, step_id: str, expected_version: int | None = None) -> tuple[Case, Step]:
    case_id = work.session.scalar(select(Step.case_id).where(Step.id == step_id))
    if case_id is None:
        raise NotFound("待办事项", step_id)
    # The step's own state first: "decided by X at T" tells a stale form more than "changed by someone".
    case = load_case(work, case_id)
    stale = expected_version is not None and case.version != expected_version  # before a flush moves it
    step = cast(Step, work.session.get(Step, step_id))  # its case_id was just read
    if step.status is not StepStatus.OPEN:
        person = work.session.get(Person, step.decided_by) if step.decided_by else None
        who = person.name if person else "系统"
        when = step.closed_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if step.closed_at else ""
        raise Refusal("step_closed", f"“{step.title}”已于{when}由{who}办理（{step.status.label}），不能重复办理",
                      "DOMAIN §5", step_id=step_id, status=step.status.value)
    if stale:
        raise ConcurrentEdit()
    return case, step


def current_disposition(work: Work, case: Case) -> DispositionRow | None:
    return work.session.get(DispositionRow, case.disposition_id) if case.disposition_id else None


def facts(work: Work, case: Case) -> CaseFacts:
    return facts_in(work.session, case)


def facts_in(session: Session, case: Case) -> CaseFacts:
    """What the rules need to know of a case (also read by the pages, to offer only the actions allowed now)."""
    member = cast(Member, session.get(Member, case.member_id))  # foreign key
    disposition = session.get(DispositionRow, case.disposition_id) if case.disposition_id else None
    open_step = open_step_of(session, case.id)
    return CaseFacts(
        state=case.state, member_kind=member.kind, contact=case.contact, catalogue_version=case.catalogue_version,
        managed_elsewhere=case.managed_elsewhere, suspended_at=case.suspended_at,
        procedure=disposition.code if disposition and disposition.status in ("in_progress", "effective") else None,
        step_index=open_step.step_index if open_step else None, search_stage=case.search_stage,
    )


def open_step_of(session: Session, case_id: str) -> Step | None:
    return session.scalar(select(Step).where(Step.case_id == case_id, Step.status == StepStatus.OPEN))


def chain_of(work: Work, case: Case) -> OrgChain:
    return org_chain(work.session, case.branch_id)


def authorise(work: Work, case: Case, body: Body, *, deciding: bool) -> str:
    """Refuse unless the actor acts for the organisation that `body` means for this case; returns that org."""
    chain = chain_of(work, case)
    required = chain.for_body(body)
    roles = work.roles()
    return check_actor(body, required, roles, deciding=deciding,
                       org_names=org_names(work.session, [required, *roles]))


def open_step(work: Work, case: Case, *, kind: StepKind, body: Body, title: str, stage: Stage | None = None,
              disposition: DispositionRow | None = None, index: int | None = None, key: str | None = None,
              reopened_from: str | None = None) -> Step:
    org_id = chain_of(work, case).for_body(body)
    if org_id is None:
        raise Refusal("no_such_level", f"本案所在党支部之上没有{body.level.label}，无法开启“{title}”", "DOMAIN §1")
    seq = (work.session.scalar(select(func.max(Step.seq)).where(Step.case_id == case.id)) or 0) + 1
    step = Step(id=f"{case.id}-{seq:03d}", case_id=case.id, seq=seq, kind=kind, stage=stage,
                disposition_id=disposition.id if disposition else None, step_index=index, step_key=key, title=title,
                body=body, org_id=org_id, status=StepStatus.OPEN, opened_at=work.now,
                due_at=step_due(kind.value, work.now, _phase_due(work, case, kind)), reopened_from=reopened_from)
    work.session.add(step)
    work.session.flush()
    return step


def _phase_due(work: Work, case: Case, kind: StepKind) -> dt.datetime | None:
    if case.campaign_id is None:
        return None
    phase = CampaignPhase.SEARCH if kind is StepKind.SEARCH else CampaignPhase.DISPOSE
    return work.session.scalar(select(CampaignPhaseRow.due_at).where(CampaignPhaseRow.campaign_id == case.campaign_id,
                                                                     CampaignPhaseRow.phase == phase))


def close_step(work: Work, step: Step, status: StepStatus) -> None:
    step.status = status
    step.closed_at = work.now
    step.decided_by = work.actor_id


def set_column(work: Work, case: Case, column: Column) -> None:
    if case.column is not column:
        case.column = column
        work.session.add(CaseColumn(case_id=case.id, column=column, since=work.now))


def proc_of(row: DispositionRow) -> Procedure:
    return procedure(row.code, row.catalogue_version)


def case_summary(work_or_session: Work | Session, case: Case, view: type[S] = CaseSummary,  # type: ignore[assignment]
                 **fields: Any) -> S:
    """The answer every case action returns: where the case stands and what is open now, as `view` (a CaseSummary
    with the action's own `fields`)."""
    session = work_or_session.session if isinstance(work_or_session, Work) else work_or_session
    step = open_step_of(session, case.id)
    return view(case_id=case.id, state=case.state.value, state_label=case.state.label, column=case.column.value,
                version=case.version, open_step=step_view(step) if step else None, **fields)


def step_view(step: Step) -> StepView:
    return StepView(step_id=step.id, kind=step.kind.value, title=step.title, body=step.body.value,
                    body_label=step.body.label, org_id=step.org_id, stage=step.stage.value if step.stage else None,
                    step_index=step.step_index, opened_at=step.opened_at.isoformat(),
                    due_at=step.due_at.isoformat() if step.due_at else None)


def campaign_of(work: Work, campaign_id: str) -> Campaign:
    campaign = work.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("排查活动", campaign_id)
    return campaign


def require_state(case: Case, *states: CaseState, doing: str, rule: str) -> None:
    if case.state not in states:
        raise Refusal("wrong_state", f"案件当前状态为“{case.state.label}”，不能{doing}", rule, state=case.state.value)
