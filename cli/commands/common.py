"""What several commands share: explaining refusals that carry a report. (Look-ups such as the top organisations or a
member by resident ID number are casework queries: `casework.queries.org_scope`, `member_id_of`.)"""
from __future__ import annotations

from typing import Any

from .. import output


def explain_refusal(exc) -> None:
    """List a refused roster's bad rows on stderr (the message names only their line numbers)."""
    report = (exc.details or {}).get("report") if hasattr(exc, "details") else None
    if isinstance(report, dict):
        print_roster_problems(report, stream_err=True)


def print_roster_problems(report: dict[str, Any], *, stream_err: bool = False) -> None:
    say = output.err if stream_err else output.out
    errors = report.get("errors") or []
    if errors:
        say(f"有误的行（{len(errors)}行）：")
        say(output.table(["行号", "姓名", "身份证号", "原因"],
                         [[e.get("line"), e.get("name"), e.get("id_number"), "；".join(e.get("reasons") or [])]
                          for e in errors]))
    warnings = report.get("warnings") or []
    if warnings:
        say(f"提示（{len(warnings)}条）：")
        say(output.table(["行号", "姓名", "提示"],
                         [[w.get("line", ""), w.get("name", ""), w.get("message", "")] for w in warnings]))

