"""Opening many cases at once, for a campaign start: for every member exactly the rows `membership.open_case` writes
for one (the case in column W, its column history, the direct search in the branch's inbox, the outbox row that tells
the run, the audit event saying what opened it), written set-wise: one multi-row INSERT per table and chunk instead of
a flush per row (10,000 cases: a few statements instead of about 70,000). Whether a member may get a case is still
decided by `membership.why_not_open`, against one read of the open cases taken under `hold_case_openings`.

tests/casework/test_bulk_open.py holds these rows equal, column by column, to the single path's."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from models.catalogue import CURRENT_VERSION, Column
from models.codes import CampaignPhase, CaseState, Stage, StepKind, StepStatus
from models.errors import Refusal
from models.store import AuditEvent, CampaignPhaseRow, Case, CaseColumn, Member, OutboxRow, Step
from models.timing import step_due

from .orgs import org_chain
from .uow import Work, _jsonable

_CHUNK = 1000
# pg_advisory_xact_lock's key for "a transaction is deciding who gets a new case" (any bigint; this one spells it).
_OPENING_LOCK = 0x6C6F73745F6F706E  # "lost_opn"


@dataclass(frozen=True)
class Opening:
    """One case to open: the member, the case id, the lost-contact reasons the case starts with."""

    member: Member
    case_id: str
    lost_reasons: str | None = None


def hold_case_openings(session: Session) -> None:
    """Serialise the transactions that decide who gets a new case, until this one ends: a second campaign started at
    the same moment waits here, then reads the cases the first one opened (PostgreSQL, READ COMMITTED: every statement
    sees what was committed before it). SQLite's writers are serialised already (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _OPENING_LOCK})


def open_cases_of(session: Session) -> dict[str, str]:
    """Every member with an open case (not 已办结), and that case: one set-based read."""
    return dict(session.execute(select(Case.member_id, Case.id).where(Case.state != CaseState.CLOSED)).tuples().all())


def open_cases(work: Work, openings: Sequence[Opening], *, base_committee_id: str | None, campaign_id: str | None,
               cause: dict[str, Any]) -> list[str]:
    """Open a case for every opening, as `membership.open_case` would one by one (same rows, same order, same
    values), and return the case ids. Callers decide who may get a case (`membership.why_not_open`)."""
    if not openings:
        return []
    s, now = work.session, work.now
    kind, stage = StepKind.SEARCH, Stage.DIRECT
    due_at = step_due(kind.value, now, _phase_due(s, campaign_id))
    org_of: dict[str, str] = {}
    for branch_id in {o.member.branch_id for o in openings}:
        org_id = org_chain(s, branch_id).for_body(stage.body)
        if org_id is None:
            raise Refusal("no_such_level", f"本案所在党支部之上没有{stage.body.level.label}，无法开启“{stage.label}”",
                          "DOMAIN §1")
        org_of[branch_id] = org_id
    cases, columns, steps, outbox, audits = [], [], [], [], []
    for o in openings:
        m, step_id = o.member, f"{o.case_id}-001"
        # The keys each ORM object sets in the single path, no more: a JSON column left out stays SQL NULL.
        cases.append({"id": o.case_id, "campaign_id": campaign_id, "member_id": m.id, "branch_id": m.branch_id,
                      "base_committee_id": base_committee_id, "catalogue_version": CURRENT_VERSION,
                      "state": CaseState.SEARCHING, "search_stage": stage, "column": Column.W, "opened_at": now,
                      "counted_from": None, "last_contact_on": m.last_contact_on, "lost_reasons": o.lost_reasons,
                      "managed_elsewhere": False, "dead": False, "version": 1})
        columns.append({"case_id": o.case_id, "column": Column.W, "since": now})
        steps.append({"id": step_id, "case_id": o.case_id, "seq": 1, "kind": kind, "stage": stage,
                      "disposition_id": None, "step_index": None, "step_key": None, "title": stage.label,
                      "body": stage.body, "org_id": org_of[m.branch_id], "status": StepStatus.OPEN,
                      "opened_at": now, "due_at": due_at, "reopened_from": None})
        outbox.append({"case_id": o.case_id, "event": "case_opened", "payload": _jsonable({"step_id": step_id}),
                       "created_at": now, "tries": 0})
        audits.append({"at": now, "actor_id": work.actor_id, "org_id": m.branch_id, "action": work.action,
                       "case_id": o.case_id, "request_id": work.request_id, "channel": work.actor.channel.value,
                       "via": work.actor.via, "payload": _jsonable({"event": "case_opened", "member_id": m.id,
                                                                    "counted_from": None, **cause})})
    s.flush()  # what the ORM holds (the campaign, its phases) goes first: the cases refer to it
    for table, rows in ((Case, cases), (CaseColumn, columns), (Step, steps), (OutboxRow, outbox),
                        (AuditEvent, audits)):
        _insert(s, table.__table__, rows)  # type: ignore[arg-type]  # declarative classes have a Table
    work.advanced = True  # the runners are signalled at the commit, as `Work.advance` does
    return [o.case_id for o in openings]


def _insert(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """One INSERT per chunk. PostgreSQL: INSERT ... SELECT FROM unnest(one array per column), one short statement
    for a thousand rows (psycopg's executemany would pipeline one INSERT per row, and a multi-row VALUES statement
    is re-parsed by psycopg every time). The values pass through each column's own bind processing first, so they
    are stored exactly as the ORM stores them. SQLite: executemany, in-process and fast."""
    batch = list(rows)
    if not batch:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        for start in range(0, len(batch), _CHUNK):
            session.execute(insert(table), batch[start:start + _CHUNK])
        return
    cols = [table.c[key] for key in batch[0]]
    quote = dialect.identifier_preparer.quote
    casts = ", ".join(f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, c in enumerate(cols))
    statement = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c in cols)}) "
                     f"SELECT * FROM unnest({casts})")
    process = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in cols]
    for start in range(0, len(batch), _CHUNK):
        chunk = batch[start:start + _CHUNK]
        session.execute(statement, {f"c{i}": [p(r[c.name]) if p else r[c.name] for r in chunk]
                                    for i, (c, p) in enumerate(zip(cols, process))})


def _phase_due(session: Session, campaign_id: str | None) -> dt.datetime | None:
    if campaign_id is None:
        return None
    return session.scalar(select(CampaignPhaseRow.due_at).where(CampaignPhaseRow.campaign_id == campaign_id,
                                                                CampaignPhaseRow.phase == CampaignPhase.SEARCH))
