"""The whole system at campaign size: roster, campaign start, every run to its first suspend, decisions, queries.

    .venv/bin/python benchmarks/campaign.py        # PostgreSQL: 100,000 members, 10,000 cases; SQLite: 1,000 cases
    .venv/bin/python benchmarks/campaign.py --store-only --decisions 2000   # the store alone at that size
    .venv/bin/python benchmarks/campaign.py --members 5000 --cases 500 --sqlite-cases 100 --lone 10   # a quick look

PostgreSQL mode (a real Prefect server on PostgreSQL, our case runner as its own process, `python -m caserunner`):
pgbench's TPS on the same PostgreSQL first (`pgbench -i` into a database of its own, `pgbench -T 20 -c 4`); then a
--members roster imported, a pilot campaign of 100 cases taken to their first suspend and the runner's and server's
memory and idle CPU sampled, then the campaign that opens --cases cases: the time until they are in their inboxes,
until every run is suspended at its first step; memory and idle CPU sampled again; inbox, case page, ledger and
statistics latency; then --decisions search attempts played through casework as people would (decision → next step
in the inbox, → run suspended, from the outbox's own timestamps) and --lone decisions one at a time with nothing
queued. Prefect API calls are counted per segment from the server's access log; peak resident memory is sampled for
this process, the runner, the Prefect server and PostgreSQL's processes. SQLite mode: the embedded default (store
and Prefect server on SQLite, one runner thread) at --sqlite-cases.

Writes benchmarks/results/campaign.json and campaign.md (the issue's targets beside the figures); a mode this run does
not repeat (postgres, postgres-store, sqlite) is kept from the previous file with its own command and commit."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from prefect.settings import PREFECT_API_URL, temporary_settings  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from benchmarks.campaign_report import markdown  # noqa: E402
from benchmarks.runner import cpu_of_pids, machine_speed, postgres_pids, tree  # noqa: E402
from benchmarks.web import BASE, BRANCHES, START  # noqa: E402
from benchmarks.web import tree as org_tree  # noqa: E402
from casework.campaigns import start_campaign  # noqa: E402
from casework.db import Store  # noqa: E402
from casework.orgs import import_organisations  # noqa: E402
from casework.queries import inbox, ledger, statistics  # noqa: E402
from casework.roster import import_roster_bytes  # noqa: E402
from casework.search import record_attempt  # noqa: E402
from casework.workbench import case_page, inbox_for  # noqa: E402
from caserunner.deployments import apply_deployments  # noqa: E402
from demo.sample_roster import generate_sample, write_csv  # noqa: E402
from deploy.server import PrefectServer, drop_pg_database, ensure_pg_database  # noqa: E402
from models.actor import Actor, Channel  # noqa: E402
from models.store import Case, OutboxRow  # noqa: E402
from models.timing import utcnow  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
PILOT_BASE, PILOT_BRANCH, PILOT_CASES = "WB_PILOT", "WB_P01", 100
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ACCESS = re.compile(r'uvicorn\.access - [\d.:]+ - "(\w+) (\S+) HTTP')


def say(message: str) -> None:
    print(f"[campaign-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def get(result, *path):
    """A field of a casework answer, a dict or a Pydantic view alike."""
    for key in path:
        result = result[key] if isinstance(result, dict) else getattr(result, key)
    return result


def pct(values, q: float):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 4) if values else None


def spread(values) -> dict:
    return {"n": len(values), "p50": pct(values, .5), "p95": pct(values, .95), "p99": pct(values, .99)}


class LoggedServer(PrefectServer):
    """The Prefect server with uvicorn's access log on, so every API call is counted (adds a little server CPU)."""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PREFECT_SERVER_LOGGING_LEVEL"] = "INFO"
        return env


class ApiCalls:
    """Prefect API calls between two marks, from the server's access log, by method and path (ids folded)."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.log_path.stat().st_size if self.log_path.exists() else 0

    def since_mark(self) -> Counter:
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            data = f.read().decode("utf-8", "replace")
        return Counter(f"{m[1]} {UUID.sub('{id}', m[2].split('?')[0])}" for m in ACCESS.finditer(data))


class Memory(threading.Thread):
    """Peak resident memory (MB) per role, sampled every half second: this process, the runner's and the server's
    process trees, PostgreSQL's processes (the largest backend, and all together)."""

    def __init__(self, roles: dict[str, int]):
        super().__init__(daemon=True)
        self.roles, self.peak, self.stop = roles, Counter(), threading.Event()

    @staticmethod
    def rss(pids) -> float:
        total = 0
        for pid in pids:
            try:
                total += int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())[1])
            except (OSError, TypeError):
                pass
        return total / 1024

    def sample(self) -> dict[str, float]:
        now = {role: self.rss(tree(pid)) for role, pid in self.roles.items()}
        pg = postgres_pids()
        now["postgres_all"] = self.rss(pg)
        now["postgres_largest_process"] = max((self.rss([p]) for p in pg), default=0.0)
        return now

    def run(self) -> None:
        while not self.stop.wait(0.5):
            for role, mb in self.sample().items():
                self.peak[role] = max(self.peak[role], round(mb, 1))


def idle_sample(roles: dict[str, int], seconds: float, memory: Memory) -> dict:
    """Resident memory now and CPU share over an idle window, per process (tree)."""
    before = {role: cpu_of_pids(tree(pid)) for role, pid in roles.items()}
    time.sleep(seconds)
    now = memory.sample()
    return {role: {"rss_mb": round(now[role], 1),
                   "idle_cpu_pct": round(100 * (cpu_of_pids(tree(pid)) - before[role]) / seconds, 2)}
            for role, pid in roles.items()}


def pgbench(admin_url: str, seconds: int) -> dict:
    """pgbench's built-in TPC-B-like load on the same PostgreSQL, in a database of its own."""
    db = "campaign_pgbench"
    drop_pg_database(admin_url, db)
    base = admin_url.rsplit("/", 1)[0]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        url = f"{base}/{db}"
        subprocess.run(["pgbench", "-i", "-q", "-s", "10", url], check=True, capture_output=True, timeout=600)
        out = subprocess.run(["pgbench", "-T", str(seconds), "-c", "4", "-j", "2", url], check=True,
                             capture_output=True, text=True, timeout=seconds + 120).stdout
    finally:
        drop_pg_database(admin_url, db)
    tps = float(re.search(r"tps = ([\d.]+)", out)[1])
    return {"command": f"pgbench -i -s 10; pgbench -T {seconds} -c 4 -j 2", "tps": round(tps, 1)}


def build_store(store: Store, members: int, cases: int) -> dict:
    store.upgrade()
    people = org_tree()
    people["organisations"].append({"id": PILOT_BASE, "name": "试点镇党委", "kind": "base_committee",
                                    "parent": "WB_COUNTY"})
    people["organisations"].append({"id": PILOT_BRANCH, "name": "试点村党支部", "kind": "branch",
                                    "parent": PILOT_BASE, "category": 3})
    people["people"] += [{"id": "wb_pilot", "name": "试点书记", "roles": [{"org": PILOT_BASE, "role": "secretary"},
                                                                         {"org": PILOT_BRANCH, "role": "secretary"}]}]
    import_organisations(store, actor_id=None, **people)
    branches = [f"WB_B{i:02d}" for i in range(1, BRANCHES + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        big = write_csv(generate_sample(branches, members, seed=11, as_of=START, lost_fraction=cases / members).rows,
                        Path(tmp) / "roster.csv")
        pilot = write_csv(generate_sample([PILOT_BRANCH], PILOT_CASES, seed=12, as_of=START, lost_fraction=1.0).rows,
                          Path(tmp) / "pilot.csv")
        t = time.perf_counter()
        report = import_roster_bytes(store, big.read_bytes(), "roster.csv", base_committee_id=BASE,
                                     actor_id="wb_town", accept_valid_rows=True)
        seconds = time.perf_counter() - t
        import_roster_bytes(store, pilot.read_bytes(), "pilot.csv", base_committee_id=PILOT_BASE,
                            actor_id="wb_pilot", accept_valid_rows=True)
    return {"members": get(report, "created"), "seconds": round(seconds, 2),
            "members_per_s": round(get(report, "created") / seconds, 1)}


def pending(store: Store) -> int:
    with store.reading() as s:
        return s.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.done_at.is_(None))) or 0


def wait_drained(store: Store, timeout: float, runner: subprocess.Popen) -> float:
    t0 = time.monotonic()
    last = None
    while (left := pending(store)) > 0:
        if runner.poll() is not None:
            raise RuntimeError(f"the case runner exited ({runner.returncode})")
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{left} outbox rows still pending after {timeout} s")
        if last is None or time.monotonic() - last > 30:
            say(f"  {left} runs still to advance")
            last = time.monotonic()
        time.sleep(0.5)
    return time.monotonic() - t0


def outbox_latencies(store: Store, since: dt.datetime, event: str | None = None) -> list[float]:
    """Decision → run suspended, from the store: the outbox row is written by the decision's transaction (created_at,
    the action's clock) and marked done by the runner once the run is suspended again (done_at)."""
    with store.reading() as s:
        q = select(OutboxRow.created_at, OutboxRow.done_at).where(OutboxRow.created_at >= since,
                                                                  OutboxRow.done_at.is_not(None))
        if event:
            q = q.where(OutboxRow.event == event)
        return [(done - created).total_seconds() for created, done in s.execute(q)]


def per_segment(calls: Counter, segments: int) -> dict:
    total = sum(calls.values())
    return {"segments": segments, "calls": total, "per_segment": round(total / max(segments, 1), 2),
            "by_endpoint_per_segment": {k: round(v / max(segments, 1), 2) for k, v in calls.most_common(15)}}


def queries(store: Store, campaign_id: str, repeat: int) -> dict:
    """The reads people make at this size, through casework as the pages call it; p50/p95 in seconds."""
    secretary = Actor("wb_sec01", Channel.WEB)
    committee = Actor("wb_town", Channel.WEB)
    with store.reading() as s:
        ids = list(s.scalars(select(Case.id).where(Case.campaign_id == campaign_id)))
    rng = random.Random(5)
    runs: dict[str, list[float]] = {}
    work = {
        "inbox (a branch secretary's page)": lambda s: inbox_for(s, secretary, utcnow()),
        "inbox (a branch, queries.inbox)": lambda s: inbox(s, now=utcnow(), org_id="WB_B01"),
        "case page": lambda s: case_page(s, committee, rng.choice(ids), utcnow()),
        "ledger (the base committee, every case)": lambda s: ledger(s, BASE, campaign_id),
        "statistics A-X (the base committee)": lambda s: statistics(s, BASE, campaign_id=campaign_id),
    }
    cpu: dict[str, list[float]] = {}
    for name, fn in work.items():
        for _ in range(repeat):
            with store.reading() as s:
                t, c = time.perf_counter(), time.process_time()
                fn(s)
                runs.setdefault(name, []).append(time.perf_counter() - t)
                cpu.setdefault(name, []).append(time.process_time() - c)
    return {name: {"p50_s": pct(v, .5), "p95_s": pct(v, .95), "n": len(v), "cpu_here_p50_s": pct(cpu[name], .5)}
            for name, v in runs.items()}


def run_mode(args, mode: str) -> dict:
    """One whole run: store and Prefect server on PostgreSQL (mode "postgres") or SQLite (mode "sqlite"); or the
    store alone on PostgreSQL (mode "postgres-store": no Prefect server, no runner)."""
    pg, full = mode.startswith("postgres"), mode != "postgres-store"
    members, cases = (args.members, args.cases) if pg else (args.sqlite_members, args.sqlite_cases)
    decisions = min(args.decisions or cases, cases)
    home = Path(tempfile.mkdtemp(prefix=f"campaign-bench-{mode}-"))
    out: dict = {"mode": mode, "members_asked": members, "cases_asked": cases, "with_runner": full,
                 "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                 "load_before": os.getloadavg()}
    if pg:
        say("pgbench on the same PostgreSQL")
        out["pgbench"] = pgbench(args.pg_url, args.pgbench_seconds)
        say(f"  {out['pgbench']['tps']} TPS")
        schema = "campaign_bench"
        admin = Store(args.pg_url)
        with admin.engine.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            c.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        url = f"{args.pg_url}?options=-csearch_path%3D{schema}"
        drop_pg_database(args.pg_url, "prefect_campaign_bench")
        server = LoggedServer(home=home / "prefect", scheduler=False,
                              database_url=ensure_pg_database(args.pg_url, "prefect_campaign_bench"))
    else:
        url = f"sqlite:///{home / 'store.sqlite'}"
        server = LoggedServer(home=home / "prefect", scheduler=False)
    store = Store(url)
    runner = None
    memory = None
    try:
        if full:
            server.start()
        say(f"{mode}: roster of {members} members")
        out["roster_import"] = build_store(store, members, cases)
        roles = {"benchmark": os.getpid()}
        if full:
            with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
                apply_deployments(with_schedules=False)
            threads = args.threads if pg else 1
            env = {**os.environ, "PREFECT_API_URL": server.api_url, "LOSTCONTACT_DB_URL": store.url,
                   "LOSTCONTACT_ARCHIVE_DIR": str(home / "archive"), "LOSTCONTACT_LOG_LEVEL": "WARNING",
                   "PREFECT_HOME": str(home / "runner-home"), "PREFECT_LOGGING_LEVEL": "WARNING"}
            runner = subprocess.Popen([sys.executable, "-m", "caserunner", "--threads", str(threads), "--id",
                                       f"bench-{mode}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                      stderr=open(home / "runner.log", "wb"), start_new_session=True)
            out["runner_threads"] = threads
            roles.update(runner=runner.pid, prefect_server=server.process.pid)
        memory = Memory(roles)
        memory.start()
        calls = ApiCalls(server.log_path)

        say(f"pilot campaign: {PILOT_CASES} cases")
        start_campaign(store, actor_id="wb_pilot", campaign_id="PILOT", org_id=PILOT_BASE, name="试点排查",
                       start_date=START.isoformat())
        if full:
            wait_drained(store, 3600, runner)
            time.sleep(2)
            out["idle_at_100_waiting"] = idle_sample(roles, args.idle_seconds, memory)

        say(f"campaign start: about {cases} cases")
        calls.mark()
        t0, since, cpu0, pg0 = time.monotonic(), utcnow(), time.process_time(), cpu_of_pids(postgres_pids())
        opened = start_campaign(store, actor_id="wb_town", campaign_id="WB", org_id=BASE, name="基准集中排查",
                                start_date=START.isoformat(), phases={"search": "2026-12-31", "dispose": "2027-06-30"})
        in_inboxes = time.monotonic() - t0
        cpu = (round(time.process_time() - cpu0, 2), round(cpu_of_pids(postgres_pids()) - pg0, 2))
        n = get(opened, "cases_opened")
        with store.reading() as s:
            waiting = len(inbox(s, now=utcnow(), org_id="WB_B01"))
        say(f"  {n} cases in their inboxes after {in_inboxes:.2f} s")
        out["campaign_start"] = {"cases": n, "skipped": len(get(opened, "skipped")),
                                 "in_inboxes_s": round(in_inboxes, 2), "cases_per_s": round(n / in_inboxes, 1),
                                 "branch_inbox_rows": waiting, "cpu_s_here": cpu[0],
                                 "cpu_s_postgres_all_processes": cpu[1]}
        out["waiting_cases"] = n + PILOT_CASES
        if full:
            suspended = wait_drained(store, 3 * 3600, runner) + in_inboxes
            out["campaign_start"].update(all_suspended_s=round(suspended, 1), runs_per_s=round(n / suspended, 2),
                                         start_to_suspended=spread(outbox_latencies(store, since, "case_opened")))
            out["api_calls_first_segment"] = per_segment(calls.since_mark(), n)
            say(f"  all {n} runs suspended after {suspended:.0f} s")
            time.sleep(2)
            out["idle_at_all_waiting"] = idle_sample(roles, args.idle_seconds, memory)

        say("queries at this size")
        out["queries"] = queries(store, "WB", args.query_repeat)

        say(f"{decisions} decisions (a search attempt each)" + (", the runner serving" if full else ""))
        with store.reading() as s:
            case_branch = dict(s.execute(select(Case.id, Case.branch_id).where(Case.campaign_id == "WB"))
                               .tuples().all())
        chosen = get(opened, "case_ids")[:decisions]
        calls.mark()
        since = utcnow()
        to_inbox = []
        t0, cpu0 = time.monotonic(), time.process_time()
        for case_id in chosen:
            actor = "wb_sec" + case_branch[case_id][-2:]
            t = time.perf_counter()
            result = record_attempt(store, actor_id=actor, case_id=case_id, stage="direct", method="打电话",
                                    description="未果", witness="证明人", outcome="not_found")
            with store.reading() as s:  # the next step is in the inbox of whoever it waits on
                shown = inbox(s, now=utcnow(), org_id=get(result, "open_step", "org_id"))
            assert any(get(w, "step_id") == get(result, "open_step", "step_id") for w in shown)
            to_inbox.append(time.perf_counter() - t)
        played = time.monotonic() - t0
        out["decisions"] = {"n": len(chosen), "played_s": round(played, 1),
                            "decisions_per_s": round(len(chosen) / played, 1), "to_inbox": spread(to_inbox),
                            "cpu_s_here_per_decision": round((time.process_time() - cpu0) / len(chosen), 4)}
        if pg:
            out["store_vs_pgbench"] = round(out["decisions"]["decisions_per_s"] / out["pgbench"]["tps"], 3)
        if not full:
            return out
        drained = wait_drained(store, 3 * 3600, runner) + played
        out["decisions"].update(all_suspended_s=round(drained, 1), runs_per_s=round(len(chosen) / drained, 2),
                                to_suspended_with_backlog=spread(outbox_latencies(store, since)))
        out["api_calls_resume_segment"] = per_segment(calls.since_mark(), len(chosen))

        say(f"{args.lone} lone decisions, nothing else queued")
        lone_inbox, lone_suspend = [], []
        for case_id in chosen[:args.lone]:
            actor = "wb_sec" + case_branch[case_id][-2:]
            time.sleep(random.uniform(0.3, 0.8))  # any point of the runner's poll cycle
            since = utcnow()
            t = time.perf_counter()
            record_attempt(store, actor_id=actor, case_id=case_id, stage="network", method="走访亲友",
                           description="未果", witness="证明人", outcome="not_found")
            lone_inbox.append(time.perf_counter() - t)
            wait_drained(store, 120, runner)
            lone_suspend += outbox_latencies(store, since)
        out["lone_decision"] = {"to_inbox": spread(lone_inbox), "to_suspended": spread(lone_suspend)}
    finally:
        if memory is not None:
            memory.stop.set()
            out["peak_rss_mb"] = dict(memory.peak)
        out["load_after"] = os.getloadavg()
        if runner is not None and runner.poll() is None:
            os.killpg(runner.pid, 15)
            runner.wait(60)
        server.stop()
        store.dispose()
        if pg:
            admin = Store(args.pg_url)
            with admin.engine.begin() as c:
                c.execute(text("DROP SCHEMA IF EXISTS campaign_bench CASCADE"))
            admin.dispose()
            drop_pg_database(args.pg_url, "prefect_campaign_bench")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000, help="roster size (PostgreSQL)")
    ap.add_argument("--cases", type=int, default=10_000, help="cases the campaign opens (PostgreSQL)")
    ap.add_argument("--decisions", type=int, default=None, help="decisions played (default: one per case)")
    ap.add_argument("--sqlite-members", type=int, default=10_000)
    ap.add_argument("--sqlite-cases", type=int, default=1_000, help="0: skip the SQLite mode")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--store-only", action="store_true",
                    help="PostgreSQL without Prefect server or runner: roster, campaign start, queries, decisions")
    ap.add_argument("--threads", type=int, default=8, help="the runner's threads on PostgreSQL")
    ap.add_argument("--lone", type=int, default=30)
    ap.add_argument("--idle-seconds", type=float, default=15)
    ap.add_argument("--query-repeat", type=int, default=20)
    ap.add_argument("--pgbench-seconds", type=int, default=20)
    ap.add_argument("--pg-url", default=os.environ.get("LOSTCONTACT_BENCH_PG",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    run = {"command": "benchmarks/campaign.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "host": platform.node(), "cpus": os.cpu_count(), "commit": commit + ("+uncommitted" if dirty else ""),
           "machine_speed_s": machine_speed()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    # Modes of an earlier run that this one does not repeat are kept, each with the command that produced it.
    previous = out / "campaign.json"
    result = json.loads(previous.read_text()) if previous.exists() else {"modes": {}}
    modes = ["postgres-store"] if args.store_only else (
        ([] if args.skip_postgres else ["postgres"]) + (["sqlite"] if args.sqlite_cases else []))
    for mode in modes:
        result["modes"][mode] = {**run, **run_mode(args, mode)}
        # Written after every mode: a later mode that fails leaves the earlier ones on record.
        (out / "campaign.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        (out / "campaign.md").write_text(markdown(result))
    print(markdown(result))
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
