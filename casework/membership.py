"""A member's state follows the cases (rules in `models.membership`): the one function that opens a case, and the
writes that carry a case's outcome back to the member, so the next campaign's six-month test and its skip list read
what the last one found."""
from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import select

from models.catalogue import CURRENT_VERSION, Column, Disposition
from models.codes import CaseState, StepKind, Stage
from models.membership import MemberStatus, Skip, campaign_skip, effect_of
from models.store import Case, CaseColumn, Member

from .cases import open_step
from .uow import Work


def open_case_of(session, member_id: str) -> str | None:
    return session.scalar(select(Case.id).where(Case.member_id == member_id, Case.state != CaseState.CLOSED)
                          .order_by(Case.opened_at).limit(1))


def why_not_open(member: Member, open_case: str | None) -> Skip | None:
    return campaign_skip(member.status, open_case, member.status_note)


def open_case(work: Work, member: Member, *, case_id: str, base_committee_id: str | None,
              campaign_id: str | None = None, lost_reasons: str | None = None, step_title: str | None = None,
              counted_from: dt.date | None = None, cause: dict[str, Any]) -> Case:
    """Open a lost-contact case for a member: the case in column W (still searching), the direct search in the
    branch's inbox, the run told, and an audit event saying what opened it (`cause`). Callers decide whether the
    member may get a case (`why_not_open`)."""
    case = Case(id=case_id, campaign_id=campaign_id, member_id=member.id, branch_id=member.branch_id,
                base_committee_id=base_committee_id, catalogue_version=CURRENT_VERSION, state=CaseState.SEARCHING,
                search_stage=Stage.DIRECT, column=Column.W, opened_at=work.now, counted_from=counted_from,
                last_contact_on=member.last_contact_on, lost_reasons=lost_reasons)
    work.session.add(case)
    work.session.add(CaseColumn(case_id=case.id, column=Column.W, since=work.now))
    work.session.flush()
    step = open_step(work, case, kind=StepKind.SEARCH, body=Stage.DIRECT.body, title=step_title or Stage.DIRECT.label,
                     stage=Stage.DIRECT)
    work.advance(case.id, "case_opened", step_id=step.id)
    work.audit(case_id=case.id, org_id=member.branch_id, event="case_opened", member_id=member.id,
               counted_from=counted_from, **cause)
    return case


def _set_status(work: Work, member: Member, status: MemberStatus, note: str) -> None:
    member.status, member.status_since, member.status_note = status, work.now, note
    member.updated_at = work.now


def contact_found(work: Work, member_id: str, day: dt.date) -> None:
    """A contact found is a contact: the last-contact date moves forward to it (never back)."""
    member = cast(Member, work.session.get(Member, member_id))  # foreign key
    if member.last_contact_on is None or member.last_contact_on < day:
        member.last_contact_on = day
        member.updated_at = work.now


def death_confirmed(work: Work, member_id: str, case_id: str) -> None:
    _set_status(work, cast(Member, work.session.get(Member, member_id)), MemberStatus.DEAD,
                f"案件{case_id}查找确认已死亡")


def disposition_in_effect(work: Work, case: Case, code: Disposition, day: dt.date) -> None:
    effect = effect_of(code)
    if effect.contact:
        contact_found(work, case.member_id, day)
    if effect.status is not None:
        _set_status(work, cast(Member, work.session.get(Member, case.member_id)), effect.status,
                    f"案件{case.id}：{code.label}")


def transferred_out(work: Work, member_id: str, letter_id: str, receiving_org: str) -> None:
    member = cast(Member, work.session.get(Member, member_id))  # foreign key
    if member.status is MemberStatus.ACTIVE:
        _set_status(work, member, MemberStatus.TRANSFERRED, f"介绍信{letter_id}转往{receiving_org}，回执已收到")
