"""`lostcontact demo`: a whole campaign on a fresh demo store, through the real services and real Prefect runs (the
script is the `demo` package). Readable Chinese on stdout, progress on stderr; --json gives one document."""
from __future__ import annotations

from pathlib import Path

import click

from .. import output
from ..main import json_option, pass_env
from .common import print_roster_problems


@click.command()
@click.option("--dir", "directory", default="var/demo", show_default=True, type=click.Path(file_okay=False,
              path_type=Path), help="演示目录：演示数据库（每次删除重建）、名册、表格文书和Prefect数据都在这里")
@click.option("--members", type=click.IntRange(10, 1000), default=60, show_default=True,
              help="生成的党员名册人数（约三分之一为失联党员；人数越多耗时越长）")
@click.option("--seed", type=int, default=7, show_default=True, help="名册生成和剧情分配的随机种子（同一种子结果相同）")
@click.option("--port", type=click.IntRange(1, 65535), default=4200, show_default=True,
              help="需要新启动Prefect服务时使用的端口（PREFECT_API_URL或此端口已有服务时直接使用）")
@click.option("--keep-server", is_flag=True, help="演示结束后不停止本次启动的Prefect服务，以便在界面中查看流程运行")
@click.option("--pdf", is_flag=True, help="同时用无头Chromium打印PDF（需要已安装chromium）")
@click.option("--serve", is_flag=True, help="演示结束后在演示数据库上运行网页服务，直到按Ctrl-C停止")
@click.option("--web-port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="网页服务的端口")
@json_option()
@pass_env
def demo(env, directory: Path, members: int, seed: int, port: int, keep_server: bool, pdf: bool, serve: bool,
         web_port: int) -> None:
    """演示：在独立的新数据库上完整演示一次集中排查。

    导入组织和生成的名册（含有误的行），通过campaign流程发起排查，然后按剧本逐轮办理：四个阶段查找、提出处置意见、
    归档材料、各级审批（含一次退回）、限期改正期满评估、申请恢复党籍，再把时间拨到两年后触发停止党籍满两年复查；
    每轮之后由案件流程执行器在本进程内推进Prefect流程。最后打印统计表（校验平衡关系）、各组织待办数，并导出全部表格文书。
    不会读写默认数据库（var/lostcontact.sqlite 或 LOSTCONTACT_DB_URL）。"""
    from demo.script import run_demo

    if env.db_url:
        output.err("提示：演示使用独立的演示数据库，已忽略 --db")
    result = run_demo(directory, members=members, seed=seed, port=port, keep_server=keep_server, pdf=pdf,
                      say=output.err)
    if result["statistics"]["broken"]:
        output.err("统计表平衡关系不成立：" + "；".join(result["statistics"]["broken"]))
    result["web"] = _web_accounts(result["store"], web_port)
    output.emit(env, result, _render)
    ok = result["statistics"]["relations_hold"] and not result["runs"]["other"]
    if serve and ok:
        from .web import serve as serve_web

        from casework.db import Store

        output.err(f"网页服务已启动：{result['web']['url']}/ （按Ctrl-C停止）")
        serve_web(Store(result["web"]["db"]), host="127.0.0.1", port=web_port, base_url=result["web"]["url"])
    return 0 if ok else 1


DEMO_PASSWORD = "lostcontact-demo"


def _web_accounts(store_path: str, web_port: int) -> dict:
    """Every demo person may sign in with the demo password; the town's secretary is also the administrator."""
    from casework.accounts import set_password_directly
    from casework.db import Store
    from models.timing import utcnow

    from models.codes import Role

    from demo.cast import ORGANISATIONS, PEOPLE
    from ..main import database_url

    names = {o["id"]: o["name"] for o in ORGANISATIONS}
    url = database_url(store_path)
    store = Store(url)
    try:
        for p in PEOPLE:
            set_password_directly(store, person_id=p["id"], password=DEMO_PASSWORD, now=utcnow(),
                                  admin=p["id"] == "town_sec")
    finally:
        store.dispose()
    return {"url": f"http://127.0.0.1:{web_port}", "db": url, "password": DEMO_PASSWORD,
            "accounts": [{"login": p["id"], "name": p["name"],
                          "role": "、".join(names[r["org"]] + Role(r["role"]).label for r in p["roles"])}
                         for p in PEOPLE]}


def _render(r: dict) -> None:
    out = output.out
    out("失联党员查找处置 演示")
    out("=" * 40)
    output.fields([
        ("演示数据库", r["store"]),
        ("Prefect服务", f"{r['prefect_api_url']}（{'本次启动' if r['prefect_server'] == 'started' else '已在运行，直接使用'}）"),
        ("排查活动", f"{r['campaign_id']}，开始日期 {r['start_date']}"),
    ])

    out("")
    out("一、组织和名册")
    o = r["organisations"]
    out(f"组织{o['organisations_created']}个（县委组织部、镇党委、3个党支部），办理人员{o['people']}人")
    ro = r["roster"]
    out(f"名册 {r['roster_file']}：共{ro['rows']}行，无误{ro['valid']}行，导入{ro['created']}人；"
        f"有误{len(r['bad_rows'])}行未导入" + (f"，提示{r['roster_warnings']}条" if r["roster_warnings"] else ""))
    print_roster_problems({"errors": r["bad_rows"]})

    out("")
    out("二、办理过程（每轮之后案件流程执行器推进Prefect流程）")
    rows = []
    for entry in r["rounds"]:
        done = "、".join(f"{k}{v}" for k, v in entry["actions"].items() if v)
        fired = "、".join(f"{_FOLLOWUP.get(k, k)}{v}" for k, v in entry["fired"].items() if v)
        rows.append([entry["date"], entry["title"], done or "—", fired or "", entry["segments"]])
    output.print_table(["日期", "环节", "办理", "到期触发", "流程段"], rows)

    out("")
    out(f"三、案件（{len(r['cases'])}件）")
    rows = []
    for c in r["cases"]:
        step = c["open_step"]
        rows.append([c["case_id"], c["member_name"], c["branch_id"], "预备" if c["probationary"] else "正式",
                     c["scenario_label"], c["state_label"], c["column"],
                     f"{step['title']}（{step['body_label']}）" if step else "", c.get("run_state", "")])
    output.print_table(["案件", "姓名", "支部", "类别", "剧情", "状态", "栏目", "当前待办", "Prefect运行"], rows,
                       limits=[None, None, None, None, 40, 24, None, 48, None])

    for c in r["cases"]:
        if c["scenario"] in ("persuade", "suspend_remove") and c["story"]:
            out("")
            out(f"办理经过示例：{c['case_id']} {c['member_name']}（{c['scenario_label']}）")
            for line in c["story"]:
                out(f"  {line}")

    out("")
    fired = r["followups_fired"]
    out(f"四、两年后：停止党籍满两年复查触发{r['two_year_reviews_fired']}件（转入自行脱党除名程序）；"
        f"全部到期事项：" + ("、".join(f"{_FOLLOWUP.get(k, k)}{v}件" for k, v in fired.items()) or "无"))

    out("")
    st = r["statistics"]
    out(f"五、统计表（{st['org_id']}，截至{output.local_time(st['as_of'], date_only=True)}）")
    table = st["table"]
    out(output.table(["栏目", "项目", "人数"], [[k, st["headings"][k], table[k]] for k in table]))
    out("平衡关系：" + "；".join(f"{rel['formula']}（{rel['total']}＝{rel['parts']}）{'✓' if rel['holds'] else '✗'}"
                                for rel in st["relations"]))
    out("全部成立" if st["relations_hold"] else "有不成立的关系：" + "；".join(st["broken"]))

    out("")
    out("六、各组织待办")
    output.print_table(["组织", "名称", "待办", "逾期"], [[i["org_id"], i["name"], i["open"], i["late"]]
                                                        for i in r["inbox"]])

    out("")
    f = r["forms"]
    out(f"七、表格文书已导出到 {r['forms_dir']}：全程纪实表{f.get('dossiers', 0)}份，"
        f"名册{f.get('roster', 0)}个、仍无法取得联系党员登记表{f.get('unreachable', 0)}个、"
        f"工作台账{f.get('ledger', 0)}个、统计表{f.get('statistics', 0)}个文件"
        f"（{'HTML、XLSX与PDF' if r.get('pdf') else 'HTML与XLSX'}）")

    out("")
    runs = r["runs"]
    n = r["notifications"]
    out(f"八、Prefect流程运行：等待（Suspended）{runs['suspended']}个，已完成（Completed）{runs['completed']}个"
        + (f"，其他{runs['other']}个" if runs["other"] else "") + f"；共推进{r['segments']}段")
    out(f"通知：已发送{n.get('sent', 0)}条（本机接收端收到{n.get('received_on_loopback', 0)}条），"
        f"未设通知渠道跳过{n.get('skipped_no_channel', 0)}条" + (f"，失败{n['failed']}条" if n.get("failed") else ""))
    if r["followup_runs_cancelled"]:
        out(f"已取消演示留在Prefect服务上的{r['followup_runs_cancelled']}个后续事项定时运行")
    if r["prefect_ui"]:
        if r["prefect_server"] == "reused" or r["prefect_server_kept"]:
            out(f"Prefect界面：{r['prefect_ui']}/runs")
        else:
            home = Path(r["store"]).parent / "prefect"
            out(f"Prefect界面：{r['prefect_ui']}/runs（本次启动的服务已停止；查看请加 --keep-server 重新运行，"
                f"或运行 PREFECT_HOME={home} prefect server start --port {r['prefect_ui'].rsplit(':', 1)[1]}）")
    out(f"用时：{r['seconds']}秒")

    w = r["web"]
    out("")
    out(f"九、网页：{w['url']}/ （手机或电脑浏览器打开；演示账号的密码均为 {w['password']}）")
    output.print_table(["账号", "姓名", "职务"], [[a["login"], a["name"], a["role"]] for a in w["accounts"]])
    out(f"启动网页服务：lostcontact web --db {w['db']}（或 bash scripts/demo --serve，演示后直接启动）")


_FOLLOWUP = {"two_year_review": "满两年复查", "correction_end": "限期改正期满", "phase_deadline": "阶段截止",
             "transfer_receipt": "介绍信回执"}
