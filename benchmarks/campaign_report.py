"""The Markdown of benchmarks/campaign.py's result: every figure beside the issue's target (issue 22)."""
from __future__ import annotations


def _ms(seconds) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def _met(ok) -> str:
    return "—" if ok is None else ("met" if ok else "**missed**")


def _cpu(c: dict) -> str:
    if "cpu_s_here" not in c:
        return ""
    return (f" (CPU: {c['cpu_s_here']} s in this process, {c['cpu_s_postgres_all_processes']} s in all of "
            f"PostgreSQL's processes, others' work included)")


def _spread(d: dict) -> str:
    return f"{_ms(d['p50'])} / {_ms(d['p95'])} / {_ms(d['p99'])} (n={d['n']})"


def mode_lines(m: dict) -> list[str]:
    c, d = m["campaign_start"], m["decisions"]
    full = c["cases"] >= 10_000
    scaled = "" if full else f" (set for 10,000; this run opened {c['cases']:,})"
    r = m["roster_import"]
    title = {"postgres": "PostgreSQL, Prefect server on PostgreSQL, our runner",
             "postgres-store": "PostgreSQL, the store alone (no Prefect server, no runner)",
             "sqlite": "SQLite (store and Prefect server), one runner thread"}.get(m["mode"], m["mode"])
    lines = [f"## {title}: {r['members']:,} members, {c['cases']:,} cases (+{m['waiting_cases'] - c['cases']} pilot "
             f"cases)" + (f", runner threads {m['runner_threads']}" if m.get("with_runner") else ""), "",
             f"`.venv/bin/python {m['command']}` at commit {m['commit']}, {m['when']}; machine speed (a fixed "
             f"Python loop, lower is faster) {m['machine_speed_s']} s; load average before "
             f"{[round(x, 2) for x in m['load_before']]}, after {[round(x, 2) for x in m['load_after']]}.", "",
             "| phase | wall | rate | target | |", "|---|---|---|---|---|",
             f"| roster import | {r['seconds']} s | {r['members_per_s']:,} members/s | — | |",
             f"| campaign start → every case in its inbox{_cpu(c)} | {c['in_inboxes_s']} s | "
             f"{c['cases_per_s']:,} cases/s | "
             f"≤ 10 s{scaled} | {_met(c['in_inboxes_s'] <= 10 if full else c['cases_per_s'] >= 1000)} |"]
    if "all_suspended_s" in c:
        lines.append(f"| campaign start → every run suspended at its first step | {c['all_suspended_s']} s | "
                     f"{c['runs_per_s']} runs/s | ≤ 600 s{scaled} | "
                     f"{_met(c['all_suspended_s'] <= 600 if full else c['runs_per_s'] >= 10_000 / 600)} |")
    per = (f" (CPU here {d['cpu_s_here_per_decision'] * 1000:.0f} ms a decision with its inbox read)"
           if "cpu_s_here_per_decision" in d else "")
    lines.append(f"| {d['n']:,} decisions played (one after another){per} | {d['played_s']} s | "
                 f"{d['decisions_per_s']} decisions/s | — | |")
    if "all_suspended_s" in d:
        lines.append(f"| … → every run suspended again | {d['all_suspended_s']} s | {d['runs_per_s']} runs/s | — | |")
    lines += ["", "| latency | p50 / p95 / p99 | target | |", "|---|---|---|---|",
              f"| decision → next step in the inbox (decision committed, inbox read) | {_spread(d['to_inbox'])} | "
              f"p95 ≤ 50 ms | {_met(d['to_inbox']['p95'] <= 0.05)} |"]
    if "lone_decision" in m:
        lone = m["lone_decision"]
        lines += [f"| decision → run suspended, decisions arriving faster than the runner (backlog) | "
                  f"{_spread(d['to_suspended_with_backlog'])} | — | |",
                  f"| lone decision → next step in the inbox | {_spread(lone['to_inbox'])} | p95 ≤ 50 ms | "
                  f"{_met(lone['to_inbox']['p95'] is not None and lone['to_inbox']['p95'] <= 0.05)} |",
                  f"| lone decision → run suspended | {_spread(lone['to_suspended'])} | p95 ≤ 0.5 s | "
                  f"{_met(lone['to_suspended']['p95'] is not None and lone['to_suspended']['p95'] <= 0.5)} |",
                  f"| campaign start → run suspended at its first step | {_spread(c['start_to_suspended'])} | — | |"]
    lines += ["", "| query at this size | p50 | p95 | p50 CPU in this process | target | |",
              "|---|---|---|---|---|---|"]
    for name, q in m["queries"].items():
        lines.append(f"| {name} | {_ms(q['p50_s'])} | {_ms(q['p95_s'])} | {_ms(q.get('cpu_here_p50_s'))} | p95 ≤ 50 ms "
                     f"| {_met(q['p95_s'] <= 0.05)} |")
    if "idle_at_100_waiting" in m:
        a, b = m["idle_at_100_waiting"], m["idle_at_all_waiting"]
        lines += ["", f"| idle: resident memory, CPU | at 100 waiting cases | at {m['waiting_cases']:,} waiting | "
                  "target | |", "|---|---|---|---|---|"]
        for role in a:
            flat_mem = b[role]["rss_mb"] <= a[role]["rss_mb"] * 1.25 + 20
            flat_cpu = b[role]["idle_cpu_pct"] <= a[role]["idle_cpu_pct"] * 1.5 + 1
            lines.append(f"| {role} | {a[role]['rss_mb']} MB, {a[role]['idle_cpu_pct']} % | {b[role]['rss_mb']} MB, "
                         f"{b[role]['idle_cpu_pct']} % | flat | memory {_met(flat_mem)}, CPU {_met(flat_cpu)} |")
    lines += ["", "Peak resident memory (MB, sampled every 0.5 s; process trees; PostgreSQL's figures count the "
              f"shared buffers each process touched): {m['peak_rss_mb']}", ""]
    for key, label in (("api_calls_first_segment", "start → first suspend"),
                       ("api_calls_resume_segment", "resume → next suspend")):
        if key not in m:
            continue
        calls = m[key]
        lines.append(f"Prefect API calls per segment, {label}: **{calls['per_segment']}** ({calls['calls']:,} calls "
                     f"for {calls['segments']:,} segments; from the server's access log): "
                     + ", ".join(f"`{k}` {v}" for k, v in calls["by_endpoint_per_segment"].items()))
        lines.append("")
    if "pgbench" in m:
        lines.append(f"pgbench on the same PostgreSQL ({m['pgbench']['command']}): {m['pgbench']['tps']} TPS; our "
                     f"store transitions (decisions committed, each one casework transaction with its inbox read) "
                     f"{d['decisions_per_s']}/s = **{m['store_vs_pgbench']}** of pgbench's TPS.")
        lines.append("")
    return lines


def markdown(r: dict) -> str:
    lines = ["# Campaign benchmark (issue 22)", "",
             "Each section names the command and commit that produced it (a shared 2-core machine: other work was "
             "running; the load average is given). Targets of issue 22 beside each figure; a target set for 10,000 "
             "cases is judged by its rate when the run was smaller.", ""]
    for m in r["modes"].values():
        lines += mode_lines(m)
    return "\n".join(lines) + "\n"
