"""A roster's report before anything is imported: the same checks as the import, run in a transaction that is
rolled back, so the committee sees every line-numbered reason (and how many members would be created or updated)
and then decides to import all, only the valid rows, or nothing."""
from __future__ import annotations

from typing import Any, cast

from models.actor import Actor
from models.errors import Refusal
from models.timing import utcnow
from models.views import RosterPreview

from .db import Store
from .roster import import_roster
from .roster_read import parse_roster
from .uow import Work


def preview_roster(store: Store, data: bytes, filename: str, *, base_committee_id: str, actor: Actor,
                   now=None) -> RosterPreview:
    parsed = parse_roster(data, filename)
    session = store.writing()
    try:
        work = Work(session, now or utcnow(), actor.person_id, None, "preview_roster", actor=actor)
        try:
            report = import_roster.__wrapped__(work, base_committee_id=base_committee_id,
                                               rows_source=parsed.source(), accept_valid_rows=True)
        except Refusal as exc:
            if "report" in exc.details:
                return RosterPreview.model_validate(cast("dict[str, Any]", exc.details["report"]))
            raise
        return RosterPreview(**report.model_dump())
    finally:
        session.rollback()
        session.close()
