"""How many messages a 1,000-case campaign start sends, through real Apprise to an HTTP receiver on loopback.

    .venv/bin/python benchmarks/notifications_count.py                       # this tree's code
    .venv/bin/python benchmarks/notifications_count.py --label before --root /tmp/before   # an older checkout

The organisation tree: one base committee (its secretary and a staff member), ten branches of 100 lost-contact
members each, every branch with a secretary and an organisation member. Every branch has one WeCom-style group
(here a json:// receiver standing in for the group bot) and every person a personal channel. Old code (channels
as each person's `notify_urls`): the branch group's URL is given to both branch people, as a new user did. New
code: the group is the branch's channel, each person has their own.

The campaign is started through casework, then every first step is announced as the case runner's step side
effect does (`announce_step` per step), then the queue is drained. Counted: HTTP posts the receiver got, per
group and per person. Appends its figures to benchmarks/results/notifications_count.json and .md."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
RESULTS = HERE / "benchmarks" / "results"
BRANCHES = 10


class Receiver:
    def __init__(self) -> None:
        self.paths: Counter = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.paths[self.path.rstrip("/")] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.server.server_port}/{path}"


def tree(receiver: Receiver, legacy: bool) -> tuple[list[dict], list[dict]]:
    orgs = [{"id": "COUNTY", "name": "某县委组织部", "kind": "department", "parent": None, "county_or_higher": True},
            {"id": "TOWN", "name": "某镇党委", "kind": "base_committee", "parent": "COUNTY"}]
    people = [{"id": "town_sec", "name": "赵书记", "roles": [{"org": "TOWN", "role": "secretary"}]},
              {"id": "town_staff", "name": "钱干事", "roles": [{"org": "TOWN", "role": "staff"}]}]
    for b in range(1, BRANCHES + 1):
        orgs.append({"id": f"B{b}", "name": f"第{b}党支部", "kind": "branch", "parent": "TOWN", "category": 3})
        for pid, role in ((f"sec{b}", "secretary"), (f"org{b}", "organisation_member")):
            person = {"id": pid, "name": f"{pid}同志", "roles": [{"org": f"B{b}", "role": role}]}
            if legacy:
                person["notify_urls"] = [receiver.url(f"group/B{b}"), receiver.url(f"person/{pid}")]
            people.append(person)
    return orgs, people


def add_members(store, per_branch: int) -> None:
    from models.codes import Gender, MemberKind
    from models.idcard import check_character
    from models.store import Member

    at = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with store.writing() as s:
        n = 0
        for b in range(1, BRANCHES + 1):
            for _ in range(per_branch):
                n += 1
                first17 = f"110101{1960 + n % 40}0520{n % 1000:03d}"
                s.add(Member(id=f"m{n:05d}", id_number=first17 + check_character(first17), branch_id=f"B{b}",
                             name=f"党员{n}", gender=Gender.MALE if n % 2 else Gender.FEMALE,
                             birth_date=dt.date(1960 + n % 40, 5, 20), kind=MemberKind.FULL,
                             last_contact_on=dt.date(2025, 1, 1), created_at=at, updated_at=at,
                             reported_to_branch=False))
        s.commit()


def run(root: Path, label: str, cases: int) -> dict:
    sys.path.insert(0, str(root))
    os.chdir(root)
    from sqlalchemy import select

    from casework.campaigns import start_campaign
    from casework.db import Store
    from casework.orgs import import_organisations
    from models.codes import StepStatus
    from models.store import Step
    import casework
    import notifications
    from notifications import dispatch

    assert Path(casework.__file__).resolve().is_relative_to(root), casework.__file__

    new_code = hasattr(dispatch, "flush")
    receiver = Receiver()
    workdir = Path(tempfile.mkdtemp(prefix="notif-count-"))
    os.environ.setdefault("LOSTCONTACT_CHANNEL_KEY_FILE", str(workdir / "channel.key"))
    store = Store(f"sqlite:///{workdir / 'store.sqlite'}")
    store.upgrade()
    now = dt.datetime(2026, 3, 7, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 Beijing, a Saturday-free Monday is moot
    orgs, people = tree(receiver, legacy=not new_code)
    import_organisations(store, actor_id=None, now=now, organisations=orgs, people=people)
    if new_code:
        from casework.deliveries import set_channel

        for b in range(1, BRANCHES + 1):
            set_channel(store, actor_id=None, now=now, org_id=f"B{b}", url=receiver.url(f"group/B{b}"),
                        label="支部群")
        for p in people:
            set_channel(store, actor_id=None, now=now, person_id=p["id"], url=receiver.url(f"person/{p['id']}"))
    add_members(store, cases // BRANCHES)
    started = time.perf_counter()
    opened = start_campaign(store, actor_id="town_sec", now=now, campaign_id="C2026", org_id="TOWN",
                            name="集中排查", start_date="2026-03-07", phases={"search": "2026-03-31"})
    with store.reading() as s:
        steps = list(s.scalars(select(Step.id).where(Step.status == StepStatus.OPEN).order_by(Step.id)))
    if new_code:
        from casework.deliveries import Desk

        desk = Desk(store)
        for step_id in steps:
            notifications.announce_step(desk, step_id, now=now)
        for minute in range(0, 120):  # the queue drains at each channel's rate, as the minutely flow would
            notifications.flush(desk, now=now + dt.timedelta(minutes=minute))
    else:
        for step_id in steps:
            notifications.announce_step(store, step_id, now=now)
    elapsed = time.perf_counter() - started
    time.sleep(0.5)
    total = sum(receiver.paths.values())
    groups = {k: v for k, v in receiver.paths.items() if k.startswith("/group/")}
    persons = {k: v for k, v in receiver.paths.items() if k.startswith("/person/")}
    return {"label": label, "commit": os.popen(f"git -C {root} rev-parse --short HEAD").read().strip(),
            "cases": opened.cases_opened, "branches": BRANCHES, "messages": total,
            "group_messages": sum(groups.values()), "max_per_group": max(groups.values(), default=0),
            "person_messages": sum(persons.values()), "max_per_person": max(persons.values(), default=0),
            "seconds": round(elapsed, 1), "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "notifications_count.json"
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    runs = [r for r in runs if r["label"] != result["label"]] + [result]
    path.write_text(json.dumps(runs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = ["# Messages sent by a 1,000-case campaign start", "",
             "`.venv/bin/python benchmarks/notifications_count.py [--label before --root /tmp/before]`: 10 branches of "
             "100 cases, each branch with a group channel and two people with a personal channel; every first step "
             "announced as the case runner does; messages counted at an HTTP receiver on loopback.", "",
             "| code | commit | cases | messages | to groups | most to one group | to persons | most to one person |",
             "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['label']} | {r['commit']} | {r['cases']} | {r['messages']} | {r['group_messages']} | "
                     f"{r['max_per_group']} | {r['person_messages']} | {r['max_per_person']} |")
    (RESULTS / "notifications_count.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose code is counted")
    parser.add_argument("--label", default="after")
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    result = run(args.root.resolve(), args.label, args.cases)
    write(result)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
