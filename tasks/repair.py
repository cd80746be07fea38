"""Repair: find cases whose store state is ahead of their run (a resume that failed, a runner that died mid-segment,
a run lost with a wiped Prefect server) and replay them through the outbox. Prefect down means late side effects,
never lost decisions: the decisions are in the store, and this puts the runs back in step."""
from __future__ import annotations

import datetime as dt
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlalchemy import select

from casework import runs
from casework.db import Store
from casework.followups import fire_due
from models.position import base_key
from models.position import pause_key as encode
from models.store import OutboxRow

from .case_tasks import sync_followup_runs

STUCK_AFTER = dt.timedelta(minutes=10)  # a run "running" longer than this had its runner die under it


def repair_sweep(store: Store, *, now: dt.datetime) -> dict:
    with store.reading() as s:
        cases = runs.live_cases(s)
        queued = set(s.scalars(select(OutboxRow.case_id).where(OutboxRow.done_at.is_(None))))
    states = _run_states([rid for _, rid, _, _ in cases if rid])
    behind, forget = [], {}
    for case_id, run_id, key, finished in cases:
        if case_id in queued:
            continue  # the runner will get to it anyway
        if run_id is None or run_id not in states:
            if run_id is not None:
                forget[case_id] = None  # the server no longer knows the run: start a new one
            behind.append(case_id)
            continue
        state, pause_key, since = states[run_id]
        if finished:
            if state != "COMPLETED":
                behind.append(case_id)
        elif state == "PAUSED":
            if base_key(pause_key) != encode(key):
                behind.append(case_id)
        elif state in ("FAILED", "CRASHED", "CANCELLED", "CANCELLING", "COMPLETED"):
            behind.append(case_id)
        elif state in ("SCHEDULED", "PENDING", "RUNNING") and since is not None and now - since > STUCK_AFTER:
            behind.append(case_id)
    if forget:
        runs.attach_flow_runs(store, forget)
    runs.requeue(store, behind, reason="repair", now=now)
    return {"checked": len(cases), "requeued": len(behind), "lost_runs": len(forget)}


def _run_states(run_ids: list[str]) -> dict[str, tuple[str, str | None, dt.datetime | None]]:
    out = {}
    with get_client(sync_client=True) as client:
        for i in range(0, len(run_ids), 200):
            chunk = [UUID(r) for r in run_ids[i:i + 200]]
            for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)),
                                             limit=200):
                state = run.state
                out[str(run.id)] = (state.type.value if state else "UNKNOWN",
                                    state.state_details.pause_key if state else None,
                                    state.timestamp if state else None)
    return out


def sweep_by_hand(store: Store, *, now: dt.datetime, with_prefect: bool = True) -> dict:
    """What the daily deployment does, run by a person (`lostcontact sweep`), e.g. after the Prefect database was
    wiped or while the scheduler is down: fire the follow-ups that came due, give the follow-ups that have no
    Prefect run their run, and replay every case whose run is behind the store. Without a Prefect server
    (`with_prefect=False`) only the follow-ups fire; the rest needs the server."""
    fired = fire_due(store, now)
    out: dict = {"now": now.isoformat(), "fired": [f.model_dump(mode="json") for f in fired], "scheduled": None,
                 "repaired": None}
    if with_prefect:
        with store.reading() as s:
            out["scheduled"] = sync_followup_runs(runs.followups_to_sync(s, unscheduled_only=True))
        out["repaired"] = repair_sweep(store, now=now)
    return out

