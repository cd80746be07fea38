"""The JSON API under /api: the same casework actions, views and checks as the pages, for programs. Authenticated by
a personal access token (Authorization: Bearer lc_…); a page's own session may call it too, with its CSRF token in
the X-CSRF-Token header for anything that writes."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from casework import dispositions, search
from casework.access import audit_read, require_org
from casework.queries import statistics_view
from casework.workbench import campaigns_for, case_page, inbox_for
from models.actor import Actor
from models.codes import StepKind
from models.commands import (DecideStep, ErrorBody, FileMaterial, JudgeCorrection, ProposeDisposition, RecordAttempt,
                             RecordReferral)
from models.record_views import CaseRecord
from models.views import (AttemptRecorded, CampaignLine, CorrectionJudged, DispositionProposed, InboxView,
                          MaterialFiled, Me, ReferralRecorded, StatisticsView, StepDecided)
from models.errors import Refusal

from .deps import actor_of, now_of, store_of

ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in (
    (400, "请求内容无法解析"), (401, "未认证"), (403, "防伪校验未通过"), (404, "不存在或无权查看"), (409, "规则不允许（message 写明依据）"),
    (413, "请求过大"), (422, "输入格式不正确"))}
router = APIRouter(prefix="/api", tags=["lostcontact"], responses=ERRORS)
Who = Annotated[Actor, Depends(actor_of)]
Id = Annotated[str, Query(max_length=80)]


def _who(request: Request, actor: Actor, body) -> dict:
    return {"request_id": body.request_id, "actor": actor, "now": now_of(request)}


@router.get("/me", response_model=Me, summary="当前身份")
def me(actor: Who) -> Me:
    return Me(person_id=actor.person_id or "", channel=actor.channel.value, org_id=actor.org_id)


@router.get("/inbox", response_model=InboxView, summary="待办")
def inbox(request: Request, actor: Who, campaign: Annotated[str | None, Query(max_length=64)] = None,
          branch: Annotated[str | None, Query(max_length=64)] = None, kind: StepKind | None = None) -> InboxView:
    with store_of(request).reading() as s:
        return inbox_for(s, actor, now_of(request), campaign_id=campaign, branch_id=branch,
                         kind=kind.value if kind else None)


@router.get("/cases/{case_id}", response_model=CaseRecord, summary="案件全程纪实（查看即记入审计）")
def case(request: Request, actor: Who, case_id: str) -> CaseRecord:
    store, now = store_of(request), now_of(request)
    with store.reading() as s:
        record = case_page(s, actor, case_id[:80], now)
    audit_read(store, actor, now, what="case", case_id=record.case_id)
    return record


@router.post("/cases/{case_id}/attempts", response_model=AttemptRecorded, summary="登记查找记录")
def record_attempt(request: Request, actor: Who, case_id: str, body: RecordAttempt) -> AttemptRecorded:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return search.record_attempt(store_of(request), **_who(request, actor, body), case_id=case_id[:80], **data)


@router.post("/cases/{case_id}/proposals", response_model=DispositionProposed, summary="提出处置意见")
def propose(request: Request, actor: Who, case_id: str, body: ProposeDisposition) -> DispositionProposed:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return dispositions.propose_disposition(store_of(request), **_who(request, actor, body), case_id=case_id[:80],
                                            **data)


@router.post("/steps/{step_id}/decision", response_model=StepDecided, summary="审批步骤作出决定")
def decide(request: Request, actor: Who, step_id: str, body: DecideStep) -> StepDecided:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return dispositions.decide_step(store_of(request), **_who(request, actor, body), step_id=step_id[:80], **data)


@router.post("/steps/{step_id}/judgement", response_model=CorrectionJudged, summary="限期改正期满评估")
def judge(request: Request, actor: Who, step_id: str, body: JudgeCorrection) -> CorrectionJudged:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return dispositions.judge_correction(store_of(request), **_who(request, actor, body), step_id=step_id[:80],
                                         **data)


@router.post("/cases/{case_id}/referrals", response_model=ReferralRecorded, summary="移送纪检或公安机关")
def refer(request: Request, actor: Who, case_id: str, body: RecordReferral) -> ReferralRecorded:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return dispositions.record_referral(store_of(request), **_who(request, actor, body), case_id=case_id[:80], **data)


@router.post("/cases/{case_id}/materials", response_model=MaterialFiled, summary="登记归档处置材料")
def file_material(request: Request, actor: Who, case_id: str, body: FileMaterial) -> MaterialFiled:
    data = body.model_dump(exclude={"request_id"}, mode="json")
    return dispositions.file_material(store_of(request), **_who(request, actor, body), case_id=case_id[:80], **data)


@router.get("/campaigns", response_model=list[CampaignLine], summary="集中排查")
def campaigns(request: Request, actor: Who) -> list[CampaignLine]:
    with store_of(request).reading() as s:
        return campaigns_for(s, actor)


@router.get("/statistics", response_model=StatisticsView, summary="统计表A–X")
def stats(request: Request, actor: Who, org: Id, campaign: Annotated[str | None, Query(max_length=64)] = None
          ) -> StatisticsView:
    with store_of(request).reading() as s:
        organisation = require_org(s, actor, org)
        return statistics_view(s, organisation.id, campaign_id=campaign)


__all__ = ["router", "Refusal"]
