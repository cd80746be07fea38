"""附件5 统计表: refuses a hand table that breaks a relation, renders a computed one with the form's merged header,
and writes the same to XLSX."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook

from casework.queries import statistics
from models.errors import Refusal
from models.statistics import LETTERS, check_table
from reports import render_statistics_html, statistics_xlsx
from tests.reports.htmlparse import parse

# A consistent hand table: A=B+O+X, B=C+G+M+N, G=H+..+L, O=P+S+V+W, P=Q+R, S=T+U.
GOOD = dict(A=20, B=12, C=6, D=1, E=1, F=2, G=4, H=1, I=1, J=1, K=0, L=1, M=1, N=1,
            O=7, P=2, Q=1, R=1, S=3, T=2, U=1, V=1, W=1, X=1)


def test_header_words_are_the_forms_headings():
    from models.statistics import HEADINGS
    from reports.statistics_form import HEADER

    for cell in HEADER:
        if cell.letter and cell.text != "总数":
            assert cell.text in HEADINGS[cell.letter], (cell.letter, cell.text)
    assert {c.letter for c in HEADER if c.letter} == set(LETTERS)


def test_good_hand_table_is_consistent():
    assert check_table(GOOD) == []


def test_refuses_a_table_that_breaks_a_relation(tmp_path):
    bad = {**GOOD, "A": 21}
    with pytest.raises(Refusal) as err:
        render_statistics_html(bad, org_name="某镇党委", period_label="2026年第一季度")
    assert err.value.code == "statistics_inconsistent"
    assert err.value.rule == "002 附件5"
    assert "A＝B+O+X不成立" in err.value.message
    assert err.value.details["problems"] == check_table(bad)
    with pytest.raises(Refusal) as err:
        statistics_xlsx(bad, tmp_path / "t.xlsx")
    assert "A＝B+O+X不成立" in err.value.message
    assert not (tmp_path / "t.xlsx").exists()


def test_refusal_names_every_broken_relation():
    bad = {**GOOD, "G": 5, "S": 2, "D": 5}  # breaks B, G, O, S and "D,E,F within C"
    with pytest.raises(Refusal) as err:
        render_statistics_html(bad)
    message = err.value.message
    for formula in ("B＝C+G+M+N不成立", "G＝H+I+J+K+L不成立", "O＝P+S+V+W不成立", "S＝T+U不成立"):
        assert formula in message
    assert "A＝B+O+X不成立" not in message
    assert "D、E、F是C的“其中”项" in message
    assert len(err.value.details["problems"]) == 5


def test_refuses_missing_and_negative_cells():
    table = {**GOOD}
    del table["W"]
    with pytest.raises(Refusal) as err:
        render_statistics_html({**table, "X": -1})
    assert "W列" in err.value.message and "不能为负数" in err.value.message


def test_renders_a_computed_table_with_the_form_header(orgs, papers):
    with orgs.reading() as s:
        computed = statistics(s, "TOWN", campaign_id=papers["campaign"])
    table = computed["table"]
    assert table["A"] == 4 and table["C"] == 1 and table["H"] == 1 and table["T"] == 1 and table["W"] == 1
    html = render_statistics_html(computed, org_name="某镇党委", period_label="2026年第一季度", leader="赵书记",
                                  filled_by="钱干事", phone="0471-1234567", filled_on="2026年3月28日")
    page = parse(html)
    assert "与党组织失去联系党员规范管理和组织处置有关情况统计表" in page.text
    for letter in LETTERS:
        assert page.find(data_cell=letter).text == str(table[letter])
    assert page.field("period") == "2026年第一季度"
    assert page.field("leader") == "赵书记" and "负责领导（签字）" in page.text
    assert page.field("filled_by") == "钱干事" and page.field("filled_on") == "2026年3月28日"
    assert "备注：1.表内关系：A＝B+O+X；B＝C+G+M+N；G＝H+I+J+K+L；O＝P+S+V+W；P＝Q+R；S＝T+U" in page.text
    assert "填报单位（盖章）" in page.text

    # The three header rows: every <td> with its spans.
    tds = []
    row = -1
    for tag, attrs in page.elements:
        if tag == "tr":
            row += 1
        elif tag == "td" and row < 3:
            tds.append((row, int(attrs.get("rowspan", 1)), int(attrs.get("colspan", 1)), attrs.get("data-head")))
    # 25 columns (统计时间 + A..X) covered exactly, row by row, once the spans are laid out.
    grid = [[False] * 25 for _ in range(3)]
    for r, rowspan, colspan, _head in tds:
        c = grid[r].index(False)
        for rr in range(r, r + rowspan):
            for cc in range(c, c + colspan):
                assert not grid[rr][cc]
                grid[rr][cc] = True
    assert all(all(x) for x in grid)
    heads = {h: (r, rowspan, colspan) for r, rowspan, colspan, h in tds if h}
    assert heads["A"] == (0, 3, 1) and heads["X"] == (0, 3, 1)
    assert heads["B"] == (1, 2, 1) and heads["O"] == (1, 2, 1) and heads["M"] == (1, 2, 1)
    assert heads["W"] == (1, 2, 1) and heads["N"] == (1, 2, 1) and heads["V"] == (1, 2, 1)
    for letter in "CDEFGHIJKLPQRSTU":
        assert heads[letter] == (2, 1, 1), letter
    colspans = [colspan for r, _rs, colspan, _h in tds if colspan > 1]
    assert colspans == [13, 9, 4, 6, 3, 3]  # B..N, O..W; then C..F, G..L, P..R, S..U
    # The letters row A..X under the header.
    assert [n.text for n in page.find_all(data_letter=None)] == list(LETTERS)


# Sheet column 1 is 统计时间, 2..25 are A..X; the header is rows 4-6, letters row 7, values row 8.
EXPECTED_MERGES = {
    "A4:A6",  # 统计时间
    "B4:B6",  # A
    "C4:O4",  # 经查找取得联系的党员 over B..N
    "P4:X4",  # 目前仍未取得联系的党员 over O..W
    "Y4:Y6",  # X
    "C5:C6",  # B 总数
    "D5:G5",  # 纳入组织管理人数 over C, D, E, F
    "H5:M5",  # 给予组织处置出党人数 over G..L
    "N5:N6", "O5:O6",  # M, N
    "P5:P6",  # O 总数
    "Q5:S5",  # P over Q, R
    "T5:V5",  # S over T, U
    "W5:W6", "X5:X6",  # V, W
}


def test_statistics_xlsx_has_the_merged_header_and_values(tmp_path):
    path = statistics_xlsx(GOOD, tmp_path / "统计表.xlsx", org_name="某镇党委", period_label="2026年第一季度",
                           leader="赵书记", filled_by="钱干事")
    ws = load_workbook(path).active
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert EXPECTED_MERGES <= merged
    header_merges = {m for m in merged if m[1] in "456" and m.split(":")[1][1:] in "456"}
    assert header_merges == EXPECTED_MERGES
    assert ws["C4"].value == "经查找取得联系的党员" and ws["P4"].value == "目前仍未取得联系的党员"
    assert ws["D5"].value == "纳入组织管理人数" and ws["T5"].value == "停止党籍人数"
    assert ws["B4"].value == "超过六个月未与党组织联系的党员总数" and ws["Y4"].value == "确认已死亡的人数"
    assert ws["U6"].value == "确定无法取得联系而停止党籍人数"
    assert [ws.cell(row=7, column=k).value for k in range(2, 26)] == list(LETTERS)
    assert [ws.cell(row=8, column=k).value for k in range(2, 26)] == [GOOD[x] for x in LETTERS]
    assert ws["A8"].value == "2026年第一季度"
    assert "负责领导（签字）：赵书记" in ws["A3"].value
    assert any(str(c.value or "").startswith("备注：1.表内关系：A＝B+O+X") for c in ws["A"])
    assert any("填表人：钱干事" == c.value for row in ws.iter_rows() for c in row)
    assert ws.page_setup.orientation == "landscape"
    assert ws.column_dimensions["A"].width >= 10


def test_statistics_xlsx_of_a_computed_table(orgs, papers, tmp_path):
    with orgs.reading() as s:
        computed = statistics(s, "TOWN", campaign_id=papers["campaign"])
    ws = load_workbook(statistics_xlsx(computed, tmp_path / "s.xlsx")).active
    assert {x: ws.cell(row=8, column=k).value for k, x in enumerate(LETTERS, 2)} == computed["table"]
