"""Property-based tests (hypothesis) of the statistics table A-X and its six relations (models/statistics.py): any
consistent set of cases, each counted in the one column the rules give it, makes a table that satisfies every
relation; a table that breaks a relation is flagged, naming exactly the relations the broken cell is in.

Examples per test: tests/properties.py (HYPOTHESIS_PROFILE=full for 20 times as many)."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from models.catalogue import Column, Contact, procedures
from models.rules import case_column
from models.statistics import LETTERS, RELATIONS, broken_relations, check_table, table_from_columns
from tests.properties import examples

contacts = st.sampled_from(list(Contact))


@st.composite
def a_case(draw) -> Column:
    """One case as the rules see it: dead or not, the result of its search, the disposition in effect (if any, one
    that applies to such a case) and the result it took effect under."""
    dead = draw(st.booleans()) if draw(st.integers(0, 9)) == 0 else False
    contact = draw(st.one_of(st.none(), contacts))
    applicable = [p for p in procedures() if contact in p.applies_to] if contact else []
    effective = draw(st.one_of(st.none(), st.sampled_from(applicable))) if applicable else None
    return case_column(dead=dead, contact=contact, effective=effective,
                       contact_when_effective=contact if effective else None)


cases = st.lists(a_case(), max_size=60)


@examples(500)
@given(columns=cases)
def test_any_consistent_set_of_cases_gives_a_table_satisfying_the_six_relations(columns):
    table = table_from_columns(columns)
    assert broken_relations(table) == [] and check_table(table) == []
    assert table["A"] == len(columns)  # every case is counted once, in A and its one leaf column
    assert all(v >= 0 for v in table.values())
    assert table["D"] + table["E"] + table["F"] <= table["C"]


@examples(500)
@given(columns=st.lists(st.sampled_from(list(Column)), max_size=200))
def test_any_mix_of_leaf_columns_adds_up(columns):
    table = table_from_columns(columns)
    for total, parts in RELATIONS:
        assert table[total] == sum(table[p] for p in parts)


@examples(1000)
@given(columns=cases, letter=st.sampled_from(LETTERS), delta=st.integers(-50, 50).filter(bool))
def test_a_table_with_one_cell_changed_is_flagged_by_the_relations_that_cell_is_in(columns, letter, delta):
    table = table_from_columns(columns)
    table[letter] += delta
    flagged = {b.formula for b in broken_relations(table)}
    expected = {f"{total}＝{'+'.join(parts)}" for total, parts in RELATIONS if letter == total or letter in parts}
    if letter in "CDEF" and table["D"] + table["E"] + table["F"] > table["C"]:
        expected.add("C＝D+E+F")  # "of which" items above their total
    assert flagged == expected
    problems = check_table(table)
    assert len(problems) == len(expected) + (table[letter] < 0)  # a negative cell is named as well
    if expected:
        assert all(isinstance(p, str) and p for p in problems)


@examples(300)
@given(table=st.dictionaries(st.sampled_from(LETTERS), st.one_of(
    st.integers(-5, 10**6), st.text(max_size=6), st.none(), st.floats(allow_nan=True),
    st.integers(0, 999).map(lambda n: f" {n} ")), max_size=24))
def test_any_hand_typed_table_is_checked_without_error(table):
    """Missing, negative, non-integer or spaced cells: the checker answers in Chinese, cell by cell, never raises."""
    problems = check_table(table)
    assert all(isinstance(p, str) and p for p in problems)
    clean = all(isinstance(table.get(x), int) and table[x] >= 0 for x in LETTERS)
    if clean and not broken_relations({x: int(table[x]) for x in LETTERS}):
        assert problems == []
    if any(x not in table for x in LETTERS):
        assert problems
