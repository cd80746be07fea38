"""Alembic environment: runs on the engine handed over by `migrations.upgrade`, or on LOSTCONTACT_DB_URL."""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from models.store import Base

cfg = context.config
target_metadata = Base.metadata


def run() -> None:
    engine = cfg.attributes.get("engine")
    if engine is None:  # alembic's own command line: the store named by the environment, as casework.db reads it
        engine = create_engine(os.environ.get("LOSTCONTACT_DB_URL", "sqlite:///var/lostcontact.sqlite"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
