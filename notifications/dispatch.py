"""Who is told what, and when. Every function reads through the Desk, closes its session, queues its messages (one
row per message and channel, under a dedupe key) and sends them (sending.flush): Apprise never runs inside a store
transaction. Who a step waits on is casework's one rule (`Desk.waits_on`, casework.queries.waits_on), the same the
inbox shows.

Events and their dedupe keys (one message per channel however often they are called; `t` is the target: `c{id}` a
channel, `p:{person}` a person not reached):
  open:{org}:{hash of the step ids}:{t}  the open steps an organisation got at one instant, not yet announced (one case, or a whole campaign
                                       start or a meeting's batch: one summary per organisation)
  remind:{day}:{org}:{t} / remind:{day}:{t}       the day's reminders at the cadence (Settings.reminder_due)
  escalate:{day}:{parent}:{t}          steps late by a margin (7, 14, 30 days) to the organisation above, once each
  digest:{day}:{org}:{t} / digest:{day}:{t}       everything waiting, once per working day at the digest time
  ahead:{day}:{org}:{t} / ahead:{day}:{t}         follow-ups and campaign phases coming due
An organisation's group channel gets the organisation's list; a person's own channel gets what waits on them; a
person with no channel of their own, in no organisation with a group, gets a row `skipped_no_channel`."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.channels_store import Outgoing, Target
from models.codes import CampaignPhase, FollowUpStatus, StepStatus
from models.errors import NotFound
from models.store import Campaign, Case, FollowUp, Member, Organisation, Person, PersonRole, Step
from models.timing import LOCAL_TZ, as_utc, local_date

from .channels import profile_of
from .compose import compose
from .ports import Desk
from .render import last_day
from .sending import Counts, flush
from .settings import Settings

Items = dict[str, list[dict[str, Any]]]
ONE_CASE_FORMS = ("step_opened", "reminder", "escalation")


def waits_on(session: Session, step: Step) -> list[Person]:
    """The people of a step's organisation, open or closed (who it waited on; casework.queries.waits_on is the rule
    for open steps)."""
    return list(session.scalars(select(Person).join(PersonRole, PersonRole.person_id == Person.id)
                                .where(PersonRole.org_id == step.org_id, Person.active.is_(True))
                                .order_by(Person.id).distinct()))


def facts(w, now: dt.datetime, settings: Settings) -> dict[str, Any]:
    """What a template shows of a waiting step (`casework.queries.Waiting`)."""
    today = local_date(now)
    day = last_day(w.due_at) if w.due_at else None
    return {
        "case_id": w.case_id, "member": w.member_name, "step_id": w.step_id, "step_title": w.title,
        "body_label": w.body.label, "org_id": w.org_id, "org_name": w.org_name, "opened_at": w.opened_at,
        "due_at": w.due_at, "overdue": bool(w.due_at and w.due_at <= now),
        "days_left": (day - today).days if day else None,
        "overdue_days": max(0, (today - day).days) if day else 0,
        "age_days": (now - w.opened_at).days, "link": settings.case_link(w.case_id),
    }


def _fan_out(desk: Desk, s: Session, *, kind: str, prefix: str, template: str, by_org: Items, by_person: Items,
             settings: Settings, now: dt.datetime, **context: Any) -> tuple[list[Outgoing], int]:
    """The messages of one event: each organisation's list to its groups, each person's to their own channels.
    Keys already on record are not composed again (returned: the new messages, and how many were on record)."""
    groups = desk.group_targets(s, by_org)
    own = desk.person_targets(s, by_person)
    names = dict(s.execute(select(Organisation.id, Organisation.name)
                           .where(Organisation.id.in_(list(by_org) or [""]))).all())
    people = dict(s.execute(select(Person.id, Person.name).where(Person.id.in_(list(by_person) or [""]))).all())
    planned: list[tuple[str, Target, list[dict], str]] = []
    seen: set[str] = set()
    for org_id in sorted(by_org):
        for t in groups.get(org_id, []):
            if t.fingerprint not in seen:
                seen.add(t.fingerprint)
                planned.append((f"{prefix}:{org_id}:{t.key}", t, by_org[org_id], names.get(org_id, org_id)))
    for pid in sorted(by_person):
        if pid not in own:
            continue  # inactive: nothing is sent to them
        items = by_person[pid]
        mine = [t for t in own[pid] if t.fingerprint not in seen]
        seen.update(t.fingerprint for t in mine)
        if not own[pid] and not any(groups.get(i["org_id"]) for i in items):
            mine = [Target(f"p:{pid}", None, None, None, pid)]
        planned += [(f"{prefix}:{t.key}", t, items, f"{people.get(pid, pid)}同志") for t in mine]
    known = desk.known([key[:200] for key, *_ in planned])
    out = []
    for key, t, items, whom in planned:
        if key[:200] in known:
            continue
        single = len(items) == 1 and items[0].get("case_id")
        # One case: its page (the templates with a one-case form); a list: the inbox, where the whole list is.
        link = settings.case_link(items[0]["case_id"]) if single and template in ONE_CASE_FORMS \
            else settings.inbox_link()
        subject, title, body = compose(template, items, profile_of(t.scheme), link=link, whom=whom, now=now,
                                       org_name=whom, **context)
        out.append(Outgoing(key=key, kind=kind, target=t, title=title or subject, body=body,
                            org_id=t.org_id or (items[0].get("org_id") if single else None),
                            case_id=items[0]["case_id"] if single else None,
                            step_id=items[0].get("step_id") if single else None))
    return out, len(planned) - len(out)


def _send(desk: Desk, messages: list[Outgoing], already: int, now: dt.datetime) -> Counts:
    ids = desk.enqueue(messages, now=now)
    counts = flush(desk, now=now, ids=ids) if ids else Counts()
    counts.queued = len(ids)
    counts.skipped = sum(1 for m in messages if m.target.channel_id is None)
    counts.already += already
    return counts


# ---------------------------------------------------------------- announce

def announce_step(desk: Desk, step_id: str, *, now: dt.datetime, settings: Settings | None = None) -> dict[str, Any]:
    """Tell the organisation and the people an open step waits on. The open steps its organisation got at the same
    instant (one transaction: a campaign start, a meeting's batch) are one event, one summary per organisation:
    the first case run to announce covers them all (step_announcements, in the transaction that queues the
    messages), the others find them covered and stop. Each step is covered once, so a batch decided in several
    transactions may take several messages, never the same step twice. A closed step sends nothing."""
    settings = settings or Settings.from_env()
    now = as_utc(now)
    for _ in range(3):  # bounded: a race lost to another run's cover only shrinks what is left to announce
        with desk.reading() as s:
            step = s.get(Step, step_id)
            if step is None:
                raise NotFound("待办", step_id)
            if step.status is not StepStatus.OPEN:
                return Counts(extra={"step_open": False}).as_dict()
            together = sorted(s.scalars(select(Step.id).where(Step.org_id == step.org_id, Step.status == StepStatus.OPEN,
                                                              Step.opened_at == step.opened_at)))
            covered = desk.covered(together)
            fresh = [sid for sid in together if sid not in covered]
            if not fresh:  # another case run of the same event announced it (a campaign start: 999 of 1,000)
                return Counts(already=1, extra={"step_open": True}).as_dict()
            event = hashlib.sha256("\n".join(fresh).encode()).hexdigest()[:16]
            batch = [w for i in range(0, len(fresh), 500) for w in desk.waits_on(s, step_ids=fresh[i:i + 500])]
            messages, already = _event(desk, s, "step_opened", f"open:{step.org_id}:{event}", "step_opened", batch,
                                       settings, now)
        ids = desk.enqueue(messages, now=now, cover=fresh, event=event)
        if ids is None:
            continue
        counts = flush(desk, now=now, ids=ids) if ids else Counts()
        counts.queued, counts.already = len(ids), already
        counts.skipped = sum(1 for m in messages if m.target.channel_id is None)
        counts.extra.update({"step_open": True, "steps": len(fresh)})
        return counts.as_dict()
    return Counts(already=1, extra={"step_open": True}).as_dict()


def _event(desk: Desk, s: Session, kind: str, prefix: str, template: str, waiting: list, settings: Settings,
           now: dt.datetime, **context: Any) -> tuple[list[Outgoing], int]:
    by_org: Items = defaultdict(list)
    by_person: Items = defaultdict(list)
    for w in waiting:
        f = facts(w, now, settings)
        by_org[w.org_id].append(f)
        for pid in w.people:
            by_person[pid].append(f)
    if not by_org:
        return [], 0
    return _fan_out(desk, s, kind=kind, prefix=prefix, template=template, by_org=by_org, by_person=by_person,
                    settings=settings, now=now, **context)


# ---------------------------------------------------------------- the day's reminders and escalations

def remind_and_escalate(desk: Desk, *, now: dt.datetime, settings: Settings | None = None) -> dict[str, Any]:
    """Once a day in working hours: remind what is at its cadence today (two days before its last day, on the
    day, then every few days while late), and tell the organisation above about steps late by a margin (7, 14,
    30 days: once each). Outside working hours it does nothing."""
    settings = settings or Settings.from_env()
    now = as_utc(now)
    local = now.astimezone(LOCAL_TZ)
    today = local.date()
    if not settings.in_working_hours(local):
        return Counts(extra={"outside_hours": True}).as_dict()
    horizon = now + dt.timedelta(days=max(settings.remind_before, default=0) + 2)
    day = today.isoformat()
    messages: list[Outgoing] = []
    with desk.reading() as s:
        due = [w for w in desk.waits_on(s, due_before=horizon)]
        remind = [w for w in due if settings.reminder_due((today - last_day(w.due_at)).days)]
        messages, already = _event(desk, s, "reminder", f"remind:{day}", "reminder", remind, settings, now)
        late = [w for w in due if (today - last_day(w.due_at)).days in settings.escalate_days]
        parents = dict(s.execute(select(Organisation.id, Organisation.parent_id)
                                 .where(Organisation.id.in_({w.org_id for w in late} or {""}))).all())
        by_parent: dict[str, list] = defaultdict(list)
        for w in late:
            if parents.get(w.org_id):
                by_parent[parents[w.org_id]].append(facts(w, now, settings))
        for parent_id, items in sorted(by_parent.items()):
            parent = s.get(Organisation, parent_id)
            by_person = {pid: items for pid in desk.deciders(s, parent_id)}
            msgs, known = _fan_out(desk, s, kind="escalation", prefix=f"escalate:{day}:{parent_id}",
                                   template="escalation", by_org={parent_id: items}, by_person=by_person,
                                   settings=settings, now=now, parent_name=parent.name)
            messages += msgs
            already += known
    counts = _send(desk, messages, already, now)
    counts.extra.update({"reminded_steps": len(remind), "escalated_steps": len(late)})
    return counts.as_dict()


remind_late = remind_and_escalate  # the name the daily sweep knew


# ---------------------------------------------------------------- digests

def send_digests(desk: Desk, *, now: dt.datetime, settings: Settings | None = None) -> dict[str, Any]:
    """One digest per organisation group and per person on each working day (weekends only when configured), from
    the digest time to the end of the working day, listing everything waiting (casework.queries.waits_on), oldest
    deadline first. Nobody gets an empty digest."""
    settings = settings or Settings.from_env()
    now = as_utc(now)
    local = now.astimezone(LOCAL_TZ)
    if not settings.in_working_hours(local) or not settings.is_digest_day(local.date()):
        return Counts(extra={"not_digest_time": True}).as_dict()
    today = local.date()
    with desk.reading() as s:
        waiting = desk.waits_on(s)
        messages, already = _event(desk, s, "digest", f"digest:{today.isoformat()}", "digest", waiting, settings,
                                   now, today=today)
    counts = _send(desk, messages, already, now)
    counts.extra["steps"] = len(waiting)
    return counts.as_dict()


# ---------------------------------------------------------------- follow-ups and campaign phases ahead

def announce_ahead(desk: Desk, *, now: dt.datetime, settings: Settings | None = None) -> dict[str, Any]:
    """Follow-ups coming due (the two-year review a month ahead, a transfer receipt a week ahead and on the day,
    campaign phase deadlines three days ahead and on the day), once a day in working hours, to the organisations
    concerned and their people."""
    settings = settings or Settings.from_env()
    now = as_utc(now)
    local = now.astimezone(LOCAL_TZ)
    if not settings.in_working_hours(local):
        return Counts(extra={"outside_hours": True}).as_dict()
    today = local.date()
    reach = max((d for days in settings.ahead.values() for d in days), default=0)
    by_org: Items = defaultdict(list)
    with desk.reading() as s:
        for f in s.scalars(select(FollowUp).where(FollowUp.status == FollowUpStatus.PENDING,
                                                  FollowUp.due_at <= now + dt.timedelta(days=reach + 1))):
            days_left = (last_day(f.due_at) - today).days
            if days_left not in settings.ahead.get(f.kind.value, ()):
                continue
            item = {"label": f.kind.label, "due_at": f.due_at, "days_left": days_left, "case_id": None,
                    "member": None, "link": None, "org_id": None}
            if f.case_id:
                case = s.get(Case, f.case_id)
                item.update(case_id=case.id, member=s.get(Member, case.member_id).name,
                            link=settings.case_link(case.id))
                orgs = [case.branch_id, case.base_committee_id]
            else:
                campaign = s.get(Campaign, f.campaign_id)
                item["label"] = f"{campaign.name} {_phase_label(f.subject_id)}截止"
                orgs = [campaign.org_id, *s.scalars(select(Case.branch_id).where(Case.campaign_id == campaign.id,
                                                                              Case.closed_at.is_(None)).distinct())]
            for org_id in {o for o in orgs if o}:
                by_org[org_id].append({**item, "org_id": org_id})
        by_person: Items = defaultdict(list)
        for pid, org_id in s.execute(select(PersonRole.person_id, PersonRole.org_id)
                                     .where(PersonRole.org_id.in_(list(by_org) or [""]))):
            by_person[pid] += [i for i in by_org[org_id] if i not in by_person[pid]]
        messages, already = _fan_out(desk, s, kind="ahead", prefix=f"ahead:{today.isoformat()}", template="ahead",
                                     by_org=by_org, by_person=by_person, settings=settings,
                                     now=now) if by_org else ([], 0)
    counts = _send(desk, messages, already, now)
    counts.extra["items"] = sum(len(v) for v in by_org.values())
    return counts.as_dict()


def _phase_label(phase: str | None) -> str:
    try:
        return CampaignPhase(phase).label
    except ValueError:
        return phase or ""


def daily(desk: Desk, *, now: dt.datetime, settings: Settings | None = None) -> dict[str, Any]:
    """The notification day: reminders and escalations, what comes due ahead, and the digest; each gated by the
    working hours and keyed by the day, so calling it hourly sends each once."""
    settings = settings or Settings.from_env()
    return {"reminders": remind_and_escalate(desk, now=now, settings=settings),
            "ahead": announce_ahead(desk, now=now, settings=settings),
            "digests": send_digests(desk, now=now, settings=settings),
            "queue": flush(desk, now=as_utc(now)).as_dict()}


def send_test(desk: Desk, target: Target, *, owner: str, masked: str, now: dt.datetime,
              settings: Settings | None = None) -> dict[str, Any]:
    """A test message through one channel, now (the queue's retries apply like any other message)."""
    settings = settings or Settings.from_env()
    now = as_utc(now)
    subject, title, body = compose("test", [{}], profile_of(target.scheme), owner=owner, masked=masked, now=now,
                                   link=settings.inbox_link())
    message = Outgoing(key=f"test:{target.key}:{now.isoformat()}", kind="test", target=target,
                       title=title or subject, body=body, org_id=target.org_id)
    return _send(desk, [message], 0, now).as_dict()


__all__ = ["announce_ahead", "announce_step", "daily", "facts", "remind_and_escalate", "remind_late",
           "send_digests", "send_test", "waits_on"]
