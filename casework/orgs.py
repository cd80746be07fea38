"""Organisations as a tree, and the people who act for them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.accounts_store import Account
from models.codes import OrgCategory, OrgKind, Role, parse_code
from models.errors import NotFound, Refusal
from models.rules import OrgChain
from models.store import Organisation, Person, PersonRole
from models.text import Field, TextProblem, clean, shown
from models.views import OrganisationsImported

from .uow import Work, action

# Which kind of organisation may stand above which (DOMAIN §1: branch → base committee → upper department → …).
ALLOWED_PARENTS: dict[OrgKind, set[OrgKind | None]] = {
    OrgKind.BRANCH: {OrgKind.BASE_COMMITTEE},
    OrgKind.BASE_COMMITTEE: {OrgKind.DEPARTMENT},
    OrgKind.DEPARTMENT: {OrgKind.DEPARTMENT, None},
}
# Who keeps the tree once it exists: the secretary, a deputy or the staff of an organisation strictly ABOVE every
# organisation an import changes, or a system administrator (an account marked admin). Nobody keeps their own
# organisation: a base committee's staff member cannot make himself, or a colleague, its secretary.
TREE_KEEPERS = {Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.STAFF}
_ORG_NAME, _URL = Field("组织名称", 200), Field("通知地址", 2000)


@action("import_organisations", OrganisationsImported)
def import_organisations(work: Work, *, organisations: list[dict[str, Any]],
                         people: Sequence[dict[str, Any]] = ()) -> OrganisationsImported:
    """Create or update organisations (parents before children, in any order given) and people with their roles.

    An organisation: {id, name, kind: branch|base_committee|department, parent: id|None, category: 1-9 (branches),
    county_or_higher: bool}. A person: {id, name, phone, email, notify_urls, roles: [{org, role}]}.

    An import without an actor only bootstraps an empty store (no one can act for anything yet); once the tree
    exists, every organisation changed (itself, or its people's roles and contacts) must lie strictly below one
    where the actor is a keeper (TREE_KEEPERS), unless the actor is a system administrator; and nobody adds a role
    to themselves. Every change is audited with its before and after."""
    s = work.session
    errors: list[str] = []
    organisations = _clean_orgs(organisations, errors)
    people = _clean_people(people, errors)
    pending = {o["id"]: o for o in organisations}
    created = updated = 0
    known = {o.id: o for o in s.scalars(select(Organisation))}
    keeper_orgs = _keeper_orgs(work, bootstrap=not known)  # before the import can change the actor's own roles
    parents_before = {oid: o.parent_id for oid, o in known.items()}
    names_before = {oid: o.name for oid, o in known.items()}  # a refusal names what the actor may not change
    views_before = {oid: _org_view(o) for oid, o in known.items()}
    changed: set[str] = set()
    order = _parents_first(pending, set(known), errors)
    for org_id in order:
        spec = pending[org_id]
        try:
            kind = OrgKind(spec.get("kind"))  # type: ignore[call-arg, arg-type]  # lookup by value
        except ValueError:
            errors.append(f"组织{org_id}：类型“{shown(spec.get('kind'))}”无效（应为branch、base_committee或department）")
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
        name = spec["name"]
        if not name:
            errors.append(f"组织{org_id}：名称不能为空")
            continue
        values = {"name": name, "kind": kind, "parent_id": parent_id, "category": category,
                  "county_or_higher": bool(spec.get("county_or_higher", False))}
        org = known.get(org_id)
        if org is None:
            org = Organisation(id=org_id, created_at=work.now)
            s.add(org)
            created += 1
        else:
            updated += 1
        if any(getattr(org, k, None) != v for k, v in values.items()):
            changed.add(org_id)
        for k, v in values.items():
            setattr(org, k, v)
        known[org_id] = org
    s.flush()
    people_count, people_orgs, people_changes = _upsert_people(work, people, known, errors)
    if errors:
        raise Refusal("bad_organisations", "组织或人员数据有误，未导入任何内容：\n" + "\n".join(errors[:50]), "DOMAIN §1",
                      errors=errors[:200])
    if keeper_orgs is not None:
        parents_after = {oid: o.parent_id for oid, o in known.items()}
        names = {**{oid: o.name for oid, o in known.items()}, **names_before}
        _check_keeper(work, keeper_orgs, changed | people_orgs, parents_before, parents_after, names)
    if work.actor_id and work.actor_id in people_changes:
        before, after = people_changes[work.actor_id]["before"], people_changes[work.actor_id]["after"]
        if set(after["roles"]) - set(before["roles"]):
            raise Refusal("self_grant", "不能为本人增加职务或权限，须由上级组织的书记、工作人员或系统管理员办理", "DOMAIN §1",
                          person_id=work.actor_id)
    org_changes = [{"org_id": oid, "before": views_before.get(oid), "after": _org_view(known[oid])}
                   for oid in sorted(changed)]
    person_changes = [{"person_id": pid, **change} for pid, change in sorted(people_changes.items())]
    work.audit(organisations=len(order), people=people_count, changed_organisations=org_changes,
               changed_people=person_changes)
    return OrganisationsImported(organisations_created=created, organisations_updated=updated, people=people_count)


def _org_view(org: Organisation) -> dict[str, Any]:
    return {"name": org.name, "kind": org.kind.value, "parent": org.parent_id,
            "category": int(org.category) if org.category is not None else None,
            "county_or_higher": bool(org.county_or_higher)}


def _numbered_specs(items: Any, noun: str, errors: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """The specs that are objects, numbered from 1 as the file lists them; any other entry named in errors."""
    out = []
    for n, spec in enumerate(items if isinstance(items, (list, tuple)) else [None], start=1):
        if isinstance(spec, dict):
            out.append((n, spec))
        else:
            errors.append(f"第{n}个{noun}：格式有误")
    return out


def _clean_orgs(organisations: Any, errors: list[str]) -> list[dict[str, Any]]:
    """Organisation specs with their ids and names through the entrance (models.text); bad ones named in errors."""
    out = []
    for n, spec in _numbered_specs(organisations, "组织", errors):
        try:
            org_id = clean(spec.get("id"), "org_id")
            parent = clean(spec.get("parent"), "org_id") or None
            name = clean(spec.get("name"), _ORG_NAME)
        except TextProblem as exc:
            errors.append(f"第{n}个组织：{exc}")
            continue
        if not org_id:
            errors.append("组织编号不能为空")
            continue
        out.append({**spec, "id": org_id, "parent": parent, "name": name})
    return out


def _clean_people(people: Any, errors: list[str]) -> list[dict[str, Any]]:
    out = []
    for n, spec in _numbered_specs(people, "人员", errors):
        try:
            urls = spec.get("notify_urls")
            urls = [clean(u, _URL) for u in urls] if isinstance(urls, list) else clean(urls, Field("通知地址", 8000,
                                                                                                  multiline=True))
            roles = spec.get("roles") or []
            if not isinstance(roles, list) or not all(isinstance(r, dict) for r in roles):
                raise TextProblem("职务应为[{org, role}]列表")
            out.append({"id": clean(spec.get("id"), "person_id"), "name": clean(spec.get("name"), "name"),
                        "phone": clean(spec.get("phone"), "phone") or None,
                        "email": clean(spec.get("email"), "email") or None, "notify_urls": urls or None,
                        "roles": [{"org": clean(r.get("org"), "org_id"), "role": clean(r.get("role"), "role")}
                                  for r in roles]})
        except TextProblem as exc:
            errors.append(f"第{n}个人员：{exc}")
    return out


def _keeper_orgs(work: Work, *, bootstrap: bool) -> set[str] | None:
    """The organisations the actor keeps the tree below; None when the import bootstraps an empty store or the actor
    is a system administrator."""
    if bootstrap:
        return None
    if not work.actor_id:
        raise Refusal("actor_required", "组织树已建立，导入或修改组织和人员须指明办理人（上级组织的书记、工作人员或系统管理员）",
                      "DOMAIN §1")
    account = work.session.get(Account, work.actor_id)
    roles = work.roles()  # refuses an unknown or inactive person
    if account is not None and account.is_admin:
        return None
    return {org_id for org_id, held in roles.items() if held & TREE_KEEPERS}


def _check_keeper(work: Work, keeper_orgs: set[str], touched: set[str], parents_before: dict[str, str | None],
                  parents_after: dict[str, str | None], names: dict[str, str]) -> None:
    """Every organisation changed must lie strictly below one the actor keeps, where it stood and where it now
    stands (moving an organisation takes authority over both places)."""
    def under_keeper(org_id: str, parents: dict[str, str | None]) -> bool:
        seen: set[str] = {org_id}
        current = parents.get(org_id)
        while current is not None and current not in seen:
            if current in keeper_orgs:
                return True
            seen.add(current)
            current = parents.get(current)
        return False

    outside = sorted(o for o in touched if not under_keeper(o, parents_after)
                     or (o in parents_before and not under_keeper(o, parents_before)))
    if outside:
        listed = "、".join(f"{names[o]}（{o}）" if o in names else o for o in outside)
        raise Refusal("wrong_level", f"组织和人员由上级组织的书记、工作人员或系统管理员维护，{work.actor_id}无权改动：{listed}",
                      "DOMAIN §1", orgs=outside)


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


def _upsert_people(work: Work, people, known: dict[str, Organisation],
                   errors: list[str]) -> tuple[int, set[str], dict[str, dict[str, Any]]]:
    """Create or update people and their roles. Also returns the organisations whose people changed (where a role was
    added or removed, and every organisation of a person whose name or contacts changed: their messages would go
    elsewhere), and each changed person's before and after (names and roles; contacts only as "changed")."""
    s = work.session
    count = 0
    touched: set[str] = set()
    changes: dict[str, dict[str, Any]] = {}
    for spec in people:
        pid, name = spec["id"], spec["name"]
        if not pid or not name:
            errors.append(f"人员{pid or '（无编号）'}：编号和姓名不能为空")
            continue
        person = s.get(Person, pid)
        new_person = person is None
        if person is None:
            person = Person(id=pid, created_at=work.now, active=True)
            s.add(person)
        details = (person.name, person.phone, person.email, person.notify_urls)
        before = {"name": person.name, "roles": sorted(f"{r.org_id}:{r.role.value}" for r in person.roles)}
        person.name = name
        person.phone = spec.get("phone")
        person.email = spec.get("email")
        urls = spec.get("notify_urls")
        person.notify_urls = "\n".join(urls) if isinstance(urls, list) else urls
        contacts_changed = details[1:] != (person.phone, person.email, person.notify_urls)
        details_changed = details != (person.name, person.phone, person.email, person.notify_urls)
        wanted = set()
        for r in spec.get("roles", []):
            try:
                role = Role(r.get("role"))  # type: ignore[call-arg]  # lookup by value
            except ValueError:
                errors.append(f"人员{pid}：职务“{shown(r.get('role'))}”无效")
                continue
            if r.get("org") not in known:
                errors.append(f"人员{pid}：任职组织{r.get('org')}不存在")
                continue
            wanted.add((r["org"], role))
        current = {(r.org_id, r.role): r for r in person.roles}
        touched |= {org_id for org_id, _role in wanted ^ set(current)}
        if details_changed:
            touched |= {org_id for org_id, _role in wanted | set(current)}
        for key, row in current.items():
            if key not in wanted:
                person.roles.remove(row)
        for org_id, role in wanted - set(current):
            person.roles.append(PersonRole(org_id=org_id, role=role))
        after = {"name": person.name, "roles": sorted(f"{o}:{r.value}" for o, r in wanted)}
        if new_person or before != after or contacts_changed:
            changes[pid] = {"before": None if new_person else before, "after": after,
                            "contacts_changed": contacts_changed}
        count += 1
    return count, touched, changes


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
    """The organisation and every organisation below it. An unknown organisation is refused: an empty tree would
    read as "nothing to report" on a ledger or a statistics table."""
    children: dict[str | None, list[str]] = {}
    known: set[str] = set()
    for oid, parent in session.execute(select(Organisation.id, Organisation.parent_id)):
        children.setdefault(parent, []).append(oid)
        known.add(oid)
    if org_id not in known:
        raise NotFound("组织", org_id)
    out, todo = [], [org_id]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out
