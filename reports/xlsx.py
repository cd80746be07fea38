"""The papers as XLSX workbooks (openpyxl): the same headings as the HTML, merged header cells for the statistics
table, column widths that fit Chinese text, A4 page setup with page numbers so the workbook prints like the paper;
dates as real dates. Every text is written as a string cell that cannot evaluate (see `put`)."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from models.statistics import LETTERS

from models.display import as_date, text_width
from .html import _date_text
from .statistics_form import HEADER, NOTES, TITLE, checked
from .views import ListPaper, ledger_paper, roster_paper, unreachable_paper

FONT = "宋体"  # what offices open these with; LibreOffice maps it to Noto Serif CJK SC on Debian
HEAD_FONT = "黑体"
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
PLAIN_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=False)
# What makes a spreadsheet evaluate a typed text (formula, DDE): such a text gets the quote prefix.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
PAGE_NUMBERS = "第 &P 页 / 共 &N 页"
CN_DATE_FORMAT = 'yyyy"年"m"月"d"日"'
SUBSTITUTE = "\ufffd"  # shown where a control character (BEL, ESC …) was: a workbook cannot hold one


def put(ws: Worksheet, row: int, column: int, value: Any):
    """Write a cell. A text is always a string cell, never a formula (openpyxl would store “=…” as one), and a text
    that a spreadsheet would evaluate when typed (“=”, “+”, “-”, “@”, tab, CR first) also gets the quote prefix
    (Excel's leading ', shown as text and kept as text when the cell is edited). The value itself is unchanged, so
    a phone “+86 139…” or “-” still reads as written. Control characters that XML cannot carry (older records, from
    before the entrance refused them) become “\ufffd” instead of failing the whole export."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub(SUBSTITUTE, value)
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_LEADS):
            cell.quotePrefix = True
    return cell


def _fit_width(texts, *, minimum: float = 4, maximum: float = 40) -> float:
    """An Excel column width (in character cells) that fits the longest line; a Chinese character is two cells."""
    widest = max((text_width(line) for t in texts for line in str(t or "").splitlines() or [""]), default=0)
    return max(minimum, min(maximum, widest * 1.1 + 2))


def _page_setup(ws: Worksheet, *, landscape: bool, title_rows: str | None = None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.47
    ws.page_margins.top = ws.page_margins.bottom = 0.55
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = PAGE_NUMBERS
    ws.oddFooter.center.size = 9


def _day(value: Any) -> dt.date | None:
    """The 填报日期 as a date when it is one (a date, or ISO text); None for nothing or free text."""
    try:
        return as_date(value)
    except ValueError:
        return None


def _merge_text(ws: Worksheet, row: int, first: int, last: int, text: str, *, font: Font,
                align: Alignment = PLAIN_LEFT, height: float | None = None) -> None:
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    cell = put(ws, row, first, text)
    cell.font, cell.alignment = font, align
    if height:
        ws.row_dimensions[row].height = height


def write_list(paper: ListPaper, path: str | os.PathLike) -> str:
    """A list (名册, 登记表, 台账) as one sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = paper.title[:31]
    n = len(paper.columns)
    _merge_text(ws, 1, 1, n, paper.title, font=Font(name=FONT, size=18, bold=True), align=CENTER, height=34)
    meta = f"填报单位（盖章）：{paper.org_name}"
    if paper.campaign_name:
        meta += f"　　　　排查工作：{paper.campaign_name}"
    meta += f"　　　　共{len(paper.rows)}人"
    _merge_text(ws, 2, 1, n, meta, font=Font(name=FONT, size=11), height=20)
    head_row = 3
    for j, col in enumerate(paper.columns, 1):
        c = put(ws, head_row, j, col.heading)
        c.font, c.alignment, c.border = Font(name=HEAD_FONT, size=10, bold=True), CENTER, BOX
    ws.row_dimensions[head_row].height = 32
    for k, row in enumerate(paper.rows):
        typed = paper.values[k] if k < len(paper.values) else {}
        for j, col in enumerate(paper.columns, 1):
            value: Any = row.get(col.key, "")
            if col.key == "seq" and str(value).isdigit():
                value = int(value)
            elif typed.get(col.key) is not None:
                value = typed[col.key]  # a real date: sorts and filters as one, shown as the paper prints it
            c = put(ws, head_row + 1 + k, j, value)
            c.font, c.border = Font(name=FONT, size=10), BOX
            c.alignment = LEFT if col.align == "left" else CENTER
            if isinstance(value, dt.date):
                c.number_format = col.number_format or "yyyy.mm.dd"
            else:
                c.number_format = "@" if isinstance(value, str) else "General"
    for j, col in enumerate(paper.columns, 1):
        texts = [col.heading, *(r.get(col.key, "") for r in paper.rows)]
        cap = 14 if col.key == "seq" else (44 if col.align == "left" else 30)
        ws.column_dimensions[get_column_letter(j)].width = _fit_width(texts, minimum=max(6, col.width / 3.2),
                                                                      maximum=cap)
    r = head_row + len(paper.rows) + 2
    for k, note in enumerate(paper.notes, 1):
        _merge_text(ws, r, 1, n, f"{k}．{note}", font=Font(name=FONT, size=9), align=LEFT, height=26)
        r += 1
    r += 1
    per = max(1, n // max(1, len(paper.footer)))
    for k, text in enumerate(paper.footer):
        first = 1 + k * per
        last = n if k == len(paper.footer) - 1 else first + per - 1
        _merge_text(ws, r, first, last, text, font=Font(name=FONT, size=11))
    ws.freeze_panes = ws.cell(row=head_row + 1, column=1)
    if paper.autofilter:
        ws.auto_filter.ref = f"A{head_row}:{get_column_letter(n)}{head_row + max(1, len(paper.rows))}"
    _page_setup(ws, landscape=True, title_rows=f"{head_row}:{head_row}")
    return _save(wb, path)


def _save(wb: Workbook, path: str | os.PathLike) -> str:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return str(target)


def roster_xlsx(session: Session, org_id: str, campaign_id: str | None, path: str | os.PathLike) -> str:
    """失联党员名册 as XLSX."""
    return write_list(roster_paper(session, org_id, campaign_id), path)


def unreachable_xlsx(session: Session, org_id: str, campaign_id: str | None, path: str | os.PathLike) -> str:
    """经查找仍然无法取得联系党员登记表 as XLSX."""
    return write_list(unreachable_paper(session, org_id, campaign_id), path)


def ledger_xlsx(session: Session, org_id: str, campaign_id: str | None, path: str | os.PathLike) -> str:
    """失联党员工作台账 as XLSX."""
    return write_list(ledger_paper(session, org_id, campaign_id), path)


# ---------------------------------------------------------------- the statistics table

STAT_HEADER_ROW = 4  # the first of the three header rows; the letters row and the value row follow


def statistics_xlsx(table: dict[str, Any], path: str | os.PathLike, *, org_name: str = "", period_label: str = "",
                    leader: str = "", filled_by: str = "", phone: str = "", filled_on: Any = None) -> str:
    """附件5 统计表 as XLSX, its header merged as the form merges it; a table whose relations do not hold is refused
    like the HTML (`Refusal("statistics_inconsistent")`). Sheet column 1 is 统计时间, columns 2-25 are A-X."""
    cells = checked(table)
    wb = Workbook()
    ws = wb.active
    ws.title = "统计表"
    last = 1 + len(LETTERS)
    put(ws, 1, 1, "附件5").font = Font(name=HEAD_FONT, size=12)
    _merge_text(ws, 2, 1, last, TITLE, font=Font(name=FONT, size=18, bold=True), align=CENTER, height=36)
    _merge_text(ws, 3, 1, 12, f"负责领导（签字）：{leader}", font=Font(name=FONT, size=11), height=22)
    if org_name:
        _merge_text(ws, 3, 13, last, f"填报单位：{org_name}", font=Font(name=FONT, size=11),
                    align=Alignment(horizontal="right", vertical="center"))
    head_font = Font(name=FONT, size=9)
    for cell in HEADER:
        r, c = STAT_HEADER_ROW + cell.row, 1 + cell.col
        if cell.rowspan > 1 or cell.colspan > 1:
            ws.merge_cells(start_row=r, start_column=c, end_row=r + cell.rowspan - 1,
                           end_column=c + cell.colspan - 1)
        x = put(ws, r, c, cell.text)
        x.font, x.alignment = head_font, CENTER
    for r in range(STAT_HEADER_ROW, STAT_HEADER_ROW + 5):
        for c in range(1, last + 1):
            ws.cell(row=r, column=c).border = BOX
    letters_row, values_row = STAT_HEADER_ROW + 3, STAT_HEADER_ROW + 4
    for k, letter in enumerate(LETTERS, 2):
        x = put(ws, letters_row, k, letter)
        x.font, x.alignment = Font(name=HEAD_FONT, size=10), CENTER
        v = put(ws, values_row, k, cells[letter])
        v.font, v.alignment = Font(name=FONT, size=12), CENTER
    p = put(ws, values_row, 1, period_label)
    p.font, p.alignment = Font(name=FONT, size=9), CENTER
    period_width = _fit_width(["统计时间", period_label], minimum=10, maximum=16)
    # 统计时间 wraps in its column (a quarter with its day takes three lines at 9 pt): the row grows to show it all.
    period_lines = -(-text_width(period_label) // max(1, int(period_width) - 2))
    for r, h in ((STAT_HEADER_ROW, 30), (STAT_HEADER_ROW + 1, 48), (STAT_HEADER_ROW + 2, 110), (letters_row, 18),
                 (values_row, max(28, 12 * period_lines + 4))):
        ws.row_dimensions[r].height = h
    ws.column_dimensions["A"].width = period_width
    for k in range(2, last + 1):
        ws.column_dimensions[get_column_letter(k)].width = 7.2
    r = values_row + 2
    for note in NOTES:
        _merge_text(ws, r, 1, last, note, font=Font(name=FONT, size=9), align=LEFT, height=18)
        r += 1
    r += 1
    foot = [(1, 6, f"填表人：{filled_by}"), (7, 12, f"联系电话：{phone}"), (13, 19, f"填报单位（盖章）：{org_name}")]
    day = _day(filled_on)
    if day is None:
        foot.append((20, last, f"填报日期：{_date_text(filled_on)}"))
    else:
        foot.append((20, 21, "填报日期："))
    for first, end, text in foot:
        _merge_text(ws, r, first, end, text, font=Font(name=FONT, size=11), height=22)
    if day is not None:  # a real date beside its label, printed as the form writes it
        ws.merge_cells(start_row=r, start_column=22, end_row=r, end_column=last)
        d = put(ws, r, 22, day)
        d.number_format, d.font, d.alignment = CN_DATE_FORMAT, Font(name=FONT, size=11), PLAIN_LEFT
    _page_setup(ws, landscape=True)
    return _save(wb, path)
