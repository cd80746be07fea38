"""The unit of work every user action runs in: one transaction, the audit trail, the outbox, and idempotency under a
caller-supplied request ID (a repeated submission gets the same answer and changes nothing)."""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models.actor import Actor, Channel
from models.codes import Role
from models.errors import ConcurrentEdit, NotFound, Refusal
from models.store import AuditEvent, OutboxRow, Person, PersonRole, RequestRecord
from models.timing import as_utc, utcnow
from models.views import Answer

from . import outbox_signal
from .db import Store

log = logging.getLogger("lostcontact.casework")
A = TypeVar("A", bound=Answer)
A_co = TypeVar("A_co", bound=Answer, covariant=True)


class ActionFn(Protocol[A_co]):
    """A casework action as callers see it: `fn(store, request_id=..., actor=..., now=..., **kwargs) -> view`;
    `__wrapped__` is the body, for an action that runs another inside its own unit of work."""

    action_name: str
    view: Any
    __wrapped__: Callable[..., Any]

    def __call__(self, store: Store, **kwargs: Any) -> A_co: ...


class StoreError(RuntimeError):
    """A database error inside an action, told without the driver's text (which may quote personal data)."""


@dataclass
class Work:
    """What an action has at hand: the session, the clock, and who acts."""

    session: Session
    now: Any
    actor_id: str | None
    request_id: str | None
    action: str
    events: list[dict[str, Any]] = field(default_factory=list)
    advanced: bool = False  # outbox rows added: the runners are signalled at the commit
    actor: Actor = field(default_factory=Actor.system)

    def audit(self, *, case_id: str | None = None, org_id: str | None = None, **payload: Any) -> None:
        self.session.add(AuditEvent(at=self.now, actor_id=self.actor_id, org_id=org_id, action=self.action,
                                    case_id=case_id, request_id=self.request_id, channel=self.actor.channel.value,
                                    via=self.actor.via, payload=_jsonable(payload)))

    def roles(self) -> dict[str, set[Role]]:
        """The acting person's roles by organisation, cut down to the organisation they act for."""
        return person_roles(self.session, self.actor)

    def advance(self, case_id: str, event: str, **payload: Any) -> None:
        """Tell the case's flow run that the store moved on (drained by the case runner after the commit)."""
        self.session.add(OutboxRow(case_id=case_id, event=event, payload=_jsonable(payload), created_at=self.now,
                                   tries=0))
        self.advanced = True


def person_roles(session: Session, actor: Actor) -> dict[str, set[Role]]:
    if not actor.person_id:
        raise Refusal("actor_required", "须指明办理人", "DOMAIN §1")
    person = session.get(Person, actor.person_id)
    if person is None or not person.active:
        raise NotFound("办理人", actor.person_id)
    roles: dict[str, set[Role]] = {}
    for org_id, role in session.execute(select(PersonRole.org_id, PersonRole.role)
                                        .where(PersonRole.person_id == actor.person_id)):
        if actor.org_id is None or org_id == actor.org_id:
            roles.setdefault(org_id, set()).add(role)
    return roles


def fingerprint(action: str, payload: dict[str, Any]) -> str:
    # surrogatepass: a lone surrogate (any bytes a client sent) must reach the entrance's refusal, not fail here
    return hashlib.sha256(json.dumps([action, _jsonable(payload)], sort_keys=True, ensure_ascii=False)
                          .encode("utf-8", "surrogatepass")).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    if hasattr(value, "__dict__"):
        return {k: v for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


@contextmanager
def _transaction(store: Store) -> Iterator[Session]:
    session = store.writing()
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentEdit() from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def action(name: str, view: type[A]) -> Callable[[Callable[..., A | dict[str, Any]]], ActionFn[A]]:
    """Make a casework function a user action answering with `view` (a Pydantic model of models.views).

    The function is called as `fn(work, **kwargs)` inside one transaction and returns the view (or its fields, which
    are validated into it); callers call `fn(store, request_id=..., actor=Actor(...), now=..., **kwargs)`
    (`actor_id=` alone means a system caller naming a person: tests, the demo, flows). With a request ID, a repeat
    with the same arguments returns the first answer, read back into the same view with `replayed` set, and writes
    nothing; the same ID with other arguments is refused."""

    def wrap(fn: Callable[..., A | dict[str, Any]]) -> ActionFn[A]:
        @functools.wraps(fn)
        def run(store: Store, *, request_id: str | None = None, actor_id: str | None = None, now=None,
                actor: Actor | None = None, **kwargs: Any) -> A:
            moment = as_utc(now) if now is not None else utcnow()
            if actor is None:
                actor = Actor(actor_id, Channel.SYSTEM)
            actor_id = actor.person_id
            print_ = fingerprint(name, {"actor": actor_id, **kwargs})
            if request_id:
                replay = _replay(store, request_id, name, print_, view)
                if replay is not None:
                    return replay
            try:
                with _transaction(store) as session:
                    work = Work(session, moment, actor_id, request_id, name, actor=actor)
                    result = view.model_validate(fn(work, **kwargs))
                    if request_id:
                        session.add(RequestRecord(request_id=request_id, action=name, fingerprint=print_,
                                                  result=result.model_dump(mode="json"), created_at=moment))
                        session.flush()
                    if work.advanced:
                        outbox_signal.signal(session)
                    return result
            except (IntegrityError, Refusal) as exc:
                # Two submissions of one request raced. The loser fails on the request's key, on a row the winner
                # changed (a stale version), or on the rules (the step the winner closed); the winner committed
                # first, so its answer is on record: the loser replays it.
                if request_id:
                    replay = _replay(store, request_id, name, print_, view)
                    if replay is not None:
                        return replay
                if isinstance(exc, Refusal):
                    raise
                if not _is_duplicate(exc):  # a NOT NULL or foreign key violation: a fault, not a race
                    log.error("%s: database integrity error (%s)", name, _constraint(exc))
                    raise StoreError(f"数据库出错（{type(exc.orig).__name__}），本次未作任何改动") from None
                # Concurrent duplicates without a request id (one campaign id, one roster): a clear refusal. The
                # driver's message quotes the rows (personal data): neither shown nor logged.
                log.warning("%s: a concurrent write won (%s)", name, _constraint(exc))
                raise Refusal("concurrent_duplicate", "另一项同时提交的相同操作已先完成（如同一编号已被使用），本次未作任何改动；"
                              "请刷新后查看结果", "DOMAIN §5") from None
            except DBAPIError as exc:
                # Any other database error: PostgreSQL's own text quotes the failing row (a name, a phone). An
                # unexpected error still, but one that says only which kind.
                log.error("%s: database error (%s)", name, type(exc.orig).__name__)
                raise StoreError(f"数据库出错（{type(exc.orig).__name__}），本次未作任何改动") from None

        run.action_name = name  # type: ignore[attr-defined]
        run.view = view  # type: ignore[attr-defined]
        return cast(ActionFn[A], run)

    return wrap


def _is_duplicate(exc: IntegrityError) -> bool:
    """A unique key taken (the race a duplicate submission loses), as PostgreSQL (SQLSTATE 23505) or SQLite says it."""
    return getattr(exc.orig, "sqlstate", None) == "23505" or str(exc.orig).startswith("UNIQUE constraint failed")


def _constraint(exc: IntegrityError) -> str:
    """The violated constraint's name where the driver says it (PostgreSQL), else the error's class: never values."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) or type(exc.orig).__name__


def _replay(store: Store, request_id: str, name: str, print_: str, view: type[A]) -> A | None:
    with store.reading() as session:
        seen = session.scalar(select(RequestRecord).where(RequestRecord.request_id == request_id))
        if seen is None:
            return None
        if seen.action != name or seen.fingerprint != print_:
            raise Refusal("request_id_reused", f"请求编号{request_id}已用于另一项操作（{seen.action}），不能用于不同内容的提交",
                          "DOMAIN §5", request_id=request_id)
        return view.model_validate({**seen.result, "replayed": True})
