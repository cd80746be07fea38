"""The actions on a case: search attempts, proposals, decisions at each level, the correction judgement, materials,
referrals, restoration. Each parses, calls one casework action as `--as` at `--now` under `--request-id`, prints."""
from __future__ import annotations

import click

from .. import output
from ..main import action_options, pass_env, store_options
from ..params import MOMENT, VOTE


def _choices(enum_cls) -> click.Choice:
    return click.Choice([m.value for m in enum_cls])


def _stage_choice():
    from models.codes import Stage

    return _choices(Stage)


def _outcome_choice():
    from models.codes import Outcome

    return _choices(Outcome)


def _disposition_choice():
    from models.catalogue import Disposition

    return _choices(Disposition)


def _target_choice():
    from models.codes import ReferralTarget

    return _choices(ReferralTarget)


# ---------------------------------------------------------------- search

@click.group()
def search() -> None:
    """查找联系：四个阶段（direct 直接联系 → network 人际查找 → department 部门查找 → other 其他方式）。"""


@search.command("record")
@click.argument("case_id", metavar="CASE")
@click.option("--stage", required=True, type=_stage_choice(), help="查找阶段")
@click.option("--method", default="", help="查找方式，如 打电话、亲属、公安户籍系统")
@click.option("--description", default="", help="查找过程")
@click.option("--witness", default="", help="证明人（签字人）")
@click.option("--outcome", required=True, type=_outcome_choice(),
              help="结果：contacted 取得联系 | not_found 未取得联系 | dead 确认已死亡 | managed_elsewhere 已纳入其他党组织管理")
@click.option("--remark", default="", help="备注")
@click.option("--continue-stage", is_flag=True, help="未取得联系但本阶段继续查找（不进入下一阶段）")
@click.option("--at", "attempted_at", type=MOMENT, help="查找时间（默认为当前时间；无时区时按北京时间）")
@click.option("--expected-version", type=int, help="案件版本：与当前版本不符时拒绝（防止覆盖他人的修改）")
@action_options
@pass_env
def search_record(env, case_id, stage, method, description, witness, outcome, remark, continue_stage, attempted_at,
                  expected_version) -> None:
    """登记一次查找：时间、过程、证明人、结果。未取得联系即结束本阶段并进入下一阶段（除非 --continue-stage）。"""
    from casework.search import record_attempt

    result = env.act(record_attempt, case_id=case_id, stage=stage, method=method, description=description,
                     witness=witness, outcome=outcome, remark=remark, concludes_stage=not continue_stage,
                     attempted_at=attempted_at.isoformat() if attempted_at else None,
                     expected_version=expected_version)
    output.emit(env, result, output.render_case)


# ---------------------------------------------------------------- dispositions

@click.group()
def dispose() -> None:
    """提出处置意见（处置方式见 lostcontact catalogue）。"""


@dispose.command("propose")
@click.argument("case_id", metavar="CASE")
@click.option("--disposition", required=True, type=_disposition_choice(), help="处置方式")
@click.option("--grounds", default="", help="所依据的情形")
@click.option("--conduct", default="", help="失联期间表现调查核实情况（已取得联系的须填写）")
@click.option("--lost-reasons", default="", help="失联原因")
@click.option("--correction-months", type=int, help="限期改正的期限（月，默认6）")
@click.option("--expected-version", type=int, help="案件版本：与当前版本不符时拒绝")
@action_options
@pass_env
def dispose_propose(env, case_id, disposition, grounds, conduct, lost_reasons, correction_months,
                    expected_version) -> None:
    """党支部提出处置意见，开启该处置的第一个审批步骤。"""
    from casework.dispositions import propose_disposition

    result = env.act(propose_disposition, case_id=case_id, disposition=disposition, grounds=grounds,
                     conduct=conduct, lost_reasons=lost_reasons, correction_months=correction_months,
                     expected_version=expected_version)
    output.emit(env, result, output.render_case)


@click.group()
def restore() -> None:
    """恢复党籍（停止党籍两年内本人书面申请）。"""


@restore.command("apply")
@click.argument("case_id", metavar="CASE")
@click.option("--grounds", default="", help="申请情况，如 本人于某日书面申请恢复党籍")
@click.option("--conduct", default="", help="党支部调查了解的情况")
@click.option("--expected-version", type=int, help="案件版本：与当前版本不符时拒绝")
@action_options
@pass_env
def restore_apply(env, case_id, grounds, conduct, expected_version) -> None:
    """登记恢复党籍申请：提出 restore_membership 处置，停止党籍满两年复查随之取消。"""
    from casework.dispositions import propose_disposition

    result = env.act(propose_disposition, case_id=case_id, disposition="restore_membership", grounds=grounds,
                     conduct=conduct, expected_version=expected_version)
    output.emit(env, result, output.render_case)


# ---------------------------------------------------------------- steps

@click.group()
def step() -> None:
    """审批步骤。"""


@step.command("decide")
@click.argument("step_id", metavar="STEP")
@click.option("--verdict", required=True, type=click.Choice(["approve", "reject"]),
              help="approve 同意 | reject 不同意（退回上一步，理由写入意见）")
@click.option("--opinion", default="", help="意见（退回时为退回理由）")
@click.option("--signed", "member_signed", is_flag=True, help="支部党员大会决议已由本人签字")
@click.option("--signature-note", default="", help="本人拒不签字或不能签字时，党支部在决议上的注明")
@click.option("--guide", default="", help="基层党委派到会指导的人员")
@click.option("--vote", type=VOTE, help="支部党员大会表决：应到,实到,赞成,反对,弃权，如 20,18,16,1,1")
@click.option("--expected-version", type=int, help="案件版本：与当前版本不符时拒绝")
@action_options
@pass_env
def step_decide(env, step_id, verdict, opinion, member_signed, signature_note, guide, vote, expected_version) -> None:
    """对待办的审批步骤作出决定（须以该步骤所在层级组织的身份 --as 办理）。"""
    from casework.dispositions import decide_step

    result = env.act(decide_step, step_id=step_id, verdict=verdict, opinion=opinion, member_signed=member_signed,
                     signature_note=signature_note, guide=guide, vote=vote, expected_version=expected_version)
    output.emit(env, result, lambda r: (output.out(f"已办理 {r['decided_step']}：{_verdict(r['verdict'])}"),
                                        output.render_case(r)))


def _verdict(value: str) -> str:
    from models.codes import Verdict

    return Verdict(value).label


@click.group()
def correction() -> None:
    """限期改正期满评估。"""


@correction.command("judge")
@click.argument("step_id", metavar="STEP")
@click.option("--changed/--no-change", "changed", default=None, help="期满后是否有转变（必填）")
@click.option("--opinion", default="", help="评估意见")
@click.option("--expected-version", type=int, help="案件版本：与当前版本不符时拒绝")
@action_options
@pass_env
def correction_judge(env, step_id, changed, opinion, expected_version) -> None:
    """支委会评估改正情况：有转变则结案；无转变则按劝退程序办理。"""
    from casework.dispositions import judge_correction

    if changed is None:
        raise click.UsageError("须指明 --changed（有转变）或 --no-change（无转变）")
    result = env.act(judge_correction, step_id=step_id, changed=changed, opinion=opinion,
                     expected_version=expected_version)
    output.emit(env, result, lambda r: (output.out("评估结果：" + ("有转变，结案" if r["changed"] else "无转变，按劝退程序办理")),
                                        output.render_case(r)))


# ---------------------------------------------------------------- materials and referrals

@click.group()
def material() -> None:
    """处置材料清单与归档。"""


@material.command("file")
@click.argument("case_id", metavar="CASE")
@click.option("--kind", required=True,
              help="材料名称（须与清单一致），或其在清单中的序号（见 lostcontact material list CASE）")
@click.option("--reference", default="", help="文号、存档位置或文件")
@action_options
@pass_env
def material_file(env, case_id, kind, reference) -> None:
    """把进行中处置所需的一份材料登记归档。"""
    from casework.dispositions import file_material

    if kind.strip().isdigit():
        kind = _checklist_item(env, case_id, int(kind))
    result = env.act(file_material, case_id=case_id, kind=kind, reference=reference)
    output.emit(env, result, lambda r: (
        output.out(f"已归档：{r['kind']}（案件 {r['case_id']}，处置 {r['disposition_id']}）"),
        output.out("尚缺：" + "、".join(r["missing"]) if r["missing"] else "材料已齐全")))


def _checklist(env, case_id: str):
    from casework.queries import checklist

    with env.reading() as s:
        return checklist(s, case_id, now=env.clock())


def _checklist_item(env, case_id: str, number: int) -> str:
    items = _checklist(env, case_id).materials
    if not 1 <= number <= len(items):
        raise click.BadParameter(f"材料序号应为1至{len(items)}" if items else "本案当前没有进行中的处置",
                                 param_hint="--kind")
    return items[number - 1].kind


@material.command("list")
@click.argument("case_id", metavar="CASE")
@store_options()
@pass_env
def material_list(env, case_id) -> None:
    """进行中处置的材料清单，注明已归档和尚缺的。"""
    def render(r):
        if r["disposition_id"] is None:
            output.out(f"案件 {case_id} 当前没有进行中的处置")
            return
        output.out(f"案件 {case_id} 处置 {r['disposition_id']}（{r['title']}）所需材料：")
        output.print_table(["序号", "材料", "已归档", "文号/存档位置"],
                           [[i["number"], i["kind"], i["filed"], i["reference"]] for i in r["materials"]])

    output.emit(env, _checklist(env, case_id), render)


@click.group()
def referral() -> None:
    """移送纪检或公安机关。"""


@referral.command("record")
@click.argument("case_id", metavar="CASE")
@click.option("--target", required=True, type=_target_choice(), help="discipline 纪检机关 | police 公安机关")
@click.option("--summary", default="", help="移送的问题线索")
@action_options
@pass_env
def referral_record(env, case_id, target, summary) -> None:
    """登记移送：组织处置不代替纪律处分或法律处理。"""
    from casework.dispositions import record_referral

    result = env.act(record_referral, case_id=case_id, target=target, summary=summary)
    output.emit(env, result, lambda r: output.out(f"案件 {r['case_id']} 已登记移送{r['target_label']}"))
