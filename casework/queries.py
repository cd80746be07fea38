"""Reading the store: inboxes, the full-process record of a case (one person, one file), the roster of lost-contact
members, the register of members still unreachable, the work ledger, the statistics table, the out-of-control list."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models.catalogue import FORM_BOXES, Column, Contact, procedure
from models.codes import Body, StepKind, StepStatus
from models.errors import NotFound
from models.idcard import InvalidId, parse_resident_id
from models.protect import lookup_hash
from models.statistics import HEADINGS, LETTERS, check_table, counts_on, table_from_columns
from models.store import (Attempt, AuditEvent, Case, CaseColumn, DispositionRow, FollowUp, Material, Member,
                          Organisation, Person, PersonRole, Referral, Step)
from models.text import TextProblem, id_number_text, mask_id_number, shown
from models.timing import is_out_of_control, local_date, lost_contact_duration, utcnow
from models.record_views import (CaseList, Checklist, ChecklistItem, Dossier, Ledger, LedgerRow, MemberView, OutOfControl, Register,
                                 RegisterRow)
from models.views import Inbox, StatisticsTable, StatisticsView, WaitingLine

from .orgs import descendants, get_org


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# ---------------------------------------------------------------- look-ups for the interfaces

def top_organisations(session: Session) -> list[str]:
    """The roots of the organisation tree (what a listing covers when no organisation is named)."""
    return list(session.scalars(select(Organisation.id).where(Organisation.parent_id.is_(None))
                                .order_by(Organisation.id)))


def org_scope(session: Session, org_id: str | None) -> list[str]:
    """The organisation asked for (refused when unknown), or every root of the tree when none is named."""
    if org_id:
        get_org(session, org_id)
        return [org_id]
    return top_organisations(session)


def member_id_of(session: Session, text: str) -> str:
    """A member's stored id, given either that id or the resident ID number (which is what a person knows)."""
    text = shown(text, 64).strip()
    if session.get(Member, text) is not None:
        return text
    try:  # NFKC and the 18-character form: full-width digits or a legacy 15-digit number find the same member
        digits = id_number_text(text)
    except TextProblem:
        digits = ""
    try:
        id18 = parse_resident_id(digits).to_18() if len(digits) in (15, 18) else None
    except InvalidId:
        id18 = None
    found = session.scalar(select(Member.id).where(Member.id_hash == lookup_hash(id18))) if id18 else None
    if found is None:  # an ID number is never echoed whole
        raise NotFound("党员", mask_id_number(text) if len(digits) in (15, 18) else text)
    return found


# ---------------------------------------------------------------- who a step waits on, and the inbox

@dataclass(frozen=True)
class Waiting:
    """An open step and the people it waits on (see `waits_on`)."""

    step_id: str
    case_id: str
    member_name: str
    kind: StepKind
    title: str
    body: Body
    org_id: str
    org_name: str
    opened_at: dt.datetime
    due_at: dt.datetime | None
    case_version: int
    people: tuple[str, ...]


def waits_on(session: Session, *, person_ids: list[str] | None = None, org_ids: list[str] | None = None,
             step_ids: list[str] | None = None, due_before: dt.datetime | None = None) -> list[Waiting]:
    """The one rule of who an open step waits on, used by the inbox, the digest, the reminders and the escalations:
    every person with a role at the step's organisation (review steps included: the whole committee sees what it
    must decide, whoever signs). Filtered by the people, the organisations or the steps given (each optional);
    oldest due first. Only the columns shown are loaded: a committee's inbox in a campaign holds hundreds of steps."""
    q = (select(Step.id, Step.case_id, Member.name, Step.kind, Step.title, Step.body, Step.org_id,
                Organisation.name.label("org_name"), Step.opened_at, Step.due_at, Case.version,
                PersonRole.person_id)
         .join(Case, Case.id == Step.case_id).join(Member, Member.id == Case.member_id)
         .join(Organisation, Organisation.id == Step.org_id)
         .outerjoin(PersonRole, PersonRole.org_id == Step.org_id)
         .where(Step.status == StepStatus.OPEN))
    if person_ids is not None:
        q = q.where(PersonRole.person_id.in_(person_ids))
    if org_ids is not None:
        q = q.where(Step.org_id.in_(org_ids))
    if step_ids is not None:
        q = q.where(Step.id.in_(step_ids))
    if due_before is not None:
        q = q.where(Step.due_at.is_not(None), Step.due_at <= due_before)
    found: dict[str, list] = {}
    for r in session.execute(q.order_by(Step.due_at, Step.id)):
        entry = found.get(r.id)
        if entry is None:
            found[r.id] = entry = [r, set()]
        if r.person_id:
            entry[1].add(r.person_id)
    return [Waiting(r.id, r.case_id, r.name, r.kind, r.title, r.body, r.org_id, r.org_name, r.opened_at, r.due_at,
                    r.version, tuple(sorted(people))) for r, people in found.values()]


def inbox(session: Session, *, now: dt.datetime, person_id: str | None = None,
          org_id: str | None = None) -> list[WaitingLine]:
    """What waits on an organisation (or on a person: `waits_on`), oldest due first, with its age and whether it is
    late."""
    # An unknown person or organisation is refused, not answered with an empty inbox that reads as "nothing waits".
    if person_id:
        if session.get(Person, person_id) is None:
            raise NotFound("人员", person_id)
        rows = waits_on(session, person_ids=[person_id])
    else:
        rows = waits_on(session, org_ids=[get_org(session, cast(str, org_id)).id])  # get_org refuses None
    return [WaitingLine(
        step_id=r.step_id, case_id=r.case_id, member_name=r.member_name, kind=r.kind.value, title=r.title,
        body=r.body.value, body_label=r.body.label, org_id=r.org_id, opened_at=r.opened_at.isoformat(),
        due_at=_iso(r.due_at), age_days=(now - r.opened_at).days, late=bool(r.due_at and r.due_at < now),
        case_version=r.case_version,
    ) for r in rows]


def inbox_of(session: Session, *, now: dt.datetime, person_id: str | None = None,
             org_id: str | None = None) -> Inbox:
    """`inbox` with its counts: what waits on a person, or on an organisation when one is named."""
    items = inbox(session, now=now, org_id=org_id) if org_id else inbox(session, now=now, person_id=person_id)
    return Inbox(person_id=None if org_id else person_id, org_id=org_id, now=now.isoformat(), count=len(items),
                 late=sum(1 for i in items if i.late), items=items)


# ---------------------------------------------------------------- the full-process record

def dossier(session: Session, case_id: str, *, now: dt.datetime) -> dict[str, Any]:
    """Everything on record for one case: the member, every search attempt, every step with who decided what and
    when, dispositions, materials, referrals, follow-ups and the audit trail; and the boxes of the form
    失联党员查找处置全程纪实表 filled from them. `now` ends the lost-contact time of a case whose search goes on."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("案件", case_id)
    member = session.get(Member, case.member_id)
    branch = session.get(Organisation, case.branch_id)
    people: dict[str | None, str | None] = {p.id: p.name for p in session.scalars(select(Person))}
    steps = session.scalars(select(Step).where(Step.case_id == case_id).order_by(Step.seq)).all()
    attempts = session.scalars(select(Attempt).where(Attempt.case_id == case_id).order_by(Attempt.attempted_at,
                                                                                          Attempt.id)).all()
    dispositions = session.scalars(select(DispositionRow).where(DispositionRow.case_id == case_id)
                                   .order_by(DispositionRow.seq)).all()
    materials = session.scalars(select(Material).where(Material.case_id == case_id).order_by(Material.id)).all()
    referrals = session.scalars(select(Referral).where(Referral.case_id == case_id).order_by(Referral.id)).all()
    followups = session.scalars(select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.due_at)).all()
    audit = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all()
    end = case.search_ended_on or local_date(case.closed_at or now)
    return {
        "case_id": case.id, "campaign_id": case.campaign_id, "state": case.state.value,
        "state_label": case.state.label, "column": case.column.value, "version": case.version,
        "catalogue_version": case.catalogue_version, "flow_run_id": case.flow_run_id,
        "member": case_member_view(case, cast(Member, member), branch),  # foreign key
        "lost_contact_time": lost_contact_duration(case.last_contact_on, end),
        "lost_reasons": case.lost_reasons, "conduct": case.conduct,
        "contact": case.contact.value if case.contact else None,
        "suspended_at": _iso(case.suspended_at),
        "attempts": [{
            "stage": a.stage.value, "stage_label": a.stage.label, "method": a.method, "description": a.description,
            "attempted_at": _iso(a.attempted_at), "witness": a.witness, "remark": a.remark,
            "outcome": a.outcome.value, "outcome_label": a.outcome.label,
            "recorded_by": people.get(a.recorded_by, a.recorded_by),
        } for a in attempts],
        "steps": [{
            "step_id": s.id, "kind": s.kind.value, "title": s.title, "body": s.body.value, "body_label": s.body.label,
            "org_id": s.org_id, "status": s.status.value, "status_label": s.status.label,
            "opened_at": _iso(s.opened_at), "closed_at": _iso(s.closed_at), "due_at": _iso(s.due_at),
            "decided_by": people.get(s.decided_by, s.decided_by) if s.decided_by else None,
            "verdict": s.verdict.value if s.verdict else None, "opinion": s.opinion,
            "member_signed": s.member_signed, "signature_note": s.signature_note, "guide": s.guide,
            "vote": s.vote, "disposition_id": s.disposition_id, "step_key": s.step_key,
            "reopened_from": s.reopened_from,
        } for s in steps],
        "dispositions": [{
            "disposition_id": d.id, "code": d.code.value, "title": d.code.label, "status": d.status,
            "grounds": d.grounds, "params": d.params, "proposed_at": _iso(d.proposed_at),
            "effective_at": _iso(d.effective_at), "completed_at": _iso(d.completed_at),
            "materials_required": list(procedure(d.code, d.catalogue_version).materials),
        } for d in dispositions],
        "materials": [{"disposition_id": m.disposition_id, "kind": m.kind, "reference": m.reference,
                       "filed_by": people.get(m.filed_by, m.filed_by), "filed_at": _iso(m.filed_at)}
                      for m in materials],
        "referrals": [{"target": r.target.value, "target_label": r.target.label, "summary": r.summary,
                       "referred_at": _iso(r.referred_at)} for r in referrals],
        "followups": [{"followup_id": f.id, "kind": f.kind.value, "kind_label": f.kind.label,
                       "due_at": _iso(f.due_at), "status": f.status.value, "note": f.note} for f in followups],
        "form": form_boxes(case, steps, people),
        "audit": [{"at": _iso(e.at), "actor": people.get(e.actor_id, e.actor_id), "action": e.action,
                   "payload": e.payload} for e in audit],
    }


def case_record(session: Session, case_id: str, *, now: dt.datetime) -> Dossier:
    """`dossier` as the interfaces show it (`cases show`)."""
    return Dossier.model_validate(dossier(session, case_id, now=now))


def form_boxes(case: Case, steps, people: dict[str | None, str | None]) -> dict[str, list[dict[str, Any]]]:
    """The review boxes of the full-process record, each with every decision that filled it (a rejected and then
    re-decided step shows both, in order)."""
    boxes: dict[str, list[dict[str, Any]]] = {key: [] for key in FORM_BOXES}
    if case.conduct:
        boxes["investigation"].append({"text": case.conduct, "by": None, "at": None})
    for s in steps:
        if s.kind is not StepKind.REVIEW or s.status is StepStatus.OPEN or s.step_index is None:
            continue
        box = _box_of(s)
        if box:
            text = s.opinion or ""
            if s.vote:
                text += (f"（应到{s.vote['entitled']}人，实到{s.vote['present']}人，赞成{s.vote['in_favour']}票，"
                         f"反对{s.vote['against']}票，弃权{s.vote['abstaining']}票）")
            if s.signature_note:
                text += f"（本人未签字：{s.signature_note}）"
            boxes[box].append({"text": text, "title": s.title, "verdict": s.verdict.label if s.verdict else None,
                               "by": people.get(s.decided_by, s.decided_by), "at": _iso(s.closed_at)})
    return boxes


def _box_of(step: Step) -> str | None:
    session = cast(Session, Session.object_session(step))  # a step read from the store
    row = cast(DispositionRow, session.get(DispositionRow, step.disposition_id))  # only steps of a disposition come here
    return procedure(row.code, row.catalogue_version).steps[cast(int, step.step_index)].form_box


def case_member_view(case: Case, member: Member, branch: Organisation | None = None) -> dict[str, Any]:
    """The member as a case's papers show them: the last contact is the one the case opened on (the member's own
    date moves on when the search finds them), so the lost-contact time runs from it."""
    return {**member_view(member, branch), "last_contact_on": _iso(case.last_contact_on)}


def member_view(member: Member, branch: Organisation | None = None) -> dict[str, Any]:
    return {
        "member_id": member.id, "name": member.name, "gender": member.gender.label, "ethnicity": member.ethnicity,
        "birth_date": _iso(member.birth_date), "joined_on": _iso(member.joined_on), "id_number": member.id_number,
        "phone": member.phone, "position": member.position,
        "occupation": member.occupation.value if member.occupation else None,
        "occupation_display": member.occupation.display if member.occupation else None,
        "kind": member.kind.label, "last_contact_on": _iso(member.last_contact_on),
        "situation": member.situation.value if member.situation else None,
        "situation_display": member.situation.display if member.situation else None,
        "backup_contact": member.backup_contact, "remarks": member.remarks,
        "branch_id": member.branch_id, "branch_name": branch.name if branch else None,
        "org_category": branch.category.value if branch and branch.category else None,
        "org_category_display": branch.category.display if branch and branch.category else None,
    }


# ---------------------------------------------------------------- lists for forms

def _scope(session: Session, org_id: str, campaign_id: str | None) -> list:
    """The cases under an organisation (refused when unknown), as conditions on Case: queries filter by these
    instead of listing case ids (no IN list that grows with the cases)."""
    where: list[ColumnElement[bool]] = [Case.branch_id.in_(descendants(session, org_id))]
    if campaign_id:
        where.append(Case.campaign_id == campaign_id)
    return where


def _cases_in(session: Session, where: list):
    q = select(Case, Member, Organisation).join(Member, Member.id == Case.member_id) \
        .join(Organisation, Organisation.id == Case.branch_id).where(*where)
    return session.execute(q.order_by(Organisation.id, Case.id)).all()


def _cases_under(session: Session, org_id: str, campaign_id: str | None):
    return _cases_in(session, _scope(session, org_id, campaign_id))


def _shown_dispositions(session: Session, where: list) -> dict[str, DispositionRow]:
    """For each case in scope, the disposition its ledger row shows: the one in progress, else the latest. One
    query for all the cases, not one per case."""
    latest: dict[str, DispositionRow] = {}
    current: dict[str, DispositionRow] = {}
    for row, current_id in session.execute(
            select(DispositionRow, Case.disposition_id).join(Case, Case.id == DispositionRow.case_id).where(*where)
            .order_by(DispositionRow.case_id, DispositionRow.seq)):
        latest[row.case_id] = row  # in order of seq, so the last one stays
        if row.id == current_id:
            current[row.case_id] = row
    return {**latest, **current}


def ledger(session: Session, org_id: str, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """失联党员工作台账 [000 §6]: every lost-contact member with where their search and disposition stand. The roster
    of lost-contact members 失联党员名册 [002] prints the same rows with the codes of §2. Three queries whatever the
    number of cases (the tree, the cases with their members and branches, their dispositions)."""
    where = _scope(session, org_id, campaign_id)
    shown = _shown_dispositions(session, where)
    rows = []
    for case, member, branch in _cases_in(session, where):
        last = shown.get(case.id)
        rows.append({
            **case_member_view(case, member, branch), "case_id": case.id, "state": case.state.value,
            "state_label": case.state.label, "column": case.column.value,
            "search_stage": case.search_stage.label if case.search_stage else None,
            "contact": case.contact.label if case.contact else "查找中",
            "disposition": last.code.label if last else None, "disposition_status": last.status if last else None,
            "lost_contact_time": lost_contact_duration(case.last_contact_on, case.search_ended_on
                                                       or local_date(case.opened_at)),
        })
    return rows


def unreachable_register(session: Session, org_id: str, campaign_id: str | None = None) -> list[dict[str, Any]]:
    """经查找仍然无法取得联系党员登记表 [002]: members still unreachable after every stage of the search."""
    out = []
    for case, member, branch in _cases_under(session, org_id, campaign_id):
        if case.contact in (Contact.UNREACHABLE, Contact.SUSPENDED) and case.search_ended_on:
            out.append({**case_member_view(case, member, branch), "case_id": case.id, "column": case.column.value,
                        "state_label": case.state.label,
                        "lost_contact_time": lost_contact_duration(case.last_contact_on, case.search_ended_on)})
    return out


# ---------------------------------------------------------------- statistics

def statistics(session: Session, org_id: str, *, campaign_id: str | None = None,
               as_of: dt.datetime | None = None) -> dict[str, Any]:
    """The table A-X for every case under an organisation, as of a moment (each case in the column it stood in
    then). Built from leaf columns, so the six relations hold by construction."""
    where = _scope(session, org_id, campaign_id)
    day = local_date(as_of or utcnow())
    # A pocket case counts only once its member has been out of contact six months (models.statistics.counts_on).
    uncounted = {cid for cid, since in session.execute(
        select(Case.id, Case.counted_from).where(*where, Case.counted_from > day)) if not counts_on(since, day)}
    if as_of is None:
        columns = [col for cid, col in session.execute(select(Case.id, Case.column).where(*where))
                   if cid not in uncounted]
    else:
        history: dict[str, Column] = {}
        for cid, col in session.execute(
                select(CaseColumn.case_id, CaseColumn.column).join(Case, Case.id == CaseColumn.case_id)
                .where(*where, CaseColumn.since <= as_of).order_by(CaseColumn.since, CaseColumn.id)):
            history[cid] = col  # in order of time, so each case keeps the column it stood in at as_of
        columns = [col for cid, col in history.items() if cid not in uncounted]
    table = table_from_columns(columns)
    return {"org_id": org_id, "campaign_id": campaign_id, "as_of": _iso(as_of), "table": table,
            "headings": HEADINGS}


def out_of_control_members(session: Session, org_id: str, as_of: dt.date) -> list[dict[str, Any]]:
    """失控党员名单 [002 measure 2]: away more than a month without reporting to the branch."""
    members = session.scalars(select(Member).where(Member.branch_id.in_(descendants(session, org_id)),
                                                   Member.away_since.is_not(None))).all()
    return [member_view(m) for m in members if is_out_of_control(m.away_since, m.reported_to_branch, as_of)]


# ---------------------------------------------------------------- the same, as the interfaces show them

def ledger_of(session: Session, org_ids: list[str], campaign_id: str | None = None) -> Ledger:
    rows = [row for o in org_ids for row in ledger(session, o, campaign_id)]
    return Ledger(org_ids=org_ids, campaign_id=campaign_id, count=len(rows),
                  rows=[LedgerRow.model_validate(r) for r in rows])


def case_list(ledger_: Ledger, state: str | None = None) -> CaseList:
    """`cases list`: the ledger's rows, of one state if named."""
    rows = [r for r in ledger_.rows if not state or r.state == state]
    return CaseList(org_ids=ledger_.org_ids, campaign_id=ledger_.campaign_id, state=state, count=len(rows), cases=rows)


def checklist(session: Session, case_id: str, *, now: dt.datetime) -> Checklist:
    """The materials of the case's disposition in progress (or in effect), numbered, filed or missing."""
    d = dossier(session, case_id, now=now)
    current = next((x for x in reversed(d["dispositions"]) if x["status"] in ("in_progress", "effective")), None)
    if current is None:
        return Checklist(case_id=case_id, materials=[], missing=[])
    filed = {m["kind"]: m for m in d["materials"] if m["disposition_id"] == current["disposition_id"]}
    items = [ChecklistItem(number=i, kind=k, filed=k in filed, reference=filed.get(k, {}).get("reference"))
             for i, k in enumerate(current["materials_required"], start=1)]
    return Checklist(case_id=case_id, disposition_id=current["disposition_id"], disposition=current["code"],
                     title=current["title"], materials=items, missing=[i.kind for i in items if not i.filed])


def register_of(session: Session, org_ids: list[str], campaign_id: str | None = None) -> Register:
    rows = [row for o in org_ids for row in unreachable_register(session, o, campaign_id)]
    return Register(org_ids=org_ids, campaign_id=campaign_id, count=len(rows),
                    rows=[RegisterRow.model_validate(r) for r in rows])


def out_of_control_of(session: Session, org_id: str, as_of: dt.date) -> OutOfControl:
    members = [MemberView.model_validate(m) for m in out_of_control_members(session, org_id, as_of)]
    return OutOfControl(org_id=org_id, as_of=as_of.isoformat(), count=len(members), members=members)


def statistics_view(session: Session, org_id: str, *, campaign_id: str | None = None,
                    as_of: dt.datetime | None = None) -> StatisticsView:
    return StatisticsView.model_validate(statistics(session, org_id, campaign_id=campaign_id, as_of=as_of))


def statistics_table(session: Session, org_ids: list[str], *, campaign_id: str | None = None,
                     as_of: dt.datetime | None = None) -> StatisticsTable:
    """The table summed over several organisations (each counted under its own tree), its relations checked."""
    results = [statistics(session, o, campaign_id=campaign_id, as_of=as_of) for o in org_ids]
    table = {letter: sum(r["table"][letter] for r in results) for letter in LETTERS}
    return StatisticsTable(org_ids=org_ids, campaign_id=campaign_id, as_of=_iso(as_of), table=table,
                           headings=HEADINGS, problems=check_table(table))
