"""Waking the case runners when the outbox gets a row, instead of leaving them to notice at their next poll.

On PostgreSQL every transaction that adds outbox rows also sends `NOTIFY lostcontact_outbox`. PostgreSQL delivers it
at the commit (never for a rolled-back transaction) and folds repeats within one transaction into one, so a runner
woken by it finds the rows committed. Runners LISTEN on a connection of their own; polling stays as the fallback for
a lost connection or a missed signal. SQLite has no such channel: the embedded runner polls."""
from __future__ import annotations

import logging
import time

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session

from .db import Store

CHANNEL = "lostcontact_outbox"
log = logging.getLogger("lostcontact.outbox")


def signal(session: Session) -> None:
    """Ask PostgreSQL to wake the listening runners when this session's transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


class OutboxListener:
    """A LISTEN connection. `wait(timeout)` returns True as soon as outbox rows were committed, False at the timeout.
    Signals that came while nobody waited are kept by the connection and answered at the next wait. A wait that had
    to (re)connect returns True at once: signals sent before the LISTEN are not seen, so the caller should look."""

    def __init__(self, store: Store):
        self._dsn = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: psycopg.Connection | None = None

    def listen(self) -> bool:
        """Connect and LISTEN now (before the caller first looks at the outbox, so nothing falls in between)."""
        try:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            self._conn.execute(f"LISTEN {CHANNEL}")
            return True
        except psycopg.Error as exc:
            log.warning("cannot listen for outbox signals (%s); polling until it can", exc)
            self.close()
            return False

    def wait(self, timeout: float) -> bool:
        if self._conn is None or self._conn.closed:
            if self.listen():
                return True
            time.sleep(min(timeout, 1.0))
            return False
        try:
            woken = any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
            if woken:  # one wake-up for everything signalled so far
                for _ in self._conn.notifies(timeout=0):
                    pass
            return woken
        except psycopg.Error as exc:  # polling carries on; the next wait reconnects
            log.warning("outbox listener lost its connection (%s); reconnecting", exc)
            self.close()
            return False

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def listener(store: Store) -> OutboxListener | None:
    return None if store.is_sqlite else OutboxListener(store)
