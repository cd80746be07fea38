"""Campaigns (集中排查)."""
from __future__ import annotations

import click

from .. import output
from ..main import action_options, pass_env
from ..params import DAY, KEY_VALUE


@click.group()
def campaign() -> None:
    """集中排查。"""


@campaign.command("start")
@click.option("--id", "campaign_id", required=True, help="排查活动编号，如 C2026")
@click.option("--org", required=True, metavar="ORG", help="发起排查的基层党委（组织编号）")
@click.option("--name", required=True, help="排查活动名称")
@click.option("--start-date", required=True, type=DAY, help="排查开始日期：此日往前六个月未联系的党员为失联党员")
@click.option("--phase", "phases", multiple=True, type=KEY_VALUE, metavar="PHASE=DEADLINE",
              help="阶段截止时间，可重复：verify|search|report|dispose=YYYY-MM-DD（当日24时止）或 YYYY-MM-DDTHH:MM")
@action_options
@pass_env
def start(env, campaign_id: str, org: str, name: str, start_date, phases) -> None:
    """发起集中排查：为开始日期时的每名失联党员立案，直接联系查找进入党支部待办。"""
    from casework.campaigns import start_campaign

    result = env.act(start_campaign, campaign_id=campaign_id, org_id=org, name=name,
                     start_date=start_date.isoformat(), phases=dict(phases))
    output.emit(env, result, _render)


def _render(r: dict) -> None:
    output.out(f"排查活动 {r['campaign_id']} 已发起（开始日期 {r['start_date']}）：立案{r['cases_opened']}件")
    for case_id in r["case_ids"]:
        output.out(f"  {case_id}")
    for s in r.get("skipped") or []:
        output.out(f"  未立案：{s['name']}（{s['reason']}）")
