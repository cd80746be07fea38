"""Time order, pure: a record that goes up the hierarchy must be possible in time.

DOMAIN-style rules (the seeds demand a full-process record 全程纪实 with the time of every attempt and decision [000 §5]
[002 annex 4]; a record out of order is a record nobody can sign):
- every recorded time comes after the step or the attempt it follows: a search attempt after the previous attempt of
  the case and not before the search began (the campaign's start day, or the case's opening); a decision, a proposal,
  a judgement not before the step it closes was opened;
- no recorded time lies in the future beyond `FUTURE_TOLERANCE` (clocks of phones and servers differ a little);
- no date of a member's life in the party lies before the founding of the Party (1921-07-01) or the member's birth;
- a campaign has a name, a start date within `CAMPAIGN_START_AHEAD` of today and not before the founding, and phase
  deadlines after its start and in the order of the phases (verify, search, report, dispose);
- a transfer letter has a destination and is not dated in the future; its receipt not before the letter.

`--now` and `--at` exist for entering past work: they move the clock, never the order. Each check raises
`Refusal(code, Chinese message naming the rule, rule citation)`; `day_problem` gives the same sentence without raising,
for the roster's row-by-row report."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from .codes import CampaignPhase
from .errors import Refusal
from .timing import LOCAL_TZ, UTC

FOUNDING = dt.date(1921, 7, 1)  # 中国共产党成立
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
CAMPAIGN_START_AHEAD = dt.timedelta(days=366)  # DECISION: a campaign may be registered up to a year ahead
RULE = "DOMAIN §4"  # every attempt on record with its time [002 附件4]
RULE_CHAIN = "DOMAIN §5"  # a step cannot be taken before the step before it
RULE_CAMPAIGN = "004"


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TZ).date()


def check_moment(subject: str, label: str, at: dt.datetime, *, now: dt.datetime, birth: dt.date | None = None,
                 after: Iterable[tuple[str, dt.datetime | None]] = (), rule: str = RULE) -> None:
    """A recorded time `at` (aware) of what `label` names: not in the future, not before 1921-07-01 or the member's
    birth, not before any of `after` ((what it follows, when) pairs). Codes are `<subject>_in_future`,
    `<subject>_before_founding`, `<subject>_before_birth`, `<subject>_out_of_order`."""
    at = at.astimezone(UTC)
    if at > now + FUTURE_TOLERANCE:
        raise Refusal(f"{subject}_in_future", f"{label}（{_local(at)}）不能晚于当前时间（{_local(now)}）", rule,
                      at=at.isoformat())
    if _day(at) < FOUNDING:
        raise Refusal(f"{subject}_before_founding", f"{label}（{_day(at).isoformat()}）早于中国共产党成立（1921年7月1日）",
                      rule, at=at.isoformat())
    if birth is not None and _day(at) < birth:
        raise Refusal(f"{subject}_before_birth", f"{label}（{_day(at).isoformat()}）早于党员出生日期（{birth.isoformat()}）",
                      rule, at=at.isoformat())
    for what, earlier in after:
        if earlier is not None and at < earlier.astimezone(UTC):
            raise Refusal(f"{subject}_out_of_order",
                          f"{label}（{_local(at)}）早于{what}（{_local(earlier)}），记录须按时间先后顺序登记", rule,
                          at=at.isoformat(), earlier=earlier.isoformat())


def check_step_time(subject: str, doing: str, now: dt.datetime, follows: str, since: dt.datetime) -> None:
    """A decision (or a proposal, a judgement) is dated by the clock it is made at (`--now` for past work): never
    before the step it closes was opened (`follows` names it, e.g. “基层党委审批”的开启时间), which is when the step
    before it was decided."""
    check_moment(subject, f"{doing}时间", now, now=now, after=[(follows, since)], rule=RULE_CHAIN)


def day_problem(label: str, day: dt.date, *, today: dt.date, birth: dt.date | None = None,
                not_before: tuple[str, dt.date] | None = None) -> str | None:
    """The Chinese sentence for a calendar date that cannot be (future, before 1921-07-01, before birth, before
    `not_before`), or None."""
    if day > today:
        return f"{label}（{day.isoformat()}）晚于今天（{today.isoformat()}）"
    if day < FOUNDING:
        return f"{label}（{day.isoformat()}）早于中国共产党成立（1921年7月1日）"
    if birth is not None and day < birth:
        return f"{label}（{day.isoformat()}）早于出生日期（{birth.isoformat()}）"
    if not_before is not None and day < not_before[1]:
        return f"{label}（{day.isoformat()}）早于{not_before[0]}（{not_before[1].isoformat()}）"
    return None


def check_day(subject: str, label: str, day: dt.date, *, now: dt.datetime, birth: dt.date | None = None,
              not_before: tuple[str, dt.date] | None = None, rule: str = RULE) -> None:
    problem = day_problem(label, day, today=_day(now + FUTURE_TOLERANCE), birth=birth, not_before=not_before)
    if problem:
        raise Refusal(f"{subject}_out_of_time", problem, rule, value=day.isoformat())


def check_campaign(name: str, start: dt.date, phases: Mapping[CampaignPhase, dt.datetime], *,
                   now: dt.datetime) -> None:
    """A campaign [004]: a name; a start date that is a real working date (not before 1921-07-01, not more than a
    year ahead); phase deadlines after the start and in the order of the phases."""
    if not (name or "").strip():
        raise Refusal("campaign_name_required", "排查活动须有名称", RULE_CAMPAIGN)
    latest = _day(now) + CAMPAIGN_START_AHEAD
    if start < FOUNDING or start > latest:
        raise Refusal("campaign_start_out_of_range",
                      f"排查开始日期{start.isoformat()}不合理（应在1921-07-01至{latest.isoformat()}之间）",
                      RULE_CAMPAIGN, start_date=start.isoformat())
    start_moment = dt.datetime.combine(start, dt.time(), LOCAL_TZ)
    previous: tuple[CampaignPhase, dt.datetime] | None = None
    for phase in CampaignPhase:  # the enum is in the order of the phases
        due = phases.get(phase)
        if due is None:
            continue
        if due <= start_moment:
            raise Refusal("phase_before_start",
                          f"阶段“{phase.label}”的截止时间（{_local(due)}）不晚于排查开始日期（{start.isoformat()}）",
                          RULE_CAMPAIGN, phase=phase.value)
        if previous is not None and due < previous[1]:
            raise Refusal("phases_out_of_order",
                          f"阶段“{phase.label}”的截止时间（{_local(due)}）早于前一阶段“{previous[0].label}”的截止时间"
                          f"（{_local(previous[1])}），各阶段须依次截止", RULE_CAMPAIGN, phase=phase.value)
        previous = (phase, due)


def check_letter(receiving_org: str, issued_on: dt.date, *, now: dt.datetime, birth: dt.date | None) -> None:
    """A transfer letter 组织关系介绍信 [000 §2]: a destination, and an issue date that is not in the future."""
    if not (receiving_org or "").strip():
        raise Refusal("destination_required", "组织关系介绍信须写明接收党组织", "000 §2")
    check_day("letter", "介绍信开具日期", issued_on, now=now, birth=birth, rule="000 §2")


def check_receipt(received_on: dt.date, issued_on: dt.date, *, now: dt.datetime) -> None:
    check_day("receipt", "回执日期", received_on, now=now, not_before=("介绍信开具日期", issued_on), rule="000 §2")
