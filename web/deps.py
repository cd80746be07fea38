"""Who is asking: the session cookie (pages) or a personal access token (API), and the CSRF check of every form
that changes anything. The cookie holds only a random token; the server keeps its hash and the session's state."""
from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import FormData

from casework import accounts
from casework.accounts import SessionInfo
from casework.db import Store
from casework.workbench import inbox_count
from models.actor import Actor

COOKIE = "lc_session"
PRE_COOKIE = "lc_pre"  # the sign-in form's own CSRF token, before there is a session
MAX_FIELDS = 200


def store_of(request: Request) -> Store:
    return request.app.state.store


def now_of(request: Request):
    return request.app.state.settings.clock()


def session_of(request: Request) -> SessionInfo | None:
    if not hasattr(request.state, "user"):
        request.state.user = accounts.session_of(store_of(request), request.cookies.get(COOKIE), now_of(request))
    return request.state.user


def require_user(request: Request) -> SessionInfo:
    """A page for signed-in people: the session, or 401 (pages turn that into the sign-in page)."""
    user = session_of(request)
    if user is None:
        raise HTTPException(401, "请先登录")
    if user.org_id is None and not request.url.path.startswith(("/org", "/signout", "/admin")):
        choices = _choices(request, user)
        if len(choices) != 1:
            raise HTTPException(303, headers={"Location": "/org"}) if choices else HTTPException(401)
        user = accounts.choose_org(store_of(request), user, choices[0][0], now_of(request))
        request.state.user = user
    with store_of(request).reading() as s:
        request.state.badge = inbox_count(s, user.actor(), now_of(request)) if user.org_id else (0, 0)
    return user


def _choices(request: Request, user: SessionInfo) -> list[tuple[str, str]]:
    with store_of(request).reading() as s:
        return accounts.acting_choices(s, user.person_id)


def actor_of(request: Request) -> Actor:
    """The API's caller: a bearer token, or the page's session (then the CSRF header is required to write)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        actor = accounts.token_actor(store_of(request), header[7:].strip(), now_of(request))
        if actor is None:
            raise HTTPException(401, "访问令牌无效或已过期", headers={"WWW-Authenticate": "Bearer"})
        return actor
    user = session_of(request)
    if user is None:
        raise HTTPException(401, "须提供访问令牌（Authorization: Bearer …）", headers={"WWW-Authenticate": "Bearer"})
    if request.method not in ("GET", "HEAD") and not _same(request.headers.get("x-csrf-token"), user.csrf_token):
        raise HTTPException(403, "缺少或错误的防伪令牌（X-CSRF-Token）")
    return user.actor()


async def form_of(request: Request, user: SessionInfo) -> FormData:
    """The submitted form, refused unless it carries this session's CSRF token."""
    form = await request.form(max_fields=MAX_FIELDS, max_files=2)
    if not _same(form.get("csrf"), user.csrf_token) and not _same(request.headers.get("x-csrf-token"),
                                                                   user.csrf_token):
        raise HTTPException(403, "表单已失效或来源不明（防伪校验未通过），请刷新页面后重新提交")
    return form


def _same(given: Any, expected: str) -> bool:
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def text(form: FormData, name: str, limit: int = 4000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""
