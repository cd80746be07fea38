"""Issue 21 point 1: the Prefect server's scheduler gives our cron deployments their runs, on SQLite and PostgreSQL.

With SQLAlchemy 2.1 beside Prefect 3.8.8 the scheduler failed on every loop (`Can't evaluate bulk DML statement`, see
../shared/PREFECT.md) while registering a deployment still succeeded: the daily sweep and the quarterly statistics
never ran and nothing looked wrong. This test starts a real server with its scheduler on, registers our deployments
with their schedules and a per-minute cron probe, and waits (at most a minute) for scheduled runs of each."""
from __future__ import annotations

import os
import time

import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterState,
                                            FlowRunFilterStateType)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.schedules import CronSchedule
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_API_URL, temporary_settings

from deploy.server import PrefectServer, drop_pg_database, ensure_pg_database
from caserunner.deployments import apply_deployments
from tests.conftest import PG_URL

WAIT_SECONDS = 60


@flow(name="schedule-probe")
def probe() -> None:
    """Never executed: only its deployment's schedule is watched."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scheduling_server(request, tmp_path, monkeypatch):
    # The scheduler looks at newly changed deployments every 5 s by default; 2 s keeps the test short.
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS", "2")
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "5")
    db_name = f"prefect_sched_{os.getpid()}"
    database_url = None
    if request.param == "postgres":
        drop_pg_database(PG_URL, db_name)
        database_url = ensure_pg_database(PG_URL, db_name)
    server = PrefectServer(home=tmp_path / "prefect", database_url=database_url, scheduler=True).start()
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
        EventsWorker.drain_all(timeout=10)
    finally:
        server.stop()
        if request.param == "postgres":
            drop_pg_database(PG_URL, db_name)


def scheduled_runs(client, deployment_id) -> int:
    return len(client.read_flow_runs(
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])), limit=50))


def test_cron_deployments_get_scheduled_runs_from_the_server(scheduling_server):
    apply_deployments(with_schedules=True, statistics_orgs=["TOWN"])
    probe.to_deployment(name="every-minute", schedules=[CronSchedule(cron="* * * * *", timezone="Asia/Shanghai")]) \
        .apply()
    with get_client(sync_client=True) as client:
        ids = {name: client.read_deployment_by_name(name).id
               for name in ("sweep/daily", "statistics/quarterly", "schedule-probe/every-minute")}
        deadline = time.monotonic() + WAIT_SECONDS
        counts = {}
        while time.monotonic() < deadline:
            counts = {name: scheduled_runs(client, did) for name, did in ids.items()}
            if all(counts.values()):
                break
            time.sleep(1)
    log = scheduling_server.log_path.read_text(errors="replace")
    assert "Can't evaluate bulk DML" not in log, log[-2000:]
    assert all(counts.values()), f"no scheduled runs within {WAIT_SECONDS}s: {counts}; server log: {log[-2000:]}"
    assert counts["schedule-probe/every-minute"] >= 3  # the scheduler keeps at least three runs ahead
