"""Reading a roster file (党员名册): bytes in, rows of text out, each tagged with its line number. Pure.

Detects the format from the content: XLSX (and the older XLS and ODS) through python-calamine, else CSV in UTF-8
with or without BOM, UTF-16 with BOM, or GB18030 as Chinese Excel writes it. Finds the header row, maps the Chinese
headers of the seeds (or the English field names of `Member`) to fields, and turns every cell into text. Line
numbers: CSV, the physical line where the record starts (header = line 1); spreadsheets, the sheet row.

Anything a file can do wrong ends in a `Refusal` with the line where it went wrong, never another exception: an
oversized file, an over-long field, a BOM that lies about the encoding, a damaged or zip-bombed workbook.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import python_calamine

from models.errors import Refusal
from models.text import shown

RULE = "002"  # the roster's columns and codes are those of 《失联党员名册》 [002]

MAX_FILE_BYTES = 32 * 1024 * 1024  # 100,000 members take about 20 MB of CSV
MAX_UNZIPPED_BYTES = 256 * 1024 * 1024  # a workbook's parts, uncompressed (a zip bomb stops here)
# python-calamine holds a sheet as a dense grid of its used range: one cell at XFD1048576 in a 5 KB file asks for
# 17 billion cells and aborts the process. The extent is bounded from the XML before calamine sees it.
MAX_COLUMNS = 500
MAX_GRID_CELLS = 10_000_000
MAX_ROWS = 200_000
MAX_CELL = 32_767  # Excel's own cell limit: nothing longer can be a real cell
_CSV_FIELD_LIMIT = 131_072  # Python's csv default, stated so the message can name it


@dataclass(frozen=True)
class Column:
    key: str  # the Member attribute (or a pseudo-field that is read but not stored)
    label: str  # the Chinese header of the seeds
    aliases: tuple[str, ...] = ()
    required: bool = False
    stored: bool = True


COLUMNS: tuple[Column, ...] = (
    Column("name", "姓名", required=True),
    Column("gender", "性别", required=True),
    Column("ethnicity", "民族"),
    Column("birth_date", "出生年月", ("出生日期", "出生年月日"), required=True),
    Column("joined_on", "入党时间", ("入党日期", "加入党组织日期", "入党年月")),
    Column("id_number", "身份证号", ("身份证号码", "公民身份号码", "身份证"), required=True),
    Column("phone", "联系电话", ("手机", "手机号", "手机号码", "电话")),
    Column("position", "工作岗位", ("工作单位及职务", "岗位")),
    Column("occupation", "职业"),
    Column("branch_id", "所在党支部", ("党支部", "所在党组织", "组织关系所在党组织名称", "branch"), required=True),
    Column("kind", "党员类别", ("党员类型", "人员类别"), required=True),
    Column("last_contact_on", "最近联系日期", ("最后联系日期", "最近一次参加组织生活或交纳党费日期")),
    Column("situation", "失去联系情形", ("失联情形",)),
    Column("backup_contact", "备用联系人"),
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


def _normalise_header(text: str) -> str:
    return re.sub(r"[\s\u3000*＊:：]", "", text).lower()


def header_key(text: object) -> str | None:
    """The field a header names, or None. Accepts hints in brackets: 出生年月（年-月）, 职业(代码)."""
    raw = _normalise_header(str(text or "")[:200])
    if not raw:
        return None
    if raw in _HEADER_INDEX:
        return _HEADER_INDEX[raw]
    bare = re.sub(r"[（(][^）)]*[）)]$", "", raw)
    return _HEADER_INDEX.get(bare)


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
    """Read a roster file's bytes (CSV or a spreadsheet, detected from the content). Refuses a file it cannot read or
    that lacks a required column."""
    filename = shown(filename, 120)
    if len(data) > MAX_FILE_BYTES:
        raise Refusal("roster_too_large", f"{filename}过大（{len(data) // 1024 // 1024} MB，最多"
                      f"{MAX_FILE_BYTES // 1024 // 1024} MB），请分批导入", RULE, file=filename)
    warnings: list[dict[str, Any]] = []
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # its cell extent cannot be bounded before reading
        raise Refusal("roster_format", f"{filename}是旧版Excel（.xls）文件，请另存为.xlsx或CSV后导入", RULE, file=filename)
    lines: Iterable[tuple[int, list[Any]]]
    if data[:4] == b"PK\x03\x04":
        fmt, encoding, lines = "xlsx", None, _sheet_lines(data, filename, warnings)
    else:
        text, encoding = decode_text(data, filename)
        fmt, lines = "csv", _csv_lines(text, filename)
    return _rows_from_lines(lines, filename=filename, fmt=fmt, encoding=encoding, warnings=warnings)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_text(data: bytes, filename: str = "") -> tuple[str, str]:
    """CSV text and the encoding it was in: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030 (a superset of GBK
    and GB2312, what Chinese Excel writes for “CSV”). A BOM that does not match the body is refused, with the line."""
    what = filename or "文件"
    if data.startswith(codecs.BOM_UTF8):
        body = data[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise Refusal("roster_encoding", f"{what}开头标明为UTF-8编码，但第{_line_of(body, exc.start)}行不是有效的UTF-8"
                          f"（可能是GBK/GB18030）；请另存为“CSV UTF-8”后重新导入", RULE, file=filename,
                          line=_line_of(body, exc.start)) from None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise Refusal("roster_encoding", f"{what}开头标明为UTF-16编码，但内容不是有效的UTF-16；"
                          f"请另存为“CSV UTF-8”后重新导入", RULE, file=filename) from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise Refusal("roster_encoding", f"无法识别{what}的编码（应为UTF-8或GB18030/GBK），第{_line_of(data, exc.start)}"
                      f"行有无效字节", RULE, file=filename, line=_line_of(data, exc.start)) from None


def _csv_lines(text: str, filename: str) -> Iterator[tuple[int, list[Any]]]:
    """(physical line where the record starts, cells). A quoted cell may span lines; blank lines count."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(",\t;", key=first.count) if first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = previous + 1
            if "field larger than field limit" in str(exc):
                reason = f"有一个字段超过{_CSV_FIELD_LIMIT}个字符（可能是引号未闭合）"
            else:
                reason = "CSV格式错误（引号或分隔符不配对）"
            raise Refusal("roster_format", f"{filename}第{line}行{reason}，未导入任何内容", RULE, file=filename,
                          line=line) from None
        yield previous + 1, cells
        previous = reader.line_num


def _sheet_lines(data: bytes, filename: str, warnings: list[dict[str, Any]]) -> list[tuple[int, list[Any]]]:
    """The first sheet's rows as (sheet row number, cell values), through python-calamine (Rust: about five times
    faster than the hand-written stdlib reader it replaced), once `_check_zip` has bounded what it will allocate."""
    _check_zip(data, filename)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = book.sheet_names
        if not names:
            raise Refusal("roster_empty", f"{filename}中没有工作表", RULE, file=filename)
        sheet = book.get_sheet_by_index(0)
        if sheet.height > MAX_ROWS:
            raise Refusal("roster_too_large", f"{filename}有{sheet.height}行，最多{MAX_ROWS}行，请分批导入", RULE,
                          file=filename)
        rows = sheet.to_python(skip_empty_area=False)
    except Refusal:
        raise
    except python_calamine.PasswordError:
        raise Refusal("roster_format", f"{filename}设有密码，请取消密码后导入", RULE, file=filename) from None
    except Exception:  # noqa: BLE001 — calamine's errors are English and may quote cell content: one Chinese answer
        raise Refusal("roster_format", f"无法读取Excel文件{filename}（文件已损坏或不是Excel工作簿），请用Excel打开后"
                      f"另存为.xlsx或CSV再导入", RULE, file=filename) from None
    if len(names) > 1:
        warnings.append({"line": None, "message": f"工作簿有{len(names)}个工作表，只导入了第一个（“{shown(names[0], 40)}”）"})
    return [(number, list(cells)) for number, cells in enumerate(rows, start=1)]


def _check_zip(data: bytes, filename: str) -> None:
    """Refuse, before calamine reads it, a workbook that is not XLSX (XLSB, ODS: their extent cannot be bounded
    here), that unpacks too large, or whose sheets span more than MAX_COLUMNS columns or MAX_GRID_CELLS cells."""
    damaged = Refusal("roster_format", f"无法读取Excel文件{filename}（文件已损坏或不是.xlsx工作簿），请用Excel打开后另存为"
                      f".xlsx或CSV再导入", RULE, file=filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            infos = book.infolist()
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise damaged
            if sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
                raise Refusal("roster_too_large", f"{filename}解压后过大（超过{MAX_UNZIPPED_BYTES // 1024 // 1024} MB），"
                              f"请分批导入", RULE, file=filename)
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with book.open(info) as stream:
                        rows, columns = _sheet_extent(stream)
                    if columns > MAX_COLUMNS or rows * max(columns, 1) > MAX_GRID_CELLS:
                        raise Refusal("roster_too_large", f"{filename}的工作表范围过大（约{rows}行×{columns}列），"
                                      f"请删除多余的行列或另存为CSV后导入", RULE, file=filename)
    except Refusal:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError, EOFError,
            RuntimeError):  # RuntimeError: an encrypted member
        raise damaged from None


# Reference attributes: a cell's `r="AB12"`, a row's `r="12"` (a literal first, so the scan runs at C speed; any
# other attribute ending in r, e.g. `footer="0.3"`, can only raise the bound, never hide a cell).
_CELL_COLUMN = re.compile(rb'r="([A-Z]{1,3})[0-9]')
_ANY_ROW = re.compile(rb'r="[A-Z]{0,3}([0-9]{1,9})"')


def _sheet_extent(stream) -> tuple[int, int]:
    """An upper bound of (rows, columns) calamine will give a sheet: the furthest cell reference, plus every row and
    cell whose position is implied (no `r` attribute). Read in chunks; C-speed scans, not an XML parse."""
    max_row = max_col = cells = explicit = row_tags = 0
    tail = b""
    while True:
        chunk = stream.read(1 << 22)
        if not chunk:
            break
        text = tail + chunk
        cut = text.rfind(b"<")  # an element split by the chunk boundary is scanned with the next chunk
        cut = cut if cut > len(text) - 4096 else len(text)
        body, tail = text[:cut], text[cut:]
        letters = _CELL_COLUMN.findall(body)
        explicit += len(letters)
        if letters:
            max_col = max(max_col, max(map(_column_number, set(letters))))
        numbers = _ANY_ROW.findall(body)
        if numbers:
            max_row = max(max_row, max(map(int, numbers)))
        cells += body.count(b"<c ") + body.count(b"<c>") + body.count(b":c ") + body.count(b":c>")
        row_tags += body.count(b"<row") + body.count(b":row")
    return max_row + row_tags, max_col + max(0, cells - explicit)


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


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
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "#NUM!"
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
        _check_cells(texts, line, filename)
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
            warnings.append({"line": header_line, "message": f"未知的列“{shown(title, 40)}”，已忽略"})
        elif key in seen:
            warnings.append({"line": header_line, "message": f"列“{shown(title, 40)}”与列“{shown(seen[key], 40)}”"
                                                            f"重复，只读取了前者"})
        else:
            seen[key] = title
            mapping.append((index, key))
    columns = [key for _, key in mapping]
    check_columns(columns, filename)
    rows: list[dict[str, Any]] = []
    for line, cells in iterator:
        values = {key: cell_text(cells[i]) if i < len(cells) else "" for i, key in mapping}
        _check_cells(values.values(), line, filename)
        if not any(values.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise Refusal("roster_too_large", f"{filename}超过{MAX_ROWS}行（第{line}行），请分批导入", RULE,
                          file=filename, line=line)
        rows.append({"line": line, **values})
    return ParsedRoster(filename, fmt, encoding, cast(int, header_line), columns, rows, warnings)


def _check_cells(texts: Iterable[str], line: int, filename: str) -> None:
    for text in texts:
        if len(text) > MAX_CELL:
            raise Refusal("roster_field_too_long", f"{filename}第{line}行有一个单元格长达{len(text)}字（最多{MAX_CELL}字），"
                          f"未导入任何内容", RULE, file=filename, line=line)


def check_columns(columns: Iterable[str], filename: str = "") -> None:
    missing = [LABEL[k] for k in REQUIRED_KEYS if k not in set(columns)]
    if missing:
        raise Refusal("roster_missing_columns", f"{filename or '名册'}缺少必需的列：{'、'.join(missing)}，未导入任何内容",
                      RULE, missing=missing, file=filename)
