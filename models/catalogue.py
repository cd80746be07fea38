"""The disposition catalogue: every procedure of [003] plus non-recognition, recorded expulsion, restoration and the
settling of a relation held elsewhere, each with its ordered steps, as data.

A case stores the catalogue version it was opened under, so a later change of rules never rewrites a running case:
add a new version to `CATALOGUES` instead of editing one in use."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .codes import Action, Body, CaseState, FollowUpKind, LabelledEnum, MemberKind
from .timing import DEFAULT_CORRECTION_MONTHS


class Disposition(LabelledEnum):
    NORMAL_MANAGEMENT = "normal_management", "纳入党组织正常管理"
    KEEP_RELATION = "keep_relation", "保留组织关系（保留党籍）"
    SUSPEND_ABROAD = "suspend_abroad", "停止党籍（出国（境）长期定居）"
    CORRECT_IN_TIME = "correct_in_time", "限期改正"
    PERSUADE_WITHDRAW = "persuade_withdraw", "劝退，劝而不退除名"
    SELF_ABANDONMENT = "self_abandonment", "自行脱党除名"
    VOLUNTARY_WITHDRAWAL = "voluntary_withdrawal", "自愿退党（退党除名）"
    CANCEL_PROBATIONARY = "cancel_probationary", "取消预备党员资格"
    NON_RECOGNITION = "non_recognition", "不予承认党员资格"
    EXPULSION = "expulsion", "开除党籍（依纪律处分决定登记）"
    RELATION_SETTLED = "relation_settled", "理顺组织关系（已纳入其他党组织管理）"
    SUSPEND_UNREACHABLE = "suspend_unreachable", "停止党籍（确实无法取得联系）"
    SUSPEND_ABROAD_UNREACHABLE = "suspend_abroad_unreachable", "停止党籍（出国（境）定居且无法取得联系）"
    REMOVAL_AFTER_SUSPENSION = "removal_after_suspension", "自行脱党除名（停止党籍满两年仍无法取得联系）"
    CANCEL_PROBATIONARY_UNREACHABLE = "cancel_probationary_unreachable", "取消预备党员资格（无法取得联系或出国（境）定居）"
    RESTORE_MEMBERSHIP = "restore_membership", "恢复党籍"


class Contact(LabelledEnum):
    """Which cases a procedure applies to: by the result of the search, or a suspended membership."""

    CONTACTED = "contacted", "经查找取得联系"
    UNREACHABLE = "unreachable", "目前仍未取得联系"
    SUSPENDED = "suspended", "已停止党籍"


class Column(str, enum.Enum):
    """The leaf columns of the statistics table [002 annex 5] a case can be counted in. `C_OTHER` is the part of C
    that is none of its "of which" items D, E, F."""

    C_OTHER = "C"
    D = "D"
    E = "E"
    F = "F"
    H = "H"
    I = "I"  # noqa: E741 - the column's name on the official form
    J = "J"
    K = "K"
    L = "L"
    M = "M"
    N = "N"
    Q = "Q"
    R = "R"
    T = "T"
    U = "U"
    V = "V"
    W = "W"
    X = "X"


@dataclass(frozen=True)
class StepSpec:
    """One human decision of a procedure, at one level."""

    key: str
    body: Body
    action: Action
    title: str
    form_box: str | None = None  # the box of the full-process record (全程纪实表) this step fills
    needs_signature: bool = False  # a general-meeting resolution: the member signs, or the branch notes why not
    needs_guide: bool = False  # the base committee sends someone to guide the meeting
    effective: bool = False  # the disposition takes effect when this step is approved


@dataclass(frozen=True)
class Period:
    """A time window a proposal sets (the correction period): the parameter it is kept under, its bounds and
    default in months, and how a refusal names it."""

    param: str
    low: int
    high: int
    default: int
    label: str
    rule: str


@dataclass(frozen=True)
class Effects:
    """What a procedure does beyond its chain of decisions, declared here so that casework applies it without
    naming any procedure: adding a procedure of an existing shape touches this catalogue only."""

    contact: Contact | None = None  # the search result the case carries once the procedure takes effect
    suspends: bool = False  # suspended as unreachable: the case's two-year review counts from the day it takes effect
    suspends_membership: bool = False  # the member's standing becomes suspended (停止党籍), abroad or unreachable
    cancels: tuple[FollowUpKind, ...] = ()  # follow-ups a proposal of it cancels (a restoration: the review)...
    cancel_note: str = ""  # ...and the note they are cancelled with
    restores_on_withdrawal: tuple[FollowUpKind, ...] = ()  # scheduled again when the proposal is withdrawn
    returns_to_judgement_after: Disposition | None = None  # withdrawn after this completed: back to its judgement
    period: Period | None = None  # a time window the proposal sets
    reactivates: bool = False  # a suspended membership is active again, and the day it takes effect is a contact


@dataclass(frozen=True)
class SuspensionWindow:
    """For a suspended membership: a procedure allowed only before the two years are up, or only from that day
    [000 §4]. The refusal names the day; `{due}` in the message is replaced by it."""

    before_due: bool
    refusal_code: str
    refusal: str


@dataclass(frozen=True)
class Eligibility:
    """When a procedure may be proposed, beyond the search result and the kind of member it applies to."""

    during_correction: bool = False  # may be proposed while a correction period runs [003 #5]
    managed_elsewhere: bool = False  # only for a member the search found managed by another organisation
    suspension_window: SuspensionWindow | None = None


@dataclass(frozen=True)
class Procedure:
    code: Disposition
    number: str  # its number in [003], or "—"
    when: str  # the situation it is for, as the seeds say it
    applies_to: frozenset[Contact]
    steps: tuple[StepSpec, ...]
    materials: tuple[str, ...]
    column: Column
    column_unreachable: Column | None = None  # expulsion is counted in M or V by the search result
    result_state: CaseState = CaseState.CLOSED
    member_kinds: frozenset[MemberKind] = frozenset(MemberKind)
    followups: tuple[FollowUpKind, ...] = ()
    removal: bool = False  # a removal from the party: watched for rushed mass dispositions [001 §4]
    source: str = ""
    effects: Effects = field(default_factory=Effects)
    eligibility: Eligibility = field(default_factory=Eligibility)

    @property
    def title(self) -> str:
        return self.code.label

    @property
    def effective_index(self) -> int:
        return next(i for i, s in enumerate(self.steps) if s.effective)

    def column_for(self, contact: Contact) -> Column:
        if contact is Contact.CONTACTED:
            return self.column
        return self.column_unreachable or self.column


# Boxes of the full-process record 失联党员查找处置全程纪实表 [002 annex 4].
FORM_BOXES: dict[str, str] = {
    "investigation": "失联党员表现调查核实情况",
    "branch_committee_opinion": "支委会初步处置意见",
    "base_pre_review": "基层党委预审意见",
    "upper_pre_review": "上一级党委组织部门对拟劝退、除名处置的预审意见",
    "meeting_resolution": "支部党员大会决议",
    "base_approval": "基层党委审核（审批）意见",
    "upper_approval": "上一级党委组织部门对劝退、除名处置的审批意见",
    "remarks": "备注",
}

_CONTACTED = frozenset({Contact.CONTACTED})
_UNREACHABLE = frozenset({Contact.UNREACHABLE})
_SUSPENDED = frozenset({Contact.SUSPENDED})
_FULL = frozenset({MemberKind.FULL})
_PROBATIONARY = frozenset({MemberKind.PROBATIONARY})

_SUSPENDING = Effects(contact=Contact.SUSPENDED, suspends=True, suspends_membership=True)

_APPROVAL_FORM = "《处置不合格党员审批表》"
_WRITTEN_RECORD = "综合性写实材料（含调查核实情况）"
_OTHER = "其他有关材料"
_ABROAD_FORM = "《党员出国（境）保留组织关系（停止）党籍申请表》"


def _meeting(title: str, *, guide: bool, effective: bool = False) -> StepSpec:
    return StepSpec("general_meeting", Body.GENERAL_MEETING, Action.VOTE, title, "meeting_resolution",
                    needs_signature=True, needs_guide=guide, effective=effective)


# Steps (1)-(4) of [003] #5 and #6, also [000 §3]: the longest chain, seven steps and two levels above the branch.
_REMOVAL_STEPS = (
    StepSpec("branch_committee_opinion", Body.BRANCH_COMMITTEE, Action.OPINION, "支委会研究提出初步处置意见",
             "branch_committee_opinion"),
    StepSpec("base_review", Body.BASE_COMMITTEE, Action.REVIEW, "基层党委研究提出审核意见", "base_pre_review"),
    StepSpec("upper_pre_review", Body.UPPER_DEPARTMENT, Action.PRE_REVIEW, "上一级党委组织部门预审", "upper_pre_review"),
    _meeting("支部党员大会讨论表决处置意见", guide=True),
    StepSpec("base_final_review", Body.BASE_COMMITTEE, Action.REVIEW, "基层党委研究提出审核意见并报批", "base_approval"),
    StepSpec("upper_approval", Body.UPPER_DEPARTMENT, Action.APPROVE, "上一级党委组织部门审批", "upper_approval",
             effective=True),
    StepSpec("notify", Body.BRANCH, Action.NOTIFY, "党支部通知本人并以适当方式宣布", "remarks"),
)

# [003] #2 and #3: branch first review, base committee approval, filing with the district-or-higher department.
_ABROAD_STEPS = (
    StepSpec("branch_first_review", Body.BRANCH, Action.FIRST_REVIEW, "党支部初审", "branch_committee_opinion"),
    StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委审批", "base_approval", effective=True),
    StepSpec("upper_filing", Body.UPPER_DEPARTMENT, Action.FILE, "上一级党委组织部门登记备案", "upper_approval"),
)

# [003] #9, [000 §4]: the general meeting decides, the base committee approves, the upper department files.
_SUSPENSION_STEPS = (
    _meeting("支部党员大会作出停止党籍的决定", guide=False),
    StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委审批", "base_approval", effective=True),
    StepSpec("upper_filing", Body.UPPER_DEPARTMENT, Action.FILE, "报上一级党委组织部门备案", "upper_approval"),
)

# [003] #8: the general meeting discusses, the base committee approves.
_CANCEL_STEPS = (
    _meeting("支部党员大会讨论通过取消预备党员资格", guide=False),
    StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委批准", "base_approval", effective=True),
)

_REMOVAL_MATERIALS = (_APPROVAL_FORM, _WRITTEN_RECORD, _OTHER)

PROCEDURES_2018: tuple[Procedure, ...] = (
    Procedure(
        Disposition.NORMAL_MANAGEMENT, "1",
        "失联期间无不合格表现或违纪违法行为，本人能够正确认识失联问题，愿意按时参加党的组织生活、履行党员义务的",
        _CONTACTED,
        (
            StepSpec("branch_talk", Body.BRANCH, Action.TALK, "党支部进行谈话教育", "investigation"),
            StepSpec("branch_committee_agree", Body.BRANCH_COMMITTEE, Action.OPINION, "支委会研究同意",
                     "branch_committee_opinion"),
            StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委审批", "base_approval",
                     effective=True),
        ),
        ("《恢复联系党员认定表》", "党员本人签名的申请", _WRITTEN_RECORD),
        Column.C_OTHER, source="003 #1",
    ),
    Procedure(
        Disposition.KEEP_RELATION, "2", "短期出国（境）留学、工作或居住达6个月以上", _CONTACTED, _ABROAD_STEPS,
        (_ABROAD_FORM, _OTHER), Column.D, source="003 #2",
    ),
    Procedure(
        Disposition.SUSPEND_ABROAD, "3", "出国（境）长期定居党员", _CONTACTED, _ABROAD_STEPS,
        (_ABROAD_FORM, _OTHER), Column.E, member_kinds=_FULL, source="003 #3",
        effects=Effects(suspends_membership=True),
    ),
    Procedure(
        Disposition.CORRECT_IN_TIME, "4", "初步认定为不合格的党员，有继续留在党内意愿、愿意接受教育并决心改正的",
        _CONTACTED,
        (
            StepSpec("branch_committee_opinion", Body.BRANCH_COMMITTEE, Action.OPINION, "支委会研究提出初步处置意见",
                     "branch_committee_opinion"),
            StepSpec("base_pre_review", Body.BASE_COMMITTEE, Action.PRE_REVIEW, "基层党委预审", "base_pre_review"),
            _meeting("支部党员大会讨论表决处置意见", guide=True),
            StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委研究审批", "base_approval",
                     effective=True),
            StepSpec("notify", Body.BRANCH, Action.NOTIFY, "党支部通知本人并以适当方式宣布", "remarks"),
        ),
        _REMOVAL_MATERIALS, Column.F, result_state=CaseState.CORRECTING,
        followups=(FollowUpKind.CORRECTION_END,), source="003 #4",
        effects=Effects(period=Period("correction_months", 1, 24, DEFAULT_CORRECTION_MONTHS, "限期改正的期限",
                                      "DOMAIN §6")),
    ),
    Procedure(
        Disposition.PERSUADE_WITHDRAW, "5", "为达到个人目的以退党相要挟，经教育不改的；或限期改正期满后仍无转变的",
        _CONTACTED, _REMOVAL_STEPS, _REMOVAL_MATERIALS, Column.H, removal=True, source="003 #5",
        effects=Effects(returns_to_judgement_after=Disposition.CORRECT_IN_TIME),
        eligibility=Eligibility(during_correction=True),  # the correction period ended without change
    ),
    Procedure(
        Disposition.SELF_ABANDONMENT, "6",
        "理想信念缺失，政治立场动摇，已经丧失党员条件的；或因思想蜕化提出退党，经教育后仍然坚持退党的",
        _CONTACTED, _REMOVAL_STEPS, _REMOVAL_MATERIALS, Column.I, removal=True, source="003 #6",
    ),
    Procedure(
        Disposition.VOLUNTARY_WITHDRAWAL, "7", "对本人有明确态度，不愿继续留在党内的（须本人书面退党申请）",
        _CONTACTED,
        (
            _meeting("支部党员大会讨论，予以批准并除名", guide=False, effective=True),
            StepSpec("base_filing", Body.BASE_COMMITTEE, Action.FILE, "报基层党委备案", "base_approval"),
        ),
        ("书面自愿退党申请书", "《党员基本情况登记表》"), Column.J, removal=True, source="003 #7",
    ),
    Procedure(
        Disposition.CANCEL_PROBATIONARY, "8",
        "态度不端正的，如：对党员身份漠视、拒绝补交党费、长期拖延不转出的、仍然不参加组织生活",
        _CONTACTED, _CANCEL_STEPS, _REMOVAL_MATERIALS, Column.L, member_kinds=_PROBATIONARY, removal=True,
        source="003 #8",
    ),
    Procedure(
        Disposition.NON_RECOGNITION, "—", "违反规定吸收入党，或只有组织关系介绍信、没有《入党志愿书》等入党材料，无法认定党员身份的",
        _CONTACTED,
        (
            StepSpec("receiving_opinion", Body.BRANCH, Action.OPINION, "调入单位党组织提出意见",
                     "branch_committee_opinion"),
            StepSpec("county_approval", Body.COUNTY_DEPARTMENT, Action.APPROVE, "县级以上党委组织部门批准",
                     "upper_approval", effective=True),
        ),
        ("党员身份甄别材料", _OTHER), Column.K, removal=True, source="001 §4",
    ),
    Procedure(
        Disposition.EXPULSION, "—", "依《中国共产党纪律处分条例》作出开除党籍决定的（由纪律处分程序决定，本系统只登记）",
        frozenset({Contact.CONTACTED, Contact.UNREACHABLE, Contact.SUSPENDED}),
        (
            StepSpec("record_decision", Body.BASE_COMMITTEE, Action.RECORD, "基层党委登记开除党籍决定", "remarks",
                     effective=True),
        ),
        ("开除党籍处分决定书",), Column.M, column_unreachable=Column.V, removal=True, source="002 annex 5",
        eligibility=Eligibility(during_correction=True),  # a disciplinary decision does not wait for the period
    ),
    Procedure(
        Disposition.RELATION_SETTLED, "—", "失联期间已经纳入其他党组织管理的，与该党组织衔接理顺组织关系",
        _CONTACTED,
        (
            StepSpec("branch_confirm", Body.BRANCH, Action.OPINION, "党支部与管理党组织核实衔接", "investigation"),
            StepSpec("base_approval", Body.BASE_COMMITTEE, Action.APPROVE, "基层党委审批", "base_approval",
                     effective=True),
        ),
        ("管理党组织出具的证明材料",), Column.C_OTHER, source="004 (二); DOMAIN §4",
        eligibility=Eligibility(managed_elsewhere=True),
    ),
    Procedure(
        Disposition.SUSPEND_UNREACHABLE, "9", "经多方努力确实无法取得联系", _UNREACHABLE, _SUSPENSION_STEPS,
        ("党员查找联系记录表", "与党组织失去联系停止党籍情况登记表", _WRITTEN_RECORD, "支部决议材料", "党委决议材料", _OTHER),
        Column.T, result_state=CaseState.SUSPENDED, member_kinds=_FULL,
        followups=(FollowUpKind.TWO_YEAR_REVIEW,), source="003 #9", effects=_SUSPENDING,
    ),
    Procedure(
        Disposition.SUSPEND_ABROAD_UNREACHABLE, "9", "出国（境）党员，经多方查找确实无法取得联系", _UNREACHABLE,
        _SUSPENSION_STEPS,
        ("党员查找联系记录表", "与党组织失去联系停止党籍情况登记表", _WRITTEN_RECORD, "支部决议材料", "党委决议材料", _OTHER),
        Column.U, result_state=CaseState.SUSPENDED, member_kinds=_FULL,
        followups=(FollowUpKind.TWO_YEAR_REVIEW,), source="000 §4", effects=_SUSPENDING,
    ),
    Procedure(
        Disposition.REMOVAL_AFTER_SUSPENSION, "10", "经多方努力确实无法取得联系的党员，停止党籍2年后确实无法取得联系的",
        _SUSPENDED, _REMOVAL_STEPS,
        ("党员查找联系记录", "《停止党籍审批表》及有关记录", _APPROVAL_FORM, _WRITTEN_RECORD, _OTHER),
        Column.Q, removal=True, source="003 #10",
        eligibility=Eligibility(suspension_window=SuspensionWindow(
            False, "suspension_too_recent", "停止党籍未满两年（满两年之日为{due}），不能按自行脱党予以除名")),
    ),
    Procedure(
        Disposition.CANCEL_PROBATIONARY_UNREACHABLE, "11", "经多方努力确实无法取得联系或出国（境）定居的预备党员",
        _UNREACHABLE, _CANCEL_STEPS, ("党员查找联系记录", _WRITTEN_RECORD, _OTHER), Column.R,
        member_kinds=_PROBATIONARY, removal=True, source="003 #11",
    ),
    Procedure(
        Disposition.RESTORE_MEMBERSHIP, "—", "停止党籍2年内，本人与党组织联系并书面提出恢复党籍申请", _SUSPENDED,
        (
            StepSpec("branch_opinion", Body.BRANCH_COMMITTEE, Action.OPINION, "党支部调查了解情况，研究提出意见",
                     "branch_committee_opinion"),
            StepSpec("base_review", Body.BASE_COMMITTEE, Action.REVIEW, "基层党委审查", "base_approval"),
            StepSpec("upper_approval", Body.UPPER_DEPARTMENT, Action.APPROVE, "上一级党委组织部门批准",
                     "upper_approval", effective=True),
        ),
        ("本人书面恢复党籍申请", _WRITTEN_RECORD), Column.C_OTHER, source="000 §4",
        # Applied for inside the two years, the review no longer removes the member [000 §4]; withdrawn, it does.
        effects=Effects(contact=Contact.CONTACTED, cancels=(FollowUpKind.TWO_YEAR_REVIEW,),
                        cancel_note="本人已书面申请恢复党籍", restores_on_withdrawal=(FollowUpKind.TWO_YEAR_REVIEW,),
                        reactivates=True),
        eligibility=Eligibility(suspension_window=SuspensionWindow(
            True, "restoration_too_late", "停止党籍已满两年（{due}），不能恢复党籍")),
    ),
)

# Procedures the rules themselves start, by the event that starts them [000 §4] [003 #5 (2)].
STARTED_BY: dict[str, Disposition] = {
    "two_year_review": Disposition.REMOVAL_AFTER_SUSPENSION,  # suspended two years, still unreachable
    "correction_unchanged": Disposition.PERSUADE_WITHDRAW,  # the correction period ended without change
}

CURRENT_VERSION = "2018.1"
CATALOGUES: dict[str, dict[Disposition, Procedure]] = {
    CURRENT_VERSION: {p.code: p for p in PROCEDURES_2018},
}


def procedure(code: Disposition | str, version: str = CURRENT_VERSION) -> Procedure:
    return CATALOGUES[version][Disposition(code)]  # type: ignore[call-arg]  # look-up by value


def procedures(version: str = CURRENT_VERSION) -> tuple[Procedure, ...]:
    return tuple(CATALOGUES[version].values())


@dataclass(frozen=True)
class CatalogueRow:
    """A flat view of a procedure for listings and the CLI."""

    code: str
    number: str
    title: str
    when: str
    applies_to: list[str]
    steps: list[str] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)
    column: str = ""


def describe(version: str = CURRENT_VERSION) -> list[CatalogueRow]:
    return [
        CatalogueRow(p.code.value, p.number, p.title, p.when, [c.label for c in p.applies_to],
                     [f"{s.body.label}{s.action.label}：{s.title}" for s in p.steps], list(p.materials),
                     p.column.value)
        for p in procedures(version)
    ]
