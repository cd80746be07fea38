"""Roster import at scale: generate a synthetic roster with known bad rows, import it as CSV and as XLSX into a fresh
SQLite file and a fresh PostgreSQL schema, check the report names exactly the bad lines, and write the figures.

    .venv/bin/python benchmarks/roster_import.py --rows 10000 --bad 25

Writes benchmarks/results/roster_import.json and benchmarks/results/roster_import.md. Exits 1 when a check fails."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from casework.db import Store  # noqa: E402
from casework.orgs import import_organisations  # noqa: E402
from casework.roster import import_roster, lost_contact_members, parse_roster  # noqa: E402
from demo.sample_roster import generate_sample, write_csv, write_xlsx  # noqa: E402
from models.store import Member  # noqa: E402
from models.timing import LOCAL_TZ  # noqa: E402

AS_OF = dt.date(2026, 3, 7)  # the campaign start the lost fraction is measured against
NOW = dt.datetime(2026, 3, 7, 9, 0, tzinfo=LOCAL_TZ)
BASE = "BENCH_TOWN"


def org_tree(branches: int) -> dict:
    orgs = [{"id": "BENCH_COUNTY", "name": "基准县委组织部", "kind": "department", "parent": None,
             "county_or_higher": True},
            {"id": BASE, "name": "基准镇党委", "kind": "base_committee", "parent": "BENCH_COUNTY"}]
    orgs += [{"id": f"BENCH_B{i:02d}", "name": f"第{i}村党支部", "kind": "branch", "parent": BASE, "category": 3}
             for i in range(1, branches + 1)]
    return {"organisations": orgs}


def sqlite_store(workdir: Path, label: str):
    path = workdir / f"{label}.sqlite"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    return store, lambda: store.dispose()


def pg_store(url: str, label: str):
    schema = f"roster_bench_{os.getpid()}_{label}"
    admin = Store(url)
    with admin.engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    store = Store(f"{url}{sep}options=-csearch_path%3D{schema}")
    store.upgrade()

    def drop():
        store.dispose()
        with admin.engine.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    return store, drop


def run_one(store, data: bytes, filename: str, *, rows: int, expected_lines: list[int], expected_lost: int) -> dict:
    import_organisations(store, now=NOW, **org_tree(20))
    t = time.perf_counter()
    parsed = parse_roster(data, filename)
    parse_s = time.perf_counter() - t

    t = time.perf_counter()
    report = import_roster(store, now=NOW, base_committee_id=BASE, rows_source=parsed.source(), accept_valid_rows=True)
    import_s = time.perf_counter() - t

    t = time.perf_counter()
    again = import_roster(store, now=NOW, base_committee_id=BASE, rows_source=parsed.source(), accept_valid_rows=True)
    reimport_s = time.perf_counter() - t

    # The same file with every phone number edited: every valid row is an UPDATE.
    edited = parsed.source()
    edited["rows"] = [{**r, "phone": f"1390{r['line']:07d}"} for r in edited["rows"]]
    t = time.perf_counter()
    changed = import_roster(store, now=NOW, base_committee_id=BASE, rows_source=edited, accept_valid_rows=True)
    update_s = time.perf_counter() - t

    with store.reading() as s:
        stored = s.scalar(select(func.count()).select_from(Member))
        t = time.perf_counter()
        lost = len(lost_contact_members(s, BASE, AS_OF))
        lost_s = time.perf_counter() - t

    valid = rows - len(expected_lines)
    lines = [e.line for e in report.errors]
    checks = {
        "bad_lines_exact": lines == expected_lines,
        "one_reason_per_bad_row": all(len(e.reasons) == 1 for e in report.errors),
        "created": report.created == valid,
        "stored": stored == valid,
        "reimport_all_unchanged": (again.created, again.updated, again.unchanged) == (0, 0, valid),
        "edited_all_updated": (changed.created, changed.updated, changed.unchanged) == (0, valid, 0),
        "lost_contact_count": lost == expected_lost,
    }
    return {
        "rows": report.rows, "valid": report.valid, "bad": len(lines), "created": report.created,
        "warnings": len(report.warnings), "lost_contact": lost,
        "parse_s": parse_s, "import_s": import_s, "reimport_unchanged_s": reimport_s, "reimport_updated_s": update_s,
        "lost_contact_query_s": lost_s,
        "checks": checks, "ok": all(checks.values()),
        "first_errors": [e.model_dump() for e in report.errors[:5]],
    }


TIMINGS = ("parse_s", "import_s", "reimport_unchanged_s", "reimport_updated_s", "lost_contact_query_s")


def summarise(samples: list[dict], rows: int) -> dict:
    """The median of each timing over the repeats (each on a fresh store), with rows per second from it."""
    out = {k: v for k, v in samples[-1].items() if k not in TIMINGS and k != "checks"}
    out["checks"] = {k: all(s["checks"][k] for s in samples) for k in samples[0]["checks"]}
    out["ok"] = all(s["ok"] for s in samples)
    for key in TIMINGS:
        values = sorted(s[key] for s in samples)
        out[key] = round(statistics.median(values), 3)
        out[key.replace("_s", "_samples_s")] = [round(v, 3) for v in values]
    for key, name in (("parse_s", "parse"), ("import_s", "import"), ("reimport_unchanged_s", "reimport_unchanged"),
                      ("reimport_updated_s", "reimport_updated")):
        out[f"{name}_rows_per_s"] = round(rows / out[key])
    out["parse_and_import_s"] = round(out["parse_s"] + out["import_s"], 3)
    return out


def markdown(result: dict) -> str:
    p = result["parameters"]
    env = result["environment"]
    out = ["# Roster import benchmark",
           "",
           f"{p['rows']:,} generated rows ({p['bad']} bad, lost-contact fraction {p['lost_fraction']}, seed "
           f"{p['seed']}), {p['branches']} branches under one base committee. Each backend and format: "
           f"{p['repeat']} runs, each on a fresh store; figures are medians. Run {result['run_at']} on "
           f"{env['machine']}, {env['cpus']} CPUs, Python {env['python']}, SQLite {env['sqlite']}, PostgreSQL "
           f"{env.get('postgresql', 'n/a')}.",
           "",
           "| backend | format | file | parse s | parse rows/s | import s | import rows/s | parse+import s | "
           "re-import unchanged s | re-import all updated s | bad lines found | checks |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in result["runs"]:
        if "error" in r:
            out.append(f"| {r['backend']} | {r['format']} | | | | | | | | | | error: {r['error']} |")
            continue
        verdict = "all passed" if r["ok"] else "FAILED: " + ", ".join(k for k, v in r["checks"].items() if not v)
        out.append(f"| {r['backend']} | {r['format']} | {r['file_kib']:,} KiB | {r['parse_s']} | "
                   f"{r['parse_rows_per_s']:,} | {r['import_s']} | {r['import_rows_per_s']:,} | "
                   f"{r['parse_and_import_s']} | {r['reimport_unchanged_s']} | {r['reimport_updated_s']} | "
                   f"{r['bad']} of {p['bad']} | {verdict} |")
    out += ["",
            f"Generating the roster took {result['generate_s']} s; writing it as CSV {result['write_csv_s']} s, as "
            f"XLSX {result['write_xlsx_s']} s (not part of the figures above).",
            "",
            "- **parse**: bytes to rows — format and encoding detection, header mapping, every cell to text "
            "(`casework.roster.parse_roster`).",
            "- **import**: the `import_roster` action into an empty store with `accept_valid_rows=True` — idempotency "
            "fingerprint of the rows, organisation tree and existing members loaded in bulk, every row checked, bulk "
            "INSERT in chunks of 500, audit event, commit.",
            "- **re-import unchanged**: the same rows again; every valid row found unchanged, nothing written but the "
            "audit event.",
            "- **re-import all updated**: the same rows with every phone number edited; every valid row an UPDATE.",
            "- **checks**: the report lists exactly the generated bad lines with one reason each; created, stored, "
            "unchanged and updated counts are exact; `lost_contact_members` finds exactly the generated lost-contact "
            "members among the valid rows.",
            ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10000)
    ap.add_argument("--bad", type=int, default=25)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--lost-fraction", type=float, default=0.3)
    ap.add_argument("--pg-url", default=os.environ.get("LOSTCONTACT_BENCH_PG_URL",
                                                       "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--repeat", type=int, default=3, help="runs per backend and format, each on a fresh store; "
                                                          "the figures are medians")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args(argv)

    branches = [f"BENCH_B{i:02d}" for i in range(1, 21)]
    t = time.perf_counter()
    sample = generate_sample(branches, args.rows, seed=args.seed, as_of=AS_OF, lost_fraction=args.lost_fraction,
                             bad_rows=args.bad)
    generate_s = time.perf_counter() - t
    expected_lines = sorted(sample.line_of(i) for i in sample.bad)
    expected_lost = len(sample.lost - set(sample.bad))

    env = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "cpus": os.cpu_count(),
           "machine": f"{platform.system()} {platform.machine()}"}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        csv_path = write_csv(sample.rows, workdir / "roster.csv")
        write_csv_s = time.perf_counter() - t
        t = time.perf_counter()
        xlsx_path = write_xlsx(sample.rows, workdir / "roster.xlsx")
        write_xlsx_s = time.perf_counter() - t
        files = {"csv": csv_path, "xlsx": xlsx_path}

        backends = [("sqlite", lambda label: sqlite_store(workdir, label))]
        if not args.no_pg:
            backends.append(("postgresql", lambda label: pg_store(args.pg_url, label)))
        for backend, open_store in backends:
            for fmt, path in files.items():
                print(f"{backend} {fmt} …", flush=True)
                entry = {"backend": backend, "format": fmt, "file_kib": round(path.stat().st_size / 1024),
                         "repeats": args.repeat}
                samples = []
                for n in range(args.repeat):
                    try:
                        store, close = open_store(f"{fmt}{n}")
                    except Exception as exc:  # noqa: BLE001 — report an unreachable server, do not hide it
                        entry["error"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                        break
                    try:
                        if backend == "postgresql" and "postgresql" not in env:
                            with store.engine.connect() as c:
                                env["postgresql"] = c.execute(text("SHOW server_version")).scalar()
                        samples.append(run_one(store, path.read_bytes(), path.name, rows=args.rows,
                                               expected_lines=expected_lines, expected_lost=expected_lost))
                    finally:
                        close()
                runs.append(entry)
                if "error" in entry:
                    print(f"  {entry['error']}", flush=True)
                    continue
                entry.update(summarise(samples, args.rows))
                print(f"  parse {entry['parse_s']} s, import {entry['import_s']} s "
                      f"({entry['import_rows_per_s']:,} rows/s), re-import {entry['reimport_unchanged_s']} s, "
                      f"updates {entry['reimport_updated_s']} s, bad lines {entry['bad']}, ok={entry['ok']}",
                      flush=True)

    result = {
        "benchmark": "roster_import",
        "run_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "parameters": {"rows": args.rows, "bad": args.bad, "seed": args.seed, "lost_fraction": args.lost_fraction,
                       "repeat": args.repeat, "as_of": AS_OF.isoformat(), "branches": len(branches)},
        "expected": {"bad_lines": expected_lines, "bad_kinds": {str(sample.line_of(i)): k
                                                                for i, k in sorted(sample.bad.items())},
                     "lost_contact": expected_lost},
        "generate_s": round(generate_s, 3), "write_csv_s": round(write_csv_s, 3),
        "write_xlsx_s": round(write_xlsx_s, 3),
        "environment": env,
        "runs": runs,
        "ok": bool(runs) and all(r.get("ok") for r in runs),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "roster_import.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "roster_import.md").write_text(markdown(result), encoding="utf-8")
    print(f"wrote {out / 'roster_import.json'} and {out / 'roster_import.md'}; ok={result['ok']}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
