"""The notification flows: the working day's messages (reminders at their cadence, escalations once per margin,
follow-ups and phase deadlines ahead, the digest) at the digest time, and the queue drained every minute (rate
limits, retries with backoff, claims left by a dead sender). Deployed with cron schedules in Asia/Shanghai
(caserunner/deployments.py, deploy/prefect.yaml); the case runner executes their runs in-process."""
from __future__ import annotations

from prefect import flow

from tasks.notify_tasks import digest_cron, notify_day, notify_queue

DIGEST_CRON = digest_cron()  # LOSTCONTACT_DIGEST_TIME, default 08:30 (deploy/prefect.yaml declares the default)
FLUSH_CRON = "* * * * *"
NOTIFY_DAILY_DEPLOYMENT = "notify-daily/notify-daily"  # flow name / deployment name, as the case runner finds them
NOTIFY_QUEUE_DEPLOYMENT = "notify-queue/notify-queue"

__all__ = ["DIGEST_CRON", "FLUSH_CRON", "NOTIFY_DAILY_DEPLOYMENT", "NOTIFY_QUEUE_DEPLOYMENT", "notify_daily",
           "notify_day", "notify_flush", "notify_queue"]


@flow(name="notify-daily", persist_result=True, log_prints=False)
def notify_daily(now: str | None = None) -> dict:
    """Reminders, escalations, follow-ups ahead and the digest (send_digests), each once per local day."""
    return notify_day(now)


@flow(name="notify-queue", persist_result=True, log_prints=False)
def notify_flush(now: str | None = None) -> dict:
    """Messages waiting for a channel's rate limit, failures due for a retry, claims of a dead sender."""
    return notify_queue(now)
