"""Sending the queue: every message is a row of `notifications` (queued by dispatch.py through the Desk), tried here
outside any store transaction.

For each row whose time has come: the channel's rate limit is checked against the attempts of the last minute (a
WeCom group bot takes 20 a minute: the 21st waits for the oldest to age out, it is not dropped); the row is claimed
(status `sending`, committed before the send), sent through Apprise, and its outcome recorded. A failure is retried
after BACKOFF (1, 5, 15, 60 minutes) up to MAX_TRIES attempts in all, then left `failed_final` and listed by
`lostcontact notifications`. A claim whose sender died mid-send (`sending` for longer than LEASE) may have been
delivered (the sender can die after the channel's answer and before recording it): it is never sent again, but
marked `uncertain` and listed with the failures for a person to check. So no message is delivered twice; the
reminders' cadence and the inbox cover the rare one lost that way."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from .channels import deliver, profile_of
from .ports import Desk

log = logging.getLogger("lostcontact.notifications")

MAX_TRIES = 5
LEASE = dt.timedelta(minutes=15)
BACKOFF = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))
RATE_WINDOW = dt.timedelta(minutes=1)


@dataclass
class Counts:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    already: int = 0
    waiting: int = 0  # held back by a channel's rate limit, still queued
    uncertain: int = 0  # claims of a sender that died mid-send, given up on this call (not sent again)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        for name in ("queued", "sent", "failed", "skipped", "already", "waiting", "uncertain"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {"queued": self.queued, "sent": self.sent, "failed": self.failed, "skipped": self.skipped,
                "already": self.already, "waiting": self.waiting, "uncertain": self.uncertain, **self.extra}


def retry_at(tries: int, now: dt.datetime) -> dt.datetime | None:
    """When a message that failed its `tries`-th attempt is tried again; None when it has had its last."""
    if tries >= MAX_TRIES:
        return None
    return now + BACKOFF[min(tries, len(BACKOFF)) - 1]


def flush(desk: Desk, *, now: dt.datetime, ids: list[int] | None = None, limit: int = 1000) -> Counts:
    """Send what is due (only the rows `ids`, when given). Bounded: at most `limit` rows per call."""
    counts = Counts(uncertain=desk.give_up_stale(now=now, lease=LEASE))
    held: dict[int, dt.datetime] = {}  # channel -> until when it is full, so a full channel costs one query a call
    for row in desk.due(now=now, lease=LEASE, ids=ids, limit=limit):
        profile = profile_of(row.scheme)
        if row.channel_id in held:
            desk.defer(row.id, held[row.channel_id])
            counts.waiting += 1
            continue
        if profile.per_minute:
            used, oldest = desk.window(row.channel_id, since=now - RATE_WINDOW)
            if used >= profile.per_minute:
                held[row.channel_id] = (oldest or now) + RATE_WINDOW
                desk.defer(row.id, held[row.channel_id])
                counts.waiting += 1
                continue
        tries = desk.claim(row, now=now, lease=LEASE, max_tries=MAX_TRIES)
        if tries is None:
            counts.already += 1
            continue
        url = desk.channel_url(row.channel_id)
        if url is None:
            result_ok, error = False, "channel removed or inactive"
        else:
            # A robot shows no title: the composer put it into the body already (the row keeps it for lists).
            result = deliver(url, row.title if profile.title_shown and not profile.markdown else "", row.body,
                             markdown=profile.markdown)  # outside any transaction
            result_ok, error = result.ok, result.error
        again = None if result_ok else retry_at(tries, now)
        desk.record(row.id, ok=result_ok, error=error, now=now, retry_at=again)
        if result_ok:
            counts.sent += 1
            log.info("notification %s sent via %s", row.key, row.scheme)
        else:
            counts.failed += 1
            log.warning("notification %s via %s failed (try %d of %d)%s", row.key, row.scheme, tries, MAX_TRIES,
                        "" if again else ", given up")
    return counts
