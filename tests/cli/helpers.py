"""Helpers for running `lostcontact` as a real subprocess against a real store (the `store` fixture of tests/conftest.py: a
SQLite file, or a PostgreSQL schema whose URL carries the search path)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from models.codes import Gender
from tests.casework.drive import make_id
from tests.conftest import ORG_TREE

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"lostcontact {' '.join(self.args)} -> {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LOSTCONTACT_")}
    environment.update({"PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8", **(env or {})})
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)
    return Result(tuple(args), done.returncode, done.stdout, done.stderr)


class Cli:
    """`cli("cases", "list", expect=0)` runs `lostcontact --db URL cases list` and checks the exit code."""

    def __init__(self, url: str, cwd: Path):
        self.url = url
        self.cwd = cwd

    def __call__(self, *args: str, expect: int | None = 0, env: dict[str, str] | None = None) -> Result:
        result = run_cli("--db", self.url, *args, cwd=self.cwd, env=env)
        if expect is not None:
            assert result.code == expect, str(result)
        return result

    def json(self, *args: str, expect: int = 0) -> dict:
        """Run with --json; stdout must be exactly one JSON document whose "ok" matches the exit code."""
        result = self(*args, "--json", expect=expect)
        document = result.json()
        assert document["ok"] is (expect == 0), str(result)
        return document



def write_orgs(path: Path, tree: dict = ORG_TREE) -> Path:
    path.write_text(json.dumps(tree, ensure_ascii=False), encoding="utf-8")
    return path


ROSTER_HEADER = ["姓名", "性别", "出生年月", "身份证号", "所在党支部", "党员类别", "最近联系日期", "失去联系情形", "外出时间",
                 "是否已报告"]


def roster_row(name: str, birth: dt.date, gender: Gender, serial: int, *, branch: str = "B1", kind: str = "正式党员",
               last_contact: str = "2025-01-01", situation: str = "①", away: str = "", reported: str = "") -> list[str]:
    return [name, gender.label, birth.isoformat(), make_id(birth, gender, serial), branch, kind, last_contact,
            situation, away, reported]


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(ROSTER_HEADER)
        writer.writerows(rows)
    return path
