"""案件: the full-process record of one case and the forms for exactly the actions the rules allow now; the case
list; material downloads and the case's own paper. Every form carries a request id (a double click, a back-and-
resubmit or a retry applies once) and the case version (a stale form is refused, not applied over newer work)."""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from casework import dispositions, search
from casework.access import audit_read
from casework.files import MAX_FILE, download, files_of, upload_material
from casework.workbench import case_page, cases_list, filter_choices
from models.codes import CaseState, Outcome, ReferralTarget
from models.errors import Refusal
from models.timing import LOCAL_TZ
from reports.html import render_dossier_html

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text

router = APIRouter(include_in_schema=False)


@router.get("/cases")
def cases_page(request: Request, campaign: str = "", branch: str = "", state: str = ""):
    user = require_user(request)
    state = state if state in {s.value for s in CaseState} else ""
    with store_of(request).reading() as s:
        rows = cases_list(s, user.actor(), campaign_id=campaign or None, branch_id=branch or None,
                          state=state or None)
        choices = filter_choices(s, user.actor())
    return render.page(request, "cases.html", rows=rows, choices=choices, states=[(s.value, s.label) for s in CaseState],
                       filters={"campaign": campaign, "branch": branch, "state": state})


def show_case(request: Request, case_id: str, *, errors: dict[str, str] | None = None, status: int = 200,
              notice: str | None = None, values: dict[str, Any] | None = None) -> HTMLResponse:
    user = require_user(request)
    store, now = store_of(request), now_of(request)
    with store.reading() as s:
        record = case_page(s, user.actor(), case_id, now)
    audit_read(store, user.actor(), now, what="case", case_id=case_id)
    return render.page(request, "case.html", status=status, d=record, files=files_of(store, case_id),
                       errors=errors or {}, notice=notice, values=values or {},
                       outcomes=[(o.value, o.label) for o in Outcome],
                       targets=[(t.value, t.label) for t in ReferralTarget])


@router.get("/cases/{case_id}")
def case_view(request: Request, case_id: str, done: str = ""):
    notices = {"attempt": "查找记录已登记", "propose": "处置意见已提出，已送下一步审批", "decide": "决定已登记",
               "judge": "评估意见已登记", "material": "材料已归档", "refer": "移送已登记", "restore": "恢复党籍申请已登记"}
    return show_case(request, case_id, notice=notices.get(done))


async def _act(request: Request, case_id: str, form_name: str, call) -> Response:
    """Run one casework action from a form: on success back to the case page (303, so a reload does not resubmit);
    on a refusal the page again with the reason beside the form and what was typed kept."""
    user = require_user(request)
    form = await form_of(request, user)
    try:
        call(form, dict(request_id=text(form, "request_id", 100) or None, actor=user.actor(), now=now_of(request)))
    except Refusal as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("csrf",)}
        return show_case(request, case_id, errors={form_name: exc.text}, status=409 if exc.code != "not_found"
                         else 404, values=values)
    return render.redirect(f"/cases/{quote(case_id)}?done={form_name}#top")


def _version(form) -> int | None:
    value = text(form, "version", 12)
    return int(value) if value.isdigit() else None


def _moment(form, name: str) -> str | None:
    """A datetime-local field, read as Beijing time."""
    value = text(form, name, 30)
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ).isoformat()
    except ValueError:
        raise Refusal("bad_time", f"时间“{value}”格式不正确", "DOMAIN §5") from None


@router.post("/cases/{case_id}/attempt")
async def record_attempt(request: Request, case_id: str):
    return await _act(request, case_id, "attempt", lambda f, who: search.record_attempt(
        store_of(request), **who, case_id=case_id, stage=text(f, "stage", 20), method=text(f, "method", 200),
        description=text(f, "description"), witness=text(f, "witness", 80), outcome=text(f, "outcome", 30),
        remark=text(f, "remark"), concludes_stage=not f.get("continue_stage"),
        attempted_at=_moment(f, "attempted_at"), expected_version=_version(f)))


@router.post("/cases/{case_id}/propose")
async def propose(request: Request, case_id: str):
    def call(f, who):
        months = text(f, "correction_months", 3)
        dispositions.propose_disposition(
            store_of(request), **who, case_id=case_id, disposition=text(f, "disposition", 40),
            grounds=text(f, "grounds"), conduct=text(f, "conduct"), lost_reasons=text(f, "lost_reasons"),
            correction_months=int(months) if months.isdigit() else None, expected_version=_version(f))
    return await _act(request, case_id, "propose", call)


@router.post("/cases/{case_id}/restore")
async def restore(request: Request, case_id: str):
    return await _act(request, case_id, "restore", lambda f, who: dispositions.propose_disposition(
        store_of(request), **who, case_id=case_id, disposition="restore_membership", grounds=text(f, "grounds"),
        conduct=text(f, "conduct"), expected_version=_version(f)))


def vote_of(f) -> dict[str, int] | None:
    keys = ("entitled", "present", "in_favour", "against", "abstaining")
    raw = {k: text(f, f"vote_{k}", 6) for k in keys}
    if not any(raw.values()):
        return None
    if not all(v.isdigit() for v in raw.values()):
        raise Refusal("vote_invalid", "表决情况须填写应到、实到、赞成、反对、弃权人数（非负整数）", "000 §3")
    return {k: int(v) for k, v in raw.items()}


@router.post("/cases/{case_id}/decide")
async def decide(request: Request, case_id: str):
    return await _act(request, case_id, "decide", lambda f, who: dispositions.decide_step(
        store_of(request), **who, step_id=text(f, "step_id", 80), verdict=text(f, "verdict", 10),
        opinion=text(f, "opinion"), member_signed=bool(f.get("member_signed")),
        signature_note=text(f, "signature_note"), guide=text(f, "guide", 200), vote=vote_of(f),
        expected_version=_version(f)))


@router.post("/cases/{case_id}/judge")
async def judge(request: Request, case_id: str):
    def call(f, who):
        changed = text(f, "changed", 5)
        if changed not in ("yes", "no"):
            raise Refusal("changed_required", "须选择期满后是否有转变", "003 #4")
        dispositions.judge_correction(store_of(request), **who, step_id=text(f, "step_id", 80),
                                      changed=changed == "yes", opinion=text(f, "opinion"),
                                      expected_version=_version(f))
    return await _act(request, case_id, "judge", call)


@router.post("/cases/{case_id}/refer")
async def refer(request: Request, case_id: str):
    return await _act(request, case_id, "refer", lambda f, who: dispositions.record_referral(
        store_of(request), **who, case_id=case_id, target=text(f, "target", 20), summary=text(f, "summary")))


@router.post("/cases/{case_id}/material")
async def material(request: Request, case_id: str):
    user = require_user(request)
    form = await form_of(request, user)
    upload = form.get("file")
    who = dict(request_id=text(form, "request_id", 100) or None, actor=user.actor(), now=now_of(request))
    try:
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(MAX_FILE + 1)
            upload_material(store_of(request), **who, case_id=case_id, kind=text(form, "kind", 200),
                            reference=text(form, "reference", 500), filename=upload.filename, content=content)
        else:
            dispositions.file_material(store_of(request), **who, case_id=case_id, kind=text(form, "kind", 200),
                                       reference=text(form, "reference", 500))
    except Refusal as exc:
        return show_case(request, case_id, errors={"material": exc.text}, status=409)
    return render.redirect(f"/cases/{quote(case_id)}?done=material#materials")


@router.get("/files/{file_id}")
def file_download(request: Request, file_id: str):
    user = require_user(request)
    found = download(store_of(request), user.actor(), file_id, now_of(request))
    return Response(found.content, media_type=found.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.filename)}"})


@router.get("/cases/{case_id}/paper")
def case_paper(request: Request, case_id: str):
    """附件4 全程纪实表 of this case, print-ready (an export of personal data: audited)."""
    user = require_user(request)
    store, now = store_of(request), now_of(request)
    with store.reading() as s:
        case_page(s, user.actor(), case_id, now)  # refuses a case outside the actor's tree
        html = render_dossier_html(s, case_id, now=now)
    audit_read(store, user.actor(), now, what="export:dossier", case_id=case_id)
    return HTMLResponse(html)
