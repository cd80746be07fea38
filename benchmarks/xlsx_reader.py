"""XLSX roster parsing: the hand-written stdlib reader (casework/roster.py at commit 2f240e4, taken from git) against
python-calamine with the extent check (casework/roster_read.py), interleaved on one generated 10,000-row roster, so
both see the same machine load. Checks that both give identical rows.

    .venv/bin/python benchmarks/xlsx_reader.py [--rows 10000] [--rounds 5]

Writes benchmarks/results/xlsx_reader.md."""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from casework.roster_read import parse_roster  # noqa: E402
from demo.sample_roster import generate_sample, write_xlsx  # noqa: E402

OLD_COMMIT = "2f240e4"


def old_reader(workdir: Path):
    source = subprocess.run(["git", "show", f"{OLD_COMMIT}:casework/roster.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    path = workdir / "old_roster.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("casework.old_roster", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "casework"
    sys.modules["casework.old_roster"] = module
    spec.loader.exec_module(module)
    return module.parse_roster


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        old = old_reader(work)
        sample = generate_sample([f"B{i:02d}" for i in range(20)], args.rows, seed=2026, as_of=dt.date(2026, 3, 7),
                                 bad_rows=25)
        data = write_xlsx(sample.rows, work / "roster.xlsx").read_bytes()
        before, after = [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            a = old(data, "roster.xlsx")
            before.append(time.perf_counter() - t)
            t = time.perf_counter()
            b = parse_roster(data, "roster.xlsx")
            after.append(time.perf_counter() - t)
    identical = a.rows == b.rows and a.columns == b.columns
    load = os.getloadavg()[0]
    lines = [
        "# XLSX roster parsing: hand-written reader vs python-calamine", "",
        f"Command: `.venv/bin/python benchmarks/xlsx_reader.py --rows {args.rows} --rounds {args.rounds}`", "",
        f"- when: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, {os.cpu_count()} "
        f"cores shared with other work (load average {load:.1f}: compare the two columns, not with other files)",
        f"- file: {args.rows:,} generated rows, {len(data) // 1024:,} KiB; rounds interleaved",
        f"- identical rows and columns from both readers: {identical}", "",
        "| reader | median s | rows/s | samples s |", "|---|---:|---:|---|",
        f"| stdlib XML reader (commit {OLD_COMMIT}) | {statistics.median(before):.3f} | "
        f"{args.rows / statistics.median(before):,.0f} | {', '.join(f'{x:.3f}' for x in sorted(before))} |",
        f"| python-calamine + extent check (now) | {statistics.median(after):.3f} | "
        f"{args.rows / statistics.median(after):,.0f} | {', '.join(f'{x:.3f}' for x in sorted(after))} |",
    ]
    out = ROOT / "benchmarks" / "results" / "xlsx_reader.md"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
