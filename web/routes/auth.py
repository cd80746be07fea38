"""Signing in and out, the one-time invitation link that sets a password, and choosing the organisation to act for."""
from __future__ import annotations

import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from casework import accounts
from models.errors import Refusal

from .. import render
from ..deps import COOKIE, PRE_COOKIE, _same, form_of, now_of, require_user, session_of, store_of

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (an open redirect would let a phishing link borrow our sign-in page)."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/inbox"
    return target


@router.get("/")
def home(request: Request):
    return render.redirect("/inbox" if session_of(request) else "/signin")


@router.get("/signin")
def sign_in_page(request: Request, next: str = "/inbox"):
    pre = secrets.token_urlsafe(16)
    response = render.page(request, "signin.html", next=_safe_next(next), pre=pre, login="")
    _set_pre(request, response, pre)
    return response


@router.post("/signin")
async def sign_in(request: Request):
    form = await request.form(max_fields=10, max_files=0)
    if not _same(form.get("pre"), request.cookies.get(PRE_COOKIE, "")):
        raise HTTPException(403, "登录页面已失效，请刷新后重新登录")
    login, password = str(form.get("login") or ""), str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    store, now = store_of(request), now_of(request)
    try:
        who = accounts.sign_in(store, login=login, password=password, now=now,
                               via=request.client.host if request.client else None)
    except Refusal as exc:
        pre = secrets.token_urlsafe(16)
        response = render.page(request, "signin.html", status=401 if exc.code != "locked" else 429,
                               next=target, pre=pre, login=login[:64], errors={"password": exc.text})
        _set_pre(request, response, pre)
        return response
    org = who.orgs[0][0] if len(who.orgs) == 1 else None
    info = accounts.open_session(store, person_id=who.person_id, org_id=org, now=now)
    response = render.redirect(target if org else f"/org?next={target}")
    response.set_cookie(COOKIE, info.token, httponly=True, samesite="lax", secure=request.app.state.settings.https,
                        max_age=int(accounts.SESSION_MAX.total_seconds()), path="/")
    response.delete_cookie(PRE_COOKIE, path="/signin")
    return response


def _set_pre(request: Request, response, pre: str) -> None:
    response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", path="/signin",
                        secure=request.app.state.settings.https, max_age=3600)


@router.post("/signout")
async def sign_out(request: Request):
    user = session_of(request)
    if user is not None:
        await form_of(request, user)
        accounts.close_session(store_of(request), user.token, now_of(request))
    response = render.redirect("/signin")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/org")
def choose_org_page(request: Request, next: str = "/inbox"):
    user = require_user(request)
    with store_of(request).reading() as s:
        choices = accounts.acting_choices(s, user.person_id)
    return render.page(request, "org.html", choices=choices, next=_safe_next(next))


@router.post("/org")
async def choose_org(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    accounts.choose_org(store_of(request), user, str(form.get("org_id") or ""), now_of(request))
    return render.redirect(_safe_next(str(form.get("next") or "")))


@router.get("/invite/{token}")
def invitation_page(request: Request, token: str):
    person_id, name = accounts.invitation_person(store_of(request), token, now_of(request))
    return render.page(request, "invite.html", token=token, person_id=person_id, name=name)


@router.post("/invite/{token}")
async def accept_invitation(request: Request, token: str):
    form = await request.form(max_fields=10, max_files=0)
    password, again = str(form.get("password") or ""), str(form.get("again") or "")
    store, now = store_of(request), now_of(request)
    person_id, name = accounts.invitation_person(store, token, now)
    errors = {}
    if password != again:
        errors["again"] = "两次输入的密码不一致"
    else:
        try:
            accounts.accept_invitation(store, token=token, password=password, now=now)
        except Refusal as exc:
            errors["password"] = exc.text
    if errors:
        return render.page(request, "invite.html", status=422, token=token, person_id=person_id, name=name,
                           errors=errors)
    response: RedirectResponse = render.redirect("/signin?set=1")
    return response
