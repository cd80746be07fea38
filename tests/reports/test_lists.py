"""失联党员名册, 经查找仍然无法取得联系党员登记表 and 失联党员工作台账: HTML and XLSX read back against the store."""
from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import select

from models.store import Case, Member, Organisation
from reports import (ledger_xlsx, render_ledger_html, render_roster_html, render_unreachable_html, roster_xlsx,
                     unreachable_xlsx)
from models.display import text_width
from tests.reports.cases import add_full_member, new_campaign
from tests.reports.htmlparse import parse

ROSTER_HEADINGS = ["序号", "姓名", "性别", "出生年月", "入党时间", "组织关系所在党组织", "党组织类别", "职业",
                   "失去联系情形", "与党组织失去联系时间", "备注"]
LEDGER_HEADINGS = ["序号", "姓名", "性别", "出生日期", "加入党组织日期", "工作岗位", "联系电话", "所在党支部",
                   "与党组织失去联系时间", "查找情况", "组织处置情况", "目前状态", "档案编号"]


def rows_of(page) -> list[dict[str, str]]:
    return [{c.attrs["data-field"]: c.text for c in r.find_all(data_field=None)} for r in page.find_all(data_row=None)]


def headings_of(html: str) -> list[str]:
    return [n.text for n in parse(html).find_all(data_col=None)]


def members_by_name(store) -> dict[str, Member]:
    with store.reading() as s:
        return {m.name: m for m in s.scalars(select(Member))}


def test_roster_lists_every_lost_member_with_codes(orgs, papers):
    with orgs.reading() as s:
        html = render_roster_html(s, "TOWN", papers["campaign"])
    page = parse(html)
    assert page.field("title") == "失联党员名册"
    assert page.field("org") == "某镇党委"
    assert headings_of(html) == ROSTER_HEADINGS
    rows = rows_of(page)
    members = members_by_name(orgs)
    assert {r["name"] for r in rows} == {"陈小明", "刘大伟", "周海燕", "吴静"}
    assert page.field("count") == "4"
    for r in rows:
        m = members[r["name"]]
        assert r["gender"] == m.gender.label
        assert r["birth"] == f"{m.birth_date:%Y.%m}" and r["joined"] == f"{m.joined_on:%Y.%m}"
        assert r["situation"] == m.situation.display  # e.g. ①外出务工经商
        assert r["occupation"] == m.occupation.display
        assert r["org_category"] == "③农村"
        assert r["branch"] == "东村党支部"
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["周海燕"]["situation"] == "⑥居住地改变"
    assert by_name["吴静"]["occupation"] == "⑤高校毕业生"
    # The 填表要求's codes are printed under the table.
    assert "①外出务工经商；②单位改制或破产" in page.text and "⑨其他" in page.text


def test_unreachable_register_lists_only_the_unreachable(orgs, papers):
    with orgs.reading() as s:
        html = render_unreachable_html(s, "TOWN", papers["campaign"])
        suspended = s.get(Case, papers["suspended"].case_id)
    page = parse(html)
    assert page.field("title") == "经查找仍然无法取得联系党员登记表"
    assert headings_of(html)[:10] == ROSTER_HEADINGS[:10]
    (row,) = rows_of(page)
    assert row["name"] == "周海燕" and row["gender"] == "女" and row["birth"] == "1979.02"
    # 处置情况 names the disposition and where it stands, not only the case's state (已停止党籍 / 已办结).
    assert suspended.state.label == "已停止党籍"
    assert row["state"] == "停止党籍（确实无法取得联系）（已办结）"
    assert row["situation"] == "⑥居住地改变" and row["occupation"] == "⑥街道社区人户分离人员"
    assert "年" in row["lost_contact_time"] or "月" in row["lost_contact_time"]


def test_ledger_shows_search_and_disposition(orgs, papers):
    with orgs.reading() as s:
        html = render_ledger_html(s, "TOWN", papers["campaign"])
    page = parse(html)
    assert page.field("title") == "失联党员工作台账"
    assert headings_of(html) == LEDGER_HEADINGS
    rows = {r["name"]: r for r in rows_of(page)}
    members = members_by_name(orgs)
    for name, r in rows.items():
        m = members[name]
        assert r["birth"] == f"{m.birth_date:%Y.%m.%d}" and r["joined"] == f"{m.joined_on:%Y.%m.%d}"
        assert r["position"] == m.position and r["phone"] == (m.phone or "")
    assert rows["吴静"]["search"] == "查找中（直接联系）"
    assert rows["陈小明"]["search"] == "经查找取得联系"
    assert rows["周海燕"]["search"] == "目前仍未取得联系" or rows["周海燕"]["search"] == "已停止党籍"
    assert rows["刘大伟"]["disposition"] == "劝退，劝而不退除名（已办结）"
    assert rows["陈小明"]["disposition"] == "纳入党组织正常管理（已办结）"
    assert rows["刘大伟"]["case_id"] == papers["removal"].case_id
    assert rows["吴静"]["disposition"] == ""


def test_lists_follow_the_campaign_and_the_organisation(orgs, papers):
    add_full_member(orgs, name="郑后来", last_contact=__import__("datetime").date(2025, 1, 2))
    second = new_campaign(orgs)
    with orgs.reading() as s:
        first_rows = rows_of(parse(render_roster_html(s, "TOWN", papers["campaign"])))
        second_rows = rows_of(parse(render_roster_html(s, "TOWN", second)))
        b2 = rows_of(parse(render_roster_html(s, "B2", papers["campaign"])))
    assert "郑后来" not in {r["name"] for r in first_rows}
    assert "郑后来" in {r["name"] for r in second_rows}
    assert b2 == []


def shown(cell) -> str:
    """What the spreadsheet shows: a date in its number format (yyyy.mm.dd or yyyy.mm), anything else as text."""
    if cell.is_date:
        fmt = cell.number_format.replace("yyyy", "%Y").replace("mm", "%m").replace("dd", "%d")
        return cell.value.strftime(fmt)
    return str(cell.value if cell.value is not None else "")


def check_sheet(path, headings: list[str], expected_rows: list[dict[str, str]], keys: list[str]):
    wb = load_workbook(path)
    ws = wb.active
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    header = [ws.cell(row=3, column=j).value for j in range(1, len(headings) + 1)]
    assert header == headings
    got = []
    for i in range(len(expected_rows)):
        got.append({k: shown(ws.cell(row=4 + i, column=j + 1)) for j, k in enumerate(keys)})
    for g, e in zip(got, expected_rows):
        for k in keys:
            assert g[k] == e[k], (k, g[k], e[k])
    # Widths fit the Chinese text of every heading and cell (a Chinese character is two cells wide).
    for j, k in enumerate(keys, 1):
        width = ws.column_dimensions[ws.cell(row=3, column=j).column_letter].width
        longest = max(text_width(x) for x in [headings[j - 1], *(e[k] for e in expected_rows)])
        assert width >= min(longest, 30) * 0.9 or width >= 30, (k, width, longest)
    assert ws.cell(row=1, column=1).value in ("失联党员名册", "经查找仍然无法取得联系党员登记表", "失联党员工作台账")
    assert any(str(r) .startswith("A1:") for r in ws.merged_cells.ranges)
    return ws


def test_xlsx_lists_match_the_html(orgs, papers, tmp_path):
    campaign = papers["campaign"]
    with orgs.reading() as s:
        for render, to_xlsx, title in ((render_roster_html, roster_xlsx, "失联党员名册"),
                                       (render_unreachable_html, unreachable_xlsx, "经查找仍然无法取得联系党员登记表"),
                                       (render_ledger_html, ledger_xlsx, "失联党员工作台账")):
            html = render(s, "TOWN", campaign)
            page = parse(html)
            headings = headings_of(html)
            keys = [n.attrs["data-col"] for n in page.find_all(data_col=None)]
            path = to_xlsx(s, "TOWN", campaign, tmp_path / f"{title}.xlsx")
            ws = check_sheet(path, headings, rows_of(page), keys)
            assert ws.cell(row=1, column=1).value == title
            assert "某镇党委" in ws.cell(row=2, column=1).value


def test_org_names_come_from_the_store(orgs, papers):
    with orgs.reading() as s:
        name = s.get(Organisation, "TOWN").name
        assert parse(render_ledger_html(s, "TOWN")).field("org") == name
