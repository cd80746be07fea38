"""Starting a Prefect server for our runner: on SQLite for the embedded default (one runner thread: SQLite under the
Prefect server fails under concurrency), on PostgreSQL for several runners. Services our in-process runner does not
need are off: pause expiration (we suspend without timeouts; it rescans every paused run every 5 s), late runs,
the foreman and cancellation cleanup (no workers), automations, lease repossession, telemetry. The event persister
and the task-run recorder stay on: they are what the Prefect UI shows of each case's history."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

QUIET_SERVICES = {
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_FOREMAN_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_CANCELLATION_CLEANUP_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # Automations (triggers) and concurrency-lease repossession: features we do not use, each a consumer of every
    # event the runs emit.
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_REPOSSESSOR_ENABLED": "false",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    # The task-run recorder writes each task run's states as they arrive, one transaction each; in batches of 50
    # (flushed at least every 5 s) it costs a fraction of that. The UI shows a task run's states up to 5 s late.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "50",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def ensure_pg_database(admin_url: str, name: str) -> str:
    """Create the Prefect database on a PostgreSQL server if missing; returns its asyncpg URL.

    The Prefect database commits without waiting for its WAL flush (`synchronous_commit = off`, for this database
    only): a crash may lose its last few hundred milliseconds of run states, never a decision, which the case store
    holds (it keeps PostgreSQL's default); the repair sweep puts such runs back in step."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    base = admin_url.rsplit("/", 1)[0].split("://", 1)[1]
    return f"postgresql+asyncpg://{base}/{name}"


def drop_pg_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PrefectServer:
    """A `prefect server start` subprocess on loopback."""

    def __init__(self, *, home: Path, database_url: str | None = None, port: int | None = None, ui: bool = False,
                 scheduler: bool = True, log_path: Path | None = None, services: bool = True,
                 extra_env: dict[str, str] | None = None):
        """`services=False` starts the API alone (`--no-services`): one of several API servers, with the background
        services in a process of their own (deploy/cluster.py). `extra_env`: settings on top of ours (Redis)."""
        self.home = Path(home)
        self.services = services
        self.extra_env = dict(extra_env or {})
        self.database_url = database_url or f"sqlite+aiosqlite:///{self.home / 'prefect.db'}"
        self.port = port or free_port()
        self.ui = ui
        self.scheduler = scheduler
        self.log_path = log_path or self.home / "server.log"
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(QUIET_SERVICES)
        env.update({
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": self.database_url,
            "PREFECT_UI_ENABLED": "true" if self.ui else "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true" if self.scheduler else "false",
        })
        env.update(self.extra_env)
        env.pop("PREFECT_API_URL", None)
        return env

    def start(self, timeout: float = 120) -> PrefectServer:
        return self.launch().wait_healthy(timeout)

    def launch(self) -> PrefectServer:
        """Start the process without waiting for it (several servers start side by side; then `wait_healthy`)."""
        self.home.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        if not self.services:
            command.append("--no-services")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def wait_healthy(self, timeout: float = 120) -> PrefectServer:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Prefect server exited ({self.process.returncode}); see {self.log_path}")
            if healthy(self.api_url):
                return self
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the Prefect server did not answer within {timeout}s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
