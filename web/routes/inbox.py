"""待办: what waits on me and my organisation, due first, late marked, with filters."""
from __future__ import annotations

from fastapi import APIRouter, Request

from casework.workbench import filter_choices, inbox_for
from models.codes import StepKind

from .. import render
from ..deps import now_of, require_user, store_of

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
def inbox_page(request: Request, campaign: str = "", branch: str = "", kind: str = ""):
    user = require_user(request)
    kind = kind if kind in {k.value for k in StepKind} else ""
    with store_of(request).reading() as s:
        box = inbox_for(s, user.actor(), now_of(request), campaign_id=campaign or None, branch_id=branch or None,
                        kind=kind or None)
        choices = filter_choices(s, user.actor())
    template = "inbox_items.html" if request.headers.get("hx-request") else "inbox.html"
    return render.page(request, template, box=box, choices=choices,
                       filters={"campaign": campaign, "branch": branch, "kind": kind})
