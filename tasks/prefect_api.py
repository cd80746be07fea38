"""The few Prefect API calls our code makes, in one place: deployments by name, case runs (one, or in bulk), follow-up
runs scheduled years ahead, cancelling a scheduled run. Idempotency keys make every creation safe to repeat."""
from __future__ import annotations

import datetime as dt
import threading
from uuid import UUID, uuid4

from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelled, Scheduled

CASE_DEPLOYMENT = "case/case"
FOLLOWUP_DEPLOYMENT = "followup/followup"
SWEEP_DEPLOYMENT = "sweep/daily"
STATISTICS_DEPLOYMENT = "statistics/quarterly"
BULK_LIMIT = 100  # the server's limit per bulk call

_deployments: dict[tuple[str, str], UUID] = {}
_lock = threading.Lock()


def deployment_id(name: str, client=None) -> UUID:
    key = (str(PREFECT_API_URL.value()), name)
    with _lock:
        if key in _deployments:
            return _deployments[key]
    if client is None:
        with get_client(sync_client=True) as c:
            dep = c.read_deployment_by_name(name)
    else:
        dep = client.read_deployment_by_name(name)
    with _lock:
        _deployments[key] = dep.id
    return dep.id


def forget_deployments() -> None:
    """After deployments were (re)applied, e.g. to a new server."""
    with _lock:
        _deployments.clear()


def case_run_spec(info, *, fresh: bool = False) -> dict:
    """How a case's run is named and tagged, so a person recognises it in the Prefect UI: case number and member
    name; campaign, branch and base committee as tags. `info` is a `casework.runs.CaseRunInfo`. The idempotency key
    makes a repeated creation return the case's run; `fresh` asks for a new run where that one cannot go on."""
    case_id, member_name, campaign_id = info.case_id, info.member_name, info.campaign_id
    branch_id, base_committee_id = info.branch_id, info.base_committee_id
    tags = [f"branch:{branch_id}"]
    if campaign_id:
        tags.append(f"campaign:{campaign_id}")
    if base_committee_id:
        tags.append(f"base:{base_committee_id}")
    return {"name": f"{case_id} {member_name}", "parameters": {"case_id": case_id, "member_name": member_name},
            "tags": tags, "idempotency_key": f"{info.installation}:case:{case_id}" + (f":{uuid4().hex}" if fresh else "")}


def create_case_run(client, spec: dict) -> FlowRun:
    return client.create_flow_run_from_deployment(deployment_id(CASE_DEPLOYMENT, client), **spec)


def create_case_runs_bulk(client, specs: list[dict]) -> list[str | None]:
    """Create many case runs, 100 per call (POST /deployments/{id}/create_flow_run/bulk, which the 3.8.8 client does
    not wrap). Returns the run IDs in the order given; None where the server refused one."""
    dep = deployment_id(CASE_DEPLOYMENT, client)
    ids: list[str | None] = []
    for i in range(0, len(specs), BULK_LIMIT):
        chunk = specs[i:i + BULK_LIMIT]
        response = client._client.post(f"/deployments/{dep}/create_flow_run/bulk", json=chunk)
        response.raise_for_status()
        ids.extend(r.get("flow_run_id") for r in response.json()["results"])
    return ids


def schedule_followup_run(installation: str, followup_id: str, due_at: dt.datetime) -> str:
    """A run of the follow-up deployment at the due time: no upper limit, years ahead is fine (PREFECT.md)."""
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(
            deployment_id(FOLLOWUP_DEPLOYMENT, client), parameters={"followup_id": followup_id},
            state=Scheduled(scheduled_time=due_at), name=f"follow-up {followup_id}",
            idempotency_key=f"{installation}:followup:{followup_id}", tags=["follow-up"])
    return str(run.id)


def cancel_if_scheduled(flow_run_id: str) -> int:
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(UUID(flow_run_id))
        except ObjectNotFound:
            return 0
        if run.state and run.state.is_scheduled():
            client.set_flow_run_state(run.id, Cancelled(message="follow-up settled in the case store"), force=True)
            return 1
    return 0
