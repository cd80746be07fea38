"""Stable text identifiers with a running number."""
from __future__ import annotations

from sqlalchemy import select


def next_id(session, table, prefix: str) -> str:
    """`prefix` + the next number among the ids of `table` that start with it (these tables are small per prefix)."""
    taken = session.scalars(select(table.id).where(table.id.like(prefix.replace("%", r"\%") + "%"))).all()
    numbers = [int(t[len(prefix):]) for t in taken if t[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"
