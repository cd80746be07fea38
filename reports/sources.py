"""What the papers need from the store beyond `casework.queries`: organisation and campaign names and the list of
cases under an organisation. Read-only `select()`s on the store's tables; nothing here writes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.orgs import descendants, org_chain, org_names
from models.codes import Role
from models.store import Campaign, Case, DispositionRow, Member, Organisation, Person, PersonRole


def org_name(session: Session, org_id: str | None) -> str:
    if not org_id:
        return ""
    org = session.get(Organisation, org_id)
    return org.name if org else org_id


def org_secretary(session: Session, org_id: str | None) -> str:
    """The name of the organisation's secretary (书记), who signs the statistics table as 负责领导; "" when it has
    none on record. Several secretaries on record: the first by person id, so the paper is stable."""
    if not org_id:
        return ""
    name = session.scalar(select(Person.name).join(PersonRole, PersonRole.person_id == Person.id)
                          .where(PersonRole.org_id == org_id, PersonRole.role == Role.SECRETARY)
                          .order_by(Person.id).limit(1))
    return name or ""


def shown_dispositions(session: Session, case_ids: list[str]) -> dict[str, tuple[str, str]]:
    """(the disposition's Chinese label, its status) each case's row of a list shows: the one in progress, else the
    latest, as the ledger shows it. One query for all the cases."""
    if not case_ids:
        return {}
    latest: dict[str, DispositionRow] = {}
    current: dict[str, DispositionRow] = {}
    for row, current_id in session.execute(
            select(DispositionRow, Case.disposition_id).join(Case, Case.id == DispositionRow.case_id)
            .where(DispositionRow.case_id.in_(case_ids)).order_by(DispositionRow.case_id, DispositionRow.seq)):
        latest[row.case_id] = row  # in order of seq, so the last one stays
        if row.id == current_id:
            current[row.case_id] = row
    return {cid: (row.code.label, row.status) for cid, row in {**latest, **current}.items()}


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
    """The branch's base committee and the department above it, by name: the same chain the steps are routed by
    (casework.orgs.org_chain), so a form's heading names the bodies that decided."""
    chain = org_chain(session, branch_id)
    names = org_names(session, [chain.branch, chain.base_committee, chain.upper_department])
    return Unit(names.get(chain.branch, chain.branch), names.get(chain.base_committee or "", ""),
                names.get(chain.upper_department or "", ""))


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
