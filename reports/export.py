"""`export_forms`: every paper of an organisation into one folder, ready to file (what `lostcontact export forms`
calls)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from casework.queries import statistics
from models.timing import utcnow

from models.display import as_date, cn_date, period_text, quarter_period, safe_filename
from .pdf import PdfPrinter
from .html import (render_dossier_html, render_ledger_html, render_roster_html, render_statistics_html,
                   render_unreachable_html)
from .sources import campaign_info, cases_under, org_name, org_secretary
from .statistics_form import checked
from .xlsx import ledger_xlsx, roster_xlsx, statistics_xlsx, unreachable_xlsx

DOSSIER_DIR = "全程纪实表"
ROSTER = "失联党员名册"
UNREACHABLE = "经查找仍然无法取得联系党员登记表"
LEDGER = "失联党员工作台账"
STATISTICS = "统计表"


def dossier_filename(case_id: str, member_name: str) -> str:
    return safe_filename(f"{case_id}_{member_name}") + ".html"


def statistics_heading(session: Session, org_id: str, *, campaign_id: str | None = None,
                       now: dt.datetime | None = None) -> dict[str, str]:
    """What heads the 统计表 of an organisation (keyword arguments of `render_statistics_html` and `statistics_xlsx`):
    填报单位 its name, 负责领导 its secretary, 统计时间 the campaign's period from its start date to the day of `now`
    (“2026.03.07—2026.04.20”), or “截至2026年4月20日” without a campaign."""
    now = now or utcnow()
    info = campaign_info(session, campaign_id)
    return {"org_name": org_name(session, org_id), "leader": org_secretary(session, org_id),
            "period_label": period_text(info.start_date, now) if info else f"截至{cn_date(now)}"}


def export_forms(session: Session, org_id: str, out_dir: str | os.PathLike, *, campaign_id: str | None = None,
                 table: dict[str, Any] | None = None, period_label: str | None = None, leader: str = "",
                 filled_by: str = "", phone: str = "", filled_on: Any = None,
                 pdf: bool = False, now: dt.datetime | None = None) -> dict[str, list[str]]:
    """Write the full-process record of every case under the organisation (one file per case, named by case id
    and member name), the roster, the register of members still unreachable, the ledger and the statistics table
    (HTML and XLSX; PDF too when `pdf`). `table` is a hand-entered statistics table; without it the table is
    computed from the store. An inconsistent table is refused before anything is written. Returns the paths by
    paper: dossiers, roster, unreachable, ledger, statistics. `now` (default the real time) is when the papers stand:
    the lost-contact time of a case still searching ends there. The statistics table's 统计时间 is the campaign's
    period, from its start date to that day (or “截至…” without a campaign); its 负责领导 is the organisation's
    secretary unless `leader` names someone."""
    now = now or utcnow()
    if table is None:
        table = statistics(session, org_id, campaign_id=campaign_id)["table"]
    checked(table)
    out = Path(out_dir)
    (out / DOSSIER_DIR).mkdir(parents=True, exist_ok=True)
    heading = statistics_heading(session, org_id, campaign_id=campaign_id, now=now)
    name = heading["org_name"]
    if period_label is None:
        period_label = heading["period_label"]
    leader = leader or heading["leader"]
    written: dict[str, list[str]] = {"dossiers": [], "roster": [], "unreachable": [], "ledger": [], "statistics": []}
    htmls: list[tuple[str, Path]] = []

    def put(key: str, path: Path, html: str) -> None:
        path.write_text(html, encoding="utf-8")
        written[key].append(str(path))
        htmls.append((key, path))

    for case_id, member_name in cases_under(session, org_id, campaign_id):
        put("dossiers", out / DOSSIER_DIR / dossier_filename(case_id, member_name),
            render_dossier_html(session, case_id, now=now))
    for key, stem, render, to_xlsx in (("roster", ROSTER, render_roster_html, roster_xlsx),
                                       ("unreachable", UNREACHABLE, render_unreachable_html, unreachable_xlsx),
                                       ("ledger", LEDGER, render_ledger_html, ledger_xlsx)):
        put(key, out / f"{stem}.html", render(session, org_id, campaign_id))
        written[key].append(to_xlsx(session, org_id, campaign_id, out / f"{stem}.xlsx"))
    meta = dict(org_name=name, period_label=period_label, leader=leader, filled_by=filled_by, phone=phone,
                filled_on=filled_on)
    put("statistics", out / f"{STATISTICS}.html", render_statistics_html(table, **meta))
    written["statistics"].append(statistics_xlsx(table, out / f"{STATISTICS}.xlsx", **meta))

    if pdf:
        with PdfPrinter() as printer:
            for key, path in htmls:
                written[key].append(printer.print(path.read_text(encoding="utf-8"), path.with_suffix(".pdf")))
    return written


def statistics_filing(session: Session, org_id: str, path: str | os.PathLike, *, as_of: dt.datetime,
                      table: dict[str, Any] | None = None) -> str:
    """The periodic (quarterly) 统计表 of a base committee as XLSX, as of a moment: 填报单位 the organisation's name,
    负责领导 its secretary, 统计时间 the quarter and the day it stands at, 填报日期 that day. `table` is the
    computed table when the caller has it already."""
    if table is None:
        table = statistics(session, org_id, as_of=as_of)["table"]
    return statistics_xlsx(table, path, org_name=org_name(session, org_id), period_label=quarter_period(as_of),
                           leader=org_secretary(session, org_id), filled_on=as_date(as_of))
