"""export_forms: every paper of an organisation into one folder (what `lostcontact export forms` calls)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.errors import Refusal
from reports import export_forms, statistics_heading
from tests.reports.htmlparse import parse
from tests.reports.test_statistics import GOOD


def test_export_writes_every_paper(orgs, papers, tmp_path):
    out = tmp_path / "out"
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", out, campaign_id=papers["campaign"], leader="赵书记", filled_by="钱干事",
                             now=APRIL_20)
    assert set(paths) == {"dossiers", "roster", "unreachable", "ledger", "statistics"}
    dossiers = [Path(p) for p in paths["dossiers"]]
    assert len(dossiers) == 4  # one person, one file
    for key in ("contacted", "removal", "suspended", "searching"):
        built = papers[key]
        (path,) = [p for p in dossiers if p.name == f"{built.case_id}_{built.name}.html"]
        page = parse(path.read_text(encoding="utf-8"))
        assert page.field("name") == built.name and page.field("id_number") == built.id_number
    for key in ("roster", "unreachable", "ledger", "statistics"):
        assert [Path(p).suffix for p in paths[key]] == [".html", ".xlsx"]
        assert all(Path(p).exists() and Path(p).stat().st_size > 0 for p in paths[key])
    stats = parse(Path(paths["statistics"][0]).read_text(encoding="utf-8"))
    assert stats.find(data_cell="A").text == "4"
    # 统计时间 is the period (the campaign's start date to the day the papers stand), not the campaign's name.
    assert stats.field("period") == "2026.03.07—2026.04.20"
    assert load_workbook(paths["ledger"][1]).active.max_row >= 3 + 4


APRIL_20 = dt.datetime(2026, 4, 20, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Asia/Shanghai


def test_statistics_period_and_leader_come_from_the_store(orgs, papers, tmp_path):
    """Without a leader named, the organisation's secretary signs as 负责领导; without a campaign the table stands
    at a day."""
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path / "c", campaign_id=papers["campaign"], now=APRIL_20)
        whole = export_forms(s, "TOWN", tmp_path / "w", now=APRIL_20)
    stats = parse(Path(paths["statistics"][0]).read_text(encoding="utf-8"))
    assert stats.field("leader") == "赵书记" and stats.field("org") == "某镇党委"
    assert stats.field("period") == "2026.03.07—2026.04.20"
    ws = load_workbook(paths["statistics"][1]).active
    assert ws["A8"].value == "2026.03.07—2026.04.20" and ws["A3"].value == "负责领导（签字）：赵书记"
    assert parse(Path(whole["statistics"][0]).read_text(encoding="utf-8")).field("period") == "截至2026年4月20日"
    with orgs.reading() as s:  # what the web's download heads the table with
        assert statistics_heading(s, "TOWN", campaign_id=papers["campaign"], now=APRIL_20) == {
            "org_name": "某镇党委", "leader": "赵书记", "period_label": "2026.03.07—2026.04.20"}


def test_export_with_a_hand_table(orgs, papers, tmp_path):
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path, table=GOOD, period_label="2026年第一季度")
    ws = load_workbook(paths["statistics"][1]).active
    assert ws.cell(row=8, column=2).value == GOOD["A"] and ws["A8"].value == "2026年第一季度"


def test_export_refuses_an_inconsistent_table_before_writing(orgs, papers, tmp_path):
    out = tmp_path / "out"
    with orgs.reading() as s, pytest.raises(Refusal) as err:
        export_forms(s, "TOWN", out, table={**GOOD, "B": 13})
    assert err.value.code == "statistics_inconsistent" and "B＝C+G+M+N不成立" in err.value.message
    assert not out.exists()


def test_file_names_are_safe(orgs, tmp_path):
    from tests.reports.cases import add_full_member, new_campaign

    add_full_member(orgs, name="欧阳/修 二")
    new_campaign(orgs)
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path)
    (name,) = [Path(p).name for p in paths["dossiers"]]
    assert name.endswith("_欧阳_修_二.html") and "/" not in name
