"""Notifications wired to the store: casework's Desk handed to notifications/ (which imports only models). Plain
functions for the case tasks and the CLI, and the tasks of the notification flows."""
from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task

from casework.db import Store, shared_store
from casework.deliveries import Desk, migrate_now_and_then
from notifications.dispatch import announce_step, daily, send_test
from notifications.sending import flush
from notifications.settings import Settings

from .common import QUIET, moment


def digest_cron() -> str:
    """The daily deployment's cron, at LOSTCONTACT_DIGEST_TIME (Asia/Shanghai): the daily functions only send
    within an hour of that time, so the schedule must follow the setting."""
    at = Settings.from_env().digest_time
    return f"{at.minute} {at.hour} * * *"


def desk_for(store: Store, *, now: dt.datetime) -> Desk:
    migrate_now_and_then(store, now=now)  # older stores' clear notify_urls move into encrypted channels
    return Desk(store)


def announce(store: Store, step_id: str, *, now: dt.datetime) -> dict[str, Any]:
    return announce_step(desk_for(store, now=now), step_id, now=now)


def send_channel_test(store: Store, channel_id: int, *, now: dt.datetime) -> dict[str, Any]:
    """A test message through one channel now; the answer says whether it went (and the row shows it)."""
    desk = desk_for(store, now=now)
    target, owner, masked = desk.channel_target(channel_id)
    counts = send_test(desk, target, owner=owner, masked=masked, now=now)
    return {"channel_id": int(channel_id), "masked": masked, "owner": owner, **counts}


@task(name="notify-day", retries=1, retry_delay_seconds=30, **QUIET)
def notify_day(now: str | None) -> dict:
    """Reminders at their cadence, escalations once per margin, follow-ups ahead and the digest, once per local day."""
    at = moment(now)
    return daily(desk_for(shared_store(), now=at), now=at)


@task(name="notify-queue", **QUIET)
def notify_queue(now: str | None) -> dict:
    """Messages waiting for a channel's rate limit, failures due for a retry, claims of a dead sender."""
    at = moment(now)
    return flush(desk_for(shared_store(), now=at), now=at).as_dict()
