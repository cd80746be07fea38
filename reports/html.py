"""The papers as print-ready HTML (A4, CSS @page, Chinese fonts): open in a browser and print, or pass to
`reports.pdf.html_to_pdf`."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from models.statistics import LETTERS

from models.display import cn_date, text_width
from .statistics_form import NOTES, TITLE, checked, header_rows
from .views import ListPaper, dossier_view, ledger_paper, roster_paper, unreachable_paper

TEMPLATES = Path(__file__).parent / "templates"


def css_string(value: object) -> Markup:
    """Text for inside a CSS string in a <style> (the running head of a continued page): CSS escapes, not HTML ones,
    for quotes, backslashes, angle brackets, ampersands and line breaks."""
    return Markup("".join(f"\\{ord(ch):06x}" if ch in '"\'\\<>&\n\r' else ch for ch in str(value)))


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["css_string"] = css_string
    env.filters["width"] = text_width
    return env


def render_dossier_html(session: Session, case_id: str, *, now: dt.datetime | None = None) -> str:
    """附件4 失联党员查找处置全程纪实表 of one case (one person, one file): one A4 page for a normal case. `now` ends the
    lost-contact time of a case still searching (the real time when not given)."""
    return environment().get_template("dossier.html.j2").render(d=dossier_view(session, case_id, now=now))


# A cell of a one-line column longer than this (half-width cells) wraps after all: one odd value must not squeeze
# every other column of the landscape page.
NOWRAP_CAP = 30


def render_list_html(paper: ListPaper) -> str:
    return environment().get_template("list.html.j2").render(
        p=paper, total_width=sum(c.width for c in paper.columns), nowrap_cap=NOWRAP_CAP)


def render_roster_html(session: Session, org_id: str, campaign_id: str | None = None) -> str:
    """失联党员名册 [002], landscape A4."""
    return render_list_html(roster_paper(session, org_id, campaign_id))


def render_unreachable_html(session: Session, org_id: str, campaign_id: str | None = None) -> str:
    """经查找仍然无法取得联系党员登记表 [002], landscape A4."""
    return render_list_html(unreachable_paper(session, org_id, campaign_id))


def render_ledger_html(session: Session, org_id: str, campaign_id: str | None = None) -> str:
    """失联党员工作台账 [000 §6], landscape A4."""
    return render_list_html(ledger_paper(session, org_id, campaign_id))


def _date_text(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return cn_date(value)
    return str(value)


def render_statistics_html(table: dict[str, Any], *, org_name: str = "", period_label: str = "",
                           leader: str = "", filled_by: str = "", phone: str = "",
                           filled_on: Any = None) -> str:
    """附件5 统计表 with its three-row header. A table whose relations do not hold is refused
    (`Refusal("statistics_inconsistent")` naming every broken relation)."""
    cells = checked(table)
    return environment().get_template("statistics.html.j2").render(
        title=TITLE, header=header_rows(), letters=LETTERS, cells=cells, notes=NOTES, org_name=org_name,
        period_label=period_label, leader=leader, filled_by=filled_by, phone=phone,
        filled_on=_date_text(filled_on))
