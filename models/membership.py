"""A member's standing, carried from one campaign to the next: what a case's outcome writes on the member, and whom a
campaign may open a case for. Pure.

DOMAIN-style rules:
- A contact found (取得联系, or found already managed by another organisation) is a contact: the member's last-contact
  date becomes the attempt's date, so the six-month test of a later campaign [004] reads it. A restoration of
  membership (恢复党籍) is a contact too (the member applied in writing) and is dated when it takes effect.
- A death confirmed by the search (确认已死亡) makes the member dead. A disposition that takes the member out of the
  party (劝退/除名, 自行脱党除名, 退党除名, 取消预备党员资格, 不予承认, 开除党籍) makes the member out of the party when it
  takes effect; a suspension (停止党籍) makes the member suspended; a restoration makes the member active again.
- A receipt of a transfer letter means the relation moved to the receiving organisation: the member is transferred out.
- A campaign never opens a case for a member who has an open case (not 已办结), is dead, is out of the party, is
  suspended (DECISION: a suspended member has no organisation life to lose contact with; the two-year review of
  [000 §4] follows them instead), or was transferred out. Every such member is listed with the reason."""
from __future__ import annotations

from dataclasses import dataclass

from .catalogue import CURRENT_VERSION, Disposition, procedure
from .codes import LabelledEnum


class MemberStatus(LabelledEnum):
    ACTIVE = "active", "正常"
    SUSPENDED = "suspended", "已停止党籍"
    OUT = "out", "已出党"
    DEAD = "dead", "已死亡"
    TRANSFERRED = "transferred", "组织关系已转出"


@dataclass(frozen=True)
class MemberEffect:
    status: MemberStatus | None = None  # None: the status stays
    contact: bool = False  # the effective date is a contact with the organisation


def effect_of(code: Disposition, version: str = CURRENT_VERSION) -> MemberEffect:
    """What a disposition, once in effect, writes on the member, as its catalogue entry declares: a removal takes the
    member out of the party, a suspension suspends, a restoration makes the membership active again."""
    proc = procedure(code, version)
    if proc.removal:
        return MemberEffect(MemberStatus.OUT)
    if proc.effects.suspends_membership:
        return MemberEffect(MemberStatus.SUSPENDED)
    if proc.effects.reactivates:
        return MemberEffect(MemberStatus.ACTIVE, contact=True)
    return MemberEffect()


@dataclass(frozen=True)
class Skip:
    code: str
    reason: str  # Chinese, for the person who started the campaign


def campaign_skip(status: MemberStatus, open_case: str | None, status_note: str | None = None) -> Skip | None:
    """Why a campaign does not open a case for this lost-contact member, or None when it does."""
    if open_case is not None:
        return Skip("open_case", f"已有未结案件{open_case}，不重复立案")
    if status is MemberStatus.ACTIVE:
        return None
    reason = {
        MemberStatus.DEAD: "已确认死亡",
        MemberStatus.OUT: "已出党",
        MemberStatus.SUSPENDED: "已停止党籍，按停止党籍满两年复查办理",
        MemberStatus.TRANSFERRED: "组织关系已转出（回执已收到）",
    }[status]
    return Skip(status.value, reason + (f"（{status_note}）" if status_note else "") + "，不再立案查找")
