"""Thirty simulated days of a campaign through real Apprise to a real SMTP server and HTTP receivers on loopback
(WeCom group robots included, their fixed endpoint pointed at loopback), with the notification day called every
hour and at the digest time, and the queue drained every minute after each call, as the deployments do.

Branch B1 works its cases (one decision at a time, and a burst of 25 within a minute); branch B2 does nothing, so its
steps go late. The checks are the issue's: a group gets each event once; digests once per working day at the set time
and never at night or on the weekend; a late step reminded at the cadence and escalated once per margin; no message
over its channel's size (WeCom markdown: 4,096 bytes), no group over 20 a minute; a failing channel retried and then reported; e-mails keep their
line breaks; every message carries a link that the web app answers (a stand-in serving the app's two paths)."""
from __future__ import annotations

import datetime as dt
import re
import threading
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from casework.deliveries import failures
from casework.search import record_attempt
from models.codes import StepStatus
from models.store import Case, Notification, Step
from models.timing import LOCAL_TZ, UTC
from notifications import MAX_TRIES, PROFILES, announce_step, daily, flush
from tests.casework.drive import add_member, start

from .conftest import desk, set_group, set_urls

START = dt.datetime(2026, 3, 9, 8, 0, tzinfo=LOCAL_TZ).astimezone(UTC)  # Monday 08:00 Beijing time
DAYS = 30
LINK = re.compile(r"http://127\.0\.0\.1:\d+/(?:cases/[A-Za-z0-9-]+|inbox)")


@pytest.fixture
def web():
    """Stands in for the web app: 200 for /inbox and /cases/{a case that exists}, 404 otherwise."""
    known: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            ok = self.path == "/inbox" or (self.path.startswith("/cases/") and self.path[7:] in known)
            self.send_response(200 if ok else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.known = known
    yield server
    server.shutdown()
    server.server_close()


def local(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(LOCAL_TZ)


def test_thirty_days_of_a_campaign(orgs, smtp, wecom, web, monkeypatch):
    hook = wecom
    monkeypatch.setenv("LOSTCONTACT_BASE_URL", f"http://127.0.0.1:{web.server_port}")
    b1 = [add_member(orgs, name=f"东村党员{n:02d}", branch="B1") for n in range(30)]
    b2 = [add_member(orgs, name=f"西村党员{n:02d}", branch="B2") for n in range(5)]
    set_group(orgs, "B1", "wecombot://groupB1")
    set_group(orgs, "B2", "wecombot://groupB2")
    set_group(orgs, "TOWN", "wecombot://groupTOWN")
    set_urls(orgs, "sec1", smtp.url("sec1@example.org"))
    set_urls(orgs, "town_sec", smtp.url("town_sec@example.org"))
    set_urls(orgs, "org1", hook.url("fail/org1"))  # a channel that always answers 500
    hook.failing.add("/fail/")
    d = desk(orgs)

    def announce_open(now):  # what the case runner's step side effects do for every case run
        with orgs.reading() as s:
            steps = list(s.scalars(select(Step.id).where(Step.status == StepStatus.OPEN)))
        for step_id in steps:
            announce_step(d, step_id, now=now)

    def advance(case_id, now):  # a search attempt at the current stage: the next stage opens in the branch
        with orgs.reading() as s:
            stage = s.get(Case, case_id).search_stage
        record_attempt(orgs, actor_id="town_staff" if stage.value == "department" else "sec1", now=now,
                       case_id=case_id, stage=stage.value, method=stage.methods[0], description="未果",
                       witness="李四", outcome="not_found")

    start(orgs, start_date="2026-03-09", now=START)
    with orgs.reading() as s:
        cases = {c.member_id: c.id for c in s.scalars(select(Case))}
    web.known.update(cases.values())
    b1_cases = [cases[m] for m in b1]
    announce_open(START)

    ticks = sorted({START + dt.timedelta(hours=h) for h in range(DAYS * 24)} |
                   {dt.datetime.combine(START.astimezone(LOCAL_TZ).date() + dt.timedelta(days=n), dt.time(8, 30),
                                        LOCAL_TZ).astimezone(UTC) for n in range(DAYS)})
    burst_at = START + dt.timedelta(days=2, hours=2)  # Wednesday 10:00: 25 decisions within one minute
    worked = iter(b1_cases[5:])
    for tick in ticks:
        if tick == burst_at:
            for n, cid in enumerate(b1_cases[:25]):
                advance(cid, tick + dt.timedelta(seconds=n))
            announce_open(tick + dt.timedelta(seconds=30))
        elif local(tick).weekday() < 5 and local(tick).hour == 11 and tick > burst_at:
            cid = next(worked, None)  # one decision a working day
            if cid:
                advance(cid, tick)
                announce_open(tick)
        daily(d, now=tick)
        for minute in (1, 2, 3):  # the minutely queue flow
            flush(d, now=tick + dt.timedelta(minutes=minute))
    smtp_count = len(smtp.messages)

    with orgs.reading() as s:
        rows = list(s.scalars(select(Notification).order_by(Notification.id)))
    sent = [r for r in rows if r.status == "sent"]
    group_of = {"groupB1": "B1", "groupB2": "B2", "groupTOWN": "TOWN"}
    group_posts = [p for p in hook.posts if p["path"] == "/wecom/send"]

    # A group gets each event once: one delivered post per sent row, no dedupe key twice, and the 25 decisions of
    # the burst are 25 events to B1's group (not 25 x its people), the campaign start one event per branch.
    assert len([p for p in group_posts if p["status"] == 200]) == len([r for r in sent if r.channel == "wecombot"])
    assert len({r.dedupe_key for r in rows}) == len(rows)
    b1_opened = [r for r in sent if r.kind == "step_opened" and r.org_id == "B1" and r.person_id is None]
    assert len(b1_opened) == 1 + 25  # the campaign start, then the burst's 25 personal-network searches
    town_opened = [r for r in sent if r.kind == "step_opened" and r.org_id == "TOWN" and r.person_id is None]
    assert len(town_opened) == 20  # one decision a working day after the burst: the department search is TOWN's
    assert len([r for r in sent if r.kind == "step_opened" and r.org_id == "B2" and r.person_id is None]) == 1

    # Digests: once per working day, at 08:30 Beijing time, never at night or on a weekend.
    digests = [r for r in sent if r.kind == "digest"]
    by_target = Counter((r.channel_id, local(r.attempted_at).date()) for r in digests)
    assert digests and max(by_target.values()) == 1
    assert {local(r.attempted_at).time() for r in digests} == {dt.time(8, 30)}
    assert {local(r.attempted_at).weekday() for r in digests} <= {0, 1, 2, 3, 4}
    workdays = {day for day in (local(START).date() + dt.timedelta(days=n) for n in range(DAYS)) if day.weekday() < 5}
    b2_group = [r.channel_id for r in rows if r.org_id == "B2" and r.person_id is None][0]
    assert {day for (cid, day) in by_target if cid == b2_group} == workdays

    # B2's steps (last day 25 March) reminded at the cadence, and escalated to TOWN once, at seven days late.
    b2_reminders = sorted(local(r.attempted_at).date() for r in sent if r.kind == "reminder" and r.channel_id == b2_group)
    assert [f"{d.month}-{d.day}" for d in b2_reminders] == ["3-23", "3-25", "3-28", "3-31", "4-3", "4-6"]
    escalations = [r for r in sent if r.kind == "escalation"]
    town = sorted((r for r in escalations if r.org_id == "TOWN" and r.person_id is None), key=lambda r: r.attempted_at)
    # B2's five steps (and B1's never-worked ones) at seven days late on 1 April; B1's five left at the
    # personal-network search (last day 27 March) on 3 April; each step once, however often the day was called.
    assert [local(r.attempted_at).date() for r in town] == [dt.date(2026, 4, 1), dt.date(2026, 4, 3)]
    assert all(f"西村党员0{n}" in town[0].body and f"东村党员0{n}" in town[1].body for n in range(5))
    escalated_cases = [c for r in town for c in re.findall(r"C2026-\d{5}", r.body)]
    assert len(escalated_cases) == len(set(escalated_cases)) >= 10

    # Phase deadline announced ahead (three days before and on the day) to the base committee's group.
    ahead = sorted(local(r.attempted_at).date().day for r in sent if r.kind == "ahead" and r.org_id == "TOWN"
                   and r.person_id is None)
    assert ahead == [28, 31]

    # Sizes and rates: every WeCom post within 2,048 bytes; no group over 20 in any minute (the burst was queued).
    assert {p["json"]["msgtype"] for p in group_posts} == {"markdown"}
    assert all(len(p["json"]["markdown"]["content"].encode()) <= PROFILES["wecombot"].max_bytes == 4096
               for p in group_posts)
    for channel in {r.channel_id for r in sent if r.channel == "wecombot"}:
        times = sorted(r.attempted_at for r in rows if r.channel_id == channel and r.attempted_at)
        assert all(times[i + 20] - times[i] >= dt.timedelta(minutes=1) for i in range(len(times) - 20)), channel
    assert any(r.attempted_at > r.created_at + dt.timedelta(seconds=59) for r in b1_opened)  # some waited

    # The failing channel: every message tried MAX_TRIES times, then failed_final and listed.
    failing = [r for r in rows if r.channel == "json"]
    assert failing and {(r.status, r.tries) for r in failing} == {("failed_final", MAX_TRIES)}
    assert len([p for p in hook.posts if p["path"].startswith("/fail/")]) == MAX_TRIES * len(failing)
    with orgs.reading() as s:
        assert {f["id"] for f in failures(s, limit=10_000)} == {r.id for r in failing}

    # E-mails keep their line breaks in the text and the HTML part.
    assert smtp_count == len([r for r in sent if r.channel == "mailto"]) > 0
    for mail in smtp.messages:
        plain = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert plain.count("\n") >= 2 and html.count("<br") >= 2

    # Every message has a link, and the web app answers every link.
    texts = [p["json"]["markdown"]["content"] for p in group_posts] + \
        [m.get_body(("plain",)).get_content() for m in smtp.messages]
    links = set()
    for text in texts:
        found = LINK.findall(text)
        assert found, text[:200]
        links.update(found)
    for link in sorted(links):
        with urllib.request.urlopen(link, timeout=5) as answer:
            assert answer.status == 200, link
