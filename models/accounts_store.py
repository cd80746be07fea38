"""Sign-in: accounts for the people in the store, one-time invitations, server-side web sessions, personal access
tokens for the JSON API, and identities at outside providers (OpenID Connect: WeCom, DingTalk, Feishu, a province's
own). Every secret is kept only as a hash: argon2 for passwords, SHA-256 for random tokens (they carry 256 bits, so
a fast hash is enough); the clear value exists only in the link, the cookie or the caller's hands."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .store import Base


class Account(Base):
    __tablename__ = "accounts"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_set_at: Mapped[dt.datetime | None]
    is_admin: Mapped[bool] = mapped_column(default=False)  # system administrator: keeps people and channels
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_sign_in_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class Invitation(Base):
    """A one-time link to set the first password (or a new one), issued by an administrator."""

    __tablename__ = "invitations"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    issued_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_person", "person_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    org_id: Mapped[str | None] = mapped_column(String(64))  # the organisation the person acts for
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class AccessToken(Base):
    """A personal access token for the JSON API: `lc_<id>_<secret>`; the id finds the row, the secret's hash is
    compared in constant time."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    org_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(80))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class ExternalIdentity(Base):
    """A person's subject at an OpenID Connect provider, so a provider added by configuration signs in a person the
    store already knows (the provider proves who; the store still says what they may do)."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    created_at: Mapped[dt.datetime]


class StoredFile(Base):
    """An uploaded material's content, kept in the store itself so every runner and web process sees it and a
    database backup holds it; its SHA-256 is checked on every download."""

    __tablename__ = "stored_files"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    material_id: Mapped[int | None] = mapped_column(ForeignKey("materials.id"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(ForeignKey("people.id"))
    uploaded_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
