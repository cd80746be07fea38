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
import logging
import os
import random
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from models.timing import LOCAL_TZ, UTC, local_date

STORE_FILE = "lostcontact-demo.sqlite"
BASE = "TOWN"
BRANCHES = ("B1", "B2", "B3")
DEFAULT_PORT = 4200

# ---------------------------------------------------------------- the organisation

ORGANISATIONS = [
    {"id": "COUNTY", "name": "青山县委组织部", "kind": "department", "parent": None, "county_or_higher": True},
    {"id": "TOWN", "name": "青山镇党委", "kind": "base_committee", "parent": "COUNTY"},
    {"id": "B1", "name": "东山村党支部", "kind": "branch", "parent": "TOWN", "category": 3},
    {"id": "B2", "name": "西河村党支部", "kind": "branch", "parent": "TOWN", "category": 3},
    {"id": "B3", "name": "青山社区党支部", "kind": "branch", "parent": "TOWN", "category": 7},
]

PEOPLE = [
    {"id": "b1_sec", "name": "张卫东", "phone": "13907310001", "roles": [{"org": "B1", "role": "secretary"}]},
    {"id": "b1_org", "name": "李秀兰", "phone": "13907310002", "roles": [{"org": "B1", "role": "organisation_member"}]},
    {"id": "b2_sec", "name": "王建国", "phone": "13907310003", "roles": [{"org": "B2", "role": "secretary"}]},
    {"id": "b2_org", "name": "刘桂英", "phone": "13907310004", "roles": [{"org": "B2", "role": "organisation_member"}]},
    {"id": "b3_sec", "name": "陈志刚", "phone": "13907310005", "roles": [{"org": "B3", "role": "secretary"}]},
    {"id": "b3_org", "name": "杨丽娟", "phone": "13907310006", "roles": [{"org": "B3", "role": "organisation_member"}]},
    {"id": "town_sec", "name": "赵国强", "phone": "13907310010", "roles": [{"org": "TOWN", "role": "secretary"}]},
    {"id": "town_org", "name": "周明", "phone": "13907310011", "roles": [{"org": "TOWN", "role": "committee_member"}]},
    {"id": "town_staff", "name": "钱小芳", "phone": "13907310012", "roles": [{"org": "TOWN", "role": "staff"}]},
    {"id": "county_org", "name": "孙海涛", "phone": "13907310020",
     "roles": [{"org": "COUNTY", "role": "deputy_secretary"}]},
    {"id": "county_staff", "name": "吴静", "phone": "13907310021", "roles": [{"org": "COUNTY", "role": "staff"}]},
]
NOTIFIED_PERSON = "town_sec"  # gets a json:// URL to the demo's own receiver on loopback; everyone else has none

# How many people a branch's general meeting has (entitled, present) — the votes differ by branch.
MEETINGS = {"B1": (23, 20), "B2": (17, 15), "B3": (31, 26)}


# ---------------------------------------------------------------- the scenarios

@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    probationary: bool | None  # True: probationary members only; False: full members only; None: either


SCENARIOS = {s.key: s for s in (
    Scenario("suspend_remove", "未找到→停止党籍→满两年自行脱党除名", False),
    Scenario("suspend_restore", "未找到→停止党籍→两年内申请恢复党籍", False),
    Scenario("persuade", "直接联系上→劝退（上级预审退回一次）", None),
    Scenario("correct_changed", "部门查找联系上→限期改正→有转变", None),
    Scenario("normal", "直接联系上→纳入正常管理", None),
    Scenario("prob_unreachable", "预备党员未找到→取消预备党员资格", True),
    Scenario("dead", "人际查找确认已死亡", None),
    Scenario("elsewhere", "已在其他党组织管理→理顺组织关系", None),
    Scenario("keep", "其他方式联系上，出国留学→保留组织关系", None),
    Scenario("searching", "尚在查找联系", None),
    Scenario("prob_contacted", "预备党员态度不端正→取消预备党员资格", True),
    Scenario("suspend_remove_open", "停止党籍满两年→除名程序办理中", False),
    Scenario("correct_nochange", "限期改正→期满无转变→劝退", None),
    Scenario("normal_network", "人际查找联系上→纳入正常管理", None),
    Scenario("suspend_abroad", "出国定居且未找到→停止党籍", False),
    Scenario("suspend_waiting", "停止党籍满两年→除名程序待办", False),
)}
PRIORITY = ("suspend_remove", "suspend_restore", "persuade", "correct_changed", "searching", "normal",
            "suspend_remove_open", "dead", "elsewhere", "keep", "correct_nochange", "normal_network",
            "suspend_abroad")
PROBATIONARY_PRIORITY = ("prob_unreachable", "prob_contacted")
EXTRAS_FULL = ("normal", "suspend_waiting", "normal_network", "searching", "dead")
EXTRAS_PROBATIONARY = ("normal", "searching", "prob_unreachable")

# Where the search ends for each scenario: (stage, outcome); every earlier stage finds nothing.
SEARCH_END = {
    "persuade": ("direct", "contacted"), "normal": ("direct", "contacted"),
    "prob_contacted": ("network", "contacted"), "normal_network": ("network", "contacted"),
    "dead": ("network", "dead"),
    "correct_changed": ("department", "contacted"), "correct_nochange": ("department", "contacted"),
    "elsewhere": ("department", "managed_elsewhere"),
    "keep": ("other", "contacted"),
    "searching": ("other", None),  # an attempt in the last stage that does not conclude it
}  # everything else: not found at every stage (still unreachable)

PROPOSALS = {
    "normal": ("normal_management", "失联期间无不合格表现，本人能够正确认识失联问题，愿意按时参加组织生活、履行党员义务",
               "经谈话了解，本人在外务工期间遵纪守法，无违纪违法行为；因更换手机号码未及时告知党支部"),
    "normal_network": ("normal_management", "失联期间无不合格表现，本人愿意按时参加组织生活、交纳党费",
                       "经亲属联系本人，本人在外省经营小超市，无违纪违法行为，已补交党费"),
    "keep": ("keep_relation", "本人出国（境）留学，期限两年以上，申请保留组织关系",
             "通过微信视频与本人谈话，本人在英国攻读硕士学位，预计两年后回国，在外无违纪违法行为"),
    "persuade": ("persuade_withdraw", "为达到个人目的以退党相要挟，经党支部多次教育仍不改正",
                 "本人要求党支部为其解决宅基地纠纷，否则退党；党支部书记先后三次上门谈话教育，本人态度未变"),
    "correct_changed": ("correct_in_time", "失联期间长期不参加组织生活、不交纳党费，初步认定为不合格党员，本人愿意接受教育并改正",
                        "经社保信息联系到本人，本人在市区务工，近三年未参加组织生活、未交纳党费，表示愿意改正"),
    "correct_nochange": ("correct_in_time", "长期不参加组织生活、不交纳党费，初步认定为不合格党员，本人表示愿意改正",
                         "经社保信息联系到本人，本人在外地经商，失联期间无违法行为，但对组织生活态度消极"),
    "elsewhere": ("relation_settled", "本人失联期间已纳入其他党组织管理，与该党组织衔接理顺组织关系",
                  "经全国党员管理信息系统核实，本人2023年起在某市某物流公司党支部参加组织生活，原组织关系未转出"),
    "prob_contacted": ("cancel_probationary", "预备期内长期不参加组织生活、拒绝补交党费，对党员身份漠视",
                       "经其同学联系到本人，本人表示工作忙不愿参加组织生活，拒绝补交党费"),
    "prob_unreachable": ("cancel_probationary_unreachable", "预备党员经四个阶段查找确实无法取得联系", ""),
    "suspend_abroad": ("suspend_abroad_unreachable", "据亲属反映本人已出国（境）定居，经多方查找确实无法取得联系", ""),
}  # the other suspended scenarios: suspend_unreachable
SUSPEND_GROUNDS = "经直接联系、人际查找、部门查找和其他方式查找，确实无法取得联系"

SEARCH_TEXT = {
    # stage: (method, description when not found, witness)
    "direct": [("打电话", "拨打名册登记的手机号码，提示已停机", None),
               ("登门走访", "按户籍地址登门走访，房屋已出租，现住户不认识本人", None)],
    "network": [("亲属", "联系其父母及兄弟姐妹，均称多年未与本人联系，不知去向", None)],
    "department": [("公安户籍系统", "公安户籍、人社社保、医保平台批量比对，未查到本人近年参保、就医和居住登记信息",
                    None)],
    "other": [("网络社交平台", "通过微信、QQ、抖音等平台搜索本人并留言，均无回复", None),
              ("12371党建热线联系原籍地组织部门", "通过12371党建热线请原籍地组织部门协查，未查到本人信息", None)],
}
FOUND_TEXT = {
    ("direct", "contacted"): ("打电话", "拨打备用联系人提供的新号码，与本人取得联系，本人在外省务工"),
    ("network", "contacted"): ("同学", "通过本人中学同学取得其新的联系方式，与本人通话取得联系"),
    ("network", "dead"): ("亲属", "本人兄长证实本人已于前年因病去世，提供了死亡医学证明复印件"),
    ("department", "contacted"): ("人社社保平台", "人社社保平台查询到本人在市区某公司参保，经联系单位与本人取得联系"),
    ("department", "managed_elsewhere"): ("公安户籍系统",
                                         "经全国党员管理信息系统核实，本人组织关系已在某市某物流公司党支部，正常参加组织生活"),
    ("other", "contacted"): ("网络社交平台", "通过微信与本人取得联系，本人在英国留学"),
}
FOLLOWUP_LABEL = {"two_year_review": "停止党籍满两年复查", "correction_end": "限期改正期满", "phase_deadline": "排查阶段截止",
                  "transfer_receipt": "介绍信回执"}


# ---------------------------------------------------------------- a json:// receiver on loopback

class Receiver:
    """A tiny HTTP endpoint on 127.0.0.1 for Apprise's json:// notifications, so the demo shows messages really
    delivered without sending anything off this machine."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    received.append(json.loads(body.decode("utf-8")))
                except ValueError:
                    received.append({"raw": body.decode("utf-8", "replace")})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------- the demo

@dataclass
class CasePlan:
    case_id: str
    member_name: str
    branch_id: str
    probationary: bool
    scenario: str
    rejected_once: bool = False
    story: list[str] = field(default_factory=list)


class Demo:
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
        from deploy.server import free_port, healthy
        from deploy.up import start_services

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
        from prefect import get_client
        from prefect.exceptions import ObjectNotFound

        from flows.deployments import apply_deployments
        from tasks import prefect_api

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
        from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings

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
        from casework.db import shared_store
        from flows.runner import CaseRunner

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
        from casework.followups import fire_due

        kinds = Counter(f["kind"] for f in fire_due(self.store, self.now) if f.get("fired"))
        self.fired.update(kinds)
        return dict(kinds)

    # ------------------------------------------------------------ organisations and roster

    def setup_orgs(self) -> None:
        from casework.orgs import import_organisations

        people = [dict(p) for p in PEOPLE]
        for p in people:
            if p["id"] == NOTIFIED_PERSON:
                p["notify_urls"] = [self.receiver.url]
        result = import_organisations(self.store, actor_id=None, now=self.now, organisations=ORGANISATIONS,
                                      people=people)
        (self.dir / "orgs.json").write_text(json.dumps({"organisations": ORGANISATIONS, "people": PEOPLE},
                                                       ensure_ascii=False, indent=2), encoding="utf-8")
        self.orgs_result = result
        self.say(f"组织：{result['organisations_created']}个，人员：{result['people']}人")

    def import_roster(self) -> None:
        from casework.roster import import_roster_file
        from casework.sample_roster import generate_sample, write_csv

        bad = min(5, max(2, self.members // 10))
        sample = generate_sample(BRANCHES, self.members, seed=self.seed, as_of=self.start_date, lost_fraction=0.4,
                                 bad_rows=bad)
        self._ensure_probationary(sample)
        path = write_csv(sample.rows, self.dir / "roster.csv")
        self.roster = import_roster_file(self.store, path, base_committee_id=BASE, actor_id="town_staff",
                                         accept_valid_rows=True, now=self.now)
        self.say(f"名册：共{self.roster['rows']}行，导入{self.roster['created']}人，有误{len(self.roster['errors'])}行")

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
        from flows.campaign import campaign_flow

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
        from models.codes import MemberKind, Situation
        from models.store import Case, Member

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
        from models.codes import Action, Body

        if body is Body.GENERAL_MEETING:
            return self.organiser(plan.branch_id)  # the organisation member records the meeting's resolution
        if body in (Body.BRANCH, Body.BRANCH_COMMITTEE):
            return self.secretary(plan.branch_id)
        if body is Body.BASE_COMMITTEE:
            return "town_org" if action in (Action.PRE_REVIEW, Action.REVIEW) else "town_sec"
        return "county_org"

    # ------------------------------------------------------------ the script

    def play(self) -> None:
        self.search_rounds()
        self.propose_round(day=19)
        self.decision_rounds(first_day=22, phase="campaign")
        self.half_year()
        self.two_years_on()

    def search_rounds(self) -> None:
        from casework.search import record_attempt
        from models.codes import Stage

        stages = [("direct", 2, "直接联系"), ("network", 6, "人际查找"), ("department", 10, "部门查找"),
                  ("other", 14, "其他方式查找")]
        for stage, day, title in stages:
            counts = Counter()
            for n, plan in enumerate(self.plans.values()):
                end_stage, outcome = SEARCH_END.get(plan.scenario, ("other", "not_found"))
                if not self._searching_at(plan.case_id, stage):
                    continue
                actor = "town_staff" if stage == "department" else self.organiser(plan.branch_id)
                self.slot(day, n)
                found = stage == end_stage and outcome not in (None, "not_found")
                attempts = SEARCH_TEXT[stage]
                if found:
                    attempts = attempts[:-1]  # the earlier attempts of the stage, then the one that finds
                for i, (method, description, witness) in enumerate(attempts):
                    last = i == len(attempts) - 1 and not found
                    keep_open = stage == end_stage and outcome is None and last
                    record_attempt(self.store, actor_id=actor, now=self.now, case_id=plan.case_id, stage=stage,
                                   method=method, description=description, witness=witness or _witness(plan, stage),
                                   outcome="not_found", concludes_stage=last and not keep_open,
                                   remark="继续查找" if keep_open else ("本阶段查找结束，转入下一阶段" if last else
                                                                       "未取得联系，继续查找"),
                                   attempted_at=(self.now - dt.timedelta(days=len(attempts) + found - 1 - i))
                                   .isoformat())  # a stage's attempts a day apart
                    counts["查找记录"] += 1
                if found:
                    method, description = FOUND_TEXT[(stage, outcome)]
                    record_attempt(self.store, actor_id=actor, now=self.now, case_id=plan.case_id, stage=stage,
                                   method=method, description=description, witness=_witness(plan, stage),
                                   outcome=outcome)
                    counts["查找记录"] += 1
                    counts[{"contacted": "取得联系", "dead": "确认死亡", "managed_elsewhere": "已在他处管理"}[outcome]] += 1
                    plan.story.append(f"{local_date(self.now)} {Stage(stage).label}：{description}")
                elif stage == "other" and outcome is not None:
                    counts["仍无法取得联系"] += 1
                    plan.story.append(f"{local_date(self.now)} 经直接联系、人际查找、部门查找、其他方式查找，仍无法取得联系")
            self.round(title, counts)

    def _searching_at(self, case_id: str, stage: str) -> bool:
        from models.codes import CaseState
        from models.store import Case

        with self.store.reading() as s:
            case = s.get(Case, case_id)
            return case.state is CaseState.SEARCHING and case.search_stage is not None and \
                case.search_stage.value == stage

    def propose_round(self, day: int) -> None:
        from casework.dispositions import propose_disposition

        counts = Counter()
        for n, plan in enumerate(self.plans.values()):
            if plan.scenario in ("dead", "searching"):
                continue
            code, grounds, conduct = PROPOSALS.get(plan.scenario, ("suspend_unreachable", SUSPEND_GROUNDS, ""))
            self.slot(day, n)
            extra = {"correction_months": 6} if code == "correct_in_time" else {}
            result = propose_disposition(self.store, actor_id=self.secretary(plan.branch_id), now=self.now,
                                         case_id=plan.case_id, disposition=code, grounds=grounds, conduct=conduct,
                                         lost_reasons="外出务工后更换联系方式，未向党支部报告" if conduct else "", **extra)
            self.file_materials(plan)
            counts["提出处置意见"] += 1
            plan.story.append(f"{local_date(self.now)} 党支部提出处置意见：{_label(code)}")
            if result.get("warning"):
                plan.story.append(f"提示：{result['warning']}")
        self.round("调查核实并提出处置意见", counts, note="材料随即归档")

    def file_materials(self, plan: CasePlan) -> int:
        from casework.dispositions import file_material
        from models.catalogue import procedure
        from models.store import Case, DispositionRow

        with self.store.reading() as s:
            case = s.get(Case, plan.case_id)
            row = s.get(DispositionRow, case.disposition_id) if case.disposition_id else None
            kinds = procedure(row.code, row.catalogue_version).materials if row else ()
        for n, kind in enumerate(kinds, start=1):
            file_material(self.store, actor_id=self.organiser(plan.branch_id), now=self.now, case_id=plan.case_id,
                          kind=kind, reference=f"{plan.branch_id}档案盒{self.start_date.year}-{plan.case_id[-3:]}-{n}")
        return len(kinds)

    # How far each scenario's chain is decided in each part of the script (None: to the end).
    STOP_AFTER = {"two_years": {"suspend_remove_open": 2, "suspend_waiting": 0, "suspend_abroad": 0}}

    def decision_rounds(self, first_day: int, phase: str, *, every: int = 5) -> None:
        """Decide every open review step (by the right person, with what the step needs), a round every few days,
        until no chain in this part of the script has anything left to decide."""
        day = first_day
        decided_in_phase: Counter = Counter()
        for _ in range(20):
            counts = Counter()
            for n, plan in enumerate(self.plans.values()):
                limit = self.STOP_AFTER.get(phase, {}).get(plan.scenario)
                if limit is not None and decided_in_phase[plan.case_id] >= limit:
                    continue
                step = self._open_review(plan.case_id)
                if step is None:
                    continue
                self.slot(day, n)
                verdict = self.decide(plan, step)
                decided_in_phase[plan.case_id] += 1
                counts["退回" if verdict == "reject" else "审批"] += 1
            if not counts:
                return
            self.round("审批", counts)
            day += every

    def _open_review(self, case_id: str):
        from casework.cases import open_step_of
        from models.codes import StepKind

        with self.store.reading() as s:
            step = open_step_of(s, case_id)
            return step if step is not None and step.kind is StepKind.REVIEW else None

    def decide(self, plan: CasePlan, step) -> str:
        from casework.dispositions import decide_step
        from models.catalogue import procedure
        from models.codes import Action, Body
        from models.store import DispositionRow

        with self.store.reading() as s:
            row = s.get(DispositionRow, step.disposition_id)
            proc = procedure(row.code, row.catalogue_version)
        spec = proc.steps[step.step_index]
        actor = self.decider(plan, spec.body, spec.action)
        title = _short(proc.title)
        if plan.scenario == "persuade" and spec.key == "upper_pre_review" and not plan.rejected_once:
            plan.rejected_once = True
            opinion = "调查核实材料不够充分：请补充本人以退党相要挟的具体经过和党支部教育谈话记录后重新报送"
            decide_step(self.store, actor_id=actor, now=self.now, step_id=step.id, verdict="reject", opinion=opinion)
            plan.story.append(f"{local_date(self.now)} {spec.title}：退回（{opinion}）")
            return "reject"
        kwargs: dict[str, Any] = {"opinion": _opinion(spec.action, title, plan)}
        if spec.action is Action.VOTE:
            entitled, present = MEETINGS[plan.branch_id]
            kwargs["vote"] = {"entitled": entitled, "present": present, "in_favour": present - 1, "against": 0,
                              "abstaining": 1}
            kwargs["guide"] = "青山镇党委组织委员 周明"
            if plan.scenario in ("normal", "normal_network", "keep", "correct_changed", "correct_nochange",
                                 "prob_contacted", "elsewhere"):
                kwargs["member_signed"] = True
            elif plan.scenario == "persuade":
                kwargs["signature_note"] = "本人拒绝在决议上签字，已由党支部在决议上注明"
            else:
                kwargs["signature_note"] = "本人无法取得联系，未能签字，已由党支部在决议上注明"
        if spec.body is Body.BASE_COMMITTEE and plan.scenario == "persuade" and plan.rejected_once \
                and spec.key == "base_review":
            kwargs["opinion"] = "已补充本人以退党相要挟的经过和三次谈话记录，经审核同意劝退，重新报上级预审"
        decide_step(self.store, actor_id=actor, now=self.now, step_id=step.id, verdict="approve", **kwargs)
        plan.story.append(f"{local_date(self.now)} {spec.title}：同意")
        return "approve"

    def half_year(self) -> None:
        """Half a year on: the correction periods end (fired by the sweep) and the branch committee judges them; a
        suspended member applies in writing for restoration, inside the two years."""
        from sqlalchemy import func, select

        from casework.cases import open_step_of
        from casework.dispositions import judge_correction, propose_disposition
        from models.codes import FollowUpKind, StepKind
        from models.store import FollowUp

        with self.store.reading() as s:
            due = s.scalar(select(func.max(FollowUp.due_at)).where(FollowUp.kind == FollowUpKind.CORRECTION_END))
        base = local_date(due) + dt.timedelta(days=1) if due else local_date(self.now) + relativedelta(months=6)
        self.jump(base)
        self.round("半年后：限期改正期满", {})
        counts = Counter()
        for n, plan in enumerate(self.plans.values()):
            if plan.scenario not in ("correct_changed", "correct_nochange"):
                continue
            with self.store.reading() as s:
                step = open_step_of(s, plan.case_id)
            if step is None or step.kind is not StepKind.JUDGEMENT:
                continue
            self.slot(self.day_of(base) + 3, n)
            changed = plan.scenario == "correct_changed"
            opinion = ("本人期间按时参加组织生活、补交党费，思想认识明显提高，改正效果明显" if changed
                       else "限期改正期间本人仍不参加组织生活、不交纳党费，经多次谈话无转变")
            judge_correction(self.store, actor_id=self.secretary(plan.branch_id), now=self.now, step_id=step.id,
                             changed=changed, opinion=opinion)
            counts["期满评估"] += 1
            plan.story.append(f"{local_date(self.now)} 限期改正期满评估：{'有转变，办结' if changed else '无转变，转入劝退程序'}")
            if not changed:
                self.file_materials(plan)
        for plan in self.plans.values():
            if plan.scenario != "suspend_restore":
                continue
            self.at(self.day_of(base) + 8, 10)
            propose_disposition(self.store, actor_id=self.secretary(plan.branch_id), now=self.now,
                                case_id=plan.case_id, disposition="restore_membership",
                                grounds="本人主动与党支部联系，书面申请恢复党籍",
                                conduct="本人在外地务工期间手机遗失与组织失联，停止党籍期间无违纪违法行为，表示今后按时参加组织生活")
            self.file_materials(plan)
            counts["申请恢复党籍"] += 1
            plan.story.append(f"{local_date(self.now)} 本人书面申请恢复党籍（停止党籍满两年复查随之取消）")
        self.round("半年后：期满评估、申请恢复党籍", counts)
        self.decision_rounds(first_day=self.day_of(local_date(self.now)) + 4, phase="half_year", every=6)

    def day_of(self, day: dt.date) -> int:
        return (day - self.start_date).days

    def jump(self, day: dt.date) -> None:
        """Move the clock to 09:00 on a later day."""
        self.at(self.day_of(day), 9)

    def two_years_on(self) -> None:
        """Two years and a bit after the suspensions: the sweep fires the two-year reviews (the removal procedure
        opens by rule); materials are filed and a few more steps decided."""
        from models.store import Case

        with self.store.reading() as s:
            suspended = [s.get(Case, cid).suspended_at for cid in self.plans]
        latest = max((m for m in suspended if m is not None), default=self.now)
        self.jump(local_date(latest + relativedelta(years=2, days=14)))
        before = self.fired["two_year_review"]
        self.round("两年后：停止党籍满两年复查", {})
        self.two_year_fired = self.fired["two_year_review"] - before
        counts = Counter()
        for plan in self.plans.values():
            if plan.scenario in ("suspend_remove", "suspend_remove_open") and self._open_review(plan.case_id):
                self.file_materials(plan)
                counts["归档材料"] += 1
                plan.story.append(f"{local_date(self.now)} 停止党籍满两年仍无法取得联系，启动自行脱党除名程序")
        self.round("两年后：归档除名材料", counts)
        self.decision_rounds(first_day=self.day_of(local_date(self.now)) + 3, phase="two_years", every=7)

    # ------------------------------------------------------------ the end

    def finish(self) -> dict[str, Any]:
        from sqlalchemy import select

        from casework.cases import case_summary
        from casework.queries import inbox, statistics
        from models.statistics import HEADINGS, RELATIONS, broken_relations
        from models.store import Case, Member, Notification, Organisation

        self.drain()
        final = self.now
        with self.store.reading() as s:
            stats = statistics(s, BASE, campaign_id=self.campaign_id)
            table = stats["table"]
            broken = broken_relations(table)
            orgs = s.query(Organisation).order_by(Organisation.id).all()
            inboxes = []
            for o in orgs:
                items = inbox(s, now=final, org_id=o.id)
                inboxes.append({"org_id": o.id, "name": o.name, "open": len(items),
                                "late": sum(1 for i in items if i["late"])})
            cases = []
            for cid, plan in self.plans.items():
                case = s.get(Case, cid)
                summary = case_summary(s, case)
                cases.append({**summary, "member_name": plan.member_name, "branch_id": plan.branch_id,
                              "probationary": plan.probationary, "scenario": plan.scenario,
                              "scenario_label": SCENARIOS[plan.scenario].label, "flow_run_id": case.flow_run_id,
                              "story": plan.story, "member_id": case.member_id})
            notes = Counter(s.scalars(select(Notification.status)))
            member_count = s.query(Member).count()
        forms = self.export(final)
        runs = self.count_runs(cases)
        relations = []
        for total, parts in RELATIONS:
            value = sum(table[p] for p in parts)
            relations.append({"formula": f"{total}＝{'+'.join(parts)}", "holds": table[total] == value,
                              "total": table[total], "parts": value})
        leftover = self.cancel_leftover_followup_runs()
        ui = None
        if self.server is not None and self.server.ui:
            ui = f"http://127.0.0.1:{self.server.port}"
        elif self.server is None and self.api_url:
            ui = self.api_url.rsplit("/api", 1)[0]
        return {
            "store": str(self.dir / STORE_FILE),
            "store_url": self.store_url,
            "prefect_api_url": self.api_url,
            "prefect_server": "started" if self.server is not None else "reused",
            "prefect_server_kept": bool(self.server is not None and self.keep_server),
            "prefect_ui": ui,
            "campaign_id": self.campaign_id,
            "start_date": self.start_date.isoformat(),
            "final_time": final.isoformat(),
            "organisations": self.orgs_result,
            "roster": {k: self.roster[k] for k in ("file", "rows", "valid", "created", "updated", "unchanged")},
            "roster_file": str(self.dir / "roster.csv"),
            "members_in_store": member_count,
            "members_imported": self.roster["created"],
            "bad_rows": self.roster["errors"],
            "roster_warnings": len(self.roster["warnings"]),
            "cases": cases,
            "rounds": self.rounds,
            "followups_fired": dict(self.fired),
            "two_year_reviews_fired": self.two_year_fired,
            "statistics": {"org_id": BASE, "as_of": final.isoformat(), "table": table, "headings": HEADINGS,
                           "relations": relations, "relations_hold": not broken,
                           "broken": [b.message for b in broken]},
            "inbox": inboxes,
            "forms_dir": str(self.dir / "forms"),
            # files written per form (the dossiers: one per case, however many formats)
            "forms": {k: len([f for f in v if k != "dossiers" or f.endswith(".html")]) for k, v in forms.items()},
            "pdf": self.pdf,
            "notifications": dict(notes) | {"received_on_loopback": len(self.receiver.received)},
            "runs": runs,
            "segments": self.runner.segments,
            "runner_errors": self.runner.errors,
            "followup_runs_cancelled": leftover,
            "seconds": round(time.monotonic() - self.started, 1),
        }

    def export(self, final: dt.datetime) -> dict[str, list[str]]:
        from reports import export_forms

        self.say("正在导出表格文书…")
        with self.store.reading() as s:
            return export_forms(s, BASE, self.dir / "forms", campaign_id=self.campaign_id, leader="赵国强",
                                filled_by="钱小芳", phone="0731-88880012", filled_on=local_date(final),
                                pdf=self.pdf, now=final)

    def count_runs(self, cases: list[dict[str, Any]]) -> dict[str, int]:
        """Where each case run stands in Prefect (read from the server, not from the store)."""
        from uuid import UUID

        from prefect import get_client
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        ids = [UUID(c["flow_run_id"]) for c in cases if c["flow_run_id"]]
        states: dict[str, str] = {}
        with get_client(sync_client=True) as client:
            for i in range(0, len(ids), 200):
                chunk = ids[i:i + 200]
                for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)),
                                                 limit=len(chunk)):
                    states[str(run.id)] = run.state.name if run.state else "Unknown"
        counts = Counter()
        for c in cases:
            name = states.get(c["flow_run_id"] or "", "Missing")
            c["run_state"] = name
            counts["suspended" if name == "Suspended" else "completed" if name == "Completed" else "other"] += 1
        return {"suspended": counts["suspended"], "completed": counts["completed"], "other": counts["other"]}

    def cancel_leftover_followup_runs(self) -> int:
        """A Prefect server that outlives the demo (reused, or kept) must not keep runs scheduled for the demo's
        follow-ups: a runner serving another store on that server would execute them there one day."""
        if self.server is not None and not self.keep_server:
            return 0
        from sqlalchemy import select

        from models.store import FollowUp
        from tasks.prefect_api import cancel_if_scheduled

        with self.store.reading() as s:
            ids = [r for r in s.scalars(select(FollowUp.flow_run_id)) if r]
        return sum(cancel_if_scheduled(r) for r in ids)


# ---------------------------------------------------------------- small helpers

def _port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is not busy
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _quiet_prefect() -> None:
    """Prefect logs every flow and task run at INFO: the demo's progress lines are what stderr should show."""
    import prefect.main  # noqa: F401 - configures Prefect's logging (dictConfig) first, so the levels below stick

    for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "httpx", "apprise"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _witness(plan: CasePlan, stage: str) -> str:
    if stage == "department":
        return "镇党委工作人员 钱小芳"
    return {"B1": "东山村党支部组织委员 李秀兰", "B2": "西河村党支部组织委员 刘桂英",
            "B3": "青山社区党支部组织委员 杨丽娟"}[plan.branch_id]


def _label(code: str) -> str:
    from models.catalogue import Disposition

    return Disposition(code).label


def _short(title: str) -> str:
    return title.split("（", 1)[0].split("，", 1)[0]


def _opinion(action, title: str, plan: CasePlan) -> str:
    from models.codes import Action

    return {
        Action.TALK: "已与本人谈话，本人认识到长期未参加组织生活的错误，表示今后按时参加组织生活、交纳党费",
        Action.OPINION: f"支委会研究，同意{title}",
        Action.FIRST_REVIEW: f"经初审，情况属实，材料齐全，同意{title}",
        Action.PRE_REVIEW: f"经预审，事实清楚、材料齐全、程序规范，同意提交支部党员大会讨论{title}",
        Action.VOTE: f"支部党员大会讨论表决，同意{title}",
        Action.REVIEW: f"经审核，同意{title}，按程序报批",
        Action.APPROVE: f"同意{title}",
        Action.FILE: "已登记备案",
        Action.NOTIFY: ("本人无法取得联系，已在支部党员大会上宣布并将决定存档" if plan.scenario.startswith("suspend")
                        else "已当面通知本人，并在支部党员大会上宣布"),
        Action.RECORD: "已登记",
        Action.JUDGE: "已评估",
    }[action]


def run_demo(directory: Path, *, members: int = 60, seed: int = 7, port: int = DEFAULT_PORT,
             keep_server: bool = False, pdf: bool = False,
             say: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    return Demo(directory, members=members, seed=seed, port=port, keep_server=keep_server, pdf=pdf, say=say).run()


__all__ = ["run_demo", "Demo", "SCENARIOS"]
