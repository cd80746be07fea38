"""What several commands share: explaining refusals that carry a report, and the few look-ups the CLI needs to turn
what a person types into the identifiers casework takes.

The look-ups only read. They live here because casework has no query for them yet (see the CLI's report): the top
organisations of the tree, and a member by resident ID number."""
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


def top_organisations(session) -> list[str]:
    """The roots of the organisation tree (used when a listing is asked for without --org)."""
    from sqlalchemy import select

    from models.store import Organisation

    return list(session.scalars(select(Organisation.id).where(Organisation.parent_id.is_(None))
                                .order_by(Organisation.id)))


def require_org(session, org_id: str) -> None:
    from casework.orgs import get_org

    get_org(session, org_id)  # raises NotFound("组织", …)


def require_person(session, person_id: str) -> None:
    from models.errors import NotFound
    from models.store import Person

    if session.get(Person, person_id) is None:
        raise NotFound("人员", person_id)


def member_id(session, text: str) -> str:
    """A member's stored id, given either that id or the resident ID number (which is what a person knows)."""
    from sqlalchemy import select

    from models.errors import NotFound
    from models.store import Member

    text = text.strip()
    if session.get(Member, text) is not None:
        return text
    found = session.scalar(select(Member.id).where(Member.id_number == text.upper()))
    if found is None:
        raise NotFound("党员", text)
    return found


def orgs_or_roots(session, org: str | None) -> list[str]:
    if org:
        require_org(session, org)
        return [org]
    return top_organisations(session)
