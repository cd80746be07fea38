"""What the case runner keeps of a run in Prefect, however few API calls it makes: the run's name and tags, its state
history in order (start, a suspend per human step, each resume, completion), every suspend with the schema of the
input it waits for, one Running per segment (resumes are not counted as retries), and a follow-up run
Scheduled at its due time. Read back from the Prefect server, as the UI reads it."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from uuid import UUID

import pytest
from dateutil.relativedelta import relativedelta
from prefect import get_client
from prefect.client.schemas.objects import StateType
from prefect.input.run_input import keyset_from_paused_state
from sqlalchemy import select

from caserunner.runner import CaseRunner
from models.catalogue import Disposition, procedure
from models.codes import Stage
from models.store import Case, FollowUp
from tests.casework.drive import add_member, approve_open, case_of, file_all_materials, propose, search, start
from tests.conftest import T0


@pytest.fixture
def runner(store, prefect, orgs):
    r = CaseRunner(store, runner_id=f"test-{uuid.uuid4().hex[:6]}", threads=1 if store.is_sqlite else 4)
    yield r
    r.close()


def new_case(store, name: str) -> str:
    mid = add_member(store, name=name)
    start(store, campaign_id=f"P{uuid.uuid4().hex[:6]}")
    return case_of(store, mid)


def run_id_of(store, case_id: str) -> UUID:
    with store.reading() as s:
        return UUID(s.get(Case, case_id).flow_run_id)


def history(client, run_id: UUID) -> list[tuple[StateType, str]]:
    states = sorted(client.read_flow_run_states(run_id), key=lambda st: st.timestamp)
    return [(st.type, st.name) for st in states]


def assert_waits_with_its_input_schema(client, run_id: UUID) -> None:
    state = client.read_flow_run(run_id).state
    assert state.type is StateType.PAUSED and state.name == "Suspended"
    schema = json.loads(client.read_flow_run_input(run_id, keyset_from_paused_state(state)["schema"]))
    assert {"event", "outbox_ids"} <= set(schema["properties"])  # what the UI's resume form asks for


def test_a_run_in_prefect_shows_its_name_tags_and_every_segment_in_order(store, runner):
    cid = new_case(store, "赵六")
    search(store, cid, outcome="contacted", at=Stage.DIRECT)
    propose(store, cid, "persuade_withdraw", grounds="以退党相要挟，经教育不改")
    file_all_materials(store, cid)
    runner.drain()
    run_id = run_id_of(store, cid)
    segments = 1
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.name == f"{cid} 赵六"
        assert {"branch:B1", "base:TOWN", "lostcontact"} <= set(run.tags)
        assert any(t.startswith("campaign:") for t in run.tags)
        assert run.deployment_id is not None  # a run of the case deployment, as the UI lists it
        assert_waits_with_its_input_schema(client, run_id)
        counts = []
        for _ in procedure(Disposition.PERSUADE_WITHDRAW).steps:
            approve_open(store, cid)
            runner.drain()
            segments += 1
            run = client.read_flow_run(run_id)
            counts.append(run.run_count)
            if run.state.type is not StateType.COMPLETED:
                assert_waits_with_its_input_schema(client, run_id)
        assert run.state.type is StateType.COMPLETED
        # Resumes are not retries: Prefect counts one attempt more at the first Suspended → Running (its resuming
        # mark is set after that transition is counted) and none at any later resume.
        assert counts == [2] * len(counts)
        got = history(client, run_id)
    # Created Scheduled, then per segment Running and (but the last) Suspended, then Completed: the UI's timeline.
    assert got[0][0] is StateType.SCHEDULED
    assert got[1:] == [(StateType.RUNNING, "Running"), (StateType.PAUSED, "Suspended")] * (segments - 1) + [
        (StateType.RUNNING, "Running"), (StateType.COMPLETED, "Completed")]


def test_a_follow_up_run_is_scheduled_at_its_due_time(store, runner):
    cid = new_case(store, "钱七")
    search(store, cid, outcome="not_found")
    propose(store, cid, "suspend_unreachable", conduct="")
    file_all_materials(store, cid)
    approve_open(store, cid)
    effective = T0 + dt.timedelta(days=2)
    approve_open(store, cid, now=effective)
    approve_open(store, cid, now=effective)
    runner.drain()
    with store.reading() as s:
        (f,) = s.scalars(select(FollowUp).where(FollowUp.case_id == cid)).all()
    assert f.due_at == effective + relativedelta(years=2)
    with get_client(sync_client=True) as client:
        follow_up = client.read_flow_run(UUID(f.flow_run_id))
        assert follow_up.state.type is StateType.SCHEDULED
        assert follow_up.state.state_details.scheduled_time == f.due_at
        assert follow_up.deployment_id is not None and "follow-up" in follow_up.tags
        # The case's own run waits for the follow-up, suspended with its input schema.
        assert_waits_with_its_input_schema(client, run_id_of(store, cid))
