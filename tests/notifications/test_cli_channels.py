"""`lostcontact channels` and `lostcontact notifications` as a person uses them: a real subprocess on a real store."""
from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import text

from tests.cli.helpers import REPO, Cli

WECOM = "wecombot://4d3a5c2e1b2f4c3d9e8f0a1b2c3d9f3a"


def test_channels_set_from_stdin_listed_masked_tested_and_gaps_reported(orgs, hook, tmp_path):
    key = {"LOSTCONTACT_CHANNEL_KEY": os.environ["LOSTCONTACT_CHANNEL_KEY"]}
    cli = Cli(orgs.url, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOSTCONTACT_")}
    done = subprocess.run([sys.executable, "-m", "cli.main", "--db", orgs.url, "channels", "set", "--org", "B1",
                           "--url", "-", "--label", "东村工作群"], input=WECOM + "\n", cwd=tmp_path,
                          env={**env, **key, "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wecombot://…9f3a" in done.stdout and "4d3a5c2e" not in done.stdout + done.stderr
    result = cli("channels", "set", "--person", "sec1", "--url", hook.url("sec1"), "--as", "sec1", "--test", env=key)
    assert "测试消息已送达" in result.out and len(hook.delivered("sec1")) == 1
    assert "【失联党员查找处置】测试消息" == hook.delivered("sec1")[0]["json"]["title"]
    refused = cli("channels", "set", "--person", "sec2", "--url", WECOM, expect=3, env=key)
    assert "群机器人" in refused.err and "4d3a5c2e" not in refused.err + refused.out
    listed = cli("--json", "channels", "list", env=key).json()
    assert sorted(c["masked"] for c in listed["channels"]) == sorted(["wecombot://…9f3a", hook.url("sec1")[:7] + "…"
                                                                       + hook.url("sec1")[-4:]])
    report = cli("--json", "notifications", env=key).json()
    assert "B1" not in [o["org_id"] for o in report["organisations"]]
    assert {"sec2", "town_sec"} <= {p["person_id"] for p in report["people"]}
    assert "org1" not in {p["person_id"] for p in report["people"]}  # in B1's group
    with orgs.reading() as s:
        raw = " ".join(str(v) for row in s.execute(text("SELECT secret, tail FROM channels")) for v in row)
    assert "4d3a5c2e" not in raw and str(hook.port) not in raw
