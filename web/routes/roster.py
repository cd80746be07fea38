"""名册导入: upload a CSV or XLSX roster and see the line-numbered report before anything is imported; then import
(all rows, or only the valid ones when the committee chooses so). The upload is kept only in the form between the
two steps (as the file itself, re-sent), never on the server's disk."""
from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from casework.roster import import_roster_bytes
from casework.roster_preview import preview_roster
from models.errors import Refusal

from .. import render
from ..deps import form_of, now_of, require_user, store_of, text

router = APIRouter(include_in_schema=False)
MAX_ROSTER = 10 * 1024 * 1024


@router.get("/roster")
def roster_page(request: Request):
    require_user(request)
    return render.page(request, "roster.html", report=None, result=None)


@router.post("/roster")
async def roster_upload(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render.page(request, "roster.html", status=422, report=None, result=None,
                           errors={"file": "请选择要导入的名册文件（CSV或XLSX）"})
    data = await upload.read(MAX_ROSTER + 1)
    if len(data) > MAX_ROSTER:
        return render.page(request, "roster.html", status=413, report=None, result=None,
                           errors={"file": "名册文件不能超过10MB，请分批导入"})
    mode = text(form, "mode", 10)  # check | valid | all
    name = upload.filename[:200]
    try:
        if mode == "check":
            report = preview_roster(store_of(request), data, name, base_committee_id=user.org_id or "",
                                    actor=user.actor(), now=now_of(request))
            return render.page(request, "roster.html", report=report, result=None)
        result = import_roster_bytes(store_of(request), data, name, base_committee_id=user.org_id or "",
                                     actor_id=user.person_id, now=now_of(request),
                                     accept_valid_rows=mode == "valid", request_id=text(form, "request_id", 100)
                                     or None)
    except Refusal as exc:
        return render.page(request, "roster.html", status=409, report=exc.details.get("report"), result=None,
                           errors={"file": exc.text})
    return render.page(request, "roster.html", report=None, result=result)
