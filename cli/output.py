"""Printing for the CLI: one JSON document on stdout with --json, readable Chinese lines and tables otherwise;
messages, warnings and progress always on stderr.

Commands hand a casework view (models.views) to `emit` together with a renderer for people; nothing else writes to
stdout. With --json the document is the view's `model_dump(mode="json")` with `ok` added."""
from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import click

LOCAL_TZ_NAME = "Asia/Shanghai"


# ---------------------------------------------------------------- streams

def out(text: str = "") -> None:
    """A line for people on stdout (never used with --json)."""
    click.echo(text)


def err(text: str = "") -> None:
    """A line on stderr: refusals, warnings, notes, progress."""
    click.echo(text, err=True)


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "model_dump"):  # a view (pydantic is not imported here: the CLI starts without it)
        return value.model_dump(mode="json")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return str(value)


def emit(env, result: Any, render: Callable[[dict[str, Any]], None] | None = None) -> None:
    """The success answer of a command: `{"ok": true, ...view}` with --json, else `render(view)` (the view's fields
    as JSON values, as the document has them)."""
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    if env.json:
        click.echo(to_json({"ok": True, **result}))
        return
    if result.get("replayed"):
        out("（同一请求编号的重复提交：返回首次办理的结果，未重复办理）")
    if render is not None:
        render(result)
    warning = result.get("warning")
    if warning:
        err(str(warning))


def emit_error(json_mode: bool, error: dict[str, Any], human: str) -> None:
    """A failure: the Chinese sentence on stderr always; with --json also `{"ok": false, "error": {...}}` on
    stdout, so a script reads exactly one document whatever happened."""
    err(human)
    if json_mode:
        click.echo(to_json({"ok": False, "error": error}))


# ---------------------------------------------------------------- times

def local_time(value: str | dt.datetime | None, *, date_only: bool = False) -> str:
    """An ISO time from the store (UTC) as Asia/Shanghai wall time (models.display)."""
    from models.display import local_time as shown

    return shown(value, date_only=date_only)


# ---------------------------------------------------------------- tables with CJK widths

def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def clip(text: str, limit: int | None) -> str:
    if limit is None or width(text) <= limit:
        return text
    kept, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > limit - 1:
            break
        kept.append(ch)
        used += w
    return "".join(kept) + "…"


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    return " ".join(str(value).split())  # one line per row


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, limits: Sequence[int | None] | None = None) -> str:
    """A plain-text table; columns padded by display width (a Chinese character is two columns wide)."""
    body = [[clip(cell(v), (limits[i] if limits and i < len(limits) else None)) for i, v in enumerate(r)]
            for r in rows]
    widths = [width(h) for h in headers]
    for r in body:
        for i, v in enumerate(r):
            widths[i] = max(widths[i], width(v))

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (widths[i] - width(v)) for i, v in enumerate(values)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in body)])


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, empty: str = "（无）",
                limits: Sequence[int | None] | None = None) -> None:
    if not rows:
        out(empty)
        return
    out(table(headers, rows, limits=limits))


def fields(pairs: Iterable[tuple[str, Any]]) -> None:
    """Label：value lines, labels aligned."""
    pairs = [(k, v) for k, v in pairs]
    pad = max((width(k) for k, _ in pairs), default=0)
    for k, v in pairs:
        out(f"{k}{' ' * (pad - width(k))}：{cell(v)}")


# ---------------------------------------------------------------- shared renderers

def render_step(step: dict[str, Any] | None, *, prefix: str = "下一步") -> None:
    if not step:
        out("当前没有待办事项")
        return
    due = local_time(step.get("due_at"))
    out(f"{prefix}：{step['title']}（待办编号 {step['step_id']}）—— 由{step['body_label']}（{step['org_id']}）办理"
        + (f"，期限 {due}" if due else ""))


def render_case(result: dict[str, Any]) -> None:
    """The answer every case action gives: where the case stands and what is open now."""
    out(f"案件 {result['case_id']}：{result['state_label']}（统计栏目 {result['column']}，版本 {result['version']}）")
    render_step(result.get("open_step"))


from models.display import DISPOSITION_STATUS, FOLLOWUP_STATUS  # noqa: E402,F401  (re-exported: one wording for every interface)


def refusal_lines(error: dict[str, Any]) -> str:
    """A refusal as a person reads it: the Chinese sentence (naming the rule) and the stable code."""
    return f"不符合规定，未予办理（{error.get('code')}）：{error.get('message')}"


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
