"""The crash loop's parts: a PostgreSQL-backed Prefect server and a case runner as real processes that can be killed
with SIGKILL and started again, a driver that makes decisions through the casework actions (as the web app and the
CLI do, each with a request id, some submitted twice), and the checks made afterwards.

The loop itself is in tests/faults/test_crash_loop.py; benchmarks/results/crash_loop.* hold the last long run."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import func, select

from casework import runs
from casework.campaigns import start_campaign
from casework.deliveries import Desk
from casework.dispositions import decide_step, file_material, propose_disposition
from casework.search import record_attempt
from deploy.server import PrefectServer, free_port
from models.catalogue import procedure
from models.channels_store import StepAnnouncement
from models.codes import STAGE_ORDER, Body, Stage, StepKind, StepStatus
from models.errors import Refusal
from models.position import base_key, pause_key
from models.store import Attempt, AuditEvent, DispositionRow, Notification, OutboxRow, RequestRecord, Step
from models.timing import utcnow
from notifications.sending import LEASE, flush
from tests.casework.drive import ACTOR, VOTE_PASSED, add_member, open_step
from tests.conftest import T0

ROOT = Path(__file__).resolve().parents[2]


def field_of(result, name: str, default=None):
    """An action's answer is a dict today and may become a Pydantic view: read a field either way."""
    if isinstance(result, dict):
        return result.get(name, default)
    return getattr(result, name, default)


# ---------------------------------------------------------------- the processes


class KillableServer:
    """A Prefect server on a fixed port and a PostgreSQL database that outlive each of its processes."""

    def __init__(self, home: Path, database_url: str):
        self.home, self.database_url, self.port = home, database_url, free_port()
        self.server: PrefectServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        self.server = PrefectServer(home=self.home, database_url=self.database_url, port=self.port,
                                    scheduler=False).start(timeout=180)

    def kill(self) -> None:
        """SIGKILL to the server's whole process group (it was started in a session of its own)."""
        assert self.server and self.server.process
        os.killpg(self.server.process.pid, signal.SIGKILL)
        self.server.process.wait()

    def stop(self) -> None:
        if self.server:
            self.server.stop()


class KillableRunner:
    """`python -m caserunner` with a stable id, so a restart frees its own claims at once."""

    def __init__(self, env: dict[str, str], log: Path, threads: int = 4):
        self.env, self.log, self.threads = env, log, threads
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "caserunner", "--id", "crash-loop", "--threads", str(self.threads)],
            cwd=ROOT, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        assert self.process
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


# ---------------------------------------------------------------- the decisions


@dataclass
class Ledger:
    """What the driver did: every decision once by its request id, and the replays it asked for."""

    by_kind: Counter = field(default_factory=Counter)
    request_ids: list[str] = field(default_factory=list)
    replays: int = 0
    replay_mismatches: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    campaigns: int = 0


class Driver:
    """Decisions flow while processes die: each case goes through its search, a proposal, its materials and the
    approvals of its chain, one action at a time, cases interleaved at random. A person whose answer got lost
    submits again: a share of the actions is sent twice with one request id and must be answered, not applied."""

    def __init__(self, store, rng: random.Random, *, cases_per_campaign: int, replay_share: float = 0.15,
                 pause: tuple[float, float] = (0.1, 0.6)):
        self.store, self.rng = store, rng
        self.cases_per_campaign, self.replay_share, self.pause = cases_per_campaign, replay_share, pause
        self.ledger = Ledger()
        self.scripts: dict[str, list] = {}
        self.errors: list[BaseException] = []
        self._n = 0
        self._ticks = 0

    def new_campaign(self) -> None:
        for i in range(self.cases_per_campaign):  # a birth date of its own: a resident ID number of its own
            born = dt.date(1960, 1, 1) + dt.timedelta(days=self.ledger.campaigns * 1000 + i)
            add_member(self.store, name=f"失联{self.ledger.campaigns:03d}{i:03d}", birth=born)
        n = self.ledger.campaigns
        at = self.now()
        result = self._submit("campaign", lambda rid: start_campaign(
            self.store, request_id=rid, actor_id="town_sec", now=at, campaign_id=f"CRASH{n:03d}", org_id="TOWN",
            name="集中排查", start_date="2026-03-07", phases={"search": "2026-03-31", "dispose": "2026-08-31"}))
        self.ledger.campaigns += 1
        for case_id in field_of(result, "case_ids"):
            self.scripts[case_id] = self._script(case_id)

    def now(self) -> dt.datetime:
        """The simulated clock: every action a few seconds after the one before (a step opened at its own instant is
        announced on its own, as in real use; steps opened at one instant are one announcement)."""
        self._ticks += 1
        return T0 + dt.timedelta(seconds=5 * self._ticks)

    def _script(self, case_id: str) -> list:
        """The actions of one case, each a function of nothing that builds its call when its turn comes (an
        approval acts on whatever step is open then)."""
        contacted = self.rng.random() < 0.4
        steps: list = []
        for stage in STAGE_ORDER:
            found = contacted and stage is Stage.DIRECT
            actor = "town_staff" if stage is Stage.DEPARTMENT else "sec1"
            steps.append(("attempt", record_attempt, dict(
                actor_id=actor, case_id=case_id, stage=stage.value, method=stage.methods[0],
                description="取得联系" if found else f"{stage.label}：未果", witness="李四",
                outcome="contacted" if found else "not_found")))
            if found:
                break
        code = "normal_management" if contacted else "suspend_unreachable"
        steps.append(("propose", propose_disposition, dict(
            actor_id="sec1", case_id=case_id, disposition=code, grounds="符合该情形",
            conduct="失联期间无违纪违法行为，已谈话" if contacted else "")))
        for kind in procedure(code).materials:
            steps.append(("material", file_material, dict(actor_id="sec1", case_id=case_id, kind=kind,
                                                         reference=f"档案{kind}")))
        steps += [("decide", None, case_id)] * len(procedure(code).steps)
        return steps

    def _approval(self, case_id: str):
        step = open_step(self.store, case_id)
        assert step is not None and step.kind is StepKind.REVIEW, (case_id, step)
        kwargs = dict(actor_id=ACTOR[step.body], step_id=step.id, verdict="approve",
                      opinion=f"同意（{step.title}）")
        if step.body is Body.GENERAL_MEETING:
            kwargs.update(vote=VOTE_PASSED, member_signed=False, signature_note="本人无法取得联系，未能签字",
                          guide="镇党委组织委员 孙某")
        return decide_step, kwargs

    def _submit(self, kind: str, call) -> object:
        self._n += 1
        rid = f"crash-{self._n:06d}"
        first = call(rid)
        self.ledger.by_kind[kind] += 1
        self.ledger.request_ids.append(rid)
        if self.rng.random() < self.replay_share:
            again = call(rid)
            self.ledger.replays += 1
            if not field_of(again, "replayed"):
                self.ledger.replay_mismatches.append(rid)
        return first

    def one(self) -> bool:
        """One action of a random case with work left; False when every case is done."""
        live = [cid for cid, script in self.scripts.items() if script]
        if not live:
            return False
        case_id = self.rng.choice(sorted(live))
        kind, fn, kwargs = self.scripts[case_id].pop(0)
        if kind == "decide":
            fn, kwargs = self._approval(case_id)
        kwargs = {**kwargs, "now": self.now()}
        try:
            self._submit(kind, lambda rid: fn(self.store, request_id=rid, **kwargs))
        except Refusal as refusal:  # a rule said no: a fault of the script, reported by the test
            self.ledger.refusals.append(f"{case_id} {kind}: {refusal.code} {refusal.message}")
        return True

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                if not self.one():
                    self.new_campaign()
                stop.wait(self.rng.uniform(*self.pause))
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.errors.append(exc)


# ---------------------------------------------------------------- the checks


def sweep_by_hand(env: dict[str, str], now) -> dict:
    """`lostcontact sweep --json`, as an operator runs it: fire what came due, replay every case behind the store."""
    done = subprocess.run([str(Path(sys.executable).parent / "lostcontact"), "sweep", "--json", "--now",
                           now.isoformat()], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["repaired"]


def flush_queue(store) -> dict:
    """What the notify-queue deployment does on its schedule (flows/notify.py): send the messages queued but not
    sent, e.g. by a runner killed between queueing them and sending them; then what it does once the lease of a
    claim cut off mid-send has run out: such a claim is marked uncertain, never sent again
    (notifications/sending.py), so the receiver must still have seen each message at most once."""
    now = utcnow()
    first = flush(Desk(store), now=now).as_dict()
    later = flush(Desk(store), now=now + LEASE + dt.timedelta(minutes=1)).as_dict()
    return {**first, "sent": first["sent"] + later["sent"], "uncertain": first["uncertain"] + later["uncertain"]}


def segments_done(store) -> int:
    """Outbox rows the runner has finished: how the loop knows a (re)started process is at work again."""
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_not(None))) or 0


def wait_working(store, since: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if segments_done(store) > since or pending(store) == 0:
            return True
        time.sleep(0.1)
    return False


def pending(store) -> int:
    return runs.pending_count(store)


def wait_drained(store, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pending(store) == 0:
            return True
        time.sleep(0.5)
    return pending(store) == 0


def applied_once(store, ledger: Ledger) -> dict:
    """Each decision on record once: its request answered once, its rows written once (attempts, proposals,
    decided steps), its audit event once."""
    ids = set(ledger.request_ids)
    with store.reading() as s:
        records = Counter(s.scalars(select(RequestRecord.request_id).where(RequestRecord.request_id.like("crash-%"))))
        audits = Counter(s.scalars(select(AuditEvent.request_id).where(AuditEvent.request_id.like("crash-%"))))
        attempts = s.scalar(select(func.count()).select_from(Attempt))
        proposals = s.scalar(select(func.count()).select_from(DispositionRow))
        decided = s.scalar(select(func.count()).select_from(Step).where(Step.verdict.is_not(None)))
    return {
        "missing": sorted(ids - set(records)),
        "unknown": sorted(set(records) - ids),
        "records_twice": sorted(r for r, n in records.items() if n > 1),
        "without_audit": sorted(ids - set(audits)),
        "attempts": (attempts, ledger.by_kind["attempt"]),
        "proposals": (proposals, ledger.by_kind["propose"]),
        "decided_steps": (decided, ledger.by_kind["decide"]),
    }


def runs_in_step(store, api_url: str) -> dict:
    """Every case's run as the store says it should be: paused on the step the store shows, or completed when the
    case is finished. Read from Prefect through its client."""
    with store.reading() as s:
        cases = runs.live_cases(s)
    wrong: list[str] = []
    counts = Counter()
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        for case_id, run_id, key, done in cases:
            if run_id is None:
                wrong.append(f"{case_id}: no run")
                continue
            state = client.read_flow_run(UUID(run_id)).state
            if done:
                ok = state.is_completed()
            else:
                ok = state.is_paused() and base_key(state.state_details.pause_key) == pause_key(key)
            counts["completed" if done else "suspended"] += ok
            if not ok:
                wrong.append(f"{case_id}: {state.type.value} {state.name} {state.state_details.pause_key} "
                             f"(store: {key}, finished={done})")
    return {"wrong": wrong, "counts": dict(counts)}


def notifications_once(store, posts: list[dict]) -> dict:
    """No message arrives twice: at the receiver, no two deliveries with the same channel and text; in the store, one
    row per dedupe key; deliveries no more than the rows sent or cut off mid-send."""
    delivered = [(p["path"], json.dumps(p["json"], sort_keys=True, ensure_ascii=False)) for p in posts
                 if p["status"] == 200]
    twice = {k: n for k, n in Counter(delivered).items() if n > 1}
    with store.reading() as s:
        open_steps = set(s.scalars(select(Step.id).where(Step.status == StepStatus.OPEN)))
        announced = set(s.scalars(select(StepAnnouncement.step_id).where(StepAnnouncement.step_id.in_(open_steps))))
        statuses = Counter(s.scalars(select(Notification.status)))
        keys = s.scalar(select(func.count(func.distinct(Notification.dedupe_key))))
        steps = Counter(s.execute(select(Notification.step_id, Notification.person_id)
                                  .where(Notification.step_id.is_not(None), Notification.kind == "step_opened")).all())
    return {
        "delivered": len(delivered), "duplicates": sum(n - 1 for n in twice.values()),
        "rows": sum(statuses.values()), "distinct_keys": keys, "statuses": dict(statuses),
        "step_person_twice": sum(1 for n in steps.values() if n > 1),
        "open_steps": len(open_steps), "open_steps_unannounced": sorted(open_steps - announced),
    }


def outbox_claims(store) -> dict[int, int]:
    """Outbox rows by the number of claims they took: more than one means a try was cut off and taken again."""
    with store.reading() as s:
        return {int(k): int(v) for k, v in s.execute(select(OutboxRow.tries, func.count()).group_by(OutboxRow.tries))}
