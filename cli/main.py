"""`lostcontact`: the root command, the options every command shares, and the exit codes.

Exit codes (also in cli/REFERENCE.md):
    0  success
    1  unexpected error (a bug, the database unreachable, …)
    2  usage error (an unknown command or option, a malformed value; click's own code)
    3  refused by the rules: the Chinese message on stderr names the rule; with --json the error code is in the JSON
    4  not found: a case, step, organisation, person, campaign or letter that does not exist

Commands live in `cli/commands/` and are loaded when used (`COMMANDS` below). To add one (e.g. `runner` or `demo`
from flows/), write a click command in a module and add its "module:attribute" to `COMMANDS`; a command that needs
a package which may not be installed yet goes into `OPTIONAL_COMMANDS` with that package's name.

Why the CLI imports inside functions (the one place in the project that does, on purpose): `lostcontact --help`
imports every command module to show its summary, and every command imports this module. So this module and the
command modules import casework, SQLAlchemy, Prefect and reports inside the functions that use them. Measured on
2026-12-03: `lostcontact --help` takes 0.4 s as written and 4.2 s with the command modules' imports moved to their
tops (a loaded 2-core machine; the ratio is what counts)."""
from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import click

from . import output

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 1, 2, 3, 4

COMMANDS: dict[str, str] = {
    "db": "cli.commands.admin:db",
    "orgs": "cli.commands.admin:orgs",
    "roster": "cli.commands.admin:roster",
    "catalogue": "cli.commands.admin:catalogue",
    "campaign": "cli.commands.campaign:campaign",
    "search": "cli.commands.actions:search",
    "dispose": "cli.commands.actions:dispose",
    "step": "cli.commands.actions:step",
    "correction": "cli.commands.actions:correction",
    "material": "cli.commands.actions:material",
    "referral": "cli.commands.actions:referral",
    "restore": "cli.commands.actions:restore",
    "cases": "cli.commands.views:cases",
    "inbox": "cli.commands.views:inbox",
    "ledger": "cli.commands.views:ledger",
    "unreachable": "cli.commands.views:unreachable",
    "out-of-control": "cli.commands.views:out_of_control",
    "stats": "cli.commands.views:stats",
    "followups": "cli.commands.followups:followups",
    "transfer": "cli.commands.followups:transfer",
    "runner": "cli.commands.runner:runner", "up": "cli.commands.runner:up",
    "demo": "cli.commands.demo:demo",
    "sweep": "cli.commands.maintenance:sweep",
    "channels": "cli.commands.channels:channels", "notifications": "cli.commands.channels:notifications",
    "web": "cli.commands.web:web",
    "people": "cli.commands.people:people",
}
# name -> (module:attribute, the package it needs). Hooks for commands others build: add
#   "runner": ("flows.cli:runner", "flows"), "demo": ("flows.demo:demo", "flows")
# once those exist.
OPTIONAL_COMMANDS: dict[str, tuple[str, str]] = {
    "export": ("cli.commands.export:export", "reports"),
}


# ---------------------------------------------------------------- what a run knows

class Env:
    """The options of one run (from the root command or the subcommand, the subcommand's winning) and the store."""

    def __init__(self) -> None:
        self.db_url: str | None = None
        self.actor: str | None = None
        self.now = None  # an aware datetime, or None for the real clock
        self.request_id: str | None = None
        self.json: bool = False
        self.debug: bool = bool(os.environ.get("LOSTCONTACT_DEBUG"))
        self._store = None

    # -- the clock
    def clock(self):
        """`--now`, or the real time."""
        from models.timing import utcnow

        return self.now if self.now is not None else utcnow()

    def today(self):
        from models.timing import local_date

        return local_date(self.clock())

    # -- the store
    def store(self):
        """The case store, created on first use: a fresh database (no schema yet) is migrated to the newest
        revision automatically; an existing one is used as it is (`lostcontact db upgrade` migrates it)."""
        if self._store is None:
            from casework.db import Store

            store = Store(database_url(self.db_url))
            if not schema_present(store):
                output.err(f"数据库尚未建立，正在创建表结构：{mask_url(store.url)}")
                store.upgrade()
            self._store = store
        return self._store

    @contextmanager
    def reading(self):
        session = self.store().reading()
        try:
            yield session
        finally:
            session.close()

    def act(self, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        """Call a casework action as the acting person, at `--now`, under `--request-id`; the audit trail records
        that it came through the CLI and from which system user."""
        return fn(self.store(), request_id=self.request_id, actor=self.cli_actor(), now=self.now, **kwargs)

    def cli_actor(self):
        import getpass

        from models.actor import Actor

        try:
            os_user = getpass.getuser()
        except (KeyError, OSError):
            os_user = f"uid:{os.getuid()}"
        return Actor.cli(self.actor, os_user)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None


def database_url(given: str | None) -> str:
    """--db, else LOSTCONTACT_DB_URL, else var/lostcontact.sqlite. A value without "://" is a SQLite file path.
    The folder of a SQLite file is created when missing."""
    from pathlib import Path

    from casework.db import default_url

    url = given or default_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser()}"
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        Path(url[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return url


def schema_present(store) -> bool:
    from sqlalchemy import inspect, text

    if not inspect(store.engine).has_table("alembic_version"):
        return False
    with store.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM alembic_version")).scalar() > 0


def mask_url(url: str) -> str:
    """A URL without its password, for messages."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def env_of(ctx: click.Context) -> Env:
    return ctx.ensure_object(Env)


pass_env = click.make_pass_decorator(Env, ensure=True)


# ---------------------------------------------------------------- the shared options

def _setter(attr: str, *, flag: bool = False):
    def callback(ctx: click.Context, _param, value):
        if value is None or (flag and not value):
            return value
        setattr(env_of(ctx), attr, value)
        return value

    return callback


def _option(*decls: str, attr: str, root: bool, envvar: str | None = None, flag: bool = False, **kw):
    from .params import MOMENT

    if attr == "now":
        kw.setdefault("type", MOMENT)
    return click.option(*decls, attr, expose_value=False, callback=_setter(attr, flag=flag),
                        envvar=envvar if root else None, is_flag=flag, default=False if flag else None, **kw)


_HELP = {
    "db": "数据库URL（默认取环境变量LOSTCONTACT_DB_URL，否则为var/lostcontact.sqlite）；不含“://”时视为SQLite文件路径",
    "actor": "办理人（人员编号）：以谁的身份办理",
    "now": "把“当前时间”设为此时刻（ISO格式，无时区时按北京时间），用于模拟和补录",
    "request_id": "请求编号：同一编号的重复提交只返回首次结果，不重复办理",
    "json": "只在标准输出打印一个JSON文档",
}


def db_option(root: bool = False):
    return _option("--db", attr="db_url", root=root, metavar="URL", help=_HELP["db"])


def json_option(root: bool = False):
    return _option("--json", attr="json", root=root, flag=True, help=_HELP["json"])


def actor_option(root: bool = False):
    return _option("--as", attr="actor", root=root, envvar="LOSTCONTACT_AS", metavar="PERSON", help=_HELP["actor"])


def now_option(root: bool = False):
    return _option("--now", attr="now", root=root, envvar="LOSTCONTACT_NOW", help=_HELP["now"])


def request_option(root: bool = False):
    return _option("--request-id", attr="request_id", root=root, metavar="ID", help=_HELP["request_id"])


def _stack(*decorators):
    def apply(fn):
        for d in reversed(decorators):
            fn = d(fn)
        return fn

    return apply


def store_options(*, now: bool = False, actor: bool = False):
    """For commands that read the store: --db, --json, and --now / --as where the answer depends on them."""
    extra = ([now_option()] if now else []) + ([actor_option()] if actor else [])
    return _stack(db_option(), json_option(), *extra)


def action_options(fn):
    """For commands that change the store: --db, --as, --now, --request-id, --json."""
    return _stack(db_option(), actor_option(), now_option(), request_option(), json_option())(fn)


# ---------------------------------------------------------------- the root command

class LazyGroup(click.Group):
    """Subcommands imported when used, so a command's module (and its dependencies) loads only for that command."""

    def list_commands(self, ctx):
        optional = [n for n, (_target, needs) in OPTIONAL_COMMANDS.items() if _installed(needs)]
        return sorted({*super().list_commands(ctx), *COMMANDS, *optional})

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None and name in OPTIONAL_COMMANDS and _installed(OPTIONAL_COMMANDS[name][1]):
            target = OPTIONAL_COMMANDS[name][0]
        if target is None:
            return super().get_command(ctx, name)
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@db_option(root=True)
@actor_option(root=True)
@now_option(root=True)
@request_option(root=True)
@json_option(root=True)
@click.option("--debug", is_flag=True, expose_value=False, help="出错时在标准错误打印完整的调用栈",
              callback=lambda ctx, _p, v: setattr(env_of(ctx), "debug", True) if v else None)
@click.version_option(package_name="lostcontact", prog_name="lostcontact")
def cli() -> None:
    """失联党员查找处置：组织、名册、集中排查、查找、处置审批、后续事项、统计。

    共用选项可写在命令名之前或之后：--db、--as、--now、--request-id、--json。

    退出码：0 成功；1 意外错误；2 用法错误；3 不符合规定被拒绝（标准错误中写明依据）；4 未找到。
    """


# ---------------------------------------------------------------- running it

def main(argv: list[str] | None = None) -> int:
    """Run the command and turn its outcome into an exit code (see the module docstring)."""
    args = sys.argv[1:] if argv is None else list(argv)
    _utf8_streams()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    env = Env()
    json_hint = "--json" in args
    try:
        result = cli.main(args=args, prog_name="lostcontact", standalone_mode=False, obj=env)
        return result if isinstance(result, int) else EXIT_OK
    except click.ClickException as exc:  # usage errors and bad parameters: click's message, exit 2
        exc.show()
        if json_hint or env.json:
            click.echo(output.to_json({"ok": False, "error": {"code": "usage_error", "message": exc.format_message()}}))
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except click.Abort:
        output.err("已中止")
        return EXIT_ERROR
    except KeyboardInterrupt:
        output.err("已中断")
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure becomes an exit code and, with --json, a document
        return _failure(exc, env, json_hint or env.json)
    finally:
        env.close()


def _failure(exc: Exception, env: Env, json_mode: bool) -> int:
    from models.errors import NotFound, Refusal

    if isinstance(exc, Refusal):
        error = exc.as_dict()
        not_found = isinstance(exc, NotFound) or exc.code == "not_found"
        human = f"未找到（{exc.code}）：{exc.text}" if not_found else output.refusal_lines(error)
        output.emit_error(json_mode, error, human)
        _explain(exc)
        return EXIT_NOT_FOUND if not_found else EXIT_REFUSED
    if isinstance(exc, BrokenPipeError):
        return EXIT_ERROR
    message = f"{type(exc).__name__}: {exc}"
    hint = _hint(exc)
    if env.debug:
        traceback.print_exception(exc, file=sys.stderr)
    output.emit_error(json_mode, {"code": "internal_error", "message": message, **({"hint": hint} if hint else {})},
                      f"意外错误：{message}" + (f"\n{hint}" if hint else "") +
                      ("" if env.debug else "\n（加 --debug 或设环境变量 LOSTCONTACT_DEBUG=1 可查看调用栈）"))
    return EXIT_ERROR


def _explain(exc) -> None:
    """Refusals that carry a report (a roster with bad rows, a table with broken relations) list it on stderr."""
    from .commands.common import explain_refusal

    explain_refusal(exc)


def _hint(exc: Exception) -> str | None:
    try:
        from sqlalchemy.exc import OperationalError, ProgrammingError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, (OperationalError, ProgrammingError)):
        text = str(exc).lower()
        if "no such table" in text or "no such column" in text or "does not exist" in text and "relation" in text \
                or "undefinedcolumn" in text or "undefinedtable" in text:
            return "数据库表结构可能不是最新版本，请运行：lostcontact db upgrade"
        return "无法访问数据库，请检查 --db 或 LOSTCONTACT_DB_URL"
    return None


def _utf8_streams() -> None:
    """Chinese on a terminal whose locale says ASCII would crash the print; write UTF-8 there instead."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "").replace("_", "")
        if encoding in ("ascii", "ansix3.41968", "646", "usascii") and hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")


if __name__ == "__main__":
    # `python -m cli.main`: run the imported module, not this `__main__` copy, so the commands (which import
    # `cli.main`) and the root command share one `Env` class.
    from cli.main import main as _main

    sys.exit(_main())
