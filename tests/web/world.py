"""A small world for the web tests: the conftest organisation tree, members in two branches of TOWN and one of
OTHER_BASE, a campaign, and a password for everyone; a client that signs in as a person the way a browser does."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from casework.accounts import set_password_directly
from casework.orgs import import_organisations
from tests.casework.drive import add_member, case_of, start
from tests.conftest import ORG_TREE, T0
from web.app import Settings, create_app

PASSWORD = "长风破浪会有时2026"
PEOPLE = [p["id"] for p in ORG_TREE["people"]]


@dataclass
class Clock:
    now: dt.datetime = field(default_factory=lambda: T0 + dt.timedelta(hours=1))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def build_world(store, *, members: int = 3) -> dict[str, str]:
    """Returns member name -> case id."""
    import_organisations(store, actor_id=None, now=T0, **ORG_TREE)
    names = {}
    for i in range(members):
        names[f"东村党员{i + 1}"] = add_member(store, name=f"东村党员{i + 1}", branch="B1")
    names["西村党员"] = add_member(store, name="西村党员", branch="B2")
    names["南村党员"] = add_member(store, name="南村党员", branch="OB1")
    start(store)
    from casework.campaigns import start_campaign

    start_campaign(store, actor_id="other_sec", now=T0, campaign_id="OC2026", org_id="OTHER_BASE",
                   name="另一镇集中排查", start_date="2026-03-07")
    for person in PEOPLE:
        set_password_directly(store, person_id=person, password=PASSWORD, now=T0)
    return {name: case_of(store, member) for name, member in names.items()}


def client_for(store, clock: Clock | None = None) -> TestClient:
    app = create_app(store, Settings(base_url="http://testserver", clock=clock or Clock()))
    return TestClient(app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, login: str, password: str = PASSWORD, org: str | None = None):
    page = client.get("/signin")
    pre = re.search(r'name="pre" value="([^"]+)"', page.text).group(1)
    answer = client.post("/signin", data={"login": login, "password": password, "pre": pre, "next": "/inbox"})
    if org is not None and answer.status_code == 303 and answer.headers["location"].startswith("/org"):
        chooser = client.get("/org")
        answer = client.post("/org", data={"csrf": csrf_of(chooser.text), "org_id": org, "next": "/inbox"})
    return answer
