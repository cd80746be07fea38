"""Sign-in for the people in the store: invitations, passwords, lock-out, web sessions and personal access tokens.

Passwords are argon2id hashes (OWASP's minimum profile: 19 MiB, two passes, one lane, so twenty people signing in at
once do not exhaust a two-core server); random tokens are kept as SHA-256 hashes. Nothing secret is logged, audited or
returned twice. Sign-in answers the same "账号或密码不正确" whether the account is unknown or the password wrong, and
spends an argon2 verification either way, so the answer tells nothing about who has an account."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.accounts_store import AccessToken, Account, Invitation, WebSession
from models.actor import Actor, Channel
from models.admin_views import PersonLine
from models.codes import Role
from models.errors import NotFound, Refusal
from models.store import AuditEvent, Organisation, Person, PersonRole

from .access import visible_orgs
from .db import Store
from .orgs import descendants

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = HASHER.hash("lostcontact-dummy-password")

MAX_FAILURES = 5  # then locked for LOCK_TIME, doubled for every further failure (at most a day)
LOCK_TIME = dt.timedelta(minutes=15)
INVITATION_TTL = dt.timedelta(days=7)
SESSION_IDLE = dt.timedelta(hours=2)  # DECISION: a phone left on a table signs out after two idle hours
SESSION_MAX = dt.timedelta(hours=12)
MIN_PASSWORD = 10
TREE_KEEPERS = {Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.STAFF}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _audit(session, now: dt.datetime, action: str, actor: Actor, **payload) -> None:
    session.add(AuditEvent(at=now, actor_id=actor.person_id, org_id=actor.org_id, action=action, case_id=None,
                           request_id=None, channel=actor.channel.value, via=actor.via, payload=payload))


# ---------------------------------------------------------------- invitations and passwords

@dataclass(frozen=True)
class InvitationIssued:
    person_id: str
    person_name: str
    token: str  # shown once, in the link; only its hash is kept
    expires_at: dt.datetime


def may_keep_person(session, actor: Actor, person_id: str) -> bool:
    """A system administrator keeps everyone; otherwise a secretary or staff member keeps the people of the
    organisations below their own (not their own organisation: nobody raises their own or a colleague's rights)."""
    if actor.channel is Channel.CLI and actor.person_id is None:
        return True  # the operator on the server
    if not actor.person_id:
        return False
    account = session.get(Account, actor.person_id)
    if account is not None and account.is_admin:
        return True
    held = [r.org_id for r in session.scalars(select(PersonRole).where(PersonRole.person_id == actor.person_id))
            if r.role in TREE_KEEPERS and (actor.org_id is None or r.org_id == actor.org_id)]
    below: set[str] = set()
    for org_id in held:
        below |= set(descendants(session, org_id)) - {org_id}
    target_orgs = set(session.scalars(select(PersonRole.org_id).where(PersonRole.person_id == person_id)))
    return bool(target_orgs) and target_orgs <= below


def invite(store: Store, *, person_id: str, actor: Actor, now: dt.datetime,
           ttl: dt.timedelta = INVITATION_TTL) -> InvitationIssued:
    with store.writing() as s:
        person = s.get(Person, person_id)
        if person is None or not person.active:
            raise NotFound("人员", person_id)
        if not may_keep_person(s, actor, person_id):
            raise Refusal("wrong_level", "只有系统管理员或上级组织的书记、工作人员可以为此人发放登录邀请", "DOMAIN §1")
        if s.get(Account, person_id) is None:
            s.add(Account(person_id=person_id, is_admin=False, failed_count=0, created_at=now))
        token = secrets.token_urlsafe(32)
        s.add(Invitation(token_hash=token_hash(token), person_id=person_id, issued_by=actor.person_id or actor.via,
                         created_at=now, expires_at=now + ttl))
        _audit(s, now, "invite", actor, person=person_id)
        s.commit()
        return InvitationIssued(person_id, person.name, token, now + ttl)


def invitation_person(store: Store, token: str, now: dt.datetime) -> tuple[str, str]:
    """Whose invitation this is (id, name), or a refusal when it is unknown, used or expired."""
    with store.reading() as s:
        inv = s.get(Invitation, token_hash(token))
        if inv is None or inv.used_at is not None or inv.expires_at < now:
            raise Refusal("invitation_invalid", "邀请链接无效、已使用或已过期，请联系管理员重新发放")
        return inv.person_id, cast(Person, s.get(Person, inv.person_id)).name  # foreign key


def check_password(password: str, person_id: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Refusal("weak_password", f"密码至少{MIN_PASSWORD}位")
    if len(password) > 200:
        raise Refusal("weak_password", "密码不能超过200位")
    if password.isdigit() or password.lower() == person_id.lower() or len(set(password)) < 4:
        raise Refusal("weak_password", "密码过于简单：不能全为数字，不能与账号相同，须包含至少4个不同的字符")


def accept_invitation(store: Store, *, token: str, password: str, now: dt.datetime) -> str:
    with store.writing() as s:
        inv = s.get(Invitation, token_hash(token))
        if inv is None or inv.used_at is not None or inv.expires_at < now:
            raise Refusal("invitation_invalid", "邀请链接无效、已使用或已过期，请联系管理员重新发放")
        check_password(password, inv.person_id)
        account = cast(Account, s.get(Account, inv.person_id))  # an invitation is issued with its account
        account.password_hash = HASHER.hash(password)
        account.password_set_at = now
        account.failed_count = 0
        account.locked_until = None
        inv.used_at = now
        # A new password ends every session that the old one opened.
        s.execute(update(WebSession).where(WebSession.person_id == inv.person_id, WebSession.revoked_at.is_(None))
                  .values(revoked_at=now))
        _audit(s, now, "set_password", Actor(inv.person_id, Channel.WEB))
        s.commit()
        return inv.person_id


def set_password_directly(store: Store, *, person_id: str, password: str, now: dt.datetime,
                          admin: bool = False) -> None:
    """For the operator on the server and the demo: set a password without an invitation."""
    check_password(password, person_id)
    with store.writing() as s:
        if s.get(Person, person_id) is None:
            raise NotFound("人员", person_id)
        account = s.get(Account, person_id)
        if account is None:
            account = Account(person_id=person_id, is_admin=admin, failed_count=0, created_at=now)
            s.add(account)
        account.password_hash = HASHER.hash(password)
        account.password_set_at = now
        account.is_admin = account.is_admin or admin
        _audit(s, now, "set_password", Actor.cli(None, "operator"), person=person_id)
        s.commit()


# ---------------------------------------------------------------- signing in

@dataclass(frozen=True)
class SignedIn:
    person_id: str
    name: str
    orgs: list[tuple[str, str]]  # (org id, "组织名 · 职务") the person may act for


def sign_in(store: Store, *, login: str, password: str, now: dt.datetime, via: str | None = None) -> SignedIn:
    login = login.strip()[:64]
    with store.writing() as s:
        account = s.get(Account, login) if login else None
        if account is None or account.password_hash is None:
            _verify(_DUMMY_HASH, password)
            _audit(s, now, "sign_in_failed", Actor(None, Channel.WEB, via=via), reason="unknown")
            s.commit()
            raise Refusal("sign_in_failed", "账号或密码不正确")
        if account.locked_until is not None and account.locked_until > now:
            minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)
            _audit(s, now, "sign_in_locked", Actor(login, Channel.WEB, via=via))
            s.commit()
            raise Refusal("locked", f"连续登录失败次数过多，账号已暂时锁定，请{minutes}分钟后再试或联系管理员")
        if not _verify(account.password_hash, password):
            account.failed_count += 1
            if account.failed_count >= MAX_FAILURES:
                factor = 2 ** min(account.failed_count - MAX_FAILURES, 6)
                account.locked_until = now + min(LOCK_TIME * factor, dt.timedelta(days=1))
            _audit(s, now, "sign_in_failed", Actor(login, Channel.WEB, via=via), failures=account.failed_count)
            s.commit()
            raise Refusal("sign_in_failed", "账号或密码不正确")
        if HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = HASHER.hash(password)
        account.failed_count = 0
        account.locked_until = None
        account.last_sign_in_at = now
        person = cast(Person, s.get(Person, login))  # the account's person
        _audit(s, now, "sign_in", Actor(login, Channel.WEB, via=via))
        s.commit()
        return SignedIn(login, person.name, acting_choices(s, login))


def _verify(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def acting_choices(session, person_id: str) -> list[tuple[str, str]]:
    rows = session.execute(select(PersonRole.org_id, PersonRole.role, Organisation.name)
                           .join(Organisation, Organisation.id == PersonRole.org_id)
                           .where(PersonRole.person_id == person_id).order_by(Organisation.name)).all()
    choices: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for org_id, role, name in rows:
        choices.setdefault(org_id, []).append(role.label)
        names[org_id] = name
    return [(org_id, f"{names[org_id]} · {'、'.join(labels)}") for org_id, labels in choices.items()]


# ---------------------------------------------------------------- sessions

@dataclass(frozen=True)
class SessionInfo:
    token: str
    person_id: str
    name: str
    org_id: str | None
    csrf_token: str
    is_admin: bool
    expires_at: dt.datetime

    def actor(self) -> Actor:
        return Actor(self.person_id, Channel.WEB, org_id=self.org_id, via=self.token_id)

    @property
    def token_id(self) -> str:
        return token_hash(self.token)[:12]  # names the session in the audit trail without revealing it


def open_session(store: Store, *, person_id: str, org_id: str | None, now: dt.datetime) -> SessionInfo:
    with store.writing() as s:
        if org_id is not None and org_id not in dict(acting_choices(s, person_id)):
            raise Refusal("wrong_level", "您不在所选组织任职", "DOMAIN §1")
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        s.add(WebSession(token_hash=token_hash(token), person_id=person_id, org_id=org_id, csrf_token=csrf,
                         created_at=now, last_seen_at=now, expires_at=now + SESSION_IDLE))
        s.commit()
    return cast(SessionInfo, session_of(store, token, now))  # just opened


def session_of(store: Store, token: str | None, now: dt.datetime) -> SessionInfo | None:
    """The live session this cookie names, its idle time renewed; None when unknown, expired or revoked. Read
    without the write lock (SQLite takes it up front): a renewal writes at most once a minute."""
    if not token or len(token) > 100:
        return None
    key = token_hash(token)
    with store.reading() as s:
        found = s.execute(select(WebSession, Person.name, Person.active, Account.is_admin)
                          .join(Person, Person.id == WebSession.person_id)
                          .outerjoin(Account, Account.person_id == WebSession.person_id)
                          .where(WebSession.token_hash == key)).first()
    if found is None:
        return None
    row, name, active, is_admin = found
    if row.revoked_at is not None or row.expires_at < now or row.created_at + SESSION_MAX < now or not active:
        return None
    expires = row.expires_at
    if now - row.last_seen_at > dt.timedelta(minutes=1):
        expires = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
        with store.writing() as s:
            s.execute(update(WebSession).where(WebSession.token_hash == key, WebSession.revoked_at.is_(None))
                      .values(last_seen_at=now, expires_at=expires))
            s.commit()
    return SessionInfo(token, row.person_id, name, row.org_id, row.csrf_token, bool(is_admin), expires)


def choose_org(store: Store, info: SessionInfo, org_id: str, now: dt.datetime) -> SessionInfo:
    with store.writing() as s:
        if org_id not in dict(acting_choices(s, info.person_id)):
            raise Refusal("wrong_level", "您不在所选组织任职", "DOMAIN §1")
        row = cast(WebSession, s.get(WebSession, token_hash(info.token)))  # the caller's live session
        row.org_id = org_id
        _audit(s, now, "choose_org", info.actor(), org=org_id)
        s.commit()
    return cast(SessionInfo, session_of(store, info.token, now))  # still live


def close_session(store: Store, token: str, now: dt.datetime) -> None:
    with store.writing() as s:
        row = s.get(WebSession, token_hash(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
            _audit(s, now, "sign_out", Actor(row.person_id, Channel.WEB))
            s.commit()


# ---------------------------------------------------------------- personal access tokens

def create_token(store: Store, *, actor: Actor, name: str, now: dt.datetime,
                 expires_at: dt.datetime | None = None) -> str:
    if not actor.person_id:
        raise Refusal("actor_required", "须指明令牌的持有人", "DOMAIN §1")
    name = name.strip()[:80] or "API"
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with store.writing() as s:
        if s.get(Person, actor.person_id) is None:
            raise NotFound("人员", actor.person_id)
        s.add(AccessToken(id=token_id, person_id=actor.person_id, org_id=actor.org_id, name=name,
                          secret_hash=token_hash(secret), created_at=now, expires_at=expires_at))
        _audit(s, now, "create_token", actor, token=token_id, name=name)
        s.commit()
    return f"lc_{token_id}_{secret}"


def token_actor(store: Store, token: str | None, now: dt.datetime) -> Actor | None:
    if not token or not token.startswith("lc_") or len(token) > 120:
        return None
    _, _, rest = token.partition("lc_")
    token_id, _, secret = rest.partition("_")
    with store.reading() as s:
        found = s.execute(select(AccessToken, Person.active).join(Person, Person.id == AccessToken.person_id)
                          .where(AccessToken.id == token_id)).first()
    if found is None:
        return None
    row, active = found
    if row.revoked_at is not None or (row.expires_at and row.expires_at < now) or not active:
        return None
    if not hmac.compare_digest(row.secret_hash, token_hash(secret)):
        return None
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=5):
        with store.writing() as s:
            s.execute(update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=now))
            s.commit()
    return Actor(row.person_id, Channel.API, org_id=row.org_id, via=f"token:{row.id}")


def people_of(session: Session, actor: Actor, now: dt.datetime, *, admin: bool) -> list[PersonLine]:
    """The people of the organisations the actor sees (everyone, for a system administrator), with their roles,
    whether the actor may invite them, and their sign-in state."""
    orgs = None if admin else visible_orgs(session, actor)
    q = select(Person, PersonRole.role, Organisation.name).join(PersonRole, PersonRole.person_id == Person.id) \
        .join(Organisation, Organisation.id == PersonRole.org_id).order_by(Organisation.name, Person.name)
    if orgs is not None:
        q = q.where(PersonRole.org_id.in_(orgs))
    accounts_ = {a.person_id: a for a in session.scalars(select(Account))}
    people: dict[str, PersonLine] = {}
    for person, role, org_name in session.execute(q).all():
        line = people.get(person.id)
        if line is None:
            people[person.id] = line = PersonLine(id=person.id, name=person.name, roles=[], state="",
                                                  may_invite=may_keep_person(session, actor, person.id))
        line.roles.append(f"{org_name} · {role.label}")
        account = accounts_.get(person.id)
        line.state = ("未开通" if account is None or account.password_hash is None else
                      "已锁定" if account.locked_until and account.locked_until > now else "已开通")
    return list(people.values())
