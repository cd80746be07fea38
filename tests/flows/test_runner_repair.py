"""The runner under failure: killed with SIGKILL mid-drain and repaired on restart, a run lost from the server and
replayed by the repair sweep, several runners sharing one outbox."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from sqlalchemy import func, select

from casework import runs
from tasks.repair import repair_sweep
from caserunner.runner import CaseRunner
from models.position import base_key, pause_key
from models.store import AuditEvent, Case, Notification, OutboxRow, Step
from models.timing import utcnow
from tests.casework.drive import add_member, start

ROOT = Path(__file__).resolve().parents[2]


def open_cases(store, n: int) -> list[str]:
    for i in range(n):
        add_member(store, name=f"成员{i:02d}", branch="B1" if i % 2 else "B2")
    return start(store, campaign_id=f"R{uuid.uuid4().hex[:6]}").case_ids


def pending(store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_(None)))


def assert_all_in_step(store, case_ids) -> None:
    with store.reading() as s:
        expected = {cid: (s.get(Case, cid).flow_run_id, runs.position(s, cid).wait_key) for cid in case_ids}
    with get_client(sync_client=True) as client:
        for cid, (run_id, key) in expected.items():
            state = client.read_flow_run(UUID(run_id)).state
            assert state.is_paused() and base_key(state.state_details.pause_key) == pause_key(key), (cid, state)


def snapshot(store) -> tuple:
    """Every decision and every message on record: none may be lost or made twice."""
    with store.reading() as s:
        return (s.scalar(select(func.count()).select_from(AuditEvent)),
                s.scalar(select(func.count()).select_from(Step)),
                s.scalar(select(func.count()).select_from(Notification)),
                s.scalar(select(func.count(func.distinct(Notification.dedupe_key)))))


def start_runner(store, prefect, runner_id: str, threads: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": prefect.api_url, "LOSTCONTACT_DB_URL": store.url,
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "caserunner", "--id", runner_id, "--threads", str(threads)],
                            cwd=ROOT, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def test_sigkill_mid_drain_is_repaired_on_restart(store, prefect, orgs, tmp_path):
    case_ids = open_cases(store, 12)
    before = snapshot(store)
    threads = 1 if store.is_sqlite else 4
    runner = start_runner(store, prefect, "victim", threads, tmp_path / "runner.log")
    deadline = time.monotonic() + 120
    while pending(store) > 9 and time.monotonic() < deadline:  # some segments done, most not
        time.sleep(0.05)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    assert 0 < pending(store), "the runner finished before it could be killed mid-drain"
    restarted = start_runner(store, prefect, "victim", threads, tmp_path / "runner.log")
    try:
        deadline = time.monotonic() + 180
        while pending(store) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pending(store) == 0, (tmp_path / "runner.log").read_text()[-3000:]
    finally:
        restarted.terminate()
        restarted.wait(30)
    assert_all_in_step(store, case_ids)
    audit, steps, notes, distinct = snapshot(store)
    assert (audit, steps) == before[:2]  # no decision lost or made twice: the store alone holds them
    assert notes == distinct  # one message per step and person, even for the segment cut off by the kill


def test_run_lost_with_the_server_is_replayed_by_repair(store, prefect, orgs):
    case_ids = open_cases(store, 3)
    runner = CaseRunner(store, runner_id="r1", threads=1)
    runner.drain()
    with store.reading() as s:
        lost = s.get(Case, case_ids[0]).flow_run_id
    with get_client(sync_client=True) as client:
        client.delete_flow_run(UUID(lost))
    report = repair_sweep(store, now=utcnow())
    assert (report["requeued"], report["lost_runs"]) == (1, 1)
    runner.drain()
    with store.reading() as s:
        assert s.get(Case, case_ids[0]).flow_run_id not in (None, lost)
    assert_all_in_step(store, case_ids)
    assert repair_sweep(store, now=utcnow())["requeued"] == 0
    runner.close()


@pytest.mark.postgres
def test_two_runners_share_one_outbox(store, prefect, orgs):
    if store.is_sqlite:
        pytest.skip("several runners are for PostgreSQL; SQLite serves one")
    case_ids = open_cases(store, 16)
    a = CaseRunner(store, runner_id="a", threads=2)  # each claims up to 8 cases at a time
    b = CaseRunner(store, runner_id="b", threads=2)
    errors = []

    def go(r):
        try:
            r.drain(timeout=180)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and a.errors == b.errors == 0
    assert a.segments + b.segments == len(case_ids)  # each case advanced once, by one of them
    assert_all_in_step(store, case_ids)
    a.close(), b.close()


@pytest.mark.postgres
def test_a_second_claimer_takes_what_the_first_had_no_room_for(store, orgs):
    """Claims partition the backlog: while one runner holds its cases, another takes the next ones at once, and a
    case held by one is never given to the other, even when new rows arrive for it."""
    if store.is_sqlite:
        pytest.skip("several runners are for PostgreSQL; SQLite serves one")
    case_ids = open_cases(store, 12)
    now = utcnow()
    first = runs.claim(store, "a", limit=5, now=now)
    runs.requeue(store, [first[0].case_id], reason="test: a decision while runner a works", now=now)
    second = runs.claim(store, "b", limit=10, now=now)
    taken_a, taken_b = {c.case_id for c in first}, {c.case_id for c in second}
    assert len(taken_a) == 5 and len(taken_b) == 7
    assert taken_a | taken_b == set(case_ids) and not taken_a & taken_b
    assert runs.claim(store, "c", limit=10, now=now) == []  # the new row waits for runner a to finish its case
    runs.finish(store, first[0].outbox_ids, now=now)
    (again,) = runs.claim(store, "c", limit=10, now=now)
    assert again.case_id == first[0].case_id and again.events == ("repair",)


def test_campaign_flow_creates_runs_in_bulk_and_the_runner_takes_each_to_its_first_suspend(store, prefect, orgs):
    from flows.campaign import campaign_flow

    for i in range(5):
        add_member(store, name=f"批量{i}", branch="B1" if i % 2 else "B2")
    result = campaign_flow(campaign_id="BULK", org_id="TOWN", name="集中排查", start_date="2026-03-07",
                           actor_id="town_sec", phases={"search": "2026-03-31"})
    assert result["cases_opened"] == result["runs_created"] == 5
    with store.reading() as s:
        run_ids = {cid: s.get(Case, cid).flow_run_id for cid in result["case_ids"]}
    with get_client(sync_client=True) as client:
        created = {cid: client.read_flow_run(UUID(rid)) for cid, rid in run_ids.items()}
    assert all(r.state.is_scheduled() for r in created.values())  # created, not yet executed
    assert all(r.name.startswith(f"{cid} 批量") and "campaign:BULK" in r.tags for cid, r in created.items())
    runner = CaseRunner(store, runner_id="bulk", threads=1 if store.is_sqlite else 4)
    runner.drain()
    runner.close()
    assert runner.segments == 5 and runner.errors == 0
    with store.reading() as s:  # the runs it executed are the ones the campaign created: no second run per case
        assert {cid: s.get(Case, cid).flow_run_id for cid in run_ids} == run_ids
    assert_all_in_step(store, result["case_ids"])
    again = campaign_flow(campaign_id="BULK", org_id="TOWN", name="集中排查", start_date="2026-03-07",
                          actor_id="town_sec", phases={"search": "2026-03-31"})
    assert again["runs_created"] == 0  # a repeated campaign start is answered, and creates no runs


def test_failed_and_finished_runs_behind_the_store_are_replayed(store, prefect, orgs):
    """A run that failed re-executes from the top and suspends where the store stands; a run that completed although
    the store still waits cannot go on, so the case gets a new run (a new idempotency key, not the old run back)."""
    from prefect.states import Completed, Failed

    failed, finished = open_cases(store, 2)
    runner = CaseRunner(store, runner_id="replay", threads=1)
    runner.drain()
    with store.reading() as s:
        before = {cid: s.get(Case, cid).flow_run_id for cid in (failed, finished)}
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(before[failed]), Failed(message="test: an outage"), force=True)
        client.set_flow_run_state(UUID(before[finished]), Completed(message="test: ended early"), force=True)
    assert repair_sweep(store, now=utcnow())["requeued"] == 2
    runner.drain()
    runner.close()
    with store.reading() as s:
        after = {cid: s.get(Case, cid).flow_run_id for cid in (failed, finished)}
    assert after[failed] == before[failed]
    assert after[finished] not in (None, before[finished])
    assert_all_in_step(store, [failed, finished])
    assert repair_sweep(store, now=utcnow())["requeued"] == 0


@pytest.mark.postgres
def test_an_idle_runner_on_postgres_is_woken_by_the_commit_not_its_poll(store, prefect, orgs):
    """With a poll ten minutes apart, only the commit's signal can bring the runner to the new cases in time."""
    if store.is_sqlite:
        pytest.skip("SQLite has no notification channel: the embedded runner polls")
    runner = CaseRunner(store, runner_id="woken", threads=2, poll_seconds=600)
    stop = threading.Event()
    serving = threading.Thread(target=runner.serve, args=(stop,), daemon=True)
    serving.start()
    time.sleep(1)  # the runner has found the outbox empty and waits
    case_ids = open_cases(store, 3)
    deadline = time.monotonic() + 120
    while pending(store) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    serving.join(30)
    runner.close()
    assert not serving.is_alive()  # stop is seen within a second although the poll is ten minutes
    assert pending(store) == 0 and runner.segments == 3 and runner.errors == 0
    assert_all_in_step(store, case_ids)
