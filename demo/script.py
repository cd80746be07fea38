"""The demo behind `lostcontact demo`: a whole campaign played on a fresh store, through the real services.

On a new SQLite store under the demo folder (removed and recreated each time; the user's store is never opened) it
starts or reuses a local Prefect server and applies our deployments, imports a small organisation tree and a
generated roster with some bad rows, starts a campaign through the campaign flow, and then plays a deterministic
script through `casework` — the same calls a person's actions make, each by the person who acts for the right body —
with the case runner executing every case run's segments in this process after each round. The clock moves from the
campaign's first day over the weeks of search and approval, half a year on (a correction period ends, a suspended
member applies for restoration), and then two years on, when the suspensions' reviews fire and the removal chains
open. At the end: the statistics table (its relations checked), the inboxes, every form exported, and where each
case run stands in Prefect.

`run_demo()` returns one result dict (the JSON document of `lostcontact demo --json`); `cli/commands/demo.py` prints
it for people. Progress goes to the `say` callback (stderr)."""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from prefect import get_client
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

from caserunner.deployments import apply_deployments
from caserunner.runner import CaseRunner
from casework.db import shared_store
from casework.followups import fire_due
from casework.orgs import import_organisations
from casework.roster import import_roster_file
from demo.sample_roster import generate_sample, write_csv
from deploy.server import free_port, healthy
from deploy.up import start_services
from flows.campaign import campaign_flow
from models.codes import Action, Body, MemberKind, Situation
from models.store import Case, Member
from models.timing import LOCAL_TZ, UTC, local_date
from tasks import prefect_api

from .cast import (
    BASE,
    BRANCHES,
    DEFAULT_PORT,
    EXTRAS_FULL,
    EXTRAS_PROBATIONARY,
    FOLLOWUP_LABEL,
    NOTIFIED_PERSON,
    ORGANISATIONS,
    PEOPLE,
    PRIORITY,
    PROBATIONARY_PRIORITY,
    SCENARIOS,
    STORE_FILE,
    CasePlan,
)
from .ending import Ending
from .receiver import Receiver, _port_busy, _quiet_prefect
from .story import Story


class Demo(Story, Ending):
    def __init__(self, directory: Path, *, members: int, seed: int, port: int = DEFAULT_PORT,
                 keep_server: bool = False, pdf: bool = False, say: Callable[[str], None] = lambda _m: None):
        self.dir = Path(directory).resolve()
        self.pdf = pdf
        self.members = members
        self.seed = seed
        self.port = port
        self.keep_server = keep_server
        self.started = time.monotonic()
        self._say = say
        self.rounds: list[dict[str, Any]] = []
        self.plans: dict[str, CasePlan] = {}
        self.fired: Counter = Counter()
        self.server = None
        self.api_url: str | None = None
        self.now: dt.datetime | None = None

    def say(self, message: str) -> None:
        self._say(f"[{time.monotonic() - self.started:6.1f}s] {message}")

    # ------------------------------------------------------------ set-up

    def fresh_folder(self) -> None:
        """The store and everything written from it are recreated each time; a Prefect home is left alone here
        (a server started by us wipes its own database in `start_prefect`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in (STORE_FILE, STORE_FILE + "-wal", STORE_FILE + "-shm", "roster.csv", "orgs.json"):
            (self.dir / name).unlink(missing_ok=True)
        for name in ("forms", "archive", "reports"):
            shutil.rmtree(self.dir / name, ignore_errors=True)
        self.store_url = f"sqlite:///{self.dir / STORE_FILE}"
        # The flows' tasks find the store through LOSTCONTACT_DB_URL: it must be this one, whatever the user set.
        os.environ["LOSTCONTACT_DB_URL"] = self.store_url
        os.environ["LOSTCONTACT_ARCHIVE_DIR"] = str(self.dir / "archive")
        os.environ["LOSTCONTACT_REPORTS_DIR"] = str(self.dir / "reports")

    def start_prefect(self) -> None:
        given = os.environ.get("PREFECT_API_URL")
        port = self.port
        if not (given and healthy(given)) and not healthy(f"http://127.0.0.1:{port}/api"):
            if _port_busy(port):
                port = free_port()
                self.say(f"端口{self.port}已被其他程序占用，改用端口{port}")
            home = self.dir / "prefect"
            shutil.rmtree(home, ignore_errors=True)  # a fresh Prefect database for a fresh demo
            self.say(f"正在启动Prefect服务（端口{port}，数据在{home}，约需20秒）…")
        self.api_url, self.server = start_services(home=self.dir / "prefect", prefect_db=None, port=port, ui=True)
        self.say(("已启动" if self.server else "使用已在运行的") + f"Prefect服务：{self.api_url}")

    def apply_deployments(self) -> None:
        """Register our deployments. A server we reuse may already serve `lostcontact up` with its schedules and
        parameters: deployments it already has are left as they are."""
        if self.server is None:
            names = (prefect_api.CASE_DEPLOYMENT, prefect_api.FOLLOWUP_DEPLOYMENT, prefect_api.SWEEP_DEPLOYMENT,
                     prefect_api.STATISTICS_DEPLOYMENT)
            with get_client(sync_client=True) as client:
                try:
                    for name in names:
                        client.read_deployment_by_name(name)
                    self.say("Prefect服务上已有本系统的部署，沿用")
                    prefect_api.forget_deployments()
                    return
                except ObjectNotFound:
                    pass
        apply_deployments(with_schedules=False, statistics_orgs=[BASE])
        self.say("已注册部署：case、followup、sweep、statistics")

    # ------------------------------------------------------------ the clock

    def at(self, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
        """A local time on day `day` after the campaign start, in UTC; the clock never goes back."""
        local = dt.datetime.combine(self.start_date + dt.timedelta(days=day), dt.time(hour, minute), LOCAL_TZ)
        moment = local.astimezone(UTC)
        self.now = max(moment, self.now or moment)
        return self.now

    def slot(self, day: int, n: int) -> dt.datetime:
        """The n-th item of a round on `day`: twenty minutes apart through the working day (09:00-18:00), then
        on into the next days, so the clock only moves forward within a round."""
        minutes = n * 20
        return self.at(day + minutes // 540, 9 + minutes % 540 // 60, minutes % 60)

    # ------------------------------------------------------------ the whole run

    def run(self) -> dict[str, Any]:
        _quiet_prefect()
        self.fresh_folder()
        self.start_prefect()
        try:
            with temporary_settings(updates={PREFECT_API_URL: self.api_url,
                                             PREFECT_LOCAL_STORAGE_PATH: str(self.dir / "prefect" / "storage")}):
                with Receiver() as receiver:
                    self.receiver = receiver
                    return self._run()
        finally:
            if self.server is not None and not self.keep_server:
                self.say("正在停止本次启动的Prefect服务…")
                self.server.stop()

    def _run(self) -> dict[str, Any]:
        self.store = shared_store(self.store_url)
        self.store.upgrade()
        self.say(f"演示数据库：{self.dir / STORE_FILE}")
        self.apply_deployments()
        self.t0 = dt.datetime.now(UTC).replace(microsecond=0)
        self.now = self.t0
        self.start_date = local_date(self.t0)
        self.setup_orgs()
        self.import_roster()
        self.runner = CaseRunner(self.store, runner_id="demo", threads=1, poll_seconds=0.2)
        try:
            self.start_campaign()
            self.play()
            return self.finish()
        finally:
            self.runner.close()

    def drain(self) -> int:
        before = self.runner.segments
        self.runner.drain(timeout=900)
        return self.runner.segments - before

    def round(self, title: str, actions: dict[str, int] | None = None, note: str = "") -> None:
        """Close a round: the daily sweep's follow-ups that came due, then the runner catches every case run up."""
        fired = self.fire_due()
        segments = self.drain()
        entry = {"date": local_date(self.now).isoformat(), "title": title, "actions": dict(actions or {}),
                 "fired": fired, "segments": segments, "note": note}
        self.rounds.append(entry)
        done = "、".join(f"{k}{v}" for k, v in (actions or {}).items() if v)
        due = "、".join(f"{FOLLOWUP_LABEL.get(k, k)}{v}件" for k, v in fired.items())
        self.say(f"{entry['date']} {title}：{done or '—'}" + (f"；到期触发{due}" if due else "") +
                 f"；流程推进{segments}段" + (f"；{note}" if note else ""))

    def fire_due(self) -> dict[str, int]:
        kinds = Counter(f.kind for f in fire_due(self.store, self.now) if f.fired)
        self.fired.update(kinds)
        return dict(kinds)

    # ------------------------------------------------------------ organisations and roster

    def setup_orgs(self) -> None:
        people = [dict(p) for p in PEOPLE]
        for p in people:
            if p["id"] == NOTIFIED_PERSON:
                p["notify_urls"] = [self.receiver.url]
        result = import_organisations(self.store, actor_id=None, now=self.now, organisations=ORGANISATIONS,
                                      people=people)
        (self.dir / "orgs.json").write_text(json.dumps({"organisations": ORGANISATIONS, "people": PEOPLE},
                                                       ensure_ascii=False, indent=2), encoding="utf-8")
        self.orgs_result = result
        self.say(f"组织：{result.organisations_created}个，人员：{result.people}人")

    def import_roster(self) -> None:
        bad = min(5, max(2, self.members // 10))
        sample = generate_sample(BRANCHES, self.members, seed=self.seed, as_of=self.start_date, lost_fraction=0.4,
                                 bad_rows=bad)
        self._ensure_probationary(sample)
        path = write_csv(sample.rows, self.dir / "roster.csv")
        self.roster = import_roster_file(self.store, path, base_committee_id=BASE, actor_id="town_staff",
                                         accept_valid_rows=True, now=self.now)
        self.say(f"名册：共{self.roster.rows}行，导入{self.roster.created}人，有误{len(self.roster.errors)}行")

    def _ensure_probationary(self, sample) -> None:
        """The script shows both cancellations of probationary membership: make sure two lost-contact rows that
        import cleanly are probationary members (joined ten months ago, last seen seven months ago)."""
        def probationary(row):
            return row["党员类别"].startswith("预备")

        lost_good = [i for i in sorted(sample.lost) if i not in sample.bad and i not in sample.duplicate_of.values()]
        have = sum(1 for i in lost_good if probationary(sample.rows[i]))
        for i in lost_good:
            if have >= 2:
                break
            row = sample.rows[i]
            if probationary(row):
                continue
            row["党员类别"] = "预备党员"
            row["入党时间"] = (self.start_date - dt.timedelta(days=300)).isoformat()
            row["最近联系日期"] = (self.start_date - relativedelta(months=7)).isoformat()
            have += 1

    # ------------------------------------------------------------ the campaign

    def start_campaign(self) -> None:
        self.campaign_id = f"DEMO{self.start_date:%Y%m%d}"
        s = self.start_date
        phases = {"verify": (s + dt.timedelta(days=1)).isoformat(), "search": (s + dt.timedelta(days=16)).isoformat(),
                  "report": f"{(s + dt.timedelta(days=30)).isoformat()}T17:00",
                  "dispose": (s + relativedelta(months=5)).isoformat()}
        self.say("通过campaign流程发起集中排查…")
        result = campaign_flow(self.campaign_id, BASE, f"{s.year}年青山镇失联党员集中排查", s.isoformat(), "town_sec",
                               phases)
        self.campaign = result
        self.round("发起集中排查", {"立案": result["cases_opened"]}, note=f"创建流程运行{result['runs_created']}个")
        self._plan(result["case_ids"])

    def _plan(self, case_ids: list[str]) -> None:
        with self.store.reading() as s:
            rows = [(c, s.get(Member, c.member_id)) for c in (s.get(Case, cid) for cid in case_ids)]
        info = {c.id: (m.name, c.branch_id, m.kind is MemberKind.PROBATIONARY, m.situation is Situation.ABROAD)
                for c, m in rows}
        rng = random.Random(self.seed)
        order = list(case_ids)
        rng.shuffle(order)  # spread the scenarios over the branches
        full = [c for c in order if not info[c][2]]
        prob = [c for c in order if info[c][2]]
        chosen: dict[str, str] = {}
        for key, c in zip(PROBATIONARY_PRIORITY, prob):
            chosen[c] = key
        for n, c in enumerate(prob[len(PROBATIONARY_PRIORITY):]):
            chosen[c] = EXTRAS_PROBATIONARY[n % len(EXTRAS_PROBATIONARY)]
        remaining = list(full)
        for key in PRIORITY:
            if not remaining:
                break
            abroad = [c for c in remaining if info[c][3]] if key in ("keep", "suspend_abroad") else []
            c = (abroad or remaining)[0]
            remaining.remove(c)
            chosen[c] = key
        for n, c in enumerate(remaining):
            chosen[c] = EXTRAS_FULL[n % len(EXTRAS_FULL)]
        for cid in case_ids:
            name, branch, is_prob, _abroad = info[cid]
            self.plans[cid] = CasePlan(cid, name, branch, is_prob, chosen[cid])

    # ------------------------------------------------------------ who acts

    @staticmethod
    def secretary(branch: str) -> str:
        return f"{branch.lower()}_sec"

    @staticmethod
    def organiser(branch: str) -> str:
        return f"{branch.lower()}_org"

    def decider(self, plan: CasePlan, body, action) -> str:
        if body is Body.GENERAL_MEETING:
            return self.organiser(plan.branch_id)  # the organisation member records the meeting's resolution
        if body in (Body.BRANCH, Body.BRANCH_COMMITTEE):
            return self.secretary(plan.branch_id)
        if body is Body.BASE_COMMITTEE:
            return "town_org" if action in (Action.PRE_REVIEW, Action.REVIEW) else "town_sec"
        return "county_org"



def run_demo(directory: Path, *, members: int = 60, seed: int = 7, port: int = DEFAULT_PORT,
             keep_server: bool = False, pdf: bool = False,
             say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    return Demo(directory, members=members, seed=seed, port=port, keep_server=keep_server, pdf=pdf, say=say).run()


__all__ = ["run_demo", "Demo", "SCENARIOS"]

