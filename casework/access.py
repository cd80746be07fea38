"""What an acting person may see: a branch its own members, a base committee its branches, a department its tree.

Every interface reads through these checks, so the rule is written once. A case outside the actor's tree is answered
exactly as a case that does not exist (the answer tells nothing). Reads of personal data (a case page, an export) are
audit events: who, when, what, through which channel."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.actor import Actor, Channel
from models.errors import NotFound
from models.store import AuditEvent, Case, Organisation

from .db import Store
from .uow import person_roles


def acting_orgs(session: Session, actor: Actor) -> set[str]:
    """The organisations the actor holds a role at (cut to the one they act for)."""
    if actor.channel is Channel.CLI and actor.person_id is None:
        return set(session.scalars(select(Organisation.id).where(Organisation.parent_id.is_(None))))
    return set(person_roles(session, actor))


def visible_orgs(session: Session, actor: Actor) -> set[str]:
    """The actor's organisations and every organisation below them."""
    children: dict[str | None, list[str]] = {}
    for oid, parent in session.execute(select(Organisation.id, Organisation.parent_id)):
        children.setdefault(parent, []).append(oid)
    out: set[str] = set()
    todo = list(acting_orgs(session, actor))
    while todo:
        current = todo.pop()
        if current not in out:
            out.add(current)
            todo.extend(children.get(current, []))
    return out


def require_org(session: Session, actor: Actor, org_id: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None or org_id not in visible_orgs(session, actor):
        raise NotFound("组织", org_id)
    return org


def require_case(session: Session, actor: Actor, case_id: str) -> Case:
    case = session.get(Case, case_id)
    if case is None or case.branch_id not in visible_orgs(session, actor):
        raise NotFound("案件", case_id)
    return case


def audit_read(store: Store, actor: Actor, now: dt.datetime, *, what: str, case_id: str | None = None,
               org_id: str | None = None, **detail) -> None:
    """Record that personal data was read or exported (the audit log is append-only)."""
    with store.writing() as s:
        s.add(AuditEvent(at=now, actor_id=actor.person_id, org_id=org_id or actor.org_id, action=f"read:{what}",
                         case_id=case_id, request_id=None, channel=actor.channel.value, via=actor.via,
                         payload=detail))
        s.commit()


def mask_id_number(value: str | None) -> str | None:
    """Lists show the region and the check digit only: 150102********123X → 1501**********123X."""
    if not value:
        return value
    return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    digits = value.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "*" * max(len(digits) - 2, 0) + digits[-2:]
