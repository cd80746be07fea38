"""The operator's commands for sign-in (invite, password, token) and the CLI's reads: scoped by --as, every read on
the audit trail with the channel and the system user."""
from __future__ import annotations

import getpass

from sqlalchemy import select

from models.accounts_store import Account
from models.store import AuditEvent
from tests.web.world import build_world


def test_invite_password_and_token(store, cli):
    build_world(store)
    invited = cli.json("people", "invite", "sec2", "--base-url", "https://lc.example.org")
    assert invited["link"].startswith("https://lc.example.org/invite/") and invited["name"] == "王书记"
    done = cli("people", "password", "sec2", env={"PYTHONUNBUFFERED": "1"}, expect=None)
    assert done.code != 0  # no password on standard input: refused, nothing set
    token = cli.json("people", "token", "sec2", "--org", "B2")
    assert token["token"].startswith("lc_")
    with store.reading() as s:
        assert s.get(Account, "sec2").password_hash.startswith("$argon2id$")  # from build_world


def test_reads_are_scoped_by_as_and_audited(store, cli):
    cases = build_world(store)
    theirs = cases["东村党员1"]
    refused = cli("cases", "show", theirs, "--as", "sec2", "--json", expect=4)
    assert "东村党员1" not in refused.out
    cli("cases", "show", theirs, "--as", "sec1")
    cli("cases", "show", theirs)  # the operator on the server
    listing = cli.json("ledger", "--as", "sec2")
    assert {r["name"] for r in listing["rows"]} == {"西村党员"}
    cli("ledger", "--org", "B1", "--as", "sec2", expect=4)
    with store.reading() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["read:case", "read:ledger"]))
                          .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id, e.channel) for e in reads] == [
        ("read:case", "sec1", "cli"), ("read:case", None, "cli"), ("read:ledger", "sec2", "cli")]
    assert all(e.via == getpass.getuser() for e in reads)


def test_actions_from_the_cli_name_the_system_user(store, cli):
    cases = build_world(store)
    cli("--as", "sec1", "search", "record", cases["东村党员2"], "--stage", "direct", "--method", "打电话",
        "--description", "无人接听", "--witness", "李四", "--outcome", "not_found")
    with store.reading() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "record_attempt"))
    assert event.channel == "cli" and event.via == getpass.getuser() and event.actor_id == "sec1"
