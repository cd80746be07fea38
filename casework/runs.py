"""The store's side of orchestration: the outbox the case runner drains, the flow runs attached to cases and
follow-ups, and the cases whose run is behind the store (repair).

Claims are per case: a runner takes every pending row of a case at once and holds the case while it works, so two
runners never advance one case together. On PostgreSQL the claim takes a transaction-level advisory lock per case
(skipping cases another claimer holds at that moment); on SQLite the write lock serialises claims."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import CursorResult

from models.codes import FollowUpStatus, StepStatus
from models.position import Position
from models.store import Case, FollowUp, Installation, Member, OutboxRow, Step

from . import outbox_signal
from .db import Store

LEASE = dt.timedelta(minutes=5)  # a claim older than this is taken to belong to a runner that died


def position(session, case_id: str) -> Position:
    case = session.get(Case, case_id)
    steps = session.execute(select(Step.id, Step.status, Step.title).where(Step.case_id == case_id)
                            .order_by(Step.seq)).all()
    open_steps = [s for s in steps if s.status is StepStatus.OPEN]
    closed = [s for s in steps if s.status is not StepStatus.OPEN]
    return Position(case_id, case.state, open_steps[0].id if open_steps else None,
                    open_steps[0].title if open_steps else None, closed[-1].id if closed else None)


@dataclass(frozen=True)
class Claim:
    case_id: str
    outbox_ids: tuple[int, ...]
    events: tuple[str, ...]


def claim(store: Store, runner_id: str, *, limit: int, now: dt.datetime) -> list[Claim]:
    """Take up to `limit` cases with pending outbox rows, oldest first.

    Candidates are read without row locks and each case is then taken under its own advisory lock: locking the
    rows of every candidate (FOR UPDATE over the whole backlog) would make a second runner skip cases the first
    one had no room for, and sit idle while it works."""
    expired = now - LEASE
    with store.writing() as s:
        pending = (OutboxRow.done_at.is_(None)) & (
            OutboxRow.claimed_at.is_(None) | (OutboxRow.claimed_at < expired) | (OutboxRow.claimed_by == runner_id))
        candidates = s.scalars(select(OutboxRow.case_id).where(pending).group_by(OutboxRow.case_id)
                               .order_by(func.min(OutboxRow.id)).limit(limit * 3)).all()
        chosen: list[str] = []
        for case_id in candidates:
            if len(chosen) >= limit:
                break
            if _may_take(s, store, case_id, runner_id, expired):
                chosen.append(case_id)
        rows = s.execute(select(OutboxRow.id, OutboxRow.case_id, OutboxRow.event)
                         .where(pending, OutboxRow.case_id.in_(chosen)).order_by(OutboxRow.id)).all() if chosen else []
        if rows:
            s.execute(update(OutboxRow).where(OutboxRow.id.in_([r.id for r in rows]))
                      .values(claimed_by=runner_id, claimed_at=now, tries=OutboxRow.tries + 1))
        s.commit()
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(row.case_id, []).append(row)
    return [Claim(cid, tuple(r.id for r in group), tuple(r.event for r in group)) for cid, group in groups.items()]


def _may_take(s, store: Store, case_id: str, runner_id: str, expired: dt.datetime) -> bool:
    """No other runner holds a live claim on this case. On PostgreSQL the advisory lock, held to the commit, keeps
    two claimers off one case; the count, read after it (READ COMMITTED), sees a claim committed just before."""
    if not store.is_sqlite:
        got = s.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"), {"k": f"case:{case_id}"}).scalar()
        if not got:
            return False
    held = s.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.case_id == case_id, OutboxRow.done_at.is_(None), OutboxRow.claimed_by.is_not(None),
        OutboxRow.claimed_by != runner_id, OutboxRow.claimed_at >= expired))
    return held == 0


def finish(store: Store, outbox_ids, *, now: dt.datetime) -> None:
    with store.writing() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(outbox_ids))).values(done_at=now, last_error=None))
        s.commit()


def release(store: Store, outbox_ids, *, error: str) -> None:
    """Give the rows back for a later try (by any runner), keeping the error."""
    with store.writing() as s:
        s.execute(update(OutboxRow).where(OutboxRow.id.in_(list(outbox_ids)))
                  .values(claimed_by=None, claimed_at=None, last_error=error[:2000]))
        s.commit()


def release_own(store: Store, runner_id: str) -> int:
    """On start: what this runner had claimed when it died is free again at once (no need to wait for the lease)."""
    with store.writing() as s:
        n = cast("CursorResult[Any]", s.execute(
            update(OutboxRow).where(OutboxRow.claimed_by == runner_id, OutboxRow.done_at.is_(None))
            .values(claimed_by=None, claimed_at=None))).rowcount
        s.commit()
    return n


def pending_count(store: Store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_(None))) or 0


def requeue(store: Store, case_ids, *, reason: str, now: dt.datetime) -> int:
    with store.writing() as s:
        for cid in case_ids:
            s.add(OutboxRow(case_id=cid, event="repair", payload={"reason": reason}, created_at=now, tries=0))
        if case_ids:
            outbox_signal.signal(s)
        s.commit()
    return len(case_ids)


# ---------------------------------------------------------------- flow runs of cases and follow-ups

@dataclass(frozen=True)
class CaseRunInfo:
    installation: str
    case_id: str
    member_name: str
    campaign_id: str | None
    branch_id: str
    base_committee_id: str | None
    flow_run_id: str | None


def installation_id(session) -> str:
    return session.scalar(select(Installation.id))


def run_infos(session, case_ids) -> list[CaseRunInfo]:
    installation = installation_id(session)
    rows = session.execute(select(Case.id, Member.name, Case.campaign_id, Case.branch_id, Case.base_committee_id,
                                  Case.flow_run_id).join(Member, Member.id == Case.member_id)
                           .where(Case.id.in_(list(case_ids)))).all()
    return [CaseRunInfo(installation, *r) for r in rows]


def attach_flow_runs(store: Store, runs: dict[str, str | None]) -> None:
    """Record each case's flow run (None forgets a run that no longer exists). Not a user action: no version bump,
    no audit; the Prefect run ID is orchestration state mirrored for finding the run."""
    with store.writing() as s:
        for cid, rid in runs.items():
            s.execute(update(Case).where(Case.id == cid).values(flow_run_id=rid)
                      .execution_options(synchronize_session=False))
        s.commit()


@dataclass(frozen=True)
class FollowUpRun:
    followup_id: str
    due_at: dt.datetime
    status: FollowUpStatus
    flow_run_id: str | None


def followups_to_sync(session, *, case_id: str | None = None, campaign_id: str | None = None,
                      unscheduled_only: bool = False) -> list[FollowUpRun]:
    q = select(FollowUp.id, FollowUp.due_at, FollowUp.status, FollowUp.flow_run_id)
    if case_id:
        q = q.where(FollowUp.case_id == case_id)
    if campaign_id:
        q = q.where(FollowUp.campaign_id == campaign_id)
    if unscheduled_only:
        q = q.where(FollowUp.flow_run_id.is_(None), FollowUp.status == FollowUpStatus.PENDING)
    return [FollowUpRun(*r) for r in session.execute(q.order_by(FollowUp.due_at))]


def attach_followup_run(store: Store, followup_id: str, flow_run_id: str) -> None:
    with store.writing() as s:
        s.execute(update(FollowUp).where(FollowUp.id == followup_id).values(flow_run_id=flow_run_id))
        s.commit()


def live_cases(session) -> list[tuple[str, str | None, str, bool]]:
    """(case id, flow run id, the wait key the store expects, finished) for every case whose run may still act."""
    out = []
    cases = session.execute(select(Case.id, Case.flow_run_id, Case.state)).all()
    steps: dict[str, list] = {}
    for cid, sid, status in session.execute(select(Step.case_id, Step.id, Step.status).order_by(Step.case_id,
                                                                                               Step.seq)):
        steps.setdefault(cid, []).append((sid, status))
    for cid, rid, state in cases:
        own = steps.get(cid, [])
        opened = [sid for sid, st in own if st is StepStatus.OPEN]
        closed = [sid for sid, st in own if st is not StepStatus.OPEN]
        pos = Position(cid, state, opened[0] if opened else None, None, closed[-1] if closed else None)
        out.append((cid, rid, pos.wait_key, pos.finished))
    return out
