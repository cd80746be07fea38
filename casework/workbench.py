"""The acting person's desk: their inbox with filters, the case page with exactly the actions the rules allow now, the
steps a meeting can decide together, the campaigns they see and a campaign's dashboard. Every query takes the actor
and answers only within their tree (casework.access)."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any, cast

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models.actor import Actor
from models.catalogue import procedure
from models.codes import Action, CaseState, Stage, StepKind, StepStatus
from models.errors import NotFound
from models.rules import eligible
from models.store import Campaign, CampaignPhaseRow, Case, DispositionRow, Member, Organisation, Step
from models.record_views import CaseRecord, Dashboard
from models.timing import LOCAL_TZ, local_date
from models.views import CampaignLine, InboxItem, InboxView

from .access import acting_orgs, mask_id_number, mask_phone, require_case, visible_orgs
from .cases import facts_in, open_step_of
from .queries import dossier
from .uow import person_roles

INBOX_PAGE = 100  # a phone shows a page of work at a time; the filters narrow it


# ---------------------------------------------------------------- inbox

def _case_filters(campaign_id: str | None, branch_id: str | None) -> list[ColumnElement[bool]]:
    """The filters a list of work or of cases offers: one campaign, one branch."""
    where: list[ColumnElement[bool]] = []
    if campaign_id:
        where.append(Case.campaign_id == campaign_id)
    if branch_id:
        where.append(Case.branch_id == branch_id)
    return where


def inbox_for(session: Session, actor: Actor, now: dt.datetime, *, campaign_id: str | None = None,
              branch_id: str | None = None, kind: str | None = None, limit: int = INBOX_PAGE) -> InboxView:
    """What waits on the actor's organisations, due first, late marked; with the counts the navigation shows."""
    orgs = acting_orgs(session, actor)
    where = [Step.org_id.in_(orgs), Step.status == StepStatus.OPEN, *_case_filters(campaign_id, branch_id)]
    if kind:
        where.append(Step.kind == StepKind(kind))  # type: ignore[call-arg, arg-type]  # lookup by value
    base = select(Step.id).join(Case, Case.id == Step.case_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    late = session.scalar(select(func.count()).select_from(base.where(Step.due_at < now).subquery())) or 0
    rows = session.execute(
        select(Step.id, Step.case_id, Step.kind, Step.title, Step.body, Step.org_id, Step.opened_at, Step.due_at,
               Case.version, Case.campaign_id, Case.branch_id, Member.name, Organisation.name.label("branch_name"))
        .join(Case, Case.id == Step.case_id).join(Member, Member.id == Case.member_id)
        .join(Organisation, Organisation.id == Case.branch_id)
        .where(*where).order_by(Step.due_at.is_(None), Step.due_at, Step.id).limit(limit)).all()
    items = [InboxItem(
        step_id=r.id, case_id=r.case_id, member_name=r.name, kind=r.kind.value, kind_label=r.kind.label,
        title=r.title, body=r.body.value, body_label=r.body.label, org_id=r.org_id, branch_id=r.branch_id,
        branch_name=r.branch_name, campaign_id=r.campaign_id, opened_at=r.opened_at, due_at=r.due_at,
        late=bool(r.due_at and r.due_at < now), days_left=(r.due_at - now).days if r.due_at else None,
        case_version=r.version,
    ) for r in rows]
    return InboxView(items=items, total=total, late=late, shown=len(items))


def inbox_count(session: Session, actor: Actor, now: dt.datetime) -> tuple[int, int]:
    """(open, late) for the navigation badge: two index-backed counts."""
    orgs = acting_orgs(session, actor)
    where = [Step.org_id.in_(orgs), Step.status == StepStatus.OPEN]
    total = session.scalar(select(func.count(Step.id)).where(*where)) or 0
    late = session.scalar(select(func.count(Step.id)).where(*where, Step.due_at < now)) or 0
    return total, late


def filter_choices(session: Session, actor: Actor) -> dict[str, list[tuple[str, str]]]:
    orgs = visible_orgs(session, actor)
    campaigns = session.execute(select(Campaign.id, Campaign.name)
                                .where(Campaign.org_id.in_(orgs) | Campaign.id.in_(
                                    select(Case.campaign_id).where(Case.branch_id.in_(orgs)).distinct()))
                                .order_by(Campaign.start_date.desc())).all()
    branches = session.execute(select(Organisation.id, Organisation.name)
                               .where(Organisation.id.in_(orgs), Organisation.kind == "branch")
                               .order_by(Organisation.name)).all()
    return {"campaigns": [(c.id, c.name) for c in campaigns], "branches": [(b.id, b.name) for b in branches],
            "kinds": [(k.value, k.label) for k in StepKind]}


# ---------------------------------------------------------------- the case page

def case_page(session: Session, actor: Actor, case_id: str, now: dt.datetime) -> CaseRecord:
    """The full-process record of one case, whole (the actor is entitled: the case is in their tree), and the
    actions the rules allow this actor now."""
    case = require_case(session, actor, case_id)
    record = dossier(session, case_id, now=now)
    return CaseRecord(**record, offers=offers(session, actor, case, now),
                      open_step=next((s for s in record["steps"] if s["status"] == StepStatus.OPEN.value), None))


def offers(session: Session, actor: Actor, case: Case, now: dt.datetime) -> dict[str, Any]:
    """Which forms to show. The actions check again when submitted: this only spares people forms they cannot use."""
    roles = person_roles(session, actor) if actor.person_id else {}
    step = open_step_of(session, case.id)
    facts = facts_in(session, case)
    chain_orgs = {case.branch_id, case.base_committee_id}
    out: dict[str, Any] = {}
    at_step = step is not None and step.org_id in roles
    if step is not None and at_step:
        if step.kind is StepKind.SEARCH and case.search_stage is not None:
            out["attempt"] = {"step_id": step.id, "stage": case.search_stage.value,
                              "stage_label": case.search_stage.label,
                              "last_stage": case.search_stage is list(Stage)[-1]}
        elif step.kind is StepKind.PROPOSAL:
            out["propose"] = {"step_id": step.id, "choices": [(p.code.value, p.title, p.when)
                                                              for p in eligible(facts, now)]}
        elif step.kind is StepKind.REVIEW:
            spec = _spec_of(session, step)
            decides = any(r.may_decide for r in roles.get(step.org_id, ()))
            out["decide"] = {"step_id": step.id, "title": step.title, "may_decide": decides,
                             "needs_signature": bool(spec and spec.needs_signature),
                             "needs_guide": bool(spec and spec.needs_guide),
                             "vote": bool(spec and spec.action is Action.VOTE)}
        elif step.kind is StepKind.JUDGEMENT:
            out["judge"] = {"step_id": step.id}
    branch_side = bool(chain_orgs & set(roles))
    if branch_side and case.state is CaseState.SUSPENDED:
        restore = [c for c in eligible(facts, now) if c.code.value == "restore_membership"]
        if restore:
            out["restore"] = True
    if branch_side and case.disposition_id:
        row = session.get(DispositionRow, case.disposition_id)
        if row is not None and row.status in ("in_progress", "effective"):
            out["material"] = {"disposition_id": row.id, "title": row.code.label,
                               "required": list(procedure(row.code, row.catalogue_version).materials)}
    if branch_side and case.state.is_open:
        out["refer"] = True
    return out


def _spec_of(session: Session, step: Step):
    if step.disposition_id is None or step.step_index is None:
        return None
    row = cast(DispositionRow, session.get(DispositionRow, step.disposition_id))  # foreign key
    return procedure(row.code, row.catalogue_version).steps[step.step_index]


# ---------------------------------------------------------------- lists: masked

def member_line(member: Member) -> dict[str, Any]:
    """A member as lists show them: ID number and phone masked (whole only on the case page)."""
    return {"member_id": member.id, "name": member.name, "id_number": mask_id_number(member.id_number),
            "phone": mask_phone(member.phone)}


def cases_list(session: Session, actor: Actor, *, campaign_id: str | None = None, branch_id: str | None = None,
               state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    orgs = visible_orgs(session, actor)
    where: list[ColumnElement[bool]] = [Case.branch_id.in_(orgs), *_case_filters(campaign_id, branch_id)]
    if state:
        where.append(Case.state == CaseState(state))  # type: ignore[call-arg, arg-type]  # lookup by value
    rows = session.execute(select(Case, Member, Organisation.name).join(Member, Member.id == Case.member_id)
                           .join(Organisation, Organisation.id == Case.branch_id).where(*where)
                           .order_by(Case.id).limit(limit)).all()
    return [{"case_id": c.id, "state": c.state.value, "state_label": c.state.label, "branch_name": bname,
             **member_line(m)} for c, m, bname in rows]


# ---------------------------------------------------------------- a meeting's batch

def batch_groups(session: Session, actor: Actor, now: dt.datetime) -> list[dict[str, Any]]:
    """Open review steps at the actor's organisations, grouped by the kind of step (its title and level): one group
    is what one meeting decides together."""
    orgs = acting_orgs(session, actor)
    rows = session.execute(select(Step.title, Step.body, Step.org_id, func.count(Step.id))
                           .where(Step.org_id.in_(orgs), Step.status == StepStatus.OPEN,
                                  Step.kind == StepKind.REVIEW)
                           .group_by(Step.title, Step.body, Step.org_id).order_by(Step.title)).all()
    return [{"title": t, "body": b.value, "body_label": b.label, "org_id": o, "count": n} for t, b, o, n in rows]


def batch_steps(session: Session, actor: Actor, *, title: str, org_id: str, now: dt.datetime) -> list[dict]:
    if org_id not in acting_orgs(session, actor):
        return []
    rows = session.execute(select(Step.id, Step.case_id, Step.due_at, Case.version, Member.name,
                                  Organisation.name.label("branch_name"))
                           .join(Case, Case.id == Step.case_id).join(Member, Member.id == Case.member_id)
                           .join(Organisation, Organisation.id == Case.branch_id)
                           .where(Step.org_id == org_id, Step.title == title, Step.status == StepStatus.OPEN,
                                  Step.kind == StepKind.REVIEW).order_by(Step.due_at, Step.id)).all()
    return [{"step_id": r.id, "case_id": r.case_id, "member_name": r.name, "branch_name": r.branch_name,
             "due_at": r.due_at, "late": bool(r.due_at and r.due_at < now), "case_version": r.version} for r in rows]


def member_names_of_steps(session: Session, actor: Actor, step_ids: list[str]) -> dict[str, str]:
    """The members a meeting's steps are about, open or not (a step decided meanwhile is still reported by name)."""
    orgs = visible_orgs(session, actor)
    rows = session.execute(select(Step.id, Member.name).join(Case, Case.id == Step.case_id)
                           .join(Member, Member.id == Case.member_id)
                           .where(Step.id.in_(step_ids[:500]), Case.branch_id.in_(orgs))).tuples().all()
    return dict(rows)


# ---------------------------------------------------------------- campaigns

def campaigns_for(session: Session, actor: Actor) -> list[CampaignLine]:
    orgs = visible_orgs(session, actor)
    rows = session.execute(select(Campaign, func.count(Case.id)).outerjoin(Case, Case.campaign_id == Campaign.id)
                           .where(Campaign.org_id.in_(orgs)).group_by(Campaign.id)
                           .order_by(Campaign.start_date.desc())).all()
    return [CampaignLine(campaign_id=c.id, name=c.name, org_id=c.org_id, start_date=c.start_date, cases=n)
            for c, n in rows]


def dashboard(session: Session, actor: Actor, campaign_id: str, now: dt.datetime) -> Dashboard:
    """Phases with deadlines, progress per branch (cases per stage and per disposition), what is late, and the
    burndown of open cases day by day."""
    orgs = visible_orgs(session, actor)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or not (campaign.org_id in orgs or session.scalar(
            select(func.count(Case.id)).where(Case.campaign_id == campaign_id, Case.branch_id.in_(orgs)))):
        raise NotFound("排查活动", campaign_id)
    where = [Case.campaign_id == campaign_id, Case.branch_id.in_(orgs)]
    # Counted by the database: a campaign of 10,000 cases comes back as a few dozen rows.
    per_branch: dict[str, Counter] = defaultdict(Counter)
    for branch, state, stage, n in session.execute(
            select(Case.branch_id, Case.state, Case.search_stage, func.count(Case.id)).where(*where)
            .group_by(Case.branch_id, Case.state, Case.search_stage)):
        key = stage.label if state is CaseState.SEARCHING and stage else state.label
        per_branch[branch][key] += n
        per_branch[branch]["合计"] += n
    dispositions: dict[str, Counter] = defaultdict(Counter)
    for branch, code, n in session.execute(
            select(Case.branch_id, DispositionRow.code, func.count(Case.id))
            .join(DispositionRow, DispositionRow.id == Case.disposition_id).where(*where)
            .group_by(Case.branch_id, DispositionRow.code)):
        dispositions[branch][code.label] += n
    opened, closed = _per_local_day(session, Case.opened_at, where), _per_local_day(session, Case.closed_at, where)
    branch_names: dict[str, str] = dict(session.execute(select(Organisation.id, Organisation.name)
                                        .where(Organisation.id.in_(list(per_branch)))).tuples().all())
    late = session.execute(select(Step.org_id, func.count(Step.id)).join(Case, Case.id == Step.case_id)
                           .where(*where, Step.status == StepStatus.OPEN, Step.due_at < now)
                           .group_by(Step.org_id)).all()
    late_names: dict[str, str] = dict(session.execute(select(Organisation.id, Organisation.name)
                                      .where(Organisation.id.in_([o for o, _ in late]))).tuples().all())
    phases = session.scalars(select(CampaignPhaseRow).where(CampaignPhaseRow.campaign_id == campaign_id)
                             .order_by(CampaignPhaseRow.due_at)).all()
    columns = [s.label for s in Stage] + [s.label for s in CaseState if s is not CaseState.SEARCHING] + ["合计"]
    return Dashboard.model_validate({
        "campaign": {"campaign_id": campaign.id, "name": campaign.name, "start_date": campaign.start_date},
        "phases": [{"phase": p.phase.value, "label": p.phase.label, "due_at": p.due_at, "passed": p.due_at < now}
                   for p in phases],
        "columns": [c for c in columns if any(b[c] for b in per_branch.values())],
        "branches": [{"branch_id": b, "name": branch_names.get(b, b), "counts": dict(per_branch[b]),
                      "dispositions": dict(dispositions[b])} for b in sorted(per_branch, key=lambda b: branch_names.get(b, b))],
        "late": [{"org_id": o, "name": late_names.get(o, o), "count": n} for o, n in late],
        "burndown": burndown(opened, closed, now),
        "total": sum(opened.values()), "open": sum(opened.values()) - sum(closed.values()),
    })


def burndown(opened: dict[dt.date, int], closed: dict[dt.date, int], now: dt.datetime) -> list[tuple[str, int]]:
    """Open cases at the end of each local day from the first opening to today (at most 120 points, evenly), from
    the number opened and closed on each day."""
    if not opened:
        return []
    first, last = min(opened), local_date(now)
    days = max((last - first).days, 0) + 1
    step = max(1, -(-days // 120))
    events = sorted({*opened, *closed})
    points, k, open_now, day = [], 0, 0, first
    while True:
        while k < len(events) and events[k] <= day:
            open_now += opened.get(events[k], 0) - closed.get(events[k], 0)
            k += 1
        points.append((day.isoformat(), open_now))
        if day >= last:
            return points
        day = min(day + dt.timedelta(days=step), last)  # the last point is always today


def _per_local_day(session: Session, column, where: list) -> dict[dt.date, int]:
    """How many cases have `column` on each day in Beijing, counted by the database."""
    if session.get_bind().dialect.name == "postgresql":
        day = func.date(func.timezone(LOCAL_TZ.key, column))
    else:  # SQLite keeps UTC as text
        day = func.date(column, "+8 hours")
    rows = session.execute(select(day, func.count()).where(*where, column.is_not(None)).group_by(day)).all()
    return {dt.date.fromisoformat(str(d)[:10]): n for d, n in rows}
