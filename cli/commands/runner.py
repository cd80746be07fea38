"""`lostcontact runner` and `lostcontact up`: thin wrappers around `caserunner.runner.main` (one case runner process) and
`deploy.up.main` (a Prefect server, our deployments with their schedules, and a runner, until Ctrl-C).

Both run until stopped (Ctrl-C or SIGTERM) and log on stderr. The case store is the usual one: `--db`, else
LOSTCONTACT_DB_URL, else var/lostcontact.sqlite."""
from __future__ import annotations

import os

import click

from ..main import db_option, env_of


def _log_level() -> None:
    """The runner's and up's progress is logged at INFO (LOSTCONTACT_LOG_LEVEL to change); the CLI's default is
    WARNING, and their own `basicConfig` comes too late to change it."""
    import logging

    logging.getLogger().setLevel(os.environ.get("LOSTCONTACT_LOG_LEVEL", "INFO").upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per HTTP call otherwise


def _store_url(ctx: click.Context) -> str:
    """The store the runner serves, as the other commands resolve it; exported so the flows' tasks (which find the
    store through LOSTCONTACT_DB_URL) and the runner use the same one."""
    from ..main import database_url

    url = database_url(env_of(ctx).db_url)
    os.environ["LOSTCONTACT_DB_URL"] = url
    return url


@click.command()
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="同时执行的流程段数（SQLite案件库默认1，PostgreSQL默认8）")
@click.option("--id", "runner_id", metavar="NAME", default=None,
              help="执行器的固定名称：重启后立即释放它上次持有的待办（默认：主机名:进程号）")
@click.option("--apply-deployments", is_flag=True, help="启动前先在Prefect服务上注册本系统的部署")
@click.option("--run-logs", is_flag=True, help="输出Prefect每个流程段的INFO日志（每段约五行，默认不输出）")
@db_option()
@click.pass_context
def runner(ctx: click.Context, threads: int | None, runner_id: str | None, apply_deployments: bool,
           run_logs: bool) -> int:
    """运行一个案件流程执行器：取出待推进的案件，在本进程内执行其Prefect流程，直到按Ctrl-C停止。

    Prefect服务地址取自PREFECT_API_URL（或Prefect配置）；需要同时启动服务时请用 lostcontact up。"""
    from caserunner.runner import main

    from prefect.settings import PREFECT_API_URL

    from .. import output

    if not PREFECT_API_URL.value():
        output.err("提示：未设置PREFECT_API_URL，Prefect将在本进程内启动临时服务，流程运行随进程结束而丢失；"
                   "请设置PREFECT_API_URL，或用 lostcontact up 一并启动服务")
    _log_level()
    url = _store_url(ctx)
    env_of(ctx).store()  # a fresh store gets its schema, as with every other command
    env_of(ctx).close()
    argv = ["--db", url]
    if threads:
        argv += ["--threads", str(threads)]
    if runner_id:
        argv += ["--id", runner_id]
    if apply_deployments:
        argv.append("--apply-deployments")
    if run_logs:
        argv.append("--run-logs")
    return main(argv)


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=4200, show_default=True,
              help="新启动的Prefect服务的端口（已有服务在PREFECT_API_URL或此端口应答时直接使用）")
@click.option("--prefect-db", metavar="URL", envvar="LOSTCONTACT_PREFECT_DB", default=None,
              help="新启动的Prefect服务使用的数据库（默认：--home下的SQLite；多线程执行请用PostgreSQL）")
@click.option("--home", default="var/prefect", show_default=True, type=click.Path(file_okay=False),
              help="新启动的Prefect服务的PREFECT_HOME")
@click.option("--threads", type=click.IntRange(1, 64), default=None,
              help="执行器线程数（SQLite案件库默认1，PostgreSQL默认8）")
@click.option("--statistics-org", multiple=True, metavar="ORG", help="按季度生成统计表的基层党委（可重复）")
@click.option("--web-port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="网页服务的端口（0：不启动网页服务）")
@click.option("--api-servers", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Prefect API服务个数（大于1时按Prefect多服务方式启动，需PostgreSQL和Redis）")
@click.option("--runners", type=click.IntRange(1, 64), default=1, show_default=True,
              help="案件流程执行器进程数（大于1时同上，各执行器分别连接一个API服务）")
@click.option("--redis-url", metavar="URL", envvar="LOSTCONTACT_REDIS_URL", default=None,
              help="多服务方式使用的Redis（默认：本机6379端口有应答则用之，否则在--home下启动一个）")
@db_option()
@click.pass_context
def up(ctx: click.Context, port: int, prefect_db: str | None, home: str, threads: int | None,
       statistics_org: tuple[str, ...], web_port: int, api_servers: int, runners: int, redis_url: str | None) -> int:
    """一条命令运行全部服务：Prefect服务、部署、网页服务和案件流程执行器。

    Prefect服务已在PREFECT_API_URL或--port应答时直接使用，否则在本机启动一个；注册带定时计划的部署；
    运行案件流程执行器，直到按Ctrl-C停止（同时停止本次启动的Prefect服务）。"""
    from deploy.up import main

    _log_level()
    _store_url(ctx)
    argv = ["--port", str(port), "--home", home, "--web-port", str(web_port)]
    if prefect_db:
        argv += ["--prefect-db", prefect_db]
    if threads:
        argv += ["--threads", str(threads)]
    for org in statistics_org:
        argv += ["--statistics-org", org]
    argv += ["--api-servers", str(api_servers), "--runners", str(runners)]
    if redis_url:
        argv += ["--redis-url", redis_url]
    return main(argv)


__all__ = ["runner", "up"]
