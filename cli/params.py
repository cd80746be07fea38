"""Option types: moments and dates as people type them (Asia/Shanghai unless a zone is given), votes, key=value."""
from __future__ import annotations

import datetime as dt
import re

import click

from models.text import MAX_YEAR, MIN_YEAR

VOTE_KEYS = ("entitled", "present", "in_favour", "against", "abstaining")


def local_tz():
    from models.timing import LOCAL_TZ

    return LOCAL_TZ


class Moment(click.ParamType):
    """An ISO date-time, e.g. 2028-03-08T09:00 or 2028-03-08 09:00 or 2028-03-08T01:00Z. Without a zone it is
    Asia/Shanghai wall time; a bare date means 00:00 that day there. Returns an aware datetime."""

    name = "ISO-TIME"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"“{value}”不是有效的时间（应为YYYY-MM-DD或YYYY-MM-DDTHH:MM，可带时区）", param, ctx)
        if not MIN_YEAR <= moment.year <= MAX_YEAR:
            self.fail(f"“{value}”的年份超出允许范围（{MIN_YEAR}-{MAX_YEAR}年）", param, ctx)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=local_tz())
        return moment


class Day(click.ParamType):
    """An ISO calendar date YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"“{value}”不是有效的日期（应为YYYY-MM-DD）", param, ctx)
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            self.fail(f"“{value}”的年份超出允许范围（{MIN_YEAR}-{MAX_YEAR}年）", param, ctx)
        return day


class VoteType(click.ParamType):
    """A general meeting's vote: `应到,实到,赞成[,反对[,弃权]]`, e.g. 20,18,16,1,1, or
    `entitled=20,present=18,in_favour=16,against=1,abstaining=1`."""

    name = "N,N,N[,N,N]"

    def convert(self, value, param, ctx):
        if isinstance(value, dict):
            return value
        parts = [p.strip() for p in re.split(r"[,，]", str(value)) if p.strip()]
        try:
            if parts and all("=" in p for p in parts):
                vote = {k.strip(): int(v) for k, v in (p.split("=", 1) for p in parts)}
                unknown = set(vote) - set(VOTE_KEYS)
                if unknown or not {"entitled", "present", "in_favour"} <= set(vote):
                    raise ValueError
            else:
                numbers = [int(p) for p in parts]
                if not 3 <= len(numbers) <= 5:
                    raise ValueError
                vote = dict(zip(VOTE_KEYS, numbers))
        except ValueError:
            self.fail(f"“{value}”不是有效的表决情况（应为“应到,实到,赞成,反对,弃权”人数，如20,18,16,1,1）", param, ctx)
        vote.setdefault("against", 0)
        vote.setdefault("abstaining", 0)
        return vote


class KeyValue(click.ParamType):
    """KEY=VALUE (e.g. a campaign phase: search=2026-03-31)."""

    name = "KEY=VALUE"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        key, sep, val = str(value).partition("=")
        if not sep or not key.strip() or not val.strip():
            self.fail(f"“{value}”应写作 阶段=截止时间，如 search=2026-03-31", param, ctx)
        return key.strip(), val.strip()


MOMENT = Moment()
DAY = Day()
VOTE = VoteType()
KEY_VALUE = KeyValue()
