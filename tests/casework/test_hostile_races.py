"""Races end in an answer (issue 20, point 6): 20 simultaneous clients with one request id all get the first answer;
concurrent duplicates of a campaign start or a roster import get a clear refusal or the first result, never an
unexpected error. On SQLite (writers queue) and PostgreSQL (they really overlap)."""
from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from casework.campaigns import start_campaign
from casework.roster import import_roster_bytes
from casework.search import record_attempt
from models.errors import Refusal
from models.store import Attempt, Campaign, Case, Member
from models.views import CampaignStarted, RosterReport
from tests.casework.drive import add_member, case_of, start
from tests.conftest import T0

CLIENTS = 20


def _together(fn, n: int = CLIENTS) -> list:
    """Call fn(i) from n threads released at once; each outcome is a result dict or the exception raised."""
    gate = threading.Barrier(n)

    def one(i):
        gate.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 — the test inspects what each client got
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_twenty_retries_of_one_request_all_get_the_first_answer(orgs):
    member = add_member(orgs, name="甲")
    start(orgs)
    case_id = case_of(orgs, member)

    def attempt(_i):
        return record_attempt(orgs, request_id="req-attempt-1", actor_id="sec1", now=T0, case_id=case_id,
                              stage="direct", method="电话", description="拨打电话未接通", witness="李四",
                              outcome="not_found")

    outcomes = _together(attempt)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not errors, [repr(e) for e in errors]
    assert sum(1 for o in outcomes if not o.replayed) == 1
    first = next(o for o in outcomes if not o.replayed)
    assert all(o.model_copy(update={"replayed": False}) == first for o in outcomes)
    with orgs.reading() as s:
        assert s.scalar(select(func.count()).select_from(Attempt)) == 1


def test_concurrent_campaign_starts_with_one_id_give_one_campaign_and_clear_refusals(orgs):
    add_member(orgs, name="乙")

    def go(_i):
        return start_campaign(orgs, actor_id="town_sec", now=T0, campaign_id="C-RACE", org_id="TOWN",
                              name="集中排查", start_date="2026-03-07")

    outcomes = _together(go)
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, Refusal)]
    assert not unexpected, [repr(e) for e in unexpected]
    assert sum(1 for o in outcomes if isinstance(o, CampaignStarted)) == 1
    assert {o.code for o in outcomes if isinstance(o, Refusal)} <= {"campaign_exists", "concurrent_duplicate"}
    with orgs.reading() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1


def test_concurrent_campaign_starts_with_one_request_id_all_get_the_first_answer(orgs):
    add_member(orgs, name="丙")

    def go(_i):
        return start_campaign(orgs, request_id="req-campaign", actor_id="town_sec", now=T0, campaign_id="C-REQ",
                              org_id="TOWN", name="集中排查", start_date="2026-03-07")

    outcomes = _together(go)
    assert all(isinstance(o, CampaignStarted) for o in outcomes), [repr(o) for o in outcomes
                                                                    if not isinstance(o, CampaignStarted)]
    assert sum(1 for o in outcomes if not o.replayed) == 1


def _roster() -> bytes:
    from tests.casework.test_roster import person

    rows = [person(f"党员{i}") for i in range(30)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_concurrent_imports_of_one_roster_give_the_members_once_and_clear_refusals(orgs):
    data = _roster()

    def go(_i):
        return import_roster_bytes(orgs, data, "名册.csv", base_committee_id="TOWN", actor_id="town_staff", now=T0)

    outcomes = _together(go)
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, Refusal)]
    assert not unexpected, [repr(e) for e in unexpected]
    assert any(isinstance(o, RosterReport) and o.created == 30 for o in outcomes)
    for o in outcomes:
        if isinstance(o, Refusal):
            assert o.code in ("concurrent_import", "concurrent_duplicate")
            assert "党员" not in str(o.details) and "1501" not in o.message  # no member's data in the answer
    with orgs.reading() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == 30
