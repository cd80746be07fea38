"""The notification day is a Prefect deployment at the digest time in Beijing time, the queue one every minute; the
case runner executes both; the day's task really sends the digests (send_digests was once called by nothing)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from flows.notify import NOTIFY_DAILY_DEPLOYMENT, NOTIFY_QUEUE_DEPLOYMENT, notify_day, notify_queue
from caserunner.runner import SCHEDULED_FLOWS
from models.timing import LOCAL_TZ, UTC
from tests.casework.drive import add_member, case_of, start

from .conftest import rows, set_urls

ROOT = Path(__file__).resolve().parents[2]


def test_deployments_are_declared_with_their_cron_in_beijing_time_and_run_by_the_runner():
    declared = {d["name"]: d for d in yaml.safe_load((ROOT / "deploy" / "prefect.yaml").read_text())["deployments"]}
    daily = declared["notify-daily"]
    assert daily["entrypoint"] == "flows/notify.py:notify_daily"
    assert daily["schedules"] == [{"cron": "30 8 * * *", "timezone": "Asia/Shanghai"}]
    assert declared["notify-queue"]["schedules"] == [{"cron": "* * * * *", "timezone": "Asia/Shanghai"}]
    assert {NOTIFY_DAILY_DEPLOYMENT, NOTIFY_QUEUE_DEPLOYMENT} <= set(SCHEDULED_FLOWS)
    from caserunner.deployments import DEPLOYMENTS
    from flows.notify import DIGEST_CRON, notify_daily

    registered = {d.name: d for d in DEPLOYMENTS}
    assert registered["notify-daily"].flow is notify_daily and registered["notify-daily"].cron == DIGEST_CRON


def test_the_daily_cron_follows_the_digest_time(monkeypatch):
    from tasks.notify_tasks import digest_cron

    assert digest_cron() == "30 8 * * *"
    monkeypatch.setenv("LOSTCONTACT_DIGEST_TIME", "09:15")
    assert digest_cron() == "15 9 * * *"


def test_the_daily_task_sends_the_digest_and_the_queue_task_drains(orgs, smtp, monkeypatch):
    monkeypatch.setenv("LOSTCONTACT_DB_URL", orgs.url)
    member = add_member(orgs, name="张三")
    start(orgs)
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))
    monday = dt.datetime(2026, 3, 9, 8, 30, tzinfo=LOCAL_TZ).astimezone(UTC)
    at_night = notify_day.fn(monday.replace(hour=18).isoformat())  # 02:30 Beijing time: nothing
    assert at_night["digests"]["sent"] == 0 and smtp.messages == []
    result = notify_day.fn(monday.isoformat())
    assert result["digests"]["sent"] == 1
    assert case_of(orgs, member) in smtp.text(smtp.messages[0])
    assert [r.kind for r in rows(orgs, person_id="sec1", status="sent")] == ["digest"]
    assert notify_queue.fn((monday + dt.timedelta(minutes=1)).isoformat())["sent"] == 0
