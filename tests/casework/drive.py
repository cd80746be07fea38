"""Test helpers: members in the store, and driving a case through casework with the right person at each level."""
from __future__ import annotations

import datetime as dt
import itertools

from casework.campaigns import start_campaign
from casework.cases import open_step_of
from casework.dispositions import decide_step, file_material, propose_disposition
from casework.search import record_attempt
from models.catalogue import procedure
from models.codes import STAGE_ORDER, Body, Gender, MemberKind, Stage, StepKind
from models.idcard import check_character
from models.store import Case, DispositionRow, Member
from tests.conftest import T0

# Who acts for each body on a case of branch B1 in the conftest tree.
ACTOR = {
    Body.BRANCH: "sec1", Body.BRANCH_COMMITTEE: "sec1", Body.GENERAL_MEETING: "org1",
    Body.BASE_COMMITTEE: "town_sec", Body.UPPER_DEPARTMENT: "county_org", Body.COUNTY_DEPARTMENT: "county_org",
}
_seq = itertools.count(1)


def make_id(birth: dt.date, gender: Gender, serial: int) -> str:
    seq = serial % 50 * 2 + (1 if gender is Gender.MALE else 2)
    first17 = f"110101{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def add_member(store, *, name: str, branch: str = "B1", last_contact: dt.date | None = dt.date(2025, 1, 1),
               kind: MemberKind = MemberKind.FULL, gender: Gender = Gender.MALE,
               birth: dt.date = dt.date(1985, 5, 20)) -> str:
    """Test data enters the store directly here, so these tests do not depend on the roster importer's parsing."""
    n = next(_seq)
    with store.writing() as s:
        m = Member(id=f"m{n:04d}", id_number=make_id(birth, gender, n), branch_id=branch, name=name, gender=gender,
                   birth_date=birth, kind=kind, last_contact_on=last_contact, created_at=T0, updated_at=T0,
                   reported_to_branch=False, ethnicity="汉族", joined_on=dt.date(2010, 7, 1))
        s.add(m)
        s.commit()
        return m.id


def start(store, campaign_id: str = "C2026", start_date: str = "2026-03-07", now=T0) -> dict:
    return start_campaign(store, actor_id="town_sec", now=now, campaign_id=campaign_id, org_id="TOWN",
                          name="2026年党员组织关系集中排查", start_date=start_date,
                          phases={"search": "2026-03-31", "dispose": "2026-08-31"})


def case_of(store, member_id: str) -> str:
    with store.reading() as s:
        return s.query(Case.id).filter(Case.member_id == member_id).one()[0]


def open_step(store, case_id: str):
    with store.reading() as s:
        return open_step_of(s, case_id)


def search(store, case_id: str, *, outcome: str, at: Stage = Stage.OTHER, now=T0) -> dict:
    """Not found at every stage before `at`, then `outcome` at `at`."""
    result = None
    for stage in STAGE_ORDER:
        actor = "town_staff" if stage is Stage.DEPARTMENT else "sec1"
        result = record_attempt(store, actor_id=actor, now=now, case_id=case_id, stage=stage.value,
                                method=stage.methods[0], description=f"{stage.label}：{outcome if stage is at else '未果'}",
                                witness="李四", outcome=outcome if stage is at else "not_found")
        if stage is at:
            return result
    return result


def propose(store, case_id: str, code: str, now=T0, **extra) -> dict:
    return propose_disposition(store, actor_id="sec1", now=now, case_id=case_id, disposition=code,
                               grounds=extra.pop("grounds", "符合该情形"),
                               conduct=extra.pop("conduct", "失联期间无违纪违法行为，已谈话"), **extra)


def file_all_materials(store, case_id: str, now=T0) -> None:
    with store.reading() as s:
        case = s.get(Case, case_id)
        row = s.get(DispositionRow, case.disposition_id)
        kinds = procedure(row.code, row.catalogue_version).materials
    for kind in kinds:
        file_material(store, actor_id="sec1", now=now, case_id=case_id, kind=kind, reference=f"档案{kind}")


VOTE_PASSED = {"entitled": 20, "present": 18, "in_favour": 16, "against": 1, "abstaining": 1}


def approve_open(store, case_id: str, now=T0, **extra) -> dict:
    """Approve the open review step as the person who acts for its body, with what that step needs."""
    step = open_step(store, case_id)
    assert step is not None and step.kind is StepKind.REVIEW, step
    kwargs = {"opinion": f"同意（{step.title}）"}
    if step.body is Body.GENERAL_MEETING:
        kwargs.update(vote=VOTE_PASSED, member_signed=False, signature_note="本人无法取得联系，未能签字",
                      guide="镇党委组织委员 孙某")
    kwargs.update(extra)
    return decide_step(store, actor_id=ACTOR[step.body], now=now, step_id=step.id, verdict="approve", **kwargs)


def drive_to_end(store, case_id: str, now=T0) -> list[str]:
    """Approve every step of the chain in progress, filing the materials first; returns the step titles decided."""
    file_all_materials(store, case_id, now)
    titles = []
    while True:
        step = open_step(store, case_id)
        if step is None or step.kind is not StepKind.REVIEW:
            return titles
        titles.append(step.title)
        approve_open(store, case_id, now)
