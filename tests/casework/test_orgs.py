import pytest

from casework.orgs import actor_roles, import_organisations, org_chain
from models.errors import Refusal
from tests.conftest import T0


def test_tree_and_chain(orgs):
    with orgs.reading() as s:
        chain = org_chain(s, "B1")
        assert (chain.branch, chain.base_committee, chain.upper_department, chain.county_department) == \
            ("B1", "TOWN", "COUNTY", "COUNTY")
        assert actor_roles(s, "other_sec").keys() == {"OB1", "OTHER_BASE"}


def test_bad_tree_imports_nothing(store):
    bad = {"organisations": [
        {"id": "D", "name": "部", "kind": "department"},
        {"id": "B", "name": "支部", "kind": "branch", "parent": "D"},  # a branch directly under a department
        {"id": "X", "name": "某", "kind": "base_committee", "parent": "NOPE"},
    ]}
    with pytest.raises(Refusal) as err:
        import_organisations(store, now=T0, **bad)
    assert "B（党支部）的上级应为基层党委" in err.value.message
    assert "NOPE" in err.value.message
    from models.store import Organisation
    with store.reading() as s:
        assert s.query(Organisation).count() == 0


# ---------------------------------------------------------------- who may change the tree

def _tree_with(*orgs_, people=()) -> dict:
    return {"organisations": list(orgs_), "people": list(people)}


RENAMED_B1 = {"id": "B1", "name": "东村党支部（更名）", "kind": "branch", "parent": "TOWN", "category": 3}
NEW_UNDER_TOWN = {"id": "B3", "name": "北村党支部", "kind": "branch", "parent": "TOWN", "category": 3}
NEW_UNDER_OTHER = {"id": "OB2", "name": "中村党支部", "kind": "branch", "parent": "OTHER_BASE", "category": 3}


def _names(store) -> dict[str, str]:
    from models.store import Organisation

    with store.reading() as s:
        return {o.id: o.name for o in s.query(Organisation)}


def test_an_import_without_an_actor_only_bootstraps_an_empty_store(orgs):
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, now=T0, **_tree_with(RENAMED_B1))
    assert err.value.code == "actor_required"
    assert _names(orgs)["B1"] == "东村党支部"


def test_an_empty_store_is_bootstrapped_whoever_is_named(store):
    from tests.conftest import ORG_TREE

    assert import_organisations(store, actor_id="first_admin", now=T0, **ORG_TREE).organisations_created == 7


@pytest.mark.parametrize("actor", ["town_staff", "town_sec"])
def test_a_keeper_changes_what_lies_under_their_organisation(orgs, actor):
    person = {"id": "sec3", "name": "冯书记", "roles": [{"org": "B3", "role": "secretary"}]}
    result = import_organisations(orgs, actor_id=actor, now=T0, **_tree_with(RENAMED_B1, NEW_UNDER_TOWN,
                                                                              people=[person]))
    assert result.organisations_created == 1
    assert _names(orgs)["B1"] == "东村党支部（更名）"
    with orgs.reading() as s:
        assert actor_roles(s, "sec3").keys() == {"B3"}


def test_reimporting_the_whole_tree_unchanged_needs_no_authority_over_it(orgs):
    from tests.conftest import ORG_TREE

    result = import_organisations(orgs, actor_id="town_staff", now=T0, **ORG_TREE)
    assert result.organisations_created == 0


def test_a_branch_secretary_keeps_nothing_not_even_their_own_branch(orgs):
    for tree, outside in ((_tree_with(RENAMED_B1), ["B1"]), (_tree_with(NEW_UNDER_TOWN), ["B3"])):
        with pytest.raises(Refusal) as err:
            import_organisations(orgs, actor_id="sec1", now=T0, **tree)
        assert err.value.code == "wrong_level" and err.value.details["orgs"] == outside


@pytest.mark.parametrize("actor, tree, outside", [
    ("town_staff", _tree_with(NEW_UNDER_OTHER), ["OB2"]),  # a neighbour's tree
    ("org1", _tree_with(RENAMED_B1), ["B1"]),  # an organisation member is neither secretary nor staff
    ("town_sec", _tree_with({**RENAMED_B1, "parent": "OTHER_BASE"}), ["B1"]),  # moving a branch out of its reach
    ("other_sec", _tree_with({**RENAMED_B1, "parent": "OTHER_BASE"}), ["B1"]),  # ... or into it from elsewhere
    ("town_staff", _tree_with(people=[{"id": "town_staff", "name": "钱干事",
                                        "roles": [{"org": "TOWN", "role": "staff"},
                                                  {"org": "COUNTY", "role": "secretary"}]}]), ["COUNTY"]),
    ("town_staff", _tree_with(people=[{"id": "county_org", "name": "孙部长", "notify_urls": ["mailto://x@example.com"],
                                        "roles": [{"org": "COUNTY", "role": "deputy_secretary"}]}]), ["COUNTY"]),
], ids=["neighbour", "not_a_keeper", "move_out", "move_in", "promote_self", "redirect_messages"])
def test_changes_outside_the_actors_reach_are_refused(orgs, actor, tree, outside):
    before = _names(orgs)
    with pytest.raises(Refusal) as err:
        import_organisations(orgs, actor_id=actor, now=T0, **tree)
    assert err.value.code == "wrong_level" and err.value.details["orgs"] == outside
    assert "无权改动" in err.value.message
    assert _names(orgs) == before
    with orgs.reading() as s:
        assert actor_roles(s, "town_staff").keys() == {"TOWN"}
