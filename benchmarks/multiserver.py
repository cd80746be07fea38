"""One Prefect API server against two, in one run, with the same case runners: Prefect's multi-server set-up
(deploy/cluster.py: API servers with --no-services on one PostgreSQL database, one background-services process,
a private redis-server, prefect-redis).

    .venv/bin/python benchmarks/multiserver.py                       # 400 cases, 2 runners x 8 threads, 1 then 2 servers
    .venv/bin/python benchmarks/multiserver.py -n 200 --order 1,2,1  # a quicker look, the first set-up again at the end

For each set-up in --order: a fresh Prefect database and case store, the set-up started, the runners started (runner
i on API server i mod k) and left idle, then two timed phases. Start: the campaign opens N cases while the runners are
stopped (SIGSTOP), then they are let go (SIGCONT) and the phase ends when the outbox is empty: every run suspended at
its first step. Resume: every case gets a decision (a search stage found nothing) while the runners are stopped, then
the same. Rates are N / wall time; CPU seconds of each process group over the phase, from /proc; `uptime` before and
after. The set-up is the same for k = 1 and k = 2 (Redis, services apart, --no-services): only the API processes
differ. Writes benchmarks/results/multiserver.json and .md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from casework import runs  # noqa: E402
from casework.campaigns import start_campaign  # noqa: E402
from casework.db import Store  # noqa: E402
from casework.orgs import import_organisations  # noqa: E402
from casework.roster import import_roster_file  # noqa: E402
from casework.search import record_attempt  # noqa: E402
from caserunner.deployments import apply_deployments  # noqa: E402
from demo.sample_roster import generate_sample, write_csv  # noqa: E402
from deploy.cluster import PrefectCluster, RedisServer, RunnerProcess  # noqa: E402
from deploy.server import drop_pg_database, ensure_pg_database  # noqa: E402
from models.codes import Stage  # noqa: E402
from models.store import Case, OutboxRow  # noqa: E402
from benchmarks.prefect_meter import cpu_of_pids as cpu_seconds  # noqa: E402
from benchmarks.prefect_meter import postgres_pids  # noqa: E402
from benchmarks.prefect_meter import tree as process_tree  # noqa: E402
from tests.conftest import ORG_TREE  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
SECRETARY = {"B1": "sec1", "B2": "sec2"}  # tests/conftest.py's tree: who records a branch's direct search


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores, every process: ours and everybody else's)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def runner_errors(runners) -> dict:
    """What the runners logged as failed (a failed segment is retried: the outbox keeps its rows)."""
    lines = [line for r in runners for line in r.log_path.read_text(errors="replace").splitlines()]
    exceptions = Counter(line.strip()[:160] for line in lines
                         if re.match(r"^[\w.]*(Error|Exception|Timeout|Refused)\b", line.strip()))
    return {"logged_errors": sum(" ERROR " in line for line in lines), "exceptions": dict(exceptions.most_common(5))}


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Meter:
    """Wall time and CPU seconds of each group of processes over a phase."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]):
        self.groups = groups

    def snapshot(self) -> dict[str, float]:
        return {name: cpu_seconds(pids()) for name, pids in self.groups.items()}

    def __enter__(self):
        self.load_before = load()
        self.t0, self.c0, self.m0 = time.perf_counter(), self.snapshot(), machine_busy_seconds()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        self.machine_busy = machine_busy_seconds() - self.m0
        c1 = self.snapshot()
        self.cpu = {k: round(c1[k] - self.c0[k], 1) for k in c1}
        self.load_after = load()


def setup_store(pg_url: str, schema: str, n: int, work: Path) -> Store:
    admin = Store(pg_url)
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    store = Store(f"{pg_url}?options=-csearch_path%3D{schema}")
    store.upgrade()
    import_organisations(store, **ORG_TREE)
    sample = generate_sample(["B1", "B2"], n, seed=7, as_of=dt.date(2026, 3, 7), lost_fraction=1.0)
    path = write_csv(sample.rows, work / f"{schema}.csv")
    import_roster_file(store, path, base_committee_id="TOWN", accept_valid_rows=True)
    return store


def drain(store: Store, runners: list[RunnerProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while runs.pending_count(store):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{runs.pending_count(store)} outbox rows left after {timeout}s")
        dead = [r.runner_id for r in runners if not r.alive()]
        if dead:
            raise RuntimeError(f"runner(s) {dead} died; see {runners[0].log_path.parent}")
        time.sleep(0.05)


def pause(runners, stopped: bool) -> None:
    for r in runners:
        os.kill(r.process.pid, signal.SIGSTOP if stopped else signal.SIGCONT)


def one_set_up(args, k: int, label: str, redis: RedisServer, work: Path) -> dict:
    name = f"prefect_bench_multi_{label}"
    drop_pg_database(args.pg_url, name)
    store = setup_store(args.pg_url, f"bench_multi_{label}", args.n, work)
    cluster = PrefectCluster(home=work / f"prefect-{label}", database_url=ensure_pg_database(args.pg_url, name),
                             redis_url=redis.url, api_servers=k, scheduler=False)
    runners: list[RunnerProcess] = []
    out: dict = {"api_servers": k, "runners": args.runners, "threads": args.threads, "cases": args.n}
    try:
        cluster.start()
        # Redis is shared by the set-ups of this run one after the other: emptied between them.
        with temporary_settings(updates={PREFECT_API_URL: cluster.api_urls[0]}):
            apply_deployments(with_schedules=False)
        runners = [RunnerProcess(runner_id=f"bench-{label}-{i}", api_url=cluster.api_urls[i % k], store_url=store.url,
                                 threads=args.threads, results_dir=work / f"results-{label}",
                                 log_path=work / f"runner-{label}-{i}.log",
                                 extra_env={"LOSTCONTACT_ARCHIVE_DIR": str(work / f"archive-{label}")}).start()
                   for i in range(args.runners)]
        for r in runners:
            r.wait_serving(args.pg_url)
        groups = {
            "runners": lambda: [p for r in runners for p in process_tree(r.process.pid)],
            **{f"api_{i}": (lambda s=s: process_tree(s.process.pid)) for i, s in enumerate(cluster.servers)},
            "services": lambda: process_tree(cluster.services.process.pid),
            "postgres": postgres_pids,
            "redis": lambda: [redis.process.pid],
        }
        pause(runners, True)
        t = time.monotonic()
        opened = start_campaign(store, actor_id="town_sec", campaign_id="BENCH", org_id="TOWN", name="bench",
                                start_date="2026-03-07")
        out["campaign_start_s"] = round(time.monotonic() - t, 2)
        assert opened.cases_opened == args.n, opened
        with Meter(groups) as m:
            pause(runners, False)
            drain(store, runners, args.timeout)
        out["start"] = phase(args.n, m)
        with store.reading() as s:
            branches = dict(s.execute(select(Case.id, Case.branch_id)).all())
        pause(runners, True)
        t = time.monotonic()
        for cid, branch in branches.items():
            record_attempt(store, actor_id=SECRETARY[branch], case_id=cid, stage=Stage.DIRECT.value, method="打电话",
                           description="直接联系：未果", witness="证明人", outcome="not_found")
        out["decisions_s"] = round(time.monotonic() - t, 2)
        with Meter(groups) as m:
            pause(runners, False)
            drain(store, runners, args.timeout)
        out["resume"] = phase(args.n, m)
        with store.reading() as s:
            rows = s.execute(select(OutboxRow.claimed_by, OutboxRow.tries, OutboxRow.last_error)).all()
        out["segments_by_runner"] = {r.runner_id: sum(1 for row in rows if row.claimed_by == r.runner_id)
                                     for r in runners}
        out["outbox_retries"] = sum(row.tries - 1 for row in rows)
        out["outbox_errors"] = sum(1 for row in rows if row.last_error)
        out["runner_errors"] = runner_errors(runners)
    finally:
        for r in runners:
            if r.alive():
                os.kill(r.process.pid, signal.SIGCONT)
            r.stop()
        cluster.stop()
        drop_pg_database(args.pg_url, name)
        redis_flush(redis)
    return out


def redis_flush(redis: RedisServer) -> None:
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as s:
        s.sendall(b"FLUSHALL\r\n")
        s.recv(16)


def phase(n: int, m: Meter) -> dict:
    return {"runs_per_s": round(n / m.wall, 2), "seconds": round(m.wall, 1), "cpu_s": m.cpu,
            "cpu_s_per_segment": round(sum(m.cpu.values()) / n, 3),
            "cores_busy": round(sum(m.cpu.values()) / m.wall, 2),
            "api_cores": round(sum(v for k, v in m.cpu.items() if k.startswith("api_")) / m.wall, 2),
            "machine_cores_busy": round(m.machine_busy / m.wall, 2),
            "load_before": m.load_before, "load_after": m.load_after}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=400, help="cases per set-up")
    ap.add_argument("--runners", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8, help="threads per runner")
    ap.add_argument("--order", default="1,2", help="API servers of each set-up, in the order run")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    order = [int(k) for k in args.order.split(",")]
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "cores": os.cpu_count(),
              "commit": subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                                       text=True).stdout.strip(),
              "command": "benchmarks/multiserver.py " + " ".join(sys.argv[1:]), "set_ups": []}
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        redis = RedisServer(home=work / "redis").start()
        try:
            for i, k in enumerate(order):
                print(f"set-up {i + 1}/{len(order)}: {k} API server(s)", file=sys.stderr)
                result["set_ups"].append(one_set_up(args, k, f"{i}_{k}", redis, work))
                print(json.dumps(result["set_ups"][-1]), file=sys.stderr)
        finally:
            redis.stop()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "multiserver.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "multiserver.md").write_text(markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    lines = [f"# One Prefect API server against two ({r['date']}, {r['cores']} cores, commit {r.get('commit')})", "",
             f"Command: `.venv/bin/python {r['command'].strip()}`. Prefect's multi-server set-up (deploy/cluster.py): "
             "API servers with `--no-services`, one background-services process, a private redis-server, one "
             "PostgreSQL for the Prefect database and the case store; the same case runners in every set-up, runner i "
             "on API server i mod k. Load is /proc/loadavg (1, 5, 15 min) before and after each phase.", "",
             "| API servers | phase | N | runs/s | wall s | cores: ours / whole machine | API servers' cores | CPU s: "
             "runners / API / services / PostgreSQL / Redis | CPU s per segment | load before → after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in r["set_ups"]:
        for key in ("start", "resume"):
            p = s[key]
            api = round(sum(v for k, v in p["cpu_s"].items() if k.startswith("api_")), 1)
            c = p["cpu_s"]
            lines.append(f"| {s['api_servers']} | {key} | {s['cases']} | {p['runs_per_s']} | {p['seconds']} | "
                         f"{p['cores_busy']} / {p.get('machine_cores_busy')} | {p['api_cores']} | {c['runners']} / {api} / {c['services']} / "
                         f"{c['postgres']} / {c['redis']} | {p['cpu_s_per_segment']} | {p['load_before']} → "
                         f"{p['load_after']} |")
    lines += ["", "Outbox rows by runner (N openings + N decisions), retried segments, what the runners logged:", ""]
    lines += [f"- {s['api_servers']} API server(s): {s['segments_by_runner']}, {s['outbox_retries']} retried, "
              f"{s['outbox_errors']} still failing; {s.get('runner_errors')}" for s in r["set_ups"]]
    lines += ["", "PostgreSQL's CPU is the whole server's: other work on the same server counts in it. \"Whole machine\" "
              "is every process's busy CPU from /proc/stat, ours and everybody else's."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
