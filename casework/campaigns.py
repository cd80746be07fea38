"""Campaigns (集中排查): a base committee starts one from its roster; every member lost-contact as of the start date
gets a case whose first step, the direct search, lands in the branch's inbox."""
from __future__ import annotations

import datetime as dt

from models.chronology import check_campaign
from models.codes import Body, CampaignPhase, FollowUpKind, FollowUpStatus, OrgKind
from models.errors import Refusal
from models.rules import check_actor
from models.store import Campaign, CampaignPhaseRow, FollowUp
from models.text import checked_arguments
from models.timing import LOCAL_TZ, UTC, local_midnight
from models.views import CampaignStarted, SkippedMember

from .membership import why_not_open
from .opening import Opening, hold_case_openings, open_cases, open_cases_of
from .orgs import get_org, org_names
from .roster import lost_contact_members
from .uow import Work, action


def phase_due_at(value: str | dt.date | dt.datetime) -> dt.datetime:
    """A deadline given as a date means the end of that local day; a date-time is taken in Asia/Shanghai unless it
    names its zone (the seeds give deadlines like "3月28日下午5:00")."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value) if "T" in value or " " in value else dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)
    return local_midnight(value + dt.timedelta(days=1))


@action("start_campaign", CampaignStarted)
@checked_arguments
def start_campaign(work: Work, *, campaign_id: str, org_id: str, name: str, start_date: str,
                   phases: dict[str, str] | None = None) -> CampaignStarted:
    """Start a campaign for a base committee: find who is lost-contact as of `start_date` (six months back, [004]),
    open one case per member with the direct search open, and schedule the phase deadlines. A member with an open
    case, dead, out of the party, suspended or transferred out gets no case; the answer lists them with the reason
    (`models.membership`). The name, the start date and the phase deadlines must be possible in time
    (`models.chronology`)."""
    s = work.session
    org = get_org(s, org_id)
    if org.kind is not OrgKind.BASE_COMMITTEE:
        raise Refusal("not_base_committee", f"集中排查由基层党委发起，{org.name}是{org.kind.label}", "004")
    roles = work.roles()
    check_actor(Body.BASE_COMMITTEE, org_id, roles, deciding=True, org_names=org_names(s, [org_id, *roles]))
    if not campaign_id.strip() or s.get(Campaign, campaign_id) is not None:
        raise Refusal("campaign_exists", f"排查活动编号“{campaign_id}”为空或已被使用", "004")
    try:
        start = dt.date.fromisoformat(start_date)
    except ValueError:
        raise Refusal("bad_date", f"排查开始日期“{start_date}”不是有效日期（应为YYYY-MM-DD）", "004") from None
    deadlines: dict[CampaignPhase, dt.datetime] = {}
    for key, due in (phases or {}).items():
        try:
            deadlines[CampaignPhase(key)] = phase_due_at(due)  # type: ignore[call-arg]  # lookup by value
        except ValueError:
            raise Refusal("bad_phase", f"阶段“{key}”或其截止时间“{due}”无效", "004") from None
    check_campaign(name, start, deadlines, now=work.now)
    name = name.strip()
    campaign = Campaign(id=campaign_id, org_id=org_id, name=name, start_date=start, created_by=work.actor_id,
                        created_at=work.now)
    s.add(campaign)
    for phase, due_at in deadlines.items():
        s.add(CampaignPhaseRow(campaign_id=campaign_id, phase=phase, starts_on=start, due_at=due_at))
        s.add(FollowUp(id=f"{campaign_id}:phase:{phase.value}", kind=FollowUpKind.PHASE_DEADLINE,
                       campaign_id=campaign_id, subject_id=phase.value, due_at=due_at, status=FollowUpStatus.PENDING,
                       created_at=work.now))
    s.flush()

    # Who gets a case: one read of the open cases, taken while no other transaction may open one, then the cases
    # written set-wise (`casework.opening`: the rows `membership.open_case` writes, without a flush per row).
    hold_case_openings(s)
    already_open = open_cases_of(s)
    openings: list[Opening] = []
    skipped = []
    members = lost_contact_members(s, org_id, start)
    for n, member in enumerate(members, start=1):
        skip = why_not_open(member, already_open.get(member.id))
        if skip is not None:
            skipped.append({"member_id": member.id, "name": member.name, "code": skip.code, "reason": skip.reason,
                            "open_case": already_open.get(member.id)})
            continue
        openings.append(Opening(member, f"{campaign_id}-{n:05d}",
                                member.situation.label if member.situation else None))
    opened = open_cases(work, openings, base_committee_id=org_id, campaign_id=campaign_id,
                        cause={"opened_by": "campaign", "campaign_id": campaign_id, "start_date": start})
    work.audit(org_id=org_id, campaign_id=campaign_id, start_date=start, opened=len(opened), skipped=len(skipped))
    return CampaignStarted(campaign_id=campaign_id, start_date=start.isoformat(), cases_opened=len(opened),
                           case_ids=opened, skipped=[SkippedMember.model_validate(s) for s in skipped])
