"""Who is told what, and when: the announcement of an opened step, the daily reminder and escalation sweep, and the
daily digest. Each function reads the store, closes its session, and only then sends (see sending.py): Apprise
never runs inside a store transaction.

Dedupe keys (one message each, whatever the number of calls):
  open:{step}:{person}                 the step was opened
  remind:{step}:{person}:{local day}   due within `remind_before_days`, or overdue
  escalate:{step}:{person}:{local day} overdue by more than `escalate_after_days`; to the parent organisation's deciders
  digest:{person}:{local day}          everything waiting on the person"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import StepKind, StepStatus
from models.errors import NotFound
from models.store import Case, Member, Organisation, Person, PersonRole, Step
from models.timing import as_utc, local_date

from .channels import UrlSource, person_urls
from .render import last_day, render
from .sending import Counts, Message, StoreLike, send_all

MAX_DIGEST_ITEMS = 30


# ---------------------------------------------------------------- recipients

def recipients(session: Session, org_id: str, *, deciders_only: bool) -> list[Person]:
    """The active people with a role at the organisation; with `deciders_only`, those whose role there may decide
    (for review steps, and for escalations)."""
    rows = session.execute(select(Person, PersonRole.role).join(PersonRole, PersonRole.person_id == Person.id)
                           .where(PersonRole.org_id == org_id, Person.active.is_(True))).all()
    people = {p.id: p for p, role in rows if role.may_decide or not deciders_only}
    return [people[k] for k in sorted(people)]


def waits_on(session: Session, step: Step) -> list[Person]:
    """Who an open step waits on: the people of its organisation; only the deciders for a review step."""
    return recipients(session, step.org_id, deciders_only=step.kind is StepKind.REVIEW)


# ---------------------------------------------------------------- step facts

def _facts(step: Step, case: Case, member_name: str, org: Organisation, now: dt.datetime) -> dict[str, Any]:
    today = local_date(now)
    due = step.due_at
    day = last_day(due) if due else None
    return {
        "case_id": case.id, "member": member_name, "step_id": step.id, "step_title": step.title,
        "body_label": step.body.label, "org_id": org.id, "org_name": org.name,
        "opened_at": step.opened_at, "due_at": due,
        "overdue": bool(due and due <= now),
        "days_left": (day - today).days if day else None,
        "overdue_days": max(0, (today - day).days) if day else 0,
        "age_days": (now - step.opened_at).days,
    }


def _open_steps(session: Session, *where):
    return session.execute(
        select(Step, Case, Member.name, Organisation).join(Case, Case.id == Step.case_id)
        .join(Member, Member.id == Case.member_id).join(Organisation, Organisation.id == Step.org_id)
        .where(Step.status == StepStatus.OPEN, *where).order_by(Step.due_at, Step.id)).all()


# ---------------------------------------------------------------- announce

def announce_step(store: StoreLike, step_id: str, *, now: dt.datetime,
                  urls_for: UrlSource = person_urls) -> dict[str, Any]:
    """Tell the people an open step waits on that it is theirs. Idempotent per step and person; a step no longer
    open sends nothing. Returns {sent, failed, skipped, already}."""
    now = as_utc(now)
    with store.reading() as s:
        step = s.get(Step, step_id)
        if step is None:
            raise NotFound("待办", step_id)
        if step.status is not StepStatus.OPEN:
            return Counts(extra={"step_open": False}).as_dict()
        case = s.get(Case, step.case_id)
        member = s.get(Member, case.member_id)
        facts = _facts(step, case, member.name, s.get(Organisation, step.org_id), now)
        messages = []
        for person in waits_on(s, step):
            title, body = render("step_opened", **facts)
            messages.append(Message(key=f"open:{step.id}:{person.id}", kind="step_opened", person_id=person.id,
                                    title=title, body=body, urls=tuple(urls_for(person)), org_id=step.org_id,
                                    case_id=case.id, step_id=step.id))
    counts = send_all(store, messages, now=now)
    counts.extra["step_open"] = True
    return counts.as_dict()


# ---------------------------------------------------------------- reminders and escalations

def remind_late(store: StoreLike, *, now: dt.datetime, remind_before_days: int = 2, escalate_after_days: int = 3,
                urls_for: UrlSource = person_urls) -> dict[str, Any]:
    """The daily sweep over every open step with a deadline, in local (Asia/Shanghai) calendar days:
    - a reminder to the people the step waits on when its last day is at most `remind_before_days` away, or it is
      overdue — once per step, person and local day;
    - an escalation to the deciders of the organisation above the step's when it is overdue by more than
      `escalate_after_days` days — once per step, person and local day.
    Returns {sent, failed, skipped, already, steps, reminder: {...}, escalation: {...}}."""
    now = as_utc(now)
    today = local_date(now)
    horizon = now + dt.timedelta(days=remind_before_days + 2)  # a superset; the calendar test below decides
    reminders: list[Message] = []
    escalations: list[Message] = []
    with store.reading() as s:
        waiting: dict[tuple[str, bool], list[Person]] = {}
        orgs: dict[str, Organisation | None] = {}

        def people(org_id: str, deciders_only: bool) -> list[Person]:
            if (org_id, deciders_only) not in waiting:
                waiting[org_id, deciders_only] = recipients(s, org_id, deciders_only=deciders_only)
            return waiting[org_id, deciders_only]

        rows = _open_steps(s, Step.due_at.is_not(None), Step.due_at <= horizon)
        for step, case, member_name, org in rows:
            facts = _facts(step, case, member_name, org, now)
            if facts["overdue"] or facts["days_left"] <= remind_before_days:
                title, body = render("reminder", **facts)
                for person in people(step.org_id, step.kind is StepKind.REVIEW):
                    reminders.append(Message(
                        key=f"remind:{step.id}:{person.id}:{today.isoformat()}", kind="reminder",
                        person_id=person.id, title=title, body=body, urls=tuple(urls_for(person)),
                        org_id=step.org_id, case_id=case.id, step_id=step.id))
            if facts["overdue_days"] > escalate_after_days and org.parent_id:
                if org.parent_id not in orgs:
                    orgs[org.parent_id] = s.get(Organisation, org.parent_id)
                parent = orgs[org.parent_id]
                title, body = render("escalation", parent_name=parent.name, **facts)
                for person in people(parent.id, True):
                    escalations.append(Message(
                        key=f"escalate:{step.id}:{person.id}:{today.isoformat()}", kind="escalation",
                        person_id=person.id, title=title, body=body, urls=tuple(urls_for(person)),
                        org_id=parent.id, case_id=case.id, step_id=step.id))
        steps = len(rows)
    reminded = send_all(store, reminders, now=now)
    escalated = send_all(store, escalations, now=now)
    total = Counts()
    total.add(reminded)
    total.add(escalated)
    total.extra = {"steps": steps, "reminder": reminded.as_dict(), "escalation": escalated.as_dict()}
    return total.as_dict()


# ---------------------------------------------------------------- digests

def send_digests(store: StoreLike, *, now: dt.datetime, urls_for: UrlSource = person_urls) -> dict[str, Any]:
    """One digest per person and local day listing every open step waiting on them (review steps only where the
    person may decide), oldest deadline first. Nobody gets an empty digest. Returns {sent, failed, skipped,
    already, people}."""
    now = as_utc(now)
    today = local_date(now)
    messages: list[Message] = []
    with store.reading() as s:
        roles: dict[str, dict[str, bool]] = defaultdict(dict)  # person -> org -> may decide there
        people: dict[str, Person] = {}
        for person, org_id, role in s.execute(
                select(Person, PersonRole.org_id, PersonRole.role).join(PersonRole, PersonRole.person_id == Person.id)
                .where(Person.active.is_(True))):
            people[person.id] = person
            roles[person.id][org_id] = roles[person.id].get(org_id, False) or role.may_decide
        org_ids = sorted({o for per in roles.values() for o in per})
        by_org: dict[str, list[tuple[Step, dict[str, Any]]]] = defaultdict(list)
        for i in range(0, len(org_ids), 500):
            for step, case, member_name, org in _open_steps(s, Step.org_id.in_(org_ids[i:i + 500])):
                by_org[step.org_id].append((step, _facts(step, case, member_name, org, now)))
        for pid in sorted(people):
            items = [f for org_id, decides in roles[pid].items() for step, f in by_org.get(org_id, [])
                     if decides or step.kind is not StepKind.REVIEW]
            if not items:
                continue
            far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
            items.sort(key=lambda f: (f["due_at"] or far, f["step_id"]))
            late = sum(1 for f in items if f["overdue"])
            title, body = render("digest", person_name=people[pid].name, today=today, now=now, total=len(items),
                                 late_count=late, items=items[:MAX_DIGEST_ITEMS],
                                 more=max(0, len(items) - MAX_DIGEST_ITEMS))
            messages.append(Message(key=f"digest:{pid}:{today.isoformat()}", kind="digest", person_id=pid,
                                    title=title, body=body, urls=tuple(urls_for(people[pid]))))
    counts = send_all(store, messages, now=now)
    counts.extra["people"] = len(messages)
    return counts.as_dict()
