"""Views of the operator's commands that are not casework actions: the database's schema, the disposition catalogue,
sign-in for the people in the store, the channels' upkeep. The CLI's `--json` prints them (`model_dump`)."""
from __future__ import annotations

from .views import View


class SchemaUpgraded(View):
    """`lostcontact db upgrade` (the URL with its password masked)."""

    url: str
    revision_before: str | None = None
    revision: str | None = None
    upgraded: bool


class SchemaStatus(View):
    """`lostcontact db status`."""

    url: str
    revision: str | None = None
    head: str | None = None
    up_to_date: bool


class ProcedureLine(View):
    """A procedure of the catalogue, flat (`models.catalogue.describe`)."""

    code: str
    number: str
    title: str
    when: str
    applies_to: list[str]
    steps: list[str]
    materials: list[str]
    column: str


class Catalogue(View):
    version: str
    procedures: list[ProcedureLine]


class Invitation(View):
    """A one-time sign-in link, shown once."""

    person_id: str
    name: str
    link: str
    expires_at: str


class PasswordSet(View):
    person_id: str
    admin: bool


class TokenIssued(View):
    """A personal access token for the JSON API, shown once (only its hash is kept)."""

    person_id: str
    token: str


class PersonLine(View):
    """A person on the administrators' page: their roles, whether the reader may invite them, their sign-in state."""

    id: str
    name: str
    roles: list[str]
    may_invite: bool
    state: str


class FormsExported(View):
    """`lostcontact export forms`: the files written, by paper (dossiers, roster, unreachable, ledger, statistics)."""

    org_id: str
    campaign_id: str | None = None
    out_dir: str
    count: int
    files: dict[str, list[str]]


class PeopleMigrated(View):
    people_migrated: int


class ChannelsRekeyed(View):
    channels_rekeyed: int
