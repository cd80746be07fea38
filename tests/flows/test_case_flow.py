"""Real case flow runs on a real Prefect server, executed by our case runner: every human step is a real suspend,
every resume goes through casework and the runner, and no resume repeats a side effect. On SQLite with one runner
thread, and on PostgreSQL with several threads."""
from __future__ import annotations

import datetime as dt
import uuid
from uuid import UUID

import pytest
from dateutil.relativedelta import relativedelta
from prefect import get_client
from sqlalchemy import func, select

from casework import runs
from casework.followups import fire_due
from caserunner.runner import CaseRunner
from models.catalogue import Disposition, procedure
from models.codes import Stage, StepKind
from models.position import base_key, pause_key
from models.store import Case, FollowUp, OutboxRow
from tests.casework.drive import (add_member, approve_open, case_of, file_all_materials, open_step, propose, search,
                                  start)
from tests.conftest import T0


@pytest.fixture
def runner(store, prefect, orgs):
    r = CaseRunner(store, runner_id=f"test-{uuid.uuid4().hex[:6]}", threads=1 if store.is_sqlite else 4)
    yield r
    r.close()


def new_case(store, **member) -> str:
    mid = add_member(store, name=member.pop("name", "王五"), **member)
    start(store, campaign_id=f"K{uuid.uuid4().hex[:6]}")
    return case_of(store, mid)


def run_of(store, case_id: str):
    with store.reading() as s:
        run_id = s.get(Case, case_id).flow_run_id
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def assert_suspended_on_store_step(store, case_id: str) -> str:
    """The run is Suspended (a real suspend, no process held) on exactly the step the store shows."""
    run = run_of(store, case_id)
    step = open_step(store, case_id)
    with store.reading() as s:
        expected = runs.position(s, case_id).wait_key
    assert run.state.is_paused() and run.state.name == "Suspended", run.state
    assert base_key(run.state.state_details.pause_key) == pause_key(expected)
    if step is not None:
        assert expected == step.id
    return expected


def test_four_stages_to_suspension_every_wait_a_suspend(store, runner):
    cid = new_case(store)
    runner.drain()
    run = run_of(store, cid)
    assert run.name == f"{cid} 王五"
    assert {"branch:B1", "base:TOWN"} <= set(run.tags) and any(t.startswith("campaign:") for t in run.tags)
    keys = [assert_suspended_on_store_step(store, cid)]
    from casework.search import record_attempt
    for stage in (Stage.DIRECT, Stage.NETWORK, Stage.DEPARTMENT, Stage.OTHER):
        actor = "town_staff" if stage is Stage.DEPARTMENT else "sec1"
        record_attempt(store, actor_id=actor, now=T0, case_id=cid, stage=stage.value, method=stage.methods[0],
                       description="未果", witness="李四", outcome="not_found")
        runner.drain()
        keys.append(assert_suspended_on_store_step(store, cid))
    propose(store, cid, "suspend_unreachable", conduct="")
    file_all_materials(store, cid)
    runner.drain()
    keys.append(assert_suspended_on_store_step(store, cid))
    for _ in procedure(Disposition.SUSPEND_UNREACHABLE).steps:
        approve_open(store, cid)
        runner.drain()
        keys.append(assert_suspended_on_store_step(store, cid))
    assert len(set(keys)) == len(keys) == 1 + 4 + 1 + 3  # a distinct suspend for every human step, then idle
    assert keys[-1].startswith("after:")  # suspended membership: the run waits for the follow-ups
    with store.reading() as s:
        assert s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_(None))) == 0


def test_longest_chain_and_no_side_effect_repeated(store, runner):
    from models.store import Notification

    cid = new_case(store)
    search(store, cid, outcome="contacted", at=Stage.DIRECT)
    propose(store, cid, "persuade_withdraw", grounds="以退党相要挟，经教育不改")
    file_all_materials(store, cid)
    runner.drain()
    steps = procedure(Disposition.PERSUADE_WITHDRAW).steps
    assert len(steps) == 7
    seen_bodies = []
    for spec in steps:
        assert_suspended_on_store_step(store, cid)
        seen_bodies.append(open_step(store, cid).body)
        # Resumes that bring no news (a repair replaying a position the run already holds) repeat nothing.
        with store.reading() as s:
            sent_before = s.scalar(select(func.count()).select_from(Notification))
        runs.requeue(store, [cid], reason="test: spurious resume", now=T0)
        runner.drain()
        assert_suspended_on_store_step(store, cid)
        with store.reading() as s:
            assert s.scalar(select(func.count()).select_from(Notification)) == sent_before
        approve_open(store, cid)
        runner.drain()
    assert [b.level.value for b in seen_bodies].count("upper_department") == 2
    run = run_of(store, cid)
    assert run.state.is_completed()
    from models.store import Step
    from notifications.dispatch import waits_on
    with store.reading() as s:
        per_step = dict(s.execute(select(Notification.step_id, func.count()).group_by(Notification.step_id)).all())
        for step in s.scalars(select(Step).where(Step.case_id == cid, Step.kind == StepKind.REVIEW)):
            assert per_step[step.id] == len(waits_on(s, step)) > 0  # each person the step waited on, once


def test_two_year_review_scheduled_exactly_fires_once_and_restoration_cancels(store, runner):
    suspended = new_case(store, name="甲")
    restored = new_case(store, name="乙")
    effective = {}
    for cid in (suspended, restored):
        search(store, cid, outcome="not_found")
        propose(store, cid, "suspend_unreachable", conduct="")
        file_all_materials(store, cid)
        approve_open(store, cid)
        effective[cid] = T0 + dt.timedelta(days=2)
        approve_open(store, cid, now=effective[cid])
        approve_open(store, cid, now=effective[cid])
    runner.drain()
    with store.reading() as s:
        follow = {f.case_id: f for f in s.scalars(select(FollowUp).where(FollowUp.case_id.is_not(None)))}
    with get_client(sync_client=True) as client:
        for cid in (suspended, restored):
            f = follow[cid]
            assert f.due_at == effective[cid] + relativedelta(years=2)
            prefect_run = client.read_flow_run(UUID(f.flow_run_id))
            assert prefect_run.state.is_scheduled()
            assert prefect_run.state.state_details.scheduled_time == f.due_at
    propose(store, restored, "restore_membership", grounds="本人书面申请恢复党籍",
            now=effective[restored] + relativedelta(months=8))
    runner.drain()
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(UUID(follow[restored].flow_run_id)).state.is_cancelled()
    moved = T0 + relativedelta(years=2, days=10)
    fired = [f for f in fire_due(store, moved) if f.kind == "two_year_review"]
    assert [(f.fired, f.case.case_id) for f in fired] == [(True, suspended)]
    assert [f for f in fire_due(store, moved) if f.kind == "two_year_review"] == []
    runner.drain()
    step = open_step(store, suspended)
    assert step.kind is StepKind.REVIEW and step.title == procedure(Disposition.REMOVAL_AFTER_SUSPENSION).steps[0].title
    assert_suspended_on_store_step(store, suspended)
    with get_client(sync_client=True) as client:  # the scheduled run will not fire it a second time
        assert client.read_flow_run(UUID(follow[suspended].flow_run_id)).state.is_cancelled()


def test_followup_run_and_sweep_fire_exactly_once(store, runner):
    from flows.followups import daily_sweep, followup_flow

    cid = new_case(store)
    search(store, cid, outcome="contacted", at=Stage.DIRECT)
    propose(store, cid, "correct_in_time", correction_months=1)
    for _ in range(5):
        file_all_materials(store, cid) if _ == 0 else None
        approve_open(store, cid)
    runner.drain()
    with store.reading() as s:
        (f,) = s.scalars(select(FollowUp).where(FollowUp.case_id == cid)).all()
    later = (T0 + relativedelta(months=1, days=1)).isoformat()
    first = followup_flow(f.id, now=later)
    again = followup_flow(f.id, now=later)
    assert first["fired"] is True and again == {**first, "replayed": True}  # answered, not fired twice
    daily_sweep(now=later)  # the sweep finds it already fired (it may fire the campaign's phase deadlines)
    with store.reading() as s:
        again_row = s.get(FollowUp, f.id)
        assert again_row.status.value == "fired" and again_row.fired_at is not None
    runner.drain()
    assert open_step(store, cid).kind is StepKind.JUDGEMENT
    assert_suspended_on_store_step(store, cid)
