"""The campaign flow: from a roster and a start date, open the cases, put their first steps in the inboxes, create
their case runs in bulk, and schedule the phase deadlines. It does not wait for the runs: the case runner takes each
one to its first suspend, and the deadline runs watch the phases."""
from __future__ import annotations

from prefect import flow

from tasks.campaign_tasks import create_case_runs, open_cases, schedule_phase_deadlines


@flow(name="campaign", persist_result=True, log_prints=False)
def campaign_flow(campaign_id: str, org_id: str, name: str, start_date: str, actor_id: str,
                  phases: dict[str, str] | None = None) -> dict:
    opened = open_cases(campaign_id, org_id, name, start_date, actor_id, phases)
    created = create_case_runs(opened["case_ids"])
    deadlines = schedule_phase_deadlines(campaign_id)
    return {**opened, "runs_created": created, "deadlines": deadlines}
