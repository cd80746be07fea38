"""Notifications against the real store (SQLite and PostgreSQL) and real receivers on loopback."""
from __future__ import annotations

import datetime as dt
import re
import sqlite3

from casework.deliveries import delivery_report, failures
from casework.queries import inbox
from casework.search import record_attempt
from models.codes import Stage, StepKind
from models.store import Notification
from models.timing import LOCAL_TZ, UTC
from notifications import MAX_TRIES, announce_step, flush, remind_and_escalate, send_digests
from notifications.sending import LEASE
from notifications.settings import Settings
from tests.casework.drive import add_member, approve_open, case_of, open_step, propose, search, start
from tests.conftest import T0

from .conftest import desk, rows, set_group, set_urls

BASE = "http://127.0.0.1:8000"


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
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    propose(store, case_id, "normal_management")
    approve_open(store, case_id)
    approve_open(store, case_id)
    step = open_step(store, case_id)
    assert step.kind is StepKind.REVIEW and step.org_id == "TOWN"
    return step.id


# ---------------------------------------------------------------- announce

def test_announce_once_by_email_with_chinese_subject_body_and_link(orgs, smtp):
    case_id, step_id = new_case(orgs)
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))  # org1 has no channel, B1 no group
    first = announce_step(desk(orgs), step_id, now=T0)
    second = announce_step(desk(orgs), step_id, now=T0 + dt.timedelta(minutes=5))
    assert (first["sent"], first["skipped"], first["already"]) == (1, 1, 0)
    assert (second["sent"], second["skipped"], second["already"]) == (0, 0, 1)  # the event is on record
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert smtp.envelopes[0].rcpt_tos == ["sec1@example.org"]
    assert mail["subject"] == "【失联党员查找处置】新待办：张三 — 直接联系"
    text = smtp.text(mail)
    assert f"【失联党员查找处置】您有一项待办：{case_id} 张三 — 直接联系，请于2026年3月23日 09:00前办理" in text
    assert f"办理入口：{BASE}/cases/{case_id}" in text
    sent, = rows(orgs, person_id="sec1")
    assert (sent.kind, sent.status, sent.channel, sent.tries, sent.step_id, sent.case_id) == \
        ("step_opened", "sent", "mailto", 1, step_id, case_id)
    skipped, = rows(orgs, person_id="org1")
    assert skipped.status == "skipped_no_channel"


def test_email_keeps_its_line_breaks_in_text_and_html(orgs, smtp):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))
    announce_step(desk(orgs), step_id, now=T0)
    mail = smtp.messages[0]
    plain = smtp.text(mail)
    html = mail.get_body(("html",)).get_content()
    assert plain.count("\n") >= 3 and "\n办理单位：东村党支部" in plain
    assert html.count("<br") >= 3 and "办理单位：东村党支部" in html


def test_a_group_gets_one_message_per_event_and_a_campaign_one_summary_per_branch(orgs, wecom):
    members = [add_member(orgs, name=f"党员{n}") for n in range(12)]
    set_group(orgs, "B1", "wecombot://groupkeyB1")
    start(orgs)
    case_ids = [case_of(orgs, m) for m in members]
    for cid in case_ids:  # every case run announces its first step
        announce_step(desk(orgs), open_step(orgs, cid).id, now=T0)
    posts = wecom.delivered()
    assert len(posts) == 1 and posts[0]["query"] == "key=groupkeyB1"
    assert posts[0]["json"]["msgtype"] == "markdown"
    content = posts[0]["json"]["markdown"]["content"]
    assert content.startswith("**【失联党员查找处置】新待办12项：东村党支部**\n")
    assert f"全部待办：[{BASE}/inbox]({BASE}/inbox)" in content and all(cid in content for cid in case_ids)
    assert len(content.encode()) <= 4096
    assert not [r for r in rows(orgs) if r.status == "skipped_no_channel"]  # sec1, org1 reached by the group


def test_a_long_list_is_shortened_to_the_group_limit_with_the_link(orgs, wecom):
    members = [add_member(orgs, name=f"欧阳长名党员{n:03d}") for n in range(45)]
    set_group(orgs, "B1", "wecombot://groupkeyB1")
    start(orgs)
    announce_step(desk(orgs), open_step(orgs, case_of(orgs, members[0])).id, now=T0)
    content = wecom.delivered()[0]["json"]["markdown"]["content"]
    assert 3800 < len(content.encode()) <= 4096  # WeCom's limit for a markdown message
    assert "……另有" in content and content.rstrip().endswith(f"全部待办：[{BASE}/inbox]({BASE}/inbox)")


def test_dingtalk_robots_get_markdown_with_hard_line_breaks(orgs, hook, monkeypatch):
    from notifications.robots import DingTalkMarkdown

    monkeypatch.setattr(DingTalkMarkdown, "notify_url", f"http://127.0.0.1:{hook.port}/dingtalk?access_token={{token}}")
    case_id, step_id = new_case(orgs)
    set_group(orgs, "B1", "dingtalk://token0123456789/")
    assert announce_step(desk(orgs), step_id, now=T0)["sent"] == 1
    payload = hook.delivered("dingtalk")[0]["json"]
    assert payload["msgtype"] == "markdown"
    text = payload["markdown"]["text"]
    assert text.startswith("**【失联党员查找处置】新待办：张三 — 直接联系**  \n")
    assert f"[{BASE}/cases/{case_id}]({BASE}/cases/{case_id})" in text


def test_claim_is_committed_before_the_send_and_no_transaction_is_open_during_it(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    seen = []

    def during_send(path, payload):
        with orgs.reading() as s:
            seen.append([(r.dedupe_key, r.status) for r in s.query(Notification) if r.person_id == "sec1"])
        if orgs.is_sqlite:
            db = sqlite3.connect(orgs.engine.url.database, timeout=0.5, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
            db.close()
        else:
            with orgs.engine.connect() as c:
                c.exec_driver_sql("LOCK TABLE notifications, channels, steps, people, person_roles, cases "
                                  "IN ACCESS EXCLUSIVE MODE NOWAIT")
                c.rollback()

    hook.on_request = during_send
    assert announce_step(desk(orgs), step_id, now=T0)["sent"] == 1
    assert seen[0][0][1] == "sending"


def test_failures_are_retried_with_backoff_then_given_up_and_listed(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    hook.status = 500
    assert announce_step(desk(orgs), step_id, now=T0)["failed"] == 1
    row, = rows(orgs, person_id="sec1")
    assert (row.status, row.tries, row.next_attempt_at) == ("failed", 1, T0 + dt.timedelta(minutes=1))
    assert row.error and "500" in row.error and f"{hook.port}/sec1" not in row.error
    assert flush(desk(orgs), now=T0 + dt.timedelta(seconds=30)).sent == 0 and len(hook.posts) == 1  # not yet
    moment = T0
    for _ in range(20):  # bounded: far more rounds than tries
        moment += dt.timedelta(hours=2)
        flush(desk(orgs), now=moment)
    assert len(hook.posts) == MAX_TRIES
    row, = rows(orgs, person_id="sec1")
    assert (row.status, row.tries) == ("failed_final", MAX_TRIES)
    with orgs.reading() as s:
        assert [(f["kind"], f["person_id"], f["tries"]) for f in failures(s)] == [("step_opened", "sec1", MAX_TRIES)]


def test_a_retry_that_succeeds_records_the_send(orgs, hook):
    _case, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    hook.status = 500
    announce_step(desk(orgs), step_id, now=T0)
    hook.status = 200
    assert flush(desk(orgs), now=T0 + dt.timedelta(minutes=2)).sent == 1
    row, = rows(orgs, person_id="sec1")
    assert (row.status, row.tries, row.error) == ("sent", 2, None)
    assert flush(desk(orgs), now=T0 + dt.timedelta(hours=3)).sent == 0 and len(hook.delivered()) == 1


def test_a_claim_left_by_a_killed_sender_is_never_sent_again_but_listed_as_uncertain(orgs, hook):
    """The sender may die after the channel answered and before the row says so: sending the claim again could
    deliver the message twice. After the lease it is marked uncertain and listed with the failures instead."""
    case_id, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    d = desk(orgs)
    messages = d.due  # the sender dies between its claim and its send: claim by hand, send nothing
    ids = d.enqueue(_opened_messages(orgs, step_id), now=T0)
    row, = messages(now=T0, lease=LEASE, ids=ids)
    assert d.claim(row, now=T0, lease=LEASE, max_tries=MAX_TRIES) == 1
    record_attempt(orgs, actor_id="sec1", now=T0, case_id=case_id, stage="direct", method="打电话",
                   description="电话无人接听", witness="李四", outcome="not_found")  # the step closes
    within = flush(d, now=T0 + LEASE - dt.timedelta(seconds=1))
    assert (within.sent, within.uncertain) == (0, 0)  # still within the lease: the sender may yet record it
    after = flush(d, now=T0 + LEASE + dt.timedelta(seconds=1))
    assert (after.sent, after.uncertain) == (0, 1)
    assert flush(d, now=T0 + 3 * LEASE).as_dict()["sent"] == 0
    assert hook.delivered("sec1") == []
    row, = rows(orgs, person_id="sec1")
    assert (row.status, row.tries) == ("uncertain", 1)
    with orgs.reading() as s:
        listed = [f for f in delivery_report(s).failed if f.id == row.id]
    assert [f.status for f in listed] == ["uncertain"] and "可能已送达" in (listed[0].error or "")


def _opened_messages(store, step_id):
    from notifications.dispatch import _event
    from notifications.settings import Settings

    d = desk(store)
    with d.reading() as s:
        from models.store import Step

        step = s.get(Step, step_id)
        batch = [w for w in d.waits_on(s, org_ids=[step.org_id]) if w.opened_at == step.opened_at]
        messages, _ = _event(d, s, "step_opened", "open:test", "step_opened", batch, Settings.from_env(), T0)
    return [m for m in messages if m.target.channel_id]


def test_rate_limit_queues_a_group_at_twenty_a_minute(orgs, wecom):
    set_group(orgs, "B1", "wecombot://groupkeyB1")
    d = desk(orgs)
    from models.channels_store import Outgoing

    target = d.group_targets(orgs.reading(), ["B1"])["B1"][0]
    d.enqueue([Outgoing(key=f"load:{n}", kind="test", target=target, title="", body=f"消息{n} {BASE}/inbox")
               for n in range(45)], now=T0)
    sent = [flush(d, now=T0 + dt.timedelta(seconds=s)).sent for s in (0, 30, 60, 90, 120, 180)]
    assert {p["json"]["msgtype"] for p in wecom.delivered()} == {"markdown"}
    assert sent == [20, 0, 20, 0, 5, 0]
    assert len(wecom.delivered()) == 45


def test_closed_step_sends_nothing(orgs, hook):
    case_id, step_id = new_case(orgs)
    set_urls(orgs, "sec1", hook.url("sec1"))
    record_attempt(orgs, actor_id="sec1", now=T0, case_id=case_id, stage="direct", method="打电话",
                   description="电话无人接听", witness="李四", outcome="not_found")
    result = announce_step(desk(orgs), step_id, now=T0)
    assert result["step_open"] is False and hook.posts == [] and rows(orgs) == []
    assert announce_step(desk(orgs), open_step(orgs, case_id).id, now=T0)["sent"] == 1


# ---------------------------------------------------------------- reminders, escalations, digests

def at_local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=LOCAL_TZ).astimezone(UTC)


def test_reminders_at_the_cadence_and_escalation_once_per_margin(orgs, hook):
    _case, step_id = new_case(orgs)  # last day 2026-03-23
    for pid in ("sec1", "org1", "town_sec", "town_staff", "county_org"):
        set_urls(orgs, pid, hook.url(pid))
    got: dict[tuple[int, int], list] = {}
    for day in range(19, 32):
        for hour in (2, 9, 15, 23):  # called at night and twice in the day: sends once a day, in working hours
            before = len(hook.posts)
            remind_and_escalate(desk(orgs), now=at_local(day, hour))
            if hook.posts[before:]:
                got[day, hour] = [(p["path"], p["json"]["title"]) for p in hook.posts[before:]]
    assert {hour for _day, hour in got} == {9}
    reminded = sorted(day for (day, _), posts in got.items() if any(p == "/sec1" for p, _ in posts))
    assert reminded == [21, 23, 26, 29]  # two days before, on the day, then every three days late
    escalated = [(day, p) for (day, _), posts in got.items() for p, t in posts if "督办" in t]
    assert escalated == [(30, "/town_sec")]  # 7 days late: the deciders of the organisation above, once


def test_digest_once_per_working_day_at_the_set_time(orgs, smtp):
    a = add_member(orgs, name="张三")
    start(orgs)
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))
    sent_on = []
    for day in range(9, 16):  # Monday 9 March to Sunday 15 March
        for hour in range(24):
            if send_digests(desk(orgs), now=at_local(day, hour, 40))["sent"]:
                sent_on.append((day, hour))
    assert sent_on == [(9, 8), (10, 8), (11, 8), (12, 8), (13, 8)]  # 08:40, the first call after 08:30; weekdays
    text = smtp.text(smtp.to("sec1@example.org")[0])
    assert f"{case_of(orgs, a)} 张三 — 直接联系" in text and f"全部待办：{BASE}/inbox" in text


def test_digest_reminders_and_inbox_list_the_same_steps_for_a_person(orgs, hook):
    add_member(orgs, name="张三")
    b = add_member(orgs, name="李四")
    start(orgs)
    to_town_review(orgs, case_of(orgs, b))
    for pid in ("sec1", "town_sec", "town_staff"):
        set_urls(orgs, pid, hook.url(pid))
    every_day = Settings(remind_before=tuple(range(30)))  # every waiting step is at its cadence today
    monday = at_local(16, 9)
    send_digests(desk(orgs), now=monday, settings=every_day)
    remind_and_escalate(desk(orgs), now=monday, settings=every_day)
    with orgs.reading() as s:
        for pid in ("sec1", "town_sec", "town_staff"):
            shown = {i.case_id for i in inbox(s, now=monday, person_id=pid)}
            assert shown, pid
            for kind in ("digest", "reminder"):
                row, = [r for r in rows(orgs, person_id=pid, kind=kind)]
                assert set(re.findall(r"C2026-\d{5}", row.body)) == shown, (pid, kind)


def test_a_two_year_review_is_announced_a_month_ahead_once(orgs, hook):
    from models.codes import FollowUpKind, FollowUpStatus
    from models.store import FollowUp
    from notifications import announce_ahead

    case_id, _ = new_case(orgs)
    due = dt.datetime(2028, 5, 10, 16, 0, tzinfo=UTC)  # 11 May 2028, 00:00 Beijing: the last day is 10 May
    with orgs.writing() as s:
        s.add(FollowUp(id=f"{case_id}:review", kind=FollowUpKind.TWO_YEAR_REVIEW, case_id=case_id, due_at=due,
                       status=FollowUpStatus.PENDING, created_at=T0))
        s.commit()
    set_group(orgs, "B1", hook.url("group/B1"))
    sent = []
    for day in (9, 10, 11):  # April 2028: 10 April is 30 days before 10 May
        moment = dt.datetime(2028, 4, day, 8, 30, tzinfo=LOCAL_TZ).astimezone(UTC)
        for minutes in (0, 20):
            sent.append(announce_ahead(desk(orgs), now=moment + dt.timedelta(minutes=minutes))["sent"])
    assert sent == [0, 0, 1, 0, 0, 0]
    message = hook.delivered("group/B1")[0]["json"]
    assert "停止党籍满两年复查" in message["message"] and "还有30天" in message["message"]
    assert f"{BASE}/cases/{case_id}" in message["message"]


def test_a_batch_decided_in_several_transactions_lists_each_step_once(orgs, hook):
    members = [add_member(orgs, name=f"党员{n}") for n in range(3)]
    start(orgs)
    set_group(orgs, "B1", hook.url("group/B1"))
    cases = [case_of(orgs, m) for m in members]
    for cid in cases:
        announce_step(desk(orgs), open_step(orgs, cid).id, now=T0)
    hook.posts.clear()
    meeting = T0 + dt.timedelta(days=1)  # a meeting's batch: one clock, a transaction per case
    record = dict(actor_id="sec1", now=meeting, stage="direct", method="打电话", description="无人接听", witness="李四",
                  outcome="not_found")
    record_attempt(orgs, case_id=cases[0], **record)
    announce_step(desk(orgs), open_step(orgs, cases[0]).id, now=meeting)  # its run got there first
    for cid in cases[1:]:
        record_attempt(orgs, case_id=cid, **record)
    results = [announce_step(desk(orgs), open_step(orgs, cid).id, now=meeting) for cid in cases[1:]]
    assert [r.get("steps") for r in results] == [2, None]  # the second run covered both; the third found them so
    texts = [p["json"]["message"] for p in hook.delivered("group/B1")]
    assert len(texts) == 2
    assert [sum(cid in text for text in texts) for cid in cases] == [1, 1, 1]  # each case in one message
