"""`lostcontact sweep`: the daily sweep and the repair, by hand (`tasks.repair.sweep_by_hand`).

The `daily` deployment does the same on its schedule; run this after the Prefect database was lost or while nothing
runs the schedule: every follow-up that came due fires (each once), follow-ups without a Prefect run get one, and
every case whose run is behind the store is queued again for the case runner (`--drain` executes them here)."""
from __future__ import annotations

import os

import click

from .. import output
from ..main import pass_env, store_options


@click.command()
@click.option("--drain", is_flag=True, help="随后在本进程内推进重新排队的案件流程，直到全部推进完毕（无需另启执行器）")
@click.option("--drain-timeout", type=click.IntRange(1, 86400), default=600, show_default=True,
              help="--drain 最长等待秒数")
@store_options(now=True)
@pass_env
def sweep(env, drain: bool, drain_timeout: int) -> None:
    """手动运行每日巡检：触发已到期的后续事项，为尚无流程运行的后续事项安排运行，并修复落后于案件库的案件流程。

    修复和安排运行需要Prefect服务（PREFECT_API_URL）；未设置时只触发到期事项。可重复运行，每项只办理一次。"""
    from prefect.settings import PREFECT_API_URL

    from tasks.repair import sweep_by_hand

    store = env.store()
    os.environ["LOSTCONTACT_DB_URL"] = store.url  # the tasks find the store through it, as in the runner
    with_prefect = bool(PREFECT_API_URL.value())
    if not with_prefect:
        output.err("提示：未设置PREFECT_API_URL，只触发到期事项；安排后续事项的流程运行和修复案件流程需要Prefect服务")
    result = sweep_by_hand(store, now=env.clock(), with_prefect=with_prefect)
    if drain and with_prefect:
        from caserunner.runner import CaseRunner

        runner = CaseRunner(store, runner_id="sweep", threads=1 if store.is_sqlite else 4)
        try:
            result["drained"] = runner.drain(timeout=drain_timeout)
        finally:
            runner.close()
    output.emit(env, result, _render)


def _render(r: dict) -> None:
    fired = [f for f in r["fired"] if f.get("fired")]
    output.out(f"截至 {output.local_time(r['now'])}：触发到期事项{len(fired)}项")
    for f in fired:
        output.out(f"- {f['followup_id']}：{f.get('note') or ''}")
    for f in r["fired"]:
        if f.get("error"):
            output.out(f"- {f['followup_id']}：未能办理（{f['error']['message']}）")
    if r.get("scheduled") is not None:
        output.out(f"为后续事项安排流程运行{r['scheduled']['created']}个，撤销{r['scheduled']['cancelled']}个")
    if r.get("repaired") is not None:
        rep = r["repaired"]
        output.out(f"检查案件流程{rep['checked']}个：落后于案件库、已重新排队{rep['requeued']}个"
                   f"（其中流程运行已丢失{rep['lost_runs']}个）")
    if "drained" in r:
        output.out(f"已在本进程内推进案件流程{r['drained']}段")
