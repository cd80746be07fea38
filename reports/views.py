"""The papers' contents, read from the store through `casework.queries` and shaped as the forms lay them out.

Templates only lay out what these functions return, so the same rows feed the HTML and the XLSX."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from casework.queries import dossier, ledger, unreachable_register
from models.catalogue import FORM_BOXES
from models.codes import Occupation, OrgCategory, Situation
from models.timing import utcnow

from models.display import (DISPOSITION_STATUS, as_date, cn_date, code_label, full_date, local_minute, text_width,
                  year_month)
from .sources import campaign_info, org_name, shown_dispositions, unit_of

# The seal printed at the foot of each box of 附件4, as the form prints it.
BOX_SEALS: dict[str, str | None] = {
    "investigation": "党支部（盖章）",
    "branch_committee_opinion": "党支部（盖章）",
    "base_pre_review": "党委（盖章）",
    "upper_pre_review": "党委组织部门（盖章）",
    "meeting_resolution": "党支部（盖章）",
    "base_approval": "党委（盖章）",
    "upper_approval": "党委组织部门（盖章）",
    "remarks": None,
}
# Boxes whose foot carries the “年 月 日” line on the form (the investigation box has only the seal).
DATED_BOXES = {"branch_committee_opinion", "base_pre_review", "upper_pre_review", "meeting_resolution",
               "base_approval", "upper_approval"}
# The paper form has five ruled rows for the search log; fewer attempts leave blank rows, as on paper.
SEARCH_ROWS_ON_PAPER = 5

FOOTNOTE = "注：此表一式四份，党员所在党支部、基层党委、县委组织部、失联党员查找处置档案资料各存一份。"


# Where the label of a box breaks on the form, so no line ends with one lonely character.
BOX_LABEL_LINES: dict[str, tuple[str, ...]] = {
    "investigation": ("失联党员表现", "调查核实情况"),
    "branch_committee_opinion": ("支委会初步", "处置意见"),
    "base_pre_review": ("基层党委", "预审意见"),
    "upper_pre_review": ("上一级党委组织", "部门对拟劝退、", "除名处置的", "预审意见"),
    "meeting_resolution": ("支部党员大会", "决议"),
    "base_approval": ("基层党委审核", "（审批）意见"),
    "upper_approval": ("上一级党委组织", "部门对劝退、", "除名处置的", "审批意见"),
    "remarks": ("备　注",),
}


_WITNESS_BREAKS = re.compile(r"(\s+|[、，,；;])")
NAME_WIDTH = 12  # half-width cells: a part this short is a name (six Chinese characters) and never breaks


def witness_parts(text: str) -> list[tuple[str, bool]]:
    """A witness line as (part, keep on one line): it may wrap between parts (“东山村党支部组织委员 李秀兰” after the
    title, “李四、王五” after the 、), never inside a name."""
    parts: list[tuple[str, bool]] = []
    for piece in _WITNESS_BREAKS.split(text or ""):
        if not piece:
            continue
        if piece.isspace():
            parts.append((" ", False))
        elif _WITNESS_BREAKS.fullmatch(piece) and parts:
            parts[-1] = (parts[-1][0] + piece, parts[-1][1])  # the 、 stays with the name before it
        else:
            parts.append((piece, text_width(piece) <= NAME_WIDTH))
    return parts


@dataclass
class BoxEntry:
    text: str
    verdict: str | None
    rejected: bool
    by: str | None
    date: str
    title: str | None = None


@dataclass
class Box:
    key: str
    label: str
    seal: str | None
    dated: bool
    entries: list[BoxEntry] = field(default_factory=list)

    @property
    def label_lines(self) -> tuple[str, ...]:
        return BOX_LABEL_LINES.get(self.key, (self.label,))

    @property
    def last_date(self) -> str:
        return self.entries[-1].date if self.entries else ""


def _meeting_extras(entry: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    """What the form's text of a general-meeting resolution leaves out: who guided the meeting, and that the member
    signed (an unsigned resolution already carries the branch's note)."""
    for s in steps:
        if s["title"] == entry.get("title") and s["closed_at"] == entry.get("at") and s["vote"]:
            extra = ""
            if s["member_signed"]:
                extra += "（本人已签字）"
            if s["guide"]:
                extra += f"（基层党委派员到会指导：{s['guide']}）"
            return extra
    return ""


def dossier_view(session: Session, case_id: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """附件4 失联党员查找处置全程纪实表 for one case, as of `now` (the real time when not given, as for the archive
    copy the case flow files)."""
    d = dossier(session, case_id, now=now or utcnow())
    m = d["member"]
    unit = unit_of(session, m["branch_id"])
    reasons = [x for x in (m.get("situation_display"), d.get("lost_reasons")) if x]
    if len(reasons) == 2 and reasons[1] in reasons[0]:
        reasons = reasons[:1]
    attempts = [{
        "time": local_minute(a["attempted_at"]),
        "process": f"{a['stage_label']}（{a['method']}）：{a['description']}",
        "outcome": a["outcome_label"],
        "witness": a["witness"],
        "witness_parts": witness_parts(a["witness"]),
        "remark": a["remark"] or "",
        "recorded_by": a["recorded_by"],
    } for a in d["attempts"]]

    boxes: list[Box] = []
    for key, label in FORM_BOXES.items():
        box = Box(key, label, BOX_SEALS.get(key), key in DATED_BOXES)
        for e in d["form"].get(key, []):
            text = e["text"] or ""
            if key == "meeting_resolution":
                text += _meeting_extras(e, d["steps"])
            rejected = bool(e.get("verdict")) and e["verdict"] != "同意"
            box.entries.append(BoxEntry(text=text, verdict=e.get("verdict"), rejected=rejected, by=e.get("by"),
                                        date=cn_date(e.get("at")), title=e.get("title")))
        boxes.append(box)

    remarks = []
    for disp in d["dispositions"]:
        remarks.append(f"处置方式：{disp['title']}（{DISPOSITION_STATUS.get(disp['status'], disp['status'])}）")
    for r in d["referrals"]:
        remarks.append(f"已移送{r['target_label']}：{r['summary']}（{cn_date(r['referred_at'])}）")
    if m.get("remarks"):
        remarks.append(m["remarks"])
    if m.get("backup_contact"):
        remarks.append(f"备用联系人：{m['backup_contact']}")

    return {
        "case_id": d["case_id"],
        "state_label": d["state_label"],
        "unit": unit.heading or m.get("branch_name") or "",
        "member": {
            "name": m["name"], "gender": m["gender"], "ethnicity": m.get("ethnicity") or "",
            "birth": year_month(m["birth_date"]), "joined": year_month(m["joined_on"]),
            "id_number": m["id_number"], "phone": m.get("phone") or "",
            "branch_name": m.get("branch_name") or "", "kind": m.get("kind") or "",
            "last_contact": full_date(m.get("last_contact_on")),
        },
        "lost_contact_time": d["lost_contact_time"],
        "lost_reasons": "；".join(reasons),
        "attempts": attempts,
        "blank_rows": max(0, SEARCH_ROWS_ON_PAPER - len(attempts)),
        "boxes": boxes,
        "remarks": remarks,
        "footnote": FOOTNOTE,
    }


# ---------------------------------------------------------------- the lists

@dataclass(frozen=True)
class ListColumn:
    key: str
    heading: str
    width: float  # relative width on paper (mm on landscape A4), also the XLSX width hint
    align: str = "center"
    nowrap: bool = False  # dates, phones, file numbers: one line on paper, the other columns give way
    number_format: str | None = None  # the workbook's format of the typed value (a date) in `ListPaper.values`


DAY_FORMAT = "yyyy.mm.dd"  # 出生日期 of the ledger, as the paper prints it
MONTH_FORMAT = "yyyy.mm"  # 出生年月, 入党时间: the real date underneath, so the column sorts and filters as dates


@dataclass
class ListPaper:
    """A list filed on paper and in a workbook: 名册, 登记表, 台账."""

    kind: str
    title: str
    org_name: str
    campaign_name: str
    columns: list[ListColumn]
    rows: list[dict[str, str]]
    notes: list[str]
    footer: list[str]
    values: list[dict[str, Any]] = field(default_factory=list)  # per row: typed workbook values (dates) by key
    autofilter: bool = False  # the workbook's heading row gets filter buttons


def _code_cell(display: str | None) -> str:
    circled_, label = code_label(display)
    return f"{circled_}{label}" if circled_ else ""


def _code_legend(title: str, enum_cls) -> str:
    return f"{title}：" + "；".join(f"{c.circled}{c.label}" for c in enum_cls) + "。"


CODE_NOTES = [
    "与党组织失去联系时间：指党员最近一次参加党组织生活或交纳党费日期至联系查找结束时的时间。",
    _code_legend("失去联系情形", Situation) + "选⑦的，具体原因在备注栏中注明。",
    _code_legend("党组织类别", OrgCategory),
    _code_legend("职业", Occupation),
]

_REGISTER_COLUMNS = [
    ListColumn("seq", "序号", 9, nowrap=True),
    ListColumn("name", "姓名", 18, nowrap=True),
    ListColumn("gender", "性别", 9, nowrap=True),
    ListColumn("birth", "出生年月", 17, nowrap=True, number_format=MONTH_FORMAT),
    ListColumn("joined", "入党时间", 17, nowrap=True, number_format=MONTH_FORMAT),
    ListColumn("branch", "组织关系所在党组织", 34, "left"),
    ListColumn("org_category", "党组织类别", 20),
    ListColumn("occupation", "职业", 38),
    ListColumn("situation", "失去联系情形", 28),
    ListColumn("lost_contact_time", "与党组织失去联系时间", 22),
]


def _remarks(row: dict[str, Any], *extra: str) -> str:
    parts = [p for p in (*extra, row.get("remarks")) if p]
    return "；".join(parts)


def _register_row(n: int, row: dict[str, Any]) -> dict[str, str]:
    return {
        "seq": str(n), "name": row["name"], "gender": row["gender"], "birth": year_month(row["birth_date"]),
        "joined": year_month(row["joined_on"]), "branch": row.get("branch_name") or "",
        "org_category": _code_cell(row.get("org_category_display")),
        "occupation": _code_cell(row.get("occupation_display")),
        "situation": _code_cell(row.get("situation_display")),
        "lost_contact_time": row.get("lost_contact_time") or "",
    }


def _dates(row: dict[str, Any]) -> dict[str, Any]:
    """The workbook's typed birth and joining dates (the paper prints them as text)."""
    return {"birth": as_date(row.get("birth_date")), "joined": as_date(row.get("joined_on"))}


def _disposition_text(label: str | None, status: str | None) -> str:
    """“劝退，劝而不退除名（已办结）”: which disposition and where it stands."""
    if not label:
        return ""
    return f"{label}（{DISPOSITION_STATUS[status]}）" if status in DISPOSITION_STATUS else label


def _heading(session: Session, org_id: str, campaign_id: str | None) -> tuple[str, str]:
    info = campaign_info(session, campaign_id)
    return org_name(session, org_id), info.name if info else ""


def roster_paper(session: Session, org_id: str, campaign_id: str | None = None) -> ListPaper:
    """失联党员名册 [002]: every lost-contact member, with the codes of the 填表要求."""
    rows, values = [], []
    for n, row in enumerate(ledger(session, org_id, campaign_id), 1):
        r = _register_row(n, row)
        r["remarks"] = _remarks(row, row.get("kind") if row.get("kind") == "预备党员" else "")
        rows.append(r)
        values.append(_dates(row))
    org, campaign = _heading(session, org_id, campaign_id)
    return ListPaper("roster", "失联党员名册", org, campaign,
                     [*_REGISTER_COLUMNS, ListColumn("remarks", "备注", 38, "left")], rows,
                     ["本表由党支部填写，逐级报县（市、区）委组织部。",
                      "失联党员是指党员组织关系排查工作结束时，与党组织失去联系6个月以上的党员。", *CODE_NOTES],
                     ["填表人：", "联系电话：", "审核人：", "填报日期："], values)


def unreachable_paper(session: Session, org_id: str, campaign_id: str | None = None) -> ListPaper:
    """经查找仍然无法取得联系党员登记表 [002]."""
    rows, values = [], []
    found = unreachable_register(session, org_id, campaign_id)
    shown = shown_dispositions(session, [row["case_id"] for row in found])
    for n, row in enumerate(found, 1):
        r = _register_row(n, row)
        # 处置情况 names the disposition (停止党籍…), not only the case's state (已办结 says nothing of which).
        r["state"] = _disposition_text(*shown[row["case_id"]]) if row["case_id"] in shown else "尚未提出处置意见"
        r["remarks"] = _remarks(row, row.get("kind") if row.get("kind") == "预备党员" else "")
        rows.append(r)
        values.append(_dates(row))
    org, campaign = _heading(session, org_id, campaign_id)
    return ListPaper("unreachable", "经查找仍然无法取得联系党员登记表", org, campaign,
                     [*_REGISTER_COLUMNS, ListColumn("state", "处置情况", 26), ListColumn("remarks", "备注", 30, "left")],
                     rows,
                     ["本表由各党（工）委在协调有关部门再次深入查找的基础上填写，报县委组织部。",
                      "尚未取得联系的党员是指党员组织关系排查工作结束时，与党组织失去联系6个月以上，经多方努力确实无法取得联系的党员。",
                      *CODE_NOTES],
                     ["填表人：", "联系电话：", "审核人：", "填报日期："], values)


def _search_status(row: dict[str, Any]) -> str:
    if row.get("column") == "X":
        return "确认已死亡"
    if row.get("state") == "searching":
        return f"查找中（{row['search_stage']}）" if row.get("search_stage") else "查找中"
    return row.get("contact") or ""


def ledger_paper(session: Session, org_id: str, campaign_id: str | None = None) -> ListPaper:
    """失联党员工作台账 [000 §6], kept dynamically: the member's data and where search and disposition stand."""
    rows, values = [], []
    for n, row in enumerate(ledger(session, org_id, campaign_id), 1):
        disposition = _disposition_text(row.get("disposition"), row.get("disposition_status"))
        values.append(_dates(row))
        rows.append({
            "seq": str(n), "name": row["name"], "gender": row["gender"], "birth": full_date(row["birth_date"]),
            "joined": full_date(row["joined_on"]), "position": row.get("position") or "",
            "phone": row.get("phone") or "", "branch": row.get("branch_name") or "",
            "lost_contact_time": row.get("lost_contact_time") or "", "search": _search_status(row),
            "disposition": disposition, "state": row.get("state_label") or "", "case_id": row["case_id"],
        })
    org, campaign = _heading(session, org_id, campaign_id)
    columns = [
        ListColumn("seq", "序号", 9, nowrap=True),
        ListColumn("name", "姓名", 17, nowrap=True),
        ListColumn("gender", "性别", 9, nowrap=True),
        ListColumn("birth", "出生日期", 20, nowrap=True, number_format=DAY_FORMAT),
        ListColumn("joined", "加入党组织日期", 20, nowrap=True, number_format=DAY_FORMAT),
        ListColumn("position", "工作岗位", 26, "left"),
        ListColumn("phone", "联系电话", 25, nowrap=True),
        ListColumn("branch", "所在党支部", 26, "left"),
        ListColumn("lost_contact_time", "与党组织失去联系时间", 19, nowrap=True),
        ListColumn("search", "查找情况", 26),
        ListColumn("disposition", "组织处置情况", 38, "left"),
        ListColumn("state", "目前状态", 30, "left"),
        ListColumn("case_id", "档案编号", 24, nowrap=True),
    ]
    return ListPaper("ledger", "失联党员工作台账", org, campaign, columns, rows,
                     ["本台账实行动态管理，随查找和处置进展及时更新；与统计表一并经分管领导审签后报送。"],
                     ["填表人：", "联系电话：", "分管领导（签字）：", "填报日期："], values, autofilter=True)
