"""`lostcontact people`: sign-in for the people in the store, kept by the operator on the server: one-time invitation
links, a password set directly (read from the terminal or standard input, never from the command line), the system
administrator flag, and personal access tokens for the JSON API."""
from __future__ import annotations

import os
import sys

import click

from .. import output
from ..main import pass_env, store_options


@click.group()
def people() -> None:
    """人员登录：邀请链接、密码、管理员、接口令牌。"""


def _base_url(given: str | None) -> str:
    return (given or os.environ.get("LOSTCONTACT_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")


@people.command("invite")
@click.argument("person_id", metavar="PERSON")
@click.option("--base-url", help="网页地址（默认取LOSTCONTACT_BASE_URL，否则http://127.0.0.1:8000）")
@store_options(now=True)
@pass_env
def invite(env, person_id: str, base_url: str | None) -> None:
    """为此人生成一次性登录链接（7天内有效），本人打开后设置密码。"""
    from models.admin_views import Invitation
    from casework.accounts import invite as issue

    issued = issue(env.store(), person_id=person_id, actor=env.cli_actor(), now=env.clock())
    link = f"{_base_url(base_url)}/invite/{issued.token}"
    output.emit(env, Invitation(person_id=issued.person_id, name=issued.person_name, link=link,
                                expires_at=issued.expires_at.isoformat()),
                lambda r: output.out(f"{r['name']}（{r['person_id']}）的一次性登录链接，{r['expires_at'][:16]}前有效：\n"
                                     f"{r['link']}"))


@people.command("password")
@click.argument("person_id", metavar="PERSON")
@click.option("--admin", is_flag=True, help="同时设为系统管理员（维护人员、提醒渠道）")
@store_options(now=True)
@pass_env
def password(env, person_id: str, admin: bool) -> None:
    """直接设置此人的密码：在终端中输入，或从标准输入读取一行（不在命令行上出现）。"""
    from models.admin_views import PasswordSet
    from casework.accounts import set_password_directly

    if sys.stdin.isatty():
        secret = click.prompt("新密码", hide_input=True, confirmation_prompt="再输入一次")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    set_password_directly(env.store(), person_id=person_id, password=secret, now=env.clock(), admin=admin)
    output.emit(env, PasswordSet(person_id=person_id, admin=admin),
                lambda r: output.out(f"已设置{person_id}的密码" + ("，并设为系统管理员" if admin else "")))


@people.command("token")
@click.argument("person_id", metavar="PERSON")
@click.option("--org", "org_id", help="令牌代表此人以哪个组织的身份办理（默认：此人的全部职务）")
@click.option("--name", default="API", show_default=True, help="令牌的用途")
@store_options(now=True)
@pass_env
def token(env, person_id: str, org_id: str | None, name: str) -> None:
    """为此人生成接口访问令牌（只显示这一次，库中只存其散列）。"""
    from models.admin_views import TokenIssued
    from casework.accounts import create_token
    from models.actor import Actor, Channel

    actor = Actor(person_id, Channel.CLI, org_id=org_id, via=env.cli_actor().via)
    secret = create_token(env.store(), actor=actor, name=name, now=env.clock())
    output.emit(env, TokenIssued(person_id=person_id, token=secret),
                lambda r: output.out(f"{person_id}的访问令牌（请妥善保存，不会再次显示）：\n{r['token']}"))
