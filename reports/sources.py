"""What the papers need from the store beyond `casework.queries`: organisation and campaign names and the list of
cases under an organisation. Read-only `select()`s on the store's tables; nothing here writes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.orgs import descendants
from models.codes import OrgKind
from models.store import Campaign, Case, Member, Organisation


def org_name(session: Session, org_id: str | None) -> str:
    if not org_id:
        return ""
    org = session.get(Organisation, org_id)
    return org.name if org else org_id


@dataclass(frozen=True)
class Unit:
    """The organisations above a member's branch, by name, for the heading of a form."""

    branch: str
    base_committee: str
    upper_department: str

    @property
    def heading(self) -> str:
        """The 单位 of the full-process record: the base committee and the branch."""
        return " ".join(n for n in (self.base_committee, self.branch) if n)


def unit_of(session: Session, branch_id: str) -> Unit:
    """Walks the tree upwards from the branch: the first base committee above it and the department above that."""
    names: dict[str, tuple[str, str, str | None]] = {
        oid: (name, kind.value if hasattr(kind, "value") else str(kind), parent)
        for oid, name, kind, parent in session.execute(
            select(Organisation.id, Organisation.name, Organisation.kind, Organisation.parent_id))}
    branch = names.get(branch_id, (branch_id, "branch", None))
    base = upper = ""
    seen: set[str] = set()
    current = branch[2]
    while current and current in names and current not in seen:
        seen.add(current)
        name, kind, parent = names[current]
        if kind == OrgKind.BASE_COMMITTEE.value and not base:
            base = name
        elif kind == OrgKind.DEPARTMENT.value and base and not upper:
            upper = name
            break
        current = parent
    return Unit(branch[0], base, upper)


@dataclass(frozen=True)
class CampaignInfo:
    campaign_id: str
    name: str
    start_date: dt.date


def campaign_info(session: Session, campaign_id: str | None) -> CampaignInfo | None:
    if not campaign_id:
        return None
    row = session.execute(select(Campaign.id, Campaign.name, Campaign.start_date)
                          .where(Campaign.id == campaign_id)).first()
    return CampaignInfo(*row) if row else None


def cases_under(session: Session, org_id: str, campaign_id: str | None = None) -> list[tuple[str, str]]:
    """(case id, member name) of every case of a branch under the organisation, in the order of the lists."""
    q = (select(Case.id, Member.name).join(Member, Member.id == Case.member_id)
         .where(Case.branch_id.in_(descendants(session, org_id))))
    if campaign_id:
        q = q.where(Case.campaign_id == campaign_id)
    return [tuple(r) for r in session.execute(q.order_by(Case.branch_id, Case.id))]
