"""附件4 失联党员查找处置全程纪实表, rendered for real cases and read back against the store."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from models.catalogue import FORM_BOXES
from models.store import Attempt, Case, Member, Person, Step
from models.timing import LOCAL_TZ
from reports import render_dossier_html
from tests.reports.cases import (REJECTION, REMOVAL_GUIDE, REMOVAL_SIGNATURE_NOTE, SUSPENSION_SIGNATURE_NOTE,
                                 add_full_member, drive_removal, new_campaign)
from tests.reports.htmlparse import parse

VOTE_LINE = "应到20人，实到18人，赞成16票，反对1票，弃权1票"


def local_day(moment: dt.datetime) -> str:
    d = moment.astimezone(LOCAL_TZ).date()
    return f"{d.year}年{d.month}月{d.day}日"


def store_facts(store, case_id: str):
    """The case as the store holds it, read without the query layer the papers use."""
    with store.reading() as s:
        case = s.get(Case, case_id)
        member = s.get(Member, case.member_id)
        people = {p.id: p.name for p in s.scalars(select(Person))}
        attempts = s.scalars(select(Attempt).where(Attempt.case_id == case_id)
                             .order_by(Attempt.attempted_at, Attempt.id)).all()
        steps = s.scalars(select(Step).where(Step.case_id == case_id, Step.verdict.is_not(None))
                          .order_by(Step.seq)).all()
        return member, attempts, steps, people


def render(store, case_id: str):
    with store.reading() as s:
        return parse(render_dossier_html(s, case_id))


def test_personal_data_and_search_log_match_the_store(orgs, papers):
    built = papers["removal"]
    page = render(orgs, built.case_id)
    member, attempts, _steps, _people = store_facts(orgs, built.case_id)
    assert "失联党员查找处置全程纪实表" in page.text and "附件4" in page.text
    assert page.field("name") == member.name == built.name
    assert page.field("id_number") == member.id_number == built.id_number
    assert page.field("gender") == member.gender.label
    assert page.field("ethnicity") == member.ethnicity
    assert page.field("birth") == f"{member.birth_date:%Y.%m}"
    assert page.field("joined") == f"{member.joined_on:%Y.%m}"
    assert page.field("phone") == member.phone
    assert page.field("branch") == "东村党支部"
    assert page.field("unit") == "某镇党委 东村党支部"
    assert page.field("case_id") == built.case_id
    assert page.field("lost_reasons").startswith("④")  # 工作单位改变, coded as the seeds print it
    assert "年" in page.field("lost_contact_time") or "月" in page.field("lost_contact_time")

    rows = page.find_all(data_attempt=None)
    assert len(rows) == len(attempts) == len(built.attempts) == 6
    for row, a, expected in zip(rows, attempts, built.attempts):
        assert row.field("time") == a.attempted_at.astimezone(LOCAL_TZ).strftime("%Y.%m.%d %H:%M") == expected["time"]
        assert row.field("witness") == a.witness == expected["witness"]
        assert row.field("remark") == (a.remark or "") == expected["remark"]
        assert a.description in row.field("process") and a.method in row.field("process")
        assert a.stage.label in row.field("process")
        assert row.field("outcome") == f"（{a.outcome.label}）"
    assert "此表一式四份" in page.text and "失联党员查找处置档案资料各存一份" in page.text


def test_removal_boxes_show_each_decision_with_who_and_when(orgs, papers):
    built = papers["removal"]
    page = render(orgs, built.case_id)
    _member, _attempts, steps, people = store_facts(orgs, built.case_id)
    boxes = {b.attrs["data-box"]: b for b in page.find_all(data_box=None)}
    assert set(boxes) == set(FORM_BOXES)

    # Every decided step of the chain appears in its box with the opinion, the decider and the local date.
    by_key = {}
    for st in steps:
        by_key.setdefault(st.step_key, []).append(st)
    for box_key, step_key in (("branch_committee_opinion", "branch_committee_opinion"),
                              ("base_pre_review", "base_review"), ("upper_pre_review", "upper_pre_review"),
                              ("meeting_resolution", "general_meeting"), ("base_approval", "base_final_review"),
                              ("upper_approval", "upper_approval")):
        box = boxes[box_key]
        texts = box.fields("text")
        decided = by_key[step_key]
        assert len(texts) == len(decided), box_key
        for text, st in zip(texts, decided):
            assert text.startswith(st.opinion), (box_key, text)
        assert people[decided[-1].decided_by] in box.fields("by")
        assert local_day(decided[-1].closed_at) in box.fields("date")

    # The rejection stays on record, marked, with its reason and who rejected; the case went back and came again.
    upper = boxes["upper_pre_review"]
    first = upper.find(data_entry="1")
    assert first.field("verdict") == "【不同意（退回）】"
    assert first.field("text") == REJECTION
    assert first.field("by") == "孙部长"
    assert upper.find(data_entry="2").field("text") == built.opinions["upper_pre_review"]
    assert len(boxes["base_pre_review"].find_all(data_entry=None)) == 2

    # The general meeting: the vote counts, the missing signature and its note, who guided the meeting.
    meeting = boxes["meeting_resolution"].field("text")
    assert built.opinions["general_meeting"] in meeting
    assert VOTE_LINE in meeting
    assert f"本人未签字：{REMOVAL_SIGNATURE_NOTE}" in meeting
    assert REMOVAL_GUIDE in meeting
    assert boxes["meeting_resolution"].find(data_field="signed").field("by") == "李组织委员"

    assert "失联期间长期不参加组织生活" in boxes["investigation"].text
    remarks = boxes["remarks"].text
    assert built.opinions["notify"] in remarks and "张书记" in remarks
    assert "处置方式：劝退，劝而不退除名（已办结）" in remarks
    # Seals as the form prints them.
    assert "党委组织部门（盖章）" in boxes["upper_approval"].text
    assert "党委（盖章）" in boxes["base_pre_review"].text


def test_suspended_case_notes_the_missing_signature(orgs, papers):
    built = papers["suspended"]
    page = render(orgs, built.case_id)
    member, attempts, steps, people = store_facts(orgs, built.case_id)
    assert page.field("name") == "周海燕" and page.field("gender") == "女"
    assert page.field("id_number") == member.id_number
    assert page.field("phone") == ""
    assert [r.field("witness") for r in page.find_all(data_attempt=None)] == [a.witness for a in attempts]
    assert [a.stage.label for a in attempts] == ["直接联系", "人际查找", "部门查找", "其他方式查找"]
    assert len([e for e in page.elements if e[0] == "tr" and "blank" in e[1].get("class", "")]) == 1
    meeting = page.find(data_box="meeting_resolution")
    assert VOTE_LINE in meeting.text and SUSPENSION_SIGNATURE_NOTE in meeting.text
    assert "本人已签字" not in meeting.text
    approval = page.find(data_box="base_approval")
    (st,) = [s for s in steps if s.step_key == "base_approval"]
    assert approval.field("text") == st.opinion == "同意停止其党籍"
    assert approval.find(data_field="signed").text == f"{people[st.decided_by]}（签字） {local_day(st.closed_at)}"
    # Boxes this procedure does not pass through stay blank, with the form's 年 月 日 for a hand entry.
    assert page.find(data_box="upper_pre_review").find_all(data_entry=None) == []
    assert "年 月 日" in page.find(data_box="upper_pre_review").text
    assert "停止党籍（确实无法取得联系）" in page.find(data_box="remarks").text


def test_contacted_case_with_several_attempts(orgs, papers):
    built = papers["contacted"]
    page = render(orgs, built.case_id)
    _member, attempts, steps, people = store_facts(orgs, built.case_id)
    rows = page.find_all(data_attempt=None)
    assert [r.field("witness") for r in rows] == ["李四", "王五", "赵六", "孙七"]
    assert [r.field("time") for r in rows] == [a["time"] for a in built.attempts]
    assert rows[-1].field("outcome") == "（取得联系）"
    assert page.field("phone") == "13912345678"
    assert "外出务工更换手机号码" in page.field("lost_reasons") and page.field("lost_reasons").startswith("①")
    investigation = page.find(data_box="investigation")
    assert "失联期间在外务工" in investigation.text
    assert built.opinions["branch_talk"] in investigation.text and "张书记" in investigation.text
    committee = page.find(data_box="branch_committee_opinion")
    assert committee.field("text") == built.opinions["branch_committee_agree"]
    base = page.find(data_box="base_approval")
    (st,) = [s for s in steps if s.step_key == "base_approval"]
    assert base.field("text") == st.opinion and people[st.decided_by] in base.fields("by") == ["赵书记"]
    assert local_day(st.closed_at) in base.fields("date")


def test_searching_case_renders_blank_form(orgs, papers):
    page = render(orgs, papers["searching"].case_id)
    assert page.field("name") == "吴静"
    assert page.find_all(data_attempt=None) == []
    assert len([e for e in page.elements if e[0] == "tr" and "blank" in e[1].get("class", "")]) == 5
    assert all(b.find_all(data_entry=None) == [] for b in page.find_all(data_box=None) if b.attrs["data-box"] !=
               "remarks")


def test_text_from_the_store_is_escaped(orgs):
    m = add_full_member(orgs, name="<b>韩&梅</b>", remarks="<script>alert(1)</script>")
    new_campaign(orgs)
    built = drive_removal(orgs, m, attempts=1)
    with orgs.reading() as s:
        html = render_dossier_html(s, built.case_id)
    assert "<script>alert" not in html and "<b>韩" not in html
    page = parse(html)
    assert page.field("name") == "<b>韩&梅</b>"
    assert "<script>alert(1)</script>" in page.find(data_box="remarks").text
