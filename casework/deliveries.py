"""The store side of notifications: channels (set, listed masked, removed, checked by Apprise when entered), the
queue of messages (one `notifications` row per message and channel, UNIQUE dedupe key), claims under a lease,
outcomes, retries, and who is not reached. notifications/ composes and sends; it writes the store only through
`Desk`, which this module implements (DESIGN: notifications imports only models)."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import Any, cast

import apprise
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from models.channels_store import (FAILED, FAILED_FINAL, GROUP_SCHEMES, QUEUED, SENDING, SENT, SKIPPED, UNCERTAIN, Channel,
                                   Outgoing, Queued, StepAnnouncement, Target)
from models.codes import Role
from models.errors import NotFound, Refusal
from models.store import Notification, Organisation, Person, PersonRole
from models.views import ChannelRemoved, ChannelView, DeliveryReport

from . import channel_secrets as secrets
from .db import Store
from .queries import Waiting, waits_on
from .uow import Work, action

CHANNEL_KEEPERS = {Role.SECRETARY, Role.DEPUTY_SECRETARY, Role.STAFF}


# ---------------------------------------------------------------- channels

def check_url(url: str) -> str:
    """The scheme of an Apprise URL that Apprise accepts; refused otherwise (the URL is never repeated back)."""
    url = (url or "").strip()
    if not url or len(url) > 2000 or any(c in url for c in "\r\n\t "):
        raise Refusal("bad_channel", "渠道地址为空、过长或含有空白字符", "DOMAIN §6")
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        raise Refusal("bad_channel", f"渠道地址无法识别（{secrets.scheme_of(url)}://…），请按说明填写企业微信、钉钉、"
                      "飞书群机器人或电子邮件地址", "DOMAIN §6")
    # The plugin's own scheme: a WeCom webhook given as https://qyapi.weixin.qq.com/... is a wecombot channel.
    return secrets.scheme_of(plugin.url(privacy=True))


def _ancestors(session: Session, org_id: str) -> list[str]:
    chain, seen = [], set()
    while org_id and org_id not in seen:
        seen.add(org_id)
        chain.append(org_id)
        org_id = session.scalar(select(Organisation.parent_id).where(Organisation.id == org_id))
    return chain


def _check_keeper(work: Work, orgs: Iterable[str], person_id: str | None) -> None:
    """No actor: the operator at the machine (who holds the database and the key). Otherwise the person themself,
    or a secretary or staff member of the organisation or one above it."""
    if work.actor_id is None or (person_id and work.actor_id == person_id):
        return
    s = work.session
    held = {(r.org_id, r.role) for r in s.scalars(select(PersonRole).where(PersonRole.person_id == work.actor_id))}
    for org_id in orgs:
        if any((o, role) in held for o in _ancestors(s, org_id) for role in CHANNEL_KEEPERS):
            return
    raise Refusal("not_channel_keeper", "只有本人、本组织或上级组织的书记、工作人员可以设置提醒渠道", "DOMAIN §1")


def _owner(s: Session, org_id: str | None, person_id: str | None) -> tuple[str, list[str]]:
    if bool(org_id) == bool(person_id):
        raise Refusal("channel_owner", "提醒渠道须属于一个组织（群机器人）或一个人（本人渠道），二者选一", "DOMAIN §6")
    if org_id:
        if s.get(Organisation, org_id) is None:
            raise NotFound("组织", org_id)
        return f"org:{org_id}", [org_id]
    if s.get(Person, person_id) is None:
        raise NotFound("人员", person_id)
    return f"person:{person_id}", list(s.scalars(select(PersonRole.org_id).where(PersonRole.person_id == person_id)))


def channel_view(c: Channel) -> ChannelView:
    return ChannelView(channel_id=c.id, org_id=c.org_id, person_id=c.person_id, scheme=c.scheme, group=c.org_id is not None,
                label=c.label, masked=secrets.mask(c.scheme, c.tail), active=c.active)


@action("set_channel", ChannelView)
def set_channel(work: Work, *, url: str, org_id: str | None = None, person_id: str | None = None,
                label: str | None = None) -> ChannelView:
    """Add a channel to an organisation (its group) or a person (their own), encrypted; the same URL again only
    updates its label. A group robot belongs to an organisation, not to a person (else every person in the group
    would bring it one more copy of every message)."""
    s = work.session
    scheme = check_url(url)
    owner, orgs = _owner(s, org_id, person_id)
    if person_id and scheme in GROUP_SCHEMES:
        raise Refusal("group_channel_on_person", "群机器人（企业微信群、钉钉群、飞书群）请设为组织的提醒渠道，"
                      "这样一个群每件事只收到一条消息", "DOMAIN §6")
    _check_keeper(work, orgs, person_id)
    print_ = secrets.fingerprint(url)
    row = s.scalar(select(Channel).where(Channel.owner == owner, Channel.fingerprint == print_))
    if row is None:
        row = Channel(owner=owner, org_id=org_id, person_id=person_id, scheme=scheme, secret=secrets.encrypt(url.strip()),
                      fingerprint=print_, tail=secrets.tail_of(url), label=(label or None) and label[:100],
                      active=True, created_at=work.now, updated_at=work.now)
        s.add(row)
    else:
        row.label, row.active, row.updated_at = (label or row.label), True, work.now
    s.flush()
    view = channel_view(row)
    work.audit(org_id=org_id, owner=owner, channel_id=row.id, scheme=scheme, masked=view.masked)
    return view


@action("remove_channel", ChannelRemoved)
def remove_channel(work: Work, *, channel_id: int) -> ChannelRemoved:
    s = work.session
    row = s.get(Channel, int(channel_id))
    if row is None:
        raise NotFound("提醒渠道", channel_id)
    _check_keeper(work, [row.org_id] if row.org_id else
                  list(s.scalars(select(PersonRole.org_id).where(PersonRole.person_id == row.person_id))),
                  row.person_id)
    view = ChannelRemoved(**channel_view(row).model_dump())
    s.delete(row)
    work.audit(org_id=row.org_id, owner=row.owner, channel_id=row.id, scheme=row.scheme, masked=view.masked)
    return view


def list_channels(session: Session, *, org_id: str | None = None, person_id: str | None = None) -> list[ChannelView]:
    q = select(Channel).order_by(Channel.owner, Channel.id)
    if org_id:
        q = q.where(Channel.org_id == org_id)
    if person_id:
        q = q.where(Channel.person_id == person_id)
    return [channel_view(c) for c in session.scalars(q)]


def channel_url(session: Session, channel_id: int) -> str | None:
    row = session.get(Channel, channel_id)
    return secrets.decrypt(row.secret) if row is not None and row.active else None


def migrate_person_urls(store: Store, *, now: dt.datetime) -> int:
    """Move the people's clear `notify_urls` (older stores, `orgs import`) into encrypted channels and clear them: a
    group robot goes to the organisation the person acts for (to each, if several), anything else to the person. One
    group given to two people becomes one channel. Returns the number of people migrated."""
    with store.reading() as s:
        if not s.scalar(select(func.count()).select_from(Person).where(Person.notify_urls.is_not(None))):
            return 0
    with store.writing() as s:
        people = s.scalars(select(Person).where(Person.notify_urls.is_not(None))).all()
        for person in people:
            orgs = sorted(set(s.scalars(select(PersonRole.org_id).where(PersonRole.person_id == person.id))))
            for line in cast(str, person.notify_urls).splitlines():  # selected where not None
                url = line.strip()
                if not url or url.startswith("#"):
                    continue
                try:
                    scheme = check_url(url)
                except Refusal:
                    continue
                owners = [("org", o) for o in orgs] if scheme in GROUP_SCHEMES and orgs else [("person", person.id)]
                for kind, oid in owners:
                    owner = f"{kind}:{oid}"
                    print_ = secrets.fingerprint(url)
                    if s.scalar(select(Channel.id).where(Channel.owner == owner, Channel.fingerprint == print_)):
                        continue
                    s.add(Channel(owner=owner, org_id=oid if kind == "org" else None,
                                  person_id=oid if kind == "person" else None, scheme=scheme,
                                  secret=secrets.encrypt(url), fingerprint=print_, tail=secrets.tail_of(url),
                                  label="由人员信息迁移", active=True, created_at=now, updated_at=now))
                    s.flush()
            person.notify_urls = None
        s.commit()
        return len(people)


def rekey_channels(store: Store, *, now: dt.datetime) -> int:
    """Re-encrypt every channel under the first key of the configured list (after a new key was put in front of the
    old ones) and recompute its fingerprint. Returns the number of channels rewritten."""
    with store.writing() as s:
        rows = s.scalars(select(Channel)).all()
        for c in rows:
            c.secret = secrets.rotate(c.secret)
            c.fingerprint = secrets.fingerprint(secrets.decrypt(c.secret))
            c.updated_at = now
        s.commit()
        return len(rows)


def unreached(session: Session) -> dict[str, list[dict]]:
    """Who no message reaches: organisations without a group channel whose people have no channel of their own
    either, and active people without a channel of their own in no organisation with a group."""
    org_channels = set(session.scalars(select(Channel.org_id).where(Channel.org_id.is_not(None), Channel.active)))
    own = set(session.scalars(select(Channel.person_id).where(Channel.person_id.is_not(None), Channel.active)))
    roles: dict[str, set[str]] = {}
    for pid, oid in session.execute(select(PersonRole.person_id, PersonRole.org_id)):
        roles.setdefault(pid, set()).add(oid)
    people = [{"person_id": p.id, "name": p.name, "orgs": sorted(roles.get(p.id, ()))}
              for p in session.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.id))
              if p.id not in own and not roles.get(p.id, set()) & org_channels]
    orgs = []
    for o in session.scalars(select(Organisation).order_by(Organisation.id)):
        members = [pid for pid, held in roles.items() if o.id in held]
        if o.id not in org_channels and not any(pid in own for pid in members):
            orgs.append({"org_id": o.id, "name": o.name, "people": len(members)})
    return {"organisations": orgs, "people": people}


def failures(session: Session, *, limit: int = 200) -> list[dict[str, Any]]:
    """Messages given up after every retry (failed_final), and those whose sender died mid-send (uncertain: perhaps
    delivered, not sent again), newest first."""
    rows = session.scalars(select(Notification).where(Notification.status.in_([FAILED_FINAL, UNCERTAIN]))
                           .order_by(Notification.attempted_at.desc(), Notification.id.desc()).limit(limit))
    return [{"id": n.id, "kind": n.kind, "person_id": n.person_id, "org_id": n.org_id, "channel": n.channel,
             "case_id": n.case_id, "step_id": n.step_id, "tries": n.tries, "error": n.error,
             "attempted_at": n.attempted_at.isoformat() if n.attempted_at else None, "status": n.status}
            for n in rows]


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Notification.status, func.count()).group_by(Notification.status))
                .tuples().all())


def delivery_report(session: Session) -> DeliveryReport:
    return DeliveryReport.model_validate({**unreached(session), "failed": failures(session),
                                          "counts": delivery_counts(session)})


# ---------------------------------------------------------------- the desk notifications/ works through

class Desk:
    """What notifications/ may do with the store (its `Desk` protocol): read, ask who a step waits on and where an
    organisation's and people's messages go, and queue, claim and record messages."""

    def __init__(self, store: Store):
        self.store = store

    def reading(self) -> Session:
        return self.store.reading()

    def waits_on(self, session: Session, **where) -> list[Waiting]:
        return waits_on(session, **where)

    def group_targets(self, session: Session, org_ids: Iterable[str]) -> dict[str, list[Target]]:
        """Each organisation's active group channels (an organisation without one is absent)."""
        out: dict[str, list[Target]] = {}
        org_ids = sorted(set(org_ids))
        for i in range(0, len(org_ids), 500):
            for c in session.scalars(select(Channel).where(Channel.org_id.in_(org_ids[i:i + 500]), Channel.active)
                                     .order_by(Channel.id)):
                out.setdefault(cast(str, c.org_id), []).append(  # selected by org_id
                    Target(f"c{c.id}", c.id, c.scheme, c.org_id, None, c.fingerprint))
        return out

    def person_targets(self, session: Session, person_ids: Iterable[str]) -> dict[str, list[Target]]:
        """Each active person's own channels; an active person without any maps to an empty list, an inactive or
        unknown one is absent (nothing is sent to them)."""
        person_ids = sorted(set(person_ids))
        out: dict[str, list[Target]] = {}
        for i in range(0, len(person_ids), 500):
            chunk = person_ids[i:i + 500]
            for pid in session.scalars(select(Person.id).where(Person.id.in_(chunk), Person.active.is_(True))):
                out[pid] = []
            for c in session.scalars(select(Channel).where(Channel.person_id.in_(chunk), Channel.active)
                                     .order_by(Channel.id)):
                if c.person_id in out:
                    out[c.person_id].append(Target(f"c{c.id}", c.id, c.scheme, None, c.person_id, c.fingerprint))
        return out

    def deciders(self, session: Session, org_id: str) -> list[str]:
        """The people who may decide at an organisation (escalations go to them)."""
        return sorted({pid for pid, role in session.execute(
            select(PersonRole.person_id, PersonRole.role).where(PersonRole.org_id == org_id)) if role.may_decide})

    def known(self, keys: list[str]) -> set[str]:
        return self._present(Notification.dedupe_key, keys)

    def covered(self, step_ids: list[str]) -> set[str]:
        """The steps whose opening an announcement already covers."""
        return self._present(StepAnnouncement.step_id, step_ids)

    def _present(self, column: Any, values: list[str]) -> set[str]:
        """Which of the values the column holds, asked 500 at a time (bound-parameter limits)."""
        found: set[str] = set()
        with self.store.reading() as s:
            for i in range(0, len(values), 500):
                found.update(s.scalars(select(column).where(column.in_(values[i:i + 500]))))
        return found

    def enqueue(self, messages: list[Outgoing], *, now: dt.datetime, cover: list[str] | None = None,
                event: str = "") -> list[int] | None:
        """Insert each message's row unless its key exists (then nothing happens), and, in the same transaction, mark
        the steps `cover` as announced. Returns the ids of the new rows that have a channel (the ones to send), or
        None when another sender covered one of those steps first (nothing is written; compose again)."""
        if not messages and not cover:
            return []
        insert = sqlite_insert if self.store.is_sqlite else pg_insert
        with self.store.writing() as s:
            if cover:
                taken = set(s.scalars(insert(StepAnnouncement).values(
                    [{"step_id": sid, "event": event[:40], "at": now} for sid in cover])
                    .on_conflict_do_nothing(index_elements=["step_id"]).returning(StepAnnouncement.step_id)))
                if taken != set(cover):
                    s.rollback()
                    return None
            values = [{
                "dedupe_key": m.key[:200], "person_id": m.target.person_id, "org_id": m.org_id or m.target.org_id,
                "case_id": m.case_id, "step_id": m.step_id, "kind": m.kind, "channel": m.target.scheme,
                "channel_id": m.target.channel_id, "title": m.title[:1000], "body": m.body,
                "status": QUEUED if m.target.channel_id else SKIPPED, "tries": 0, "created_at": now,
                "next_attempt_at": now if m.target.channel_id else None} for m in messages]
            for i in range(0, len(values), 200):
                s.execute(insert(Notification).values(values[i:i + 200])
                          .on_conflict_do_nothing(index_elements=["dedupe_key"]))
            s.commit()
        with self.store.reading() as s:
            keys = [m.key[:200] for m in messages if m.target.channel_id]
            ids: list[int] = []
            for i in range(0, len(keys), 500):
                ids += s.scalars(select(Notification.id).where(Notification.dedupe_key.in_(keys[i:i + 500]),
                                                               Notification.status == QUEUED,
                                                               Notification.created_at == now))
            return sorted(ids)

    def due(self, *, now: dt.datetime, lease: dt.timedelta, ids: list[int] | None = None,
            limit: int = 1000) -> list[Queued]:
        """Rows to try now: queued or failed ones whose time has come. (A claim left `sending` by a sender that died
        is never tried again: give_up_stale.)"""
        with self.store.reading() as s:
            q = (select(Notification).where(Notification.channel_id.is_not(None),
                                            Notification.status.in_([QUEUED, FAILED]),
                                            Notification.next_attempt_at <= now)
                 .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
            if ids is not None:
                q = q.where(Notification.id.in_(ids[:1000]))
            return [Queued(n.id, n.dedupe_key, n.channel_id, n.channel, n.title or "", n.body or "", n.tries)
                    for n in s.scalars(q)]

    def window(self, channel_id: int, *, since: dt.datetime) -> tuple[int, dt.datetime | None]:
        """Attempts through a channel since a moment (what its rate limit counts), and the oldest of them."""
        with self.store.reading() as s:
            n, oldest = s.execute(select(func.count(), func.min(Notification.attempted_at)).where(
                Notification.channel_id == channel_id, Notification.attempted_at > since,
                Notification.status.in_([SENDING, SENT, FAILED, FAILED_FINAL, UNCERTAIN]))).one()
            return n, oldest

    def defer(self, row_id: int, until: dt.datetime) -> None:
        with self.store.writing() as s:
            s.execute(update(Notification).where(Notification.id == row_id, Notification.status.in_([QUEUED, FAILED]))
                      .values(next_attempt_at=until).execution_options(synchronize_session=False))
            s.commit()

    def claim(self, row: Queued, *, now: dt.datetime, lease: dt.timedelta, max_tries: int) -> int | None:
        """Take a row for sending (committed before the send). Returns its try number, or None if another sender
        has it, it was sent meanwhile, or its tries are spent."""
        with self.store.writing() as s:
            taken = s.execute(
                update(Notification).where(Notification.id == row.id, Notification.tries < max_tries,
                                           Notification.status.in_([QUEUED, FAILED]),
                                           Notification.next_attempt_at <= now)
                .values(status=SENDING, tries=Notification.tries + 1, attempted_at=now)
                .execution_options(synchronize_session=False))
            s.commit()
            if cast("CursorResult[Any]", taken).rowcount != 1:
                return None
            return s.scalar(select(Notification.tries).where(Notification.id == row.id))

    def give_up_stale(self, *, now: dt.datetime, lease: dt.timedelta) -> int:
        """Claims left `sending` longer than the lease: their sender died between taking them and recording the
        outcome, so the message may have gone out. Sending it again could deliver it twice; it is marked uncertain
        and listed with the failures for a person to check instead."""
        with self.store.writing() as s:
            done = s.execute(
                update(Notification).where(Notification.status == SENDING, Notification.attempted_at < now - lease)
                .values(status=UNCERTAIN, next_attempt_at=None,
                        error="发送过程中断（发送进程在发出后、登记前退出），可能已送达；为免重复，不再重发")
                .execution_options(synchronize_session=False))
            s.commit()
            return cast("CursorResult[Any]", done).rowcount

    def record(self, row_id: int, *, ok: bool, error: str | None, now: dt.datetime,
               retry_at: dt.datetime | None) -> None:
        status = SENT if ok else (FAILED if retry_at else FAILED_FINAL)
        with self.store.writing() as s:
            s.execute(update(Notification).where(Notification.id == row_id, Notification.status == SENDING)
                      .values(status=status, sent_at=now if ok else None, error=error,
                              next_attempt_at=None if ok else retry_at)
                      .execution_options(synchronize_session=False))
            s.commit()

    def channel_url(self, channel_id: int) -> str | None:
        with self.store.reading() as s:
            return channel_url(s, channel_id)

    def channel_target(self, channel_id: int) -> tuple[Target, str, str]:
        """A channel as a target, its owner's name and its masked form (for a test message)."""
        with self.store.reading() as s:
            c = s.get(Channel, int(channel_id))
            if c is None:
                raise NotFound("提醒渠道", channel_id)
            owner = (cast(Organisation, s.get(Organisation, c.org_id)).name if c.org_id  # foreign keys
                     else cast(Person, s.get(Person, c.person_id)).name)
            target = Target(f"c{c.id}", c.id, c.scheme, c.org_id, c.person_id, c.fingerprint)
            return target, owner, secrets.mask(c.scheme, c.tail)


_last_migration: dict[str, float] = {}


def migrate_now_and_then(store: Store, *, now: dt.datetime, every_seconds: float = 60.0) -> int:
    """`migrate_person_urls` at most once a minute per process and store: `orgs import` may still write clear
    `notify_urls`, and the case runner should not pay a query per segment for it."""
    last = _last_migration.get(store.url)
    if last is not None and time.monotonic() - last < every_seconds:
        return 0
    _last_migration[store.url] = time.monotonic()
    return migrate_person_urls(store, now=now)
