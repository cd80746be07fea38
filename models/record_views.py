"""Views of the records and lists the interfaces read: the full-process record of a case, the ledger, the register
of members still unreachable, the out-of-control list, a disposition's checklist (see `models.views`)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from .views import FollowupFired, View


# ---------------------------------------------------------------- the full-process record (全程纪实) of a case

class MemberView(View):
    """A member whole, as the case page and the papers show them (only to those entitled)."""

    member_id: str
    name: str
    gender: str
    ethnicity: str | None = None
    birth_date: str | None = None
    joined_on: str | None = None
    id_number: str
    phone: str | None = None
    position: str | None = None
    occupation: int | None = None
    occupation_display: str | None = None
    kind: str
    last_contact_on: str | None = None
    situation: int | None = None
    situation_display: str | None = None
    backup_contact: str | None = None
    remarks: str | None = None
    branch_id: str
    branch_name: str | None = None
    org_category: int | None = None
    org_category_display: str | None = None


class AttemptLine(View):
    stage: str
    stage_label: str
    method: str
    description: str
    attempted_at: str | None = None
    witness: str
    remark: str | None = None
    outcome: str
    outcome_label: str
    recorded_by: str | None = None


class StepLine(View):
    step_id: str
    kind: str
    title: str
    body: str
    body_label: str
    org_id: str
    status: str
    status_label: str
    opened_at: str | None = None
    closed_at: str | None = None
    due_at: str | None = None
    decided_by: str | None = None
    verdict: str | None = None
    opinion: str | None = None
    member_signed: bool | None = None
    signature_note: str | None = None
    guide: str | None = None
    vote: dict[str, int] | None = None
    disposition_id: str | None = None
    step_key: str | None = None
    reopened_from: str | None = None


class DispositionLine(View):
    disposition_id: str
    code: str
    title: str
    status: str
    grounds: str | None = None
    params: dict[str, Any] | None = None
    proposed_at: str | None = None
    effective_at: str | None = None
    completed_at: str | None = None
    materials_required: list[str]


class MaterialLine(View):
    disposition_id: str | None = None
    kind: str
    reference: str
    filed_by: str | None = None
    filed_at: str | None = None


class ReferralLine(View):
    target: str
    target_label: str
    summary: str
    referred_at: str | None = None


class FollowupLine(View):
    followup_id: str
    kind: str
    kind_label: str
    due_at: str | None = None
    status: str
    note: str | None = None


class AuditLine(View):
    at: str | None = None
    actor: str | None = None
    action: str
    payload: dict[str, Any] | None = None


class Dossier(View):
    """The full-process record (全程纪实) of one case, whole: only for those entitled, every read audited. `form`:
    the review boxes of the paper, each with every decision that filled it."""

    case_id: str
    campaign_id: str | None = None
    state: str
    state_label: str
    column: str
    version: int
    catalogue_version: str | None = None
    flow_run_id: str | None = None
    member: MemberView
    lost_contact_time: str
    lost_reasons: str | None = None
    conduct: str | None = None
    contact: str | None = None
    suspended_at: str | None = None
    attempts: list[AttemptLine]
    steps: list[StepLine]
    dispositions: list[DispositionLine]
    materials: list[MaterialLine]
    referrals: list[ReferralLine]
    followups: list[FollowupLine]
    form: dict[str, list[dict[str, Any]]]
    audit: list[AuditLine]


class CaseRecord(Dossier):
    """The case page and the API's case: the record, the forms the rules allow the reader now, and the open step."""

    offers: dict[str, Any]
    open_step: StepLine | None = None


# ---------------------------------------------------------------- lists of the CLI and the papers

class LedgerRow(MemberView):
    """A row of the work ledger 失联党员工作台账 (and of `cases list`): the member and where their case stands."""

    case_id: str
    state: str
    state_label: str
    column: str
    search_stage: str | None = None
    contact: str
    disposition: str | None = None
    disposition_status: str | None = None
    lost_contact_time: str


class CaseList(View):
    """`lostcontact cases list`."""

    org_ids: list[str]
    campaign_id: str | None = None
    state: str | None = None
    count: int
    cases: list[LedgerRow]


class Ledger(View):
    """`lostcontact ledger`."""

    org_ids: list[str]
    campaign_id: str | None = None
    count: int
    rows: list[LedgerRow]


class RegisterRow(MemberView):
    """A row of 经查找仍然无法取得联系党员登记表."""

    case_id: str
    column: str
    state_label: str
    lost_contact_time: str


class Register(View):
    """`lostcontact unreachable`."""

    org_ids: list[str]
    campaign_id: str | None = None
    count: int
    rows: list[RegisterRow]


class OutOfControl(View):
    """`lostcontact out-of-control`: 失控党员名单."""

    org_id: str
    as_of: str
    count: int
    members: list[MemberView]


class ChecklistItem(View):
    number: int
    kind: str
    filed: bool
    reference: str | None = None


class Checklist(View):
    """`lostcontact material list`: the materials of the disposition in progress, filed or missing."""

    case_id: str
    disposition_id: str | None = None
    disposition: str | None = None
    title: str | None = None
    materials: list[ChecklistItem]
    missing: list[str]


class FiredList(View):
    """`lostcontact followups fire`: the follow-ups that came due, each fired once."""

    now: str
    count: int
    fired: list[FollowupFired]


class CheckedTable(View):
    label: str
    table: dict[str, Any]
    problems: list[str]


class TableCheck(View):
    """`lostcontact stats check`: a hand-typed statistics table whose relations all hold."""

    file: str
    count: int
    tables: list[CheckedTable]


# ---------------------------------------------------------------- a campaign's dashboard

class CampaignHead(View):
    campaign_id: str
    name: str
    start_date: dt.date


class PhaseLine(View):
    phase: str
    label: str
    due_at: dt.datetime
    passed: bool


class BranchProgress(View):
    """A branch's cases per stage or state (`合计`: all) and per disposition in progress."""

    branch_id: str
    name: str
    counts: dict[str, int]
    dispositions: dict[str, int]


class LateLine(View):
    org_id: str
    name: str
    count: int


class Dashboard(View):
    """A campaign's dashboard: phases with their deadlines, progress per branch, what is late, and the burndown of
    open cases (day, open at its end)."""

    campaign: CampaignHead
    phases: list[PhaseLine]
    columns: list[str]
    branches: list[BranchProgress]
    late: list[LateLine]
    burndown: list[tuple[str, int]]
    total: int
    open: int
