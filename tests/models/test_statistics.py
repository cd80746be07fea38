"""Statistics A-X: relations by construction; the checker names each broken relation of a hand table."""
from models.catalogue import Column
from models.statistics import LETTERS, broken_relations, check_table, table_from_columns


def test_mixed_cases_match_a_hand_computed_table():
    counts = {Column.C_OTHER: 3, Column.D: 1, Column.E: 1, Column.F: 2, Column.H: 1, Column.I: 2, Column.J: 1,
              Column.K: 1, Column.L: 1, Column.M: 1, Column.N: 4, Column.Q: 2, Column.R: 1, Column.T: 5,
              Column.U: 1, Column.V: 1, Column.W: 6, Column.X: 2}
    columns = [c for c, n in counts.items() for _ in range(n)]
    t = table_from_columns(columns)
    # By hand: C = 3+1+1+2 = 7; G = 1+2+1+1+1 = 6; B = 7+6+1+4 = 18; P = 3; S = 6; O = 3+6+1+6 = 16; A = 18+16+2.
    expected = dict(A=36, B=18, C=7, D=1, E=1, F=2, G=6, H=1, I=2, J=1, K=1, L=1, M=1, N=4, O=16, P=3, Q=2, R=1,
                    S=6, T=5, U=1, V=1, W=6, X=2)
    assert t == expected
    assert broken_relations(t) == []


def test_checker_names_each_broken_relation():
    t = table_from_columns([Column.T, Column.W, Column.C_OTHER])
    t["A"] += 1
    t["S"] = 5
    problems = check_table(t)
    assert any(p.startswith("A＝B+O+X不成立") for p in problems)
    assert any(p.startswith("S＝T+U不成立") for p in problems)
    assert any(p.startswith("O＝P+S+V+W不成立") for p in problems)
    assert len(problems) == 3


def test_checker_reports_missing_negative_and_of_which():
    t = {letter: 0 for letter in LETTERS}
    t.update(C=1, D=1, E=1, B=1, A=1)
    t["X"] = "abc"
    problems = check_table(t)
    assert any("X列" in p for p in problems)
    assert any("D、E、F是C的“其中”项" in p for p in problems)
    negative = check_table({**{letter: 0 for letter in LETTERS}, "W": -1, "O": -1, "A": -1})
    assert [p[:2] for p in negative] == ["A列", "O列", "W列"]
