"""Typed views of the casework seam: what every action answers and what the queries the interfaces use return. The
CLI's `--json` output is `view.model_dump(mode="json")`, the JSON API's OpenAPI schema is these models, the pages
read the same fields. Field names are the ones cli/REFERENCE.md documents.

Times the store answers with are ISO strings where the answers always carried them so (`opened_at`, `due_at` of a
step, ...), so that `--json` prints them as before; dates and times a page formats itself are typed."""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class View(BaseModel):
    """A view: fields declared; an answer stored by an older version with keys since dropped still reads."""

    model_config = ConfigDict(extra="ignore")


class Answer(View):
    """What an action answers. `replayed`: a repeat of a request id already answered (nothing was done again); shown
    only when true, as the answers always had it."""

    replayed: bool = Field(default=False, exclude_if=lambda replayed: not replayed)


# ---------------------------------------------------------------- case actions

class StepView(View):
    step_id: str
    kind: str
    title: str
    body: str
    body_label: str
    org_id: str
    stage: str | None = None
    step_index: int | None = None
    opened_at: str
    due_at: str | None = None


class CaseSummary(Answer):
    """Where a case stands after an action (every case action answers with it, plus its own fields)."""

    case_id: str
    state: str
    state_label: str
    column: str
    version: int
    open_step: StepView | None = None


class AttemptRecorded(CaseSummary):
    outcome: str
    search_finished: bool


class DispositionProposed(CaseSummary):
    disposition_id: str
    disposition: str
    warning: str | None = None


class StepDecided(CaseSummary):
    decided_step: str
    verdict: str


class CorrectionJudged(CaseSummary):
    changed: bool


class MaterialFiled(Answer):
    case_id: str
    disposition_id: str
    kind: str
    missing: list[str]


class MaterialUploaded(MaterialFiled):
    file_id: str
    sha256: str
    size: int


class ReferralRecorded(Answer):
    case_id: str
    target: str
    target_label: str


# ---------------------------------------------------------------- campaigns, follow-ups, letters

class SkippedMember(View):
    """A lost-contact member who got no case, and why (`models.membership`)."""

    member_id: str
    name: str
    code: str
    reason: str
    open_case: str | None = None


class CampaignStarted(Answer):
    campaign_id: str
    start_date: str
    cases_opened: int
    case_ids: list[str]
    skipped: list[SkippedMember]


class FollowupFired(Answer):
    """A follow-up fired (`fired`), or found fired or cancelled before (`status`), or refused (`error`)."""

    followup_id: str
    fired: bool
    kind: str | None = None
    status: str | None = None
    note: str | None = None
    opened_step: str | None = None
    case: CaseSummary | None = None
    error: dict[str, Any] | None = None


class LetterIssued(Answer):
    letter_id: str
    receipt_due: str


class ReceiptRecorded(Answer):
    letter_id: str
    receipt_on: str
    closed_case: str | None = None


# ---------------------------------------------------------------- organisations, roster, channels

class OrganisationsImported(Answer):
    organisations_created: int
    organisations_updated: int
    people: int


class RosterError(View):
    line: int
    name: str
    id_number: str
    reasons: list[str]


class RosterWarning(View):
    line: int | None = None
    name: str | None = None
    message: str


class RosterReport(Answer):
    """The line-numbered report of a roster: what was imported, and every bad row with its reasons (masked)."""

    file: str
    base_committee_id: str
    rows: int
    valid: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    imported: bool = False
    errors: list[RosterError]
    warnings: list[RosterWarning]


class RosterPreview(RosterReport):
    """A roster's report before anything is imported (nothing was written)."""

    preview: bool = True


class ChannelView(Answer):
    """A notification channel as lists show it: the URL masked."""

    channel_id: int
    org_id: str | None = None
    person_id: str | None = None
    scheme: str
    group: bool
    label: str | None = None
    masked: str
    active: bool


class ChannelTested(ChannelView):
    """A channel just set, with the outcome of the test message sent through it."""

    test: dict[str, Any]


class ChannelRemoved(ChannelView):
    removed: bool = True


class ChannelList(View):
    count: int
    channels: list[ChannelView]


class UnreachedOrg(View):
    org_id: str
    name: str
    people: int


class UnreachedPerson(View):
    person_id: str
    name: str
    orgs: list[str]


class FailedMessage(View):
    id: int
    kind: str
    person_id: str | None = None
    org_id: str | None = None
    channel: str | None = None
    case_id: str | None = None
    step_id: str | None = None
    tries: int
    error: str | None = None
    attempted_at: str | None = None
    status: str = "failed_final"  # or "uncertain": the sender died mid-send, perhaps delivered, not sent again


class DeliveryReport(View):
    """`lostcontact notifications`: who no message reaches, the messages given up, the count of messages by status."""

    organisations: list[UnreachedOrg]
    people: list[UnreachedPerson]
    failed: list[FailedMessage]
    counts: dict[str, int]


# ---------------------------------------------------------------- reads

class InboxItem(View):
    """An open step on a desk (the web app's inbox, the JSON API)."""

    step_id: str
    case_id: str
    member_name: str
    kind: str
    kind_label: str
    title: str
    body: str
    body_label: str
    org_id: str
    branch_id: str
    branch_name: str
    campaign_id: str | None = None
    opened_at: dt.datetime
    due_at: dt.datetime | None = None
    late: bool
    days_left: int | None = None
    case_version: int


class InboxView(View):
    items: list[InboxItem]
    total: int
    late: int
    shown: int


class WaitingLine(View):
    """An open step that waits on a person or an organisation (`casework.queries.waits_on`), for the CLI's inbox."""

    step_id: str
    case_id: str
    member_name: str
    kind: str
    title: str
    body: str
    body_label: str
    org_id: str
    opened_at: str
    due_at: str | None = None
    age_days: int
    late: bool
    case_version: int


class Inbox(View):
    """`lostcontact inbox`: what waits on a person (`person_id`) or an organisation (`org_id`)."""

    person_id: str | None = None
    org_id: str | None = None
    now: str
    count: int
    late: int
    items: list[WaitingLine]


class Me(View):
    person_id: str
    channel: str
    org_id: str | None = None


class CampaignLine(View):
    campaign_id: str
    name: str
    org_id: str
    start_date: dt.date
    cases: int


class StatisticsView(View):
    org_id: str
    campaign_id: str | None = None
    as_of: str | None = None
    table: dict[str, int]
    headings: dict[str, str]


class StatisticsTable(View):
    """`lostcontact stats`: the table summed over the organisations, with the relations checked."""

    org_ids: list[str]
    campaign_id: str | None = None
    as_of: str | None = None
    table: dict[str, int]
    headings: dict[str, str]
    problems: list[str]
