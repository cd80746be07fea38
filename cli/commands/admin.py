"""Setting up: the database, the organisation tree and its people, the roster of members, the catalogue."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .. import output
from ..main import action_options, json_option, pass_env, store_options
from .common import print_roster_problems


# ---------------------------------------------------------------- db

@click.group()
def db() -> None:
    """数据库：建立或升级表结构，查看版本。"""


@db.command("upgrade")
@store_options()
@pass_env
def db_upgrade(env) -> None:
    """建立或升级数据库表结构到最新版本（可重复执行）。

    新数据库在任何命令第一次使用时会自动建立；已有的数据库在软件升级后须运行本命令。"""
    from models.admin_views import SchemaUpgraded
    from casework.db import Store

    from ..main import database_url, mask_url

    store = Store(database_url(env.db_url))
    env._store = store
    before = _revision(store)
    store.upgrade()
    after = _revision(store)
    output.emit(env, SchemaUpgraded(url=mask_url(store.url), revision_before=before, revision=after,
                                    upgraded=before != after),
                lambda r: output.out(f"数据库 {r['url']}：" + (f"已由 {r['revision_before'] or '（空）'} 升级到 {r['revision']}"
                                                             if r["upgraded"] else f"已是最新版本 {r['revision']}")))


@db.command("status")
@store_options()
@pass_env
def db_status(env) -> None:
    """显示数据库地址、当前表结构版本和最新版本。"""
    from models.admin_views import SchemaStatus
    from alembic.script import ScriptDirectory

    from casework.db import Store
    from migrations import config

    from ..main import database_url, mask_url

    store = Store(database_url(env.db_url))
    env._store = store
    current = _revision(store)
    head = ScriptDirectory.from_config(config()).get_current_head()
    output.emit(env, SchemaStatus(url=mask_url(store.url), revision=current, head=head, up_to_date=current == head),
                lambda r: output.fields([("数据库", r["url"]), ("当前版本", r["revision"] or "（未建立）"),
                                         ("最新版本", r["head"]), ("是否最新", r["up_to_date"])]))


def _revision(store) -> str | None:
    from sqlalchemy import text

    from ..main import schema_present

    if not schema_present(store):
        return None
    with store.engine.connect() as c:
        return c.execute(text("SELECT version_num FROM alembic_version")).scalar()


# ---------------------------------------------------------------- organisations

@click.group()
def orgs() -> None:
    """组织树和办理人员。"""


@orgs.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@action_options
@pass_env
def orgs_import(env, file: Path) -> None:
    """导入（新增或更新）组织和人员：FILE 是 JSON 文件 {"organisations": [...], "people": [...]}。

    组织：{id, name, kind: branch|base_committee|department, parent, category（党支部的党组织类别1-9）,
    county_or_higher}；人员：{id, name, phone, email, notify_urls, roles: [{org, role}]}，
    role 为 secretary|deputy_secretary|organisation_member|committee_member|staff。"""
    from casework.orgs import import_organisations

    data = _read_json(file)
    if isinstance(data, list):
        data = {"organisations": data}
    if not isinstance(data, dict) or not isinstance(data.get("organisations", []), list):
        raise click.BadParameter("应为 {\"organisations\": [...], \"people\": [...]}", param_hint="FILE")
    result = env.act(import_organisations, organisations=data.get("organisations", []),
                     people=data.get("people", []))
    output.emit(env, result, lambda r: output.out(
        f"组织：新增{r['organisations_created']}个，更新{r['organisations_updated']}个；人员：{r['people']}人"))


def _read_json(file: Path):
    try:
        return json.loads(file.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"{file} 不是有效的UTF-8 JSON文件：{exc}", param_hint="FILE") from None


# ---------------------------------------------------------------- roster

@click.group()
def roster() -> None:
    """党员名册。"""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--base", "base", required=True, metavar="ORG", help="导入名册的基层党委（组织编号）")
@click.option("--accept-valid-rows", is_flag=True, help="名册有误时仍导入无误的行（默认：有一行有误即全部不导入）")
@action_options
@pass_env
def roster_import(env, file: Path, base: str, accept_valid_rows: bool) -> None:
    """导入党员名册（CSV或XLSX，列名按《失联党员名册》），按身份证号新增或更新党员。进度显示在标准错误。"""
    from casework.roster import import_roster_file

    bar = _Progress("导入名册")
    try:
        report = env.act(lambda store, **kw: import_roster_file(store, file, **kw), base_committee_id=base,
                         accept_valid_rows=accept_valid_rows, progress=bar.update)
    finally:
        bar.close()
    output.emit(env, report, _render_roster)


def _render_roster(r: dict) -> None:
    output.out(f"名册 {r.get('file')}：共{r.get('rows')}行，无误{r.get('valid')}行；"
               f"新增{r.get('created')}人，更新{r.get('updated')}人，未变{r.get('unchanged')}人")
    if r.get("errors"):
        output.out("以下有误的行未导入：")
    print_roster_problems(r)


class _Progress:
    """Progress on stderr: a bar on a terminal, started when the importer first reports how many rows it has;
    elsewhere (a pipe, a log) one line at the end."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = self.total = 0

    def update(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if not output.stderr_is_tty():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(max(0, done - self.bar.pos))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        elif self.total:
            output.err(f"{self.label}：已处理{self.done}/{self.total}行")


# ---------------------------------------------------------------- catalogue

@click.command()
@json_option()
@pass_env
def catalogue(env) -> None:
    """处置方式目录：每种处置的适用情形、审批步骤、所需材料和统计栏目。"""
    from models.admin_views import Catalogue, ProcedureLine
    from models.catalogue import CURRENT_VERSION, describe

    rows = [ProcedureLine.model_validate(asdict(r)) for r in describe()]
    output.emit(env, Catalogue(version=CURRENT_VERSION, procedures=rows), _render_catalogue)


def _render_catalogue(r: dict) -> None:
    output.out(f"处置方式目录（版本 {r['version']}）")
    for p in r["procedures"]:
        output.out("")
        number = f"第{p['number']}种 " if p["number"] not in ("—", "") else ""
        output.out(f"【{p['code']}】{number}{p['title']}（统计栏目 {p['column']}）")
        output.out(f"  适用：{'、'.join(p['applies_to'])}")
        output.out(f"  情形：{p['when']}")
        for i, step in enumerate(p["steps"], start=1):
            output.out(f"  步骤{i}：{step}")
        output.out(f"  材料：{'、'.join(p['materials'])}")


__all__ = ["db", "orgs", "roster", "catalogue"]
