"""Issue 21 point 3: records in an impossible order are refused at the entrance, with the rule named
(models/chronology.py); `--now` and `--at` still enter past work when it is in order."""
from __future__ import annotations

import datetime as dt

import pytest

from casework.campaigns import start_campaign
from casework.dispositions import decide_step
from casework.followups import issue_transfer_letter
from casework.roster import import_roster_bytes
from casework.search import record_attempt
from models.errors import Refusal
from models.store import Attempt, Campaign, Member
from tests.casework.drive import add_member, case_of, open_step, propose, search, start
from tests.casework.test_roster import csv_bytes, person
from tests.conftest import T0

LATER = T0 + dt.timedelta(days=10)


def attempt(store, case_id: str, stage: str, at: str | None, now=LATER, actor="sec1", **extra) -> dict:
    return record_attempt(store, actor_id=actor, now=now, case_id=case_id, stage=stage, method="打电话",
                          description="无人接听", witness="李四", outcome="not_found", attempted_at=at, **extra)


def refusal(fn, *args, **kwargs) -> Refusal:
    with pytest.raises(Refusal) as err:
        fn(*args, **kwargs)
    return err.value


def attempts(store) -> int:
    with store.reading() as s:
        return s.query(Attempt).count()


@pytest.fixture
def case(orgs):
    mid = add_member(orgs, name="王五")
    start(orgs)
    return case_of(orgs, mid)


def test_a_network_attempt_dated_before_the_direct_attempt_is_refused(orgs, case):
    attempt(orgs, case, "direct", "2026-03-12T10:00+08:00")
    err = refusal(attempt, orgs, case, "network", "2026-03-11T10:00+08:00")
    assert err.code == "attempt_out_of_order"
    assert err.message == ("查找时间（2026-03-11 10:00）早于本案上一次查找的时间（2026-03-12 10:00），"
                           "记录须按时间先后顺序登记")
    assert "依据：" in err.text
    assert attempts(orgs) == 1
    attempt(orgs, case, "network", "2026-03-12T10:00+08:00")  # the same minute is in order


@pytest.mark.parametrize("at, code, words", [
    ("1900-05-01T10:00+08:00", "attempt_before_founding", "早于中国共产党成立（1921年7月1日）"),
    ("1980-05-01T10:00+08:00", "attempt_before_birth", "早于党员出生日期（1985-05-20）"),
    ("2026-03-01T10:00+08:00", "attempt_out_of_order", "早于查找开始时间"),  # before the campaign's start day
    ("2026-03-17T09:30+08:00", "attempt_in_future", "不能晚于当前时间"),  # after --now (09:00) + 5 minutes
    ("2099-01-01T00:00+08:00", "attempt_in_future", "不能晚于当前时间"),
])
def test_attempts_out_of_time_are_refused(orgs, case, at, code, words):
    err = refusal(attempt, orgs, case, "direct", at)
    assert err.code == code and words in err.message
    assert attempts(orgs) == 0


def test_an_attempt_recorded_before_its_step_was_opened_is_refused(orgs, case):
    attempt(orgs, case, "direct", "2026-03-10T10:00+08:00", now=LATER)  # the network stage opens at LATER
    err = refusal(attempt, orgs, case, "network", "2026-03-16T08:00+08:00", now=LATER - dt.timedelta(days=1))
    assert err.code == "attempt_out_of_order" and "登记时间" in err.message and "“人际查找”的开启时间" in err.message


def test_past_work_in_order_is_accepted(orgs, case):
    """--at enters attempts done before they are typed in, as long as they are in order."""
    for day, stage in ((8, "direct"), (9, "network"), (10, "department"), (11, "other")):
        actor = "town_staff" if stage == "department" else "sec1"
        attempt(orgs, case, stage, f"2026-03-{day:02d}T15:00+08:00", now=LATER, actor=actor)
    assert attempts(orgs) == 4


def test_a_decision_dated_before_its_step_was_opened_is_refused(orgs, case):
    search(orgs, case, outcome="contacted", now=LATER)
    propose(orgs, case, "correct_in_time", now=LATER)
    step = open_step(orgs, case)
    err = refusal(decide_step, orgs, actor_id="sec1", now=LATER - dt.timedelta(days=30), step_id=step.id,
                  verdict="approve", opinion="同意")
    assert err.code == "decision_out_of_order"
    assert err.message.startswith("决定时间（2026-02-15 09:00）早于“支委会研究提出初步处置意见”的开启时间（2026-03-17 09:00）")
    assert "DOMAIN.md" in err.text or "本系统规则说明" in err.text
    decide_step(orgs, actor_id="sec1", now=LATER, step_id=step.id, verdict="approve", opinion="同意")


def test_a_proposal_dated_before_the_search_ended_is_refused(orgs, case):
    search(orgs, case, outcome="contacted", now=LATER)
    err = refusal(propose, orgs, case, "normal_management", now=T0)
    assert err.code == "decision_out_of_order" and "提出处置意见时间" in err.message


@pytest.mark.parametrize("change, code", [
    ({"name": "  "}, "campaign_name_required"),
    ({"start_date": "2099-12-31"}, "campaign_start_out_of_range"),  # (9999 is already refused as text)
    ({"start_date": "1900-01-01"}, "campaign_start_out_of_range"),
    ({"phases": {"search": "2026-03-01"}}, "phase_before_start"),
    ({"phases": {"search": "2026-03-31", "verify": "2026-04-15"}}, "phases_out_of_order"),
])
def test_campaigns_out_of_time_are_refused(orgs, change, code):
    add_member(orgs, name="赵六")
    kwargs = {"campaign_id": "C1", "org_id": "TOWN", "name": "集中排查", "start_date": "2026-03-07",
              "phases": {"verify": "2026-03-15", "search": "2026-03-31"}, **change}
    err = refusal(start_campaign, orgs, actor_id="town_sec", now=T0, **kwargs)
    assert err.code == code and err.rule == "004"
    with orgs.reading() as s:
        assert s.get(Campaign, "C1") is None


@pytest.mark.parametrize("change, code", [
    ({"issued_on": "2099-01-01"}, "letter_out_of_time"),
    ({"issued_on": "1920-01-01"}, "letter_out_of_time"),
    ({"receiving_org": "  "}, "destination_required"),
])
def test_transfer_letters_out_of_time_or_without_destination_are_refused(orgs, change, code):
    mid = add_member(orgs, name="吴十")
    kwargs = {"letter_id": "L-1", "member_id": mid, "receiving_org": "某区街道党工委", "issued_on": "2026-03-01",
              "validity_days": 30, **change}
    err = refusal(issue_transfer_letter, orgs, actor_id="sec1", now=T0, **kwargs)
    assert err.code == code and err.rule == "000 §2"


def test_roster_last_contact_before_birth_or_1921_is_a_bad_row(orgs):
    rows = [person("钱多", 最近联系日期="1984-01-01"), person("孙丽", 最近联系日期="1921-06-30"), person("周杰")]
    with pytest.raises(Refusal) as err:
        import_roster_bytes(orgs, csv_bytes(rows), "roster.csv", base_committee_id="TOWN", now=T0)
    errors = {e["name"]: e["reasons"] for e in err.value.details["report"]["errors"]}
    assert set(errors) == {"钱多", "孙丽"}
    assert errors["钱多"] == ["最近联系日期（1984-01-01）早于出生日期（1985-06-02）"]
    assert errors["孙丽"][-1] in ("最近联系日期（1921-06-30）早于中国共产党成立（1921年7月1日）",
                                   "最近联系日期（1921-06-30）早于出生日期（1985-06-02）")
    with orgs.reading() as s:
        assert s.query(Member).count() == 0
