"""Follow-ups that must fire on time, even years later: the two-year suspension review, the end of a correction
period, the transfer receipt, the campaign phase deadlines. Each is a row with its due time; firing one is an action
that happens exactly once (a fired or cancelled row answers, it does not act again)."""
from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import func, select

from models.catalogue import STARTED_BY, Column, Contact
from models.chronology import check_letter, check_receipt
from models.codes import Body, CaseState, FollowUpKind, FollowUpStatus, StepKind, StepStatus
from models.errors import NotFound, Refusal
from models.membership import MemberStatus
from models.statistics import NEVER, counted_after_finding, pocket_counted_from
from models.store import Case, FollowUp, Member, Step, TransferLetter
from models.text import checked_arguments
from models.timing import local_date, local_midnight, receipt_due
from models.views import FollowupFired, LetterIssued, ReceiptRecorded

from .cases import case_summary, close_step, load_case, open_step, open_step_of, set_column
from .dispositions import start_by_rule
from .membership import open_case, open_case_of, transferred_out, why_not_open
from .opening import hold_case_openings
from .orgs import org_chain
from .uow import Work, action


def due_followups(session, now) -> list[str]:
    return list(session.scalars(select(FollowUp.id).where(FollowUp.status == FollowUpStatus.PENDING,
                                                          FollowUp.due_at <= now).order_by(FollowUp.due_at)))


@action("fire_followup", FollowupFired)
@checked_arguments
def fire_followup(work: Work, *, followup_id: str) -> FollowupFired:
    s = work.session
    f = s.scalar(select(FollowUp).where(FollowUp.id == followup_id).with_for_update())
    if f is None:
        raise NotFound("后续事项", followup_id)
    if f.status is not FollowUpStatus.PENDING:
        return FollowupFired(followup_id=f.id, fired=False, status=f.status.value, note=f.note)
    if f.due_at > work.now:
        raise Refusal("not_due", f"“{f.kind.label}”到期时间为{f.due_at.isoformat()}，尚未到期", "DOMAIN §6",
                      due_at=f.due_at.isoformat())
    note, opened = _FIRE[f.kind](work, f)
    f.status, f.fired_at, f.note = FollowUpStatus.FIRED, work.now, note
    work.audit(case_id=f.case_id, followup_id=f.id, kind=f.kind, note=note, opened=opened)
    return FollowupFired(followup_id=f.id, fired=True, kind=f.kind.value, note=note, opened_step=opened,
                         case=case_summary(work, cast(Case, s.get(Case, f.case_id))) if f.case_id else None)


def _two_year_review(work: Work, f: FollowUp) -> tuple[str, str | None]:
    case = load_case(work, cast(str, f.case_id))  # scheduled from a case
    if case.state is not CaseState.SUSPENDED:
        return f"案件状态为“{case.state.label}”，不再按自行脱党处置", None
    step = start_by_rule(work, case, STARTED_BY["two_year_review"], "停止党籍满两年，经多方努力确实无法取得联系")
    return "停止党籍已满两年仍无法取得联系，按自行脱党除名程序办理", step.id


def _correction_end(work: Work, f: FollowUp) -> tuple[str, str | None]:
    case = load_case(work, cast(str, f.case_id))  # scheduled from a case
    if case.state is not CaseState.CORRECTING:
        return f"案件状态为“{case.state.label}”，无需评估", None
    step = open_step(work, case, kind=StepKind.JUDGEMENT, body=Body.BRANCH_COMMITTEE,
                     title="限期改正期满，支委会评估改正情况")
    work.advance(case.id, "judgement_opened", step_id=step.id)
    return "限期改正期满，待支委会评估", step.id


def _transfer_receipt(work: Work, f: FollowUp) -> tuple[str, str | None]:
    """No receipt by the end of its due day: a possible pocket member. First ask the receiving organisation; if the
    member is not there, search as for a lost-contact member [001 §2] [004 §4]: a case opens with the direct search,
    where asking the receiving organisation is the first attempt. It counts in the statistics only once the member
    has been out of contact six months (`models.statistics.pocket_counted_from`)."""
    letter = cast(TransferLetter, work.session.get(TransferLetter, f.subject_id))  # scheduled with its letter
    if letter.receipt_on is not None:
        return "回执已收到", None
    member = cast(Member, work.session.get(Member, letter.member_id))  # foreign key
    hold_case_openings(work.session)  # a campaign starting at this moment must not open a second case for them
    skip = why_not_open(member, open_case_of(work.session, member.id))
    # Another letter's receipt (transferred) does not answer for this one: only an open case, death or removal do.
    if skip is not None and skip.code in ("open_case", MemberStatus.DEAD.value, MemberStatus.OUT.value):
        return f"逾期未收到回执；{skip.reason}", None
    due_day = receipt_due(letter.issued_on, letter.validity_days)
    case = open_case(work, member, case_id=f"POCKET-{letter.id}", base_committee_id=org_chain(
        work.session, member.branch_id).base_committee,
        lost_reasons=f"组织关系介绍信（转往{letter.receiving_org}）开出后未收到回执，疑似“口袋”党员",
        step_title=f"直接联系（先向接收党组织{letter.receiving_org}核实）",
        counted_from=pocket_counted_from(member.last_contact_on, letter.issued_on),
        cause={"opened_by": "transfer_receipt", "followup_id": f.id, "letter_id": letter.id,
               "receiving_org": letter.receiving_org, "issued_on": letter.issued_on, "receipt_due": due_day})
    f.case_id = case.id  # the follow-up's own audit event then lands in the case's trail too
    return f"回执应于{due_day.isoformat()}前收回，逾期未收到回执，已按失联党员开始查找", \
        cast(Step, open_step_of(work.session, case.id)).id


def _phase_deadline(work: Work, f: FollowUp) -> tuple[str, str | None]:
    kinds = [StepKind.SEARCH] if f.subject_id == "search" else [StepKind.PROPOSAL, StepKind.REVIEW, StepKind.JUDGEMENT]
    late = work.session.scalar(
        select(func.count()).select_from(Step).join(Case, Case.id == Step.case_id)
        .where(Case.campaign_id == f.campaign_id, Step.status == StepStatus.OPEN, Step.kind.in_(kinds))) or 0
    return f"阶段截止时仍有{late}项待办未完成", None


_FIRE = {
    FollowUpKind.TWO_YEAR_REVIEW: _two_year_review,
    FollowUpKind.CORRECTION_END: _correction_end,
    FollowUpKind.TRANSFER_RECEIPT: _transfer_receipt,
    FollowUpKind.PHASE_DEADLINE: _phase_deadline,
}


def fire_due(store, now) -> list[FollowupFired]:
    """The daily sweep: fire everything that came due while nothing ran. Each firing is its own transaction and
    carries a request ID of its own, so overlapping sweeps fire each follow-up once."""
    with store.reading() as s:
        ids = due_followups(s, now)
    fired = []
    for fid in ids:
        try:
            fired.append(fire_followup(store, request_id=f"fire:{fid}", now=now, followup_id=fid))
        except Refusal as refusal:  # one follow-up the rules refuse must not hold up the others
            fired.append(FollowupFired(followup_id=fid, fired=False, error=refusal.as_dict()))
    return fired


# ---------------------------------------------------------------- transfer letters and receipts [000 §2]

@action("issue_transfer_letter", LetterIssued)
@checked_arguments
def issue_transfer_letter(work: Work, *, letter_id: str, member_id: str, receiving_org: str, issued_on: str,
                          validity_days: int) -> LetterIssued:
    """Record a transfer letter; its receipt is due one month after the member reports within the letter's validity."""
    member = work.session.get(Member, member_id)
    if member is None:
        raise NotFound("党员", member_id)
    if member.branch_id not in work.roles():
        raise Refusal("wrong_level", "组织关系介绍信由党员所在党支部（或其基层党委）开具", "000 §2")
    if not 1 <= int(validity_days) <= 365:
        raise Refusal("bad_validity", "介绍信有效期应为1至365天", "DOMAIN §9")
    if work.session.get(TransferLetter, letter_id) is not None:
        raise Refusal("letter_exists", f"介绍信编号{letter_id}已存在", "000 §2")
    issued = _letter_date(issued_on, "开具日期")
    check_letter(receiving_org, issued, now=work.now, birth=member.birth_date)
    receiving_org = receiving_org.strip()
    due_day = receipt_due(issued, int(validity_days))
    work.session.add(TransferLetter(id=letter_id, member_id=member_id, receiving_org=receiving_org, issued_on=issued,
                                    validity_days=int(validity_days), created_at=work.now))
    # Due at the end of the due day: a receipt that arrives on the due day is on time [000 §2].
    work.session.add(FollowUp(id=f"receipt:{letter_id}", kind=FollowUpKind.TRANSFER_RECEIPT, subject_id=letter_id,
                              due_at=local_midnight(due_day + dt.timedelta(days=1)), status=FollowUpStatus.PENDING,
                              created_at=work.now))
    work.audit(org_id=member.branch_id, letter_id=letter_id, member_id=member_id, receiving_org=receiving_org)
    return LetterIssued(letter_id=letter_id, receipt_due=due_day.isoformat())


@action("record_receipt", ReceiptRecorded)
@checked_arguments
def record_receipt(work: Work, *, letter_id: str, received_on: str) -> ReceiptRecorded:
    """Record the receipt that came back for a letter. The receipt travels between the sending and the receiving
    base committee, and the sending side stays responsible until it is back (DOMAIN §9): so only the branch that
    issued the letter or its base committee records it."""
    letter = work.session.get(TransferLetter, letter_id)
    if letter is None:
        raise NotFound("组织关系介绍信", letter_id)
    # The letter keeps no issuing branch of its own: it is the member's branch (issue_transfer_letter requires the
    # issuer to act for it), and a roster import moves a member only between branches of one base committee.
    member = cast(Member, work.session.get(Member, letter.member_id))  # foreign key
    chain = org_chain(work.session, member.branch_id)
    if not {chain.branch, chain.base_committee} & set(work.roles()):
        raise Refusal("wrong_level", "介绍信回执由开具介绍信的党支部或其基层党委登记", "000 §2",
                      letter_id=letter_id)
    received = _letter_date(received_on, "回执日期")
    if received < letter.issued_on:
        raise Refusal("bad_date", f"回执日期{received.isoformat()}早于介绍信开具日期{letter.issued_on.isoformat()}",
                      "000 §2", value=received_on)
    check_receipt(received, letter.issued_on, now=work.now)
    letter.receipt_on = received
    f = work.session.get(FollowUp, f"receipt:{letter_id}")
    if f is not None and f.status is FollowUpStatus.PENDING:
        f.status, f.cancelled_at, f.note = FollowUpStatus.CANCELLED, work.now, "回执已收到"
    closed = _receipt_ends_search(work, letter, received)
    transferred_out(work, member.id, letter.id, letter.receiving_org)
    work.audit(case_id=closed, org_id=member.branch_id, letter_id=letter_id, received_on=received_on,
               closed_case=closed)
    return ReceiptRecorded(letter_id=letter_id, receipt_on=received.isoformat(), closed_case=closed)


def _receipt_ends_search(work: Work, letter: TransferLetter, received: dt.date) -> str | None:
    """A receipt that comes back while the letter's pocket case is still in its search ends the search: the member
    reported to the receiving organisation, so nobody is searched for. When the receipt is dated before the case
    came to count in the statistics (`counted_from`), the case never counts; after it, the member counts as found
    and brought under the receiving organisation's management (column C, as a relation settled, [004 (二)])."""
    case = work.session.get(Case, f"POCKET-{letter.id}")
    if case is None or case.state is not CaseState.SEARCHING:
        return None
    case = load_case(work, case.id)
    step = open_step_of(work.session, case.id)
    if step is not None:
        close_step(work, step, StepStatus.CANCELLED)
        step.opinion = f"回执已收到（{received.isoformat()}），党员已到接收党组织{letter.receiving_org}报到"
    case.search_stage, case.search_ended_on = None, max(received, local_date(case.opened_at))
    case.contact, case.managed_elsewhere = Contact.CONTACTED, True
    case.state, case.closed_at = CaseState.CLOSED, work.now
    case.counted_from = counted_after_finding(case.counted_from, received)
    if case.counted_from != NEVER:
        set_column(work, case, Column.C_OTHER)
    work.advance(case.id, "receipt_recorded", closed_step=step.id if step else None)
    return case.id


def _letter_date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise Refusal("bad_date", f"{what}“{text}”不是有效日期（应为YYYY-MM-DD）", "000 §2", value=str(text)) from None
