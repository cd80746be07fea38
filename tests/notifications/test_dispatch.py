"""Notifications against the real store (SQLite and PostgreSQL) and real receivers on loopback."""
from __future__ import annotations

import datetime as dt
import sqlite3

from casework.search import record_attempt
from models.codes import Stage, StepKind
from models.store import Notification
from models.timing import UTC
from notifications import announce_step, recipients, remind_late, send_digests
from notifications.sending import MAX_TRIES
from tests.casework.drive import add_member, approve_open, case_of, open_step, propose, search, start
from tests.conftest import T0

from .conftest import rows, set_urls


def local9(month: int, day: int) -> dt.datetime:
    """09:00 in Asia/Shanghai on a day of 2026, as UTC."""
    return dt.datetime(2026, month, day, 1, 0, tzinfo=UTC)


def new_case(store, name: str = "张三") -> tuple[str, str]:
    """A case of branch B1 whose first step (direct contact, due 2026-03-23 09:00 local) is open."""
    mid = add_member(store, name=name)
    start(store)
    case_id = case_of(store, mid)
    return case_id, open_step(store, case_id).id


def to_town_review(store, case_id: str) -> str:
    """Contact at the first stage, propose normal management, approve the two branch steps: the base committee's
    approval waits."""
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    propose(store, case_id, "normal_management")
    approve_open(store, case_id)
    approve_open(store, case_id)
    step = open_step(store, case_id)
    assert step.kind is StepKind.REVIEW and step.org_id == "TOWN"
    return step.id


# ---------------------------------------------------------------- announce

def test_announce_once_by_email_with_chinese_subject_and_body(orgs, smtp):
    case_id, step_id = new_case(orgs)
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))  # org1 has no channel
    first = announce_step(orgs, step_id, now=T0)
    second = announce_step(orgs, step_id, now=T0 + dt.timedelta(minutes=5))
    third = announce_step(orgs, step_id, now=T0 + dt.timedelta(hours=1))
    assert (first["sent"], first["skipped"], first["already"]) == (1, 1, 0)
    assert (second["sent"], second["skipped"], second["already"]) == (0, 0, 2)
    assert third == second
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["sec1@example.org"]
    assert mail["subject"] == "【失联党员查找处置】新待办：张三 — 直接联系"
    text = smtp.text(mail)
    assert f"【失联党员查找处置】您有一项待办：{case_id} 张三 — 直接联系，请于2026年3月23日 09:00前办理" in text
    assert "东村党支部" in text
    sent, = rows(orgs, person_id="sec1")
    assert (sent.dedupe_key, sent.kind, sent.status, sent.channel, sent.tries) == \
        (f"open:{step_id}:sec1", "step_opened", "sent", "mailto", 1)
    assert sent.sent_at == T0 and sent.error is None and sent.case_id == case_id and sent.org_id == "B1"


def test_person_without_channel_is_skipped_then_reached_once_a_channel_exists(orgs, hook):
    _case, step_id = new_case(orgs)
    result = announce_step(orgs, step_id, now=T0)
    assert (result["sent"], result["skipped"]) == (0, 2)
    assert {(r.person_id, r.status, r.channel) for r in rows(orgs)} == \
        {("sec1", "skipped_no_channel", None), ("org1", "skipped_no_channel", None)}
    assert announce_step(orgs, step_id, now=T0)["already"] == 2
    set_urls(orgs, "org1", hook.url("org1"))
    again = announce_step(orgs, step_id, now=T0 + dt.timedelta(hours=1))
    assert (again["sent"], again["already"]) == (1, 1)
    assert len(hook.delivered("org1")) == 1
    assert rows(orgs, person_id="org1")[0].status == "sent"


def test_claim_is_committed_before_the_send_and_no_transaction_is_open_during_it(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    seen = []

    def during_send(path, payload):
        with orgs.reading() as s:  # another connection sees the committed claim
            seen.append([(r.dedupe_key, r.status) for r in s.query(Notification)])
        if orgs.is_sqlite:  # and nobody holds the write lock: a writer gets it at once
            db = sqlite3.connect(orgs.engine.url.database, timeout=0.5, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            db.close()
        else:  # no open transaction holds any lock on the tables the sender read or wrote
            with orgs.engine.connect() as c:
                c.exec_driver_sql("LOCK TABLE notifications, steps, people, person_roles, cases "
                                  "IN ACCESS EXCLUSIVE MODE NOWAIT")
                c.rollback()
            seen.append("locked")

    hook.on_request = during_send
    assert announce_step(orgs, step_id, now=T0)["sent"] == 1
    assert (f"open:{step_id}:sec1", "sending") in seen[0]
    if not orgs.is_sqlite:
        assert seen[1] == "locked"


def test_refusing_receiver_gives_a_failed_row_and_a_later_call_retries(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    hook.status = 500
    first = announce_step(orgs, step_id, now=T0)
    assert first["failed"] == 1 and first["sent"] == 0
    failed, = rows(orgs, person_id="sec1")
    assert (failed.status, failed.tries, failed.channel, failed.sent_at) == ("failed", 1, "json", None)
    assert failed.error and "500" in failed.error and f"{hook.port}/sec1" not in failed.error
    hook.status = 200
    second = announce_step(orgs, step_id, now=T0 + dt.timedelta(minutes=10))
    assert second["sent"] == 1
    assert announce_step(orgs, step_id, now=T0 + dt.timedelta(minutes=20))["already"] == 2  # sec1, org1 (skipped)
    assert len(hook.delivered("sec1")) == 1 and len(hook.posts) == 2
    done, = rows(orgs, person_id="sec1")
    assert (done.status, done.tries, done.error, done.sent_at) == ("sent", 2, None, T0 + dt.timedelta(minutes=10))


def test_retries_are_bounded(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    hook.status = 500
    for i in range(MAX_TRIES + 2):
        announce_step(orgs, step_id, now=T0 + dt.timedelta(minutes=i))
    assert len(hook.posts) == MAX_TRIES
    row, = rows(orgs, person_id="sec1")
    assert (row.status, row.tries) == ("failed", MAX_TRIES)


def test_closed_step_sends_nothing(orgs, hook):
    case_id, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    record_attempt(orgs, actor_id="sec1", now=T0, case_id=case_id, stage="direct", method="打电话",
                   description="电话无人接听", witness="李四", outcome="not_found")
    result = announce_step(orgs, step_id, now=T0)
    assert (result["sent"], result["failed"], result["skipped"], result["already"]) == (0, 0, 0, 0)
    assert result["step_open"] is False
    assert hook.posts == [] and rows(orgs) == []
    assert announce_step(orgs, open_step(orgs, case_id).id, now=T0)["sent"] == 1  # the next stage is announced


def test_review_step_reaches_only_the_deciders(orgs, hook):
    case_id, _ = new_case(orgs)
    step_id = to_town_review(orgs, case_id)
    for pid in ("town_sec", "town_staff", "sec1"):
        set_urls(orgs, pid, hook.url(pid))
    with orgs.reading() as s:
        assert [p.id for p in recipients(s, "TOWN", deciders_only=True)] == ["town_sec"]
        assert [p.id for p in recipients(s, "TOWN", deciders_only=False)] == ["town_sec", "town_staff"]
    assert announce_step(orgs, step_id, now=T0)["sent"] == 1
    assert [p["path"] for p in hook.posts] == ["/town_sec"]
    assert hook.posts[0]["json"]["title"] == "【失联党员查找处置】新待办：张三 — 基层党委审批"
    assert "基层党委审批" in hook.posts[0]["json"]["message"]


# ---------------------------------------------------------------- reminders and escalation

def test_reminders_once_a_day_and_escalation_to_the_base_committee_deciders(orgs, hook):
    _case, step_id = new_case(orgs)  # last day 2026-03-23
    for pid in ("sec1", "org1", "town_sec", "town_staff", "county_org"):
        set_urls(orgs, pid, hook.url(pid))

    def sweep(now):
        before = len(hook.posts)
        result = remind_late(orgs, now=now)
        return result, hook.posts[before:]

    result, got = sweep(local9(3, 20))  # three days left: nothing yet
    assert got == [] and result["sent"] == 0

    result, got = sweep(local9(3, 21))  # two days left
    assert sorted(p["path"] for p in got) == ["/org1", "/sec1"]
    assert all("您的待办还有2天到期" in p["json"]["message"] for p in got)
    assert all(p["json"]["title"] == "【失联党员查找处置】到期提醒：张三 — 直接联系" for p in got)
    result, got = sweep(local9(3, 21) + dt.timedelta(hours=8))  # the same local day again
    assert got == [] and result["reminder"]["already"] == 2

    result, got = sweep(local9(3, 24))  # overdue one day: reminded, not escalated
    assert sorted(p["path"] for p in got) == ["/org1", "/sec1"]
    assert "您的待办已逾期1天" in got[0]["json"]["message"] and "已等待17天" in got[0]["json"]["message"]
    assert result["escalation"]["sent"] == 0

    result, got = sweep(local9(3, 26))  # overdue three days: still not more than three
    assert result["escalation"]["sent"] == 0 and len(got) == 2

    result, got = sweep(local9(3, 27))  # overdue four days: the base committee's deciders are told
    escalated = [p for p in got if "督办" in p["json"]["title"]]
    assert [p["path"] for p in escalated] == ["/town_sec"]
    assert escalated[0]["json"]["title"] == "【失联党员查找处置】督办提醒：东村党支部待办逾期4天"
    assert "请某镇党委督促东村党支部尽快办理" in escalated[0]["json"]["message"]
    assert result["escalation"]["sent"] == 1 and result["reminder"]["sent"] == 2
    result, got = sweep(local9(3, 27) + dt.timedelta(hours=3))
    assert got == [] and result["already"] == 3
    assert not [p for p in hook.posts if p["path"] in ("/town_staff", "/county_org")]
    assert {r.kind for r in rows(orgs, person_id="town_sec")} == {"escalation"}
    assert rows(orgs, person_id="town_sec")[0].org_id == "TOWN"


def test_reminder_for_a_review_step_and_escalation_above_the_base_committee(orgs, hook):
    case_id, _ = new_case(orgs)
    step_id = to_town_review(orgs, case_id)  # opened at T0, due 15 days later
    for pid in ("town_sec", "town_staff", "county_org", "sec1"):
        set_urls(orgs, pid, hook.url(pid))
    result = remind_late(orgs, now=T0 + dt.timedelta(days=25))
    assert sorted(p["path"] for p in hook.posts) == ["/county_org", "/town_sec"]
    assert result["reminder"]["sent"] == 1 and result["escalation"]["sent"] == 1
    esc = rows(orgs, kind="escalation")[0]
    assert (esc.person_id, esc.org_id, esc.step_id) == ("county_org", "COUNTY", step_id)


# ---------------------------------------------------------------- digests

def test_daily_digest_lists_what_waits_on_each_person(orgs, smtp):
    a, b = add_member(orgs, name="张三"), add_member(orgs, name="李四")
    start(orgs)
    first, second = case_of(orgs, a), case_of(orgs, b)
    for pid in ("sec1", "town_sec", "town_staff"):
        set_urls(orgs, pid, smtp.url(f"{pid}@example.org"))
    town_step = to_town_review(orgs, second)

    result = send_digests(orgs, now=local9(3, 24))
    # sec1 and org1 (no channel) wait on the first case's search; town_sec on the review; town_staff on nothing.
    assert (result["sent"], result["skipped"], result["people"]) == (2, 1, 3)
    mine = smtp.to("sec1@example.org")
    assert len(mine) == 1
    assert mine[0]["subject"] == "【失联党员查找处置】每日待办汇总（2026年3月24日）：共1项，逾期1项"
    text = smtp.text(mine[0])
    assert "张书记同志，截至2026年3月24日 09:00，您共有1项待办，其中1项已逾期" in text
    assert f"1. {first} 张三 — 直接联系（东村党支部；期限2026年3月23日 09:00，已逾期1天；已等待17天）" in text
    town = smtp.to("town_sec@example.org")
    assert len(town) == 1 and f"{second} 李四 — 基层党委审批" in smtp.text(town[0])
    assert smtp.to("town_staff@example.org") == []
    assert rows(orgs, person_id="town_sec")[0].dedupe_key == "digest:town_sec:2026-03-24"

    again = send_digests(orgs, now=local9(3, 24) + dt.timedelta(hours=10))  # 19:00, the same local day
    assert again["sent"] == 0 and again["already"] == 3
    next_day = send_digests(orgs, now=local9(3, 25))
    assert next_day["sent"] == 2
    assert len(smtp.to("sec1@example.org")) == 2
    assert town_step
