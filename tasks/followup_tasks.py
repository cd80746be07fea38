"""Tasks of the follow-up, sweep and statistics flows. Firing is keyed by the follow-up in the store (its request
ID), so each fires exactly once whether its own run or the daily sweep gets there first."""
from __future__ import annotations

import os
from pathlib import Path

from prefect import task

from casework import runs
from casework.db import shared_store
from casework.followups import fire_due, fire_followup
from casework.queries import statistics
from models.statistics import broken_relations
from reports.export import statistics_filing

from .case_tasks import sync_followup_runs
from .common import QUIET, moment
from .repair import repair_sweep


@task(name="fire-follow-up", retries=2, retry_delay_seconds=5, **QUIET)
def fire(followup_id: str, now: str | None = None) -> dict:
    return fire_followup(shared_store(), request_id=f"fire:{followup_id}", now=moment(now),
                         followup_id=followup_id).model_dump(mode="json")  # the view's JSON: plain data for the flow


@task(name="fire-due-follow-ups", **QUIET)
def fire_due_followups(now: str | None) -> list[dict]:
    return [f.model_dump(mode="json") for f in fire_due(shared_store(), moment(now))]


@task(name="schedule-unscheduled-follow-ups", **QUIET)
def schedule_unscheduled() -> dict:
    """Follow-ups without a case run to schedule them (campaign deadlines, transfer receipts) get their runs here."""
    with shared_store().reading() as s:
        return sync_followup_runs(runs.followups_to_sync(s, unscheduled_only=True))


@task(name="repair-case-runs", **QUIET)
def repair(now: str | None) -> dict:
    return repair_sweep(shared_store(), now=moment(now))


@task(name="export-statistics", **QUIET)
def export_statistics(org_id: str, now: str | None) -> dict:
    """The statistics table of one base committee as of now, checked against its relations and filed as a workbook
    headed by the organisation's name and its secretary."""
    at = moment(now)
    with shared_store().reading() as s:
        table = statistics(s, org_id, as_of=at)
    if broken_relations(table["table"]):  # a computed table always satisfies them: a broken one is our bug
        raise RuntimeError(f"statistics of {org_id} break their relations: {broken_relations(table['table'])}")
    out = Path(os.environ.get("LOSTCONTACT_REPORTS_DIR", "var/reports")) / org_id / at.date().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    with shared_store().reading() as s:
        statistics_filing(s, org_id, out / "statistics.xlsx", as_of=at, table=table["table"])
    return {"org_id": org_id, "table": table["table"], "dir": str(out)}
