"""Sign-in, sessions, CSRF and who sees what, through the pages and the API, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from casework.accounts import MAX_FAILURES, create_token, invite
from models.actor import Actor, Channel
from models.codes import Stage
from models.store import Attempt, AuditEvent, Step
from tests.casework.drive import search
from tests.web.world import PASSWORD, Clock, build_world, client_for, csrf_of, sign_in


def _attempts(store, case_id: str) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count(Attempt.id)).where(Attempt.case_id == case_id))


def _attempt_form(csrf: str | None, request_id: str = "req-1") -> dict:
    form = {"request_id": request_id, "stage": "direct", "method": "打电话", "description": "无人接听",
            "witness": "李四", "outcome": "not_found"}
    if csrf is not None:
        form["csrf"] = csrf
    return form


def test_sign_in_inbox_and_sign_out(store):
    cases = build_world(store)
    client = client_for(store)
    assert client.get("/inbox").status_code == 303  # not signed in: to the sign-in page
    answer = sign_in(client, "sec1")
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/inbox")
    assert page.status_code == 200
    assert "东村党员1" in page.text and "西村党员" not in page.text  # B1's secretary sees B1's work only
    assert f"/cases/{cases['东村党员1']}" in page.text
    out = client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert client.get("/inbox").status_code == 303


def test_wrong_password_and_lock_out(store):
    build_world(store)
    client = client_for(store)
    for _ in range(MAX_FAILURES):
        answer = sign_in(client, "sec1", "not the password")
        assert answer.status_code == 401 and "账号或密码不正确" in answer.text
    locked = sign_in(client, "sec1")  # the right password, but locked now
    assert locked.status_code == 429 and "锁定" in locked.text
    unknown = sign_in(client, "nobody", "whatever-password")
    assert unknown.status_code == 401 and "账号或密码不正确" in unknown.text  # the same answer: no account is revealed


def test_expired_session_is_sent_to_sign_in(store):
    build_world(store)
    clock = Clock()
    client = client_for(store, clock)
    sign_in(client, "sec1")
    assert client.get("/inbox").status_code == 200
    clock.advance(hours=3)  # past the two idle hours
    answer = client.get("/inbox")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin?next=/inbox")


def test_form_without_csrf_is_refused_and_changes_nothing(store):
    cases = build_world(store)
    client = client_for(store)
    sign_in(client, "sec1")
    case_id = cases["东村党员1"]
    answer = client.post(f"/cases/{case_id}/attempt", data=_attempt_form(None))
    assert answer.status_code == 403 and "防伪" in answer.text
    forged = client.post(f"/cases/{case_id}/attempt", data=_attempt_form("forged-token"))
    assert forged.status_code == 403
    assert _attempts(store, case_id) == 0


def test_repeated_submission_applies_once(store):
    cases = build_world(store)
    client = client_for(store)
    sign_in(client, "sec1")
    case_id = cases["东村党员1"]
    csrf = csrf_of(client.get(f"/cases/{case_id}").text)
    first = client.post(f"/cases/{case_id}/attempt", data=_attempt_form(csrf, "double-click"))
    again = client.post(f"/cases/{case_id}/attempt", data=_attempt_form(csrf, "double-click"))
    assert first.status_code == again.status_code == 303
    assert _attempts(store, case_id) == 1


def test_another_branch_learns_nothing(store):
    cases = build_world(store)
    client = client_for(store)
    sign_in(client, "sec2")  # 西村 (B2)
    theirs = client.get(f"/cases/{cases['东村党员1']}")
    missing = client.get("/cases/NO-SUCH-CASE")
    assert theirs.status_code == missing.status_code == 404
    assert "东村党员1" not in theirs.text
    assert theirs.text.replace(cases["东村党员1"], "X") == missing.text.replace("NO-SUCH-CASE", "X")
    assert client.get(f"/cases/{cases['东村党员1']}/paper").status_code == 404
    csrf = csrf_of(client.get("/inbox").text)
    attempt = client.post(f"/cases/{cases['东村党员1']}/attempt", data=_attempt_form(csrf))
    assert attempt.status_code in (404, 409)
    assert _attempts(store, cases["东村党员1"]) == 0
    # The other base committee's ledger is not theirs to export either.
    assert client.get("/exports/ledger.xlsx?org=OTHER_BASE").status_code == 404
    listing = client.get("/cases")
    assert "东村党员1" not in listing.text and "西村党员" in listing.text


def test_wrong_level_cannot_decide(store):
    cases = build_world(store)
    case_id = cases["东村党员1"]
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    from tests.casework.drive import approve_open, file_all_materials, propose

    propose(store, case_id, "normal_management")
    file_all_materials(store, case_id)
    approve_open(store, case_id)  # the branch's talk
    approve_open(store, case_id)  # the branch committee agrees; now the base committee approves
    with store.reading() as s:
        step = s.scalar(select(Step).where(Step.case_id == case_id, Step.status == "open"))
    assert step.body.value == "base_committee"
    client = client_for(store)
    sign_in(client, "sec1")
    page = client.get(f"/cases/{case_id}")
    assert "提交决定" not in page.text  # no form for a step that is not the branch's
    answer = client.post(f"/cases/{case_id}/decide", data={
        "csrf": csrf_of(page.text), "request_id": "wrong-level", "step_id": step.id, "verdict": "approve",
        "opinion": "同意"})
    assert answer.status_code == 409 and "某镇党委" in answer.text
    staff = client_for(store)
    sign_in(staff, "town_staff")  # the base committee's staff may see, not decide
    page = staff.get(f"/cases/{case_id}")
    assert "审批决定须由书记、副书记或委员作出" in page.text
    refused = staff.post(f"/cases/{case_id}/decide", data={
        "csrf": csrf_of(page.text), "request_id": "staff", "step_id": step.id, "verdict": "approve", "opinion": "同意"})
    assert refused.status_code == 409
    with store.reading() as s:
        assert s.get(Step, step.id).status.value == "open"
    boss = client_for(store)
    sign_in(boss, "town_sec")
    page = boss.get(f"/cases/{case_id}")
    done = boss.post(f"/cases/{case_id}/decide", data={
        "csrf": csrf_of(page.text), "request_id": "right-level", "step_id": step.id, "verdict": "approve",
        "opinion": "同意纳入正常管理"})
    assert done.status_code == 303
    with store.reading() as s:
        assert s.get(Step, step.id).status.value == "done"


def test_api_token_scope_and_no_secret_in_clear(store):
    cases = build_world(store)
    now = dt.datetime.now(dt.timezone.utc)
    token = create_token(store, actor=Actor("sec2", Channel.CLI), name="test", now=now)
    issued = invite(store, person_id="sec1", actor=Actor(None, Channel.CLI, via="root"), now=now)
    client = client_for(store)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).json()["person_id"] == "sec2"
    mine = client.get(f"/api/cases/{cases['西村党员']}", headers=headers)
    assert mine.status_code == 200 and mine.json()["member"]["name"] == "西村党员"
    other = client.get(f"/api/cases/{cases['东村党员1']}", headers=headers)
    assert other.status_code == 404 and "东村党员1" not in other.text
    assert client.get("/api/me", headers={"Authorization": "Bearer lc_nope_nope"}).status_code == 401
    sign_in(client, "sec1")
    # Nothing secret is stored as given: not the password, not the token, not the invitation, not the cookie.
    cookie = client.cookies.get("lc_session")
    secrets_ = [PASSWORD, token, token.rsplit("_", 1)[1], issued.token, cookie]
    with store.engine.connect() as c:
        for table in ("accounts", "access_tokens", "invitations", "web_sessions", "audit_events"):
            dump = " ".join(str(row) for row in c.execute(text(f"SELECT * FROM {table}")))
            for secret in secrets_:
                assert secret not in dump, table


def test_case_view_is_audited_with_channel(store):
    cases = build_world(store)
    client = client_for(store)
    sign_in(client, "sec1")
    case_id = cases["东村党员2"]
    assert client.get(f"/cases/{case_id}").status_code == 200
    with store.reading() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.action == "read:case"))
    assert event is not None and event.actor_id == "sec1" and event.channel == "web"


def test_names_with_html_are_shown_as_text(store):
    cases = build_world(store)
    with store.writing() as s:
        s.execute(text("UPDATE members SET name = :n WHERE id = (SELECT member_id FROM cases WHERE id = :c)"),
                  {"n": "<script>alert(1)</script>", "c": cases["东村党员3"]})
        s.commit()
    client = client_for(store)
    sign_in(client, "sec1")
    for path in ("/inbox", f"/cases/{cases['东村党员3']}", "/cases"):
        page = client.get(path)
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_web_inbox_lists_what_waits_on_the_person(store):
    """The page's inbox (cut to the organisation acted for) and casework's one rule, `waits_on`, agree."""
    from casework.queries import waits_on
    from casework.workbench import inbox_for

    cases = build_world(store)
    search(store, cases["东村党员1"], outcome="not_found", at=Stage.NETWORK)  # now at the base committee
    for person, org in (("sec1", "B1"), ("town_staff", "TOWN"), ("other_sec", "OB1"), ("other_sec", "OTHER_BASE")):
        with store.reading() as s:
            rule = {w.step_id for w in waits_on(s, person_ids=[person], org_ids=[org])}
            page = {i.step_id for i in inbox_for(s, Actor(person, Channel.WEB, org_id=org), dt.datetime.now(
                dt.timezone.utc)).items}
        assert page == rule, (person, org)
    with store.reading() as s:
        both = {w.step_id for w in waits_on(s, person_ids=["other_sec"])}
        page = {i.step_id for i in inbox_for(s, Actor("other_sec", Channel.WEB), dt.datetime.now(
            dt.timezone.utc)).items}
    assert page == both and both


def test_a_person_of_two_organisations_acts_for_the_one_chosen(store):
    cases = build_world(store)
    client = client_for(store)
    answer = sign_in(client, "other_sec")  # secretary of OB1 and of OTHER_BASE
    assert answer.status_code == 303 and answer.headers["location"].startswith("/org")
    assert client.get("/inbox").headers["location"] == "/org"  # nothing until an organisation is chosen
    chooser = client.get("/org")
    assert "南村党支部 · 书记" in chooser.text and "另一镇党委 · 书记" in chooser.text
    client.post("/org", data={"csrf": csrf_of(chooser.text), "org_id": "OTHER_BASE", "next": "/inbox"})
    inbox = client.get("/inbox")
    assert "南村党员" not in inbox.text  # the direct search waits on the branch, not on the base committee
    page = client.get(f"/cases/{cases['南村党员']}")
    assert page.status_code == 200 and "登记查找记录" not in page.text
    refused = client.post(f"/cases/{cases['南村党员']}/attempt", data={**_attempt_form(csrf_of(page.text)),
                                                                    "request_id": "as-base"})
    assert refused.status_code == 409 and _attempts(store, cases["南村党员"]) == 0
    chooser = client.get("/org")
    client.post("/org", data={"csrf": csrf_of(chooser.text), "org_id": "OB1", "next": "/inbox"})
    assert "南村党员" in client.get("/inbox").text
    page = client.get(f"/cases/{cases['南村党员']}")
    done = client.post(f"/cases/{cases['南村党员']}/attempt", data={**_attempt_form(csrf_of(page.text)),
                                                                 "request_id": "as-branch"})
    assert done.status_code == 303 and _attempts(store, cases["南村党员"]) == 1
