"""The case runner against the previous revision's runner and Prefect's own Runner, in one run, on PostgreSQL-backed
Prefect servers.

    .venv/bin/python benchmarks/runner.py -n 300 -m 1 --baseline-rev HEAD --baseline-cases 40   # the committed run
    .venv/bin/python benchmarks/runner.py -n 1000 -m 2                 # ours and Prefect's Runner only
    .venv/bin/python benchmarks/runner.py -n 40 -m 1 --skip-baseline   # a quick look at ours

Ours: N lost-contact cases opened by a campaign (store), then their real case runs created and taken to their first
suspend by our runner; then M rounds in which every case gets a decision (a search attempt through casework) and the
runner takes each run to its next suspend. Reported per phase: runs/s, latency p50/p95 from the decision to "next
step in the inbox" (the store) and to "run suspended" (Prefect catch-up), CPU per segment of this process (the
runner, with the store work its segments do), the Prefect server and the PostgreSQL backends serving both, and every
Prefect API call the runner makes per segment, by method and route, plus events and log posts (`ApiCalls`, in
benchmarks/prefect_meter.py). Then a lone decision at a time, for the latency a person sees when nothing else is queued.

`--baseline-rev REV` measures the runner of a git revision the same way in the same run: caserunner/, flows/ and
tasks/ of REV (`git archive`) first on the path of a fresh process, the rest of the code as it is now. Each executor
gets a fresh Prefect server and database. The ratio previous / ours of CPU per segment is the headline of issue 22.

Prefect's Runner: ../shared/tools/prefect-baseline (its minimal case flow served by `flow.serve`, a process per
segment) at --baseline-cases, on a fresh server.

Writes benchmarks/results/runner.json and benchmarks/results/runner.md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASELINE = ROOT.parent / "shared" / "tools" / "prefect-baseline"
RESULTS = ROOT / "benchmarks" / "results"

from benchmarks.prefect_meter import (STORE_APP, ApiCalls, Meter, PostgresBackends, cpu_of_pids,  # noqa: E402
                                      postgres_pids, tree)

__all__ = ["ApiCalls", "Meter", "PostgresBackends", "cpu_of_pids", "postgres_pids", "tree", "machine_speed"]
BRANCH_SECRETARY = {"B1": "sec1", "B2": "sec2"}  # tests/conftest.py's organisation tree


def machine_speed() -> float:
    """Seconds for a fixed pure-Python loop, best of three: this VM's speed varies about threefold from day to day,
    and the figures of two runs compare only next to it."""
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.process_time() - t)
    return round(best, 3)


def timed_phases(ours_result: dict) -> list[str]:
    """The timed phases of our runner's result: start and each resume round."""
    return [k for k in ours_result if k == "start" or k.startswith("resume_")]


def pct(xs, q):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(len(xs) * q))], 4) if xs else None


def setup_store(pg_url: str, n: int):
    from sqlalchemy import text

    from casework.db import Store
    from casework.orgs import import_organisations
    from casework.roster import import_roster
    from demo.sample_roster import generate_sample
    from casework.roster import parse_roster
    from tests.conftest import ORG_TREE

    schema = "bench_runner"
    admin = Store(pg_url)
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    store = Store(f"{pg_url}?options=-csearch_path%3D{schema}&application_name={STORE_APP}")
    store.upgrade()
    import_organisations(store, **ORG_TREE)
    sample = generate_sample(["B1", "B2"], n, seed=11, as_of=dt.date(2026, 3, 7), lost_fraction=1.0)
    from demo.sample_roster import write_csv

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "roster.csv"
        write_csv(sample.rows, path)
        parsed = parse_roster(path.read_bytes(), path.name)
    import_roster(store, base_committee_id="TOWN", rows_source=parsed.source(), accept_valid_rows=True)
    return store


def ours(args, api_url: str, server_pid: int) -> dict:
    """Our runner (whichever code is first on sys.path) against the Prefect server at `api_url`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from casework.campaigns import start_campaign
    from casework.queries import inbox
    from casework.search import record_attempt
    from caserunner.deployments import apply_deployments
    from caserunner.runner import CaseRunner
    from models.codes import STAGE_ORDER
    from models.store import Case

    store = setup_store(args.pg_url, args.n)
    os.environ["LOSTCONTACT_DB_URL"] = store.url
    os.environ["LOSTCONTACT_ARCHIVE_DIR"] = tempfile.mkdtemp()
    out = {"cases": args.n, "resumes": args.m, "threads": args.threads}
    calls = ApiCalls()
    backends = PostgresBackends(args.pg_url, args.prefect_db)
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        apply_deployments(with_schedules=False)
        done: dict[str, float] = {}
        runner = CaseRunner(store, threads=args.threads, runner_id="bench",
                            on_segment=lambda cid, t: done.__setitem__(cid, t))
        calls.install()
        calls.take()
        t0 = time.monotonic()
        opened = start_campaign(store, actor_id="town_sec", campaign_id="BENCH", org_id="TOWN", name="bench",
                                start_date="2026-03-07")
        in_store = time.monotonic() - t0
        assert _get(opened, "cases_opened") == args.n, opened
        with Meter(server_pid, backends) as m:
            runner.drain(timeout=3600)
            counted = calls.take()
        lat = [done[c] - t0 for c in _get(opened, "case_ids")]
        out["start"] = phase(args.n, m, lat, counted, store_seconds=in_store)
        out["start"]["cases_in_inboxes_after_s"] = round(in_store, 3)
        with store.reading() as s:
            cases = {c.id: c for c in s.query(Case)}
        for round_ in range(args.m):
            stage = STAGE_ORDER[round_]
            decided, to_inbox = {}, []
            done.clear()
            for cid, case in cases.items():
                actor = "town_staff" if stage.value == "department" else BRANCH_SECRETARY[case.branch_id]
                t = time.monotonic()
                result = record_attempt(store, actor_id=actor, case_id=cid, stage=stage.value, method="bench",
                                        description="未果", witness="证明人", outcome="not_found")
                with store.reading() as s:  # the next step is in the inbox of whoever it waits on
                    waiting = inbox(s, now=dt.datetime.now(dt.timezone.utc),
                                    org_id=_get(_get(result, "open_step"), "org_id"))
                assert _get(_get(result, "open_step"), "step_id") in {_get(w, "step_id") for w in waiting}
                decided[cid] = t
                to_inbox.append(time.monotonic() - t)
            calls.take()
            with Meter(server_pid, backends) as m:
                runner.drain(timeout=3600)
                counted = calls.take()
            lat = [done[c] - decided[c] for c in cases]
            out[f"resume_{round_ + 1}"] = phase(len(cases), m, lat, counted)
            out[f"resume_{round_ + 1}"]["decision_to_inbox_p50_s"] = pct(to_inbox, .5)
            out[f"resume_{round_ + 1}"]["decision_to_inbox_p95_s"] = pct(to_inbox, .95)
        calls.uninstall()
        # A lone decision: nothing else queued, the runner serving as in production (woken by the commit's signal on
        # PostgreSQL, polling every poll_seconds as the fallback), so the latency includes the runner noticing.
        lone_inbox, lone_suspend = [], []
        stage = STAGE_ORDER[args.m]
        stop = threading.Event()
        serving = threading.Thread(target=runner.serve, args=(stop,), daemon=True)
        serving.start()
        for cid in list(cases)[: args.lone]:
            actor = "town_staff" if stage.value == "department" else BRANCH_SECRETARY[cases[cid].branch_id]
            done.clear()
            time.sleep(random.uniform(0, runner.poll_seconds))  # decisions arrive at any point of the poll cycle
            t = time.monotonic()
            record_attempt(store, actor_id=actor, case_id=cid, stage=stage.value, method="bench", description="未果",
                           witness="证明人", outcome="not_found")
            lone_inbox.append(time.monotonic() - t)
            deadline = time.monotonic() + 60
            while cid not in done and time.monotonic() < deadline:
                time.sleep(0.005)
            lone_suspend.append(done[cid] - t)
        stop.set()
        serving.join(30)
        out["lone_decision"] = {"n": len(lone_inbox), "poll_seconds": runner.poll_seconds,
                                "to_inbox_p50_s": pct(lone_inbox, .5), "to_inbox_p95_s": pct(lone_inbox, .95),
                                "to_suspend_p50_s": pct(lone_suspend, .5), "to_suspend_p95_s": pct(lone_suspend, .95)}
        runner.close()
    return out


def _get(obj, name):
    """An action's result field, whether the result is a dict or a Pydantic view (both are in use)."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def phase(n, meter, latencies, calls, store_seconds=None) -> dict:
    return {"runs_per_s": round(n / meter.wall, 2), "seconds": round(meter.wall, 1),
            "to_suspend_p50_s": pct(latencies, .5), "to_suspend_p95_s": pct(latencies, .95),
            "cpu_s": dict(zip(("client", "prefect_server", "postgres"), meter.cpu)),
            "cpu_ms_per_segment": dict(zip(("client", "prefect_server", "postgres"),
                                           (round(c * 1000 / n, 1) for c in meter.cpu))),
            "cpu_s_per_segment": round(sum(meter.cpu) / n, 4),
            "api_calls_per_segment": ApiCalls.per(calls, n)}


def baseline(args, server, server_db: str) -> dict:
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_HOME": tempfile.mkdtemp(),
           "PREFECT_LOGGING_LEVEL": "WARNING"}
    serve = subprocess.Popen([sys.executable, "caseflow.py", "8"], cwd=BASELINE, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        time.sleep(15)  # the served deployment registers itself and starts polling
        t0c = cpu_of_pids(tree(serve.pid))
        with Meter(server.process.pid, PostgresBackends(args.pg_url, server_db)) as m:
            res = subprocess.run([sys.executable, "baseline.py", "-n", str(args.baseline_cases), "--executor",
                                  "served"], cwd=BASELINE, env=env, capture_output=True, text=True, timeout=5400)
        runner_cpu = cpu_of_pids(tree(serve.pid)) - t0c
    finally:
        os.killpg(serve.pid, 15)
        serve.wait(30)
    print(res.stdout, res.stderr[-2000:], file=sys.stderr)
    out = {"cases": args.baseline_cases, "raw": res.stdout.strip().splitlines(),
           "cpu_s_total": {"runner_processes": round(runner_cpu, 1), "bench_client": m.cpu[0],
                           "prefect_server": m.cpu[1], "postgres": m.cpu[2]}}
    for line in res.stdout.splitlines():
        hit = re.match(r"(start|resume): .* = ([\d.]+)/s; latency p50 ([\d.]+)s p95 ([\d.]+)s", line)
        if hit:
            out[hit.group(1)] = {"runs_per_s": float(hit.group(2)), "to_suspend_p50_s": float(hit.group(3)),
                                 "to_suspend_p95_s": float(hit.group(4))}
    return out


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def export_code(rev: str, into: Path) -> str:
    """The runner's code (caserunner/, flows/, tasks/) of `rev`, unpacked into `into`; returns the commit."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", commit, "caserunner", "flows", "tasks"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


def run_variant(args, label: str, code_dir: Path) -> dict:
    """One of our runners (the code in `code_dir`) in a fresh process, on a fresh Prefect server and database."""
    from deploy.server import PrefectServer, drop_pg_database, ensure_pg_database

    name = f"prefect_bench_runner_{label}"
    drop_pg_database(args.pg_url, name)
    server = PrefectServer(home=Path(tempfile.mkdtemp()), database_url=ensure_pg_database(args.pg_url, name),
                           scheduler=False).start()
    out = Path(tempfile.mkdtemp()) / "ours.json"
    try:
        before = load()
        subprocess.run([sys.executable, __file__, "--child", str(code_dir), "--api-url", server.api_url,
                        "--server-pid", str(server.process.pid), "--prefect-db", name, "--out", str(out), "-n", str(args.n), "-m",
                        str(args.m), "--threads", str(args.threads), "--lone", str(args.lone), "--pg-url",
                        args.pg_url], check=True, timeout=7200)
        result = json.loads(out.read_text())
        result["load_before_after"] = [before, load()]
        return result
    finally:
        server.stop()
        drop_pg_database(args.pg_url, name)


def prefect_runner(args) -> dict:
    from deploy.server import PrefectServer, drop_pg_database, ensure_pg_database

    name = "prefect_bench_runner_prefect"
    drop_pg_database(args.pg_url, name)
    server = PrefectServer(home=Path(tempfile.mkdtemp()), database_url=ensure_pg_database(args.pg_url, name),
                           scheduler=False).start()
    try:
        before = load()
        result = baseline(args, server, name)
        result["load_before_after"] = [before, load()]
        return result
    finally:
        server.stop()
        drop_pg_database(args.pg_url, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="cases for our runner")
    ap.add_argument("-m", type=int, default=2, help="resumes per case (at most 3: the search stages)")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--lone", type=int, default=20, help="lone decisions measured one at a time")
    ap.add_argument("--baseline-cases", type=int, default=100)
    ap.add_argument("--skip-baseline", action="store_true", help="no Prefect Runner")
    ap.add_argument("--baseline-rev", default=None,
                    help="also measure the runner of this git revision (caserunner/, flows/, tasks/), in the same run")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)  # internal: measure the code in this dir
    ap.add_argument("--api-url", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--server-pid", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--prefect-db", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    assert 1 <= args.m <= 3
    if args.child:
        sys.path.insert(0, args.child)  # caserunner/, flows/, tasks/ of the revision measured; the rest is ours
        Path(args.out).write_text(json.dumps(ours(args, args.api_url, args.server_pid)))
        return

    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": f"{os.cpu_count()} cores",
              "prefect_server": "PostgreSQL-backed, pause expirations/late runs/foreman off",
              "machine_speed_s": machine_speed(), "load_at_start": load(),
              "revision": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                         text=True).stdout.strip()}
    if args.baseline_rev:
        with tempfile.TemporaryDirectory() as d:
            result["previous_revision"] = export_code(args.baseline_rev, Path(d))
            result["previous"] = run_variant(args, "previous", Path(d))
    result["ours"] = run_variant(args, "ours", ROOT)
    if not args.skip_baseline:
        result["prefect_runner"] = prefect_runner(args)
    for name_ in timed_phases(result["ours"]):
        new = result["ours"][name_]
        if "previous" in result:
            old = result["previous"][name_]
            result.setdefault("previous_over_ours", {})[name_] = {
                "cpu_per_segment": round(old["cpu_s_per_segment"] / new["cpu_s_per_segment"], 2),
                "runs_per_s": round(new["runs_per_s"] / old["runs_per_s"], 2),
                "api_calls_per_segment": round(old["api_calls_per_segment"]["total"]
                                               / max(new["api_calls_per_segment"]["total"], 0.01), 2)}
        # Every resume round against Prefect's resume rate: the weakest round is the honest figure.
        theirs = result.get("prefect_runner", {}).get(name_.split("_")[0], {}).get("runs_per_s")
        if theirs:
            result.setdefault("ratio", {})[name_] = round(new["runs_per_s"] / theirs, 1)
    result["load_at_end"] = load()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "runner.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    (RESULTS / "runner.md").write_text(markdown(result))
    print(markdown(result))


NOTES = """
## What was cut, and what a segment still costs (issue 22)

API calls are counted in the runner's process (httpx's send wrapped; events on Prefect's events websocket; log
posts are `POST /logs/`). The Prefect server's own work behind them (its state-change events, the event persister)
is in its CPU column, not in the count.

Cut from every segment of a case run, each with what it rests on (details in caserunner/engine.py and
caserunner/runner.py):
- the task run of a step's side effects: now a plain function with the same retries. It cost three
  `prefect.task-run.*` events on the websocket, their rows, and a task run with three states from the task-run
  recorder. The store holds what it did (who was told, which follow-up run exists). The papers stay a task (once
  per case, at its end).
- `POST /flow_runs/{id}/resume` and the two reads around it: the run is executed as the runner knows it, and the
  engine's proposal of Running is the resume (Prefect's orchestration takes Suspended → Running and marks it as
  resuming; the run count becomes 2 at the first resume and stays). No Scheduled("Resuming") in between: it is for a worker to pick up, and
  nothing here needs that. The input that moved the case on is not also written to Prefect; the store holds it.
  A run in another state (completed, failed, deleted, left running) is put right after the fact.
- the engine's re-read of the run (`GET /flow_runs/{id}`) and its write-back of the flow's version and retry policy
  (`PATCH /flow_runs/{id}`): the object handed over is what the flow sees; nothing stale is written back.
- per batch, Prefect's settings object is no longer rebuilt, and the case flow's two string parameters are not
  validated by a pydantic model built per segment.

Kept, and checked by tests/flows/test_run_in_prefect.py: the run's name and tags, its states in order (Scheduled,
then Running and Suspended per segment, then Running and Completed), each suspend with the schema of the input it
waits for (`POST /flow_runs/{id}/input`), no attempt counted at later resumes, follow-up runs Scheduled at their due time.

What remains is Prefect's floor for a real suspend and resume: a resume is Running, the input schema and Suspended
(3 calls); a start adds the run's creation (the single most expensive call, about 25 ms of server CPU). The Prefect
server still takes most of a segment's CPU: each orchestrated state change costs it 15-20 ms (orchestration rules,
the state row, its event). The client column includes the store work every segment does (claim, position,
notifications, follow-ups, finish), which is ours, not Prefect's.

PostgreSQL is counted as the backends serving this benchmark only (by database and application_name), sampled every
half second; the machine is shared and other work uses the same PostgreSQL. Figures from one run on a shared
2-core machine are noisy: compare the rows of one run, and read the load figures beside them.
"""


def markdown(r: dict) -> str:
    o = r["ours"]
    variants = [("previous", f"previous runner ({r.get('previous_revision', '')[:7]})"), ("ours", "our runner")]
    variants = [(k, label) for k, label in variants if k in r]
    lines = [f"# Case runner benchmark ({r['date']}, {r['machine']})", "",
             f"Command: `.venv/bin/python benchmarks/runner.py -n {o['cases']} -m {o['resumes']} --threads "
             f"{o['threads']} --lone {o['lone_decision']['n']}"
             + (f" --baseline-rev {r['previous_revision'][:7]}" if "previous" in r else "")
             + (f" --baseline-cases {r['prefect_runner']['cases']}" if "prefect_runner" in r else " --skip-baseline")
             + f"` at {r.get('revision', '')[:7]}; Prefect server: {r['prefect_server']}, a fresh one (and database) "
             f"for each executor. Machine speed (a fixed Python loop, lower is faster): {r['machine_speed_s']} s. "
             f"Load (1/5/15 min) at start {r.get('load_at_start')}, at end {r.get('load_at_end')}.", "",
             "| executor | phase | N | runs/s | decision → inbox p50 / p95 | → run suspended p50 / p95 | CPU s per "
             "segment, all | CPU ms per segment: client / Prefect server / PostgreSQL | Prefect API calls per "
             "segment: HTTP + events (log posts) |", "|---|---|---|---|---|---|---|---|---|"]
    for k, label in variants:
        v = r[k]
        for key in timed_phases(v):
            p = v[key]
            inbox = (f"{p.get('decision_to_inbox_p50_s')} / {p.get('decision_to_inbox_p95_s')} s" if key != "start"
                     else f"all {v['cases']} in {p['cases_in_inboxes_after_s']} s")
            ms = p["cpu_ms_per_segment"]
            c = p["api_calls_per_segment"]
            lines.append(f"| {label} ({v['threads']} threads) | {key} | {v['cases']} | {p['runs_per_s']} | {inbox} | "
                         f"{p['to_suspend_p50_s']} / {p['to_suspend_p95_s']} s | {p['cpu_s_per_segment']} | "
                         f"{ms['client']} / {ms['prefect_server']} / {ms['postgres']} | "
                         f"{c['http']} + {c['events']} ({c['log_posts']}) |")
        lone = v["lone_decision"]
        lines.append(f"| {label}, a lone decision | resume | {lone['n']} | — | {lone['to_inbox_p50_s']} / "
                     f"{lone['to_inbox_p95_s']} s | {lone['to_suspend_p50_s']} / {lone['to_suspend_p95_s']} s | — | — "
                     f"| — |")
    b = r.get("prefect_runner")
    if b:
        for key in ("start", "resume"):
            if key in b:
                lines.append(f"| Prefect Runner (flow.serve, limit 8) | {key} | {b['cases']} | {b[key]['runs_per_s']} |"
                             f" — | {b[key]['to_suspend_p50_s']} / {b[key]['to_suspend_p95_s']} s | — | "
                             f"total CPU s: {b['cpu_s_total']} | — |")
    lines.append("")
    if "previous_over_ours" in r:
        lines.append(f"Previous / ours (CPU per segment, API calls per segment), ours / previous (runs/s): "
                     f"{r['previous_over_ours']}")
        lines.append("")
        lines.append("Target of issue 22, CPU per segment (all processes) at most half of the previous revision's: "
                     + "; ".join(f"{k} {v['cpu_per_segment']}× ({'met' if v['cpu_per_segment'] >= 2 else 'not met'})"
                                 for k, v in r["previous_over_ours"].items()) + ".")
        lines.append("")
    if r.get("ratio"):
        lines += [f"Ratio ours / Prefect Runner (runs/s): {r['ratio']}", ""]
    lines += ["## Prefect API calls per segment, by route", "",
              "| call | " + " | ".join(f"{label}: {key}" for k, label in variants for key in timed_phases(r[k])) + " |",
              "|---|" + "---|" * sum(len(timed_phases(r[k])) for k, _ in variants)]
    routes = sorted({route for k, _ in variants for key in timed_phases(r[k])
                     for route in r[k][key]["api_calls_per_segment"]["by_route"]})
    for route in routes:
        lines.append(f"| `{route}` | " + " | ".join(
            str(r[k][key]["api_calls_per_segment"]["by_route"].get(route, "")) for k, _ in variants
            for key in timed_phases(r[k])) + " |")
    lines.append("| total | " + " | ".join(str(r[k][key]["api_calls_per_segment"]["total"]) for k, _ in variants
                                            for key in timed_phases(r[k])) + " |")
    return "\n".join(lines) + "\n" + NOTES


if __name__ == "__main__":
    main()
