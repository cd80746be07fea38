"""Typed commands and views of the casework seam: what an interface sends for an action and what it gets back. The
JSON API's OpenAPI schema is these models; the pages send the same fields as forms."""
from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .catalogue import Disposition
from .codes import Outcome, ReferralTarget, Stage

Text = Field(default="", max_length=4000)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str | None = Field(default=None, max_length=100,
                                   description="客户端生成的请求编号：重复提交得到同一答复，不会重复办理")


class RecordAttempt(Command):
    stage: Stage
    method: str = Field(max_length=200, description="查找方式")
    description: str = Field(max_length=4000, description="查找过程")
    witness: str = Field(max_length=80, description="证明人")
    outcome: Outcome
    remark: str = Text
    concludes_stage: bool = True
    attempted_at: dt.datetime | None = None
    expected_version: int | None = Field(default=None, ge=0)


class ProposeDisposition(Command):
    disposition: Disposition
    grounds: str = Field(max_length=4000)
    conduct: str = Text
    lost_reasons: str = Text
    correction_months: int | None = Field(default=None, ge=1, le=24)
    expected_version: int | None = Field(default=None, ge=0)


class VoteCounts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entitled: int = Field(ge=0, le=100000)
    present: int = Field(ge=0, le=100000)
    in_favour: int = Field(ge=0, le=100000)
    against: int = Field(default=0, ge=0, le=100000)
    abstaining: int = Field(default=0, ge=0, le=100000)


class DecideStep(Command):
    verdict: Literal["approve", "reject"]
    opinion: str = Text
    member_signed: bool = False
    signature_note: str = Text
    guide: str = Field(default="", max_length=200)
    vote: VoteCounts | None = None
    expected_version: int | None = Field(default=None, ge=0)


class JudgeCorrection(Command):
    changed: bool
    opinion: str = Field(max_length=4000)
    expected_version: int | None = Field(default=None, ge=0)


class RecordReferral(Command):
    target: ReferralTarget
    summary: str = Field(max_length=4000)


class FileMaterial(Command):
    kind: str = Field(max_length=200)
    reference: str = Field(max_length=500)


# ---------------------------------------------------------------- views

class View(BaseModel):
    model_config = ConfigDict(extra="allow")


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


class CaseSummary(View):
    """Where a case stands after an action."""

    case_id: str
    state: str
    state_label: str
    column: str
    version: int
    open_step: StepView | None = None
    replayed: bool = False


class InboxItem(View):
    step_id: str
    case_id: str
    member_name: str
    kind: str
    kind_label: str
    title: str
    body_label: str
    org_id: str
    branch_name: str
    campaign_id: str | None = None
    opened_at: dt.datetime
    due_at: dt.datetime | None = None
    late: bool
    case_version: int


class InboxView(View):
    items: list[InboxItem]
    total: int
    late: int
    shown: int


class Me(View):
    person_id: str
    channel: str
    org_id: str | None = None


class CaseRecord(View):
    """The full-process record (全程纪实) of one case, whole: only for those entitled, every read audited."""

    case_id: str
    state: str
    state_label: str
    version: int
    member: dict[str, Any]
    attempts: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    dispositions: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    referrals: list[dict[str, Any]]
    followups: list[dict[str, Any]]
    offers: dict[str, Any]


class CampaignLine(View):
    campaign_id: str
    name: str
    org_id: str
    start_date: dt.date
    cases: int


class StatisticsView(View):
    org_id: str
    campaign_id: str | None = None
    table: dict[str, int]
    headings: dict[str, str]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
