"""Messages from Jinja2 templates (templates/*.j2). Each template sets `title` at top level and renders the body;
times are shown in Asia/Shanghai."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from models.timing import LOCAL_TZ, as_utc

TEMPLATES = Path(__file__).resolve().parent / "templates"


def local_date_text(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def local_time_text(moment: dt.datetime) -> str:
    local = as_utc(moment).astimezone(LOCAL_TZ)
    return f"{local_date_text(local.date())} {local:%H:%M}"


def last_day(due_at: dt.datetime) -> dt.date:
    """The last local calendar day on which a step is still on time: a deadline at local midnight (how campaign
    phases are kept) belongs to the day before."""
    return (as_utc(due_at) - dt.timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()


def due_text(due_at: dt.datetime | None) -> str:
    """"2026年3月31日" for a deadline at local midnight, "2026年3月23日 09:00" otherwise."""
    if due_at is None:
        return "（未设期限）"
    local = as_utc(due_at).astimezone(LOCAL_TZ)
    if local.time() == dt.time(0, 0):
        return local_date_text(last_day(due_at))
    return local_time_text(due_at)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=False, trim_blocks=True,
                      lstrip_blocks=True, undefined=StrictUndefined, keep_trailing_newline=False)
    env.filters["due_text"] = due_text
    env.filters["local_time"] = local_time_text
    env.filters["local_date"] = local_date_text
    return env


def render(name: str, **context) -> tuple[str, str]:
    """(title, body) of templates/{name}.j2."""
    module = environment().get_template(f"{name}.j2").make_module(context)
    title = " ".join(str(module.title).split())
    body = "\n".join(line.rstrip() for line in str(module).strip().splitlines())
    return title, body
