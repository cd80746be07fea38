"""Roster import (党员名册导入) from CSV and XLSX, and who is lost-contact as of a campaign start.

Three layers, kept apart:

1. `parse_roster(data, filename)` — pure: bytes in, rows out. Detects the format (XLSX by its zip signature, else
   CSV in UTF-8 with or without BOM, UTF-16, or GB18030 as Chinese Excel exports it), finds the header row, maps
   the Chinese headers of the seeds (or the English field names of `Member`) to fields, and turns every cell into
   text, each row tagged with its line number (CSV: the physical line where the record starts, header = line 1;
   XLSX: the sheet row). A file without the required columns is refused here, before anything else.
2. `check_rows(rows, columns=..., branches=..., today=...)` — pure: every reason a row is bad, in Chinese, and
   the warnings; the valid rows as typed `Member` field values.
3. `import_roster` — the `@action`: loads the organisation tree and the existing members in bulk, checks, and
   upserts by ID number in one transaction. With any bad row nothing is written unless `accept_valid_rows`.

`import_roster_file` / `import_roster_bytes` are the fronts that read and parse a file and call the action with
the parsed rows (file content, not a path, so the idempotency fingerprint covers what was imported).
"""
from __future__ import annotations

import calendar
import codecs
import contextvars
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from models.codes import Body, Gender, MemberKind, Occupation, OrgCategory, OrgKind, Situation, parse_code
from models.errors import NotFound, Refusal
from models.idcard import InvalidId, disagreements, parse_resident_id
from models.rules import check_actor
from models.store import Member, Organisation
from models.timing import is_lost_contact, local_date, lost_contact_cutoff

from .orgs import descendants, org_names
from .uow import Work, action

RULE = "002"  # the roster's columns and codes are those of 《失联党员名册》 [002]


# ---------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    key: str  # the Member attribute (or a pseudo-field that is read but not stored)
    label: str  # the Chinese header of the seeds
    aliases: tuple[str, ...] = ()
    required: bool = False
    max_len: int | None = None
    stored: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", required=True, max_len=80),
    Column("gender", "性别", required=True),
    Column("ethnicity", "民族", max_len=40),
    Column("birth_date", "出生年月", ("出生日期", "出生年月日"), required=True),
    Column("joined_on", "入党时间", ("入党日期", "加入党组织日期", "入党年月")),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证"), required=True),
    Column("phone", "联系电话", ("手机", "手机号", "手机号码", "电话"), max_len=40),
    Column("position", "工作岗位", ("工作单位及职务", "岗位"), max_len=200),
    Column("occupation", "职业"),
    Column("branch_id", "所在党支部", ("党支部", "所在党组织", "组织关系所在党组织名称", "branch"), required=True),
    Column("kind", "党员类别", ("党员类型", "人员类别"), required=True),
    Column("last_contact_on", "最近联系日期", ("最后联系日期", "最近一次参加组织生活或交纳党费日期")),
    Column("situation", "失去联系情形", ("失联情形",)),
    Column("backup_contact", "备用联系人", max_len=200),
    Column("remarks", "备注"),
    Column("away_since", "外出时间", ("外出日期", "流出时间")),
    Column("reported_to_branch", "是否已报告", ("是否向党支部报告", "是否报告")),
    # Columns of the seeds' roster that are not member fields: read (the category is checked against the branch's),
    # never stored on the member, and never reported as unknown.
    Column("org_category", "党组织类别", stored=False),
    Column("serial", "序号", ("编号",), stored=False),
    Column("lost_duration", "与党组织失去联系时间", ("失联时间",), stored=False),
)
BY_KEY = {c.key: c for c in COLUMNS}
REQUIRED_KEYS = tuple(c.key for c in COLUMNS if c.required)
LABEL = {c.key: c.label for c in COLUMNS}

_HEADER_INDEX: dict[str, str] = {}
for _c in COLUMNS:
    for _h in (_c.label, *_c.aliases, _c.key):
        _HEADER_INDEX[_h.lower()] = _c.key

# The fields of `Member` the roster owns (everything but id, created_at, updated_at).
MEMBER_FIELDS = ("name", "gender", "ethnicity", "birth_date", "joined_on", "id_number", "phone", "position",
                 "occupation", "branch_id", "kind", "last_contact_on", "situation", "backup_contact", "remarks",
                 "away_since", "reported_to_branch")


def _normalise_header(text: str) -> str:
    return re.sub(r"[\s\u3000*＊:：]", "", text).lower()


def header_key(text: object) -> str | None:
    """The field a header names, or None. Accepts hints in brackets: 出生年月（年-月）, 职业(代码)."""
    raw = _normalise_header(str(text or ""))
    if not raw:
        return None
    if raw in _HEADER_INDEX:
        return _HEADER_INDEX[raw]
    bare = re.sub(r"[（(][^）)]*[）)]$", "", raw)
    return _HEADER_INDEX.get(bare)


# ---------------------------------------------------------------- parsing (pure)


@dataclass
class ParsedRoster:
    """A roster file as rows of text with their line numbers; nothing checked yet beyond the header."""

    file: str
    format: str  # "csv" | "xlsx"
    encoding: str | None
    header_line: int
    columns: list[str]  # the fields present, in file order
    rows: list[dict[str, Any]]  # {"line": n, field: text, ...}
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def source(self) -> dict[str, Any]:
        """What the action takes: plain JSON, so the idempotency fingerprint covers the file's content."""
        return {"file": self.file, "columns": self.columns, "rows": self.rows, "warnings": self.warnings}


def parse_roster(data: bytes, filename: str = "roster.csv") -> ParsedRoster:
    """Read a roster file's bytes (CSV or XLSX, detected from the content). Refuses a file it cannot read or that
    lacks a required column."""
    warnings: list[dict[str, Any]] = []
    if data[:4] == b"PK\x03\x04":
        fmt, encoding, lines = "xlsx", None, _xlsx_lines(data, warnings)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Refusal("roster_format", f"{filename}是旧版Excel（.xls）文件，请另存为.xlsx或CSV后导入", RULE)
    else:
        text, encoding = decode_text(data, filename)
        fmt, lines = "csv", _csv_lines(text)
    return _rows_from_lines(lines, filename=filename, fmt=fmt, encoding=encoding, warnings=warnings)


def decode_text(data: bytes, filename: str = "") -> tuple[str, str]:
    """CSV text and the encoding it was in: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (a superset of GBK
    and GB2312, what Chinese Excel writes for “CSV”)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise Refusal("roster_encoding", f"无法识别{filename or '文件'}的编码（应为UTF-8或GB18030/GBK）", RULE) from None


def _csv_lines(text: str) -> Iterator[tuple[int, list[Any]]]:
    """(physical line where the record starts, cells). A quoted cell may span lines; blank lines count."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(",\t;", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    for cells in reader:
        yield previous + 1, cells
        previous = reader.line_num


def _xlsx_lines(data: bytes, warnings: list[dict[str, Any]]) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows as (sheet row number, cell values). A small stdlib reader first (openpyxl's reader
    takes seconds for 10,000 rows of inline strings); openpyxl for anything it does not understand."""
    try:
        name, count, lines = _xlsx_fast(data)
    except Exception:  # noqa: BLE001 — anything unusual goes to the full reader, which gives the real error
        name, count, lines = _xlsx_openpyxl(data)
    if count > 1:
        warnings.append({"line": None, "message": f"工作簿有{count}个工作表，只导入了第一个（“{name}”）"})
    return lines


def _xlsx_openpyxl(data: bytes) -> tuple[str, int, list[tuple[int, list[Any]]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 — any failure to open is the same answer to a person
        raise Refusal("roster_format", f"无法读取Excel文件：{exc}", RULE) from None
    try:
        sheet = book.worksheets[0]
        lines = [(line, list(cells))
                 for line, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)]
        return sheet.title, len(book.worksheets), lines
    finally:
        book.close()


# Number formats that show a date: the built-in ones, and the locale-defined ids 27-36 and 50-58 that Chinese,
# Japanese and Korean Excel use for 年月日 formats.
_DATE_FORMAT_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xlsx_fast(data: bytes) -> tuple[str, int, list[tuple[int, list[Any]]]]:
    import posixpath
    import zipfile
    from xml.etree import ElementTree as ET

    from openpyxl.styles.numbers import is_date_format

    book = zipfile.ZipFile(io.BytesIO(data))
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    ns = workbook.tag[:workbook.tag.index("}") + 1] if workbook.tag.startswith("{") else ""
    sheets = workbook.findall(f"{ns}sheets/{ns}sheet")
    first = sheets[0]
    rel_id = next(v for k, v in first.attrib.items() if k.endswith("}id"))
    pr = workbook.find(f"{ns}workbookPr")
    epoch = dt.datetime(1904, 1, 1) if pr is not None and pr.get("date1904") in ("1", "true") else None

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))

    targets: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for rel in ET.fromstring(book.read("xl/_rels/workbook.xml.rels")):
        targets[rel.get("Id")] = part(rel.get("Target"))
        kinds[rel.get("Type", "").rsplit("/", 1)[-1]] = part(rel.get("Target"))

    def text_of(node) -> str:  # <si>/<is>: plain <t>, or rich-text runs <r><t>; never phonetic runs <rPh>
        out = []
        for child in node:
            if child.tag == f"{ns}t":
                out.append(child.text or "")
            elif child.tag == f"{ns}r":
                out.extend(t.text or "" for t in child.iter(f"{ns}t"))
        return "".join(out)

    shared: list[str] = []
    if "sharedStrings" in kinds:
        with book.open(kinds["sharedStrings"]) as stream:
            for _, el in ET.iterparse(stream):
                if el.tag == f"{ns}si":
                    shared.append(text_of(el))
                    el.clear()

    date_styles: set[int] = set()
    if "styles" in kinds:
        styles = ET.fromstring(book.read(kinds["styles"]))
        custom = {int(f.get("numFmtId")): f.get("formatCode", "") for f in styles.iter(f"{ns}numFmt")}
        xfs = styles.find(f"{ns}cellXfs")
        for index, xf in enumerate(xfs if xfs is not None else []):
            fmt = int(xf.get("numFmtId", "0"))
            if fmt in _DATE_FORMAT_IDS or (fmt in custom and is_date_format(custom[fmt])):
                date_styles.add(index)

    def serial_date(number: float) -> dt.datetime:
        base = epoch or (dt.datetime(1899, 12, 30) if number >= 61 else dt.datetime(1899, 12, 31))
        return base + dt.timedelta(days=number)

    lines: list[tuple[int, list[Any]]] = []
    row_tag, cell_tag, value_tag, inline_tag = f"{ns}row", f"{ns}c", f"{ns}v", f"{ns}is"
    previous_row = 0
    # One C-speed parse of the sheet part: an event per element (iterparse) costs more than the tree.
    sheet = ET.fromstring(book.read(targets[rel_id]))
    for el in sheet.iter(row_tag):
        number = int(el.get("r") or previous_row + 1)
        previous_row = number
        cells: list[Any] = []
        for c in el.iter(cell_tag):
            ref = c.get("r")
            col = _column_index(ref) if ref else len(cells)
            kind = c.get("t", "n")
            if kind == "inlineStr":
                node = c.find(inline_tag)
                value: Any = text_of(node) if node is not None else None
            else:
                v = c.find(value_tag)
                raw = v.text if v is not None else None
                if raw is None:
                    value = None
                elif kind == "s":
                    value = shared[int(raw)]
                elif kind in ("str", "e"):
                    value = raw
                elif kind == "b":
                    value = raw.strip() in ("1", "true")
                elif kind == "d":
                    value = dt.datetime.fromisoformat(raw.rstrip("Z"))
                else:
                    num = float(raw) if any(ch in raw for ch in ".eE") else int(raw)
                    value = serial_date(num) if int(c.get("s", "0")) in date_styles else num
            if col >= len(cells):
                cells.extend([None] * (col + 1 - len(cells)))
            cells[col] = value
        lines.append((number, cells))
    return first.get("name", ""), len(sheets), lines


_COLUMN_CACHE: dict[str, int] = {}


def _column_index(ref: str) -> int:
    """0-based column of a cell reference like "AB12"."""
    letters = ref.rstrip("0123456789")
    index = _COLUMN_CACHE.get(letters)
    if index is None:
        index = 0
        for ch in letters.upper():
            index = index * 26 + (ord(ch) - 64)
        index = _COLUMN_CACHE[letters] = index - 1
    return index


def cell_text(value: Any) -> str:
    """A cell as text: dates as ISO dates, whole numbers without “.0”, big floats as Python writes them (so an ID
    number Excel turned into 1.1e+17 stays recognisable as such)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value).strip()


def _rows_from_lines(lines: Iterable[tuple[int, list[Any]]], *, filename: str, fmt: str, encoding: str | None,
                     warnings: list[dict[str, Any]]) -> ParsedRoster:
    iterator = iter(lines)
    header_line, header = None, None
    fallback = None
    skipped = 0
    for line, cells in iterator:
        texts = [cell_text(c) for c in cells]
        if not any(texts):
            continue
        if sum(1 for t in texts if header_key(t)) >= 2:
            header_line, header = line, texts
            break
        fallback = fallback or (line, texts)
        skipped += 1
        if skipped >= 10:  # no header in the first ten non-empty rows: take the first as the header
            break
    if header is None:
        if fallback is None:
            raise Refusal("roster_empty", f"{filename}是空文件，没有表头和数据", RULE, file=filename)
        header_line, header = fallback
    mapping: list[tuple[int, str]] = []  # (cell index, field)
    seen: dict[str, str] = {}
    for index, title in enumerate(header):
        if not title:
            continue
        key = header_key(title)
        if key is None:
            warnings.append({"line": header_line, "message": f"未知的列“{title}”，已忽略"})
        elif key in seen:
            warnings.append({"line": header_line, "message": f"列“{title}”与列“{seen[key]}”重复，只读取了前者"})
        else:
            seen[key] = title
            mapping.append((index, key))
    columns = [key for _, key in mapping]
    check_columns(columns, filename)
    rows: list[dict[str, Any]] = []
    for line, cells in iterator:
        values = {key: cell_text(cells[i]) if i < len(cells) else "" for i, key in mapping}
        if not any(values.values()):
            continue
        rows.append({"line": line, **values})
    return ParsedRoster(filename, fmt, encoding, header_line, columns, rows, warnings)


def check_columns(columns: Iterable[str], filename: str = "") -> None:
    missing = [LABEL[k] for k in REQUIRED_KEYS if k not in set(columns)]
    if missing:
        raise Refusal("roster_missing_columns", f"{filename or '名册'}缺少必需的列：{'、'.join(missing)}，未导入任何内容",
                      RULE, missing=missing, file=filename)


# ---------------------------------------------------------------- reading cell values (pure)

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
            return dt.date(int(groups[0]), int(groups[1]), int(groups[2])), False
    for pattern in _MONTH:
        m = pattern.match(raw)
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), 1), True
    raise ValueError(raw)


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


def check_row(row: dict[str, Any], *, present: set[str], branches: BranchIndex, today: dt.date) -> CheckedRow:
    cells = {k: v.strip() if isinstance(v, str) else cell_text(v) for k, v in row.items() if k != "line"}

    def text(key: str) -> str:
        return cells.get(key) or ""

    name = text("name")
    checked = CheckedRow(line=int(row["line"]), name=name, id_text=text("id_number"), values={})
    reasons, warnings, values = checked.reasons, checked.warnings, checked.values

    for key in REQUIRED_KEYS:
        if not text(key):
            reasons.append(f"{LABEL[key]}为空")

    for key in ("name", "ethnicity", "phone", "position", "backup_contact"):
        limit = BY_KEY[key].max_len
        if limit and len(text(key)) > limit:
            reasons.append(f"{LABEL[key]}过长（{len(text(key))}字，最多{limit}字）")
    for key in ("name", "ethnicity", "phone", "position", "backup_contact", "remarks"):
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
                rid = parse_resident_id(id_raw, today=today)
            except InvalidId as exc:
                reasons.append(str(exc))
    if rid is not None:
        values["id_number"] = rid.to_18()

    gender = None
    if text("gender"):
        gender = GENDERS.get(text("gender").lower())
        if gender is None:
            reasons.append(f"性别“{text('gender')}”无效（应为男或女）")
        else:
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
                _check_category(text("org_category"), branches.orgs[branch_id], warnings)

    if text("kind"):
        kind = KINDS.get(text("kind").lower())
        if kind is None:
            reasons.append(f"党员类别“{text('kind')}”无效（应为正式党员或预备党员）")
        else:
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


# ---------------------------------------------------------------- the action

_progress: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("roster_progress",
                                                                                             default=None)
_CHUNK = 500


def member_id_for(id18: str) -> str:
    """A member's stable key, derived from the ID number (the same file gives the same keys in any store) without
    putting the ID number itself into URLs and logs."""
    return "m" + hashlib.sha256(id18.encode()).hexdigest()[:24]


@action("import_roster")
def import_roster(work: Work, *, base_committee_id: str, rows_source: dict[str, Any],
                  accept_valid_rows: bool = False) -> dict[str, Any]:
    """Import a parsed roster for a base committee (see `parse_roster().source()`): upsert members by ID number.

    Refuses the whole file (`roster_has_errors`, with the line-numbered report) when a row is bad, unless
    `accept_valid_rows`; then the valid rows import and the report lists the bad ones."""
    s = work.session
    base = s.get(Organisation, base_committee_id)
    if base is None:
        raise NotFound("基层党委", base_committee_id)
    if base.kind is not OrgKind.BASE_COMMITTEE:
        raise Refusal("not_base_committee", f"党员名册由基层党委导入，{base.name}是{base.kind.label}", RULE)
    if work.actor_id is not None:
        roles = work.roles()
        check_actor(Body.BASE_COMMITTEE, base_committee_id, roles, deciding=False,
                    org_names=org_names(s, [base_committee_id, *roles]))
    filename = str(rows_source.get("file") or "")
    columns = list(rows_source.get("columns") or [])
    check_columns(columns, filename)
    rows = list(rows_source.get("rows") or [])
    if not rows:
        raise Refusal("roster_empty", f"{filename or '名册'}中没有党员数据行", RULE, file=filename)
    progress = _progress.get()
    total = len(rows)

    orgs = [OrgInfo(*r) for r in s.execute(select(Organisation.id, Organisation.name, Organisation.kind,
                                                  Organisation.parent_id, Organisation.category))]
    branches = BranchIndex(orgs, base_committee_id)
    checked = check_rows(rows, columns=columns, branches=branches, today=local_date(work.now))

    # One query per chunk of ID numbers, not per row.
    wanted = [c.values["id_number"] for c in checked if c.valid]
    existing: dict[str, dict[str, Any]] = {}
    cols = [Member.id, *(getattr(Member, f) for f in MEMBER_FIELDS)]
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        # Literal values, not 500 bind parameters: once psycopg prepares the statement, PostgreSQL's generic plan
        # for `IN ($1..$500)` scans the table comparing every row with every parameter (250 ms a chunk). The
        # values are validated ID numbers (digits and X).
        ids = bindparam("ids", chunk, expanding=True, literal_execute=True)
        for row in s.execute(select(*cols).where(Member.id_number.in_(ids))):
            existing[row.id_number] = dict(row._mapping)
    for c in checked:
        current = existing.get(c.values.get("id_number")) if c.valid else None
        if current is not None and current["branch_id"] not in branches.under:
            elsewhere = branches.orgs.get(current["branch_id"])
            c.reasons.append(f"该党员已在{elsewhere.name if elsewhere else current['branch_id']}登记，不属于"
                             f"{base.name}；组织关系转接后方可由本党委导入")

    report = _report(filename, base_committee_id, checked, rows_source.get("warnings") or [])
    if report["errors"] and not accept_valid_rows:
        lines = [str(e["line"]) for e in report["errors"]]
        shown = "、".join(lines[:10]) + ("等" if len(lines) > 10 else "")
        raise Refusal("roster_has_errors",
                      f"名册{filename}第{shown}行有误（共{len(lines)}行），未导入任何内容；请改正后重新导入，"
                      f"或选择只导入无误的行", RULE, report=report)

    # Write: absent optional columns leave the stored values alone; present ones (even empty) are the roster's word.
    written = [f for f in MEMBER_FIELDS if f in columns or f in REQUIRED_KEYS]
    inserts, updates, changes = [], [], []
    unchanged = 0
    for c in checked:
        if not c.valid:
            continue
        new = {f: c.values.get(f) for f in written}
        current = existing.get(new["id_number"])
        if current is None:
            defaults = {f: None for f in MEMBER_FIELDS}
            defaults["reported_to_branch"] = False
            inserts.append({**defaults, **new, "id": member_id_for(new["id_number"]), "created_at": work.now,
                            "updated_at": work.now})
            continue
        changed = [f for f in written if current[f] != new[f]]
        if not changed:
            unchanged += 1
            continue
        updates.append({**new, "id": current["id"], "updated_at": work.now})
        changes.append({"member_id": current["id"], "line": c.line, "fields": changed})
    done = total - len(inserts) - len(updates)
    if progress:
        progress(done, total)
    for batch in (inserts, updates):
        # render_nulls: every row has every key, so the rows go out as one batch instead of one INSERT per
        # pattern of empty cells.
        statement = insert(Member).execution_options(render_nulls=True) if batch is inserts else update(Member)
        for start in range(0, len(batch), _CHUNK):
            part = batch[start:start + _CHUNK]
            s.execute(statement, part)
            done += len(part)
            if progress:
                progress(done, total)

    report.update(created=len(inserts), updated=len(updates), unchanged=unchanged, imported=report["valid"] > 0)
    work.audit(org_id=base_committee_id, file=filename, rows=report["rows"], valid=report["valid"],
               bad=len(report["errors"]), created=len(inserts), updated=len(updates), unchanged=unchanged,
               accept_valid_rows=accept_valid_rows, changes=changes)
    return report


def _report(filename: str, base_committee_id: str, checked: list[CheckedRow],
            parse_warnings: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [{"line": c.line, "name": c.name, "id_number": c.id_text, "reasons": list(c.reasons)}
              for c in checked if c.reasons]
    warnings = list(parse_warnings)
    warnings.extend({"line": c.line, "name": c.name, "message": w} for c in checked for w in c.warnings)
    return {"file": filename, "base_committee_id": base_committee_id, "rows": len(checked),
            "valid": sum(1 for c in checked if c.valid), "created": 0, "updated": 0, "unchanged": 0,
            "imported": False, "errors": errors, "warnings": warnings}


# ---------------------------------------------------------------- fronts


def import_roster_bytes(store, data: bytes, filename: str, *, base_committee_id: str, actor_id: str | None = None,
                        accept_valid_rows: bool = False, request_id: str | None = None, now=None,
                        progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Parse an uploaded roster and import it (the web upload's front)."""
    parsed = parse_roster(data, filename)
    token = _progress.set(progress)
    try:
        return import_roster(store, request_id=request_id, actor_id=actor_id, now=now,
                             base_committee_id=base_committee_id, rows_source=parsed.source(),
                             accept_valid_rows=accept_valid_rows)
    finally:
        _progress.reset(token)


def import_roster_file(store, path, *, base_committee_id: str, actor_id: str | None = None,
                       accept_valid_rows: bool = False, request_id: str | None = None, now=None,
                       progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Read a roster file (CSV or XLSX) and import it; see `import_roster`. `progress(done, total)` is called as
    rows are settled, for a progress bar."""
    path = Path(path)
    return import_roster_bytes(store, path.read_bytes(), path.name, base_committee_id=base_committee_id,
                               actor_id=actor_id, accept_valid_rows=accept_valid_rows, request_id=request_id,
                               now=now, progress=progress)


# ---------------------------------------------------------------- who is lost-contact


def lost_contact_members(session: Session, base_committee_id: str, start_date: dt.date) -> list[Member]:
    """Members of the branches under a base committee who are lost-contact as of a campaign start (DOMAIN §3: last
    contact on or before six calendar months back, or none recorded), ordered by branch id, name (by code point)
    and ID number."""
    org_ids = descendants(session, base_committee_id)
    cutoff = lost_contact_cutoff(start_date)
    query = select(Member).where(Member.branch_id.in_(org_ids),
                                 or_(Member.last_contact_on.is_(None), Member.last_contact_on <= cutoff))
    found = [m for m in session.scalars(query) if is_lost_contact(m.last_contact_on, start_date)]
    # Sorted here, not in SQL: PostgreSQL's collation would order Chinese names differently from SQLite.
    return sorted(found, key=lambda m: (m.branch_id, m.name, m.id_number))
