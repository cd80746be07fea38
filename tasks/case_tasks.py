"""What the case flow does at each step: thin, idempotent wrappers around store reads, notifications, follow-up runs
and papers. None of them caches (a resumed run re-executes from the top and must see the store as it is now); each is
safe to repeat because its effect is keyed in the store (a notification per step and person, a Prefect run per
follow-up, a paper per case), not in Prefect's cache.

Only the papers are a Prefect task (once per case, at its end). A step's side effects are a plain function: as a task
run they cost every segment three events on the websocket, three rows in the event store and a task run with three
states from the task-run recorder, about a third of a segment's Prefect cost, and recorded nothing the store does not
hold with more meaning (who was told, which follow-up run exists: the case page shows both)."""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from casework import runs
from casework.db import shared_store
from models.codes import FollowUpStatus
from models.position import Position
from models.timing import utcnow

from reports import render_dossier_html

from . import prefect_api
from .notify_tasks import announce

log = logging.getLogger("lostcontact.tasks")
QUIET = dict(cache_policy=NO_CACHE, persist_result=False)


def read_position(case_id: str) -> Position:
    """Where the case stands in the store. A plain read, not a task: it has no effect to orchestrate, and a task run
    costs the Prefect server three recorded state events."""
    with shared_store().reading() as s:
        return runs.position(s, case_id)


def step_side_effects(case_id: str, step_id: str | None, *, attempts: int = 3, delay_s: float = 2.0) -> dict:
    """What a step's arrival sets off: the people it waits on are told (once per step and person, by the store's
    dedupe key), and every follow-up of the case has its Prefect run at the due time, or has it cancelled once the
    store fired or cancelled the follow-up. Tried up to `attempts` times (it was a task with two retries); a last
    failure fails the segment, and the outbox row is retried after its lease."""
    for attempt in range(1, attempts + 1):
        try:
            return _step_side_effects(case_id, step_id)
        except Exception:
            if attempt == attempts:
                raise
            log.warning("case %s: side effects of its step failed (attempt %d of %d)", case_id, attempt, attempts,
                        exc_info=True)
            time.sleep(delay_s)
    raise AssertionError("unreachable")


def _step_side_effects(case_id: str, step_id: str | None) -> dict:
    out = {}
    if step_id:
        out["notified"] = announce(shared_store(), step_id, now=utcnow())
    with shared_store().reading() as s:
        rows = runs.followups_to_sync(s, case_id=case_id)
    out["follow_ups"] = sync_followup_runs(rows)
    return out


def sync_followup_runs(rows: list[runs.FollowUpRun]) -> dict:
    created = cancelled = 0
    installation = None
    for f in rows:
        if f.status is FollowUpStatus.PENDING and f.flow_run_id is None:
            if installation is None:
                with shared_store().reading() as s:
                    installation = runs.installation_id(s)
            run_id = prefect_api.schedule_followup_run(installation, f.followup_id, f.due_at)
            runs.attach_followup_run(shared_store(), f.followup_id, run_id)
            created += 1
        elif f.status is not FollowUpStatus.PENDING and f.flow_run_id:
            cancelled += prefect_api.cancel_if_scheduled(f.flow_run_id)
    return {"created": created, "cancelled": cancelled}


@task(name="file-papers", retries=1, **QUIET)
def file_papers(case_id: str) -> str | None:
    """Write the case's full-process record into the archive (one person, one file); rewritten only if changed."""
    with shared_store().reading() as s:
        html = render_dossier_html(s, case_id)
    path = Path(os.environ.get("LOSTCONTACT_ARCHIVE_DIR", "var/archive")) / f"{case_id}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != html:
        path.write_text(html, encoding="utf-8")
    return str(path)
