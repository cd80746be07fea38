"""Checking roster rows (pure): every reason a row is bad, in Chinese, and its warnings; the valid rows as typed
`Member` field values. Every text passes the entrance of `models.text` (control characters, lengths, NFKC ID
numbers), so a row is either a correct member or a line-numbered reason, never an exception."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from models.chronology import day_problem
from models.codes import Gender, MemberKind, Occupation, OrgCategory, OrgKind, Situation, parse_code
from models.idcard import InvalidId, disagreements, parse_resident_id
from models.text import MAX_YEAR, MIN_YEAR, Field, TextProblem, clean, id_number_text

from .roster_read import LABEL, REQUIRED_KEYS, cell_text


_FULL_DATE = (re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
              re.compile(r"^(\d{4})(\d{2})(\d{2})$"))
_MONTH = (re.compile(r"^(\d{4})[-/.](\d{1,2})$"), re.compile(r"^(\d{4})年(\d{1,2})月?$"), re.compile(r"^(\d{4})(\d{2})$"))
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def parse_date(text: str) -> tuple[dt.date, bool]:
    """(date, month_only). Accepts 2020-03-05, 2020/3/5, 2020.3.5, 2020年3月5日, 20200305, and year-month forms
    2020-03, 2020.03, 2020年3月, 202003 (then the date is the first of the month). Raises ValueError."""
    raw = _TIME_TAIL.sub("", text.strip())
    for pattern in _FULL_DATE:
        m = pattern.match(raw)
        if m:
            groups = [g for g in m.groups() if g not in "-/."]
            return _day(int(groups[0]), int(groups[1]), int(groups[2])), False
    for pattern in _MONTH:
        m = pattern.match(raw)
        if m:
            return _day(int(m.group(1)), int(m.group(2)), 1), True
    raise ValueError(raw)


def _day(year: int, month: int, day: int) -> dt.date:
    """A date the rules can compute with (year 1 or 9999 would overflow them): else ValueError."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(year)
    return dt.date(year, month, day)


GENDERS = {"男": Gender.MALE, "男性": Gender.MALE, "male": Gender.MALE, "m": Gender.MALE,
           "女": Gender.FEMALE, "女性": Gender.FEMALE, "female": Gender.FEMALE, "f": Gender.FEMALE}
KINDS = {"正式党员": MemberKind.FULL, "正式": MemberKind.FULL, "full": MemberKind.FULL,
         "预备党员": MemberKind.PROBATIONARY, "预备": MemberKind.PROBATIONARY, "probationary": MemberKind.PROBATIONARY}
YES = {"是", "已报告", "已", "y", "yes", "true", "1", "√"}
NO = {"否", "未报告", "未", "n", "no", "false", "0", "×"}
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


# ---------------------------------------------------------------- the organisation tree, as the check needs it


@dataclass(frozen=True)
class OrgInfo:
    id: str
    name: str
    kind: OrgKind
    parent_id: str | None
    category: OrgCategory | None = None


class BranchIndex:
    """Which branch a roster cell names (organisation id, or exact name), and whether it is under the importing
    base committee. Built once from the whole organisation table."""

    def __init__(self, orgs: Iterable[OrgInfo], base_committee_id: str):
        self.orgs = {o.id: o for o in orgs}
        self.base = self.orgs.get(base_committee_id)
        children: dict[str | None, list[str]] = {}
        self.by_name: dict[str, list[OrgInfo]] = {}
        for o in self.orgs.values():
            children.setdefault(o.parent_id, []).append(o.id)
            self.by_name.setdefault(o.name, []).append(o)
        self.under: set[str] = set()
        todo = [base_committee_id]
        while todo:
            current = todo.pop()
            self.under.add(current)
            todo.extend(children.get(current, []))

    @property
    def base_name(self) -> str:
        return self.base.name if self.base else "本党委"

    def resolve(self, text: str) -> tuple[str | None, str | None]:
        """(branch id, None) or (None, the Chinese reason)."""
        org = self.orgs.get(text)
        if org is not None:
            if org.kind is not OrgKind.BRANCH:
                return None, f"所在党支部“{text}”是{org.kind.label}，不是党支部"
            if org.id not in self.under:
                return None, f"党支部“{org.name}”（{org.id}）不属于{self.base_name}"
            return org.id, None
        named = self.by_name.get(text, [])
        branches = [o for o in named if o.kind is OrgKind.BRANCH]
        mine = [o for o in branches if o.id in self.under]
        if len(mine) == 1:
            return mine[0].id, None
        if len(mine) > 1:
            ids = "、".join(sorted(o.id for o in mine))
            return None, f"党支部名称“{text}”不唯一（{ids}），请填写组织编号"
        if branches:
            return None, f"党支部“{text}”不属于{self.base_name}"
        if named:
            return None, f"所在党支部“{text}”是{named[0].kind.label}，不是党支部"
        return None, f"党支部“{text}”不存在"


# ---------------------------------------------------------------- checking rows (pure)


@dataclass
class CheckedRow:
    line: int
    name: str
    id_text: str
    values: dict[str, Any]  # typed Member fields, for the columns present (complete only when valid)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.reasons


def check_rows(rows: list[dict[str, Any]], *, columns: Iterable[str], branches: BranchIndex,
               today: dt.date) -> list[CheckedRow]:
    """Every row with every reason it is bad and its warnings. A later row repeating an ID number of an earlier
    row is bad (it names the earlier line); 15- and 18-digit forms of one number are the same number."""
    present = set(columns)
    first_line: dict[str, int] = {}
    out = []
    for row in rows:
        checked = check_row(row, present=present, branches=branches, today=today)
        id18 = checked.values.get("id_number")
        if id18:
            if id18 in first_line:
                checked.reasons.append(f"身份证号与第{first_line[id18]}行重复")
            else:
                first_line[id18] = checked.line
        out.append(checked)
    return out


_TEXT_FIELDS = ("name", "ethnicity", "phone", "position", "backup_contact", "remarks")
_CELL = Field("单元格", 200)  # codes, dates and flags: one line, short


def check_row(row: dict[str, Any], *, present: set[str], branches: BranchIndex, today: dt.date) -> CheckedRow:
    reasons: list[str] = []
    cells: dict[str, str] = {}
    bad: set[str] = set()  # fields already refused at the entrance: not reported again as empty
    for key, value in row.items():
        if key == "line":
            continue
        value = value if isinstance(value, str) else cell_text(value)
        try:
            if key == "id_number":
                cells[key] = clean(value, Field(LABEL[key], 64))
            elif key in _TEXT_FIELDS:
                cells[key] = clean(value, key, label=LABEL[key])
            else:
                cells[key] = clean(value, _CELL, label=LABEL.get(key, key))
        except TextProblem as exc:
            reasons.append(str(exc))
            bad.add(key)
            cells[key] = ""

    def text(key: str) -> str:
        return cells.get(key) or ""

    name = text("name")
    checked = CheckedRow(line=int(row["line"]), name=name, id_text=text("id_number"), values={}, reasons=reasons)
    warnings, values = checked.warnings, checked.values

    for key in REQUIRED_KEYS:
        if not text(key) and key not in bad:
            reasons.append(f"{LABEL[key]}为空")
    for key in _TEXT_FIELDS:
        if key in present:
            values[key] = text(key) or None
    if name:
        values["name"] = name

    # The ID number decides the birth date and the gender.
    rid = None
    id_raw = checked.id_text.lstrip("'‘`")
    if id_raw:
        if _SCIENTIFIC.match(id_raw):
            reasons.append("身份证号被Excel存成了数值（科学计数法），末几位已丢失；请将该列设为文本格式后重新导出")
        else:
            try:
                rid = parse_resident_id(id_number_text(id_raw), today=today)
            except (InvalidId, TextProblem) as exc:
                reasons.append(str(exc))
    if rid is not None:
        values["id_number"] = rid.to_18()

    gender = _look_up(text("gender"), GENDERS, "性别", "男或女", reasons)
    if gender is not None:
        values["gender"] = gender

    birth, birth_month_only = None, False
    if text("birth_date"):
        try:
            birth, birth_month_only = parse_date(text("birth_date"))
        except ValueError:
            reasons.append(_bad_date("birth_date", text("birth_date")))
    if rid is not None:
        reasons.extend(disagreements(rid, birth=birth, birth_month_only=birth_month_only, gender=gender))
        values["birth_date"] = rid.birth_date  # the ID is authoritative: its exact date, even for “1985年6月”
    elif birth is not None:
        values["birth_date"] = birth

    if text("branch_id"):
        branch_id, problem = branches.resolve(text("branch_id"))
        if problem:
            reasons.append(problem)
        else:
            values["branch_id"] = branch_id
            if text("org_category"):
                _check_category(text("org_category"), branches.orgs[cast(str, branch_id)], warnings)

    kind = _look_up(text("kind"), KINDS, "党员类别", "正式党员或预备党员", reasons)
    if kind is not None:
        values["kind"] = kind

    for key, enum_cls in (("occupation", Occupation), ("situation", Situation)):
        if key not in present:
            continue
        values[key] = None
        if text(key):
            try:
                values[key] = parse_code(enum_cls, text(key))
            except ValueError as exc:
                reasons.append(f"{LABEL[key]}{exc}")

    for key in ("joined_on", "last_contact_on", "away_since"):
        if key not in present:
            continue
        values[key] = None
        if not text(key):
            continue
        try:
            day, month_only = parse_date(text(key))
        except ValueError:
            reasons.append(_bad_date(key, text(key)))
            continue
        if month_only and key == "last_contact_on":
            # DECISION: a last contact given as a month counts as its last day (never before today), so nobody is
            # lost-contact on the strength of a rounding; joins and departures count from the first of the month.
            day = min(day.replace(day=calendar.monthrange(day.year, day.month)[1]), max(day, today))
        if day > today:
            reasons.append(f"{LABEL[key]}（{_shown(day, month_only)}）晚于今天（{today.isoformat()}）")
            continue
        values[key] = day
        if key == "joined_on":
            _check_join(day, month_only, rid.birth_date if rid else birth, reasons, warnings)
        elif key == "last_contact_on":  # time order (models.chronology): not before 1921-07-01 or the birth
            problem = day_problem(LABEL[key], day, today=today, birth=rid.birth_date if rid else birth)
            if problem:
                reasons.append(problem)

    if "reported_to_branch" in present:
        flag = text("reported_to_branch").lower()
        if flag in YES:
            values["reported_to_branch"] = True
        elif flag in NO or not flag:
            values["reported_to_branch"] = False
        else:
            reasons.append(f"是否已报告“{text('reported_to_branch')}”无效（应为是或否）")

    if values.get("situation") is Situation.OTHER and not values.get("remarks"):
        warnings.append("失去联系情形为⑦其他，备注中应注明具体原因")
    return checked


def _look_up(raw: str, table: dict[str, Any], label: str, expected: str, reasons: list[str]) -> Any:
    """A coded column's value (None when empty or not one of the table's words, then named in reasons)."""
    if not raw:
        return None
    value = table.get(raw.lower())
    if value is None:
        reasons.append(f"{label}“{raw}”无效（应为{expected}）")
    return value


def _bad_date(key: str, raw: str) -> str:
    return f"{LABEL[key]}“{raw}”不是有效日期（应如2020-03-05、2020/3/5、2020.03、2020年3月）"


def _shown(day: dt.date, month_only: bool) -> str:
    return f"{day.year}年{day.month}月" if month_only else day.isoformat()


def _check_join(joined: dt.date, month_only: bool, birth: dt.date | None, reasons: list[str],
                warnings: list[str]) -> None:
    if birth is None:
        return
    shown = _shown(joined, month_only)
    if (joined.year, joined.month) < (birth.year, birth.month) or (not month_only and joined < birth):
        reasons.append(f"入党时间（{shown}）早于出生日期（{birth.isoformat()}）")
        return
    adult = _years_after(birth, 18)
    if (joined.year, joined.month) < (adult.year, adult.month) or (not month_only and joined < adult):
        warnings.append(f"入党时未满18周岁（入党时间{shown}，出生日期{birth.isoformat()}）")


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_category(raw: str, branch: OrgInfo, warnings: list[str]) -> None:
    try:
        given = parse_code(OrgCategory, raw)
    except ValueError as exc:
        warnings.append(f"党组织类别{exc}，已忽略（以党支部登记的类别为准）")
        return
    if branch.category is not None and given is not branch.category:
        warnings.append(f"党组织类别{given.display}与{branch.name}登记的{branch.category.display}不符，"
                        f"以党支部登记为准")


