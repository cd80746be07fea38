"""Every command, with its refusals (exit 3 and the error code), not-found (exit 4) and --json answers. The state a
command needs is prepared in-process through casework (fast); only the command under test runs as a subprocess.
SQLite here; the walk in test_walk.py runs on PostgreSQL too."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from casework.followups import issue_transfer_letter
from models.codes import FollowUpStatus, Gender, Stage
from models.store import FollowUp, Member
from tests.casework.drive import (add_member, case_of, drive_to_end, open_step, propose, search, start)
from tests.cli.helpers import roster_row, write_orgs, write_roster
from tests.conftest import T0

pytestmark = pytest.mark.parametrize("store", ["sqlite"], indirect=True)

LATER = "2026-03-10T10:00"


def members(store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(Member))


@pytest.fixture
def unreachable_case(orgs):
    """A case after all four stages, waiting for the branch's proposal."""
    mid = add_member(orgs, name="赵六")
    start(orgs)
    cid = case_of(orgs, mid)
    search(orgs, cid, outcome="not_found")
    return cid


@pytest.fixture
def suspended_case(unreachable_case, orgs):
    propose(orgs, unreachable_case, "suspend_unreachable", grounds="确实无法取得联系")
    drive_to_end(orgs, unreachable_case)
    return unreachable_case


# ---------------------------------------------------------------- organisations and roster

def test_orgs_import_refused_or_malformed(cli, store, tmp_path):
    tree = {"organisations": [{"id": "B9", "name": "孤立支部", "kind": "branch", "parent": "NOWHERE"}]}
    refused = cli.json("orgs", "import", str(write_orgs(tmp_path / "bad.json", tree)), expect=3)
    assert refused["error"]["code"] == "bad_organisations" and "NOWHERE" in refused["error"]["message"]

    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert cli("orgs", "import", str(broken), expect=2).out == ""


def test_orgs_import_on_an_established_tree_needs_a_keeper(cli, orgs, tmp_path):
    renamed = write_orgs(tmp_path / "renamed.json", {"organisations": [
        {"id": "B1", "name": "东村党支部（更名）", "kind": "branch", "parent": "TOWN", "category": 3}]})
    refused = cli.json("orgs", "import", str(renamed), expect=3)
    assert refused["error"]["code"] == "actor_required" and "须指明办理人" in refused["error"]["message"]
    neighbour = cli("--as", "other_sec", "orgs", "import", str(renamed), expect=3)
    assert "无权改动：东村党支部（B1）" in neighbour.err
    assert cli.json("--as", "town_staff", "orgs", "import", str(renamed))["organisations_updated"] == 1


def test_roster_import_all_or_nothing_then_valid_rows(cli, orgs, tmp_path):
    path = write_roster(tmp_path / "roster.csv", [
        roster_row("甲", dt.date(1980, 1, 2), Gender.MALE, 11),
        roster_row("乙", dt.date(1981, 3, 4), Gender.FEMALE, 12, branch="NOPE"),
    ])
    refused = cli.json("--as", "town_sec", "roster", "import", str(path), "--base", "TOWN", expect=3)
    error = refused["error"]
    assert error["code"] == "roster_has_errors"
    assert [(e["line"], e["name"]) for e in error["report"]["errors"]] == [(3, "乙")]
    assert members(orgs) == 0

    accepted = cli("--as", "town_sec", "roster", "import", str(path), "--base", "TOWN", "--accept-valid-rows")
    assert "新增1人" in accepted.out and "乙" in accepted.out and "NOPE" in accepted.out
    assert members(orgs) == 1

    missing = cli.json("roster", "import", str(path), "--base", "NO_SUCH_BASE", expect=4)
    assert missing["error"]["code"] == "not_found"


# ---------------------------------------------------------------- campaign and search

def test_campaign_refusals(cli, orgs):
    start(orgs)
    common = ["campaign", "start", "--org", "TOWN", "--name", "复查", "--start-date", "2026-09-01"]
    assert cli.json("--as", "sec1", *common, "--id", "C2", expect=3)["error"]["code"] == "wrong_level"
    assert cli.json("--as", "town_sec", *common, "--id", "C2026", expect=3)["error"]["code"] == "campaign_exists"
    assert cli("--as", "town_sec", *common, "--id", "C3", "--phase", "search", expect=2).out == ""


def test_search_record_refusals_and_continuing_a_stage(cli, orgs):
    mid = add_member(orgs, name="钱七")
    start(orgs)
    cid = case_of(orgs, mid)
    base = ["--as", "sec1", "--now", LATER, "search", "record", cid, "--method", "打电话", "--description", "无人接听"]

    out_of_order = cli.json(*base, "--stage", "network", "--witness", "李四", "--outcome", "not_found", expect=3)
    assert out_of_order["error"]["code"] == "stage_out_of_order"
    unsigned = cli(*base, "--stage", "direct", "--outcome", "not_found", expect=3)
    assert "attempt_incomplete" in unsigned.err and "证明人" in unsigned.err and unsigned.out == ""
    future = cli.json(*base, "--stage", "direct", "--witness", "李四", "--outcome", "not_found",
                      "--at", "2026-03-11T08:00", expect=3)
    assert future["error"]["code"] == "attempt_in_future"

    kept = cli.json(*base, "--stage", "direct", "--witness", "李四", "--outcome", "not_found", "--continue-stage",
                    "--at", "2026-03-09T20:00")
    assert kept["state"] == "searching" and kept["open_step"]["stage"] == "direct"

    missing = cli.json("--as", "sec1", "search", "record", "NO-SUCH-CASE", "--stage", "direct", "--method", "x",
                       "--description", "x", "--witness", "x", "--outcome", "not_found", expect=4)
    assert missing["error"] == {"code": "not_found", "message": "未找到案件：NO-SUCH-CASE", "rule": "",
                                "what": "案件", "key": "NO-SUCH-CASE"}


# ---------------------------------------------------------------- proposals, steps, idempotency

def test_dispose_propose_refused_for_a_case_still_searching(cli, orgs):
    mid = add_member(orgs, name="孙八")
    start(orgs)
    refused = cli.json("--as", "sec1", "dispose", "propose", case_of(orgs, mid), "--disposition",
                       "suspend_unreachable", "--grounds", "无法联系", expect=3)
    assert refused["error"]["code"] and "依据" in refused["error"]["message"]
    assert cli("dispose", "propose", "X", "--disposition", "no_such_thing", expect=2).out == ""


def test_step_decide_checks_and_rejection(cli, orgs, unreachable_case):
    propose(orgs, unreachable_case, "suspend_unreachable", grounds="确实无法取得联系")
    meeting = open_step(orgs, unreachable_case).id
    decide = ["step", "decide", meeting, "--now", LATER, "--opinion", "同意", "--vote", "20,18,16,1,1"]

    unsigned = cli.json("--as", "org1", *decide, "--verdict", "approve", expect=3)
    assert unsigned["error"]["code"] == "signature_required"
    wrong = cli("--as", "town_sec", *decide, "--verdict", "approve", "--signed", expect=3)
    assert "wrong_level" in wrong.err and "支部党员大会" in wrong.err

    rejected = cli.json("--as", "org1", "step", "decide", meeting, "--now", LATER, "--verdict", "reject",
                        "--opinion", "查找记录不完整，退回补充", "--vote", "entitled=20,present=18,in_favour=5,against=10")
    assert rejected["verdict"] == "reject" and rejected["state"] == "unreachable"
    assert rejected["open_step"]["kind"] == "proposal" and "退回" in rejected["open_step"]["title"]

    again = cli.json("--as", "org1", *decide, "--verdict", "approve", "--signed", expect=3)
    assert again["error"]["code"] == "step_closed"
    assert cli.json("--as", "org1", "step", "decide", "NO-STEP", "--verdict", "approve", expect=4)


def test_request_id_repeat_is_answered_and_reuse_refused(cli, orgs, unreachable_case):
    args = ["--as", "sec1", "--now", LATER, "--request-id", "req-42", "dispose", "propose", unreachable_case,
            "--disposition", "suspend_unreachable", "--grounds", "确实无法取得联系"]
    first = cli.json(*args)
    assert "replayed" not in first
    repeat = cli(*args)
    assert "重复提交" in repeat.out and first["open_step"]["step_id"] in repeat.out
    other = cli.json("--as", "sec1", "--now", LATER, "--request-id", "req-42", "referral", "record",
                     unreachable_case, "--target", "police", "--summary", "涉嫌违法", expect=3)
    assert other["error"]["code"] == "request_id_reused"
    with orgs.reading() as s:  # the proposal was applied once
        from models.store import DispositionRow

        assert s.scalar(select(func.count()).select_from(DispositionRow)) == 1


def test_correction_period_end_and_judgement(cli, orgs):
    mid = add_member(orgs, name="周九")
    start(orgs)
    cid = case_of(orgs, mid)
    search(orgs, cid, outcome="contacted", at=Stage.DIRECT)
    propose(orgs, cid, "correct_in_time", correction_months=6)
    drive_to_end(orgs, cid)

    fired = cli.json("followups", "run", "--now", (T0 + relativedelta(months=7)).isoformat())
    judgement = next(f for f in fired["fired"] if f["kind"] == "correction_end")["opened_step"]

    assert cli("--as", "sec1", "correction", "judge", judgement, "--opinion", "仍无转变", expect=2)
    judged = cli.json("--as", "sec1", "--now", (T0 + relativedelta(months=7, days=1)).isoformat(), "correction",
                      "judge", judgement, "--no-change", "--opinion", "期满后仍无转变")
    assert judged["changed"] is False and judged["state"] == "in_procedure"
    assert judged["open_step"]["title"] == "支委会研究提出初步处置意见"


def test_materials_and_referral(cli, orgs, unreachable_case):
    none_yet = cli.json("material", "list", unreachable_case)
    assert none_yet["disposition_id"] is None and none_yet["materials"] == []
    propose(orgs, unreachable_case, "suspend_unreachable", grounds="确实无法取得联系")
    unknown = cli.json("--as", "sec1", "material", "file", unreachable_case, "--kind", "入党志愿书",
                       "--reference", "x", expect=3)
    assert unknown["error"]["code"] == "unknown_material"
    listed = cli("material", "list", unreachable_case)
    assert "党员查找联系记录表" in listed.out and "否" in listed.out

    referred = cli.json("--as", "sec1", "referral", "record", unreachable_case, "--target", "discipline",
                        "--summary", "失联期间涉嫌违纪")
    assert referred["target_label"] == "纪检机关"
    assert cli("--as", "sec1", "referral", "record", unreachable_case, "--target", "court", "--summary", "x",
               expect=2)


def test_restore_apply_cancels_the_two_year_review(cli, orgs, suspended_case):
    applied = cli.json("restore", "apply", suspended_case, "--as", "sec1", "--now",
                       (T0 + relativedelta(years=1)).isoformat(), "--grounds", "本人书面申请恢复党籍",
                       "--conduct", "本人已回到本地居住，愿意参加组织生活")
    assert applied["disposition"] == "restore_membership" and applied["state"] == "in_procedure"
    with orgs.reading() as s:
        review = s.scalar(select(FollowUp).where(FollowUp.case_id == suspended_case))
        assert review.status is FollowUpStatus.CANCELLED


# ---------------------------------------------------------------- inbox, follow-ups, transfers

def test_inbox(cli, orgs, unreachable_case):
    for_org = cli.json("inbox", "--org", "B1", "--now", LATER)
    assert [i["case_id"] for i in for_org["items"]] == [unreachable_case] and for_org["late"] == 0
    late = cli.json("inbox", "--as", "sec1", "--now", "2026-06-01")
    assert late["items"][0]["late"] is True and late["person_id"] == "sec1"
    readable = cli("inbox", "--as", "sec1", "--now", "2026-06-01")
    assert "逾期" in readable.out and unreachable_case in readable.out
    assert cli("inbox", expect=2).out == ""
    assert cli.json("inbox", "--as", "nobody", expect=4)["error"]["code"] == "not_found"


def test_transfer_letters_receipts_and_pocket_members(cli, orgs):
    mid = add_member(orgs, name="吴十", last_contact=dt.date(2026, 2, 1))
    with orgs.reading() as s:
        id_number = s.get(Member, mid).id_number
    issued = cli.json("--as", "sec1", "--now", "2026-03-01T10:00", "transfer", "issue", "L-001", "--member",
                      id_number, "--to", "某区街道党工委", "--issued-on", "2026-03-01", "--validity-days", "30")
    assert issued["receipt_due"] == "2026-04-30"
    issue_transfer_letter(orgs, actor_id="sec1", now=T0, letter_id="L-002", member_id=mid, receiving_org="某县党委",
                          issued_on="2026-03-01", validity_days=30)
    refused = cli.json("--as", "sec2", "transfer", "receipt", "L-002", "--received-on", "2026-04-10", expect=3)
    assert refused["error"]["code"] == "wrong_level"
    assert cli("--as", "town_sec", "transfer", "receipt", "L-002", "--received-on", "2026-04-31", expect=2).out == ""
    received = cli.json("--as", "town_sec", "transfer", "receipt", "L-002", "--received-on", "2026-04-10")
    assert received["receipt_on"] == "2026-04-10"
    assert cli.json("--as", "town_sec", "transfer", "receipt", "L-404", expect=4)["error"]["code"] == "not_found"

    fired = cli("followups", "run", "--now", "2026-05-01")
    assert "逾期未收到回执" in fired.out and "POCKET-L-001" in fired.out
    assert "L-002" not in fired.out


# ---------------------------------------------------------------- listings and statistics

def test_listings_and_statistics(cli, orgs, suspended_case):
    away = add_member(orgs, name="郑十一", last_contact=dt.date(2026, 3, 1))
    with orgs.writing() as s:
        s.get(Member, away).away_since = dt.date(2026, 1, 15)
        s.commit()

    listed = cli.json("cases", "list", "--org", "TOWN", "--state", "suspended")
    assert [c["case_id"] for c in listed["cases"]] == [suspended_case]
    assert cli.json("cases", "list", "--state", "searching")["count"] == 0
    assert cli.json("cases", "list", "--org", "NO_ORG", expect=4)["error"]["key"] == "NO_ORG"

    ledger = cli.json("ledger", "--org", "B1")
    assert ledger["rows"][0]["contact"] == "已停止党籍"
    register = cli.json("unreachable", "--campaign", "C2026")
    assert [r["case_id"] for r in register["rows"]] == [suspended_case]

    control = cli.json("out-of-control", "--org", "TOWN", "--as-of", "2026-03-01")
    assert [m["name"] for m in control["members"]] == ["郑十一"]
    assert cli.json("out-of-control", "--org", "TOWN", "--now", "2026-02-10")["count"] == 0

    readable = cli("stats", "--org", "TOWN", "--as-of", (T0 + dt.timedelta(days=1)).isoformat())
    assert "均成立" in readable.out
    assert any(line.split()[:1] == ["T"] and line.split()[-1] == "1" for line in readable.out.splitlines())

    shown = cli("cases", "show", suspended_case)
    assert "停止党籍满两年复查" in shown.out and "待触发" in shown.out

    for command in (["inbox"], ["ledger"], ["stats"], ["unreachable"], ["out-of-control"]):
        missing = cli(*command, "--org", "NO_ORG", expect=4)
        assert "未找到组织：NO_ORG" in missing.err and missing.out == ""


def test_cases_show_counts_lost_contact_time_to_now(cli, orgs):
    mid = add_member(orgs, name="冯十二", last_contact=dt.date(2025, 1, 1))
    start(orgs)
    cid = case_of(orgs, mid)  # still searching
    assert cli.json("--now", "2026-03-07", "cases", "show", cid)["lost_contact_time"] == "1年2个月"
    assert cli.json("cases", "show", cid, "--now", "2027-05-07")["lost_contact_time"] == "2年4个月"


def test_export_forms(cli, orgs, suspended_case, tmp_path):
    try:
        from reports import export_forms  # noqa: F401
    except ImportError:
        pytest.skip("reports.export_forms is not there yet")
    result = cli.json("export", "forms", "--org", "TOWN", "--out", str(tmp_path / "forms"), "--period", "2026年第一季度")
    assert len(result["files"]["dossiers"]) == 1 and result["count"] > 5
    assert all((tmp_path / "forms").joinpath(p).exists() for paper in result["files"].values() for p in paper)

    table = tmp_path / "table.json"
    table.write_text(json.dumps({**{k: 0 for k in "ABCDEFGHIJKLMNOPQRSTUVWX"}, "A": 1}), encoding="utf-8")
    refused = cli.json("export", "forms", "--org", "TOWN", "--out", str(tmp_path / "none"), "--table", str(table),
                       expect=3)
    assert "A＝B+O+X" in refused["error"]["message"]
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").rglob("*.html"))
