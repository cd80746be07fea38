"""Everything on one machine, one command: a Prefect server (reused if one already answers at PREFECT_API_URL or on
the default port), our deployments with their schedules, the web app, and the case runner, until Ctrl-C.

On the embedded default (SQLite case store) the Prefect server runs on SQLite too and the runner uses one thread:
SQLite under the Prefect server fails under concurrent runs (PREFECT.md). With LOSTCONTACT_DB_URL pointing at
PostgreSQL, pass --prefect-db with a PostgreSQL URL (or use deploy/postgres.env) to run several threads.

`--api-servers N --runners M` (N or M above 1; PostgreSQL for both databases) starts Prefect's multi-server set-up
instead (deploy/cluster.py): N API servers on consecutive ports from --port, one background-services process, Redis
(--redis-url, else 127.0.0.1:6379 if it answers, else a private redis-server under --home), and M case runner
processes, runner i on API server i mod N, each restarted if it dies. The web app runs in this process either way."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

import uvicorn
from prefect.settings import PREFECT_API_URL, temporary_settings

from caserunner.deployments import apply_deployments
from caserunner.runner import CaseRunner
from casework.db import shared_store
from web.app import Settings, create_app

from .cluster import PrefectCluster, RedisServer, RunnerProcess, redis_answers
from .server import PrefectServer, ensure_pg_database, healthy

DEFAULT_PORT = 4200
log = logging.getLogger("lostcontact.up")


def prefect_database(prefect_db: str | None) -> str | None:
    """The Prefect server's database URL: a postgresql:// URL gets its database created if missing (asyncpg URL)."""
    if prefect_db and prefect_db.startswith("postgresql://"):
        admin, name = prefect_db.rsplit("/", 1)
        return ensure_pg_database(f"{admin}/postgres", name)
    return prefect_db


def start_services(*, home: Path, prefect_db: str | None, port: int = DEFAULT_PORT, ui: bool = True):
    """Reuse a running Prefect server, or start one. Returns (api_url, server or None)."""
    url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{port}/api"
    if healthy(url):
        log.info("reusing the Prefect server at %s", url)
        return url, None
    server = PrefectServer(home=home, database_url=prefect_database(prefect_db), port=port, ui=ui).start()
    log.info("started a Prefect server at %s (UI at http://127.0.0.1:%d)", server.api_url, port)
    return server.api_url, server


def start_web(store, *, host: str, port: int, base_url: str | None = None):
    """The web app in a thread of this process (uvicorn's own loop); returns the server to stop at the end."""
    url = base_url or f"http://{host}:{port}"
    app = create_app(store, Settings(base_url=url))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    server.install_signal_handlers = lambda: None  # the runner's loop owns SIGINT/SIGTERM
    threading.Thread(target=server.run, name="web", daemon=True).start()
    log.info("web app at %s/", url)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.up", description=__doc__.splitlines()[0])
    parser.add_argument("--home", default="var/prefect", help="PREFECT_HOME of a server started here")
    parser.add_argument("--prefect-db", default=os.environ.get("LOSTCONTACT_PREFECT_DB"),
                        help="the Prefect server's database (default: SQLite under --home)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--statistics-org", action="append", default=[], help="base committee for the quarterly table")
    parser.add_argument("--web-port", type=int, default=8000, help="the web app's port (0: no web app)")
    parser.add_argument("--web-host", default="127.0.0.1")
    parser.add_argument("--api-servers", type=int, default=1, help="Prefect API servers (above 1: the multi-server set-up)")
    parser.add_argument("--runners", type=int, default=1, help="case runner processes (above 1: the multi-server set-up)")
    parser.add_argument("--redis-url", default=os.environ.get("LOSTCONTACT_REDIS_URL"),
                        help="Redis of the multi-server set-up (default: 127.0.0.1:6379 if it answers, else a private one)")
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.api_servers > 1 or args.runners > 1:
        return scaled(args)

    api_url, server = start_services(home=Path(args.home), prefect_db=args.prefect_db, port=args.port)

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            store = shared_store()
            store.upgrade()
            apply_deployments(with_schedules=True, statistics_orgs=args.statistics_org)
            threads = args.threads or (1 if store.is_sqlite else 8)
            web = start_web(store, host=args.web_host, port=args.web_port,
                            base_url=os.environ.get("LOSTCONTACT_BASE_URL")) if args.web_port else None
            runner = CaseRunner(store, threads=threads, runner_id="local")
            stop = threading.Event()

            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            log.info("case runner: %d thread(s); press Ctrl-C to stop", threads)
            try:
                runner.serve(stop)
            except KeyboardInterrupt:
                pass
            runner.close()
            if web is not None:
                web.should_exit = True
    finally:
        if server:
            server.stop()
    return 0


class SetUpRefused(SystemExit):
    """The multi-server set-up cannot run with these settings (the message is for the person at the console)."""


def scaled(args) -> int:
    """Prefect's multi-server set-up, the web app and several runner processes, until SIGINT or SIGTERM."""
    # Imported here as in main(): the flows and Prefect load only once a command runs (the CLI imports this module).

    store = shared_store()
    if store.is_sqlite:
        raise SetUpRefused("多个Prefect服务或多个执行器须使用PostgreSQL案件库（设置LOSTCONTACT_DB_URL，见deploy/postgres.env）")
    if not (args.prefect_db or "").startswith("postgresql://"):
        raise SetUpRefused("多个Prefect服务须使用PostgreSQL数据库：请用 --prefect-db postgresql://… 或 LOSTCONTACT_PREFECT_DB")
    home = Path(args.home)
    redis, redis_url = None, args.redis_url
    if redis_url is None and redis_answers():
        redis_url = "redis://127.0.0.1:6379/0"
    elif redis_url is None:
        redis = RedisServer(home=home / "redis").start()
        redis_url = redis.url
        log.info("started a private redis-server at %s", redis_url)
    cluster = PrefectCluster(home=home, database_url=prefect_database(args.prefect_db), redis_url=redis_url,
                             api_servers=args.api_servers, ports=[args.port + i for i in range(args.api_servers)],
                             ui=True)
    runners: list[RunnerProcess] = []
    web = None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        cluster.start()
        log.info("Prefect: %d API server(s) at %s, background services, Redis at %s", args.api_servers,
                 " ".join(cluster.api_urls), redis_url)
        store.upgrade()
        with temporary_settings(updates={PREFECT_API_URL: cluster.api_urls[0]}):
            apply_deployments(with_schedules=True, statistics_orgs=args.statistics_org)
        web = start_web(store, host=args.web_host, port=args.web_port,
                        base_url=os.environ.get("LOSTCONTACT_BASE_URL")) if args.web_port else None
        runners = [RunnerProcess(runner_id=f"up-{i}", api_url=cluster.api_urls[i % args.api_servers],
                                 store_url=store.url, threads=args.threads or 8, results_dir=home / "results",
                                 log_path=home / f"runner-{i}.log").start() for i in range(args.runners)]
        for r in runners:
            log.info("case runner %s on %s (log: %s)", r.runner_id, r.api_url, r.log_path)
        log.info("press Ctrl-C to stop")
        while not stop.wait(2):
            for r in runners:
                if not r.alive():
                    log.warning("case runner %s exited (%s); restarting it", r.runner_id, r.process.returncode)
                    r.start()
            dead = [s.api_url for s in cluster.servers if s.process.poll() is not None]
            if dead or not cluster.services.alive():
                log.error("Prefect process(es) exited (%s); stopping", " ".join(dead) or "background services")
                return 1
    finally:
        for r in runners:
            r.stop()
        if web is not None:
            web.should_exit = True
        cluster.stop()
        if redis is not None:
            redis.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
