"""人员与提醒渠道 for administrators: the people of the organisations below (or all, for a system administrator),
their roles and sign-in state, and one-time invitation links. Who may invite whom is decided in casework."""
from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from casework import accounts
from casework.access import visible_orgs
from casework.deliveries import list_channels, remove_channel, set_channel, unreached
from models.admin_views import PersonLine
from models.errors import Refusal
from models.store import Organisation, Person, PersonRole

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text

router = APIRouter(include_in_schema=False)


def _people(request: Request, user) -> list[PersonLine]:
    with store_of(request).reading() as s:
        return accounts.people_of(s, user.actor(), now_of(request), admin=user.is_admin)


def _channels(request: Request, user) -> dict:
    """The channels of the organisations and people the administrator keeps (masked: the URL's secret is never
    shown), and who no message reaches."""
    with store_of(request).reading() as s:
        orgs = visible_orgs(s, user.actor())
        people = set(s.scalars(select(PersonRole.person_id).where(PersonRole.org_id.in_(orgs))))
        names = dict(s.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(orgs))).all())
        names.update(s.execute(select(Person.id, Person.name).where(Person.id.in_(people))).all())
        rows = [c for c in list_channels(s) if c.org_id in orgs or c.person_id in people]
        missing = unreached(s)
    return {"rows": [{**c.model_dump(), "owner_name": names.get(c.org_id or c.person_id or "", "")} for c in rows],
            "orgs": sorted(((o, n) for o, n in names.items() if o in orgs), key=lambda x: x[1]),
            "unreached_orgs": [o for o in missing.get("organisations", []) if o.get("org_id") in orgs],
            "unreached_people": [p for p in missing.get("people", []) if p.get("person_id") in people]}


@router.get("/admin")
def admin_page(request: Request):
    user = require_user(request)
    return render.page(request, "admin.html", people=_people(request, user), link=None,
                       channels=_channels(request, user), values={})


@router.post("/admin/channels")
async def admin_channel(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    errors, notice = {}, None
    who = dict(request_id=text(form, "request_id", 100) or None, actor=user.actor(), now=now_of(request))
    try:
        if text(form, "remove", 12).isdigit():
            remove_channel(store_of(request), **who, channel_id=int(text(form, "remove", 12)))
            notice = "提醒渠道已删除"
        else:
            owner = text(form, "owner", 70)
            kind, _, key = owner.partition(":")
            set_channel(store_of(request), **who, url=text(form, "url", 2000), label=text(form, "label", 100) or None,
                        org_id=key if kind == "org" else None, person_id=key if kind == "person" else None)
            notice = "提醒渠道已保存（地址已加密保存，只显示末尾几位）"
    except Refusal as exc:
        errors["channel"] = exc.text
    return render.page(request, "admin.html", status=409 if errors else 200, people=_people(request, user),
                       link=None, channels=_channels(request, user), errors=errors, notice=notice,
                       values={"label": text(form, "label", 100), "owner": text(form, "owner", 70)} if errors else {})


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
                       link=link, errors=errors, channels=_channels(request, user), values={})
