"""The whole scripted walk, every step through the `lostcontact` command, on SQLite and on PostgreSQL: organisations →
roster → campaign → four-stage search to unreachable → suspension proposed, materials filed, each step decided by
the right person → follow-ups two years later → statistics."""
from __future__ import annotations

import datetime as dt

from models.catalogue import procedure
from models.codes import Gender

from tests.cli.helpers import roster_row, write_orgs, write_roster


def test_full_walk(cli, tmp_path):
    orgs = write_orgs(tmp_path / "orgs.json")
    roster = write_roster(tmp_path / "roster.csv", [
        roster_row("张三", dt.date(1985, 5, 20), Gender.MALE, 1, last_contact="2025-01-01"),
        roster_row("李四", dt.date(1990, 2, 3), Gender.FEMALE, 2, last_contact="2026-02-01"),  # in touch
        roster_row("王五", dt.date(1979, 11, 30), Gender.MALE, 3, branch="东村党支部", kind="预备党员", last_contact=""),
    ])

    assert cli.json("orgs", "import", str(orgs), "--now", "2026-03-01")["organisations_created"] == 7
    imported = cli("--as", "town_sec", "roster", "import", str(roster), "--base", "TOWN", "--now", "2026-03-01")
    assert "新增3人" in imported.out and "3/3" in imported.err  # progress on stderr, the summary on stdout

    started = cli.json("--as", "town_sec", "--now", "2026-03-07T09:00", "campaign", "start", "--id", "C2026",
                       "--org", "TOWN", "--name", "2026年党员组织关系集中排查", "--start-date", "2026-03-07",
                       "--phase", "search=2026-03-31", "--phase", "dispose=2026-08-31")
    assert started["cases_opened"] == 2  # 李四 was in touch within six months

    listed = cli.json("cases", "list", "--campaign", "C2026", "--state", "searching")
    assert listed["count"] == 2
    case = next(c["case_id"] for c in listed["cases"] if c["name"] == "张三")

    # The four stages in order, each by the level that runs it; the last one repeated under one request ID.
    now = ("--now", "2026-03-12T10:00")
    # Entered on 12 March for work done on the days before, in the order it was done (time order is a rule).
    for day, (stage, actor, method) in enumerate((("direct", "sec1", "打电话"), ("network", "sec1", "亲属"),
                                                  ("department", "town_staff", "公安户籍系统")), start=9):
        answer = cli.json("--as", actor, *now, "search", "record", case, "--stage", stage, "--method", method,
                          "--description", f"{method}，未果", "--witness", "李四", "--outcome", "not_found",
                          "--at", f"2026-03-{day:02d}T10:00")
        assert answer["state"] == "searching"
    last = ["--as", "sec1", *now, "--request-id", "walk-other-1", "search", "record", case, "--stage", "other",
            "--method", "12371党建热线联系原籍地组织部门", "--description", "原籍地组织部门查无此人", "--witness", "李四",
            "--outcome", "not_found", "--at", "2026-03-11T15:30"]
    first = cli.json(*last)
    assert first["state"] == "unreachable" and first["search_finished"] is True
    proposal_step = first["open_step"]["step_id"]
    again = cli.json(*last)
    assert again["replayed"] is True and again["open_step"]["step_id"] == proposal_step

    proposed = cli.json("--as", "sec1", "--now", "2026-04-01T10:00", "dispose", "propose", case,
                        "--disposition", "suspend_unreachable", "--grounds", "经四个阶段查找仍无法取得联系")
    assert proposed["state"] == "in_procedure" and proposed["open_step"]["body"] == "general_meeting"

    meeting = proposed["open_step"]
    for number, kind in enumerate(procedure("suspend_unreachable").materials, start=1):
        filed = cli.json("--as", "sec1", "--now", "2026-04-01T11:00", "material", "file", case,
                         "--kind", str(number) if number % 2 else kind,  # by its number on the checklist, or its name
                         "--reference", f"东村党支部档案第{number}号")
    assert filed["missing"] == []

    # The general meeting (--as after the command), the base committee, the upper department.
    resolved = cli.json("step", "decide", meeting["step_id"], "--as", "org1", "--now", "2026-04-02T15:00",
                        "--verdict", "approve", "--opinion", "同意停止其党籍", "--vote", "20,18,16,1,1",
                        "--signature-note", "本人无法取得联系，未能签字")
    base = resolved["open_step"]
    assert base["body"] == "base_committee"
    approved = cli.json("--as", "town_sec", "--now", "2026-04-03T10:00", "step", "decide", base["step_id"],
                        "--verdict", "approve", "--opinion", "同意")
    assert approved["column"] == "T"
    filed = cli.json("--as", "county_org", "--now", "2026-04-04T10:00", "step", "decide",
                     approved["open_step"]["step_id"], "--verdict", "approve", "--opinion", "已备案")
    assert filed["state"] == "suspended" and filed["open_step"] is None

    # Two years on: nothing before the anniversary of the approval, the review exactly once after it.
    early = cli.json("followups", "run", "--now", "2028-04-02T09:00")
    assert all(f["kind"] == "phase_deadline" for f in early["fired"])
    late = cli.json("followups", "run", "--now", "2028-04-03T11:00")
    assert [f["kind"] for f in late["fired"]] == ["two_year_review"]
    review = late["fired"][0]
    assert review["case"]["case_id"] == case and review["case"]["state"] == "in_procedure"

    table = cli.json("stats", "--org", "TOWN", "--campaign", "C2026")
    assert table["problems"] == []
    assert {k: table["table"][k] for k in "AOSTW"} == {"A": 2, "O": 2, "S": 1, "T": 1, "W": 1}

    dossier = cli.json("cases", "show", case)
    assert [d["code"] for d in dossier["dispositions"]] == ["suspend_unreachable", "removal_after_suspension"]
    assert len(dossier["attempts"]) == 4 and dossier["followups"][0]["status"] == "fired"
