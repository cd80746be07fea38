"""The statistics table drawn from real cases in the store, now and as of an earlier moment."""
import datetime as dt

from casework.queries import statistics
from models.codes import MemberKind, Stage
from models.statistics import broken_relations
from tests.casework.drive import add_member, case_of, drive_to_end, propose, search, start
from tests.conftest import T0

LATER = T0 + dt.timedelta(days=30)


def test_mixed_cases_match_a_hand_computed_table(orgs):
    plan = [  # (name, kind, how the search ends, disposition or None)
        ("甲", MemberKind.FULL, ("contacted", Stage.DIRECT), "normal_management"),
        ("乙", MemberKind.FULL, ("contacted", Stage.NETWORK), "keep_relation"),
        ("丙", MemberKind.FULL, ("contacted", Stage.DIRECT), "correct_in_time"),
        ("丁", MemberKind.FULL, ("contacted", Stage.DIRECT), "persuade_withdraw"),
        ("戊", MemberKind.PROBATIONARY, ("contacted", Stage.DIRECT), "cancel_probationary"),
        ("己", MemberKind.FULL, ("contacted", Stage.DIRECT), None),
        ("庚", MemberKind.FULL, ("not_found", Stage.OTHER), "suspend_unreachable"),
        ("辛", MemberKind.FULL, ("not_found", Stage.OTHER), "suspend_unreachable"),
        ("壬", MemberKind.PROBATIONARY, ("not_found", Stage.OTHER), "cancel_probationary_unreachable"),
        ("癸", MemberKind.FULL, ("not_found", Stage.OTHER), "expulsion"),
        ("子", MemberKind.FULL, ("not_found", Stage.OTHER), None),
        ("丑", MemberKind.FULL, ("dead", Stage.NETWORK), None),
        ("寅", MemberKind.FULL, None, None),  # still searching
    ]
    ids = {name: add_member(orgs, name=name, kind=kind) for name, kind, _, _ in plan}
    add_member(orgs, name="卯", last_contact=dt.date(2026, 2, 1))  # not lost-contact: not counted anywhere
    start(orgs)
    for name, _kind, search_end, code in plan:
        cid = case_of(orgs, ids[name])
        if search_end:
            search(orgs, cid, outcome=search_end[0], at=search_end[1])
        if code:
            propose(orgs, cid, code, now=LATER, conduct="" if search_end[0] == "not_found" else "已谈话")
            drive_to_end(orgs, cid, now=LATER)
    with orgs.reading() as s:
        now = statistics(s, "TOWN")["table"]
        before = statistics(s, "TOWN", as_of=LATER - dt.timedelta(seconds=1))["table"]
        branch_only = statistics(s, "B2")["table"]
    # By hand: C = 甲 + 乙(D) + 丙(F) = 3; G = 丁(H) + 戊(L) = 2; N = 己; B = 3+2+0+1 = 6.
    # O: P = 壬(R) = 1; S = 庚 辛 (T) = 2; V = 癸 = 1; W = 子 寅 = 2; O = 6. X = 丑. A = 6 + 6 + 1 = 13.
    expected = dict(A=13, B=6, C=3, D=1, E=0, F=1, G=2, H=1, I=0, J=0, K=0, L=1, M=0, N=1, O=6, P=1, Q=0, R=1,
                    S=2, T=2, U=0, V=1, W=2, X=1)
    assert now == expected
    # Before any disposition took effect: the contacted are "still being investigated", the rest still searched for.
    assert (before["A"], before["B"], before["N"], before["W"], before["X"]) == (13, 6, 6, 6, 1)
    assert broken_relations(before) == [] and branch_only["A"] == 0
