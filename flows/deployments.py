"""The deployments our runner executes, registered from code (deploy/prefect.yaml declares the same for
`prefect deploy`). They have no work pool: the case runner executes their runs in-process."""
from __future__ import annotations

import asyncio

from prefect.client.schemas.schedules import CronSchedule

from tasks import prefect_api

from .case import case_flow
from .followups import daily_sweep, followup_flow, statistics_flow
from .notify import DIGEST_CRON, FLUSH_CRON, notify_daily, notify_flush

TIMEZONE = "Asia/Shanghai"


async def _apply(with_schedules: bool, statistics_orgs: list[str]) -> None:
    deployments = [
        await case_flow.to_deployment(name="case", tags=["lostcontact"]),
        await followup_flow.to_deployment(name="followup", tags=["lostcontact"]),
        await daily_sweep.to_deployment(
            name="daily", tags=["lostcontact"],
            schedules=[CronSchedule(cron="0 2 * * *", timezone=TIMEZONE)] if with_schedules else None),
        await notify_daily.to_deployment(
            name="notify-daily", tags=["lostcontact"],
            schedules=[CronSchedule(cron=DIGEST_CRON, timezone=TIMEZONE)] if with_schedules else None),
        await notify_flush.to_deployment(
            name="notify-queue", tags=["lostcontact"],
            schedules=[CronSchedule(cron=FLUSH_CRON, timezone=TIMEZONE)] if with_schedules else None),
        await statistics_flow.to_deployment(
            name="quarterly", tags=["lostcontact"], parameters={"org_ids": statistics_orgs},
            schedules=[CronSchedule(cron="0 9 25 3,6,9,12 *", timezone=TIMEZONE)] if with_schedules else None),
    ]
    for d in deployments:
        await d.apply()


def apply_deployments(*, with_schedules: bool = True, statistics_orgs: list[str] | None = None) -> None:
    asyncio.run(_apply(with_schedules, statistics_orgs or []))
    prefect_api.forget_deployments()
