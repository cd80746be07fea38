"""Reading the store: cases and the full-process record, inboxes, the ledger, the register of members still
unreachable, the out-of-control list, the statistics table, and checking a hand-typed statistics table."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import click

from .. import output
from ..main import json_option, pass_env, store_options
from ..params import DAY


def _state_choice() -> click.Choice:
    from models.codes import CaseState

    return click.Choice([s.value for s in CaseState])


# ---------------------------------------------------------------- cases

@click.group()
def cases() -> None:
    """案件：列表和全程纪实。"""


@cases.command("list")
@click.option("--org", metavar="ORG", help="组织编号（含其下级组织）；默认为全部")
@click.option("--campaign", metavar="ID", help="只列此排查活动的案件")
@click.option("--state", type=_state_choice(), help="只列此状态的案件")
@store_options(actor=True)
@pass_env
def cases_list(env, org, campaign, state) -> None:
    """列出案件及其所处阶段（即失联党员工作台账的各行）。指定 --as 时只列此人可见的案件。"""
    from casework.queries import case_list, ledger_of

    with env.reading() as s:
        org_ids = scoped_orgs(env, s, org)
        rows = ledger_of(s, org_ids, campaign)
    audit_list(env, "cases", org_ids, rows.count)
    output.emit(env, case_list(rows, state), _render_cases)


def _render_cases(r: dict) -> None:
    output.print_table(
        ["案件编号", "姓名", "党支部", "状态", "查找阶段", "处置", "栏目", "失联时间"],
        [[c["case_id"], c["name"], c["branch_name"] or c["branch_id"], c["state_label"], c["search_stage"],
          _disposition(c), c["column"], c["lost_contact_time"]] for c in r["cases"]],
        empty="（没有案件）", limits=[None, 12, 16, 24, 10, 30, None, None])
    if r["cases"]:
        output.out(f"共{r['count']}件")


def _disposition(row: dict) -> str:
    if not row.get("disposition"):
        return ""
    status = row.get("disposition_status")
    return f"{row['disposition']}（{output.DISPOSITION_STATUS.get(status, status)}）"


@cases.command("show")
@click.argument("case_id", metavar="CASE")
@store_options(now=True, actor=True)
@pass_env
def cases_show(env, case_id) -> None:
    """一人一档：案件的全程纪实（党员信息、每次查找、每个审批步骤、处置、材料、移送、后续事项）。
    指定 --as 时只显示此人有权查看的案件；每次查看都记入审计日志（命令行、系统用户）。"""
    from casework.access import audit_read, require_case
    from casework.queries import case_record

    actor = env.cli_actor()
    with env.reading() as s:
        if actor.person_id:
            require_case(s, actor, case_id)
        d = case_record(s, case_id, now=env.clock())
    audit_read(env.store(), actor, env.clock(), what="case", case_id=case_id)
    output.emit(env, d, _render_dossier)


def scoped_orgs(env, session, org: str | None) -> list[str]:
    """The organisations a listing covers: the one named (or every root), cut to what `--as` may see."""
    from casework.access import acting_orgs, require_org
    from casework.queries import org_scope

    actor = env.cli_actor()
    if not actor.person_id:
        return org_scope(session, org)
    if org:
        require_org(session, actor, org)
        return [org]
    return sorted(acting_orgs(session, actor))


def audit_list(env, what: str, org_ids: list[str], rows: int) -> None:
    """Listings carry names and ID numbers: who read them, through the CLI, is on record."""
    from casework.access import audit_read

    audit_read(env.store(), env.cli_actor(), env.clock(), what=what, org_id=",".join(org_ids)[:64], rows=rows)


def _render_dossier(d: dict) -> None:
    m = d["member"]
    output.out(f"案件 {d['case_id']}" + (f"（排查活动 {d['campaign_id']}）" if d["campaign_id"] else "")
               + f"：{d['state_label']}，统计栏目 {d['column']}，版本 {d['version']}")
    output.out("")
    output.fields([
        ("姓名", m["name"]), ("性别", m["gender"]), ("出生年月", m["birth_date"]), ("身份证号", m["id_number"]),
        ("党员类别", m["kind"]), ("入党时间", m["joined_on"]), ("所在党支部", f"{m['branch_name']}（{m['branch_id']}）"),
        ("联系电话", m["phone"]), ("最近联系日期", m["last_contact_on"] or "无联系记录"),
        ("失去联系情形", m["situation_display"]), ("失联时间", d["lost_contact_time"]),
        ("失联原因", d["lost_reasons"]), ("失联期间表现", d["conduct"]),
        ("停止党籍时间", output.local_time(d["suspended_at"])),
    ])
    output.out("")
    output.out("查找记录：")
    output.print_table(["时间", "阶段", "方式", "查找过程", "证明人", "结果", "备注"],
                       [[output.local_time(a["attempted_at"]), a["stage_label"], a["method"], a["description"],
                         a["witness"], a["outcome_label"], a["remark"]] for a in d["attempts"]],
                       limits=[None, None, 16, 40, 10, None, 20])
    output.out("")
    output.out("办理步骤：")
    output.print_table(["待办编号", "事项", "办理主体", "状态", "办理人", "意见", "办结时间"],
                       [[s["step_id"], s["title"], f"{s['body_label']}（{s['org_id']}）", s["status_label"],
                         s["decided_by"], s["opinion"], output.local_time(s["closed_at"])] for s in d["steps"]],
                       limits=[None, 30, 30, None, 10, 40, None])
    if d["dispositions"]:
        output.out("")
        output.out("处置：")
        output.print_table(["编号", "处置方式", "状态", "依据", "生效时间"],
                           [[x["disposition_id"], x["title"], output.DISPOSITION_STATUS.get(x["status"], x["status"]),
                             x["grounds"], output.local_time(x["effective_at"])] for x in d["dispositions"]],
                           limits=[None, 36, None, 40, None])
    if d["materials"]:
        output.out("")
        output.out("归档材料：")
        output.print_table(["处置", "材料", "文号/存档位置", "归档人", "时间"],
                           [[x["disposition_id"], x["kind"], x["reference"], x["filed_by"],
                             output.local_time(x["filed_at"])] for x in d["materials"]])
    if d["referrals"]:
        output.out("")
        output.out("移送：")
        output.print_table(["移送对象", "问题线索", "时间"],
                           [[x["target_label"], x["summary"], output.local_time(x["referred_at"])]
                            for x in d["referrals"]])
    if d["followups"]:
        output.out("")
        output.out("后续事项：")
        output.print_table(["编号", "事项", "到期时间", "状态", "说明"],
                           [[f["followup_id"], f["kind_label"], output.local_time(f["due_at"]),
                             output.FOLLOWUP_STATUS.get(f["status"], f["status"]), f["note"]]
                            for f in d["followups"]])
    open_steps = [s for s in d["steps"] if s["status"] == "open"]
    output.out("")
    output.render_step(open_steps[-1] if open_steps else None, prefix="当前待办")


# ---------------------------------------------------------------- inbox

@click.command()
@click.option("--org", metavar="ORG", help="查看此组织的待办（不指定时查看 --as 人员所任职各组织的待办）")
@store_options(now=True, actor=True)
@pass_env
def inbox(env, org) -> None:
    """待办：某人（--as）或某组织（--org）待办理的事项，按期限排序，注明是否逾期。"""
    from casework.queries import inbox_of

    if not org and not env.actor:
        raise click.UsageError("须指明 --as PERSON（某人的待办）或 --org ORG（某组织的待办）")
    with env.reading() as s:
        box = inbox_of(s, now=env.clock(), org_id=org, person_id=env.actor)
    output.emit(env, box, _render_inbox)


def _render_inbox(r: dict) -> None:
    who = f"组织 {r['org_id']}" if r["org_id"] else f"{r['person_id']}"
    output.out(f"{who} 的待办（{r['count']}项，其中逾期{r['late']}项）：")
    output.print_table(["待办编号", "案件", "党员", "事项", "办理主体", "期限", "已等待", "逾期"],
                       [[i["step_id"], i["case_id"], i["member_name"], i["title"],
                         f"{i['body_label']}（{i['org_id']}）", output.local_time(i["due_at"]), f"{i['age_days']}天",
                         "逾期" if i["late"] else ""] for i in r["items"]],
                       empty="（没有待办）", limits=[None, None, 12, 36, 30, None, None, None])


# ---------------------------------------------------------------- ledger, register, out of control

@click.command()
@click.option("--org", metavar="ORG", help="组织编号（含其下级组织）；默认为全部")
@click.option("--campaign", metavar="ID", help="只列此排查活动")
@store_options(actor=True)
@pass_env
def ledger(env, org, campaign) -> None:
    """失联党员工作台账：每名失联党员的基本情况、查找和处置进展。"""
    from casework.queries import ledger_of

    with env.reading() as s:
        org_ids = scoped_orgs(env, s, org)
        rows = ledger_of(s, org_ids, campaign)
    audit_list(env, "ledger", org_ids, rows.count)
    output.emit(env, rows, lambda r:
                output.print_table(
                    ["案件编号", "姓名", "性别", "出生年月", "身份证号", "党支部", "党员类别", "最近联系", "失联情形",
                     "失联时间", "查找结果", "处置", "栏目"],
                    [[x["case_id"], x["name"], x["gender"], x["birth_date"], x["id_number"],
                      x["branch_name"] or x["branch_id"], x["kind"], x["last_contact_on"], x["situation_display"],
                      x["lost_contact_time"], x["contact"], _disposition(x), x["column"]] for x in r["rows"]],
                    empty="（台账为空）", limits=[None, 12, None, None, None, 16, None, None, 16, None, 16, 30, None]))


@click.command()
@click.option("--org", metavar="ORG", help="组织编号（含其下级组织）；默认为全部")
@click.option("--campaign", metavar="ID", help="只列此排查活动")
@store_options(actor=True)
@pass_env
def unreachable(env, org, campaign) -> None:
    """经查找仍然无法取得联系党员登记表。"""
    from casework.queries import register_of

    with env.reading() as s:
        org_ids = scoped_orgs(env, s, org)
        rows = register_of(s, org_ids, campaign)
    audit_list(env, "unreachable", org_ids, rows.count)
    output.emit(env, rows, lambda r:
                output.print_table(
                    ["案件编号", "姓名", "性别", "身份证号", "党支部", "党组织类别", "职业", "失联情形", "失联时间", "状态",
                     "栏目"],
                    [[x["case_id"], x["name"], x["gender"], x["id_number"], x["branch_name"] or x["branch_id"],
                      x["org_category_display"], x["occupation_display"], x["situation_display"],
                      x["lost_contact_time"], x["state_label"], x["column"]] for x in r["rows"]],
                    empty="（无）", limits=[None, 12, None, None, 16, 14, 20, 16, None, 24, None]))


@click.command("out-of-control")
@click.option("--org", required=True, metavar="ORG", help="组织编号（含其下级组织）")
@click.option("--as-of", type=DAY, help="截至日期（默认为今天，或 --now 的日期）")
@store_options(now=True, actor=True)
@pass_env
def out_of_control(env, org, as_of) -> None:
    """失控党员名单：外出一个月以上未向党支部报告的党员，应主动联系。"""
    from casework.queries import out_of_control_of

    day = as_of or env.today()
    with env.reading() as s:
        scoped_orgs(env, s, org)
        rows = out_of_control_of(s, org, day)
    audit_list(env, "out_of_control", [org], rows.count)
    output.emit(env, rows, lambda r: (
        output.out(f"截至 {r['as_of']}，{r['org_id']} 的失控党员（{r['count']}人）："),
        output.print_table(["姓名", "性别", "身份证号", "党支部", "联系电话", "备用联系人", "备注"],
                           [[x["name"], x["gender"], x["id_number"], x["branch_id"], x["phone"], x["backup_contact"],
                             x["remarks"]] for x in r["members"]], empty="（无）")))


# ---------------------------------------------------------------- statistics

@click.group(invoke_without_command=True)
@click.option("--org", metavar="ORG", help="组织编号（含其下级组织）；默认为全部")
@click.option("--campaign", metavar="ID", help="只统计此排查活动")
@click.option("--as-of", "as_of", metavar="DATE|TIME",
              help="统计时点：日期指该日24时，时间按北京时间（默认为当前，或 --now）")
@store_options(now=True)
@click.pass_context
def stats(ctx, org, campaign, as_of) -> None:
    """统计表（附件5，A-X栏），由案件逐件计入，六项关系必然成立。子命令 check 校验手工填写的统计表。"""
    if ctx.invoked_subcommand:
        return
    from casework.queries import org_scope, statistics_table

    from ..main import env_of

    env = env_of(ctx)
    moment = _as_of(as_of) if as_of else env.now
    with env.reading() as s:
        table = statistics_table(s, org_scope(s, org), campaign_id=campaign, as_of=moment)
    output.emit(env, table, _render_stats)


def _as_of(text: str) -> dt.datetime:
    from models.timing import LOCAL_TZ, local_midnight

    text = text.strip()
    try:
        if len(text) == 10:
            return local_midnight(dt.date.fromisoformat(text) + dt.timedelta(days=1))
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"“{text}”不是有效的日期或时间", param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


_INDENT = {"D": 1, "E": 1, "F": 1, "H": 1, "I": 1, "J": 1, "K": 1, "L": 1, "Q": 1, "R": 1, "T": 1, "U": 1,
           "C": 0, "G": 0, "M": 0, "N": 0, "P": 0, "S": 0, "V": 0, "W": 0}


def _render_stats(r: dict) -> None:
    where = "、".join(r["org_ids"]) or "（无组织）"
    when = output.local_time(r["as_of"]) if r["as_of"] else "当前"
    output.out(f"与党组织失去联系党员规范管理和组织处置有关情况统计表（{where}"
               + (f"，排查活动 {r['campaign_id']}" if r["campaign_id"] else "") + f"，截至{when}）")
    output.print_table(["栏目", "项目", "人数"],
                       [[k, "  " * _INDENT.get(k, 0) + r["headings"][k], v] for k, v in r["table"].items()])
    if r["problems"]:
        for p in r["problems"]:
            output.err(p)
    else:
        output.out("校验：A＝B+O+X；B＝C+G+M+N；G＝H+I+J+K+L；O＝P+S+V+W；P＝Q+R；S＝T+U 均成立")


@stats.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option()
@pass_env
def stats_check(env, file: Path) -> None:
    """校验手工填写的统计表（JSON或CSV）：列出每一处不成立的关系；有误时退出码为3。

    JSON：{"A": 10, "B": 6, ...}，或多张表 [{"label": "某支部", "A": ...}, ...]。CSV：首行为栏目字母A-X、
    其下每行一张表（可有一列单位名称）；或每行“字母,人数”（中间可有项目名称列）。"""
    from models.errors import Refusal
    from models.record_views import CheckedTable, TableCheck
    from models.statistics import check_table

    tables = _read_tables(file)
    checked = [CheckedTable(label=label, table=table, problems=check_table(table)) for label, table in tables]
    bad = [c for c in checked if c.problems]
    if bad:
        lines = [f"{c.label}：{p}" if len(checked) > 1 else p for c in bad for p in c.problems]
        raise Refusal("table_inconsistent", f"统计表（附件5）{file.name}有误（{len(lines)}处）：\n" + "\n".join(lines),
                      "002", tables=[c.model_dump(mode="json") for c in checked], problems=lines)
    output.emit(env, TableCheck(file=file.name, count=len(checked), tables=checked),
                lambda r: output.out(f"统计表{r['file']}（{r['count']}张）：各栏目均已填写，六项关系均成立"))


_LETTER = re.compile(r"^\s*([A-X])(?=$|[\s（(:：.、\-])")


def _letter(text: Any) -> str | None:
    m = _LETTER.match(str(text or ""))
    return m.group(1) if m else None


def _read_tables(file: Path) -> list[tuple[str, dict[str, Any]]]:
    data = file.read_bytes()
    text = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise click.BadParameter(f"无法识别{file.name}的编码（应为UTF-8或GB18030）", param_hint="FILE")
    if file.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        return _json_tables(text, file.name)
    return _csv_tables(text, file.name)


def _json_tables(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"{name} 不是有效的JSON：{exc}", param_hint="FILE") from None
    if isinstance(data, dict) and isinstance(data.get("tables"), list):
        data = data["tables"]
    items = data if isinstance(data, list) else [data]
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise click.BadParameter(f"{name} 第{n}张表不是对象", param_hint="FILE")
        label = str(item.get("label") or item.get("单位") or f"第{n}张表")
        table = item.get("table") if isinstance(item.get("table"), dict) else item
        out.append((label, {k: v for k, v in table.items() if _letter(k) == k}))
    return out


def _csv_tables(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    for i, row in enumerate(rows):
        letters = {j: _letter(c) for j, c in enumerate(row) if _letter(c)}
        if len(letters) >= 3:  # wide: a header of letters, one table per row below it
            label_col = next((j for j in range(len(row)) if j not in letters), None)
            tables = []
            for n, data in enumerate(rows[i + 1:], start=1):
                label = data[label_col].strip() if label_col is not None and label_col < len(data) else ""
                tables.append((label or f"第{n}张表",
                               {letter: (data[j] if j < len(data) else None) for j, letter in letters.items()}))
            if not tables:
                raise click.BadParameter(f"{name} 只有表头，没有数据行", param_hint="FILE")
            return tables
    table = {}
    for row in rows:  # long: one letter per row, its count in the last filled cell
        letter = _letter(row[0]) if row else None
        if letter:
            filled = [c for c in row[1:] if c.strip()]
            table[letter] = filled[-1] if filled else None
    if not table:
        raise click.BadParameter(f"{name} 中没有找到栏目字母A-X", param_hint="FILE")
    return [(name, table)]
