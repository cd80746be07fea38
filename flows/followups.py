"""Follow-ups, the daily sweep and the periodic statistics.

A follow-up's Prefect run is scheduled at its due time, even years ahead; when it runs it fires the follow-up in the
store. The daily sweep fires whatever came due while nothing ran and repairs case runs that fell behind the store
(reminders, escalations and digests are flows/notify.py's, in working hours). Firing is keyed by the follow-up in the
store, so each fires exactly once whichever of the two gets there first."""
from __future__ import annotations

from prefect import flow

from tasks.followup_tasks import export_statistics, fire, fire_due_followups, repair, schedule_unscheduled

__all__ = ["daily_sweep", "export_statistics", "followup_flow", "statistics_flow"]


@flow(name="followup", persist_result=True, log_prints=False)
def followup_flow(followup_id: str, now: str | None = None) -> dict:
    return fire(followup_id, now)


@flow(name="sweep", persist_result=True, log_prints=False)
def daily_sweep(now: str | None = None) -> dict:
    fired = fire_due_followups(now)
    scheduled = schedule_unscheduled()
    repaired = repair(now)  # reminders and digests: flows/notify.py, in working hours
    return {"fired": len([f for f in fired if f.get("fired")]), "scheduled": scheduled, "repaired": repaired}


@flow(name="statistics", persist_result=True, log_prints=False)
def statistics_flow(org_ids: list[str], now: str | None = None) -> list[dict]:
    """The periodic statistics table for each base committee (quarterly by default), filed as a spreadsheet."""
    return [export_statistics(org_id, now) for org_id in org_ids]
