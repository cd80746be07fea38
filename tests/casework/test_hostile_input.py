"""Hostile input at the entrance (issue 20, points 2 and 5): one member however their ID number is written; no
control characters, no unbounded text; every malformed file a line-numbered refusal, never an exception."""
from __future__ import annotations

import codecs
import csv
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import func, select

from casework.dispositions import record_referral
from casework.roster import import_roster_bytes
from casework.search import record_attempt
from models.errors import Refusal
from models.store import Attempt, Member
from models.text import TextProblem, clean, id_number_text
from tests.casework.drive import add_member, case_of, start
from tests.casework.test_roster import person
from tests.cli.helpers import run_cli
from tests.conftest import T0

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def _csv(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _import(store, data: bytes, name: str = "名册.csv", **kw):
    return import_roster_bytes(store, data, name, base_committee_id="TOWN", actor_id="town_staff", now=T0, **kw)


def _refused(store, data: bytes, name: str = "名册.csv") -> Refusal:
    with pytest.raises(Refusal) as err:
        _import(store, data, name)
    return err.value


def _members(store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(Member))


# ---------------------------------------------------------------- the pure entrance

@pytest.mark.parametrize("raw, expected", [
    ("１１０１０１１９８５０５２００１１Ｘ", "11010119850520011X"),
    ("110101 19850520 011x", "11010119850520011X"),
    ("11010119850520011²", "110101198505200112"),
])
def test_id_numbers_are_nfkc_then_ascii(raw, expected):
    assert id_number_text(raw) == expected


@pytest.mark.parametrize("raw", ["١١٠١٠١١٩٨٥٠٥٢٠٠١١٣", "11010119850520011\x00", "1101011985052001１a"])
def test_other_characters_in_id_numbers_are_refused(raw):
    with pytest.raises(TextProblem):
        id_number_text(raw)


@pytest.mark.parametrize("value, field, reason", [
    ("张\x00三", "name", "控制字符"), ("张\x1b[2J三", "name", "控制字符"), ("张\n三", "name", "换行符"),
    ("x" * 81, "name", "过长"), ("x" * 10_000_000, "remarks", "过长"), ("a\u202eb", "name", "文字方向"),
    ("备注\x07", "remarks", "控制字符"), ("张\u200b三", "name", "不可见"), ("\ufeff张三", "name", "不可见"),
])
def test_texts_are_refused_at_the_entrance(value, field, reason):
    with pytest.raises(TextProblem) as err:
        clean(value, field)
    assert reason in str(err.value) and len(str(err.value)) < 100


def test_long_texts_keep_their_line_breaks():
    assert clean("第一行\r\n第二行\r第三行", "remarks") == "第一行\n第二行\n第三行"


# ---------------------------------------------------------------- twin members

def test_a_full_width_id_number_is_the_same_member(orgs):
    row = person("张三")
    _import(orgs, _csv([row]))
    twin = {**row, "身份证号": row["身份证号"].translate(FULL_WIDTH), "联系电话": "13900000000"}
    report = _import(orgs, _csv([twin]))
    assert (report.created, report.updated) == (0, 1)
    assert _members(orgs) == 1


def test_a_full_width_id_number_cannot_take_another_committees_member(orgs):
    row = person("李四", branch="OB1")
    import_roster_bytes(orgs, _csv([row]), "名册.csv", base_committee_id="OTHER_BASE", actor_id="other_sec", now=T0)
    twin = {**row, "所在党支部": "B1", "身份证号": row["身份证号"].translate(FULL_WIDTH)}
    err = _refused(orgs, _csv([twin]))
    assert "已在南村党支部登记" in err.details["report"]["errors"][0]["reasons"][0]
    assert _members(orgs) == 1


# ---------------------------------------------------------------- bad rows: line-numbered reasons

@pytest.mark.parametrize("field, value, reason", [
    ("姓名", "张\x00三", "姓名含有不允许的控制字符"),
    ("姓名", "张\x1b[31m三", "姓名含有不允许的控制字符"),
    ("姓名", "张\n三", "姓名含有不允许的换行符"),
    ("身份证号", "11010119850520011²x", "身份证号"),
    ("备注", "长" * 2001, "备注过长（2001字，最多2000字）"),
    ("联系电话", "1" * 41, "联系电话过长"),
])
def test_bad_cells_are_line_numbered_reasons(orgs, field, value, reason):
    rows = [person("好人"), {**person("坏人"), field: value}]
    err = _refused(orgs, _csv(rows))
    assert err.code == "roster_has_errors"
    [error] = err.details["report"]["errors"]
    assert error["line"] == 3
    assert any(reason in r for r in error["reasons"]), error
    assert "\x1b" not in str(err.details) and "\x00" not in str(err.details)
    assert _members(orgs) == 0


def _xlsx_with_long_remark(length: int) -> bytes:
    """Two members as a workbook, the second (line 3) with a remark of `length` characters."""
    book = openpyxl.Workbook()
    ws = book.active
    rows = [person("甲"), person("乙")]
    ws.append(list(rows[0]))
    for r in rows:
        ws.append(list(r.values()))
    ws.cell(row=3, column=list(rows[0]).index("备注") + 1).value = "长" * length
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_a_ten_megabyte_remark_in_xlsx_is_refused_with_its_line(orgs):
    err = _refused(orgs, _xlsx_with_long_remark(32_000), "名册.xlsx")  # Excel's cell limit is 32,767
    assert err.details["report"]["errors"][0]["line"] == 3
    assert "备注过长（32000字，最多2000字）" in err.details["report"]["errors"][0]["reasons"]


# ---------------------------------------------------------------- bad files: a refusal naming the line

def test_a_csv_field_over_the_csv_limit_is_refused_with_its_line(orgs):
    rows = [person("甲"), {**person("乙"), "备注": "x" * 140_000}]
    err = _refused(orgs, _csv(rows))
    assert err.code in ("roster_format", "roster_field_too_long") and err.details["line"] == 3
    assert "第3行" in err.message


def test_an_unclosed_quote_is_refused_with_its_line(orgs):
    data = _csv([person("甲")]) + b'"\xe4\xb9\x99,' + b"x" * 200_000
    err = _refused(orgs, data)
    assert err.code == "roster_format" and err.details["line"] == 3


def test_a_utf8_bom_over_a_gb18030_body_is_refused_with_its_line(orgs):
    data = codecs.BOM_UTF8 + _csv([person("甲"), person("乙")], encoding="gb18030")
    err = _refused(orgs, data)
    assert err.code == "roster_encoding" and err.details["line"] == 1
    assert "UTF-8" in err.message


def test_an_oversized_file_is_refused(orgs, monkeypatch):
    from casework import roster_read

    monkeypatch.setattr(roster_read, "MAX_FILE_BYTES", 1000)
    err = _refused(orgs, _csv([person(f"人{i}") for i in range(20)]))
    assert err.code == "roster_too_large"


@pytest.mark.parametrize("mangle", ["bad_shared_index", "bad_number", "truncated", "bad_xml"])
def test_malformed_xlsx_cells_are_a_clear_refusal_or_a_clear_report(orgs, mangle):
    book = openpyxl.Workbook()
    ws = book.active
    rows = [person("甲")]
    ws.append(list(rows[0]))
    ws.append(list(rows[0].values()))
    data = io.BytesIO()
    book.save(data)
    raw = data.getvalue()
    if mangle == "truncated":
        bad = raw[: len(raw) // 2]
    else:
        source = zipfile.ZipFile(io.BytesIO(raw))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                body = source.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    text = body.decode()
                    if mangle == "bad_shared_index":
                        text = text.replace('t="s"><v>0</v>', 't="s"><v>99999</v>', 1)
                    elif mangle == "bad_number":
                        text = text.replace("<c r=\"A2\" t=\"s\">", "<c r=\"A2\" t=\"n\">", 1)
                        text = text.replace("<v>", "<v>abc", 1)
                    else:
                        text = text.replace("</sheetData>", "<row><c>", 1)
                    body = text.encode()
                target.writestr(item, body)
        bad = out.getvalue()
    try:
        report = _import(orgs, bad, "名册.xlsx")
    except Refusal as err:
        assert err.code in ("roster_format", "roster_has_errors", "roster_missing_columns", "roster_empty")
        assert err.message
    else:
        assert report.imported


@pytest.mark.parametrize("far", ["XFD1048576", "ZZ300000"])
def test_a_tiny_workbook_with_a_far_away_cell_is_refused_before_it_is_read(orgs, far):
    """python-calamine allocates the used range densely: XFD1048576 in a 5 KB file aborted the whole process."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(list(person("甲")))
    ws[far] = "x"
    data = io.BytesIO()
    book.save(data)
    err = _refused(orgs, data.getvalue(), "名册.xlsx")
    assert err.code == "roster_too_large" and "工作表范围过大" in err.message


def test_a_row_of_implied_cells_counts_towards_the_extent(orgs):
    cells = "".join("<c t=\"inlineStr\"><is><t>x</t></is></c>" for _ in range(600))
    sheet = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f"<sheetData><row>{cells}</row></sheetData></worksheet>")
    book = openpyxl.Workbook()
    raw = io.BytesIO()
    book.save(raw)
    source = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = sheet.encode() if item.filename == "xl/worksheets/sheet1.xml" else source.read(item.filename)
            target.writestr(item, body)
    assert _refused(orgs, out.getvalue(), "名册.xlsx").code == "roster_too_large"


def test_old_xls_xlsb_and_ods_are_refused_clearly(orgs):
    assert _refused(orgs, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "名册.xls").code == "roster_format"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        target.writestr("content.xml", "<x/>")
    err = _refused(orgs, out.getvalue(), "名册.ods")
    assert err.code == "roster_format" and "另存为.xlsx或CSV" in err.message


# ---------------------------------------------------------------- actions' text arguments

def test_actions_refuse_control_characters_and_oversized_texts(orgs):
    member = add_member(orgs, name="丙")
    start(orgs)
    case_id = case_of(orgs, member)
    base = dict(actor_id="sec1", now=T0, case_id=case_id, stage="direct", method="电话", description="未接通",
                witness="李四", outcome="not_found")
    for bad in ({"witness": "李\x1b[2J四"}, {"description": "x" * 10_000_000}, {"remark": "\x00"},
                {"case_id": case_id + "\x00"}, {"attempted_at": "0001-01-01T00:00"},
                {"attempted_at": "9999-12-31T23:59"}):
        with pytest.raises(Refusal) as err:
            record_attempt(orgs, **{**base, **bad})
        assert err.value.code in ("bad_text",), err.value
        assert len(err.value.message) < 200
    with pytest.raises(Refusal):
        record_referral(orgs, actor_id="sec1", now=T0, case_id=case_id, target="police", summary="线索\x1b[0m")
    with orgs.reading() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == 0
    # full-width codes are the same codes
    done = record_attempt(orgs, **{**base, "case_id": case_id.translate(FULL_WIDTH)})
    assert done.case_id == case_id


# ---------------------------------------------------------------- the CLI's dates

@pytest.mark.parametrize("args", [
    ("--now", "0001-01-01", "followups", "run"),
    ("--now", "9999-12-31T23:59", "followups", "run"),
    ("campaign", "start", "--id", "X", "--org", "TOWN", "--name", "n", "--start-date", "0001-01-01", "--as", "a"),
    ("campaign", "start", "--id", "X", "--org", "TOWN", "--name", "n", "--start-date", "9999-12-31", "--as", "a"),
    ("search", "record", "C-1", "--stage", "direct", "--method", "电话", "--description", "d", "--witness", "w",
     "--outcome", "not_found", "--at", "9999-12-31T23:00", "--as", "sec1"),
])
def test_years_one_and_9999_are_usage_errors(tmp_path, args):
    result = run_cli(*args, cwd=tmp_path)
    assert result.code in (2, 3), result
    assert "Traceback" not in result.err
    assert "年份超出允许范围" in result.err, result


def test_rare_name_characters_in_private_use_or_new_extensions_are_kept():
    assert clean("张\ue000", "name") == "张\ue000"  # a 生僻字 mapped into the private-use area by a legacy system
    assert clean("李\U00031350", "name") == "李\U00031350"  # CJK Extension H (Unicode 15)


def test_a_date_argument_of_many_line_breaks_is_refused_without_being_echoed(orgs):
    member = add_member(orgs, name="丁")
    start(orgs)
    with pytest.raises(Refusal) as err:
        record_attempt(orgs, actor_id="sec1", now=T0, case_id=case_of(orgs, member), stage="direct", method="电话",
                       description="d", witness="w", outcome="not_found", attempted_at="\n" * 5000)
    assert err.value.code == "bad_text" and len(err.value.message) < 100


def test_a_ten_megabyte_cell_of_a_crafted_xlsx_is_refused_with_its_line(orgs):
    err = _refused(orgs, _xlsx_with_long_remark(10_000_000), "名册.xlsx")  # beyond Excel's own limit
    # python-calamine stops reading a cell at Excel's 32,767 characters: still far over the field's limit
    assert err.code == "roster_has_errors"
    [error] = err.details["report"]["errors"]
    assert error["line"] == 3 and any(r.startswith("备注过长") for r in error["reasons"])
    assert _members(orgs) == 0


def test_a_csv_cell_over_excels_limit_is_refused_with_its_line(orgs):
    rows = [person("甲"), {**person("乙"), "备注": "长" * 40_000}]  # under csv's own limit, over any cell's
    err = _refused(orgs, _csv(rows))
    assert err.code == "roster_field_too_long" and err.details["line"] == 3 and "第3行" in err.message
