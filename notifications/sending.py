"""Idempotent sending: claim a row in `notifications` under its UNIQUE dedupe key and commit, send outside any
transaction, then record the outcome.

A key already sent, or held by a sender still within its lease, is never sent again. A failed key may be claimed
again by a later call, up to MAX_TRIES attempts in all. A key skipped because the person had no channel is sent when
the person has one by the time of a later call. A claim whose sender died mid-send (status `sending` older than
LEASE) may be taken over: delivery is at least once in that one case, exactly once otherwise."""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.store import Notification

from .channels import channel_of, deliver

log = logging.getLogger("lostcontact.notifications")

MAX_TRIES = 5
LEASE = dt.timedelta(minutes=15)

SENDING, SENT, FAILED, SKIPPED = "sending", "sent", "failed", "skipped_no_channel"
KINDS = ("step_opened", "reminder", "escalation", "digest")


class StoreLike(Protocol):
    """What we need of casework.db.Store (notifications/ imports only models/)."""

    def reading(self) -> Session: ...

    def writing(self) -> Session: ...


@dataclass(frozen=True)
class Message:
    key: str
    kind: str
    person_id: str
    title: str
    body: str
    urls: tuple[str, ...]
    org_id: str | None = None
    case_id: str | None = None
    step_id: str | None = None


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    already: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.skipped += other.skipped
        self.already += other.already

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "failed": self.failed, "skipped": self.skipped, "already": self.already,
                **self.extra}


def send_all(store: StoreLike, messages: Iterable[Message], *, now: dt.datetime) -> Counts:
    """Send each message at most once per dedupe key. No store transaction is open while Apprise sends."""
    messages = list(messages)
    counts = Counts()
    known = _known(store, [m.key for m in messages])
    for m in messages:
        state = known.get(m.key)
        if state is not None and not _may_claim(state, bool(m.urls), now):
            counts.already += 1
            continue
        claimed = _claim(store, m, now)
        if claimed is None:
            counts.already += 1
        elif claimed == "skipped":
            log.info("notification %s skipped: person %s has no channel", m.key, m.person_id)
            counts.skipped += 1
        else:
            row_id, tries = claimed
            result = deliver(list(m.urls), m.title, m.body)  # outside any transaction
            _record(store, row_id, result.ok, result.error, now)
            if result.ok:
                counts.sent += 1
                log.info("notification %s sent to %s via %s", m.key, m.person_id, channel_of(m.urls))
            else:
                counts.failed += 1
                log.warning("notification %s to %s failed (try %d of %d): %s", m.key, m.person_id, tries,
                            MAX_TRIES, result.error)
    return counts


def _known(store: StoreLike, keys: list[str]) -> dict[str, tuple[str, int, dt.datetime | None]]:
    """The keys that already have a row, read without taking a write lock."""
    found: dict[str, tuple[str, int, dt.datetime | None]] = {}
    with store.reading() as s:
        for i in range(0, len(keys), 500):
            for key, status, tries, at in s.execute(
                    select(Notification.dedupe_key, Notification.status, Notification.tries,
                           Notification.attempted_at).where(Notification.dedupe_key.in_(keys[i:i + 500]))):
                found[key] = (status, tries, at)
    return found


def _may_claim(state: tuple[str, int, dt.datetime | None], has_channel: bool, now: dt.datetime) -> bool:
    status, tries, at = state
    if not has_channel:
        return False
    return ((status == FAILED and tries < MAX_TRIES) or status == SKIPPED
            or (status == SENDING and at is not None and at < now - LEASE))


def _claim(store: StoreLike, m: Message, now: dt.datetime):
    """Insert the row and commit (a new key), or take over a retryable one. Returns (row id, tries), "skipped"
    when the person has no channel (the row records that), or None when the key is someone else's."""
    status = SENDING if m.urls else SKIPPED
    row = Notification(dedupe_key=m.key, person_id=m.person_id, org_id=m.org_id, case_id=m.case_id,
                       step_id=m.step_id, kind=m.kind, channel=channel_of(m.urls), title=m.title[:1000],
                       status=status, tries=1 if m.urls else 0, created_at=now,
                       attempted_at=now if m.urls else None)
    try:
        with store.writing() as s:
            s.add(row)
            s.commit()
            return (row.id, 1) if m.urls else "skipped"
    except IntegrityError:
        pass
    if not m.urls:
        return None
    with store.writing() as s:
        existing = s.scalar(select(Notification.id).where(Notification.dedupe_key == m.key))
        if existing is None:
            raise RuntimeError(f"notification {m.key} could not be claimed and has no row")
        taken = s.execute(
            update(Notification)
            .where(Notification.id == existing,
                   or_(and_(Notification.status == FAILED, Notification.tries < MAX_TRIES),
                       Notification.status == SKIPPED,
                       and_(Notification.status == SENDING, Notification.attempted_at < now - LEASE)))
            .values(status=SENDING, tries=Notification.tries + 1, attempted_at=now, error=None,
                    channel=channel_of(m.urls), title=m.title[:1000])
            .execution_options(synchronize_session=False))
        s.commit()
        if taken.rowcount != 1:
            return None
        tries = s.scalar(select(Notification.tries).where(Notification.id == existing))
        return existing, tries


def _record(store: StoreLike, row_id: int, ok: bool, error: str | None, now: dt.datetime) -> None:
    with store.writing() as s:
        s.execute(update(Notification).where(Notification.id == row_id, Notification.status == SENDING)
                  .values(status=SENT if ok else FAILED, sent_at=now if ok else None, error=error)
                  .execution_options(synchronize_session=False))
        s.commit()
