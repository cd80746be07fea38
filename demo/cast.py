"""Who plays in the demo and what they write: the organisation tree and its people, the scenarios a case is given,
the texts of search attempts, proposals and opinions."""
from __future__ import annotations

from dataclasses import dataclass, field

from models.catalogue import Disposition
from models.codes import Action

STORE_FILE = "lostcontact-demo.sqlite"
BASE = "TOWN"
BRANCHES = ("B1", "B2", "B3")
DEFAULT_PORT = 4200

# ---------------------------------------------------------------- the organisation

ORGANISATIONS = [
    {"id": "COUNTY", "name": "青山县委组织部", "kind": "department", "parent": None, "county_or_higher": True},
    {"id": "TOWN", "name": "青山镇党委", "kind": "base_committee", "parent": "COUNTY"},
    {"id": "B1", "name": "东山村党支部", "kind": "branch", "parent": "TOWN", "category": 3},
    {"id": "B2", "name": "西河村党支部", "kind": "branch", "parent": "TOWN", "category": 3},
    {"id": "B3", "name": "青山社区党支部", "kind": "branch", "parent": "TOWN", "category": 7},
]

PEOPLE = [
    {"id": "b1_sec", "name": "张卫东", "phone": "13907310001", "roles": [{"org": "B1", "role": "secretary"}]},
    {"id": "b1_org", "name": "李秀兰", "phone": "13907310002", "roles": [{"org": "B1", "role": "organisation_member"}]},
    {"id": "b2_sec", "name": "王建国", "phone": "13907310003", "roles": [{"org": "B2", "role": "secretary"}]},
    {"id": "b2_org", "name": "刘桂英", "phone": "13907310004", "roles": [{"org": "B2", "role": "organisation_member"}]},
    {"id": "b3_sec", "name": "陈志刚", "phone": "13907310005", "roles": [{"org": "B3", "role": "secretary"}]},
    {"id": "b3_org", "name": "杨丽娟", "phone": "13907310006", "roles": [{"org": "B3", "role": "organisation_member"}]},
    {"id": "town_sec", "name": "赵国强", "phone": "13907310010", "roles": [{"org": "TOWN", "role": "secretary"}]},
    {"id": "town_org", "name": "周明", "phone": "13907310011", "roles": [{"org": "TOWN", "role": "committee_member"}]},
    {"id": "town_staff", "name": "钱小芳", "phone": "13907310012", "roles": [{"org": "TOWN", "role": "staff"}]},
    {"id": "county_org", "name": "孙海涛", "phone": "13907310020",
     "roles": [{"org": "COUNTY", "role": "deputy_secretary"}]},
    {"id": "county_staff", "name": "吴静", "phone": "13907310021", "roles": [{"org": "COUNTY", "role": "staff"}]},
]
NOTIFIED_PERSON = "town_sec"  # gets a json:// URL to the demo's own receiver on loopback; everyone else has none

# How many people a branch's general meeting has (entitled, present) — the votes differ by branch.
MEETINGS = {"B1": (23, 20), "B2": (17, 15), "B3": (31, 26)}


# ---------------------------------------------------------------- the scenarios

@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    probationary: bool | None  # True: probationary members only; False: full members only; None: either


SCENARIOS = {s.key: s for s in (
    Scenario("suspend_remove", "未找到→停止党籍→满两年自行脱党除名", False),
    Scenario("suspend_restore", "未找到→停止党籍→两年内申请恢复党籍", False),
    Scenario("persuade", "直接联系上→劝退（上级预审退回一次）", None),
    Scenario("correct_changed", "部门查找联系上→限期改正→有转变", None),
    Scenario("normal", "直接联系上→纳入正常管理", None),
    Scenario("prob_unreachable", "预备党员未找到→取消预备党员资格", True),
    Scenario("dead", "人际查找确认已死亡", None),
    Scenario("elsewhere", "已在其他党组织管理→理顺组织关系", None),
    Scenario("keep", "其他方式联系上，出国留学→保留组织关系", None),
    Scenario("searching", "尚在查找联系", None),
    Scenario("prob_contacted", "预备党员态度不端正→取消预备党员资格", True),
    Scenario("suspend_remove_open", "停止党籍满两年→除名程序办理中", False),
    Scenario("correct_nochange", "限期改正→期满无转变→劝退", None),
    Scenario("normal_network", "人际查找联系上→纳入正常管理", None),
    Scenario("suspend_abroad", "出国定居且未找到→停止党籍", False),
    Scenario("suspend_waiting", "停止党籍满两年→除名程序待办", False),
)}
PRIORITY = ("suspend_remove", "suspend_restore", "persuade", "correct_changed", "searching", "normal",
            "suspend_remove_open", "dead", "elsewhere", "keep", "correct_nochange", "normal_network",
            "suspend_abroad")
PROBATIONARY_PRIORITY = ("prob_unreachable", "prob_contacted")
EXTRAS_FULL = ("normal", "suspend_waiting", "normal_network", "searching", "dead")
EXTRAS_PROBATIONARY = ("normal", "searching", "prob_unreachable")

# Where the search ends for each scenario: (stage, outcome); every earlier stage finds nothing.
SEARCH_END = {
    "persuade": ("direct", "contacted"), "normal": ("direct", "contacted"),
    "prob_contacted": ("network", "contacted"), "normal_network": ("network", "contacted"),
    "dead": ("network", "dead"),
    "correct_changed": ("department", "contacted"), "correct_nochange": ("department", "contacted"),
    "elsewhere": ("department", "managed_elsewhere"),
    "keep": ("other", "contacted"),
    "searching": ("other", None),  # an attempt in the last stage that does not conclude it
}  # everything else: not found at every stage (still unreachable)

PROPOSALS = {
    "normal": ("normal_management", "失联期间无不合格表现，本人能够正确认识失联问题，愿意按时参加组织生活、履行党员义务",
               "经谈话了解，本人在外务工期间遵纪守法，无违纪违法行为；因更换手机号码未及时告知党支部"),
    "normal_network": ("normal_management", "失联期间无不合格表现，本人愿意按时参加组织生活、交纳党费",
                       "经亲属联系本人，本人在外省经营小超市，无违纪违法行为，已补交党费"),
    "keep": ("keep_relation", "本人出国（境）留学，期限两年以上，申请保留组织关系",
             "通过微信视频与本人谈话，本人在英国攻读硕士学位，预计两年后回国，在外无违纪违法行为"),
    "persuade": ("persuade_withdraw", "为达到个人目的以退党相要挟，经党支部多次教育仍不改正",
                 "本人要求党支部为其解决宅基地纠纷，否则退党；党支部书记先后三次上门谈话教育，本人态度未变"),
    "correct_changed": ("correct_in_time", "失联期间长期不参加组织生活、不交纳党费，初步认定为不合格党员，本人愿意接受教育并改正",
                        "经社保信息联系到本人，本人在市区务工，近三年未参加组织生活、未交纳党费，表示愿意改正"),
    "correct_nochange": ("correct_in_time", "长期不参加组织生活、不交纳党费，初步认定为不合格党员，本人表示愿意改正",
                         "经社保信息联系到本人，本人在外地经商，失联期间无违法行为，但对组织生活态度消极"),
    "elsewhere": ("relation_settled", "本人失联期间已纳入其他党组织管理，与该党组织衔接理顺组织关系",
                  "经全国党员管理信息系统核实，本人2023年起在某市某物流公司党支部参加组织生活，原组织关系未转出"),
    "prob_contacted": ("cancel_probationary", "预备期内长期不参加组织生活、拒绝补交党费，对党员身份漠视",
                       "经其同学联系到本人，本人表示工作忙不愿参加组织生活，拒绝补交党费"),
    "prob_unreachable": ("cancel_probationary_unreachable", "预备党员经四个阶段查找确实无法取得联系", ""),
    "suspend_abroad": ("suspend_abroad_unreachable", "据亲属反映本人已出国（境）定居，经多方查找确实无法取得联系", ""),
}  # the other suspended scenarios: suspend_unreachable
SUSPEND_GROUNDS = "经直接联系、人际查找、部门查找和其他方式查找，确实无法取得联系"

SEARCH_TEXT = {
    # stage: (method, description when not found, witness)
    "direct": [("打电话", "拨打名册登记的手机号码，提示已停机", None),
               ("登门走访", "按户籍地址登门走访，房屋已出租，现住户不认识本人", None)],
    "network": [("亲属", "联系其父母及兄弟姐妹，均称多年未与本人联系，不知去向", None)],
    "department": [("公安户籍系统", "公安户籍、人社社保、医保平台批量比对，未查到本人近年参保、就医和居住登记信息",
                    None)],
    "other": [("网络社交平台", "通过微信、QQ、抖音等平台搜索本人并留言，均无回复", None),
              ("12371党建热线联系原籍地组织部门", "通过12371党建热线请原籍地组织部门协查，未查到本人信息", None)],
}
FOUND_TEXT = {
    ("direct", "contacted"): ("打电话", "拨打备用联系人提供的新号码，与本人取得联系，本人在外省务工"),
    ("network", "contacted"): ("同学", "通过本人中学同学取得其新的联系方式，与本人通话取得联系"),
    ("network", "dead"): ("亲属", "本人兄长证实本人已于前年因病去世，提供了死亡医学证明复印件"),
    ("department", "contacted"): ("人社社保平台", "人社社保平台查询到本人在市区某公司参保，经联系单位与本人取得联系"),
    ("department", "managed_elsewhere"): ("公安户籍系统",
                                         "经全国党员管理信息系统核实，本人组织关系已在某市某物流公司党支部，正常参加组织生活"),
    ("other", "contacted"): ("网络社交平台", "通过微信与本人取得联系，本人在英国留学"),
}
FOLLOWUP_LABEL = {"two_year_review": "停止党籍满两年复查", "correction_end": "限期改正期满", "phase_deadline": "排查阶段截止",
                  "transfer_receipt": "介绍信回执"}


# ---------------------------------------------------------------- a json:// receiver on loopback


@dataclass
class CasePlan:
    case_id: str
    member_name: str
    branch_id: str
    probationary: bool
    scenario: str
    rejected_once: bool = False
    story: list[str] = field(default_factory=list)



# ---------------------------------------------------------------- small helpers

def _witness(plan: CasePlan, stage: str) -> str:
    if stage == "department":
        return "镇党委工作人员 钱小芳"
    return {"B1": "东山村党支部组织委员 李秀兰", "B2": "西河村党支部组织委员 刘桂英",
            "B3": "青山社区党支部组织委员 杨丽娟"}[plan.branch_id]


def _label(code: str) -> str:
    return Disposition(code).label


def _short(title: str) -> str:
    return title.split("（", 1)[0].split("，", 1)[0]


def _opinion(action, title: str, plan: CasePlan) -> str:
    return {
        Action.TALK: "已与本人谈话，本人认识到长期未参加组织生活的错误，表示今后按时参加组织生活、交纳党费",
        Action.OPINION: f"支委会研究，同意{title}",
        Action.FIRST_REVIEW: f"经初审，情况属实，材料齐全，同意{title}",
        Action.PRE_REVIEW: f"经预审，事实清楚、材料齐全、程序规范，同意提交支部党员大会讨论{title}",
        Action.VOTE: f"支部党员大会讨论表决，同意{title}",
        Action.REVIEW: f"经审核，同意{title}，按程序报批",
        Action.APPROVE: f"同意{title}",
        Action.FILE: "已登记备案",
        Action.NOTIFY: ("本人无法取得联系，已在支部党员大会上宣布并将决定存档" if plan.scenario.startswith("suspend")
                        else "已当面通知本人，并在支部党员大会上宣布"),
        Action.RECORD: "已登记",
        Action.JUDGE: "已评估",
    }[action]


