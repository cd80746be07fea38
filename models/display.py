"""How dates, codes and statuses are shown to people, in one place for the papers, the pages, the CLI and the
messages: Beijing time, the forms' own date styles, the circled codes, the Chinese status words."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from .codes import CIRCLED
from .timing import LOCAL_TZ, as_utc

DISPOSITION_STATUS = {
    "in_progress": "审批中",
    "effective": "已生效",
    "completed": "已办结",
    "withdrawn": "已撤回",
}
FOLLOWUP_STATUS = {"pending": "待触发", "fired": "已触发", "cancelled": "已取消"}


def as_date(value) -> dt.date | None:
    """A date, datetime (its local date in Asia/Shanghai) or ISO text as a date; None for nothing."""
    return _as_date(value)


def _as_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return as_utc(value).astimezone(LOCAL_TZ).date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    if "T" in text or len(text) > 10:
        return as_utc(dt.datetime.fromisoformat(text)).astimezone(LOCAL_TZ).date()
    return dt.date.fromisoformat(text)


def _as_local(value) -> dt.datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return as_utc(moment).astimezone(LOCAL_TZ)


def year_month(value) -> str:
    """出生年月, 入党时间: “1985.05”."""
    d = _as_date(value)
    return f"{d:%Y.%m}" if d else ""


def full_date(value) -> str:
    """出生日期 of the ledger: “1985.05.20”."""
    d = _as_date(value)
    return f"{d:%Y.%m.%d}" if d else ""


def cn_date(value) -> str:
    """The “年 月 日” line of a box: “2026年3月7日” (local date in Asia/Shanghai)."""
    d = _as_date(value)
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def local_time(value, *, date_only: bool = False) -> str:
    """A moment from the store (UTC, or ISO text) as Beijing wall time on screens: “2026-03-07 09:00”."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and "T" not in value and len(value) <= 10:
        return value
    moment = _as_local(value)
    return f"{moment:%Y-%m-%d}" if date_only else f"{moment:%Y-%m-%d %H:%M}"


def local_minute(value) -> str:
    """The 时间 of a search attempt: “2026.03.07 09:00” (Asia/Shanghai)."""
    moment = _as_local(value)
    return f"{moment:%Y.%m.%d %H:%M}" if moment else ""


QUARTERS = "一二三四"


def period_text(start, end) -> str:
    """The 统计时间 of a table counted over a period: “2026.03.07—2026.04.20” (one day when they coincide)."""
    first, last = _as_date(start), _as_date(end)
    if first is None or last is None or last <= first:
        return full_date(first or last)
    return f"{first:%Y.%m.%d}—{last:%Y.%m.%d}"


def quarter_period(as_of) -> str:
    """The 统计时间 of the quarterly table: the quarter and the day it stands at, “2026年第一季度（截至2026.03.25）”
    (the table counts every case as it stood that day)."""
    d = _as_date(as_of)
    if d is None:
        return ""
    return f"{d.year}年第{QUARTERS[(d.month - 1) // 3]}季度（截至{d:%Y.%m.%d}）"


def circled(number) -> str:
    """A numbered code as the forms print it: 3 -> “③”."""
    if number in (None, ""):
        return ""
    return CIRCLED[int(number) - 1]


def code_label(display: str | None) -> tuple[str, str]:
    """“③农村” -> (“③”, “农村”)."""
    if not display:
        return "", ""
    return display[0], display[1:]


def text_width(text: object) -> int:
    """Display width in half-width cells: a Chinese character counts two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text or ""))


_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def safe_filename(text: str) -> str:
    """A file name from a case id and a member's name, kept readable (Chinese stays) but safe on every system."""
    return _UNSAFE.sub("_", text).strip("._") or "unnamed"
