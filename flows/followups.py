"""Follow-ups, the daily sweep and the periodic statistics.

A follow-up's Prefect run is scheduled at its due time, even years ahead; when it runs it fires the follow-up in the
store. The daily sweep fires whatever came due while nothing ran and repairs case runs that fell behind the store
(reminders, escalations and digests are flows/notify.py's, in working hours). Firing is keyed by the follow-up in the store, so each fires exactly once
whichever of the two gets there first."""
from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from casework.db import shared_store
from models.timing import utcnow

QUIET = dict(cache_policy=NO_CACHE, persist_result=False)


def _moment(now: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now) if now else utcnow()


@task(name="fire-follow-up", retries=2, retry_delay_seconds=5, **QUIET)
def fire(followup_id: str, now: str | None = None) -> dict:
    from casework.followups import fire_followup

    return fire_followup(shared_store(), request_id=f"fire:{followup_id}", now=_moment(now), followup_id=followup_id)


@flow(name="followup", persist_result=True, log_prints=False)
def followup_flow(followup_id: str, now: str | None = None) -> dict:
    return fire(followup_id, now)


@task(name="fire-due-follow-ups", **QUIET)
def fire_due_followups(now: str | None) -> list[dict]:
    from casework.followups import fire_due

    return fire_due(shared_store(), _moment(now))


@task(name="schedule-unscheduled-follow-ups", **QUIET)
def schedule_unscheduled() -> dict:
    """Follow-ups without a case run to schedule them (campaign deadlines, transfer receipts) get their runs here."""
    from casework import runs
    from tasks.case_tasks import sync_followup_runs

    with shared_store().reading() as s:
        return sync_followup_runs(runs.followups_to_sync(s, unscheduled_only=True))


@task(name="repair-case-runs", **QUIET)
def repair(now: str | None) -> dict:
    from flows.repair import repair_sweep

    return repair_sweep(shared_store(), now=_moment(now))


@flow(name="sweep", persist_result=True, log_prints=False)
def daily_sweep(now: str | None = None) -> dict:
    fired = fire_due_followups(now)
    scheduled = schedule_unscheduled()
    repaired = repair(now)  # reminders and digests: flows/notify.py, in working hours
    return {"fired": len([f for f in fired if f.get("fired")]), "scheduled": scheduled, "repaired": repaired}


@task(name="export-statistics", **QUIET)
def export_statistics(org_id: str, now: str | None) -> dict:
    from pathlib import Path
    import os

    from casework.queries import statistics
    from models.statistics import broken_relations

    moment = _moment(now)
    with shared_store().reading() as s:
        table = statistics(s, org_id, as_of=moment)
    assert not broken_relations(table["table"]), "a computed table always satisfies the relations"
    out = Path(os.environ.get("LOSTCONTACT_REPORTS_DIR", "var/reports")) / org_id / moment.date().isoformat()
    out.mkdir(parents=True, exist_ok=True)
    try:
        from reports.export import statistics_filing

        with shared_store().reading() as s:  # the organisation's name and its secretary head the paper
            statistics_filing(s, org_id, out / "statistics.xlsx", as_of=moment, table=table["table"])
    except ImportError:
        pass
    return {"org_id": org_id, "table": table["table"], "dir": str(out)}


@flow(name="statistics", persist_result=True, log_prints=False)
def statistics_flow(org_ids: list[str], now: str | None = None) -> list[dict]:
    """The periodic statistics table for each base committee (quarterly by default), filed as a spreadsheet."""
    return [export_statistics(org_id, now) for org_id in org_ids]
