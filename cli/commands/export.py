"""`lostcontact export forms`: the official papers, written by reports/ (listed only when reports/ is installed)."""
from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..main import now_option, pass_env, store_options
from ..params import DAY


@click.group()
def export() -> None:
    """导出表格文书。"""


@export.command("forms")
@click.option("--org", required=True, metavar="ORG", help="组织编号（含其下级组织）")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="输出目录（不存在时创建）")
@click.option("--campaign", metavar="ID", help="只导出此排查活动")
@click.option("--table", "table_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="手工填写的统计表（JSON或CSV，同 stats check）；不指定时由案件计算。有误时不导出任何文件")
@click.option("--period", "period_label", help="统计表的统计时段，如 2026年第一季度")
@click.option("--leader", default="", help="统计表：分管领导")
@click.option("--filled-by", default="", help="统计表：填表人")
@click.option("--phone", default="", help="统计表：联系电话")
@click.option("--filled-on", type=DAY, help="统计表：填表日期（默认为今天，或 --now 的日期）")
@click.option("--pdf", is_flag=True, help="同时打印PDF（需要无头Chromium）")
@store_options(actor=True)
@now_option()
@pass_env
def export_forms(env, org: str, out_dir: Path, campaign: str | None, table_file: Path | None, period_label,
                 leader, filled_by, phone, filled_on, pdf) -> None:
    """导出全程纪实表（一人一档）、失联党员名册、仍无法取得联系党员登记表、工作台账和统计表（HTML与XLSX）。"""
    try:
        from reports import export_forms as write_forms
    except ImportError as exc:
        raise click.ClickException(f"报表模块尚不可用：{exc}") from None

    table = None
    if table_file is not None:
        from .views import _read_tables

        tables = _read_tables(table_file)
        if len(tables) != 1:
            raise click.BadParameter("导出时只能指定一张统计表", param_hint="--table")
        table = {k: int(str(v).strip()) if str(v).strip().isdigit() else v for k, v in tables[0][1].items()}
    from casework.access import audit_read
    from casework.orgs import get_org
    from models.admin_views import FormsExported

    from .views import scoped_orgs

    with env.reading() as s:
        get_org(s, org)  # refused before any folder is made
        scoped_orgs(env, s, org)  # and, with --as, unless the person may see the organisation
        written = write_forms(s, org, out_dir, campaign_id=campaign, table=table, period_label=period_label,
                              leader=leader, filled_by=filled_by, phone=phone, filled_on=filled_on or env.today(),
                              pdf=pdf, now=env.clock())
    files = {k: [str(p) for p in v] for k, v in written.items()}
    audit_read(env.store(), env.cli_actor(), env.clock(), what="export:forms", org_id=org, campaign=campaign,
               files=sum(len(v) for v in files.values()))
    output.emit(env, FormsExported(org_id=org, campaign_id=campaign, out_dir=str(out_dir),
                                   count=sum(len(v) for v in files.values()), files=files), _render)


def _render(r: dict) -> None:
    output.out(f"已导出{r['count']}个文件到 {r['out_dir']}：")
    labels = {"dossiers": "全程纪实表", "roster": "失联党员名册", "unreachable": "仍无法取得联系党员登记表",
              "ledger": "工作台账", "statistics": "统计表"}
    for key, paths in r["files"].items():
        output.out(f"  {labels.get(key, key)}：{len(paths)}个")
        for p in paths:
            output.out(f"    {p}")
