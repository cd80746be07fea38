"""人员与提醒渠道 for administrators: the people of the organisations below (or all, for a system administrator),
their roles and sign-in state, and one-time invitation links. Who may invite whom is decided in casework."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from casework import accounts
from casework.access import visible_orgs
from models.accounts_store import Account
from models.errors import Refusal
from models.store import Organisation, Person, PersonRole

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text

router = APIRouter(include_in_schema=False)


def _people(request: Request, user) -> list[dict]:
    with store_of(request).reading() as s:
        orgs = None if user.is_admin else visible_orgs(s, user.actor())
        q = select(Person, PersonRole.role, Organisation.name).join(PersonRole, PersonRole.person_id == Person.id) \
            .join(Organisation, Organisation.id == PersonRole.org_id).order_by(Organisation.name, Person.name)
        if orgs is not None:
            q = q.where(PersonRole.org_id.in_(orgs))
        rows = s.execute(q).all()
        accounts_ = {a.person_id: a for a in s.scalars(select(Account))}
        now = now_of(request)
        people: dict[str, dict] = {}
        for person, role, org_name in rows:
            entry = people.setdefault(person.id, {"id": person.id, "name": person.name, "roles": [],
                                                  "may_invite": accounts.may_keep_person(s, user.actor(), person.id)})
            entry["roles"].append(f"{org_name} · {role.label}")
            account = accounts_.get(person.id)
            entry["state"] = ("未开通" if account is None or account.password_hash is None else
                              "已锁定" if account.locked_until and account.locked_until > now else "已开通")
        return list(people.values())


@router.get("/admin")
def admin_page(request: Request):
    user = require_user(request)
    return render.page(request, "admin.html", people=_people(request, user), link=None)


@router.post("/admin/invite")
async def admin_invite(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    link, errors = None, {}
    try:
        issued = accounts.invite(store_of(request), person_id=text(form, "person_id", 64), actor=user.actor(),
                                 now=now_of(request))
        base = request.app.state.settings.base_url.rstrip("/")
        link = {"name": issued.person_name, "url": f"{base}/invite/{issued.token}", "expires_at": issued.expires_at}
    except Refusal as exc:
        errors["invite"] = exc.text
    return render.page(request, "admin.html", status=200 if link else 409, people=_people(request, user),
                       link=link, errors=errors)
