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
"""
from __future__ import annotations

import contextlib
import logging
from typing import Any
from uuid import UUID

import prefect.flow_engine as flow_engine
from prefect.client.orchestration import SyncPrefectClient
from prefect.exceptions import Pause
from prefect.settings import (PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_LOGGING_TO_API_ENABLED,
                              PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings)

log = logging.getLogger("lostcontact.engine")
_patched = False


def in_process_settings(api_url: str | None = None) -> contextlib.AbstractContextManager:
    """The cuts, and the Prefect server a runner was created for (so a runner driven from any thread talks to it)."""
    updates = {PREFECT_API_URL: api_url} if api_url else {}
    return temporary_settings(updates={
        **updates,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
        PREFECT_LOGGING_TO_API_ENABLED: False,
        PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
    })


def cut_suspension_observer() -> None:
    global _patched
    if _patched:
        return
    if not hasattr(flow_engine, "observe_flow_run_suspension"):
        raise RuntimeError("prefect.flow_engine.observe_flow_run_suspension is gone: this cut is for Prefect 3.8.8")

    @contextlib.contextmanager
    def _no_observer(flow_run_id, suspension_request, polling_interval: float = 10):
        yield

    flow_engine.observe_flow_run_suspension = _no_observer
    _patched = True


def execute(flow, client: SyncPrefectClient, flow_run_id: UUID | str) -> str:
    """Run one segment of a flow run here: from its (re)start to its next suspend or its end. Returns the state
    name. The run is read fresh first: a stale FlowRun would erase its pause keys (PREFECT.md)."""
    flow_run = client.read_flow_run(UUID(str(flow_run_id)))
    try:
        state: Any = flow_engine.run_flow(flow, flow_run=flow_run, return_type="state")
    except Pause:
        return "Suspended"
    return state.name if state is not None else "Unknown"
