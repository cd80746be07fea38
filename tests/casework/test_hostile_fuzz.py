"""Property-based tests (hypothesis) of the entrance: any bytes given to the roster importer, any text given to an
action, end in a correct result or a clear refusal (a `Refusal` with a Chinese message), never another exception;
and a refusal leaves the store as it was.

Profiles (env HYPOTHESIS_PROFILE): "ci" (default, about a minute for this file on SQLite and PostgreSQL) and "full"
(the longer run of benchmarks/fuzz.py, whose last result is in benchmarks/results/fuzz.md)."""
from __future__ import annotations

import csv
import io
import os
import unicodedata

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from casework.campaigns import start_campaign
from casework.roster import import_roster_bytes, parse_roster
from casework.roster_check import BranchIndex, OrgInfo, check_rows
from casework.search import record_attempt
from models.codes import OrgKind
from models.errors import Refusal
from models.store import Attempt, AuditEvent, Campaign, Case, Member
from tests.casework.drive import add_member, case_of, start
from tests.casework.test_roster import TODAY, person
from tests.conftest import T0

_COMMON = dict(deadline=None, derandomize=False, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", max_examples=60, **_COMMON)  # tests against a store, per backend
settings.register_profile("full", max_examples=500, **_COMMON)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
PURE_EXAMPLES = 5000 if PROFILE == "full" else 300  # pure tests are cheap: more examples

HEADERS = list(person("x"))
# Texts a hostile or careless file carries: any Unicode, control characters, full-width digits, huge cells.
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["\x00", "\x1b[31m", "\r\n", "²", "１２３", "=cmd|' /C calc'!A0", "\u202e", "\ud800", '"', ",",
                     "2020-13-45", "0001-01-01", "9999-12-31", "1.1e+17", "nan", "inf", "-0"]),
    st.builds(lambda c, n: c * n, st.sampled_from(["长", "x", "\n"]), st.integers(0, 140_000)),
)


def _valid_cells() -> st.SearchStrategy[dict]:
    return st.builds(lambda i: person(f"人{i}"), st.integers(0, 10_000))


@st.composite
def rosters(draw) -> bytes:
    """A CSV roster: real rows with some cells replaced by nasty ones, then encoded some way."""
    rows = draw(st.lists(_valid_cells(), min_size=1, max_size=6))
    for row in rows:
        for key in draw(st.lists(st.sampled_from(HEADERS), max_size=3)):
            row[key] = draw(nasty_text)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADERS)
    writer.writeheader()
    writer.writerows(rows)
    text = out.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1-lie"]))
    if encoding == "latin-1-lie":  # a UTF-8 BOM over a GB18030 body
        return b"\xef\xbb\xbf" + text.encode("gb18030", errors="replace")
    return text.encode(encoding, errors="surrogatepass" if encoding.startswith("utf") else "replace")


def _branches() -> BranchIndex:
    return BranchIndex([OrgInfo("TOWN", "某镇党委", OrgKind.BASE_COMMITTEE, "COUNTY"),
                        OrgInfo("B1", "东村党支部", OrgKind.BRANCH, "TOWN"),
                        OrgInfo("B2", "西村党支部", OrgKind.BRANCH, "TOWN")], "TOWN")


def _parse_and_check(data: bytes, name: str) -> None:
    try:
        parsed = parse_roster(data, name)
    except Refusal as refusal:
        assert refusal.message and refusal.code.startswith("roster_")
        return
    for checked in check_rows(parsed.rows, columns=parsed.columns, branches=_branches(), today=TODAY):
        assert checked.valid or all(isinstance(r, str) and r for r in checked.reasons)
        assert isinstance(checked.line, int) and checked.line >= 2


@settings(max_examples=PURE_EXAMPLES)
@given(data=st.binary(max_size=2000), name=st.sampled_from(["a.csv", "a.xlsx", "a.xls"]))
def test_any_bytes_are_read_or_refused(data, name):
    _parse_and_check(data, name)


@settings(max_examples=PURE_EXAMPLES)
@given(data=st.one_of(st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=300).map(lambda b: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b)))
def test_any_spreadsheet_shaped_bytes_are_read_or_refused(data):
    _parse_and_check(data, "a.xlsx")


@settings(max_examples=PURE_EXAMPLES // 3)
@given(cells=st.lists(st.tuples(st.integers(1, 1_048_576), st.integers(1, 16_384), nasty_text.filter(
    lambda t: len(t) < 1000 and all(ch in "\t\n\r" or ch >= " " for ch in t) and "\ud800" not in t)), max_size=4))
def test_any_workbook_with_cells_anywhere_is_read_or_refused(cells):
    """A cell far away makes python-calamine allocate a dense grid: the extent check must refuse it first (a crash
    here would abort the test process itself)."""
    import openpyxl
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(HEADERS)
    for row, column, value in cells:
        try:
            ws.cell(row=row, column=column).value = value
        except (IllegalCharacterError, ValueError):
            continue
    out = io.BytesIO()
    book.save(out)
    _parse_and_check(out.getvalue(), "a.xlsx")


@settings(max_examples=PURE_EXAMPLES)
@given(data=rosters())
def test_any_csv_roster_is_checked_row_by_row(data):
    _parse_and_check(data, "名册.csv")


def _state(store) -> tuple:
    with store.reading() as s:
        members = sorted((m.id, m.name, m.phone, m.remarks, m.branch_id) for m in s.scalars(select(Member)))
        audits = s.scalar(select(func.count()).select_from(AuditEvent))
    return members, audits


@given(data=rosters(), accept=st.booleans())
def test_any_roster_imports_correctly_or_is_refused_leaving_the_store_unchanged(orgs, data, accept):
    before = _state(orgs)
    try:
        report = import_roster_bytes(orgs, data, "名册.csv", base_committee_id="TOWN", actor_id="town_staff",
                                     now=T0, accept_valid_rows=accept)
    except Refusal as refusal:
        assert refusal.message
        assert _state(orgs) == before
        if refusal.code == "roster_has_errors":
            assert all(e["line"] >= 2 and e["reasons"] for e in refusal.details["report"]["errors"])
        return
    assert report.created + report.updated + report.unchanged == report.valid
    assert all(e.line >= 2 and e.reasons for e in report.errors)
    with orgs.reading() as s:
        for m in s.scalars(select(Member)):
            assert m.id_number.isascii() and len(m.id_number) == 18
            assert not any(unicodedata.category(ch) in ("Cc", "Cs", "Cf") for ch in m.name)
            assert not any(unicodedata.category(ch) in ("Cs", "Cf") or (ch != "\n" and unicodedata.category(ch) == "Cc")
                           for ch in m.remarks or "")


action_text = st.one_of(st.text(max_size=30), nasty_text)


@given(method=action_text, description=action_text, witness=action_text, remark=action_text,
       at=st.one_of(st.none(), action_text, st.sampled_from(["2026-03-06T09:00", "0001-01-01", "9999-12-31T23:59"])),
       case_suffix=st.sampled_from(["", "\x00", "Ｘ", " "]))
def test_any_text_given_to_an_action_is_recorded_or_refused(orgs, method, description, witness, remark, at,
                                                             case_suffix):
    with orgs.reading() as s:
        case_id = s.scalar(select(Case.id).limit(1))
    if case_id is None:  # first example of this store: a case to act on
        member = add_member(orgs, name="甲")
        start(orgs)
        case_id = case_of(orgs, member)
    with orgs.reading() as s:
        attempts = s.scalar(select(func.count()).select_from(Attempt))
    try:
        record_attempt(orgs, actor_id="sec1", now=T0, case_id=case_id + case_suffix, stage="direct", method=method,
                       description=description, witness=witness, remark=remark, attempted_at=at,
                       outcome="not_found", concludes_stage=False)
    except Refusal as refusal:
        assert refusal.message and len(refusal.message) < 500
        with orgs.reading() as s:
            assert s.scalar(select(func.count()).select_from(Attempt)) == attempts
        return
    with orgs.reading() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == attempts + 1


@given(campaign_id=action_text, name=action_text,
       start_date=st.one_of(action_text, st.dates().map(str)),
       phases=st.dictionaries(st.sampled_from(["search", "dispose", "nonsense", "\x00"]), action_text, max_size=2))
def test_any_campaign_start_is_a_campaign_or_a_refusal(orgs, campaign_id, name, start_date, phases):
    assume(campaign_id.strip())
    with orgs.reading() as s:
        before = s.scalar(select(func.count()).select_from(Campaign))
    try:
        start_campaign(orgs, actor_id="town_sec", now=T0, campaign_id=campaign_id, org_id="TOWN", name=name,
                       start_date=start_date, phases=phases)
    except Refusal as refusal:
        assert refusal.message
        with orgs.reading() as s:
            assert s.scalar(select(func.count()).select_from(Campaign)) == before


json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | action_text,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(action_text, inner, max_size=3),
                           max_leaves=6)


@given(which=st.sampled_from(["decide", "propose", "referral", "material", "letter", "receipt", "judge"]),
       values=st.dictionaries(st.sampled_from(["verdict", "opinion", "member_signed", "signature_note", "guide", "vote",
                                               "expected_version", "grounds", "conduct", "lost_reasons",
                                               "correction_months", "summary", "target", "kind", "reference",
                                               "validity_days", "issued_on", "received_on", "receiving_org",
                                               "changed", "disposition"]), json_values, max_size=5))
def test_any_json_given_to_the_other_actions_is_an_answer_or_a_refusal(orgs, which, values):
    from casework.dispositions import (decide_step, file_material, judge_correction, propose_disposition,
                                       record_referral)
    from casework.followups import issue_transfer_letter, record_receipt

    with orgs.reading() as s:
        case_id = s.scalar(select(Case.id).limit(1))
        member_id = s.scalar(select(Member.id).limit(1))
    if case_id is None:
        member_id = add_member(orgs, name="乙")
        start(orgs)
        case_id = case_of(orgs, member_id)
    calls = {
        "decide": (decide_step, {"step_id": f"{case_id}-001", "verdict": "approve", "opinion": "同意"},
                   {"verdict", "opinion", "member_signed", "signature_note", "guide", "vote", "expected_version"}),
        "propose": (propose_disposition, {"case_id": case_id, "disposition": "normal_management", "grounds": "g"},
                    {"disposition", "grounds", "conduct", "lost_reasons", "correction_months", "expected_version"}),
        "referral": (record_referral, {"case_id": case_id, "target": "police", "summary": "s"}, {"target", "summary"}),
        "material": (file_material, {"case_id": case_id, "kind": "k", "reference": "r"}, {"kind", "reference"}),
        "letter": (issue_transfer_letter, {"letter_id": "L1", "member_id": member_id, "receiving_org": "某党委",
                                           "issued_on": "2026-03-01", "validity_days": 30},
                   {"receiving_org", "issued_on", "validity_days"}),
        "receipt": (record_receipt, {"letter_id": "L1", "received_on": "2026-03-05"}, {"received_on"}),
        "judge": (judge_correction, {"step_id": f"{case_id}-001", "changed": True, "opinion": "o"},
                  {"changed", "opinion", "expected_version"}),
    }
    fn, kwargs, allowed = calls[which]
    kwargs.update({k: v for k, v in values.items() if k in allowed})
    before = _state(orgs)
    try:
        fn(orgs, actor_id="sec1", now=T0, **kwargs)
    except Refusal as refusal:
        assert refusal.message
        assert _state(orgs) == before
