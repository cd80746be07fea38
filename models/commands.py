"""Typed commands and views of the casework seam: what an interface sends for an action and what it gets back. The
JSON API's OpenAPI schema is these models; the pages send the same fields as forms."""
from __future__ import annotations

import datetime as dt
from typing import Literal

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


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail
