"""The unit of work answers with the action's view: a body's fields are validated into it, the request's answer is
kept as the view's JSON, and a repeat of the request id reads it back into the same view, marked as replayed."""
from __future__ import annotations

from sqlalchemy import select

from casework.uow import Work, action
from models.store import RequestRecord
from models.views import LetterIssued
from tests.conftest import T0


@action("test_view_answer", LetterIssued)
def answer(work: Work, *, letter_id: str) -> dict:
    work.audit(letter_id=letter_id)
    return {"letter_id": letter_id, "receipt_due": "2026-04-30", "not_a_field": "dropped"}


def test_an_answer_is_its_view_and_a_repeat_reads_back_the_same_view(orgs):
    first = answer(orgs, request_id="views-1", now=T0, letter_id="L-9")
    assert isinstance(first, LetterIssued) and (first.letter_id, first.receipt_due, first.replayed) == \
        ("L-9", "2026-04-30", False)
    with orgs.reading() as s:
        kept = s.scalar(select(RequestRecord.result).where(RequestRecord.request_id == "views-1"))
    assert kept == {"letter_id": "L-9", "receipt_due": "2026-04-30"}  # `replayed` only when true
    again = answer(orgs, request_id="views-1", now=T0, letter_id="L-9")
    assert isinstance(again, LetterIssued) and again == first.model_copy(update={"replayed": True})
    assert again.model_dump(mode="json") == {**kept, "replayed": True}
