"""`lostcontact web`: the web app and JSON API on one port (uvicorn), on the usual store."""
from __future__ import annotations

import os

import click

from ..main import db_option, env_of


def serve(store, *, host: str, port: int, base_url: str | None = None, log_level: str = "warning") -> None:
    import uvicorn

    from web.app import Settings, create_app

    settings = Settings(base_url=base_url) if base_url else Settings()
    uvicorn.run(create_app(store, settings), host=host, port=port, log_level=log_level, proxy_headers=True)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（对外服务请置于HTTPS反向代理之后）")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--base-url", envvar="LOSTCONTACT_BASE_URL", help="对外的网页地址，用于提醒和邀请中的链接")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="工作进程数（每个CPU核一个；SQLite案件库请用1）")
@db_option()
@click.pass_context
def web(ctx: click.Context, host: str, port: int, base_url: str | None, workers: int) -> None:
    """运行网页和接口服务，直到按Ctrl-C停止。"""
    from ..main import database_url

    env = env_of(ctx)
    store = env.store()
    url = base_url or f"http://{host}:{port}"
    os.environ.setdefault("LOSTCONTACT_BASE_URL", url)
    click.echo(f"网页地址：{url}/  接口文档：{url}/api/docs", err=True)
    if workers == 1:
        serve(store, host=host, port=port, base_url=url)
        return
    import uvicorn

    # Several processes (one per core: a Python process renders pages on one core at a time); each opens the store
    # from the environment.
    os.environ["LOSTCONTACT_DB_URL"] = database_url(env.db_url)
    env.close()
    uvicorn.run("web.app:app_from_env", factory=True, host=host, port=port, workers=workers, log_level="warning",
                proxy_headers=True)
