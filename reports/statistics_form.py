"""附件5 与党组织失去联系党员规范管理和组织处置有关情况统计表: its three-row header as the form merges it, and the
refusal of a table whose relations do not hold."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.errors import Refusal
from models.statistics import HEADINGS, LETTERS, check_table

TITLE = "与党组织失去联系党员规范管理和组织处置有关情况统计表"
RULE = "002 附件5"


@dataclass(frozen=True)
class HeaderCell:
    """One cell of the header: `col` 0 is 统计时间, 1-24 are A-X."""

    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    letter: str | None = None  # the column this cell heads, when it heads exactly one


def col_of(letter: str) -> int:
    return LETTERS.index(letter) + 1


def _one(row: int, letter: str, text: str, rowspan: int = 1) -> HeaderCell:
    return HeaderCell(row, col_of(letter), text, rowspan, 1, letter)


def _group(row: int, first: str, last: str, text: str) -> HeaderCell:
    return HeaderCell(row, col_of(first), text, 1, col_of(last) - col_of(first) + 1)


# As 附件5 groups them: B over C..N with C over D,E,F and G over H..L; O over P..W with P over Q,R and S over T,U.
HEADER: tuple[HeaderCell, ...] = (
    HeaderCell(0, 0, "统计时间", rowspan=3),
    _one(0, "A", "超过六个月未与党组织联系的党员总数", rowspan=3),
    _group(0, "B", "N", "经查找取得联系的党员"),
    _group(0, "O", "W", "目前仍未取得联系的党员"),
    _one(0, "X", "确认已死亡的人数", rowspan=3),

    _one(1, "B", "总数", rowspan=2),
    _group(1, "C", "F", "纳入组织管理人数"),
    _group(1, "G", "L", "给予组织处置出党人数"),
    _one(1, "M", "开除党籍人数", rowspan=2),
    _one(1, "N", "目前尚在调查核实人数", rowspan=2),
    _one(1, "O", "总数", rowspan=2),
    _group(1, "P", "R", "给予组织处置出党人数"),
    _group(1, "S", "U", "停止党籍人数"),
    _one(1, "V", "开除党籍人数", rowspan=2),
    _one(1, "W", "尚在查找联系人数", rowspan=2),

    _one(2, "C", "总数"),
    _one(2, "D", "保留组织关系人数"),
    _one(2, "E", "停止党籍人数"),
    _one(2, "F", "限期改正人数"),
    _one(2, "G", "总数"),
    _one(2, "H", "劝退或劝而不退除名人数"),
    _one(2, "I", "自行脱党除名人数"),
    _one(2, "J", "退党除名人数"),
    _one(2, "K", "不予承认党员资格人数"),
    _one(2, "L", "取消预备党员资格人数"),
    _one(2, "P", "总数"),
    _one(2, "Q", "自行脱党除名人数"),
    _one(2, "R", "取消预备党员资格人数"),
    _one(2, "S", "总数"),
    _one(2, "T", "确定无法取得联系而停止党籍人数"),
    _one(2, "U", "因出国（境）定居而停止党籍人数"),
)

NOTES = (
    "备注：1.表内关系：A＝B+O+X；B＝C+G+M+N；G＝H+I+J+K+L；O＝P+S+V+W；P＝Q+R；S＝T+U；",
    "2.在经查找取得联系的党员中，给予开除党籍以外的其他党纪处分的数量，统计在“纳入组织管理人数”（C）项中；",
    "3.目前仍未取得联系的党员中“开除党籍人数”（V）项，应为依据《中国共产党纪律处分条例》第三十六条规定，"
    "党组织作出开除党籍决定的。",
)


def header_rows() -> list[list[HeaderCell]]:
    rows: list[list[HeaderCell]] = [[], [], []]
    for cell in HEADER:
        rows[cell.row].append(cell)
    return [sorted(r, key=lambda c: c.col) for r in rows]


def cells_of(table: dict[str, Any]) -> dict[str, Any]:
    """Accept the bare table A-X or the answer of `casework.queries.statistics` (which holds it under "table")."""
    if "table" in table and isinstance(table["table"], dict):
        return table["table"]
    return table


def checked(table: dict[str, Any]) -> dict[str, int]:
    """The table's cells as integers, or a refusal naming every broken relation."""
    cells = cells_of(table)
    problems = check_table(cells)
    if problems:
        raise Refusal("statistics_inconsistent",
                      "统计表数据存在逻辑错误，不能生成报表：" + "；".join(problems),
                      RULE, problems=problems)
    return {letter: int(str(cells[letter]).strip()) for letter in LETTERS}

