"""The desk's queries on both stores: the dashboard's counts and burndown, the masked case list, the meeting groups."""
from __future__ import annotations

import datetime as dt

from casework.workbench import batch_groups, burndown, cases_list, dashboard
from models.actor import Actor, Channel
from models.codes import Stage
from models.timing import UTC
from tests.casework.drive import approve_open, file_all_materials, propose, search
from tests.conftest import T0
from tests.web.world import build_world


def test_dashboard_counts_per_branch_and_what_is_late(store):
    cases = build_world(store)
    search(store, cases["东村党员1"], outcome="not_found", at=Stage.NETWORK)  # on to the base committee's stage
    search(store, cases["东村党员2"], outcome="dead", at=Stage.DIRECT)  # closed
    boss = Actor("town_sec", Channel.WEB, org_id="TOWN")
    later = T0 + dt.timedelta(days=30)
    with store.reading() as s:
        board = dashboard(s, boss, "C2026", later)
    by_branch = {b.branch_id: b.counts for b in board.branches}
    assert by_branch["B1"] == {"直接联系": 1, "部门查找": 1, "已办结": 1, "合计": 3}
    assert by_branch["B2"] == {"直接联系": 1, "合计": 1}
    assert "OB1" not in by_branch  # another base committee's branch
    assert board.total == 4 and board.open == 3
    late = {x.org_id: x.count for x in board.late}
    assert late == {"B1": 1, "B2": 1, "TOWN": 1}  # the search phase ended on 2026-03-31
    assert board.burndown[0] == ("2026-03-07", 3) and board.burndown[-1] == ("2026-04-06", 3)
    branch = Actor("sec2", Channel.WEB, org_id="B2")
    with store.reading() as s:
        mine = dashboard(s, branch, "C2026", later)
    assert [b.branch_id for b in mine.branches] == ["B2"] and mine.total == 1


def test_burndown_ends_today_and_counts_closures():
    day = dt.date(2026, 3, 7)
    opened = {day: 2, day + dt.timedelta(days=1): 1}
    closed = {day + dt.timedelta(days=2): 1}
    now = dt.datetime(2026, 3, 11, 2, tzinfo=UTC)
    points = burndown(opened, closed, now)
    assert points == [("2026-03-07", 2), ("2026-03-08", 3), ("2026-03-09", 2), ("2026-03-10", 2), ("2026-03-11", 2)]
    long = burndown(opened, closed, now + dt.timedelta(days=396))
    assert len(long) <= 121 and long[-1] == ("2027-04-11", 2)


def test_lists_mask_and_meetings_group(store):
    cases = build_world(store)
    with store.reading() as s:
        rows = cases_list(s, Actor("sec1", Channel.WEB, org_id="B1"))
    assert {r["name"] for r in rows} == {"东村党员1", "东村党员2", "东村党员3"}
    assert all("*" in r["id_number"] and len(r["id_number"]) == 18 for r in rows)
    for name in ("东村党员1", "东村党员3"):
        search(store, cases[name], outcome="contacted", at=Stage.DIRECT)
        propose(store, cases[name], "normal_management")
        file_all_materials(store, cases[name])
        approve_open(store, cases[name])
    with store.reading() as s:
        groups = batch_groups(s, Actor("sec1", Channel.WEB, org_id="B1"), T0)
    assert groups == [{"title": "支委会研究同意", "body": "branch_committee", "body_label": "支委会", "org_id": "B1",
                       "count": 2}]
