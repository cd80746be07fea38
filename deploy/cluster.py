"""Prefect's documented multi-server set-up ("Scale self-hosted Prefect" in Prefect's docs), on one machine: several
API server processes (`prefect server start --no-services`) on one PostgreSQL database, one background-services
process (`prefect server services start`: the scheduler, the event persister, the task-run recorder), Redis for
messaging, the events cache, causal ordering, concurrency leases (`prefect-redis`) and Docket (the coordination of
the background services). Our case runners spread across the API servers: each runner's PREFECT_API_URL names one.

Used by `lostcontact up --api-servers N --runners M` (deploy/up.py), tests/scale/ and benchmarks/multiserver.py.
deploy/k8s/ is the same set-up on Kubernetes."""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .server import QUIET_SERVICES, PrefectServer, free_port

ROOT = Path(__file__).resolve().parents[1]


def redis_settings(redis_url: str) -> dict[str, str]:
    """The settings every Prefect server process of the set-up shares (API servers and background services alike).
    Messaging on the URL's database; Docket on the next one, as Prefect's docs suggest, to keep their keys apart.
    Migrations run once before the servers start (`migrate`), never by each server at its start."""
    parts = urlsplit(redis_url)
    db = int(parts.path.strip("/") or 0)
    docket = urlunsplit((parts.scheme, parts.netloc, f"/{db + 1}", parts.query, parts.fragment))
    return {
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
        "PREFECT_REDIS_MESSAGING_URL": redis_url,
        "PREFECT_SERVER_DOCKET_URL": docket,
        # Each API server would also register Prefect's block types at its start; on a fresh database two servers
        # starting together collide on the unique slug and one exits. They are registered once, with the migration.
        "PREFECT_SERVER_DATABASE_MIGRATE_ON_START": "false",
        "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
    }


def redis_answers(host: str = "127.0.0.1", port: int = 6379, timeout: float = 1.0) -> bool:
    """A Redis server answers PING there (a raw RESP exchange: no client library needed to ask)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A private Debian `redis-server` on loopback, for one set-up: Prefect's stream and key names are fixed, so two
    set-ups sharing one Redis database would consume each other's events. Nothing is saved to disk: Redis carries
    Prefect's events in flight, never a decision (the case store holds those; the repair sweep replays runs)."""

    def __init__(self, *, home: Path, port: int | None = None):
        self.home = Path(home)
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/bootstrap installs Debian's redis-server)")
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--dir", str(self.home), "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited ({self.process.returncode}); see {self.home / 'redis.log'}")
            if redis_answers(port=self.port):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"redis-server did not answer within {timeout}s")

    def stop(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen | None, timeout: float = 20) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def prefect_env(*, home: Path, database_url: str, redis_url: str, scheduler: bool = True) -> dict[str, str]:
    """The environment of a Prefect process of the set-up: our quiet services, the database and Redis."""
    env = dict(os.environ)
    env.update(QUIET_SERVICES)
    env.update(redis_settings(redis_url))
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url,
                "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true" if scheduler else "false"})
    env.pop("PREFECT_API_URL", None)
    return env


def migrate(env: dict[str, str], log_path: Path) -> None:
    """Once, before any server of the set-up starts: `prefect server database upgrade -y`, then Prefect's block types
    (`python -m deploy.cluster register-blocks`). The Kubernetes Job `prefect-migrate` runs the same two commands."""
    with open(log_path, "ab") as log:
        for command in (["prefect", "server", "database", "upgrade", "-y"], ["deploy.cluster", "register-blocks"]):
            subprocess.run([sys.executable, "-m", *command], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                           check=True, timeout=600)


async def _register_block_types() -> None:
    """What a Prefect API server does at its start when PREFECT_SERVER_REGISTER_BLOCKS_ON_START is on (Prefect 3.8.8,
    `prefect.server.api.server.add_block_types`), done once for all of them. Prefect's server package is imported
    here only: it costs seconds, and the launchers importing this module never need it in their own process."""
    from prefect.server.database import provide_database_interface
    from prefect.server.models.block_registration import run_block_auto_registration

    session = await provide_database_interface().session()
    async with session:
        await run_block_auto_registration(session=session)


class PrefectServices:
    """`prefect server services start`: the background services of the whole set-up, in one process."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, settle: float = 3.0) -> PrefectServices:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "prefect", "server", "services", "start"],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        # It has no health endpoint: it must still be alive once its services are up (a bad setting exits at once).
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prefect server services exited ({self.process.returncode}); see {self.log_path}")
            time.sleep(0.2)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        _stop(self.process)


class PrefectCluster:
    """N API servers and one background-services process on one PostgreSQL database and one Redis.

    `ports`: the API servers' ports (default: free ones). `api_urls[i]` is the i-th server's API; a runner names one.
    With `api_servers=1` it is still the multi-server shape (API without services, services apart, Redis): the
    benchmark compares one such API server against two on equal terms."""

    def __init__(self, *, home: Path, database_url: str, redis_url: str, api_servers: int = 2,
                 ports: list[int] | None = None, ui: bool = False, scheduler: bool = True):
        self.home = Path(home)
        self.database_url = database_url
        self.redis_url = redis_url
        ports = ports or [free_port() for _ in range(api_servers)]
        assert len(ports) == api_servers >= 1
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = prefect_env(home=self.home, database_url=database_url, redis_url=redis_url, scheduler=scheduler)
        self.servers = [PrefectServer(home=self.home / f"api-{i}", database_url=database_url, port=port, ui=ui,
                                      scheduler=scheduler, services=False, extra_env=redis_settings(redis_url),
                                      log_path=self.home / f"api-{i}.log")
                        for i, port in enumerate(ports)]
        self.services = PrefectServices(self.env, self.home / "services.log")

    @property
    def api_urls(self) -> list[str]:
        return [s.api_url for s in self.servers]

    @property
    def pids(self) -> list[int]:
        """The Prefect processes' ids (API servers, then the services), for CPU metering."""
        return [p.process.pid for p in (*self.servers, self.services) if p.process is not None]

    def start(self, timeout: float = 180) -> PrefectCluster:
        try:
            migrate(self.env, self.home / "migrate.log")
            for server in self.servers:
                server.launch()
            self.services.start()
            for server in self.servers:
                server.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.services.stop()


class RunnerProcess:
    """One `python -m caserunner` process serving the case store through one API server. The runners of a set-up
    share `results_dir` (PREFECT_RESULTS_LOCAL_STORAGE_PATH): a run suspended by one runner may be resumed by
    another, which reads the results the first persisted."""

    def __init__(self, *, runner_id: str, api_url: str, store_url: str, threads: int, results_dir: Path,
                 log_path: Path, extra_env: dict[str, str] | None = None):
        self.runner_id = runner_id
        self.api_url = api_url
        self.env = {**os.environ, "PREFECT_API_URL": api_url, "LOSTCONTACT_DB_URL": store_url,
                    "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(results_dir), "PREFECT_LOGGING_LEVEL": "WARNING",
                    "PGAPPNAME": runner_id,
                    **(extra_env or {})}
        self.threads = threads
        self.log_path = Path(log_path)
        self.process: subprocess.Popen | None = None

    def start(self) -> RunnerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "caserunner", "--id", self.runner_id, "--threads", str(self.threads)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def serving(self, admin_url: str) -> bool:
        """It serves: its LISTEN connection to the case store is open (made once the store and Prefect are set up,
        before its first claim). The runner's connections carry its id as application_name (PGAPPNAME)."""
        with psycopg.connect(admin_url, autocommit=True) as conn:
            return conn.execute("SELECT 1 FROM pg_stat_activity WHERE application_name = %s AND query LIKE 'LISTEN %%'",
                                (self.runner_id,)).fetchone() is not None

    def wait_serving(self, admin_url: str, timeout: float = 180) -> RunnerProcess:
        """Wait until it serves (PostgreSQL stores only: `admin_url` is any connection URL to the same server)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"runner {self.runner_id} exited ({self.process.returncode}); see {self.log_path}")
            if self.serving(admin_url):
                return self
            time.sleep(0.3)
        raise TimeoutError(f"runner {self.runner_id} did not start within {timeout}s; see {self.log_path}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30) -> None:
        _stop(self.process, timeout)


def main(argv: list[str] | None = None) -> int:
    """`python -m deploy.cluster register-blocks`: register Prefect's block types in the database that
    PREFECT_SERVER_DATABASE_CONNECTION_URL names (after `prefect server database upgrade -y`)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=main.__doc__.splitlines()[0])
    parser.add_argument("command", choices=["register-blocks"])
    parser.parse_args(argv)
    asyncio.run(_register_block_types())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
