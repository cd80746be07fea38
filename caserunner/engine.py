"""Executing flow runs in this process, as Prefect's own tests do, with what an in-process executor does not need
cut away. Pinned to Prefect 3.8.8.

Cuts, and what each rests on:
- heartbeats: a setting (`flows.heartbeat_frequency = None`), applied from Python because the environment cannot
  unset it; each heartbeat thread's join added up to 1 s of wall time per segment.
- logs sent to the API: a setting (`logging.to_api.enabled = False`); run logs still go to this process's log.
- the per-run suspension observer: a Prefect internal. `FlowRunEngine.setup_flow_run_suspension_request` opens a
  websocket per deployment run to notice suspends requested from outside; our runs only ever suspend themselves,
  and the observer cost about a fifth of the server's CPU. `prefect.flow_engine.observe_flow_run_suspension` is
  replaced by a no-op for this process (guarded: if 3.8.8's name moves, we fail loudly at start, not silently).
- a new API client per segment: a Prefect internal. The engine takes its client from `SyncClientContext`, and with none
  in the context it opens a new one per segment (a CSRF-token call and a fresh connection each time). `client_context`
  puts the runner thread's own client there by setting `SyncClientContext.__var__`.
- the server's default result storage, looked up twice per segment (the flow's and the task's result store): a
  Prefect internal. `prefect.results._read_server_default_result_storage_block_id` is memoised per API server for the
  life of the process (a runner restart picks up a change of the server's default).
- the PATCH that renames a run to its `flow_run_name` template at every segment: our flows have no template; the
  runs are named once, when they are created (`tasks.prefect_api.case_run_spec`).
- Prefect's per-segment INFO lines ("Beginning flow run", "View at", "Finished in state Suspended"), five a segment:
  the runner lowers those loggers to WARNING unless asked for them (`quiet_run_logs`).
- two of the engine's calls per segment that bring nothing new (a Prefect internal: `SyncPrefectClient.read_flow_run`
  and `update_flow_run` are wrapped for this process; outside `execute` they behave as always):
  - the PATCH (`FlowRunEngine.initialize_run`) that writes the flow's version and retry policy back to the run at every
    segment: skipped when the run already holds them, and always for case runs (`write_back=False`: the case flow
    has no retries, and the run records the version of the deployment it was created from). This PATCH is also what
    erased a run's pause keys when it wrote a stale FlowRun object back (PREFECT.md): nothing is written back now;
  - the GET (`FlowRunEngine.setup_run_context`) that re-reads the run the engine was handed, right after the engine
    proposed Running: the object handed over is returned, with the state the engine just got. That lets the runner
    execute a run it has not read (`known_run`): what the engine needs before the flow starts is known from the
    store and the deployment. Whether this re-read happened also tells whether the flow started (`NotStarted`).
- Prefect's settings object, rebuilt by `temporary_settings` at every batch: made once per base settings and server.

What a segment then costs in Prefect API calls (counted by benchmarks/runner.py, `ApiCalls`): a resume is `POST
/flow_runs/{id}/set_state` (Running, which is the resume: see `runner.CaseRunner.advance`), `POST .../input` (the schema
of the input the next suspend waits for, written by `suspend_flow_run`) and `POST .../set_state` (Suspended): 3 calls,
no events, no logs. Before issue 22: 10 calls and 3 task-run events (the resume, two reads, the PATCH, a task run).
A start is the run's creation and the same three: 4 (before: 9 and 3 events). What stays is what makes the run real
in Prefect: its states in order (the server records each and emits its event, the history the UI shows), each
suspension with its input schema, its name and tags from creation. (The run count: Prefect counts the first
Suspended → Running as a second attempt, its resuming mark being set only after the count, and no later resume.)
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from typing import Any
from uuid import UUID

import prefect.context as prefect_context
import prefect.flow_engine as flow_engine
import prefect.results as prefect_results
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun, FlowRunPolicy
from prefect.context import SyncClientContext
from prefect.exceptions import Pause
from prefect.states import Suspended
from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_LOGGING_TO_API_ENABLED,
                              PREFECT_RESULTS_PERSIST_BY_DEFAULT)

log = logging.getLogger("lostcontact.engine")
_patched = False
# The run `execute` is running in this context, and whether the engine has read it yet (see the module docstring).
_segment: contextvars.ContextVar[dict | None] = contextvars.ContextVar("lostcontact_segment", default=None)
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


_settings_made: dict[tuple[int, str | None], tuple[Any, Any]] = {}
_settings_lock = threading.Lock()


@contextlib.contextmanager
def in_process_settings(api_url: str | None = None):
    """The cuts, and the Prefect server a runner was created for (so a runner driven from any thread talks to it).
    Prefect's `temporary_settings` builds a new Settings object each time (about 8 % of a segment's client CPU when
    entered per batch); the one made for the same base settings and server is reused."""
    ctx = prefect_context.get_settings_context()
    key = (id(ctx.settings), api_url)
    with _settings_lock:
        made = _settings_made.get(key)
    if made is None or made[0] is not ctx.settings:
        updates = {PREFECT_API_URL: api_url} if api_url else {}
        settings = ctx.settings.copy_with_update(updates={
            **updates,
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
            PREFECT_LOGGING_TO_API_ENABLED: False,
            PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
        })
        with _settings_lock:
            if len(_settings_made) > 64:  # tests make many contexts; a runner one or two
                _settings_made.clear()
            _settings_made[key] = made = (ctx.settings, settings)
    with prefect_context.SettingsContext(profile=ctx.profile, settings=made[1]):
        yield made[1]


def apply_cuts() -> None:
    """The two cuts that patch Prefect 3.8.8 internals, for this process (idempotent)."""
    global _patched
    if _patched:
        return
    for module, name in ((flow_engine, "observe_flow_run_suspension"),
                         (prefect_results, "_read_server_default_result_storage_block_id")):
        if not hasattr(module, name):
            raise RuntimeError(f"{module.__name__}.{name} is gone: this cut is for Prefect 3.8.8")

    @contextlib.contextmanager
    def _no_observer(flow_run_id, suspension_request, polling_interval: float = 10):
        yield

    flow_engine.observe_flow_run_suspension = _no_observer

    read_default = prefect_results._read_server_default_result_storage_block_id
    known: dict[str, Any] = {}
    lock = threading.Lock()

    def _default_storage_once():
        url = str(PREFECT_API_URL.value())
        with lock:
            if url in known:
                return known[url]
        found = read_default()
        with lock:
            known[url] = found
        return found

    prefect_results._read_server_default_result_storage_block_id = _default_storage_once
    _wrap_engine_reads()
    _patched = True


def _wrap_engine_reads() -> None:
    read, update = SyncPrefectClient.read_flow_run, SyncPrefectClient.update_flow_run

    def read_flow_run(client, flow_run_id):
        seg = _segment.get()
        if seg is not None and not seg["read"] and seg["run"].id == flow_run_id:
            seg["read"] = True  # the engine's re-read: the object it was handed, with the state it just proposed
            return seg["run"]
        return read(client, flow_run_id)

    def update_flow_run(client, flow_run_id, flow_version=None, parameters=None, name=None, tags=None,
                        empirical_policy=None, infrastructure_pid=None, job_variables=None):
        seg = _segment.get()
        if (seg is not None and seg["run"].id == flow_run_id and seg["holds_policy"]
                and (parameters, name, tags, infrastructure_pid, job_variables) == (None,) * 5):
            return None  # the engine's write-back of what the run holds already (the engine ignores the answer)
        return update(client, flow_run_id, flow_version=flow_version, parameters=parameters, name=name, tags=tags,
                      empirical_policy=empirical_policy, infrastructure_pid=infrastructure_pid,
                      job_variables=job_variables)

    SyncPrefectClient.read_flow_run = read_flow_run
    SyncPrefectClient.update_flow_run = update_flow_run


def known_run(flow, run_id: UUID, *, flow_id: UUID, deployment_id: UUID, name: str, parameters: dict,
              tags: list[str]) -> FlowRun:
    """The FlowRun the engine needs, built from what the runner knows instead of read from the server: what the
    engine uses before the flow starts (ID, flow, deployment, parameters, name, tags, retry policy). Its state is a
    placeholder (Suspended, as the run usually is); the engine replaces it with the answer to its proposal of
    Running. Execute it with `write_back=False`."""
    return FlowRun(id=run_id, flow_id=flow_id, deployment_id=deployment_id, name=name, parameters=parameters,
                   tags=tags, state=Suspended(), flow_version=flow.version,
                   empirical_policy=FlowRunPolicy(retries=flow.retries, retry_delay=flow.retry_delay_seconds))


def quiet_run_logs() -> None:
    for name in RUN_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def client_context(client: SyncPrefectClient):
    """Make `client` the one the engine, `get_client(sync_client=True)` and `suspend_flow_run` use in this context.
    The client stays open afterwards (it belongs to the runner thread)."""
    ctx = SyncClientContext.model_construct(client=client)
    ctx._httpx_settings = None
    ctx._context_stack = 1  # entered already: nested `with` blocks neither reopen nor close it
    token = SyncClientContext.__var__.set(ctx)
    try:
        yield ctx
    finally:
        SyncClientContext.__var__.reset(token)


class NotStarted(Exception):
    """The server refused the segment's Running (the run was not where a segment starts): the flow did not run."""

    def __init__(self, state_name: str):
        super().__init__(state_name)
        self.state_name = state_name


def execute(flow, client: SyncPrefectClient, flow_run: FlowRun | UUID | str, *, write_back: bool = True,
            must_start: bool = False) -> str:
    """Run one segment of a flow run here: from its (re)start to its next suspend or its end. Returns the state
    name. Given an ID, the run is read first. The engine is not let re-read the FlowRun object it is given, so that
    object is what the flow sees in its context: one just created or read, or built by `known_run`. The engine's
    write-back of the flow's version and retry policy is skipped when the run holds them already, and always with
    `write_back=False` (a stale policy written back erased the pause keys, PREFECT.md; nothing is written now).
    `must_start`: raise NotStarted if the server refused Running, instead of returning the state it holds."""
    if not isinstance(flow_run, FlowRun):
        flow_run = client.read_flow_run(UUID(str(flow_run)))
    policy = flow_run.empirical_policy
    holds = not write_back or (flow_run.flow_version == flow.version and policy.retries is not None
                               and policy.retry_delay is not None)
    segment = {"run": flow_run, "read": False, "holds_policy": holds}
    token = _segment.set(segment)
    try:
        with client_context(client):
            state: Any = flow_engine.run_flow(flow, flow_run=flow_run, return_type="state")
    except Pause:
        return "Suspended"
    finally:
        _segment.reset(token)
    name = state.name if state is not None else "Unknown"
    if must_start and not segment["read"]:  # the engine reads the run only once Running was accepted
        raise NotStarted(name)
    return name
