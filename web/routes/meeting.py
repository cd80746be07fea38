"""会议批量办理: a meeting decides many cases at once. Pick the steps waiting on the same kind of decision, give each
a verdict and an opinion (the shared one by default); every case is decided and audited on its own through the same
casework action, and the page reports per case what was applied and what was refused and why."""
from __future__ import annotations

from fastapi import APIRouter, Request

from casework.dispositions import decide_step
from casework.workbench import batch_groups, batch_steps, member_names_of_steps
from models.errors import Refusal

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text
from .cases import vote_of

router = APIRouter(include_in_schema=False)


@router.get("/meeting")
def meeting_page(request: Request, title: str = "", org: str = ""):
    user = require_user(request)
    with store_of(request).reading() as s:
        groups = batch_groups(s, user.actor(), now_of(request))
        steps = batch_steps(s, user.actor(), title=title, org_id=org, now=now_of(request)) if title else []
    return render.page(request, "meeting.html", groups=groups, steps=steps, title=title, org=org, results=None)


@router.post("/meeting")
async def meeting_decide(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    title, org = text(form, "title", 200), text(form, "org", 64)
    shared_verdict, shared_opinion = text(form, "verdict", 10), text(form, "opinion")
    batch_id = text(form, "request_id", 100)
    submitted = [x[:80] for x in form.getlist("step") if isinstance(x, str) and x]
    with store_of(request).reading() as s:
        names = member_names_of_steps(s, user.actor(), submitted)
    results = []
    for step_id in form.getlist("step"):
        if not isinstance(step_id, str) or not step_id:
            continue
        step_id = step_id[:80]
        verdict = text(form, f"verdict_{step_id}", 10) or shared_verdict
        if verdict == "skip":
            continue
        opinion = text(form, f"opinion_{step_id}") or shared_opinion
        version = text(form, f"version_{step_id}", 12)
        try:
            decide_step(store_of(request), request_id=f"{batch_id}:{step_id}" if batch_id else None,
                        actor=user.actor(), now=now_of(request), step_id=step_id, verdict=verdict, opinion=opinion,
                        member_signed=bool(form.get(f"signed_{step_id}")),
                        signature_note=text(form, f"signature_note_{step_id}") or text(form, "signature_note"),
                        guide=text(form, "guide", 200), vote=vote_of(form),
                        expected_version=int(version) if version.isdigit() else None)
            results.append({"step_id": step_id, "case_id": step_id.rsplit("-", 1)[0], "ok": True,
                            "name": names.get(step_id, ""), "verdict": verdict, "message": "已办理"})
        except Refusal as exc:
            results.append({"step_id": step_id, "case_id": step_id.rsplit("-", 1)[0], "ok": False,
                            "name": names.get(step_id, ""), "verdict": verdict, "message": exc.text})
    with store_of(request).reading() as s:
        groups = batch_groups(s, user.actor(), now_of(request))
        steps = batch_steps(s, user.actor(), title=title, org_id=org, now=now_of(request)) if title else []
    return render.page(request, "meeting.html", groups=groups, steps=steps, title=title, org=org, results=results)
