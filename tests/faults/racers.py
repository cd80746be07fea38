"""One client of the 20-process race (tests/faults/test_concurrent_decision.py): its own process, its own store
connection, released with the others by a barrier. Imports casework only, so the forkserver preloads it once."""
from __future__ import annotations

import traceback

from sqlalchemy import text

from casework.db import Store
from casework.dispositions import decide_step
from models.errors import Refusal


def plain(result) -> dict:
    """An action's answer as a dict (today a dict; a Pydantic view once the views land)."""
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else dict(result)


def decide(i: int, url: str, barrier, answers, request_id: str, kwargs: dict) -> None:
    store = Store(url)
    try:
        with store.reading() as s:  # connected before the barrier: the decisions overlap, not the connects
            s.execute(text("SELECT 1"))
        barrier.wait(timeout=120)
        try:
            answers.put((i, "answer", plain(decide_step(store, request_id=request_id, **kwargs))))
        except Refusal as refusal:
            answers.put((i, "refusal", {"code": refusal.code, "message": refusal.message}))
    except BaseException:  # noqa: BLE001 - what a client would have seen, reported to the test
        answers.put((i, "error", traceback.format_exc()))
    finally:
        store.dispose()
