"""A decision sent at once from 20 OS processes on PostgreSQL is applied once (issue 22, point 4).

Each client is a process of its own (multiprocessing, forkserver: a clean interpreter, not a fork of pytest) with its
own store connection, released by one barrier. With one request id (a person's submission retried by 20 clients):
one answer applied, 19 replays of that same answer. With 20 request ids (20 people deciding the same step): one
applied, 19 refusals that name the rule. Never a traceback. tests/casework/test_hostile_races.py races threads of
one process; these are processes, as several web workers are."""
from __future__ import annotations

import multiprocessing as mp
import queue

import pytest
from sqlalchemy import func, select

from casework.orgs import import_organisations
from models.codes import Stage, StepKind
from models.store import AuditEvent, RequestRecord, Step
from tests.casework.drive import ACTOR, add_member, case_of, file_all_materials, open_step, propose, search, start
from tests.conftest import ORG_TREE, T0, _new_installation, _truncate
from tests.faults import racers

pytestmark = pytest.mark.postgres
CLIENTS = 20


@pytest.fixture
def pg(pg_store):
    """The PostgreSQL store alone (processes racing on SQLite only queue for its one writer)."""
    _truncate(pg_store)
    _new_installation(pg_store)
    import_organisations(pg_store, actor_id=None, now=T0, **ORG_TREE)
    return pg_store


def step_waiting(store) -> tuple[str, dict]:
    """A case whose first review step waits: the decision the clients race to make."""
    member = add_member(store, name="甲")
    start(store)
    case_id = case_of(store, member)
    search(store, case_id, outcome="contacted", at=Stage.DIRECT)
    propose(store, case_id, "normal_management")
    file_all_materials(store, case_id)
    step = open_step(store, case_id)
    assert step.kind is StepKind.REVIEW
    return step.id, dict(actor_id=ACTOR[step.body], now=T0, step_id=step.id, verdict="approve",
                         opinion=f"同意（{step.title}）")


def race(store, request_ids: list[str], kwargs: dict) -> list[tuple[int, str, object]]:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.faults.racers"])
    barrier, answers = ctx.Barrier(len(request_ids)), ctx.Queue()
    clients = [ctx.Process(target=racers.decide, args=(i, store.url, barrier, answers, rid, kwargs))
               for i, rid in enumerate(request_ids)]
    for c in clients:
        c.start()
    out = []
    try:
        for _ in clients:
            out.append(answers.get(timeout=180))
    except queue.Empty:
        pass
    for c in clients:
        c.join(30)
    assert len(out) == len(clients), f"{len(out)} of {len(clients)} clients answered"
    assert all(c.exitcode == 0 for c in clients), [c.exitcode for c in clients]
    return sorted(out, key=lambda o: o[0])


def decided(store, step_id: str) -> tuple[int, int]:
    with store.reading() as s:
        return (s.scalar(select(func.count()).select_from(Step).where(Step.id == step_id, Step.verdict.is_not(None))),
                s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "decide_step")))


def test_one_request_from_twenty_processes_is_applied_once_and_answered_alike(pg):
    step_id, kwargs = step_waiting(pg)
    outcomes = race(pg, ["req-twenty"] * CLIENTS, kwargs)
    errors = [o for o in outcomes if o[1] == "error"]
    assert not errors, errors[0][2]
    assert all(kind == "answer" for _, kind, _ in outcomes), [o for o in outcomes if o[1] != "answer"]
    applied = [a for _, _, a in outcomes if not a.get("replayed")]
    assert len(applied) == 1
    assert all({k: v for k, v in a.items() if k != "replayed"} == applied[0] for _, _, a in outcomes)
    assert decided(pg, step_id) == (1, 1)
    with pg.reading() as s:
        assert s.scalar(select(func.count()).select_from(RequestRecord)
                        .where(RequestRecord.request_id == "req-twenty")) == 1


def test_one_step_decided_by_twenty_processes_is_applied_once_and_the_rest_refused_by_rule(pg):
    step_id, kwargs = step_waiting(pg)
    outcomes = race(pg, [f"req-{i:02d}" for i in range(CLIENTS)], kwargs)
    errors = [o for o in outcomes if o[1] == "error"]
    assert not errors, errors[0][2]
    applied = [a for _, kind, a in outcomes if kind == "answer"]
    refused = [r for _, kind, r in outcomes if kind == "refusal"]
    assert len(applied) == 1 and not applied[0].get("replayed")
    assert len(refused) == CLIENTS - 1
    assert {r["code"] for r in refused} <= {"step_closed", "concurrent_edit"}, refused
    for r in refused:  # a rule named in Chinese: the step is no longer open, or another edit won
        assert r["code"] and r["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in r["message"]), r
        assert "Traceback" not in r["message"]
    assert decided(pg, step_id) == (1, 1)
