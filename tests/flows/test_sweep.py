"""Issue 21 point 1: the sweep and the repair do not depend on the scheduler. A case runner repairs the runs that are
behind the store when it starts; `lostcontact sweep` fires what came due and repairs by hand."""
from __future__ import annotations

import datetime as dt
import threading
import time
from uuid import UUID

from prefect import get_client

from casework.followups import issue_transfer_letter
from caserunner.runner import CaseRunner
from models.store import Case, FollowUp
from tests.casework.drive import add_member
from tests.cli.helpers import Cli
from tests.conftest import T0
from tests.flows.test_runner_repair import assert_all_in_step, open_cases, pending


def run_ids(store, case_ids) -> dict[str, str | None]:
    with store.reading() as s:
        return {cid: s.get(Case, cid).flow_run_id for cid in case_ids}


def lose_runs(run_ids_: list[str]) -> None:
    """As when the Prefect database is wiped: the server no longer knows these runs."""
    with get_client(sync_client=True) as client:
        for rid in run_ids_:
            client.delete_flow_run(UUID(rid))


def test_a_runner_repairs_runs_lost_with_the_server_when_it_starts(store, prefect, orgs):
    case_ids = open_cases(store, 3)
    first = CaseRunner(store, runner_id="before", threads=1)
    first.drain()
    first.close()
    before = run_ids(store, case_ids)
    lose_runs(list(before.values()))

    runner = CaseRunner(store, runner_id="after", threads=1, poll_seconds=0.2)
    stop = threading.Event()
    serving = threading.Thread(target=runner.serve, args=(stop,), daemon=True)
    serving.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        now = run_ids(store, case_ids)
        if pending(store) == 0 and all(now[c] not in (None, before[c]) for c in case_ids):
            break
        time.sleep(0.3)
    stop.set()
    serving.join(30)
    runner.close()
    now = run_ids(store, case_ids)
    assert all(now[c] not in (None, before[c]) for c in case_ids), (before, now)
    assert pending(store) == 0 and runner.errors == 0
    assert_all_in_step(store, case_ids)


def test_lostcontact_sweep_fires_due_follow_ups_and_repairs_lost_runs(store, prefect, orgs, tmp_path):
    case_ids = open_cases(store, 2)
    runner = CaseRunner(store, runner_id="before", threads=1)
    runner.drain()
    runner.close()
    lost = run_ids(store, case_ids)[case_ids[0]]
    lose_runs([lost])
    mid = add_member(store, name="吴十", last_contact=dt.date(2026, 2, 1))
    issue_transfer_letter(store, actor_id="sec1", now=T0, letter_id="L-1", member_id=mid, receiving_org="某区街道党工委",
                          issued_on="2026-03-01", validity_days=30)  # receipt due 2026-04-30

    cli = Cli(store.url, tmp_path)
    env = {"PREFECT_API_URL": prefect.api_url, "PREFECT_LOGGING_LEVEL": "WARNING"}
    result = cli("sweep", "--now", "2026-05-01T08:00", "--drain", "--json", env=env)
    document = result.json()
    fired = {f["followup_id"]: f for f in document["fired"]}
    assert fired["receipt:L-1"]["fired"] is True
    assert document["repaired"]["requeued"] == 1 and document["repaired"]["lost_runs"] == 1
    assert document["drained"] >= 2  # the repaired case and the new pocket case
    with store.reading() as s:
        assert s.get(FollowUp, "receipt:L-1").case_id == "POCKET-L-1"
    assert run_ids(store, case_ids)[case_ids[0]] not in (None, lost)
    assert pending(store) == 0
    assert_all_in_step(store, [*case_ids, "POCKET-L-1"])

    again = cli("sweep", "--now", "2026-05-01T08:00", env=env)  # idempotent: nothing more to do
    assert "触发到期事项0项" in again.out and "重新排队0个" in again.out
