"""The follow-ups a disposition schedules when it takes effect (the two-year review of a suspension, the end of a
correction period) and cancels (a restoration applied for): rows in the store, each announced to the case's run,
which gives it its Prefect run at the due time. Firing them is casework.followups'."""
from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import select

from models.codes import FollowUpKind, FollowUpStatus
from models.store import Case, DispositionRow, FollowUp
from models.timing import correction_end_due, suspension_review_due

from .store_ids import next_id
from .uow import Work


def schedule_followup(work: Work, case: Case, kind: FollowUpKind, row: DispositionRow | None) -> FollowUp:
    if kind is FollowUpKind.TWO_YEAR_REVIEW:
        due = suspension_review_due(cast(dt.datetime, case.suspended_at))  # scheduled on suspension
    elif kind is FollowUpKind.CORRECTION_END:
        row = cast(DispositionRow, row)  # a correction period is a disposition's
        due = correction_end_due(cast(dt.datetime, row.effective_at), int(row.params.get("correction_months", 6)))
    else:
        raise ValueError(f"{kind} is not scheduled from a disposition")
    followup = FollowUp(id=next_id(work.session, FollowUp, f"{case.id}:{kind.value}:"), kind=kind, case_id=case.id,
                        subject_id=row.id if row else None, due_at=due, status=FollowUpStatus.PENDING,
                        created_at=work.now)
    work.session.add(followup)
    work.session.flush()
    work.advance(case.id, "followup_scheduled", followup_id=followup.id, due_at=due.isoformat(), kind=kind)
    return followup


def cancel_followups(work: Work, case_id: str, kind: FollowUpKind, *, note: str) -> list[str]:
    rows = work.session.scalars(select(FollowUp).where(FollowUp.case_id == case_id, FollowUp.kind == kind,
                                                       FollowUp.status == FollowUpStatus.PENDING)).all()
    for f in rows:
        f.status, f.cancelled_at, f.note = FollowUpStatus.CANCELLED, work.now, note
        work.advance(case_id, "followup_cancelled", followup_id=f.id)
    return [f.id for f in rows]
