"""Follow-ups that fire on time (two-year review, end of a correction period, transfer receipts, phase deadlines),
and transfer letters with their receipts."""
from __future__ import annotations

import click

from .. import output
from ..main import action_options, pass_env, store_options
from ..params import DAY


@click.group()
def followups() -> None:
    """到期的后续事项。"""


@followups.command("run")
@store_options(now=True)
@pass_env
def followups_run(env) -> None:
    """触发所有已到期的后续事项（每项只触发一次，可重复运行）：停止党籍满两年复查、限期改正期满、
    介绍信回执逾期、排查阶段截止。用 --now 模拟时间推移。"""
    from casework.followups import fire_due
    from models.record_views import FiredList

    now = env.clock()
    fired = fire_due(env.store(), now)
    output.emit(env, FiredList(now=now.isoformat(), count=len(fired), fired=fired), _render_fired)


def _render_fired(r: dict) -> None:
    output.out(f"截至 {output.local_time(r['now'])}，触发到期事项{r['count']}项" + ("：" if r["fired"] else ""))
    for f in r["fired"]:
        output.out(f"- {f['followup_id']}：{f.get('note') or ''}" + ("" if f.get("fired", True) else "（此前已办理）"))
        case = f.get("case")
        if not case and f.get("opened_step"):
            output.out(f"  已开启待办 {f['opened_step']}")
        if case:
            output.out(f"  案件 {case['case_id']}：{case['state_label']}（统计栏目 {case['column']}）")
            if case.get("open_step"):
                output.render_step(case["open_step"], prefix="  下一步")


@click.group()
def transfer() -> None:
    """组织关系介绍信及其回执（逾期未收到回执即按“口袋”党员查找）。"""


@transfer.command("issue")
@click.argument("letter_id", metavar="LETTER")
@click.option("--member", "member", required=True, help="党员：编号或身份证号")
@click.option("--to", "receiving_org", required=True, help="接收党组织（名称）")
@click.option("--issued-on", type=DAY, help="开具日期（默认为今天，或 --now 的日期）")
@click.option("--validity-days", required=True, type=int, help="介绍信有效期（天）")
@action_options
@pass_env
def transfer_issue(env, letter_id, member, receiving_org, issued_on, validity_days) -> None:
    """登记开具的组织关系介绍信；回执期限为有效期届满后一个月。"""
    from casework.followups import issue_transfer_letter
    from casework.queries import member_id_of

    with env.reading() as s:
        mid = member_id_of(s, member)
    result = env.act(issue_transfer_letter, letter_id=letter_id, member_id=mid, receiving_org=receiving_org,
                     issued_on=(issued_on or env.today()).isoformat(), validity_days=validity_days)
    output.emit(env, result, lambda r: output.out(f"介绍信 {r['letter_id']} 已登记，回执应于 {r['receipt_due']} 前收回"))


@transfer.command("receipt")
@click.argument("letter_id", metavar="LETTER")
@click.option("--received-on", type=DAY, help="收到回执的日期（默认为今天，或 --now 的日期）")
@action_options
@pass_env
def transfer_receipt(env, letter_id, received_on) -> None:
    """登记收到的介绍信回执（回执逾期提醒随之取消）。"""
    from casework.followups import record_receipt

    result = env.act(record_receipt, letter_id=letter_id, received_on=(received_on or env.today()).isoformat())
    output.emit(env, result, lambda r: output.out(f"介绍信 {r['letter_id']} 的回执已于 {r['receipt_on']} 收到"))
