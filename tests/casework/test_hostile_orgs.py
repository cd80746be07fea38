"""Who may change whom (issue 20, point 1): nobody raises their own rights; organisations, people and roles are
changed only from the organisation above (or by a system administrator), every change audited before and after."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from casework.orgs import actor_roles, import_organisations
from models.accounts_store import Account
from models.errors import Refusal
from models.store import AuditEvent, Organisation, Person, PersonRole
from tests.conftest import T0


def _snapshot(store) -> tuple:
    with store.reading() as s:
        orgs = sorted((o.id, o.name, o.parent_id) for o in s.scalars(select(Organisation)))
        roles = sorted((r.person_id, r.org_id, r.role.value) for r in s.scalars(select(PersonRole)))
        people = sorted((p.id, p.name, p.phone) for p in s.scalars(select(Person)))
    return orgs, roles, people


def _roles(store, person: str) -> dict:
    with store.reading() as s:
        return {k: {r.value for r in v} for k, v in actor_roles(s, person).items()}


def _make_admin(store, person_id: str) -> None:
    with store.writing() as s:
        s.add(Account(person_id=person_id, is_admin=True, failed_count=0, created_at=T0))
        s.commit()


def test_staff_cannot_import_himself_as_secretary_of_his_own_committee(orgs):
    """The exact attack of the issue: refused, and the store unchanged."""
    before = _snapshot(orgs)
    attack = {"organisations": [], "people": [{"id": "town_staff", "name": "钱干事",
                                              "roles": [{"org": "TOWN", "role": "staff"},
                                                        {"org": "TOWN", "role": "secretary"}]}]}
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id="town_staff", now=T0, **attack)
    assert err.value.code == "wrong_level" and err.value.details["orgs"] == ["TOWN"]
    assert _snapshot(orgs) == before
    assert _roles(orgs, "town_staff") == {"TOWN": {"staff"}}


def test_staff_cannot_make_a_colleague_secretary_of_his_own_committee(orgs):
    colleague = {"id": "new_sec", "name": "新书记", "roles": [{"org": "TOWN", "role": "secretary"}]}
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id="town_staff", now=T0, organisations=[], people=[colleague])
    assert err.value.code == "wrong_level"


def test_secretary_cannot_rename_his_own_organisation(orgs):
    town = {"id": "TOWN", "name": "某镇党委（改）", "kind": "base_committee", "parent": "COUNTY"}
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id="town_sec", now=T0, organisations=[town])
    assert err.value.details["orgs"] == ["TOWN"]


def test_the_organisation_above_changes_roles_below_it_and_the_change_is_audited(orgs):
    # Give COUNTY a staff member first (bootstrap-time people cannot be changed except from above: a CITY admin).
    _make_admin(orgs, "county_org")
    import_organisations(orgs, actor_id="county_org", now=T0, organisations=[], people=[
        {"id": "county_staff", "name": "郑干事", "roles": [{"org": "COUNTY", "role": "staff"}]}])
    result = import_organisations(orgs, actor_id="county_staff", now=T0, organisations=[], people=[
        {"id": "town_staff", "name": "钱干事", "roles": [{"org": "TOWN", "role": "secretary"}]}])
    assert result.people == 1
    assert _roles(orgs, "town_staff") == {"TOWN": {"secretary"}}
    with orgs.reading() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import_organisations")
                          .order_by(AuditEvent.id.desc())).first()
    assert event.actor_id == "county_staff"
    assert event.payload["changed_people"] == [{"person_id": "town_staff",
                                                "before": {"name": "钱干事", "roles": ["TOWN:staff"]},
                                                "after": {"name": "钱干事", "roles": ["TOWN:secretary"]},
                                                "contacts_changed": False}]


def test_nobody_adds_a_role_to_himself_not_even_a_system_administrator(orgs):
    _make_admin(orgs, "county_org")
    before = _snapshot(orgs)
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id="county_org", now=T0, organisations=[], people=[
            {"id": "county_org", "name": "孙部长", "roles": [{"org": "COUNTY", "role": "deputy_secretary"},
                                                          {"org": "TOWN", "role": "secretary"}]}])
    assert err.value.code == "self_grant"
    assert _snapshot(orgs) == before


def test_a_system_administrator_changes_the_top_of_the_tree(orgs):
    _make_admin(orgs, "county_org")
    city = {"id": "CITY", "name": "某市委组织部（更名）", "kind": "department", "parent": None, "county_or_higher": True}
    import_organisations(orgs, actor_id="county_org", now=T0, organisations=[city])
    with orgs.reading() as s:
        assert s.get(Organisation, "CITY").name == "某市委组织部（更名）"
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "import_organisations")
                          .order_by(AuditEvent.id.desc())).first()
    change = event.payload["changed_organisations"][0]
    assert (change["org_id"], change["before"]["name"], change["after"]["name"]) == \
        ("CITY", "某市委组织部", "某市委组织部（更名）")


@pytest.mark.parametrize("person, reason", [
    ({"id": "p\x00x", "name": "某"}, "控制字符"),
    ({"id": "px", "name": "某\x1b[31m"}, "控制字符"),
    ({"id": "px", "name": "某\n人"}, "换行符"),
    ({"id": "px", "name": "某" * 81}, "过长"),
    ({"id": "px", "name": "某", "roles": "TOWN"}, "列表"),
    ("not a dict", "格式有误"),
])
def test_malformed_people_are_refused_with_a_reason(orgs, person, reason):
    before = _snapshot(orgs)
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id="town_staff", now=T0, organisations=[], people=[person])
    assert err.value.code == "bad_organisations" and reason in err.value.message
    assert _snapshot(orgs) == before
