"""Organisations as a tree, and the people who act for them."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.codes import OrgCategory, OrgKind, Role, parse_code
from models.errors import NotFound, Refusal
from models.rules import OrgChain
from models.store import Organisation, Person, PersonRole

from .uow import Work, action

# Which kind of organisation may stand above which (DOMAIN §1: branch → base committee → upper department → …).
ALLOWED_PARENTS: dict[OrgKind, set[OrgKind | None]] = {
    OrgKind.BRANCH: {OrgKind.BASE_COMMITTEE},
    OrgKind.BASE_COMMITTEE: {OrgKind.DEPARTMENT},
    OrgKind.DEPARTMENT: {OrgKind.DEPARTMENT, None},
}


@action("import_organisations")
def import_organisations(work: Work, *, organisations: list[dict[str, Any]],
                         people: list[dict[str, Any]] = ()) -> dict[str, Any]:
    """Create or update organisations (parents before children, in any order given) and people with their roles.

    An organisation: {id, name, kind: branch|base_committee|department, parent: id|None, category: 1-9 (branches),
    county_or_higher: bool}. A person: {id, name, phone, email, notify_urls, roles: [{org, role}]}."""
    s = work.session
    errors: list[str] = []
    pending = {str(o.get("id", "")).strip(): o for o in organisations}
    if "" in pending:
        errors.append("组织编号不能为空")
    created = updated = 0
    known = {o.id: o for o in s.scalars(select(Organisation))}
    order = _parents_first(pending, set(known), errors)
    for org_id in order:
        spec = pending[org_id]
        try:
            kind = OrgKind(spec.get("kind"))
        except ValueError:
            errors.append(f"组织{org_id}：类型“{spec.get('kind')}”无效（应为branch、base_committee或department）")
            continue
        parent_id = spec.get("parent") or None
        parent = known.get(parent_id) if parent_id else None
        if parent_id and parent is None:
            errors.append(f"组织{org_id}：上级组织{parent_id}不存在")
            continue
        if (parent.kind if parent else None) not in ALLOWED_PARENTS[kind]:
            allowed = "、".join(k.label if k else "无上级" for k in ALLOWED_PARENTS[kind])
            errors.append(f"组织{org_id}（{kind.label}）的上级应为{allowed}")
            continue
        category = None
        if spec.get("category") not in (None, ""):
            try:
                category = parse_code(OrgCategory, spec["category"])
            except ValueError as exc:
                errors.append(f"组织{org_id}：党组织类别{exc}")
                continue
        name = str(spec.get("name") or "").strip()
        if not name:
            errors.append(f"组织{org_id}：名称不能为空")
            continue
        org = known.get(org_id)
        if org is None:
            org = Organisation(id=org_id, created_at=work.now)
            s.add(org)
            created += 1
        else:
            updated += 1
        org.name, org.kind, org.parent_id, org.category = name, kind, parent_id, category
        org.county_or_higher = bool(spec.get("county_or_higher", False))
        known[org_id] = org
    s.flush()
    people_count = _upsert_people(work, people, known, errors)
    if errors:
        raise Refusal("bad_organisations", "组织或人员数据有误，未导入任何内容：\n" + "\n".join(errors), "DOMAIN §1",
                      errors=errors)
    work.audit(organisations=len(order), people=people_count)
    return {"organisations_created": created, "organisations_updated": updated, "people": people_count}


def _parents_first(pending: dict[str, dict], known: set[str], errors: list[str]) -> list[str]:
    order, placed = [], set(known)
    remaining = dict(pending)
    while remaining:
        ready = [i for i, o in remaining.items() if not o.get("parent") or o["parent"] in placed]
        if not ready:
            errors.extend(f"组织{i}：上级组织{o.get('parent')}不存在或形成循环" for i, o in remaining.items())
            break
        for i in ready:
            order.append(i)
            placed.add(i)
            del remaining[i]
    return order


def _upsert_people(work: Work, people, known: dict[str, Organisation], errors: list[str]) -> int:
    s = work.session
    count = 0
    for spec in people:
        pid = str(spec.get("id") or "").strip()
        name = str(spec.get("name") or "").strip()
        if not pid or not name:
            errors.append(f"人员{pid or '（无编号）'}：编号和姓名不能为空")
            continue
        person = s.get(Person, pid)
        if person is None:
            person = Person(id=pid, created_at=work.now, active=True)
            s.add(person)
        person.name = name
        person.phone = spec.get("phone")
        person.email = spec.get("email")
        urls = spec.get("notify_urls")
        person.notify_urls = "\n".join(urls) if isinstance(urls, list) else urls
        wanted = set()
        for r in spec.get("roles", []):
            try:
                role = Role(r.get("role"))
            except ValueError:
                errors.append(f"人员{pid}：职务“{r.get('role')}”无效")
                continue
            if r.get("org") not in known:
                errors.append(f"人员{pid}：任职组织{r.get('org')}不存在")
                continue
            wanted.add((r["org"], role))
        current = {(r.org_id, r.role): r for r in person.roles}
        for key, row in current.items():
            if key not in wanted:
                person.roles.remove(row)
        for org_id, role in wanted - set(current):
            person.roles.append(PersonRole(org_id=org_id, role=role))
        count += 1
    return count


# ---------------------------------------------------------------- reading the tree

def get_org(session: Session, org_id: str) -> Organisation:
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("组织", org_id)
    return org


def org_chain(session: Session, branch_id: str) -> OrgChain:
    """Who acts at each level for a member of this branch: its base committee, the department above that, and the
    nearest county-or-higher department."""
    branch = get_org(session, branch_id)
    base = branch.parent if branch.parent and branch.parent.kind is OrgKind.BASE_COMMITTEE else None
    upper = base.parent if base and base.parent and base.parent.kind is OrgKind.DEPARTMENT else None
    county = upper
    while county is not None and not county.county_or_higher:
        county = county.parent
    return OrgChain(branch.id, base.id if base else None, upper.id if upper else None, county.id if county else None)


def actor_roles(session: Session, person_id: str | None) -> dict[str, set[Role]]:
    if not person_id:
        raise Refusal("actor_required", "须指明办理人", "DOMAIN §1")
    person = session.get(Person, person_id)
    if person is None or not person.active:
        raise NotFound("办理人", person_id)
    roles: dict[str, set[Role]] = {}
    for r in person.roles:
        roles.setdefault(r.org_id, set()).add(r.role)
    return roles


def org_names(session: Session, ids) -> dict[str, str]:
    ids = [i for i in ids if i]
    return {o.id: o.name for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def descendants(session: Session, org_id: str) -> list[str]:
    """The organisation and every organisation below it."""
    children: dict[str | None, list[str]] = {}
    for oid, parent in session.execute(select(Organisation.id, Organisation.parent_id)):
        children.setdefault(parent, []).append(oid)
    out, todo = [], [org_id]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out
