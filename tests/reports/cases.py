"""Real cases for the papers, driven through casework (tests/casework/drive.py) on the conftest organisation tree.

Members are added first and one campaign is started for all of them (a campaign opens a case for every lost-contact
member of its base committee), then each case is driven through its procedure."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from casework.dispositions import decide_step
from casework.search import record_attempt
from models.codes import Gender, MemberKind, Occupation, Situation, Stage
from models.store import Member
from tests.casework.drive import (ACTOR, VOTE_PASSED, approve_open, case_of, file_all_materials, make_id, open_step,
                                  propose, start)
from tests.conftest import T0

_serial = itertools.count(500)
_campaigns = itertools.count(1)
LOCAL = dt.timezone(dt.timedelta(hours=8))
FIRST_ATTEMPT = dt.datetime(2026, 3, 8, 2, 30, tzinfo=dt.timezone.utc)  # 10:30 in Asia/Shanghai


@dataclass
class Member_:
    member_id: str
    name: str
    id_number: str
    phone: str


def add_full_member(store, *, name: str, branch: str = "B1", kind: MemberKind = MemberKind.FULL,
                    gender: Gender = Gender.MALE, birth: dt.date = dt.date(1988, 11, 3),
                    joined: dt.date = dt.date(2012, 6, 28), last_contact: dt.date = dt.date(2024, 12, 15),
                    phone: str = "13800001111", position: str = "外出务工", ethnicity: str = "汉族",
                    situation: Situation = Situation.OUT_FOR_WORK,
                    occupation: Occupation = Occupation.RURAL_MIGRANT, remarks: str | None = None) -> Member_:
    """A member with every field the papers print."""
    n = next(_serial)
    id_number = make_id(birth, gender, n)
    with store.writing() as s:
        s.add(Member(id=f"r{n:04d}", id_number=id_number, branch_id=branch, name=name, gender=gender,
                     ethnicity=ethnicity, birth_date=birth, joined_on=joined, phone=phone, position=position,
                     occupation=occupation, kind=kind, last_contact_on=last_contact, situation=situation,
                     remarks=remarks, created_at=T0, updated_at=T0, reported_to_branch=False))
        s.commit()
    return Member_(f"r{n:04d}", name, id_number, phone)


@dataclass
class Built:
    case_id: str
    name: str
    id_number: str
    phone: str
    attempts: list[dict] = field(default_factory=list)  # as recorded: local time, description, witness, remark
    opinions: dict[str, str] = field(default_factory=dict)  # step key -> opinion text
    deciders: dict[str, str] = field(default_factory=dict)  # step key -> person id


def new_campaign(store) -> str:
    campaign_id = f"RC{next(_campaigns)}"
    start(store, campaign_id=campaign_id)
    return campaign_id


def record_attempts(store, case_id: str, plan: list[tuple[str, str, str, bool]],
                    *, start_at: dt.datetime = FIRST_ATTEMPT) -> list[dict]:
    """Record attempts (stage, outcome, witness, concludes_stage), one a day at 10:30 local time."""
    done = []
    for k, (stage, outcome, witness, concludes) in enumerate(plan):
        when = start_at + dt.timedelta(days=k)
        stage_ = Stage(stage)
        method = stage_.methods[k % len(stage_.methods)]
        description = (f"第{k + 1}次查找，{method}未果" if outcome == "not_found"
                       else f"第{k + 1}次查找，{method}，已与本人取得联系")
        remark = f"备注{k + 1}" if k % 2 == 0 else ""
        actor = "town_staff" if stage_ is Stage.DEPARTMENT else "sec1"
        record_attempt(store, actor_id=actor, now=when + dt.timedelta(hours=1), case_id=case_id, stage=stage,
                       method=method, description=description, witness=witness, outcome=outcome,
                       attempted_at=when.isoformat(), remark=remark, concludes_stage=concludes)
        done.append({"time": when.astimezone(LOCAL).strftime("%Y.%m.%d %H:%M"), "description": description,
                     "method": method, "stage": stage_.label, "witness": witness, "remark": remark})
    return done


# ---------------------------------------------------------------- the members

def contacted_member(store) -> Member_:
    return add_full_member(store, name="陈小明", phone="13912345678", position="深圳某电子厂操作工")


def removal_member(store, name: str = "刘大伟") -> Member_:
    return add_full_member(store, name=name, situation=Situation.EMPLOYER_CHANGED,
                           occupation=Occupation.LEFT_NON_PUBLIC_ENTERPRISE, position="某公司销售",
                           phone="13700002222")


def suspended_member(store) -> Member_:
    return add_full_member(store, name="周海燕", gender=Gender.FEMALE, birth=dt.date(1979, 2, 14),
                           situation=Situation.RESIDENCE_CHANGED,
                           occupation=Occupation.RESIDENT_AWAY_FROM_REGISTRATION, phone="")


# ---------------------------------------------------------------- driving the cases

def drive_contacted(store, m: Member_) -> Built:
    """Several attempts over two stages, contact at the last; then normal management through its chain."""
    cid = case_of(store, m.member_id)
    plan = [("direct", "not_found", "李四", False), ("direct", "not_found", "王五", True),
            ("network", "not_found", "赵六", False), ("network", "contacted", "孙七", True)]
    attempts = record_attempts(store, cid, plan)
    now = FIRST_ATTEMPT + dt.timedelta(days=10)
    propose(store, cid, "normal_management", now=now, conduct="失联期间在外务工，无违纪违法行为，已当面谈话",
            lost_reasons="外出务工更换手机号码，未及时告知党支部")
    file_all_materials(store, cid, now=now)
    built = Built(cid, m.name, m.id_number, m.phone, attempts)
    for k, (key, text) in enumerate((("branch_talk", "已谈话教育，本人认识到失联问题，愿意按时参加组织生活"),
                                     ("branch_committee_agree", "支委会研究，同意纳入党组织正常管理"),
                                     ("base_approval", "同意纳入党组织正常管理"))):
        step = open_step(store, cid)
        assert step.step_key == key, (step.step_key, key)
        built.opinions[key], built.deciders[key] = text, ACTOR[step.body]
        approve_open(store, cid, now=now + dt.timedelta(days=k + 1), opinion=text)
    return built


REMOVAL_SIGNATURE_NOTE = "本人拒不签字"
REMOVAL_GUIDE = "镇党委组织委员孙某"
REJECTION = "调查核实材料不充分，请补充后再报"


def drive_removal(store, m: Member_, attempts: int = 6) -> Built:
    """Persuade to withdraw through the seven-step chain, the upper department's pre-review rejecting once."""
    cid = case_of(store, m.member_id)
    plan = [("direct", "not_found", f"证明人{k + 1}", False) for k in range(attempts - 1)]
    plan.append(("direct", "contacted", f"证明人{attempts}", True))
    built = Built(cid, m.name, m.id_number, m.phone, record_attempts(store, cid, plan))
    now = FIRST_ATTEMPT + dt.timedelta(days=attempts + 2)
    propose(store, cid, "persuade_withdraw", now=now, grounds="以退党相要挟，经教育不改",
            conduct="失联期间长期不参加组织生活、不交纳党费，经谈话仍以退党相要挟")
    file_all_materials(store, cid, now=now)
    day = [0]

    def decide(key: str, text: str, verdict: str = "approve", **extra) -> None:
        day[0] += 1
        step = open_step(store, cid)
        assert step.step_key == key, (step.step_key, key)
        label = key if verdict == "approve" else f"{key}:rejected"
        built.opinions[label], built.deciders[label] = text, ACTOR[step.body]
        when = now + dt.timedelta(days=day[0])
        if verdict == "approve":
            approve_open(store, cid, now=when, opinion=text, **extra)
        else:
            decide_step(store, actor_id=ACTOR[step.body], now=when, step_id=step.id, verdict="reject", opinion=text)

    decide("branch_committee_opinion", "支委会研究，拟予以劝退")
    decide("base_review", "经审核，同意党支部意见，报上级预审")
    decide("upper_pre_review", REJECTION, verdict="reject")
    decide("base_review", "已补充调查核实材料，同意劝退，报上级预审")
    decide("upper_pre_review", "同意予以劝退")
    decide("general_meeting", "支部党员大会表决通过，予以劝退", member_signed=False,
           signature_note=REMOVAL_SIGNATURE_NOTE, guide=REMOVAL_GUIDE)
    decide("base_final_review", "同意，报上一级党委组织部门审批")
    decide("upper_approval", "批准予以劝退")
    decide("notify", "已通知本人并在支部党员大会上宣布")
    return built


SUSPENSION_SIGNATURE_NOTE = "本人无法取得联系，未能签字"


def drive_suspended(store, m: Member_) -> Built:
    """Unreachable after all four stages; membership suspended by the general meeting, approved and filed."""
    cid = case_of(store, m.member_id)
    plan = [("direct", "not_found", "李四", True), ("network", "not_found", "王五", True),
            ("department", "not_found", "钱干事", True), ("other", "not_found", "赵六", True)]
    built = Built(cid, m.name, m.id_number, m.phone, record_attempts(store, cid, plan))
    now = FIRST_ATTEMPT + dt.timedelta(days=8)
    propose(store, cid, "suspend_unreachable", now=now, conduct="", grounds="经多方查找确实无法取得联系")
    file_all_materials(store, cid, now=now)
    for k, (key, text) in enumerate((("general_meeting", "支部党员大会决定停止其党籍"),
                                     ("base_approval", "同意停止其党籍"), ("upper_filing", "已登记备案"))):
        step = open_step(store, cid)
        assert step.step_key == key, (step.step_key, key)
        built.opinions[key], built.deciders[key] = text, ACTOR[step.body]
        extra = {}
        if key == "general_meeting":
            extra = dict(vote=dict(VOTE_PASSED), member_signed=False, signature_note=SUSPENSION_SIGNATURE_NOTE,
                         guide="")
        approve_open(store, cid, now=now + dt.timedelta(days=k + 1), opinion=text, **extra)
    return built


def build_all(store, removal_attempts: int = 6) -> dict[str, Built]:
    """The three cases of the papers' tests in one campaign, plus one member still being searched for."""
    members = {"contacted": contacted_member(store), "removal": removal_member(store),
               "suspended": suspended_member(store)}
    searching = add_full_member(store, name="吴静", gender=Gender.FEMALE, birth=dt.date(1995, 7, 1),
                                situation=Situation.UNKNOWN_AFTER_GRADUATION, occupation=Occupation.GRADUATE,
                                position="待业", phone="13600003333")
    campaign_id = new_campaign(store)
    built = {"contacted": drive_contacted(store, members["contacted"]),
             "removal": drive_removal(store, members["removal"], removal_attempts),
             "suspended": drive_suspended(store, members["suspended"])}
    built["searching"] = Built(case_of(store, searching.member_id), searching.name, searching.id_number,
                               searching.phone)
    built["campaign"] = campaign_id  # type: ignore[assignment]
    return built
