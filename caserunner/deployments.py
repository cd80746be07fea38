"""The deployments our runner executes, declared once: `apply_deployments` registers them from this table, and
deploy/prefect.yaml (for `prefect deploy`) is checked against it by tests/flows/test_deployments_declared.py. They
have no work pool: the case runner executes their runs in-process."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

from flows.case import case_flow
from flows.followups import daily_sweep, followup_flow, statistics_flow
from flows.notify import DIGEST_CRON, FLUSH_CRON, notify_daily, notify_flush
from tasks import prefect_api

TIMEZONE = "Asia/Shanghai"
TAGS = ["lostcontact"]


@dataclass(frozen=True)
class Declared:
    name: str
    flow: Flow
    entrypoint: str  # as prefect.yaml names it
    cron: str | None = None  # Asia/Shanghai
    parameters: dict[str, Any] = field(default_factory=dict)


DEPLOYMENTS: tuple[Declared, ...] = (
    Declared("case", case_flow, "flows/case.py:case_flow"),
    Declared("followup", followup_flow, "flows/followups.py:followup_flow"),
    Declared("daily", daily_sweep, "flows/followups.py:daily_sweep", cron="0 2 * * *"),
    Declared("notify-daily", notify_daily, "flows/notify.py:notify_daily", cron=DIGEST_CRON),
    Declared("notify-queue", notify_flush, "flows/notify.py:notify_flush", cron=FLUSH_CRON),
    Declared("quarterly", statistics_flow, "flows/followups.py:statistics_flow", cron="0 9 25 3,6,9,12 *",
             parameters={"org_ids": []}),
)


async def _apply(with_schedules: bool, statistics_orgs: list[str]) -> None:
    for d in DEPLOYMENTS:
        parameters = {**d.parameters, **({"org_ids": statistics_orgs} if "org_ids" in d.parameters else {})}
        schedules = [CronSchedule(cron=d.cron, timezone=TIMEZONE)] if d.cron and with_schedules else None
        deployment = await d.flow.to_deployment(name=d.name, tags=TAGS, parameters=parameters or None,
                                                schedules=schedules)
        await deployment.apply()


def apply_deployments(*, with_schedules: bool = True, statistics_orgs: list[str] | None = None) -> None:
    asyncio.run(_apply(with_schedules, statistics_orgs or []))
    prefect_api.forget_deployments()
