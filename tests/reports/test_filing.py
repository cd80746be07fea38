"""The papers as a person files them, measured in Chromium (Debian's /usr/bin/chromium through playwright): the
ledger fits the printable width of landscape A4 at 100 % with every file number on one line; a witness's name never
breaks across lines and the attempt's remark shows; every printed page carries 第 N 页 / 共 M 页."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from casework.search import record_attempt
from reports import (render_dossier_html, render_ledger_html, render_roster_html, render_statistics_html,
                     render_unreachable_html)
from reports.pdf import PdfPrinter
from tests.casework.drive import case_of, start
from tests.reports.cases import (FIRST_ATTEMPT, add_full_member, drive_removal, drive_suspended, removal_member,
                                 suspended_member)
from tests.reports.test_pdf import is_a4, pages, text
from tests.reports.test_statistics import GOOD

pytestmark = pytest.mark.browser

PX_PER_MM = 96 / 25.4
LANDSCAPE_PRINTABLE_MM = 297 - 12 - 12  # list.html.j2's @page margins
PORTRAIT_PRINTABLE_MM = 210 - 16 - 14  # dossier.html.j2's @page margins
LONG_CAMPAIGN = "DEMO20260307"  # the demo's campaign ids: its case ids are 18 characters


@pytest.fixture(scope="module")
def printer():
    """One Chromium for the module: it prints the PDFs and lays out the pages measured here."""
    with PdfPrinter() as p:
        yield p


def printed(printer, html: str, printable_mm: float):
    """The page laid out as print lays it out: print media, the viewport as wide as the printable area."""
    page = printer.browser.new_page(viewport={"width": int(printable_mm * PX_PER_MM), "height": 900})
    page.emulate_media(media="print")
    page.set_content(html, wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page


# The number of lines a piece of text takes: the distinct tops of its line boxes.
LINES_OF = """(el, sub) => {
  const lines = (range) => new Set([...range.getClientRects()].filter(r => r.width > 0)
                                   .map(r => Math.round(r.top))).size;
  const range = document.createRange();
  if (!sub) { range.selectNodeContents(el); return lines(range); }
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const at = n.data.indexOf(sub);
    if (at >= 0) { range.setStart(n, at); range.setEnd(n, at + sub.length); return lines(range); }
  }
  return -1;
}"""

OVERFLOW = """() => {
  const t = document.querySelector('table.form');
  return {
    table: t.getBoundingClientRect().right, page: document.documentElement.scrollWidth, view: window.innerWidth,
    overflowing: [...t.querySelectorAll('td')].filter(td => td.scrollWidth > td.clientWidth + 1)
                  .map(td => (td.dataset.field || '') + ':' + td.textContent.trim()),
  };
}"""


def long_id_ledger(store) -> dict:
    """Cases under a campaign with the demo's long id, with long dispositions, an international phone, a long
    position and an empty phone."""
    removal = removal_member(store)
    suspended = suspended_member(store)
    add_full_member(store, name="欧阳明辉", phone="+86 139 1234 5678", position="某跨国物流集团华南区域运营中心调度员")
    add_full_member(store, name="吴静", phone="-", position="待业")
    start(store, campaign_id=LONG_CAMPAIGN)
    drive_removal(store, removal, attempts=2)
    drive_suspended(store, suspended)
    return {"campaign": LONG_CAMPAIGN}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_ledger_fits_landscape_a4_at_100_percent(orgs, printer, tmp_path):
    long_id_ledger(orgs)
    with orgs.reading() as s:
        htmls = {render.__name__: render(s, "TOWN", LONG_CAMPAIGN)
                 for render in (render_ledger_html, render_roster_html, render_unreachable_html)}
    for name, html in htmls.items():
        page = printed(printer, html, LANDSCAPE_PRINTABLE_MM)
        m = page.evaluate(OVERFLOW)
        assert m["table"] <= m["view"] + 0.5 and m["page"] <= m["view"], (name, m)
        assert m["overflowing"] == [], (name, m["overflowing"])  # no text runs past its cell's border
        if name == "render_ledger_html":
            ids = page.query_selector_all("td[data-field=case_id]")
            assert len(ids) == 4 and all(c.text_content().startswith(LONG_CAMPAIGN) for c in ids)
            assert [c.evaluate(LINES_OF, None) for c in ids] == [1, 1, 1, 1]  # 档案编号 on one line
            for key in ("name", "birth", "joined", "phone"):
                cells = page.query_selector_all(f"td[data-field={key}]")
                assert all(c.evaluate(LINES_OF, None) <= 1 for c in cells), key
        page.close()

    # And the project's own PDF: one landscape page, every file number whole on its line, the page numbered.
    pdf = printer.print(htmls["render_ledger_html"], tmp_path / "ledger.pdf")
    (page,) = pages(pdf)
    assert is_a4(page, landscape=True)
    content = text(page)
    for n in range(1, 5):
        assert f"{LONG_CAMPAIGN}-{n:05d}" in content
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*1\s*页", content)


WITNESSES = ["东山村党支部组织委员 李秀兰", "李四、王五、欧阳明辉", "镇党委工作人员 钱小芳", "东山村党支部组织委员 李秀兰"]
REMARKS = ["本人手机已停机", "已请村委会协助打听", "", "继续查找"]


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_search_log_keeps_names_whole_and_shows_remarks(orgs, printer):
    m = suspended_member(orgs)
    start(orgs, campaign_id="RCW")
    cid = case_of(orgs, m.member_id)
    plan = [("direct", "sec1"), ("network", "sec1"), ("department", "town_staff"), ("other", "sec1")]
    for k, ((stage, actor), witness, remark) in enumerate(zip(plan, WITNESSES, REMARKS)):
        when = FIRST_ATTEMPT + dt.timedelta(days=k)
        record_attempt(orgs, actor_id=actor, now=when + dt.timedelta(hours=1), case_id=cid, stage=stage,
                       method="打电话" if stage != "department" else "公安户籍系统",
                       description=f"第{k + 1}次查找，未果", witness=witness, outcome="not_found",
                       attempted_at=when.isoformat(), remark=remark, concludes_stage=k != 3)
    with orgs.reading() as s:
        html = render_dossier_html(s, cid)
    page = printed(printer, html, PORTRAIT_PRINTABLE_MM)
    rows = page.query_selector_all("tr[data-attempt]")
    assert len(rows) == 4
    for row, witness, remark in zip(rows, WITNESSES, REMARKS):
        cell = row.query_selector("td[data-field=witness]")
        assert " ".join(cell.text_content().split()) == witness
        for name in re.split(r"[\s、]+", witness)[-3:]:
            if len(name) <= 4:  # the names (not the title before them) stay on one line
                assert cell.evaluate(LINES_OF, name) == 1, (witness, name)
        assert row.query_selector("td[data-field=remark]").text_content().strip() == remark
    page.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_every_printed_page_is_numbered(orgs, papers, printer, tmp_path):
    """第 N 页 / 共 M 页 at the foot of every page: a two-page record says 第 1 页 / 共 2 页 and 第 2 页 / 共 2 页."""
    long_case = drive_removal(orgs, _member(orgs), attempts=16)
    with orgs.reading() as s:
        two = printer.print(render_dossier_html(s, long_case.case_id), tmp_path / "long.pdf")
        one = printer.print(render_dossier_html(s, papers["contacted"].case_id), tmp_path / "one.pdf")
        roster = printer.print(render_roster_html(s, "TOWN", papers["campaign"]), tmp_path / "roster.pdf")
    ps = pages(two)
    assert len(ps) == 2
    for n, p in enumerate(ps, 1):
        assert re.search(rf"第\s*{n}\s*页\s*/\s*共\s*2\s*页", text(p)), text(p)[-80:]
    for pdf in (one, roster):
        (p,) = pages(pdf)
        assert re.search(r"第\s*1\s*页\s*/\s*共\s*1\s*页", text(p))


def _member(store):
    from tests.reports.cases import new_campaign

    m = removal_member(store, "马长记")
    new_campaign(store)
    return m


def test_statistics_period_fits_its_cell(printer):
    """统计时间 as a period or a quarter: each date whole on its line, nothing past the cell's border."""
    for period in ("2026.03.07—2026.04.20", "2026年第一季度（截至2026.03.25）"):
        page = printed(printer, render_statistics_html(GOOD, org_name="某镇党委", period_label=period), 297 - 20)
        m = page.evaluate(OVERFLOW)
        assert m["overflowing"] == [] and m["page"] <= m["view"], (period, m)
        cell = page.query_selector("td[data-field=period]")
        assert " ".join(cell.text_content().split()) == period
        for day in re.findall(r"\d{4}\.\d{2}\.\d{2}", period):
            assert cell.evaluate(LINES_OF, day) == 1, (period, day)
        page.close()
