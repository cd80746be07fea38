"""Opening the case store: a SQLite file by default (WAL, foreign keys, write transactions BEGIN IMMEDIATE so two
writers queue instead of deadlocking), PostgreSQL by URL. The schema is created and upgraded by Alembic."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL_ENV = "LOSTCONTACT_DB_URL"
DEFAULT_SQLITE_PATH = Path("var") / "lostcontact.sqlite"


def default_url() -> str:
    url = os.environ.get(DEFAULT_URL_ENV)
    if url:
        return url
    DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """The case store: an engine and its sessions. `writing()` sessions take the write lock up front on SQLite."""

    def __init__(self, url: str | None = None, *, echo: bool = False):
        self.url = normalise_url(url or default_url())
        self.engine: Engine = _make_engine(self.url, echo=echo)
        self._write = sessionmaker(self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False)
        self._read = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def writing(self) -> Session:
        return self._write()

    def reading(self) -> Session:
        return self._read()

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        # Alembic costs ~190 ms to import and is needed only when a schema is created or moved: not at every start.
        from migrations import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, *, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, hide_parameters=True,
                               connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # hide_parameters: a database error's text (printed, logged) never quotes the rows it was writing (personal data)
    return create_engine(url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20)


_shared: dict[str, Store] = {}


def shared_store(url: str | None = None) -> Store:
    """One Store per URL for the whole process (flows and tasks find the store this way; the runner sets
    LOSTCONTACT_DB_URL before it runs anything)."""
    key = normalise_url(url or default_url())
    if key not in _shared:
        _shared[key] = Store(key)
    return _shared[key]
