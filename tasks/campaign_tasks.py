"""Tasks of the campaign flow: open the cases in the store, create their case runs in bulk, schedule the phase
deadlines. Each is safe to repeat: the campaign is keyed by its request ID, a case run by its case, a follow-up run
by its follow-up."""
from __future__ import annotations

from prefect import get_client, task

from casework import runs
from casework.campaigns import start_campaign
from casework.db import shared_store
from models.timing import utcnow

from . import prefect_api
from .case_tasks import sync_followup_runs
from .common import QUIET


@task(name="open-cases", **QUIET)
def open_cases(campaign_id: str, org_id: str, name: str, start_date: str, actor_id: str,
               phases: dict[str, str] | None) -> dict:
    return start_campaign(shared_store(), request_id=f"campaign:{campaign_id}", actor_id=actor_id, now=utcnow(),
                          campaign_id=campaign_id, org_id=org_id, name=name, start_date=start_date,
                          phases=phases).model_dump(mode="json")  # the view's JSON: a flow's result is plain data


@task(name="create-case-runs", retries=2, retry_delay_seconds=5, **QUIET)
def create_case_runs(case_ids: list[str]) -> int:
    """Bulk-create the case runs (idempotent: one run per case, by key) and record them on the cases."""
    store = shared_store()
    with store.reading() as s:
        infos = [i for i in runs.run_infos(s, case_ids) if i.flow_run_id is None]
    specs = [prefect_api.case_run_spec(i) for i in infos]
    with get_client(sync_client=True) as client:
        ids = prefect_api.create_case_runs_bulk(client, specs)
        for n, (info, run_id) in enumerate(zip(infos, ids)):
            if run_id is None:  # refused in bulk (e.g. already created): the single call returns the existing run
                ids[n] = str(prefect_api.create_case_run(client, specs[n]).id)
    runs.attach_flow_runs(store, {i.case_id: str(r) for i, r in zip(infos, ids)})
    return len(infos)


@task(name="schedule-phase-deadlines", **QUIET)
def schedule_phase_deadlines(campaign_id: str) -> dict:
    with shared_store().reading() as s:
        return sync_followup_runs(runs.followups_to_sync(s, campaign_id=campaign_id))
