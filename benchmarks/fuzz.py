"""The long property-based run of the entrance (tests/casework/test_hostile_fuzz.py with the "full" hypothesis profile:
5,000 examples for each pure test, 500 for each test against SQLite and PostgreSQL), and its result.

    .venv/bin/python benchmarks/fuzz.py            # about 15-30 minutes on two cores

Writes benchmarks/results/fuzz.md (the command, the examples per test, the time, pass or the failing example).
Exits with pytest's code."""
from __future__ import annotations

import datetime as dt
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "fuzz.md"
TEST = "tests/casework/test_hostile_fuzz.py"


def main() -> int:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "full"}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--hypothesis-show-statistics", TEST], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    summary = next((ln for ln in reversed(output.splitlines()) if re.search(r"\d+ (passed|failed)", ln)), "?")
    stats = [ln.strip() for ln in output.splitlines()
             if ln.strip().startswith(("- ", "tests/casework/test_hostile_fuzz.py::")) and "hypothesis" not in ln]
    failures = [ln for ln in output.splitlines() if ln.startswith(("E ", "FAILED"))][:60]
    lines = [
        "# Property-based run of the entrance (hypothesis, profile \"full\")", "",
        f"Command: `.venv/bin/python benchmarks/fuzz.py` (= `HYPOTHESIS_PROFILE=full .venv/bin/python -m pytest {TEST}`)",
        "", f"- when: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, code at commit {commit}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}",
        f"- result: **{summary.strip()}** in {seconds / 60:.1f} min (exit code {done.returncode})",
        "- examples: 5,000 per pure test (any bytes; spreadsheet-shaped bytes; CSV rosters with hostile cells), "
        "500 per store test and backend (roster import; an action's texts; a campaign start), SQLite and PostgreSQL",
        "", "## Statistics (hypothesis)", "", "```", *stats, "```",
    ]
    if failures:
        lines += ["", "## Failures", "", "```", *failures, "```"]
    RESULT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(summary)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
