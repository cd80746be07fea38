"""Who acts: the person, the organisation they act for, and the way in (web, API, CLI operator, system).

Every casework action and query takes an `Actor`. Permissions are decided in casework from the person's roles, cut
down to `org_id` when the person chose one organisation to act for (a secretary of a branch who also sits on the
base committee acts for one of them at a time, as the rules demand: every decision is taken at one level)."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Channel(str, enum.Enum):
    WEB = "web"
    API = "api"
    CLI = "cli"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return {"web": "网页", "api": "接口", "cli": "命令行", "system": "系统"}[self.value]


@dataclass(frozen=True)
class Actor:
    person_id: str | None
    channel: Channel = Channel.SYSTEM
    org_id: str | None = None  # the organisation acted for; None: every role the person holds
    via: str | None = None  # the operator's system user (CLI), the token's id (API), the session's id (web)

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        return cls(None, Channel.SYSTEM, via=what)

    @classmethod
    def cli(cls, person_id: str | None, os_user: str | None) -> Actor:
        return cls(person_id, Channel.CLI, via=os_user)
