"""The web app under load on PostgreSQL: a roster of --members imported, a campaign that opens about --cases cases,
a share of them moved on to the base committee's inter-departmental stage, then --users people on loopback for
--seconds each: sign-in (argon2), the inbox, a case page and the campaign dashboard. Latency per kind, p50/p95/p99.

    .venv/bin/python benchmarks/web.py                       # 100,000 members, 10,000 cases, 20 users, 30 s
    .venv/bin/python benchmarks/web.py --members 5000 --cases 500 --seconds 5   # a quick look

Needs PostgreSQL (LOSTCONTACT_BENCH_PG, default postgresql://postgres@127.0.0.1:5432/postgres; a schema of its own is
created and dropped). The app runs in its own process (`lostcontact web`), the load from threads of this one. Writes
benchmarks/results/web.json and web.md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from casework.accounts import HASHER  # noqa: E402
from casework.campaigns import start_campaign  # noqa: E402
from casework.db import Store  # noqa: E402
from casework.orgs import import_organisations  # noqa: E402
from casework.roster import import_roster_bytes  # noqa: E402
from demo.sample_roster import generate_sample, write_csv  # noqa: E402
from casework.search import record_attempt  # noqa: E402
from models.accounts_store import Account  # noqa: E402
from models.store import Case  # noqa: E402
from models.timing import LOCAL_TZ  # noqa: E402

PASSWORD = "benchmark-password-2026"
START = dt.date(2026, 3, 7)
NOW = dt.datetime(2026, 3, 7, 9, 0, tzinfo=LOCAL_TZ)
BRANCHES = 50
BASE, COUNTY = "WB_TOWN", "WB_COUNTY"


def tree() -> dict:
    orgs = [{"id": COUNTY, "name": "基准县委组织部", "kind": "department", "parent": None, "county_or_higher": True},
            {"id": BASE, "name": "基准镇党委", "kind": "base_committee", "parent": COUNTY}]
    orgs += [{"id": f"WB_B{i:02d}", "name": f"第{i}村党支部", "kind": "branch", "parent": BASE, "category": 3}
             for i in range(1, BRANCHES + 1)]
    people = [{"id": f"wb_sec{i:02d}", "name": f"第{i}村书记", "roles": [{"org": f"WB_B{i:02d}", "role": "secretary"}]}
              for i in range(1, BRANCHES + 1)]
    people += [{"id": "wb_town", "name": "镇党委书记", "roles": [{"org": BASE, "role": "secretary"}]},
               {"id": "wb_staff", "name": "镇党委干事", "roles": [{"org": BASE, "role": "staff"}]},
               {"id": "wb_county", "name": "县委组织部长", "roles": [{"org": COUNTY, "role": "deputy_secretary"}]}]
    return {"organisations": orgs, "people": people}


def build(store: Store, members: int, cases: int, moved: int, say) -> dict:
    import_organisations(store, actor_id=None, now=NOW, **tree())
    sample = generate_sample([f"WB_B{i:02d}" for i in range(1, BRANCHES + 1)], members, seed=11, as_of=START,
                             lost_fraction=cases / members)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(sample.rows, Path(tmp) / "roster.csv")
        t1 = time.perf_counter()
        report = import_roster_bytes(store, path.read_bytes(), "roster.csv", base_committee_id=BASE,
                                     actor_id="wb_town", now=NOW)
    t2 = time.perf_counter()
    say(f"roster: {report.created} members in {t2 - t1:.1f} s")
    opened = start_campaign(store, actor_id="wb_town", now=NOW, campaign_id="WB", org_id=BASE, name="基准集中排查",
                            start_date=START.isoformat(), phases={"search": "2026-03-31", "dispose": "2026-08-31"})
    t3 = time.perf_counter()
    say(f"campaign: {opened.cases_opened} cases in {t3 - t2:.1f} s")
    # A share of the cases moves on to the base committee's stage, so its inbox and the dashboard hold real work.
    hashed = HASHER.hash(PASSWORD)
    with store.writing() as s:
        for person in tree()["people"]:
            s.merge(Account(person_id=person["id"], password_hash=hashed, password_set_at=NOW, is_admin=False,
                            failed_count=0, created_at=NOW))
        s.commit()
    ids = opened.case_ids[:moved]
    with store.reading() as s:
        branch_of = dict(s.execute(select(Case.id, Case.branch_id).where(Case.id.in_(ids))).all())
    for case_id in ids:
        actor = "wb_sec" + branch_of[case_id][-2:]
        for stage in ("direct", "network"):
            record_attempt(store, actor_id=actor, now=NOW, case_id=case_id, stage=stage, method="打电话",
                           description="未果", witness="证明人", outcome="not_found")
    t4 = time.perf_counter()
    say(f"moved {len(ids)} cases to the department stage in {t4 - t3:.1f} s")
    return {"members": report.created, "cases": opened.cases_opened, "moved": len(ids),
            "roster_seconds": round(t2 - t1, 1), "campaign_seconds": round(t3 - t2, 1),
            "move_seconds": round(t4 - t3, 1), "case_ids": opened.case_ids}


def reused(store: Store) -> dict:
    with store.reading() as s:
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
        members = s.scalar(text("SELECT count(*) FROM members"))
        moved = s.scalar(text("SELECT count(*) FROM cases WHERE search_stage <> 'direct'"))
    return {"members": members, "cases": len(ids), "moved": moved, "roster_seconds": None, "campaign_seconds": None,
            "move_seconds": None, "case_ids": ids}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class User(threading.Thread):
    def __init__(self, base: str, login: str, cases: list[str], until: float, results: dict, lock, sign_ins: bool,
                 think: float = 0.0):
        super().__init__(daemon=True)
        self.think = think
        self.base, self.login, self.cases, self.until = base, login, cases, until
        self.results, self.lock, self.sign_ins = results, lock, sign_ins
        self.rng = random.Random(login)

    def timed(self, kind: str, fn):
        if self.think:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.think)  # a person reads the page before the next click
        t = time.perf_counter()
        response = fn()
        ms = (time.perf_counter() - t) * 1000
        ok = response.status_code < 400 or response.status_code == 303
        with self.lock:
            self.results.setdefault(kind, []).append(ms)
            if not ok:
                self.results.setdefault("errors", []).append(f"{kind} {response.status_code}")
        return response

    def sign_in(self, client: httpx.Client) -> None:
        page = client.get(f"{self.base}/signin")
        pre = re.search(r'name="pre" value="([^"]+)"', page.text).group(1)
        self.timed("sign_in", lambda: client.post(f"{self.base}/signin", data={
            "login": self.login, "password": PASSWORD, "pre": pre, "next": "/inbox"}))

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            self.sign_in(client)
            while time.perf_counter() < self.until:
                if self.sign_ins:
                    client.cookies.clear()
                    self.sign_in(client)
                    continue
                self.timed("inbox", lambda: client.get(f"{self.base}/inbox"))
                if self.cases:
                    case = self.rng.choice(self.cases)
                    self.timed("case_page", lambda: client.get(f"{self.base}/cases/{case}"))
                self.timed("dashboard", lambda: client.get(f"{self.base}/campaigns/WB"))


def load(base: str, users: list[tuple[str, list[str]]], seconds: float, sign_ins: bool, think: float = 0.0) -> dict:
    results: dict = {}
    lock = threading.Lock()
    until = time.perf_counter() + seconds
    threads = [User(base, login, cases, until, results, lock, sign_ins, think) for login, cases in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--moved", type=int, default=1_000, help="cases moved on to the base committee's stage")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workers", type=int, default=1, help="web worker processes")
    ap.add_argument("--think", type=float, default=0.0,
                    help="seconds each user waits between requests (0: closed loop, the hardest case)")
    ap.add_argument("--schema", help="keep the store in this schema and reuse it when it exists (skips the set-up)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)
    say = lambda m: print(f"[web-bench] {m}", file=sys.stderr, flush=True)  # noqa: E731
    pg = os.environ.get("LOSTCONTACT_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    schema = args.schema or f"web_bench_{os.getpid()}"
    admin = Store(pg)
    with admin.engine.begin() as c:
        reuse = bool(args.schema) and c.execute(text(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'cases'"),
            {"s": schema}).first() is not None
        if not reuse:
            c.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    store = Store(url)
    server = None
    try:
        if reuse:
            say(f"reusing the store in schema {schema}")
            built = reused(store)
        else:
            store.upgrade()
            built = build(store, args.members, args.cases, args.moved, say)
        with store.reading() as s:
            by_branch: dict[str, list[str]] = {}
            for case_id, branch in s.execute(select(Case.id, Case.branch_id)):
                by_branch.setdefault(branch, []).append(case_id)
        env = {**os.environ, "LOSTCONTACT_DB_URL": url}
        server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "lostcontact"), "web", "--port", str(args.port),
                                   "--workers", str(args.workers)],
                                  env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        everyone = [(f"wb_sec{i:02d}", by_branch.get(f"WB_B{i:02d}", [])) for i in range(1, BRANCHES + 1)]
        committee = [("wb_town", built["case_ids"]), ("wb_staff", built["case_ids"]), ("wb_county", built["case_ids"])]
        users = (committee + everyone)[:args.users]
        say(f"pages: {len(users)} users for {args.seconds:.0f} s")
        pages = load(base, users, args.seconds, sign_ins=False, think=args.think)
        say(f"sign-in: {len(users)} users for {min(args.seconds, 15):.0f} s")
        signins = load(base, users, min(args.seconds, 15), sign_ins=True, think=args.think)
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        store.dispose()
        if not args.schema:
            with admin.engine.begin() as c:
                c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
    figures = {}
    for kind, values in (("inbox", pages.get("inbox", [])), ("case_page", pages.get("case_page", [])),
                         ("dashboard", pages.get("dashboard", [])), ("sign_in", signins.get("sign_in", []))):
        figures[kind] = {"requests": len(values), "p50_ms": round(pct(values, 50), 1),
                         "p95_ms": round(pct(values, 95), 1), "p99_ms": round(pct(values, 99), 1),
                         "mean_ms": round(statistics.fmean(values), 1) if values else None}
    targets = {"inbox": 100, "case_page": 100, "dashboard": 100, "sign_in": 300}
    result = {
        "command": "benchmarks/web.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "host": platform.node(),
        "cpus": os.cpu_count(), "members": built["members"], "cases": built["cases"], "moved": built["moved"],
        "users": len(users), "seconds": args.seconds, "workers": args.workers, "think_seconds": args.think,
        "setup": {k: built[k] for k in
                                                               ("roster_seconds", "campaign_seconds", "move_seconds")},
        "figures": figures, "targets_p95_ms": targets,
        "errors": (pages.get("errors", []) + signins.get("errors", []))[:20],
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "web.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    lines = [f"# Web app under load ({result['when']})", "", f"`{result['command']}` on {result['cpus']} cores: "
             f"{result['members']:,} members, {result['cases']:,} open cases ({result['moved']:,} at the base "
             f"committee's stage), PostgreSQL, {result['users']} users on loopback, {args.seconds:.0f} s, "
             f"{args.workers} web worker process(es), think time {args.think:g} s.", "",
             "| page | requests | p50 ms | p95 ms | p99 ms | target p95 ms | met |", "|---|---|---|---|---|---|---|"]
    for kind, f in figures.items():
        met = "yes" if f["p95_ms"] <= targets[kind] else "no"
        lines.append(f"| {kind} | {f['requests']} | {f['p50_ms']} | {f['p95_ms']} | {f['p99_ms']} | {targets[kind]} "
                     f"| {met} |")
    setup = (f"Setup: roster import {built['roster_seconds']} s, campaign start {built['campaign_seconds']} s, "
             f"moving cases on {built['move_seconds']} s." if built["roster_seconds"] is not None else
             f"Setup skipped: the store kept in schema {schema} by an earlier run (`--schema`).")
    lines += ["", setup,
              f"Errors: {len(result['errors'])}" + (f" (first: {result['errors'][:3]})" if result["errors"] else "")]
    (out / "web.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
