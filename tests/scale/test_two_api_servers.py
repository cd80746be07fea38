"""Cases progress on Prefect's multi-server set-up, started by the command an operator uses: `lostcontact up
--api-servers 2 --runners 2`: two API servers (`--no-services`) on one PostgreSQL database, one background-services
process, Redis for messaging (prefect-redis), and two case runner processes, each talking to its own API server.
A campaign opens the cases, both runners take the runs to their first suspend, then two rounds of decisions (each
sent twice, as a retried request would be) move every case on; afterwards nothing is lost or duplicated, in the store
or in Prefect, and SIGTERM stops the whole set-up. About a minute and a half on a busy 2-core machine."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select

from casework import runs
from casework.search import record_attempt
from deploy.server import free_port, healthy
from models.codes import STAGE_ORDER
from models.position import base_key, pause_key
from models.store import AuditEvent, Case, Notification, OutboxRow, Attempt, Step
from tests.casework.drive import add_member, start
from tests.conftest import PG_URL

pytestmark = pytest.mark.postgres

CASES = 30
ROUNDS = 2  # decisions per case after its first suspend: 1 + ROUNDS segments per run


RUNNERS = ("up-0", "up-1")  # deploy/up.py names runner i "up-i" and puts it on API server i mod 2


def two_free_ports() -> int:
    """A port P with P + 1 free too (`up` puts its API servers on consecutive ports)."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no two consecutive free ports")


def serving(runner_id: str) -> bool:
    """The runner's LISTEN connection to the case store is open (its connections carry its id: PGAPPNAME)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query LIKE 'LISTEN %%'",
                            (runner_id,)).fetchone() is not None


def wait_for(what, condition, up: subprocess.Popen, log, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert up.poll() is None, f"lostcontact up exited ({up.returncode}) before {what}: " + log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s; " + log.read_text()[-3000:]
        time.sleep(0.3)


def wait_drained(store, up: subprocess.Popen, log, timeout: float = 150) -> None:
    wait_for("the outbox drained", lambda: runs.pending_count(store) == 0, up, log, timeout)


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


def test_two_api_servers_two_runners_nothing_lost_or_duplicated(redis_server, prefect_db, pg_orgs, tmp_path):
    store = pg_orgs
    port = two_free_ports()
    server_a, server_b = (f"http://127.0.0.1:{p}/api" for p in (port, port + 1))
    env = {**os.environ, "LOSTCONTACT_DB_URL": store.url, "LOSTCONTACT_ARCHIVE_DIR": str(tmp_path / "archive"),
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    log = tmp_path / "up.log"
    with open(log, "ab") as out:
        up = subprocess.Popen([str(Path(sys.executable).parent / "lostcontact"), "up", "--api-servers", "2",
                               "--runners", "2", "--threads", "4", "--port", str(port), "--web-port", "0", "--home",
                               str(tmp_path / "prefect"), "--prefect-db", prefect_db, "--redis-url", redis_server.url],
                              env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for("both API servers answer", lambda: healthy(server_a) and healthy(server_b), up, log)
        for runner_id in RUNNERS:  # both idle and listening before the campaign: the work is theirs to share
            wait_for(f"runner {runner_id} serves", lambda: serving(runner_id), up, log)
        for i in range(CASES):
            add_member(store, name=f"成员{i:02d}", branch="B1")
        case_ids = start(store, campaign_id=f"S{uuid.uuid4().hex[:6]}").case_ids
        assert len(case_ids) == CASES
        wait_drained(store, up, log)
        for round_ in range(ROUNDS):
            with ThreadPoolExecutor(8) as pool:  # every decision sent twice at once, as a double submission would
                answers = list(pool.map(lambda c: decide(store, c, round_), [c for c in case_ids for _ in "12"]))
            assert all(a.open_step for a in answers)
            assert sum(a.replayed for a in answers) == CASES  # each decision's second sending answered, not applied
            wait_drained(store, up, log)
        check_store(store, case_ids)
        check_prefect(store, case_ids, server_a, server_b)
        up.send_signal(signal.SIGTERM)  # the operator's Ctrl-C: everything it started stops with it
        assert up.wait(90) == 0, log.read_text()[-3000:]
        assert not healthy(server_a) and not healthy(server_b)
        assert not any(serving(r) for r in RUNNERS)
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()


def check_store(store, case_ids) -> None:
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
        assert set(by_runner) == set(RUNNERS), by_runner  # both API servers carried runs
        # No duplicate notifications: one message per step and person.
        notes = s.scalar(select(func.count()).select_from(Notification))
        assert notes == s.scalar(select(func.count(func.distinct(Notification.dedupe_key))))
        assert s.scalar(select(func.count()).select_from(Step)) >= CASES * (1 + ROUNDS)


def check_prefect(store, case_ids, server_a: str, server_b: str) -> None:
    with store.reading() as s:
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
