"""A whole case on a 390x844 phone in Debian's Chromium: the branch secretary records the search, the base committee's
staff the inter-departmental stage, the branch proposes suspension, the general meeting decides, the base committee
approves, the county department files; each sees the step arrive in their inbox. Then a meeting decides 21 cases at
once, one of them refused because someone decided it in the meantime."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models.codes import Stage, StepKind
from models.store import Case, Step
from tests.casework.drive import add_member, approve_open, file_all_materials, propose, search
from tests.e2e.browser import Person, chromium, serving
from tests.web.world import build_world

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("store", ["sqlite"], indirect=True)]

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def _state(store, case_id: str) -> str:
    with store.reading() as s:
        return s.get(Case, case_id).state.value


def _attempt(person: Person, case_id: str, stage_label: str, shot: str) -> None:
    person.open_case(case_id)
    page = person.page
    assert stage_label in page.locator("#attempt h2").inner_text()
    page.fill("#a-method", "打电话、上门走访")
    page.fill("#a-desc", f"{stage_label}：多次联系未果")
    page.fill("#a-witness", "东村党支部组织委员 李某")
    page.select_option("#a-outcome", "not_found")
    person.submit("#attempt form", shot)
    assert "查找记录已登记" in page.inner_text(".notice")


def test_a_whole_case_on_a_phone(store, tmp_path):
    cases = build_world(store)
    case_id = cases["东村党员1"]
    with serving(store) as base, chromium() as browser:
        sec = Person(browser, base, "sec1", "whole-case")
        sec.sign_in()
        assert sec.inbox_has("东村党员1")
        _attempt(sec, case_id, "直接联系", "direct")
        _attempt(sec, case_id, "人际查找", "network")
        assert not sec.inbox_has("东村党员1 · 部门查找")

        staff = Person(browser, base, "town_staff", "whole-case")
        staff.sign_in()
        assert staff.inbox_has("东村党员1")
        _attempt(staff, case_id, "部门查找", "department")

        assert sec.inbox_has("东村党员1")
        _attempt(sec, case_id, "其他方式查找", "other")
        assert _state(store, case_id) == "unreachable"

        # The branch proposes; the procedure's materials are filed, one of them as an uploaded scan.
        sec.open_case(case_id)
        page = sec.page
        page.select_option("#p-disp", "suspend_unreachable")
        page.fill("#p-grounds", "经直接联系、人际查找、部门查找和其他方式查找，确实无法取得联系")
        page.fill("#p-reasons", "外出务工，更换手机号码")
        sec.submit("#propose form", "propose")
        assert "处置意见已提出" in page.inner_text(".notice")
        kinds = page.locator("#m-kind option").all_inner_texts()
        assert kinds
        for n, kind in enumerate(kinds):
            page.select_option("#m-kind", kind)
            if n == 0:
                scan = tmp_path / "查找联系记录表.pdf"
                scan.write_bytes(PDF)
                page.set_input_files("#m-file", str(scan))
            else:
                page.fill("#m-ref", f"档案盒3-{n}")
            sec.submit("#material-form form", f"material-{n}")
            assert "材料已归档" in page.inner_text(".notice")
        assert page.locator("a[href^='/files/']").count() == 1

        # The general meeting: the branch's organisation member records the resolution and the vote.
        org = Person(browser, base, "org1", "whole-case")
        org.sign_in()
        assert org.inbox_has("东村党员1")
        org.open_case(case_id)
        page = org.page
        page.check("input[name=verdict][value=approve]")
        page.fill("#d-opinion", "支部党员大会讨论，同意停止其党籍")
        for key, value in (("entitled", "20"), ("present", "18"), ("in_favour", "17"), ("against", "1"),
                           ("abstaining", "0")):
            page.fill(f"#v-{key}", value)
        page.fill("#d-sig", "本人无法取得联系，未能签字")
        org.submit("#decide form", "meeting")
        assert "决定已登记" in page.inner_text(".notice")

        boss = Person(browser, base, "town_sec", "whole-case")
        boss.sign_in()
        assert boss.inbox_has("东村党员1")
        boss.open_case(case_id)
        boss.page.check("input[name=verdict][value=approve]")
        boss.page.fill("#d-opinion", "同意停止党籍")
        boss.submit("#decide form", "base-approval")

        county = Person(browser, base, "county_org", "whole-case")
        county.sign_in()
        assert county.inbox_has("东村党员1")
        county.open_case(case_id)
        county.page.check("input[name=verdict][value=approve]")
        county.page.fill("#d-opinion", "已登记备案")
        county.submit("#decide form", "filing")
        assert "已停止党籍" in county.page.inner_text("h1")
        assert not county.inbox_has("东村党员1")

        # The whole record is on the page, in order, with who decided.
        county.page.goto(f"{base}/cases/{case_id}")
        county.shot("record")
        record = county.page.inner_text("main")
        for text in ("直接联系", "人际查找", "部门查找", "其他方式查找", "支部党员大会作出停止党籍的决定", "基层党委审批",
                     "报上一级党委组织部门备案", "应到20人", "本人无法取得联系，未能签字", "停止党籍满两年复查"):
            assert text in record, text
        for person in (sec, staff, org, boss, county):
            person.close()
    assert _state(store, case_id) == "suspended"


def test_a_meeting_decides_twenty_one_cases(store):
    build_world(store, members=0)
    ids = []
    for n in range(21):
        member = add_member(store, name=f"会议党员{n + 1:02d}", branch="B1")
        ids.append(member)
    from tests.casework.drive import case_of, start

    start(store, campaign_id="C-MEET")
    case_ids = [case_of(store, m) for m in ids]
    for case_id in case_ids:
        search(store, case_id, outcome="contacted", at=Stage.DIRECT)
        propose(store, case_id, "normal_management")
        file_all_materials(store, case_id)
        approve_open(store, case_id)  # the talk; the branch committee's step is now open on all 21
    with serving(store) as base, chromium() as browser:
        sec = Person(browser, base, "sec1", "meeting")
        sec.sign_in()
        page = sec.page
        page.goto(f"{base}/meeting")
        sec.shot("groups")
        page.click("text=支委会研究同意")
        page.wait_for_load_state("load")
        assert page.locator("input[name=step]").count() == 21
        page.fill("#opinion", "支委会研究，同意纳入党组织正常管理")
        sec.shot("batch")
        # Meanwhile another member of the committee decides one of them at the case page.
        approve_open(store, case_ids[5])
        page.click("form[action='/meeting'] button[type=submit]")
        page.wait_for_load_state("load")
        sec.shot("results")
        summary = page.inner_text("main")
        assert "20 件已办理，1 件未办理" in summary
        assert "会议党员06" in summary and "不能重复办理" in summary
        sec.close()
    with store.reading() as s:
        opened = s.scalars(select(Step).where(Step.case_id.in_(case_ids), Step.status == "open")).all()
    assert len(opened) == 21 and all(step.kind is StepKind.REVIEW and step.title == "基层党委审批" for step in opened)


def test_every_page_fits_a_phone(store, tmp_path):
    """Each page a committee uses, at 390 px: no horizontal scrolling (checked in `shot`), and a screenshot kept."""
    cases = build_world(store)
    case_id = cases["东村党员2"]
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    propose(store, case_id, "normal_management")
    roster = tmp_path / "名册.csv"
    roster.write_text("姓名,性别,身份证号\n张三,男,123\n", encoding="utf-8")
    with serving(store) as base, chromium() as browser:
        boss = Person(browser, base, "town_sec", "pages")
        boss.sign_in()
        for path, name in (("/cases", "cases"), (f"/cases/{case_id}", "case"), ("/meeting", "meeting"),
                           ("/campaigns", "campaigns"), ("/campaigns/C2026", "dashboard"), ("/stats", "stats"),
                           ("/roster", "roster"), ("/admin", "admin"), ("/cases/NO-SUCH", "not-found")):
            boss.page.goto(base + path)
            boss.shot(name)
        boss.page.goto(f"{base}/campaigns/C2026")
        assert boss.page.locator("svg.chart path").count() == 1
        boss.page.goto(f"{base}/roster")
        boss.page.set_input_files("#file", str(roster))
        boss.page.click("button[value=check]")
        boss.page.wait_for_load_state("load")
        boss.shot("roster-report")
        assert "行号" in boss.page.inner_text("main")
        boss.close()
