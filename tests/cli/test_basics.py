"""What needs no prepared store: the database created on first use, usage errors, the catalogue, checking a hand-typed
statistics table, an unexpected error."""
from __future__ import annotations

import json

from tests.cli.helpers import run_cli

GOOD = {"A": 10, "B": 6, "C": 3, "D": 1, "E": 1, "F": 0, "G": 2, "H": 1, "I": 1, "J": 0, "K": 0, "L": 0, "M": 0,
        "N": 1, "O": 3, "P": 1, "Q": 1, "R": 0, "S": 1, "T": 1, "U": 0, "V": 0, "W": 1, "X": 1}


def test_a_new_database_is_created_on_first_use(tmp_path):
    first = run_cli("cases", "list", cwd=tmp_path)  # no --db, no LOSTCONTACT_DB_URL: var/lostcontact.sqlite
    assert first.code == 0, first
    assert (tmp_path / "var" / "lostcontact.sqlite").exists()
    assert "创建表结构" in first.err and "没有案件" in first.out

    status = run_cli("--db", "nested/dir/store.sqlite", "db", "status", "--json", cwd=tmp_path)  # a path, not a URL
    assert status.code == 0, status
    assert status.json()["revision"] is None and status.json()["up_to_date"] is False

    upgraded = run_cli("db", "upgrade", "--db", "nested/dir/store.sqlite", "--json", cwd=tmp_path)
    document = upgraded.json()
    assert document["ok"] and document["upgraded"] and document["revision"] == status.json()["head"]
    again = run_cli("--json", "db", "upgrade", "--db", "nested/dir/store.sqlite", cwd=tmp_path).json()
    assert again["upgraded"] is False


def test_usage_errors_exit_2_and_still_answer_in_json(tmp_path):
    unknown = run_cli("no-such-command", cwd=tmp_path)
    assert unknown.code == 2 and "no-such-command" in unknown.err and unknown.out == ""

    bad_time = run_cli("--json", "--now", "next tuesday", "followups", "run", cwd=tmp_path)
    assert bad_time.code == 2
    assert bad_time.json() == {"ok": False, "error": {"code": "usage_error", "message": bad_time.json()["error"]["message"]}}
    assert "next tuesday" in bad_time.json()["error"]["message"]

    bad_vote = run_cli("step", "decide", "S1", "--verdict", "approve", "--vote", "20,x", "--json", cwd=tmp_path)
    assert bad_vote.code == 2 and bad_vote.json()["error"]["code"] == "usage_error"


def test_catalogue(tmp_path):
    document = run_cli("catalogue", "--json", cwd=tmp_path).json()
    codes = {p["code"]: p for p in document["procedures"]}
    assert codes["suspend_unreachable"]["column"] == "T" and len(codes["persuade_withdraw"]["steps"]) == 7
    readable = run_cli("catalogue", cwd=tmp_path)
    assert readable.code == 0 and "【removal_after_suspension】" in readable.out and "停止党籍2年后" in readable.out


def test_stats_check_names_each_broken_relation(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(GOOD), encoding="utf-8")
    assert run_cli("stats", "check", str(good), cwd=tmp_path).code == 0

    broken = {**GOOD, "A": 11, "S": 2}  # A ≠ B+O+X, O ≠ P+S+V+W, S ≠ T+U
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    result = run_cli("stats", "check", str(bad), "--json", cwd=tmp_path)
    assert result.code == 3
    error = result.json()["error"]
    assert error["code"] == "table_inconsistent"
    assert [p.split("不成立")[0] for p in error["problems"]] == ["A＝B+O+X", "O＝P+S+V+W", "S＝T+U"]
    for formula in ("A＝B+O+X", "O＝P+S+V+W", "S＝T+U"):
        assert formula in result.err

    # CSV, one table per row under a header of letters (with a column naming the unit), GB18030 as Excel saves it.
    wide = tmp_path / "branches.csv"
    letters = list(GOOD)
    rows = ["单位," + ",".join(letters), "东村党支部," + ",".join(str(GOOD[k]) for k in letters),
            "西村党支部," + ",".join(str({**GOOD, "D": 2, "E": 2}[k]) for k in letters)]
    wide.write_bytes("\n".join(rows).encode("gb18030"))
    result = run_cli("stats", "check", str(wide), cwd=tmp_path)
    assert result.code == 3 and "西村党支部" in result.err and "D、E、F是C的“其中”项" in result.err
    assert "东村党支部" not in result.err

    # CSV, one letter per row with its heading, a cell left empty.
    long = tmp_path / "long.csv"
    long.write_text("\n".join(f"{k},项目,{'' if k == 'W' else v}" for k, v in GOOD.items()), encoding="utf-8")
    result = run_cli("stats", "check", str(long), cwd=tmp_path)
    assert result.code == 3 and "W列" in result.err and "未填写" in result.err


def test_unexpected_error_exits_1(tmp_path):
    result = run_cli("--db", "postgresql://nobody@127.0.0.1:1/none", "cases", "list", "--json", cwd=tmp_path)
    assert result.code == 1
    error = result.json()["error"]
    assert error["code"] == "internal_error" and "数据库" in error["hint"]
