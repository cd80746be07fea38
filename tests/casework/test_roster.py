"""Roster import against the real store (SQLite and PostgreSQL): formats, line numbers, every reason, the
all-or-nothing policy, upserts, idempotency, and who is lost-contact as of a campaign start."""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools

import openpyxl
import pytest
from sqlalchemy import func, select

from casework.roster import (cell_text, import_roster, import_roster_bytes, import_roster_file,
                             lost_contact_members, member_id_for, parse_date, parse_roster)
from casework.roster_read import _sheet_lines
from demo.sample_roster import HEADERS, generate_sample, write_csv, write_xlsx
from models.codes import Gender, MemberKind, Occupation, Situation
from models.errors import Refusal
from models.idcard import check_character
from models.store import AuditEvent, Member
from models.text import mask_id_number
from tests.conftest import T0

TODAY = dt.date(2026, 3, 7)  # T0 in Asia/Shanghai
_seq = itertools.count(11)


def make_id(birth: dt.date, male: bool, seq: int | None = None, area: str = "150102") -> str:
    seq = next(_seq) if seq is None else seq
    first17 = f"{area}{birth:%Y%m%d}{seq % 100:02d}{1 if male else 2}"
    return first17 + check_character(first17)


def person(name: str, *, male: bool = True, birth: dt.date = dt.date(1985, 6, 2), branch: str = "B1",
           **fields: str) -> dict[str, str]:
    row = {"姓名": name, "性别": "男" if male else "女", "民族": "汉族", "出生年月": f"{birth.year}年{birth.month}月",
           "入党时间": "2010-07-01", "身份证号": make_id(birth, male), "联系电话": "13800138000",
           "工作岗位": "外出务工", "职业": "③", "所在党支部": branch, "党员类别": "正式党员",
           "最近联系日期": "2025-01-15", "失去联系情形": "①", "备用联系人": "父亲 某某", "备注": "", "外出时间": "",
           "是否已报告": ""}
    row.update(fields)
    return row


def csv_bytes(rows, *, encoding="utf-8", headers=None) -> bytes:
    headers = list(headers or HEADERS)
    for r in rows:
        headers += [k for k in r if k not in headers]
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=headers, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def members(store) -> list[Member]:
    with store.reading() as s:
        return list(s.scalars(select(Member).order_by(Member.id_number)))


def snapshot(store) -> list[tuple]:
    cols = [c.key for c in Member.__table__.columns]
    return [tuple(getattr(m, c) for c in cols) for m in members(store)]


def audit_count(store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import_roster"))


def run(store, data: bytes, name="roster.csv", **kw):
    kw.setdefault("base_committee_id", "TOWN")
    kw.setdefault("now", T0)
    return import_roster_bytes(store, data, name, **kw)


def refused(store, data: bytes, name="roster.csv", **kw) -> Refusal:
    with pytest.raises(Refusal) as err:
        run(store, data, name, **kw)
    return err.value


# ---------------------------------------------------------------- formats


def three_people():
    return [
        person("张伟", birth=dt.date(1985, 6, 2), 联系电话="13912345678", 职业="③农村外出务工经商人员"),
        person("李秀英", male=False, birth=dt.date(1972, 11, 30), branch="西村党支部", 党员类别="预备",
               出生年月="1972-11-30", 最近联系日期="", 失去联系情形="⑤", 职业="8"),
        # a legacy 15-digit number, a month-only birth and join, 最近联系日期 as 2025年9月7日
        person("王强", birth=dt.date(1960, 2, 29), 身份证号="150102600229013", 出生年月="1960.02",
               入党时间="1988年7月", 最近联系日期="2025年9月7日", 失去联系情形="外出务工经商", 外出时间="2025/3/5",
               是否已报告="否"),
    ]


def assert_three_people_stored(store):
    got = {m.name: m for m in members(store)}
    assert set(got) == {"张伟", "李秀英", "王强"}
    zhang, li, wang = got["张伟"], got["李秀英"], got["王强"]
    assert zhang.birth_date == dt.date(1985, 6, 2)  # 出生年月 was 1985年6月: the ID's exact date is stored
    assert (zhang.gender, zhang.kind, zhang.branch_id) == (Gender.MALE, MemberKind.FULL, "B1")
    assert zhang.occupation is Occupation.RURAL_MIGRANT and zhang.situation is Situation.OUT_FOR_WORK
    assert (zhang.phone, zhang.last_contact_on, zhang.joined_on) == ("13912345678", dt.date(2025, 1, 15),
                                                                     dt.date(2010, 7, 1))
    assert zhang.id == member_id_for(zhang.id_number) and len(zhang.id) == 25
    assert (li.gender, li.kind, li.branch_id, li.last_contact_on) == (Gender.FEMALE, MemberKind.PROBATIONARY, "B2",
                                                                      None)
    assert li.situation is Situation.ABROAD and li.occupation is Occupation.OTHER
    assert wang.id_number == "150102196002290135"  # 15 digits stored in the 18-digit form
    assert wang.birth_date == dt.date(1960, 2, 29)
    assert (wang.joined_on, wang.last_contact_on, wang.away_since, wang.reported_to_branch) == (
        dt.date(1988, 7, 1), dt.date(2025, 9, 7), dt.date(2025, 3, 5), False)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings(orgs, encoding):
    data = csv_bytes(three_people(), encoding=encoding)
    if encoding == "utf-8-sig":
        assert data.startswith(b"\xef\xbb\xbf")
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    assert parse_roster(data, "r.csv").encoding == encoding
    report = run(orgs, data, "名册.csv")
    assert report.model_dump() == {"file": "名册.csv", "base_committee_id": "TOWN", "rows": 3, "valid": 3, "created": 3,
                                   "updated": 0, "unchanged": 0, "imported": True, "errors": [], "warnings": []}
    assert_three_people_stored(orgs)
    assert audit_count(orgs) == 1


def test_xlsx_with_date_cells_title_row_and_sheet_row_numbers(orgs, tmp_path):
    rows = three_people()
    book = openpyxl.Workbook()
    ws = book.active
    ws["A1"] = "失联党员名册"  # a title row above the header
    ws.append(list(HEADERS))  # row 2
    for r in rows:  # rows 3, 4, 5
        ws.append([r[h] or None for h in HEADERS])
    ws.cell(row=3, column=HEADERS.index("最近联系日期") + 1).value = dt.datetime(2025, 1, 15)  # a date cell
    ws.cell(row=3, column=HEADERS.index("出生年月") + 1).value = dt.datetime(1985, 6, 2)
    ws.cell(row=3, column=HEADERS.index("职业") + 1).value = 3  # a number cell
    # row 6 left empty; row 7 is bad
    bad = person("赵敏", male=False, birth=dt.date(1990, 1, 1), 性别="男")
    for col, h in enumerate(HEADERS, start=1):
        ws.cell(row=7, column=col).value = bad[h] or None
    path = tmp_path / "名册.xlsx"
    book.save(path)

    err = pytest.raises(Refusal, import_roster_file, orgs, path, base_committee_id="TOWN", now=T0).value
    assert err.code == "roster_has_errors"
    assert err.details["report"]["errors"] == [
        {"line": 7, "name": "赵敏", "id_number": mask_id_number(bad["身份证号"]), "reasons": ["性别与身份证号不符（身份证号为女）"]}]
    assert members(orgs) == []

    report = import_roster_file(orgs, path, base_committee_id="TOWN", now=T0, accept_valid_rows=True)
    assert (report.rows, report.valid, report.created, report.imported) == (4, 3, 3, True)
    assert [e.line for e in report.errors] == [7]
    assert_three_people_stored(orgs)


def test_generated_csv_and_xlsx_parse_to_the_same_rows(tmp_path):
    sample = generate_sample(["B1", "B2"], 200, seed=7, as_of=TODAY, bad_rows=5)
    a = parse_roster(write_csv(sample.rows, tmp_path / "r.csv").read_bytes(), "r.csv")
    b = parse_roster(write_xlsx(sample.rows, tmp_path / "r.xlsx").read_bytes(), "r.xlsx")
    assert (a.format, b.format) == ("csv", "xlsx")
    assert a.rows == b.rows and len(a.rows) == 200
    assert a.rows[0]["line"] == 2 and a.rows[-1]["line"] == 201


def test_xlsx_reader_keeps_sheet_rows_and_cell_types(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "名册"
    ws["A3"], ws["B3"], ws["C3"] = "姓名", "出生年月", "是否已报告"
    ws["A5"], ws["B5"], ws["C5"], ws["D5"], ws["E5"] = "张三", dt.date(1985, 6, 2), True, 3, 2.5
    ws["B6"] = dt.datetime(2020, 3, 5)
    ws["B6"].number_format = 'yyyy"年"m"月"d"日"'
    ws["F6"] = 1.10105199003071e17
    ws["AB7"] = "远列"
    book.create_sheet("另一表")["A1"] = "x"
    data = io.BytesIO()
    book.save(data)

    out, warnings = [], []
    for n, cells in _sheet_lines(data.getvalue(), "名册.xlsx", warnings):
        texts = [cell_text(c) for c in cells]
        while texts and not texts[-1]:
            texts.pop()
        if texts:
            out.append((n, texts))
    assert out == [
        (3, ["姓名", "出生年月", "是否已报告"]),
        (5, ["张三", "1985-06-02", "是", "3", "2.5"]),
        (6, ["", "2020-03-05", "", "", "", "1.10105199003071e+17"]),
        (7, [""] * 27 + ["远列"]),
    ]
    assert warnings == [{"line": None, "message": "工作簿有2个工作表，只导入了第一个（“名册”）"}]


def test_old_xls_and_unreadable_files_are_refused(orgs):
    err = refused(orgs, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "名册.xls")
    assert (err.code, err.message) == ("roster_format", "名册.xls是旧版Excel（.xls）文件，请另存为.xlsx或CSV后导入")
    assert refused(orgs, b"", "empty.csv").code == "roster_empty"
    assert refused(orgs, "姓名,性别,出生年月,身份证号,所在党支部,党员类别\r\n".encode(), "h.csv").code == "roster_empty"


@pytest.mark.parametrize("text, expected", [
    ("2020-03-05", (dt.date(2020, 3, 5), False)),
    ("2020/3/5", (dt.date(2020, 3, 5), False)),
    ("2020.3.5", (dt.date(2020, 3, 5), False)),
    ("2020年3月5日", (dt.date(2020, 3, 5), False)),
    ("2020年3月5", (dt.date(2020, 3, 5), False)),
    ("20200305", (dt.date(2020, 3, 5), False)),
    ("2020-03-05 00:00:00", (dt.date(2020, 3, 5), False)),
    ("2020.03", (dt.date(2020, 3, 1), True)),
    ("2020-3", (dt.date(2020, 3, 1), True)),
    ("2020年3月", (dt.date(2020, 3, 1), True)),
    ("2020年03", (dt.date(2020, 3, 1), True)),
    ("202003", (dt.date(2020, 3, 1), True)),
])
def test_date_forms(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2020-13-01", "2019-02-30", "2020/3-5", "去年", "2020", "3/5/2020", "20200230"])
def test_bad_dates(text):
    with pytest.raises(ValueError):
        parse_date(text)


# ---------------------------------------------------------------- line numbers and reasons


def test_csv_line_numbers_are_physical_lines(orgs):
    good = person("钱多", 备注="第一行\n第二行")  # a quoted cell over two lines: the record spans lines 2-3
    bad1 = person("孙丽", 身份证号="150102198506020121")  # line 4
    bad2 = person("周杰", 所在党支部="B9")  # line 6, after a blank line 5
    text = csv_bytes([good, bad1]).decode() + "\r\n" + csv_bytes([bad2]).decode().split("\r\n", 1)[1]
    report = refused(orgs, text.encode()).details["report"]
    assert [(e["line"], e["name"]) for e in report["errors"]] == [(4, "孙丽"), (6, "周杰")]
    assert report["errors"][0]["reasons"] == ["身份证号校验位错误（应为X）"]
    assert report["errors"][1]["reasons"] == ["党支部“B9”不存在"]
    assert report["rows"] == 3 and report["valid"] == 1


def test_every_reason(orgs):
    rows = [
        person("甲"),  # 2: good, the original of the duplicate on line 15
        person("", 身份证号=""),  # 3
        person("丙", 身份证号="15010219850602011"),  # 4
        person("丁", 身份证号="150102198506020110"),  # 5
        person("戊", 出生年月="1985年7月"),  # 6
        person("己", 性别="女", 出生年月="1985-06-03"),  # 7
        person("庚", 所在党支部="第九党支部"),  # 8
        person("辛", 所在党支部="OB1"),  # 9
        person("壬", 所在党支部="南村党支部"),  # 10
        person("癸", 所在党支部="TOWN"),  # 11
        person("子", 入党时间="2019-13-01", 最近联系日期="上个月", 外出时间="2020/02/30"),  # 12
        person("丑", 职业="9", 失去联系情形="⑧"),  # 13
        person("寅", 最近联系日期="2026-03-08"),  # 14
        None,  # 15: the duplicate of line 2
        person("辰", birth=dt.date(1985, 6, 2), 入党时间="1980-01-01"),  # 16
        person("巳", 性别="X", 党员类别="群众", 是否已报告="也许"),  # 17
        person("午", 身份证号="1.50102198506e+17"),  # 18
        person("未", 最近联系日期="2026年4月", 入党时间="2027-01-01"),  # 19
        person("申", 出生年月="", 性别=""),  # 20
        person("酉" * 81),  # 21
    ]
    rows[13] = dict(rows[0], 联系电话="13000000000")
    report = refused(orgs, csv_bytes(rows)).details["report"]
    dup_id = rows[0]["身份证号"]
    got = {e["line"]: e["reasons"] for e in report["errors"]}
    assert got == {
        3: ["姓名为空", "身份证号为空"],
        4: ["身份证号应为18位（旧号15位），实为17位"],
        5: ["身份证号校验位错误（应为1）"],
        6: ["出生年月与身份证号不符（身份证号为1985年6月）"],
        7: ["出生年月与身份证号不符（身份证号为1985-06-02）", "性别与身份证号不符（身份证号为男）"],
        8: ["党支部“第九党支部”不存在"],
        9: ["党支部“南村党支部”（OB1）不属于某镇党委"],
        10: ["党支部“南村党支部”不属于某镇党委"],
        11: ["所在党支部“TOWN”是基层党委，不是党支部"],
        12: ["入党时间“2019-13-01”不是有效日期（应如2020-03-05、2020/3/5、2020.03、2020年3月）",
             "最近联系日期“上个月”不是有效日期（应如2020-03-05、2020/3/5、2020.03、2020年3月）",
             "外出时间“2020/02/30”不是有效日期（应如2020-03-05、2020/3/5、2020.03、2020年3月）"],
        13: ["职业“9”不是有效代码（应为1-8）", "失去联系情形“⑧”不是有效代码（应为1-7）"],
        14: ["最近联系日期（2026-03-08）晚于今天（2026-03-07）"],
        15: ["身份证号与第2行重复"],
        16: ["入党时间（1980-01-01）早于出生日期（1985-06-02）"],
        17: ["性别“X”无效（应为男或女）", "党员类别“群众”无效（应为正式党员或预备党员）", "是否已报告“也许”无效（应为是或否）"],
        18: ["身份证号被Excel存成了数值（科学计数法），末几位已丢失；请将该列设为文本格式后重新导出"],
        19: ["入党时间（2027-01-01）晚于今天（2026-03-07）", "最近联系日期（2026年4月）晚于今天（2026-03-07）"],
        20: ["性别为空", "出生年月为空"],
        21: ["姓名过长（81字，最多80字）"],
    }
    assert [e["id_number"] for e in report["errors"] if e["line"] == 15] == [mask_id_number(dup_id)]
    assert [e["name"] for e in report["errors"] if e["line"] == 16] == ["辰"]
    assert (report["rows"], report["valid"], report["imported"]) == (20, 1, False)
    assert members(orgs) == []


def test_a_legacy_number_duplicates_its_18_digit_form(orgs):
    old = person("甲", birth=dt.date(1960, 2, 29), 身份证号="150102600229013", 出生年月="1960年2月")
    new = person("甲", birth=dt.date(1960, 2, 29), 身份证号="150102196002290135", 出生年月="1960年2月")
    report = refused(orgs, csv_bytes([old, new])).details["report"]
    assert report["errors"] == [{"line": 3, "name": "甲", "id_number": mask_id_number("150102196002290135"),
                                 "reasons": ["身份证号与第2行重复"]}]


def test_warnings_do_not_block(orgs):
    young = person("少年", birth=dt.date(1990, 5, 20), 入党时间="2008-05-19")  # one day short of 18
    adult = person("成年", birth=dt.date(1990, 5, 20), 入党时间="2008-05-20")
    other = person("其他", 失去联系情形="⑦", 备注="")
    rows = [dict(young, 籍贯="内蒙古"), adult, other]
    report = run(orgs, csv_bytes(rows))
    assert (report.created, report.errors) == (3, [])
    assert [w.model_dump(exclude_none=True) for w in report.warnings] == [
        {"line": 1, "message": "未知的列“籍贯”，已忽略"},
        {"line": 2, "name": "少年", "message": "入党时未满18周岁（入党时间2008-05-19，出生日期1990-05-20）"},
        {"line": 4, "name": "其他", "message": "失去联系情形为⑦其他，备注中应注明具体原因"},
    ]


def test_missing_required_headers_refuse_the_file(orgs):
    rows = [{k: v for k, v in person("甲").items() if k not in ("性别", "党员类别")}]
    headers = [h for h in HEADERS if h not in ("性别", "党员类别")]
    err = refused(orgs, csv_bytes(rows, headers=headers))
    assert err.code == "roster_missing_columns"
    assert err.message == "roster.csv缺少必需的列：性别、党员类别，未导入任何内容"
    assert err.details["missing"] == ["性别", "党员类别"]
    assert members(orgs) == [] and audit_count(orgs) == 0


def test_english_field_names_as_headers(orgs):
    data = ("name,gender,birth_date,id_number,branch_id,kind,last_contact_on,occupation\r\n"
            f"Zhang,男,1985-06,{make_id(dt.date(1985, 6, 2), True, 1)},B2,full,2025-09-07,3\r\n").encode()
    report = run(orgs, data)
    assert (report.created, report.warnings) == (1, [])
    [m] = members(orgs)
    assert (m.name, m.branch_id, m.kind, m.occupation, m.last_contact_on, m.phone) == (
        "Zhang", "B2", MemberKind.FULL, Occupation.RURAL_MIGRANT, dt.date(2025, 9, 7), None)


# ---------------------------------------------------------------- policy, upserts, idempotency


def test_all_or_nothing_by_default_and_accept_valid_rows(orgs):
    rows = [person("甲"), person("乙", 性别="女"), person("丙")]
    data = csv_bytes(rows)
    err = refused(orgs, data)
    assert err.code == "roster_has_errors"
    assert err.message == "名册roster.csv第3行有误（共1行），未导入任何内容；请改正后重新导入，或选择只导入无误的行"
    assert err.details["report"]["imported"] is False
    assert members(orgs) == [] and audit_count(orgs) == 0

    report = run(orgs, data, accept_valid_rows=True)
    assert {k: getattr(report, k) for k in ("rows", "valid", "created", "updated", "unchanged", "imported")} == {
        "rows": 3, "valid": 2, "created": 2, "updated": 0, "unchanged": 0, "imported": True}
    assert [e.model_dump() for e in report.errors] == [{"line": 3, "name": "乙", "id_number": mask_id_number(rows[1]["身份证号"]),
                                 "reasons": ["性别与身份证号不符（身份证号为男）"]}]
    assert sorted(m.name for m in members(orgs)) == ["丙", "甲"]


def test_reimport_is_unchanged_and_updates_are_counted(orgs):
    rows = [person("甲"), person("乙", male=False), person("丙"), person("丁", 外出时间="2025-12-01", 是否已报告="是")]
    data = csv_bytes(rows)
    assert run(orgs, data).created == 4
    before = snapshot(orgs)

    later = T0 + dt.timedelta(days=1)
    again = run(orgs, data, now=later)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert snapshot(orgs) == before  # not even updated_at moved

    rows[0]["联系电话"] = "13700000000"
    rows[1]["所在党支部"] = "B2"
    rows[2]["最近联系日期"] = ""
    changed = run(orgs, csv_bytes(rows), now=later)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 3, 1)
    got = {m.name: m for m in members(orgs)}
    assert (got["甲"].phone, got["乙"].branch_id, got["丙"].last_contact_on) == ("13700000000", "B2", None)
    assert got["甲"].updated_at == later and got["丁"].updated_at == T0
    with orgs.reading() as s:
        last = s.scalars(select(AuditEvent).where(AuditEvent.action == "import_roster")
                         .order_by(AuditEvent.id.desc())).first()
    assert last.payload["changes"] == [
        {"member_id": got["甲"].id, "line": 2, "fields": ["phone"]},
        {"member_id": got["乙"].id, "line": 3, "fields": ["branch_id"]},
        {"member_id": got["丙"].id, "line": 4, "fields": ["last_contact_on"]},
    ]

    # A file without the optional columns leaves them alone.
    slim = [{h: r[h] for h in ("姓名", "性别", "出生年月", "身份证号", "所在党支部", "党员类别")} for r in rows]
    report = run(orgs, csv_bytes(slim, headers=list(slim[0])), now=later)
    assert (report.updated, report.unchanged) == (0, 4)
    got = {m.name: m for m in members(orgs)}
    assert (got["丁"].away_since, got["丁"].reported_to_branch, got["甲"].phone) == (dt.date(2025, 12, 1), True,
                                                                                    "13700000000")


def test_request_id_replay(orgs):
    data = csv_bytes([person("甲"), person("乙")])
    first = run(orgs, data, request_id="roster-1")
    assert first.created == 2
    replay = run(orgs, data, request_id="roster-1")
    assert replay == first.model_copy(update={"replayed": True})
    assert audit_count(orgs) == 1 and len(members(orgs)) == 2
    other = refused(orgs, csv_bytes([person("丙")]), request_id="roster-1")
    assert other.code == "request_id_reused"
    assert len(members(orgs)) == 2


def test_the_action_takes_parsed_rows(orgs):
    parsed = parse_roster(csv_bytes([person("甲")]), "r.csv")
    report = import_roster(orgs, now=T0, base_committee_id="TOWN", rows_source=parsed.source())
    assert report.created == 1
    bad = {"file": "x", "columns": ["name"], "rows": [{"line": 2, "name": "甲"}]}
    with pytest.raises(Refusal) as err:
        import_roster(orgs, now=T0, base_committee_id="TOWN", rows_source=bad)
    assert err.value.code == "roster_missing_columns"


def test_who_may_import_and_for_which_organisation(orgs):
    data = csv_bytes([person("甲")])
    assert refused(orgs, data, actor_id="sec1").code == "wrong_level"  # a branch secretary
    assert refused(orgs, data, base_committee_id="B1").code == "not_base_committee"
    assert refused(orgs, data, base_committee_id="NOPE").code == "not_found"
    assert members(orgs) == []
    assert run(orgs, data, actor_id="town_staff").created == 1
    with orgs.reading() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import_roster")).one()
    assert (event.actor_id, event.org_id, event.payload["created"]) == ("town_staff", "TOWN", 1)


def test_a_member_registered_under_another_base_committee_is_not_taken_over(orgs):
    someone = person("甲", branch="OB1")
    assert run(orgs, csv_bytes([someone]), base_committee_id="OTHER_BASE").created == 1
    report = refused(orgs, csv_bytes([dict(someone, 所在党支部="B1")])).details["report"]
    assert report["errors"][0]["reasons"] == ["该党员已在南村党支部登记，不属于某镇党委；组织关系转接后方可由本党委导入"]
    assert [m.branch_id for m in members(orgs)] == ["OB1"]


def test_progress_is_reported(orgs):
    calls = []
    data = csv_bytes([person(f"员{i}", birth=dt.date(1960, 1, 1) + dt.timedelta(days=i)) for i in range(1200)])
    report = run(orgs, data, progress=lambda done, total: calls.append((done, total)))
    assert report.created == 1200
    assert calls == [(0, 1200), (500, 1200), (1000, 1200), (1200, 1200)]


def test_generated_roster_with_bad_rows(orgs, tmp_path):
    sample = generate_sample(["B1", "B2"], 300, seed=3, as_of=TODAY, lost_fraction=0.3, bad_rows=10)
    assert sorted(sample.bad.values()).count("duplicate_id") == 2
    for path in (write_csv(sample.rows, tmp_path / "r.csv"), write_xlsx(sample.rows, tmp_path / "r.xlsx")):
        report = import_roster_file(orgs, path, base_committee_id="TOWN", now=T0, accept_valid_rows=True)
        assert [e.line for e in report.errors] == sorted(sample.line_of(i) for i in sample.bad)
        assert all(len(e.reasons) == 1 for e in report.errors)
        assert report.valid == 290
    with orgs.reading() as s:
        lost = lost_contact_members(s, "TOWN", TODAY)
    assert len(lost) == len(sample.lost - set(sample.bad))


# ---------------------------------------------------------------- who is lost-contact


def test_lost_contact_members_boundary(orgs):
    rows = [
        person("边界", 最近联系日期="2025-09-07"),  # exactly six calendar months before 2026-03-07: lost
        person("次日", 最近联系日期="2025-09-08"),  # one day later: not lost
        person("无记录", 最近联系日期=""),  # no recorded contact: lost
        person("多年", 最近联系日期="2019-01-01", branch="B2"),
        person("近期", 最近联系日期="2026-03-01"),
        person("月份", 最近联系日期="2025年9月"),  # a month counts as its last day, 2025-09-30: not lost
    ]
    run(orgs, csv_bytes(rows))
    run(orgs, csv_bytes([person("他乡", 最近联系日期="", branch="OB1")]), base_committee_id="OTHER_BASE")
    with orgs.reading() as s:
        assert [m.name for m in lost_contact_members(s, "TOWN", dt.date(2026, 3, 7))] == ["无记录", "边界", "多年"]
        assert [m.name for m in lost_contact_members(s, "TOWN", dt.date(2026, 3, 8))] == ["无记录", "次日", "边界",
                                                                                       "多年"]
        assert [m.name for m in lost_contact_members(s, "OTHER_BASE", dt.date(2026, 3, 7))] == ["他乡"]
        assert [m.name for m in lost_contact_members(s, "TOWN", dt.date(2026, 3, 31))] == ["无记录", "月份", "次日",
                                                                                        "边界", "多年"]


def test_lost_contact_at_month_end(orgs):
    run(orgs, csv_bytes([person("二月底", 最近联系日期="2026-02-28"), person("三月初", 最近联系日期="2026-03-01")]),
        now=dt.datetime(2026, 8, 31, 1, tzinfo=dt.timezone.utc))
    with orgs.reading() as s:
        assert [m.name for m in lost_contact_members(s, "TOWN", dt.date(2026, 8, 31))] == ["二月底"]


def test_the_seeds_organisation_category_column_is_checked_against_the_branch(orgs):
    rows = [person("甲", 党组织类别="③农村"), person("乙", 党组织类别="①"), person("丙", 党组织类别="十")]
    report = run(orgs, csv_bytes(rows))
    assert report.created == 3
    assert [w.model_dump(exclude_none=True) for w in report.warnings] == [
        {"line": 3, "name": "乙", "message": "党组织类别①国有企业与东村党支部登记的③农村不符，以党支部登记为准"},
        {"line": 4, "name": "丙", "message": "党组织类别“十”不是有效代码，已忽略（以党支部登记的类别为准）"},
    ]
