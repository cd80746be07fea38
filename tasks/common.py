"""What every task module shares: no Prefect cache or result (a resumed run re-executes from the top and must see the
store as it is now; every effect is keyed in the store), and the flows' clock (an ISO moment, or now)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from prefect.cache_policies import NO_CACHE

from models.timing import utcnow

QUIET: dict[str, Any] = dict(cache_policy=NO_CACHE, persist_result=False)


def moment(now: str | None) -> dt.datetime:
    """Flows pass the moment as ISO text (a parameter Prefect can show); None is now."""
    return dt.datetime.fromisoformat(now) if now else utcnow()
