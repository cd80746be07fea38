"""The case store's tables (SQLAlchemy 2 typed ORM). The store is the system of record: a case's whole history can
be read back from these rows alone. Only `casework` writes them.

Times are kept in UTC (`UtcDateTime`); calendar dates of the rules (birth, last contact, campaign start) are dates.
Enums are kept as their stable text values; the numbered codes of [002] as their numbers."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from .catalogue import Column, Contact, Disposition
from .codes import (Body, CampaignPhase, CaseState, FollowUpKind, FollowUpStatus, Gender, MemberKind, Occupation,
                    OrgCategory, OrgKind, Outcome, ReferralTarget, Role, Situation, Stage, StepKind, StepStatus, Verdict)
from .membership import MemberStatus
from .protect import Encrypted, lookup_hash
from .timing import UTC


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps them naive) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IntCode(TypeDecorator):
    """A numbered code of [002] kept as its number."""

    impl = Integer
    cache_ok = True

    def __init__(self, enum_cls):
        super().__init__()
        self.enum_cls = enum_cls

    def process_bind_param(self, value, dialect):
        return None if value is None else int(value)

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_cls(value)


def _enum(cls) -> SAEnum:
    return SAEnum(cls, native_enum=False, create_constraint=False, length=40,
                  values_callable=lambda e: [m.value for m in e], validate_strings=True)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime(), dict[str, Any]: JSON(), str: String(200)}


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the organisation's own code
    name: Mapped[str]
    kind: Mapped[OrgKind] = mapped_column(_enum(OrgKind))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    category: Mapped[OrgCategory | None] = mapped_column(IntCode(OrgCategory))
    county_or_higher: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]

    parent: Mapped[Organisation | None] = relationship(remote_side=[id])


class Person(Base):
    """Someone who acts in the system: a branch secretary, a committee member, an officer of a department."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str]
    phone: Mapped[str | None] = mapped_column(Encrypted())  # encrypted at rest (models.protect)
    email: Mapped[str | None]
    notify_urls: Mapped[str | None] = mapped_column(Text)  # Apprise URLs, one per line
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]

    roles: Mapped[list[PersonRole]] = relationship(back_populates="person", cascade="all, delete-orphan")


class PersonRole(Base):
    __tablename__ = "person_roles"
    __table_args__ = (UniqueConstraint("person_id", "org_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role))

    person: Mapped[Person] = relationship(back_populates="roles")


class Member(Base):
    """A party member as the roster and the forms describe them [000 §6] [002 annex 4] [004]."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Encrypted at rest (models.protect), found through `id_hash`, the keyed hash of the 18-character form.
    id_number: Mapped[str] = mapped_column(Encrypted(), unique=True)
    id_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    gender: Mapped[Gender] = mapped_column(_enum(Gender))
    ethnicity: Mapped[str | None] = mapped_column(String(40))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(Encrypted())
    position: Mapped[str | None]
    occupation: Mapped[Occupation | None] = mapped_column(IntCode(Occupation))
    kind: Mapped[MemberKind] = mapped_column(_enum(MemberKind))
    last_contact_on: Mapped[dt.date | None] = mapped_column(Date)
    situation: Mapped[Situation | None] = mapped_column(IntCode(Situation))
    backup_contact: Mapped[str | None]
    remarks: Mapped[str | None] = mapped_column(Text)
    away_since: Mapped[dt.date | None] = mapped_column(Date)
    reported_to_branch: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # Written by the cases (models.membership): dead, out of the party, suspended, transferred out; with when and why.
    status: Mapped[MemberStatus] = mapped_column(_enum(MemberStatus), default=MemberStatus.ACTIVE,
                                                 server_default=MemberStatus.ACTIVE.value)
    status_since: Mapped[dt.datetime | None]
    status_note: Mapped[str | None] = mapped_column(Text)

    branch: Mapped[Organisation] = relationship()

    @validates("id_number")
    def _hash_id_number(self, _key: str, value: str) -> str:
        self.id_hash = lookup_hash(value) if value else None
        return value


class Campaign(Base):
    """A time-boxed sweep (集中排查) run by a base committee; its start date fixes who is lost-contact [004]."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str]
    start_date: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime]

    phases: Mapped[list[CampaignPhaseRow]] = relationship(order_by="CampaignPhaseRow.due_at",
                                                          cascade="all, delete-orphan")


class CampaignPhaseRow(Base):
    __tablename__ = "campaign_phases"
    __table_args__ = (UniqueConstraint("campaign_id", "phase"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    phase: Mapped[CampaignPhase] = mapped_column(_enum(CampaignPhase))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    due_at: Mapped[dt.datetime]


class Case(Base):
    """One lost-contact member in one campaign: the search and the disposition, one flow run."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("campaign_id", "member_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    branch_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    base_committee_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    catalogue_version: Mapped[str] = mapped_column(String(20))
    state: Mapped[CaseState] = mapped_column(_enum(CaseState), index=True)
    search_stage: Mapped[Stage | None] = mapped_column(_enum(Stage))
    contact: Mapped[Contact | None] = mapped_column(_enum(Contact))
    managed_elsewhere: Mapped[bool] = mapped_column(Boolean, default=False)
    dead: Mapped[bool] = mapped_column(Boolean, default=False)
    disposition_id: Mapped[str | None] = mapped_column(String(80))  # the disposition in progress, if any
    column: Mapped[Column] = mapped_column(_enum(Column))  # where the statistics count it now
    suspended_at: Mapped[dt.datetime | None]
    lost_reasons: Mapped[str | None] = mapped_column(Text)  # 失联原因
    conduct: Mapped[str | None] = mapped_column(Text)  # 失联期间表现调查核实情况
    search_ended_on: Mapped[dt.date | None] = mapped_column(Date)
    # The first day the statistics count the case (a pocket member: six months after the last contact, see
    # models.statistics.counts_on); None: from its opening.
    counted_from: Mapped[dt.date | None] = mapped_column(Date)
    # The member's last contact when the case opened: the lost-contact time runs from it (the member's own date
    # moves on when the search finds them).
    last_contact_on: Mapped[dt.date | None] = mapped_column(Date)
    opened_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}

    member: Mapped[Member] = relationship()
    steps: Mapped[list[Step]] = relationship(order_by="Step.seq", back_populates="case")
    attempts: Mapped[list[Attempt]] = relationship(order_by="Attempt.id")
    dispositions: Mapped[list[DispositionRow]] = relationship(order_by="DispositionRow.seq")


class Step(Base):
    """A unit of work in an inbox: a search stage, a proposal, or a review decision at one level."""

    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("case_id", "seq"), Index("ix_steps_inbox", "org_id", "status"))

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[StepKind] = mapped_column(_enum(StepKind))
    stage: Mapped[Stage | None] = mapped_column(_enum(Stage))
    disposition_id: Mapped[str | None] = mapped_column(ForeignKey("dispositions.id"))
    step_index: Mapped[int | None] = mapped_column(Integer)
    step_key: Mapped[str | None] = mapped_column(String(60))
    title: Mapped[str]
    body: Mapped[Body] = mapped_column(_enum(Body))
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    status: Mapped[StepStatus] = mapped_column(_enum(StepStatus))
    opened_at: Mapped[dt.datetime]
    due_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))
    verdict: Mapped[Verdict | None] = mapped_column(_enum(Verdict))
    opinion: Mapped[str | None] = mapped_column(Text)
    member_signed: Mapped[bool | None] = mapped_column(Boolean)
    signature_note: Mapped[str | None] = mapped_column(Text)
    guide: Mapped[str | None]
    vote: Mapped[dict[str, Any] | None]
    reopened_from: Mapped[str | None] = mapped_column(String(80))  # the step whose rejection reopened this one

    case: Mapped[Case] = relationship(back_populates="steps")


class Attempt(Base):
    """One search attempt: time, what was done, the witness who signs, a remark [002 annex 4]."""

    __tablename__ = "attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[str] = mapped_column(ForeignKey("steps.id"))
    stage: Mapped[Stage] = mapped_column(_enum(Stage))
    method: Mapped[str]
    description: Mapped[str] = mapped_column(Text)
    attempted_at: Mapped[dt.datetime]
    witness: Mapped[str] = mapped_column(String(80))
    remark: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    concludes_stage: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[dt.datetime]


class DispositionRow(Base):
    """A proposed disposition and its life: in progress, effective, completed, or withdrawn."""

    __tablename__ = "dispositions"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    code: Mapped[Disposition] = mapped_column(_enum(Disposition))
    catalogue_version: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # in_progress | effective | completed | withdrawn
    grounds: Mapped[str] = mapped_column(Text)  # why this disposition fits (the situation of [003])
    params: Mapped[dict[str, Any]]
    proposed_by: Mapped[str | None] = mapped_column(ForeignKey("people.id"))  # None when a follow-up opened it
    proposed_at: Mapped[dt.datetime]
    effective_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]


class Material(Base):
    """A document on file for a disposition (the checklist of [003])."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    disposition_id: Mapped[str] = mapped_column(ForeignKey("dispositions.id"), index=True)
    kind: Mapped[str]
    reference: Mapped[str] = mapped_column(Text)  # document number, archive location or file path
    filed_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    filed_at: Mapped[dt.datetime]


class FollowUp(Base):
    """Something that must happen at a time, perhaps years ahead; a Prefect run is scheduled for it too."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[FollowUpKind] = mapped_column(_enum(FollowUpKind))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"))
    subject_id: Mapped[str | None] = mapped_column(String(100))  # e.g. the transfer letter or the campaign phase
    due_at: Mapped[dt.datetime]
    status: Mapped[FollowUpStatus] = mapped_column(_enum(FollowUpStatus))
    created_at: Mapped[dt.datetime]
    fired_at: Mapped[dt.datetime | None]
    cancelled_at: Mapped[dt.datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class Referral(Base):
    """A discipline or law violation referred on; an organisational disposition never replaces it [001 §4]."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    target: Mapped[ReferralTarget] = mapped_column(_enum(ReferralTarget))
    summary: Mapped[str] = mapped_column(Text)
    referred_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    referred_at: Mapped[dt.datetime]


class TransferLetter(Base):
    """A transfer letter 组织关系介绍信 and its receipt 回执 [000 §2]; no receipt means a possible pocket member."""

    __tablename__ = "transfer_letters"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    receiving_org: Mapped[str]
    issued_on: Mapped[dt.date] = mapped_column(Date)
    validity_days: Mapped[int] = mapped_column(Integer)
    receipt_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime]


class CaseColumn(Base):
    """When a case moved to a statistics column, so a table can be drawn as of any past date."""

    __tablename__ = "case_columns"
    __table_args__ = (Index("ix_case_columns_case_since", "case_id", "since"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    column: Mapped[Column] = mapped_column(_enum(Column))
    since: Mapped[dt.datetime]


class AuditEvent(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table (triggers, see migrations)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    org_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(10))  # web | api | cli | system (models.actor.Channel)
    via: Mapped[str | None] = mapped_column(String(100))  # the CLI's system user, the API token's id
    payload: Mapped[dict[str, Any]]


class RequestRecord(Base):
    """A caller-supplied request ID and the answer it got, so a repeated submission is answered, not applied twice."""

    __tablename__ = "requests"

    request_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    action: Mapped[str] = mapped_column(String(60))
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]


class Installation(Base):
    """One row: this store's own ID, minted when the schema was created. It keeps Prefect idempotency keys of two
    stores apart when they share one Prefect server (a fresh demo store against a server that is still running)."""

    __tablename__ = "installation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime]


class OutboxRow(Base):
    """"Advance the run of case C": written in the same transaction as the decision, drained by the case runner."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "done_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    event: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    tries: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """One message actually attempted to one person (notifications/). The UNIQUE `dedupe_key` makes every send
    idempotent: the row is inserted and committed first (the claim), the message is sent outside any transaction,
    then the outcome is recorded. `channel` holds URL schemes only (e.g. "mailto,wecombot"), never a secret URL.

    status: sending (claimed, in flight) | sent | failed (a later call may retry, up to a bound on `tries`) |
    skipped_no_channel (the person has no Apprise URL). kind: step_opened | reminder | escalation | digest."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_attempted_at", "status", "attempted_at"),
                      Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    person_id: Mapped[str | None] = mapped_column(ForeignKey("people.id"), index=True)  # None: a group
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), index=True)
    step_id: Mapped[str | None] = mapped_column(ForeignKey("steps.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None]
    title: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(30))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    attempted_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    # Issue 19 (migration 0006): the channel sent through, the text as sent, when the queue may try it next.
    channel_id: Mapped[int | None] = mapped_column(Integer, index=True)
    body: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None]

from . import accounts_store  # noqa: E402,F401  (its tables belong to Base.metadata: Alembic and the tests see them)
from . import channels_store  # noqa: E402,F401  (notification channels: Alembic and the tests see them)
