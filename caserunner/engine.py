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
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any
from uuid import UUID

import prefect.flow_engine as flow_engine
import prefect.results as prefect_results
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun
from prefect.context import SyncClientContext
from prefect.exceptions import Pause
from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_LOGGING_TO_API_ENABLED,
                              PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings)

log = logging.getLogger("lostcontact.engine")
_patched = False
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")


def in_process_settings(api_url: str | None = None) -> contextlib.AbstractContextManager:
    """The cuts, and the Prefect server a runner was created for (so a runner driven from any thread talks to it)."""
    updates = {PREFECT_API_URL: api_url} if api_url else {}
    return temporary_settings(updates={
        **updates,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        PREFECT_LOGGING_TO_API_ENABLED: False,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
    })


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
    _patched = True


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


def execute(flow, client: SyncPrefectClient, flow_run: FlowRun | UUID | str) -> str:
    """Run one segment of a flow run here: from its (re)start to its next suspend or its end. Returns the state
    name. Given an ID, the run is read first; a FlowRun object must be fresh (just created, or read after the
    resume): the engine writes its empirical policy back, and a stale one erases the pause keys (PREFECT.md)."""
    if not isinstance(flow_run, FlowRun):
        flow_run = client.read_flow_run(UUID(str(flow_run)))
    try:
        with client_context(client):
            state: Any = flow_engine.run_flow(flow, flow_run=flow_run, return_type="state")
    except Pause:
        return "Suspended"
    return state.name if state is not None else "Unknown"
