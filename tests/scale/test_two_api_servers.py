"""Cases progress on Prefect's multi-server set-up: two API servers (`--no-services`) on one PostgreSQL database, one
background-services process, Redis for messaging (prefect-redis), and two case runner processes, each talking to its
own API server. A campaign opens the cases, both runners take the runs to their first suspend, then two rounds of
decisions (each sent twice, as a retried request) move every case on; afterwards nothing is lost or duplicated, in
the store or in Prefect. About a minute: the set-up starts once for the module (migrations, three Prefect processes),
the two runners once for the test."""
from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select

from casework import runs
from casework.search import record_attempt
from caserunner.deployments import apply_deployments
from deploy.cluster import RunnerProcess
from models.codes import STAGE_ORDER
from models.position import base_key, pause_key
from models.store import AuditEvent, Case, Notification, OutboxRow, Attempt, Step
from tests.casework.drive import add_member, start
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres

CASES = 30
ROUNDS = 2  # decisions per case after its first suspend: 1 + ROUNDS segments per run


def wait_drained(store, runners, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while runs.pending_count(store) and time.monotonic() < deadline:
        dead = [r.runner_id for r in runners if not r.alive()]
        assert not dead, f"runner(s) {dead} died: " + " ".join(r.log_path.read_text()[-2000:] for r in runners)
        time.sleep(0.2)
    assert runs.pending_count(store) == 0, "outbox not drained: " + runners[0].log_path.read_text()[-3000:]


def suspended_events(api_url: str, resource_ids: list[str]) -> Counter:
    """The flow-run Suspended events Prefect has persisted, by run (its events API; paged by `next_page`)."""
    body = {"filter": {"event": {"name": ["prefect.flow-run.Suspended"]}, "resource": {"id": resource_ids}},
            "limit": 50}  # the most a page holds
    page = httpx.post(f"{api_url}/events/filter", json=body, timeout=30).raise_for_status().json()
    events = list(page["events"])
    while page.get("next_page"):
        page = httpx.get(page["next_page"], timeout=30).raise_for_status().json()
        events += page["events"]
    return Counter(e["resource"]["prefect.resource.id"] for e in events)


def decide(store, case_id: str, round_: int):
    """One person's decision: the search stage of this round found nothing (the next stage opens)."""
    stage = STAGE_ORDER[round_]
    actor = "town_staff" if stage.value == "department" else "sec1"
    return record_attempt(store, actor_id=actor, request_id=f"scale:{case_id}:{round_}", case_id=case_id,
                          stage=stage.value, method=stage.methods[0], description=f"{stage.label}：未果",
                          witness="李四", outcome="not_found")


def test_two_api_servers_two_runners_nothing_lost_or_duplicated(cluster, pg_orgs, tmp_path):
    store = pg_orgs
    server_a, server_b = cluster.api_urls
    with temporary_settings(updates={PREFECT_API_URL: server_a}):
        apply_deployments(with_schedules=False)
    results, archive = tmp_path / "results", tmp_path / "archive"
    runners = [RunnerProcess(runner_id=f"scale-{i}", api_url=url, store_url=store.url, threads=4, results_dir=results,
                             log_path=tmp_path / f"runner-{i}.log", extra_env={"LOSTCONTACT_ARCHIVE_DIR": str(archive)})
               for i, url in enumerate((server_a, server_b))]
    try:
        for r in runners:
            r.start()
        for r in runners:  # both idle and listening before the campaign: the work is theirs to share
            r.wait_serving(PG_URL)
        for i in range(CASES):
            add_member(store, name=f"成员{i:02d}", branch="B1")
        case_ids = start(store, campaign_id=f"S{uuid.uuid4().hex[:6]}").case_ids
        assert len(case_ids) == CASES
        wait_drained(store, runners)
        for round_ in range(ROUNDS):
            with ThreadPoolExecutor(8) as pool:  # every decision sent twice at once, as a double submission would
                answers = list(pool.map(lambda c: decide(store, c[0], round_), [(c,) for c in case_ids for _ in "12"]))
            assert all(a.open_step for a in answers)
            assert sum(a.replayed for a in answers) == CASES  # each decision's second sending answered, not applied
            wait_drained(store, runners)
    finally:
        for r in runners:
            r.stop()

    with store.reading() as s:
        # Every decision applied once: one attempt per case and round, despite the double submissions.
        attempts = Counter(s.scalars(select(Attempt.case_id)))
        assert attempts == {cid: ROUNDS for cid in case_ids}
        assert s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "record_attempt")) == CASES * ROUNDS
        # Every outbox row (the case's opening, then one per decision) taken once, by one runner, without error.
        rows = s.execute(select(OutboxRow.case_id, OutboxRow.claimed_by, OutboxRow.tries, OutboxRow.last_error)).all()
        assert len(rows) == CASES * (1 + ROUNDS)
        assert {(r.tries, r.last_error) for r in rows} == {(1, None)}
        by_runner = Counter(r.claimed_by for r in rows)
        assert set(by_runner) == {"scale-0", "scale-1"}, by_runner  # both API servers carried runs
        # No duplicate notifications: one message per step and person.
        notes = s.scalar(select(func.count()).select_from(Notification))
        assert notes == s.scalar(select(func.count(func.distinct(Notification.dedupe_key))))
        assert s.scalar(select(func.count()).select_from(Step)) >= CASES * (1 + ROUNDS)
        expected = {cid: (s.get(Case, cid).flow_run_id, runs.position(s, cid).wait_key) for cid in case_ids}

    with temporary_settings(updates={PREFECT_API_URL: server_b}), get_client(sync_client=True) as client:
        # One case run each in Prefect, as many as the cases: no run created twice.
        assert client.count_flow_runs(deployment_filter=DeploymentFilter(
            name=DeploymentFilterName(any_=["case"]))) == CASES
        for cid, (run_id, key) in expected.items():
            # Suspended at the step the store shows ...
            state = client.read_flow_run(UUID(run_id)).state
            assert state.is_paused() and base_key(state.state_details.pause_key) == pause_key(key), (cid, state)
            # ... after exactly one execution per segment: the run entered Running once per start or resume.
            history = [st.type for st in client.read_flow_run_states(UUID(run_id))]
            assert history.count(StateType.RUNNING) == 1 + ROUNDS, (cid, history)
    # The runs' state events reached the database through Redis: the API servers publish each state change to the
    # Redis streams, and the event persister runs in the background-services process alone (it writes in batches).
    # One Suspended event per segment and run, none lost and none twice.
    expected_events = {f"prefect.flow-run.{run_id}": 1 + ROUNDS for run_id, _ in expected.values()}
    deadline = time.monotonic() + 60
    while True:
        got = suspended_events(server_a, list(expected_events))
        if got == expected_events or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == expected_events
    assert cluster.services.alive()
