"""Calendar rules: who is lost-contact, who is out of control, and the due dates of follow-ups.

Deadlines in these rules are calendar months and days, not working days (DOMAIN §9). Every function takes the
reference date or time as an argument so tests and simulations can move the clock."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc

LOST_CONTACT_MONTHS = 6  # [001 §2] [004]
OUT_OF_CONTROL_MONTHS = 1  # [002 measure 2]
SUSPENSION_REVIEW_YEARS = 2  # [000 §4]
DEFAULT_CORRECTION_MONTHS = 6  # DECISION (DOMAIN §6): set in the resolution, default 6 months
RECEIPT_MONTHS = 1  # [000 §2]
# DECISION: how long a step may wait before it counts as late and is escalated, when no campaign phase sets an
# earlier deadline. The seeds' example campaign gives the whole search 16 days [004]; configurable per deployment.
STEP_DUE_DAYS = {"search": 16, "proposal": 15, "review": 15, "judgement": 15}


def step_due(kind: str, opened_at: dt.datetime, phase_due: dt.datetime | None = None) -> dt.datetime:
    due = opened_at + dt.timedelta(days=STEP_DUE_DAYS[kind])
    return min(due, phase_due) if phase_due and phase_due > opened_at else due


def lost_contact_cutoff(campaign_start: dt.date) -> dt.date:
    """The last contact date that still makes a member lost-contact: six months back from the campaign start."""
    return campaign_start - relativedelta(months=LOST_CONTACT_MONTHS)


def is_lost_contact(last_contact: dt.date | None, campaign_start: dt.date) -> bool:
    """DECISION (DOMAIN §3): lost-contact when the last contact is on or before the cutoff (inclusive), or when there
    is no recorded contact at all. Counted back from the campaign's start date [004]."""
    return last_contact is None or last_contact <= lost_contact_cutoff(campaign_start)


def is_out_of_control(away_since: dt.date | None, reported_to_branch: bool, as_of: dt.date) -> bool:
    """Away for more than one month without reporting to the branch goes on the out-of-control list [002 measure 2]."""
    if away_since is None or reported_to_branch:
        return False
    return as_of > away_since + relativedelta(months=OUT_OF_CONTROL_MONTHS)


def lost_contact_duration(last_contact: dt.date | None, search_end: dt.date) -> str:
    """与党组织失去联系时间: from the last organisation life or dues payment to the end of the search [002], as the
    forms write it (“X年Y个月”)."""
    if last_contact is None:
        return "无联系记录"
    delta = relativedelta(search_end, last_contact)
    years, months = delta.years, delta.months
    if years and months:
        return f"{years}年{months}个月"
    if years:
        return f"{years}年"
    return f"{months}个月" if months else f"{delta.days}天"


def suspension_review_due(suspended_at: dt.datetime) -> dt.datetime:
    """Two years after the suspension took effect [000 §4]."""
    return suspended_at + relativedelta(years=SUSPENSION_REVIEW_YEARS)


def correction_end_due(approved_at: dt.datetime, months: int = DEFAULT_CORRECTION_MONTHS) -> dt.datetime:
    return approved_at + relativedelta(months=months)


def receipt_due(issued_on: dt.date, validity_days: int) -> dt.date:
    """The receipt is due one month after the member reports to the receiving base committee [000 §2]; the member
    has the letter's validity to report, so the latest receipt date is issue + validity + one month."""
    return issued_on + dt.timedelta(days=validity_days) + relativedelta(months=RECEIPT_MONTHS)


def utcnow() -> dt.datetime:
    return dt.datetime.now(UTC)


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date in Asia/Shanghai, which is what deadlines and forms speak of."""
    return as_utc(moment).astimezone(LOCAL_TZ).date()


def as_utc(moment: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC (that is how the store keeps them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of a local calendar day, in UTC."""
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(UTC)
