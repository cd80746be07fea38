"""When and where messages go, configurable by environment (defaults in brackets):

  LOSTCONTACT_BASE_URL            the web app every message links to [http://127.0.0.1:8000]
  LOSTCONTACT_DIGEST_TIME         the daily digest and the day's reminders, Asia/Shanghai time [08:30]
  LOSTCONTACT_DAILY_WINDOW        minutes after the digest time in which a late run still sends the day's messages
                                  (the deployment runs at the digest time; the window only absorbs its delay) [60]
  LOSTCONTACT_DIGEST_WEEKENDS     1: digests on Saturday and Sunday too [0]
  LOSTCONTACT_REMIND_BEFORE       days before a step's last day on which it is reminded [2,0]
  LOSTCONTACT_REMIND_LATE_EVERY   while late, a reminder every this many days [3]
  LOSTCONTACT_ESCALATE_DAYS       days late at which the organisation above is told, once each [7,14,30]
  LOSTCONTACT_AHEAD_DAYS          follow-ups announced this many days before they fall due, per kind
                                  [two_year_review=30,correction_end=30,transfer_receipt=7/0,phase_deadline=3/0]"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field

DEFAULT_AHEAD = {"two_year_review": (30,), "correction_end": (30,), "transfer_receipt": (7, 0),
                 "phase_deadline": (3, 0)}


def _days(text: str) -> tuple[int, ...]:
    return tuple(sorted({int(x) for x in text.replace("/", ",").split(",") if x.strip()}))


def _time(text: str) -> dt.time:
    hours, minutes = text.strip().split(":")
    return dt.time(int(hours), int(minutes))


@dataclass(frozen=True)
class Settings:
    base_url: str = "http://127.0.0.1:8000"
    digest_time: dt.time = dt.time(8, 30)
    window_minutes: int = 60
    digest_weekends: bool = False
    remind_before: tuple[int, ...] = (0, 2)
    late_every: int = 3
    escalate_days: tuple[int, ...] = (7, 14, 30)
    ahead: dict[str, tuple[int, ...]] = field(default_factory=lambda: dict(DEFAULT_AHEAD))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        ahead = dict(DEFAULT_AHEAD)
        for part in env.get("LOSTCONTACT_AHEAD_DAYS", "").split(","):
            if "=" in part:
                kind, days = part.split("=", 1)
                ahead[kind.strip()] = _days(days)
        return cls(
            base_url=env.get("LOSTCONTACT_BASE_URL", cls.base_url).rstrip("/"),
            digest_time=_time(env.get("LOSTCONTACT_DIGEST_TIME", "08:30")),
            window_minutes=max(1, int(env.get("LOSTCONTACT_DAILY_WINDOW", "60"))),
            digest_weekends=env.get("LOSTCONTACT_DIGEST_WEEKENDS", "0").strip() in ("1", "true", "yes"),
            remind_before=_days(env.get("LOSTCONTACT_REMIND_BEFORE", "2,0")),
            late_every=max(1, int(env.get("LOSTCONTACT_REMIND_LATE_EVERY", "3"))),
            escalate_days=_days(env.get("LOSTCONTACT_ESCALATE_DAYS", "7,14,30")),
            ahead=ahead)

    def case_link(self, case_id: str) -> str:
        return f"{self.base_url}/cases/{case_id}"

    def inbox_link(self) -> str:
        return f"{self.base_url}/inbox"

    def in_working_hours(self, local: dt.datetime) -> bool:
        """Within the daily window that opens at the digest time (never at night, whoever calls)."""
        opens = dt.datetime.combine(local.date(), self.digest_time, local.tzinfo)
        return opens <= local < opens + dt.timedelta(minutes=self.window_minutes)

    def is_digest_day(self, day: dt.date) -> bool:
        return self.digest_weekends or day.weekday() < 5

    def reminder_due(self, offset_days: int) -> bool:
        """On the day `offset_days` after a step's last day (negative: before it), is it reminded?"""
        if offset_days <= 0:
            return -offset_days in self.remind_before
        return offset_days % self.late_every == 0
