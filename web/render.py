"""Pages: the Jinja2 environment (autoescaped: names and remarks containing HTML show as text), the filters that show
dates in Beijing time, and the helpers every route uses to render, redirect and report a refusal."""
from __future__ import annotations

import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from models.display import DISPOSITION_STATUS, FOLLOWUP_STATUS, local_time

TEMPLATES = Path(__file__).parent / "templates"


def local(value: Any) -> str:
    return local_time(value)


def day(value: Any) -> str:
    return local_time(value, date_only=True)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = local
    env.filters["day"] = day
    env.globals["new_request_id"] = lambda: uuid.uuid4().hex
    env.globals["disposition_status"] = DISPOSITION_STATUS
    env.globals["followup_status"] = FOLLOWUP_STATUS
    return env


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    context.setdefault("errors", {})
    context.setdefault("notice", None)
    html = environment().get_template(template).render(request=request, user=user,
                                                       badge=getattr(request.state, "badge", None), **context)
    return HTMLResponse(html, status_code=status)


def error_page(request: Request, message: str, status: int) -> HTMLResponse:
    return page(request, "error.html", status=status, message=message, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def redirect_to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/signin?next={quote(target)}")
