"""统计表 A-X with its six relations, the checker for a table typed in by hand, and downloads of every form (HTML,
XLSX, PDF where Chromium is installed). Every download of personal data is an audit event."""
from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from casework.access import audit_read, require_org
from casework.queries import statistics
from casework.workbench import campaigns_for
from models.statistics import HEADINGS, LETTERS, RELATIONS, check_table
from models.store import Campaign
from reports import pdf
from reports.export import statistics_heading
from reports.html import (render_ledger_html, render_roster_html, render_statistics_html,
                          render_unreachable_html)
from reports.xlsx import ledger_xlsx, roster_xlsx, statistics_xlsx, unreachable_xlsx

from .. import render
from ..deps import form_of, now_of, require_user, store_of

router = APIRouter(include_in_schema=False)

PAPERS = {  # name -> (Chinese title, HTML renderer, XLSX writer, holds personal data)
    "roster": ("失联党员名册", render_roster_html, roster_xlsx, True),
    "unreachable": ("经查找仍然无法取得联系党员登记表", render_unreachable_html, unreachable_xlsx, True),
    "ledger": ("失联党员工作台账", render_ledger_html, ledger_xlsx, True),
    "statistics": ("统计表", None, None, False),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _org_and_campaign(request: Request, user, org: str, campaign: str):
    org_id = org or user.org_id or ""
    with store_of(request).reading() as s:
        organisation = require_org(s, user.actor(), org_id)
        camp = s.get(Campaign, campaign) if campaign else None
        return organisation, camp


@router.get("/stats")
def stats_page(request: Request, org: str = "", campaign: str = ""):
    user = require_user(request)
    organisation, camp = _org_and_campaign(request, user, org, campaign)
    with store_of(request).reading() as s:
        table = statistics(s, organisation.id, campaign_id=camp.id if camp else None)["table"]
        campaigns = campaigns_for(s, user.actor())
    relations = [(total, parts, table[total], sum(table[p] for p in parts)) for total, parts in RELATIONS]
    return render.page(request, "stats.html", org=organisation, campaign=camp, table=table, letters=LETTERS,
                       headings=HEADINGS, relations=relations, campaigns=campaigns, problems=None, typed={},
                       papers=PAPERS, pdf_ok=pdf.available())


@router.post("/stats/check")
async def stats_check(request: Request):
    user = require_user(request)
    form = await form_of(request, user)
    typed = {letter: str(form.get(letter) or "")[:10] for letter in LETTERS}
    problems = check_table(typed)
    organisation, _camp = _org_and_campaign(request, user, "", "")
    with store_of(request).reading() as s:
        table = statistics(s, organisation.id)["table"]
        campaigns = campaigns_for(s, user.actor())
    relations = [(total, parts, table[total], sum(table[p] for p in parts)) for total, parts in RELATIONS]
    return render.page(request, "stats.html", org=organisation, campaign=None, table=table, letters=LETTERS,
                       headings=HEADINGS, relations=relations, campaigns=campaigns, problems=problems, typed=typed,
                       papers=PAPERS, pdf_ok=pdf.available())


@router.get("/exports/{paper}.{fmt}")
async def export(request: Request, paper: str, fmt: str, org: str = "", campaign: str = ""):
    user = require_user(request)
    if paper not in PAPERS or fmt not in ("html", "xlsx", "pdf"):
        raise HTTPException(404)
    if fmt == "pdf" and not pdf.available():
        raise HTTPException(409, "本服务器未安装Chromium，暂不能生成PDF，请下载HTML后用浏览器打印")
    organisation, camp = _org_and_campaign(request, user, org, campaign)
    title, to_html, to_xlsx, personal = PAPERS[paper]
    store, now = store_of(request), now_of(request)
    campaign_id = camp.id if camp else None
    with store.reading() as s:
        if paper == "statistics":
            table = statistics(s, organisation.id, campaign_id=campaign_id)["table"]
            heading = statistics_heading(s, organisation.id, campaign_id=campaign_id, now=now)
            html = render_statistics_html(table, **heading, filled_on=now)
        else:
            html = to_html(s, organisation.id, campaign_id)
        content: bytes
        if fmt == "xlsx":
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "paper.xlsx"
                if paper == "statistics":
                    statistics_xlsx(table, path, **heading, filled_on=now)
                else:
                    to_xlsx(s, organisation.id, campaign_id, path)
                content = path.read_bytes()
    if fmt == "pdf":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "paper.pdf"
            await asyncio.to_thread(pdf.html_to_pdf, html, path)
            content = path.read_bytes()
    if personal:
        audit_read(store, user.actor(), now, what=f"export:{paper}", org_id=organisation.id, format=fmt,
                   campaign=campaign_id)
    name = f"{organisation.name}{title}.{fmt}"
    if fmt == "html":
        return HTMLResponse(html)
    media = XLSX if fmt == "xlsx" else "application/pdf"
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
