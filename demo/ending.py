"""How the demo ends: the statistics, the inboxes, every form exported, where each run stands in Prefect. A mixin
of `demo.script.Demo`."""
from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlalchemy import select

from casework.cases import case_summary
from casework.queries import inbox, statistics
from models.statistics import HEADINGS, RELATIONS, broken_relations
from models.store import Case, FollowUp, Member, Notification, Organisation
from models.timing import local_date
from reports import export_forms
from tasks.prefect_api import cancel_if_scheduled

from .cast import BASE, SCENARIOS, STORE_FILE


class Ending:

    def finish(self) -> dict[str, Any]:
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
                                "late": sum(1 for i in items if i.late)})
            cases = []
            for cid, plan in self.plans.items():
                case = s.get(Case, cid)
                summary = case_summary(s, case)
                cases.append({**summary.model_dump(mode="json"), "member_name": plan.member_name,
                              "branch_id": plan.branch_id, "probationary": plan.probationary, "scenario": plan.scenario,
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
            "organisations": self.orgs_result.model_dump(mode="json"),
            "roster": self.roster.model_dump(mode="json", include={"file", "rows", "valid", "created", "updated",
                                                                   "unchanged"}),
            "roster_file": str(self.dir / "roster.csv"),
            "members_in_store": member_count,
            "members_imported": self.roster.created,
            "bad_rows": [e.model_dump(mode="json") for e in self.roster.errors],
            "roster_warnings": len(self.roster.warnings),
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
        self.say("正在导出表格文书…")
        with self.store.reading() as s:
            return export_forms(s, BASE, self.dir / "forms", campaign_id=self.campaign_id, leader="赵国强",
                                filled_by="钱小芳", phone="0731-88880012", filled_on=local_date(final),
                                pdf=self.pdf, now=final)

    def count_runs(self, cases: list[dict[str, Any]]) -> dict[str, int]:
        """Where each case run stands in Prefect (read from the server, not from the store)."""
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


        with self.store.reading() as s:
            ids = [r for r in s.scalars(select(FollowUp.flow_run_id)) if r]
        return sum(cancel_if_scheduled(r) for r in ids)

