"""The demo's script as rounds of work, day by day: search, proposals, decisions at every level, half a year on,
two years on. A mixin of `demo.script.Demo`, which holds the store, the clock and the plans."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from casework.cases import open_step_of
from casework.dispositions import decide_step, file_material, judge_correction, propose_disposition
from casework.search import record_attempt
from models.catalogue import procedure
from models.codes import Action, Body, CaseState, FollowUpKind, Stage, StepKind
from models.store import Case, DispositionRow, FollowUp
from models.timing import local_date

from .cast import (
    FOUND_TEXT,
    MEETINGS,
    PROPOSALS,
    SEARCH_END,
    SEARCH_TEXT,
    SUSPEND_GROUNDS,
    CasePlan,
    _label,
    _opinion,
    _short,
    _witness,
)


class Story:
    # ------------------------------------------------------------ the script

    def play(self) -> None:
        self.search_rounds()
        self.propose_round(day=19)
        self.decision_rounds(first_day=22, phase="campaign")
        self.half_year()
        self.two_years_on()

    def search_rounds(self) -> None:
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
        with self.store.reading() as s:
            case = s.get(Case, case_id)
            return case.state is CaseState.SEARCHING and case.search_stage is not None and \
                case.search_stage.value == stage

    def propose_round(self, day: int) -> None:
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
            if result.warning:
                plan.story.append(f"提示：{result.warning}")
        self.round("调查核实并提出处置意见", counts, note="材料随即归档")

    def file_materials(self, plan: CasePlan) -> int:
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
        with self.store.reading() as s:
            step = open_step_of(s, case_id)
            return step if step is not None and step.kind is StepKind.REVIEW else None

    def decide(self, plan: CasePlan, step) -> str:
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
