"""Codes of the rulebook with their Chinese labels, and the glossary of the two languages.

Every enum value is the stable identifier used in code, the store and the JSON API; `.label` is what a person
reads. The numbered codes of [002] (situation, organisation category, occupation) keep their official number, so a
roster may give "①", "1" or the label text for them (see `parse_code`).
"""
from __future__ import annotations

import enum

CIRCLED = "①②③④⑤⑥⑦⑧⑨"


class LabelledEnum(str, enum.Enum):
    """A str enum whose members carry a Chinese label: `Member("value", "标签")`."""

    label: str

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    def __str__(self) -> str:  # so f-strings and logs show the stable value
        return self.value


class NumberedCode(int, enum.Enum):
    """An official numbered code of [002]; `.label` is its text, `.circled` the way the forms print it."""

    label: str

    def __new__(cls, number: int, label: str):
        obj = int.__new__(cls, number)
        obj._value_ = number
        obj.label = label
        return obj

    @property
    def circled(self) -> str:
        return CIRCLED[self.value - 1]

    @property
    def display(self) -> str:
        return f"{self.circled}{self.label}"


class Situation(NumberedCode):
    """失去联系情形 [002]."""

    OUT_FOR_WORK = 1, "外出务工经商"
    UNIT_RESTRUCTURED = 2, "单位改制或破产"
    UNKNOWN_AFTER_GRADUATION = 3, "毕业后去向不明"
    EMPLOYER_CHANGED = 4, "工作单位改变"
    ABROAD = 5, "出国（境）"
    RESIDENCE_CHANGED = 6, "居住地改变"
    OTHER = 7, "其他"


class OrgCategory(NumberedCode):
    """党组织类别 [002]."""

    STATE_ENTERPRISE = 1, "国有企业"
    NON_PUBLIC_ENTERPRISE = 2, "非公有制企业"
    RURAL = 3, "农村"
    PARTY_GOVERNMENT_ORGAN = 4, "党政机关"
    SCHOOL = 5, "学校"
    OTHER_PUBLIC_INSTITUTION = 6, "其他事业单位"
    STREET_COMMUNITY = 7, "街道社区"
    SOCIAL_ORGANISATION = 8, "社会组织"
    OTHER = 9, "其他"


class Occupation(NumberedCode):
    """职业 [002]."""

    STATE_ENTERPRISE_CONTRACT_ENDED = 1, "国有企业解除劳动关系人员"
    LEFT_NON_PUBLIC_ENTERPRISE = 2, "非公有制企业离职人员"
    RURAL_MIGRANT = 3, "农村外出务工经商人员"
    RETIRED_FROM_ORGANS = 4, "党政机关事业单位离退休人员"
    GRADUATE = 5, "高校毕业生"
    RESIDENT_AWAY_FROM_REGISTRATION = 6, "街道社区人户分离人员"
    RELATION_AT_TALENT_CENTRE = 7, "组织关系在人才中心人员"
    OTHER = 8, "其他"


def parse_code(enum_cls: type[NumberedCode], text: object) -> NumberedCode:
    """Read a numbered code as a roster gives it: 3, "3", "③", "③农村" or "农村". Raises ValueError in Chinese."""
    raw = str(text).strip() if text is not None else ""
    if not raw:
        raise ValueError("为空")
    label = ""
    if raw[0] in CIRCLED:
        number, label = CIRCLED.index(raw[0]) + 1, raw[1:].strip()
    elif raw.isdigit() or (raw.endswith(".0") and raw[:-2].isdigit()):  # spreadsheets give 3.0 for 3
        number = int(raw.split(".")[0])
    else:
        for member in enum_cls:
            if member.label == raw:
                return member
        raise ValueError(f"“{raw}”不是有效代码")
    try:
        member = enum_cls(number)  # type: ignore[call-arg]  # a look-up by value, not a new member
    except ValueError:
        raise ValueError(f"“{raw}”不是有效代码（应为1-{len(enum_cls)}）") from None
    if label and label != member.label:
        raise ValueError(f"“{raw}”的代码与文字不符（{member.circled}是“{member.label}”）")
    return member


class Gender(LabelledEnum):
    MALE = "male", "男"
    FEMALE = "female", "女"


class MemberKind(LabelledEnum):
    """正式党员 / 预备党员."""

    FULL = "full", "正式党员"
    PROBATIONARY = "probationary", "预备党员"


class OrgKind(LabelledEnum):
    """A node of the organisation tree. A department may be county-or-higher (flag on the organisation)."""

    BRANCH = "branch", "党支部"
    BASE_COMMITTEE = "base_committee", "基层党委"
    DEPARTMENT = "department", "党委组织部门"


class Level(LabelledEnum):
    """The level a step is decided at, relative to the member's branch."""

    BRANCH = "branch", "党支部"
    BASE_COMMITTEE = "base_committee", "基层党委"
    UPPER_DEPARTMENT = "upper_department", "上一级党委组织部门"
    COUNTY_DEPARTMENT = "county_department", "县级以上党委组织部门"


class Body(LabelledEnum):
    """Who takes a step. The three branch bodies all act at the branch level."""

    BRANCH = "branch", "党支部"
    BRANCH_COMMITTEE = "branch_committee", "支委会"
    GENERAL_MEETING = "general_meeting", "支部党员大会"
    BASE_COMMITTEE = "base_committee", "基层党委"
    UPPER_DEPARTMENT = "upper_department", "上一级党委组织部门"
    COUNTY_DEPARTMENT = "county_department", "县级以上党委组织部门"

    @property
    def level(self) -> Level:
        return {
            Body.BRANCH: Level.BRANCH,
            Body.BRANCH_COMMITTEE: Level.BRANCH,
            Body.GENERAL_MEETING: Level.BRANCH,
            Body.BASE_COMMITTEE: Level.BASE_COMMITTEE,
            Body.UPPER_DEPARTMENT: Level.UPPER_DEPARTMENT,
            Body.COUNTY_DEPARTMENT: Level.COUNTY_DEPARTMENT,
        }[self]


class Role(LabelledEnum):
    """A person's role at one organisation. Staff record work; the others may also decide steps."""

    SECRETARY = "secretary", "书记"
    DEPUTY_SECRETARY = "deputy_secretary", "副书记"
    ORGANISATION_MEMBER = "organisation_member", "组织委员"
    COMMITTEE_MEMBER = "committee_member", "委员"
    STAFF = "staff", "工作人员"

    @property
    def may_decide(self) -> bool:
        return self is not Role.STAFF


class Action(LabelledEnum):
    """What a review step does."""

    TALK = "talk", "谈话教育"
    OPINION = "opinion", "提出意见"
    FIRST_REVIEW = "first_review", "初审"
    PRE_REVIEW = "pre_review", "预审"
    VOTE = "vote", "讨论表决"
    REVIEW = "review", "审核"
    APPROVE = "approve", "审批"
    FILE = "file", "备案"
    NOTIFY = "notify", "通知本人并宣布"
    RECORD = "record", "登记"
    JUDGE = "judge", "评估"


class Verdict(LabelledEnum):
    """The decision on a step. A rejection sends the case back one step with the reason on record."""

    APPROVE = "approve", "同意"
    REJECT = "reject", "不同意（退回）"


class Stage(LabelledEnum):
    """The four search stages, in order [001 §2] [004 (二)]."""

    DIRECT = "direct", "直接联系"
    NETWORK = "network", "人际查找"
    DEPARTMENT = "department", "部门查找"
    OTHER = "other", "其他方式查找"

    @property
    def body(self) -> Body:
        # Inter-departmental search is "usually done in one batch by the base committee" [004].
        return Body.BASE_COMMITTEE if self is Stage.DEPARTMENT else Body.BRANCH

    @property
    def methods(self) -> tuple[str, ...]:
        """Suggested methods, as the seeds list them (free text is accepted too)."""
        return STAGE_METHODS[self]


STAGE_ORDER: tuple[Stage, ...] = (Stage.DIRECT, Stage.NETWORK, Stage.DEPARTMENT, Stage.OTHER)

STAGE_METHODS: dict[Stage, tuple[str, ...]] = {
    Stage.DIRECT: ("打电话", "发短信", "登门走访"),
    Stage.NETWORK: ("亲属", "邻居", "同事", "同学", "朋友"),
    Stage.DEPARTMENT: ("公安户籍系统", "人社社保平台", "医保平台", "教育学籍系统", "卫生计生", "民政低保信息", "房产信息",
                       "市场监管经营注册信息", "税务"),
    Stage.OTHER: ("网络社交平台", "电信运营商", "民航铁路系统", "12371党建热线联系原籍地组织部门", "破产改制企业留守处",
                  "亲朋同学团聚"),
}


class Outcome(LabelledEnum):
    """The outcome of one search attempt [004]."""

    CONTACTED = "contacted", "取得联系"
    NOT_FOUND = "not_found", "未取得联系"
    DEAD = "dead", "确认已死亡"
    MANAGED_ELSEWHERE = "managed_elsewhere", "已纳入其他党组织管理"


class CaseState(LabelledEnum):
    """Where a case stands. Open states have exactly one open step; closed states have none."""

    SEARCHING = "searching", "查找中"
    CONTACTED = "contacted", "已取得联系，待提出处置意见"
    UNREACHABLE = "unreachable", "经查找仍无法取得联系，待提出处置意见"
    IN_PROCEDURE = "in_procedure", "处置审批中"
    DISPOSED = "disposed", "已处置"
    CORRECTING = "correcting", "限期改正中"
    SUSPENDED = "suspended", "已停止党籍"
    CLOSED = "closed", "已办结"

    @property
    def is_open(self) -> bool:
        return self is not CaseState.CLOSED


class StepKind(LabelledEnum):
    """A unit of work in an inbox."""

    SEARCH = "search", "查找联系"
    PROPOSAL = "proposal", "调查核实并提出处置意见"
    REVIEW = "review", "审批步骤"
    JUDGEMENT = "judgement", "限期改正期满评估"


class StepStatus(LabelledEnum):
    OPEN = "open", "待办"
    DONE = "done", "已办"
    REJECTED = "rejected", "已退回"
    CANCELLED = "cancelled", "已撤销"


class FollowUpKind(LabelledEnum):
    TWO_YEAR_REVIEW = "two_year_review", "停止党籍满两年复查"
    CORRECTION_END = "correction_end", "限期改正期满"
    TRANSFER_RECEIPT = "transfer_receipt", "组织关系介绍信回执"
    PHASE_DEADLINE = "phase_deadline", "排查阶段截止"


class FollowUpStatus(LabelledEnum):
    PENDING = "pending", "待触发"
    FIRED = "fired", "已触发"
    CANCELLED = "cancelled", "已取消"


class ReferralTarget(LabelledEnum):
    DISCIPLINE = "discipline", "纪检机关"
    POLICE = "police", "公安机关"


class CampaignPhase(LabelledEnum):
    """The phases of a campaign [001] [004]; deadlines are set per campaign."""

    VERIFY = "verify", "核查党员信息"
    SEARCH = "search", "联系查找党员"
    REPORT = "report", "报送统计表"
    DISPOSE = "dispose", "完成组织处置"


GLOSSARY: dict[str, str] = {
    "失联党员": "lost-contact member",
    "失控党员": "out-of-control member (away > 1 month without reporting)",
    "口袋党员": "pocket member (transfer letter never confirmed)",
    "集中排查": "campaign",
    "党支部": "branch",
    "支委会": "branch committee",
    "支部党员大会": "general meeting",
    "基层党委": "base committee",
    "上一级党委组织部门": "upper organisation department",
    "县级以上党委组织部门": "county-or-higher organisation department",
    "组织关系": "organisational relation",
    "组织生活": "organisation life",
    "党费": "party dues",
    "全程纪实": "full-process record (dossier)",
    "一人一档": "one person, one file",
    "工作台账": "ledger",
    "预审": "pre-review",
    "审核": "review",
    "审批": "approval",
    "备案": "filing",
    "决议": "resolution",
    "停止党籍": "suspension of membership",
    "恢复党籍": "restoration of membership",
    "保留组织关系": "keep relation",
    "限期改正": "correct within a time limit",
    "劝退": "persuade to withdraw",
    "除名": "removal",
    "自行脱党": "self-abandonment",
    "退党": "withdrawal",
    "取消预备党员资格": "cancellation of probationary membership",
    "不予承认党员资格": "non-recognition of membership",
    "开除党籍": "expulsion",
    "回执": "transfer receipt",
}
