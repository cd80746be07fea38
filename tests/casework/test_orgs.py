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
