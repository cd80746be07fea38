"""Property-based tests (hypothesis) of the roster importer, beside tests/casework/test_hostile_fuzz.py (which feeds
it random bytes, spreadsheet-shaped bytes and CSV rosters with hostile cells, and checks invariants of what it
stores). Here the input is a real roster, and the property is exactness:
- written as CSV in any encoding (those it reads, and others it must not misread) or as XLSX: it is imported
  exactly (every row's member, by resident ID number, with its name), or refused with a line-numbered report or a
  message, the store unchanged;
- cut off at any byte: the same, and whatever is imported is what the rows said.

Examples per test and backend: tests/properties.py (HYPOTHESIS_PROFILE=full for 20 times as many)."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.roster import import_roster_bytes
from models.errors import Refusal
from models.store import AuditEvent, Member
from tests.casework.test_roster import HEADERS, csv_bytes, make_id, person
from tests.conftest import T0
from tests.properties import examples

SURNAMES = "张王李赵钱孙周吴郑冯陈褚卫蒋沈韩杨朱秦许何吕施"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
READ = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]  # what the importer reads (casework/roster_read.py)
OTHERS = ["utf-16-le", "utf-16-be", "utf-32", "big5", "cp1252", "shift_jis", "euc-kr"]  # what it must not misread


@st.composite
def rosters(draw) -> list[dict[str, str]]:
    """Up to eight valid rows: distinct birth dates give distinct resident ID numbers."""
    births = draw(st.lists(st.dates(dt.date(1950, 1, 1), dt.date(2000, 12, 31)), min_size=1, max_size=8,
                           unique=True))
    rows = []
    for birth in births:
        name = draw(st.sampled_from(SURNAMES)) + draw(st.text(GIVEN, min_size=1, max_size=2))
        male = draw(st.booleans())
        rows.append(person(name, male=male, birth=birth, 身份证号=make_id(birth, male, seq=birth.toordinal()),
                           branch=draw(st.sampled_from(["B1", "B2"]))))
    return rows


def xlsx_bytes(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append([row.get(h, "") for h in HEADERS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@st.composite
def files(draw) -> tuple[list[dict], bytes, str, bool]:
    """(rows, bytes, file name, whether the importer is meant to read this encoding)."""
    rows = draw(rosters())
    kind = draw(st.sampled_from(["xlsx", "read", "other"]))
    if kind == "xlsx":
        return rows, xlsx_bytes(rows), "名册.xlsx", True
    encoding = draw(st.sampled_from(READ if kind == "read" else OTHERS))
    text = csv_bytes(rows).decode("utf-8")
    return rows, text.encode(encoding, errors="replace"), "名册.csv", kind == "read"


def state(store) -> tuple:
    with store.reading() as s:
        members = sorted((m.id, m.name, m.id_number, m.phone, m.branch_id) for m in s.scalars(select(Member)))
        audits = s.scalar(select(func.count()).select_from(AuditEvent))
    return members, audits


def stored_names(store) -> dict[str, str]:
    with store.reading() as s:
        return {m.id_number: m.name for m in s.scalars(select(Member))}


def field(answer, name):
    """A report (or one of its errors) is a dict today and becomes a Pydantic view: read it either way."""
    return answer[name] if isinstance(answer, dict) else getattr(answer, name)


def import_or_refusal(store, data: bytes, name: str, accept: bool):
    """The importer's answer (a report) or its refusal, with the refusal's promises checked: a message, a report
    whose every error names its line, and the store as it was."""
    before = state(store)
    try:
        return import_roster_bytes(store, data, name, base_committee_id="TOWN", actor_id="town_staff", now=T0,
                                   accept_valid_rows=accept)
    except Refusal as refusal:
        assert refusal.message and refusal.code.startswith(("roster_", "concurrent")), refusal.code
        if refusal.code == "roster_has_errors":
            errors = field(refusal.details["report"], "errors")
            assert errors and all(field(e, "line") >= 2 and field(e, "reasons") for e in errors)
        assert state(store) == before
        return None


@examples(15)
@given(case=files())
def test_any_roster_in_any_encoding_is_imported_exactly_or_refused(orgs, case):
    rows, data, name, readable = case
    report = import_or_refusal(orgs, data, name, accept=False)
    if report is None:
        assert not readable, "a valid roster in an encoding the importer reads was refused"
        return
    assert field(report, "valid") == len(rows) and not field(report, "errors")
    names = stored_names(orgs)
    assert {r["身份证号"]: names.get(r["身份证号"]) for r in rows} == {r["身份证号"]: r["姓名"] for r in rows}


@examples(15)
@given(case=files(), cut=st.floats(0, 1, exclude_max=True), accept=st.booleans())
def test_a_roster_cut_off_anywhere_is_imported_as_its_rows_say_or_refused(orgs, case, cut, accept):
    rows, data, name, _ = case
    data = data[:int(len(data) * cut)]
    before = stored_names(orgs)
    report = import_or_refusal(orgs, data, name, accept=accept)
    if report is None:
        return
    given_names = {r["身份证号"]: r["姓名"] for r in rows}
    after = stored_names(orgs)
    changed = {i: n for i, n in after.items() if before.get(i) != n}
    # Whatever changed is a row of the file as written: a cut row is refused, never stored half.
    assert all(given_names.get(i) == n for i, n in changed.items()), changed
    assert field(report, "created") + field(report, "updated") + field(report, "unchanged") == field(report, "valid")
    assert all(field(e, "line") >= 2 and field(e, "reasons") for e in field(report, "errors"))
