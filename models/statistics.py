"""The statistics table 与党组织失去联系党员规范管理和组织处置有关情况统计表, columns A-X [002 annex 5].

A table computed here is built from leaf counts, so the six relations hold by construction. A table typed in by
hand is checked with `broken_relations`, which names each relation that does not hold."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta

from .catalogue import Column
from .timing import LOST_CONTACT_MONTHS

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWX"

HEADINGS: dict[str, str] = {
    "A": "超过六个月未与党组织联系的党员总数",
    "B": "经查找取得联系的党员总数",
    "C": "纳入组织管理人数",
    "D": "其中：保留组织关系人数",
    "E": "其中：停止党籍人数",
    "F": "其中：限期改正人数",
    "G": "给予组织处置出党人数",
    "H": "劝退或劝而不退除名人数",
    "I": "自行脱党除名人数",
    "J": "退党除名人数",
    "K": "不予承认党员资格人数",
    "L": "取消预备党员资格人数",
    "M": "开除党籍人数",
    "N": "目前尚在调查核实人数",
    "O": "目前仍未取得联系的党员总数",
    "P": "给予组织处置出党人数",
    "Q": "自行脱党除名人数",
    "R": "取消预备党员资格人数",
    "S": "停止党籍人数",
    "T": "确定无法取得联系而停止党籍人数",
    "U": "因出国（境）定居而停止党籍人数",
    "V": "开除党籍人数",
    "W": "尚在查找联系人数",
    "X": "确认已死亡的人数",
}

# The relations printed under the table: A＝B+O+X；B＝C+G+M+N；G＝H+I+J+K+L；O＝P+S+V+W；P＝Q+R；S=T+U.
RELATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("A", ("B", "O", "X")),
    ("B", ("C", "G", "M", "N")),
    ("G", ("H", "I", "J", "K", "L")),
    ("O", ("P", "S", "V", "W")),
    ("P", ("Q", "R")),
    ("S", ("T", "U")),
)


@dataclass(frozen=True)
class BrokenRelation:
    total: str
    parts: tuple[str, ...]
    total_value: int
    parts_value: int

    @property
    def formula(self) -> str:
        return f"{self.total}＝{'+'.join(self.parts)}"

    @property
    def message(self) -> str:
        shown = "+".join(self.parts)
        return (f"{self.formula}不成立：{self.total}（{HEADINGS[self.total]}）为{self.total_value}，"
                f"而{shown}为{self.parts_value}")


def table_from_columns(columns: Iterable[Column]) -> dict[str, int]:
    """The whole table from one leaf column per case."""
    n = Counter(c.value for c in columns)
    t = {letter: 0 for letter in LETTERS}
    for leaf in "DEFHIJKLMNQRTUVWX":
        t[leaf] = n.get(leaf, 0)
    t["C"] = n.get("C", 0) + t["D"] + t["E"] + t["F"]
    t["G"] = t["H"] + t["I"] + t["J"] + t["K"] + t["L"]
    t["B"] = t["C"] + t["G"] + t["M"] + t["N"]
    t["P"] = t["Q"] + t["R"]
    t["S"] = t["T"] + t["U"]
    t["O"] = t["P"] + t["S"] + t["V"] + t["W"]
    t["A"] = t["B"] + t["O"] + t["X"]
    return t


def pocket_counted_from(last_contact: dt.date | None, letter_issued_on: dt.date) -> dt.date:
    """DECISION (pocket members 口袋党员, [000 §2] [001 §1] [004 §4]): a member whose transfer letter never came back
    with its receipt is *searched* as a lost-contact member from the day after the receipt was due, but *counted* in
    the table only as what column A says, 超过六个月未与党组织联系: from the day the six-month test of DOMAIN §3 holds
    as of the table's date. The member was in contact when the letter was issued (they came for it), so the six
    months run from the later of the last recorded contact and the letter's issue date. Until then the case is in
    no column; from then on it stands in the column its search and disposition put it in (W while searching)."""
    last = max(d for d in (last_contact, letter_issued_on) if d is not None)
    counted = last + relativedelta(months=LOST_CONTACT_MONTHS)
    # Six months on from a day the month has not (Aug 31 -> Feb 28) is clamped to the month's end, a day on which the
    # six-month test does not yet hold (its cutoff, Feb 28 - 6 months, is Aug 28): it holds from the next day.
    return counted if counted.day == last.day else counted + dt.timedelta(days=1)


NEVER = dt.date.max  # `counted_from` of a pocket case whose member was found before six months had passed


def counted_after_finding(counted_from: dt.date | None, found_on: dt.date) -> dt.date | None:
    """The member was found (contacted, found managed elsewhere, confirmed dead, or the receipt came back) on
    `found_on`: before the six months had passed, the case never counts; after, it counts as it already did."""
    if counted_from is not None and found_on < counted_from:
        return NEVER
    return counted_from


def counts_on(counted_from: dt.date | None, day: dt.date) -> bool:
    """Whether a case counts in the table (in A and the one leaf column it stands in) as of `day`. A case without
    `counted_from` counts from its opening: a campaign opens cases only for members lost six months as of its
    start."""
    return counted_from is None or counted_from <= day


def broken_relations(table: dict[str, int]) -> list[BrokenRelation]:
    """Every relation of the form, plus "D, E, F are of which items of C", that a given table breaks."""
    broken = []
    for total, parts in RELATIONS:
        value = sum(int(table.get(p, 0)) for p in parts)
        if int(table.get(total, 0)) != value:
            broken.append(BrokenRelation(total, parts, int(table.get(total, 0)), value))
    of_which = sum(int(table.get(p, 0)) for p in "DEF")
    if of_which > int(table.get("C", 0)):
        broken.append(BrokenRelation("C", ("D", "E", "F"), int(table.get("C", 0)), of_which))
    return broken


def check_table(table: dict[str, object]) -> list[str]:
    """Chinese messages for everything wrong with a hand-entered table: missing or negative cells, broken relations."""
    problems = []
    clean: dict[str, int] = {}
    for letter in LETTERS:
        raw = table.get(letter)
        try:
            value = int(str(raw).strip()) if raw is not None and str(raw).strip() != "" else None
        except ValueError:
            value = None
        if value is None:
            problems.append(f"{letter}列（{HEADINGS[letter]}）未填写或不是整数：{raw!r}")
            value = 0
        elif value < 0:
            problems.append(f"{letter}列（{HEADINGS[letter]}）不能为负数：{value}")
        clean[letter] = value
    for b in broken_relations(clean):
        if b.parts == ("D", "E", "F"):
            problems.append(f"D、E、F是C的“其中”项，之和{b.parts_value}不能大于C（{b.total_value}）")
        else:
            problems.append(b.message)
    return problems
