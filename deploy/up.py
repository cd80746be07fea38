"""Everything on one machine, one command: a Prefect server (reused if one already answers at PREFECT_API_URL or on
the default port), our deployments with their schedules, the web app, and the case runner, until Ctrl-C.

On the embedded default (SQLite case store) the Prefect server runs on SQLite too and the runner uses one thread:
SQLite under the Prefect server fails under concurrent runs (PREFECT.md). With LOSTCONTACT_DB_URL pointing at
PostgreSQL, pass --prefect-db with a PostgreSQL URL (or use deploy/postgres.env) to run several threads."""
from __future__ import annotations

import argparse
import logging
import os
import threading
from pathlib import Path

from .server import PrefectServer, ensure_pg_database, healthy

DEFAULT_PORT = 4200
log = logging.getLogger("lostcontact.up")


def start_services(*, home: Path, prefect_db: str | None, port: int = DEFAULT_PORT, ui: bool = True):
    """Reuse a running Prefect server, or start one. Returns (api_url, server or None)."""
    url = os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{port}/api"
    if healthy(url):
        log.info("reusing the Prefect server at %s", url)
        return url, None
    database = prefect_db
    if database and database.startswith("postgresql://"):
        admin, name = database.rsplit("/", 1)
        database = ensure_pg_database(f"{admin}/postgres", name)
    server = PrefectServer(home=home, database_url=database, port=port, ui=ui).start()
    log.info("started a Prefect server at %s (UI at http://127.0.0.1:%d)", server.api_url, port)
    return server.api_url, server


def start_web(store, *, host: str, port: int, base_url: str | None = None):
    """The web app in a thread of this process (uvicorn's own loop); returns the server to stop at the end."""
    import uvicorn

    from web.app import Settings, create_app

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
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    api_url, server = start_services(home=Path(args.home), prefect_db=args.prefect_db, port=args.port)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            from casework.db import shared_store
            from caserunner.deployments import apply_deployments
            from caserunner.runner import CaseRunner

            store = shared_store()
            store.upgrade()
            apply_deployments(with_schedules=True, statistics_orgs=args.statistics_org)
            threads = args.threads or (1 if store.is_sqlite else 8)
            web = start_web(store, host=args.web_host, port=args.web_port,
                            base_url=os.environ.get("LOSTCONTACT_BASE_URL")) if args.web_port else None
            runner = CaseRunner(store, threads=threads, runner_id="local")
            stop = threading.Event()
            import signal

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


if __name__ == "__main__":
    raise SystemExit(main())
