"""Notifications wired to the store: casework's Desk handed to notifications/ (which imports only models). Plain
functions, used by the case tasks, the notification flows and the CLI."""
from __future__ import annotations

import datetime as dt
from typing import Any

from casework.db import Store
from casework.deliveries import Desk, migrate_now_and_then


def digest_cron() -> str:
    """The daily deployment's cron, at LOSTCONTACT_DIGEST_TIME (Asia/Shanghai): the daily functions only send
    within an hour of that time, so the schedule must follow the setting."""
    from notifications.settings import Settings

    at = Settings.from_env().digest_time
    return f"{at.minute} {at.hour} * * *"


def desk_for(store: Store, *, now: dt.datetime) -> Desk:
    migrate_now_and_then(store, now=now)  # older stores' clear notify_urls move into encrypted channels
    return Desk(store)


def announce(store: Store, step_id: str, *, now: dt.datetime) -> dict[str, Any]:
    from notifications.dispatch import announce_step

    return announce_step(desk_for(store, now=now), step_id, now=now)


def notify_day(store: Store, *, now: dt.datetime) -> dict[str, Any]:
    from notifications.dispatch import daily

    return daily(desk_for(store, now=now), now=now)


def drain_queue(store: Store, *, now: dt.datetime) -> dict[str, Any]:
    from notifications.sending import flush

    return flush(desk_for(store, now=now), now=now).as_dict()


def send_channel_test(store: Store, channel_id: int, *, now: dt.datetime) -> dict[str, Any]:
    """A test message through one channel now; the answer says whether it went (and the row shows it)."""
    from notifications.dispatch import send_test

    desk = desk_for(store, now=now)
    target, owner, masked = desk.channel_target(channel_id)
    counts = send_test(desk, target, owner=owner, masked=masked, now=now)
    return {"channel_id": int(channel_id), "masked": masked, "owner": owner, **counts}
