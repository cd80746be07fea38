"""A message for one channel: rendered from its template, shortened to the channel's size limit (the list cut, with
"……另有N项" and the link to the full list), the title moved into the body where the channel shows no title."""
from __future__ import annotations

import re
from typing import Any

from .channels import Profile
from .render import render


URL = re.compile(r"https?://[^\s）)]+")


def to_markdown(title: str, body: str, *, hard_breaks: bool) -> str:
    """The message as a robot's markdown: the title in bold, every link clickable, the line breaks kept."""
    lines = [f"**{title}**"] if title else []
    lines += [URL.sub(lambda m: f"[{m.group(0)}]({m.group(0)})", line) for line in body.split("\n")]
    return ("  \n" if hard_breaks else "\n").join(lines)


def _fits(title: str, body: str, profile: Profile) -> tuple[str, str, bool]:
    if profile.markdown:
        body, title = to_markdown(title, body, hard_breaks=profile.hard_breaks), ""
    elif not profile.title_shown:
        body, title = f"{title}\n{body}", ""
    return title, body, profile.max_bytes is None or len(body.encode()) <= profile.max_bytes


def compose(template: str, items: list[dict[str, Any]], profile: Profile, **context: Any) -> tuple[str, str, str]:
    """(subject, title, body) listing as many of `items` as the channel takes. The shortest form (no item listed) always
    carries the header, the count and the link; a single item is never cut."""
    total = len(items)

    subject = ""

    def attempt(k: int) -> tuple[str, str, bool]:
        nonlocal subject
        title, body = render(template, items=items[:k], all_items=items, more=total - k, total=total, **context)
        subject = title
        return _fits(title, body, profile)

    title, body, ok = attempt(total)
    if ok or total <= 1:
        return subject, title, body
    lo, hi = 0, total - 1  # the largest k that fits, by bisection: a 1,000-item list renders ten times, not 1,000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if attempt(mid)[2]:
            lo = mid
        else:
            hi = mid - 1
    title, body, _ = attempt(lo)
    return subject, title, body


def size_ok(title: str, body: str, profile: Profile) -> bool:
    return _fits(title, body, profile)[2]
