"""Notification channels (`lostcontact channels set|list|remove|test|migrate|rekey`) and the delivery report
(`lostcontact notifications`). A channel URL is read from the option or, better (it stays out of the shell history),
from standard input with `--url -`; it is never printed: lists show the scheme and its last four characters."""
from __future__ import annotations

import sys

import click

from .. import output
from ..main import action_options, pass_env, store_options


@click.group()
def channels() -> None:
    """提醒渠道：组织的工作群（企业微信、钉钉、飞书群机器人）和个人渠道（电子邮件、企业微信应用消息）。"""


def _read_url(url: str) -> str:
    if url == "-":
        return sys.stdin.readline().strip()
    return url


@channels.command("set")
@click.option("--org", metavar="ORG", help="组织编号：设置该组织的工作群（每件事一条消息）")
@click.option("--person", metavar="PERSON", help="人员编号：设置本人的渠道（电子邮件、企业微信应用消息等）")
@click.option("--url", required=True, metavar="URL",
              help="Apprise地址，如 wecombot://KEY、dingtalk://TOKEN/、mailtos://…；用“-”从标准输入读取（不留在命令历史中）")
@click.option("--label", help="备注，如“东村党支部工作群”")
@click.option("--test/--no-test", "send_test", default=False, help="设置后发送一条测试消息")
@action_options
@pass_env
def set_(env, org, person, url, label, send_test) -> None:
    """设置提醒渠道：地址经Apprise检查后加密保存，显示时只显示类型和末四位。"""
    from casework.deliveries import set_channel

    if bool(org) == bool(person):
        raise click.UsageError("须指明 --org ORG（组织的工作群）或 --person PERSON（本人渠道），二者选一")
    result = env.act(set_channel, org_id=org, person_id=person, url=_read_url(url), label=label)
    if send_test:
        from models.views import ChannelTested
        from tasks.notify_tasks import send_channel_test

        result = ChannelTested(**result.model_dump(), test=send_channel_test(env.store(), result.channel_id,
                                                                             now=env.clock()))
    output.emit(env, result, _render_set)


def _render_set(r: dict) -> None:
    owner = f"组织 {r['org_id']} 的工作群" if r["org_id"] else f"人员 {r['person_id']} 的本人渠道"
    output.out(f"已设置{owner}：{r['masked']}（渠道编号 {r['channel_id']}）")
    if "test" in r:
        _render_test(r["test"])


@channels.command("list")
@click.option("--org", metavar="ORG", help="只列此组织的渠道")
@click.option("--person", metavar="PERSON", help="只列此人的渠道")
@store_options()
@pass_env
def list_(env, org, person) -> None:
    """列出提醒渠道（地址已遮盖）。"""
    from casework.deliveries import list_channels
    from models.views import ChannelList

    with env.reading() as s:
        items = list_channels(s, org_id=org, person_id=person)
    output.emit(env, ChannelList(count=len(items), channels=items), _render_list)


def _render_list(r: dict) -> None:
    output.print_table(["编号", "属于", "类型", "地址", "备注"],
                       [[c["channel_id"], f"组织 {c['org_id']}（工作群）" if c["group"] else f"人员 {c['person_id']}",
                         c["scheme"], c["masked"], c["label"] or ""] for c in r["channels"]],
                       empty="（尚未设置任何提醒渠道）")


@channels.command("remove")
@click.argument("channel_id", type=int)
@action_options
@pass_env
def remove(env, channel_id) -> None:
    """删除一个提醒渠道。"""
    from casework.deliveries import remove_channel

    result = env.act(remove_channel, channel_id=channel_id)
    output.emit(env, result, lambda r: output.out(f"已删除渠道 {r['channel_id']}：{r['masked']}"))


@channels.command("test")
@click.argument("channel_id", type=int)
@store_options(now=True)
@pass_env
def test(env, channel_id) -> None:
    """向一个渠道发送测试消息，并报告是否送达。"""
    from tasks.notify_tasks import send_channel_test

    result = send_channel_test(env.store(), channel_id, now=env.clock())
    output.emit(env, result, _render_test)


def _render_test(r: dict) -> None:
    if r.get("sent"):
        output.out(f"测试消息已送达 {r['owner']} 的渠道 {r['masked']}。")
    else:
        output.out(f"测试消息未能送达 {r['owner']} 的渠道 {r['masked']}；稍后将自动重试，"
                   "请检查地址或对方服务（lostcontact notifications 列出发送失败的消息）。")


@channels.command("migrate")
@store_options(now=True)
@pass_env
def migrate(env) -> None:
    """把人员信息中的明文提醒地址（notify_urls）迁入加密的渠道表，并从人员信息中清除。"""
    from models.admin_views import PeopleMigrated
    from casework.deliveries import migrate_person_urls

    moved = migrate_person_urls(env.store(), now=env.clock())
    output.emit(env, PeopleMigrated(people_migrated=moved),
                lambda r: output.out(f"已迁移{r['people_migrated']}人的提醒地址。"))


@channels.command("rekey")
@store_options(now=True)
@pass_env
def rekey(env) -> None:
    """密钥轮换：新密钥放在LOSTCONTACT_CHANNEL_KEY（或密钥文件）逗号分隔列表的最前面后，用新密钥重新加密全部渠道。"""
    from models.admin_views import ChannelsRekeyed
    from casework.deliveries import rekey_channels

    done = rekey_channels(env.store(), now=env.clock())
    output.emit(env, ChannelsRekeyed(channels_rekeyed=done),
                lambda r: output.out(f"已用新密钥重新加密{r['channels_rekeyed']}个渠道。"))


@click.command()
@store_options()
@pass_env
def notifications(env) -> None:
    """提醒送达情况：没有任何提醒渠道的组织和人员（收不到提醒），以及多次重试后仍发送失败的消息。"""
    from casework.deliveries import delivery_report

    with env.reading() as s:
        report = delivery_report(s)
    output.emit(env, report, _render_report)


def _render_report(r: dict) -> None:
    output.out("各状态消息数：" + ("，".join(f"{k} {v}" for k, v in sorted(r["counts"].items())) or "（无）"))
    output.out(f"没有工作群、其人员也都没有本人渠道的组织（{len(r['organisations'])}个）：")
    output.print_table(["组织", "名称", "人员数"], [[o["org_id"], o["name"], o["people"]] for o in r["organisations"]],
                       empty="（无）")
    output.out(f"收不到提醒的人员（无本人渠道，所在组织也无工作群，{len(r['people'])}人）：")
    output.print_table(["人员", "姓名", "所在组织"], [[p["person_id"], p["name"], "、".join(p["orgs"])]
                                                for p in r["people"]], empty="（无）")
    output.out(f"多次重试后仍发送失败、或发送中断情况不明（可能已送达，不再重发）的消息（{len(r['failed'])}条）：")
    output.print_table(["编号", "类型", "收件", "渠道", "案件", "次数", "最后尝试", "状态"],
                       [[f["id"], f["kind"], f["person_id"] or f"组织 {f['org_id']}", f["channel"], f["case_id"] or "",
                         f["tries"], output.local_time(f["attempted_at"]),
                         "情况不明" if f.get("status") == "uncertain" else "发送失败"] for f in r["failed"]],
                       empty="（无）")
