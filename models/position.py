"""Where a case stands, as its flow run sees it: the step it waits on, or that it is finished.

The wait key names the store position uniquely (the open step, or the last closed step when nothing is open), so a
run paused on another key is behind the store and must be resumed; that is how repair finds stale runs."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .codes import CaseState


@dataclass(frozen=True)
class Position:
    case_id: str
    state: CaseState
    open_step_id: str | None
    open_step_title: str | None
    last_step_id: str | None

    @property
    def finished(self) -> bool:
        return self.state is CaseState.CLOSED and self.open_step_id is None

    @property
    def wait_key(self) -> str:
        return self.open_step_id or f"after:{self.last_step_id or self.case_id}"


def pause_key(wait_key: str, repeat: int = 0) -> str:
    """The Prefect pause key for a store position. Prefect accepts only lowercase letters, digits and dashes: a
    readable slug of the position plus a short hash keeps keys distinct; `-rN` marks the N-th wait on one position."""
    slug = re.sub(r"[^a-z0-9]+", "-", wait_key.lower()).strip("-")[:40]
    key = f"{slug}-{hashlib.sha1(wait_key.encode()).hexdigest()[:8]}"
    return f"{key}-r{repeat}" if repeat else key


def base_key(key: str | None) -> str | None:
    """The position part of a pause key (without a `-rN` repeat mark; the hash part is hex, never "r")."""
    return None if key is None else re.sub(r"-r\d+$", "", key)
