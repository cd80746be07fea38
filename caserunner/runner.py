"""The case runner: a long-lived process that drains the outbox and executes case runs in-process.

For each case with pending outbox rows it creates the case's run if it has none, resumes it if it waits, and
executes the segment here (`prefect.flow_engine.run_flow`) on a bounded thread pool, until the run suspends on the
step the store shows. It also executes the follow-up, sweep and statistics runs that Prefect holds scheduled once
they are due. Several runners may share one PostgreSQL store and one Prefect server: claims are per case (see
`casework.runs`). A runner that dies holding claims is repaired on its restart (its own claims are released at once)
or by any other runner after the lease. On PostgreSQL an idle runner is woken by the commit of a decision
(`casework.outbox_signal`), so a person's decision does not wait for the next poll; SQLite is polled."""
from __future__ import annotations

import argparse
import contextvars
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                            FlowRunFilterExpectedStartTime, FlowRunFilterState,
                                            FlowRunFilterStateType)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import Abort, ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.states import Scheduled
from sqlalchemy import inspect

from casework import outbox_signal, runs
from casework.db import Store, shared_store
from models.timing import utcnow
from tasks import prefect_api

from . import engine
from .deployments import TAGS as DEPLOYMENT_TAGS
from .deployments import apply_deployments
from flows.case import case_flow
from flows.followups import daily_sweep, followup_flow, statistics_flow
from flows.notify import NOTIFY_DAILY_DEPLOYMENT, NOTIFY_QUEUE_DEPLOYMENT, notify_daily, notify_flush
from tasks.repair import repair_sweep

log = logging.getLogger("lostcontact.runner")

SCHEDULED_FLOWS = {
    prefect_api.FOLLOWUP_DEPLOYMENT: followup_flow,
    prefect_api.SWEEP_DEPLOYMENT: daily_sweep,
    prefect_api.STATISTICS_DEPLOYMENT: statistics_flow,
    NOTIFY_DAILY_DEPLOYMENT: notify_daily,
    NOTIFY_QUEUE_DEPLOYMENT: notify_flush,
}


class CaseRunner:
    def __init__(self, store: Store, *, runner_id: str | None = None, threads: int = 4,
                 poll_seconds: float = 0.5, scheduled_every: float = 30.0, on_segment=None, run_logs: bool = False):
        self.store = store
        self.runner_id = runner_id or f"{socket.gethostname()}:{os.getpid()}"
        self.threads = threads
        self.poll_seconds = poll_seconds
        self.scheduled_every = scheduled_every
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="case-runner")
        self.api_url = PREFECT_API_URL.value()  # the server of the context the runner was made in
        self.segments = 0
        self.errors = 0
        self.on_segment = on_segment  # called with (case_id, monotonic time) after each segment, for benchmarks
        self._case_flow_id = None
        os.environ.setdefault("LOSTCONTACT_DB_URL", store.url)
        shared_store(store.url)  # tasks find this store through the shared handle
        engine.apply_cuts()
        if not run_logs:
            engine.quiet_run_logs()

    # ------------------------------------------------------------ the loop

    def serve(self, stop: threading.Event | None = None) -> None:
        """Run until `stop` is set (or forever): drain the outbox, run due scheduled runs, sleep a little."""
        stop = stop or threading.Event()
        released = runs.release_own(self.store, self.runner_id)
        if released:
            log.info("released %d outbox rows this runner held when it stopped", released)
        self.repair_at_start()
        waker = outbox_signal.listener(self.store)  # PostgreSQL wakes us at a decision's commit; SQLite is polled
        if waker:
            waker.listen()  # before the first look at the outbox: a decision committed in between still wakes us
        try:
            self._serve(stop, waker)
        finally:
            if waker:
                waker.close()

    def repair_at_start(self) -> dict | None:
        """Replay every case whose run is behind the store before serving: a runner (re)started after an outage or a
        wiped Prefect database puts the runs back in step at once, not at the next daily sweep (which may never come
        when the scheduler is down). A failure here is logged; the runner serves anyway."""
        try:
            with engine.in_process_settings(self.api_url):
                report = repair_sweep(self.store, now=utcnow())
        except Exception:
            log.exception("repair at start failed; the daily sweep or `lostcontact sweep` will try again")
            return None
        if report["requeued"]:
            log.info("repair at start: %d of %d case runs were behind the store (%d lost with the server)",
                     report["requeued"], report["checked"], report["lost_runs"])
        return report

    def _serve(self, stop: threading.Event, waker) -> None:
        last_scheduled = 0.0
        with engine.in_process_settings(self.api_url):
            while not stop.is_set():
                began = time.monotonic()
                worked = self.drain_once()
                if worked:
                    log.info("advanced %d case run(s) in %.2f s (%d segments, %d errors so far)", worked,
                             time.monotonic() - began, self.segments, self.errors)
                if time.monotonic() - last_scheduled > self.scheduled_every:
                    self.run_due_scheduled()
                    last_scheduled = time.monotonic()
                if not worked:
                    self._idle(stop, waker)

    def _idle(self, stop: threading.Event, waker) -> None:
        """Wait for work: until the outbox is signalled (PostgreSQL) or the next poll, whichever comes first, looking
        at `stop` at least once a second."""
        if waker is None:
            stop.wait(self.poll_seconds)
            return
        deadline = time.monotonic() + self.poll_seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if waker.wait(min(left, 1.0)):
                return

    def drain(self, *, timeout: float = 120.0) -> int:
        """Drain until the outbox is empty (for tests, benchmarks and the demo). Returns segments executed."""
        deadline = time.monotonic() + timeout
        done = 0
        with engine.in_process_settings(self.api_url):
            while time.monotonic() < deadline:
                n = self.drain_once()
                done += n
                if n == 0 and runs.pending_count(self.store) == 0:
                    return done
                if n == 0:
                    time.sleep(self.poll_seconds)
        raise TimeoutError(f"outbox not drained within {timeout}s ({runs.pending_count(self.store)} rows left)")

    def drain_once(self) -> int:
        claims = runs.claim(self.store, self.runner_id, limit=self.threads * 4, now=utcnow())
        if not claims:
            return 0
        with self.store.reading() as s:
            infos = {i.case_id: i for i in runs.run_infos(s, [c.case_id for c in claims])}
        # Prefect's settings (which server, the cuts) live in context variables: each claim runs in a copy of ours.
        # Entered once per batch: building Prefect's settings object costs a quarter of a segment's client CPU.
        with engine.in_process_settings(self.api_url):
            futures = [self._pool.submit(contextvars.copy_context().run, self._advance_safely, c, infos[c.case_id])
                       for c in claims]
        return sum(f.result() for f in futures)

    def _advance_safely(self, claim: runs.Claim, info: runs.CaseRunInfo) -> int:
        try:
            self.advance(claim, info)
            runs.finish(self.store, claim.outbox_ids, now=utcnow())
            self.segments += 1
            if self.on_segment:
                self.on_segment(claim.case_id, time.monotonic())
            return 1
        except Exception as exc:  # the rows stay in the outbox, to be tried again after the lease
            self.errors += 1
            log.exception("case %s: advancing its run failed", claim.case_id)
            runs.release(self.store, claim.outbox_ids, error=f"{type(exc).__name__}: {exc}")
            return 0

    # ------------------------------------------------------------ one case

    def client(self):
        c = getattr(self._local, "client", None)
        if c is None:
            c = get_client(sync_client=True)
            c.__enter__()
            self._local.client = c
        return c

    def advance(self, claim: runs.Claim, info: runs.CaseRunInfo) -> str:
        """Bring the case's run to the step the store shows: create, resume or re-run it, then execute it here.

        No call before the segment. The run is executed as the runner knows it (`engine.known_run`), and the engine's
        proposal of Running is the resume: Prefect's orchestration takes a Suspended run to Running and marks it as
        resuming (the run count becomes 2 at the first resume and stays), and a Scheduled one too (created in bulk by a campaign). What moved the case on
        is in the store, which the flow reads first; it is not also written to Prefect as the run's input.
        `prefect.flow_runs.resume_flow_run` would first read the run, check and store that input and put a
        Scheduled("Resuming") state in between, for a worker to pick up: three more calls, which cost half of a
        segment's server CPU, and nothing here needs them.

        A run requeued by the repair sweep may be in any state: it is read first and put right (`_recover`), as is a
        run found elsewhere after the fact: Prefect refuses Running from a Completed state with a result, the engine
        then ends without executing the flow (`engine.NotStarted`); a run deleted from the server (404) gets a new
        one. A run left Running by a runner that died mid-segment, or failed, is re-executed from the top, as the
        store wants (Prefect allows Running from both)."""
        client = self.client()
        if info.flow_run_id is None:
            return self._start(client, info)
        if "repair" in claim.events:  # requeued because the run is behind the store: it may be in any state
            return self._recover(client, info)
        try:
            return engine.execute(case_flow, client, self._known_run(client, info), write_back=False,
                                  must_start=True)
        except ObjectNotFound:
            return self._start(client, info)  # lost with a wiped server: the case gets a new run
        except (engine.NotStarted, Abort):
            return self._recover(client, info)

    def _known_run(self, client, info: runs.CaseRunInfo):
        spec = prefect_api.case_run_spec(info)
        deployment_id = prefect_api.deployment_id(prefect_api.CASE_DEPLOYMENT, client)
        if self._case_flow_id is None:  # one server per runner: the case flow's ID, read once
            self._case_flow_id = client.read_deployment(deployment_id).flow_id
        return engine.known_run(case_flow, UUID(info.flow_run_id), flow_id=self._case_flow_id,
                                deployment_id=deployment_id, name=spec["name"], parameters=spec["parameters"],
                                tags=[*spec["tags"], *DEPLOYMENT_TAGS])

    def _finished(self, case_id: str) -> bool:
        with self.store.reading() as s:
            return runs.position(s, case_id).finished

    def _recover(self, client, info: runs.CaseRunInfo) -> str:
        """The run may not be where a segment starts: read it and put it right. A completed run cannot go on (even
        one Prefect would let run again, completed without a result): the case gets a new run."""
        run = self._read(client, info.flow_run_id)
        if run is None:
            return self._start(client, info)
        state = run.state
        if state.is_completed():
            if self._finished(info.case_id):
                return "Completed"
            # The store moved on after the run finished (it should not): give the case a new run.
            return self._start(client, info)
        if not (state.is_paused() or state.is_scheduled()):
            # Failed or crashed: a bug or an outage; cancelled by hand. The store says where the case stands, so the
            # run re-executes from the top.
            client.set_flow_run_state(run.id, Scheduled(message=f"replayed by {self.runner_id}"), force=True)
            run = client.read_flow_run(run.id)
        return engine.execute(case_flow, client, run, write_back=False)

    def _start(self, client, info: runs.CaseRunInfo) -> str:
        """A new run for the case (idempotent by key), executed at once: the object just created is fresh. The flow's
        version and retry policy are not written to it (the case flow has no retries; the run records the version
        of the deployment it was created from)."""
        run = prefect_api.create_case_run(client, prefect_api.case_run_spec(info))
        if str(run.id) == info.flow_run_id:  # the key found the run we could not use: a new key, a new run
            run = prefect_api.create_case_run(client, prefect_api.case_run_spec(info, fresh=True))
        runs.attach_flow_runs(self.store, {info.case_id: str(run.id)})
        if not run.state.is_scheduled():  # an earlier runner created it and died before it could record it
            client.set_flow_run_state(run.id, Scheduled(message=f"started by {self.runner_id}"), force=True)
            run = client.read_flow_run(run.id)
        return engine.execute(case_flow, client, run, write_back=False)

    @staticmethod
    def _read(client, run_id: str):
        try:
            return client.read_flow_run(UUID(run_id))
        except ObjectNotFound:
            return None  # lost with a wiped server: the case gets a new run

    # ------------------------------------------------------------ follow-up, sweep and statistics runs

    def run_due_scheduled(self, now: dt.datetime | None = None) -> int:
        """Execute the runs of our scheduled deployments whose time has come (each once: a run taken by another
        runner is no longer Scheduled and is skipped; firing is keyed in the store anyway)."""
        now = now or utcnow()
        client = self.client()
        ids = {}
        for name, flow in SCHEDULED_FLOWS.items():
            try:
                ids[prefect_api.deployment_id(name, client)] = flow
            except ObjectNotFound:
                continue
        if not ids:
            return 0
        due = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                expected_start_time=FlowRunFilterExpectedStartTime(before_=now)),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(ids))), limit=200)
        executed = 0
        with engine.in_process_settings(self.api_url):
            for run in due:
                try:
                    engine.execute(ids[run.deployment_id], client, run.id)
                    executed += 1
                except Exception:
                    log.exception("scheduled run %s failed", run.id)
        return executed

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m caserunner`: one case runner process (see deploy/ for running several)."""
    parser = argparse.ArgumentParser(prog="python -m caserunner", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="case store URL (default: LOSTCONTACT_DB_URL or the SQLite file)")
    parser.add_argument("--threads", type=int, default=None, help="segments executed at once (SQLite: 1)")
    parser.add_argument("--id", default=None, help="a stable runner name, so a restart frees its own claims at once")
    parser.add_argument("--apply-deployments", action="store_true", help="register our deployments first")
    parser.add_argument("--run-logs", action="store_true",
                        help="keep Prefect's INFO lines for every run segment (five a segment; off by default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOSTCONTACT_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Importing Prefect already configured logging (the root at WARNING), so basicConfig above may do nothing: our
    # own lines get their level here and reach the root's handler by propagation.
    logging.getLogger("lostcontact").setLevel(os.environ.get("LOSTCONTACT_LOG_LEVEL", "INFO"))
    store = shared_store(args.db)
    if not inspect(store.engine).has_table("alembic_version"):  # an empty store, as `lostcontact` itself treats it
        log.info("case runner: the store has no schema yet: creating it")
        store.upgrade()
    threads = args.threads or (1 if store.is_sqlite else 8)
    if args.apply_deployments:
        apply_deployments()
    runner = CaseRunner(store, runner_id=args.id, threads=threads, run_logs=args.run_logs)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    log.info("case runner %s: %d thread(s) on %s", runner.runner_id, threads, store.engine.url.render_as_string())
    runner.serve(stop)
    runner.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
