"""Notification channels of organisations and people (notifications/ sends through them, casework/deliveries.py
writes them).

An organisation's channel is a group (WeCom group bot, DingTalk or Feishu group robot): one message per event,
however many of its people sit in the group. A person's channel is their own (e-mail, WeCom application message, a
webhook). The Apprise URL carries a token or a password, so it is kept only encrypted (`secret`, a Fernet token
under the key of LOSTCONTACT_CHANNEL_KEY or LOSTCONTACT_CHANNEL_KEY_FILE); `fingerprint` is a keyed hash of the URL
(the same URL entered twice is one channel, and one group given to two people is sent to once); `tail` is the last
four characters, for the masked display "wecombot://…3f9a"."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .store import Base


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("owner", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(80), index=True)  # "org:B1" or "person:sec1"
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(20))
    label: Mapped[str | None] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    tail: Mapped[str] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]



class StepAnnouncement(Base):
    """A step whose opening has been announced (in the summary of the steps its organisation got together): each
    step is covered by exactly one announcement, however many case runs race to announce it."""

    __tablename__ = "step_announcements"

    step_id: Mapped[str] = mapped_column(String(80), ForeignKey("steps.id"), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime]


# ---------------------------------------------------------------- what notifications/ and casework/ hand each other

QUEUED, SENDING, SENT, FAILED, FAILED_FINAL, SKIPPED = (
    "queued", "sending", "sent", "failed", "failed_final", "skipped_no_channel")
# A claim whose sender died between taking it and recording the outcome: perhaps delivered, never sent again.
UNCERTAIN = "uncertain"
GROUP_SCHEMES = frozenset({"wecombot", "dingtalk", "feishu", "lark"})


@dataclass(frozen=True)
class Target:
    """Where one message of an event goes: a channel (`channel_id`), or nowhere (`channel_id` None: the person has
    no channel and no group of theirs is reached; recorded as skipped so the gap is listed)."""

    key: str  # "c12" for a channel, "p:sec1" for a person not reached
    channel_id: int | None
    scheme: str | None
    org_id: str | None  # a group's organisation
    person_id: str | None  # a person's own channel, or the person not reached
    fingerprint: str | None = None  # the same URL reached twice in one event is sent to once

    @property
    def is_group(self) -> bool:
        return self.person_id is None


@dataclass(frozen=True)
class Outgoing:
    """One message to queue: one row of `notifications` under its UNIQUE dedupe key."""

    key: str
    kind: str
    target: Target
    title: str
    body: str
    org_id: str | None = None
    case_id: str | None = None
    step_id: str | None = None


@dataclass(frozen=True)
class Queued:
    """A queued row as the sender needs it."""

    id: int
    key: str
    channel_id: int | None
    scheme: str | None
    title: str
    body: str
    tries: int
