"""Printing through headless Chromium: the full-process record is one A4 page for a normal case, a long search log
flows to a second page; the statistics table and the lists print on landscape A4. Marked `browser` (select with
-m browser); they run in the normal suite, CI installs chromium, fonts-noto-cjk and poppler-utils."""
from __future__ import annotations

import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from reports import (export_forms, render_dossier_html, render_ledger_html, render_roster_html,
                     render_statistics_html, render_unreachable_html)
from reports.pdf import PdfPrinter, html_to_pdf
from tests.reports.cases import drive_removal, new_campaign, removal_member
from tests.reports.test_statistics import GOOD

# Printing does not depend on the database: the HTML tests cover both stores, these print from SQLite only.
pytestmark = pytest.mark.browser
sqlite_only = pytest.mark.parametrize("store", ["sqlite"], indirect=True)

A4 = (595.28, 841.89)  # points; Chromium writes 594.96 x 841.92


def pages(path) -> list:
    return PdfReader(str(path)).pages


def size(page) -> tuple[float, float]:
    return float(page.mediabox.width), float(page.mediabox.height)


def is_a4(page, landscape: bool = False) -> bool:
    w, h = size(page)
    want = A4[::-1] if landscape else A4
    return abs(w - want[0]) < 2 and abs(h - want[1]) < 2


# Chromium's text layer maps some glyphs of Noto CJK to radicals (U+2E80-2EFF, U+2F00-2FDF) instead of the
# ideographs; NFKC folds the Kangxi radicals, this folds the supplement's simplified forms that the papers use.
RADICALS = str.maketrans("⻢⻓⻔⻅⻛⻋⻜⻝⻉⻘⻚⻄⻩⻳⻬⻥⻦⻨⻮⻙⻊⻆⻑⻁⻈⻓",
                         "马长门见风车飞食贝青页西黄龟齐鱼鸟麦齿韦足角长厂讠长")


def text(page) -> str:
    return unicodedata.normalize("NFKC", page.extract_text() or "").translate(RADICALS)


def png_of_first_page(pdf: Path) -> Path | None:
    """Page 1 as a PNG (for a person to look at); None where poppler-utils is missing."""
    if shutil.which("pdftoppm") is None:
        return None
    stem = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", "60", "-f", "1", "-l", "1", "-singlefile", "-png", str(pdf), str(stem)],
                   check=True)
    png = stem.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return png


@sqlite_only
def test_dossier_is_one_a4_page_for_a_normal_case(orgs, tmp_path):
    """The longest chain (seven steps with a rejection) and eight search attempts still fit one page."""
    built = drive_removal(orgs, _one_member(orgs), attempts=8)
    with orgs.reading() as s:
        html = render_dossier_html(s, built.case_id)
    pdf = Path(html_to_pdf(html, tmp_path / "dossier.pdf"))
    (page,) = pages(pdf)
    assert is_a4(page)
    content = text(page)
    assert built.name in content and built.id_number in content
    assert "失联党员查找处置全程纪实表" in content and "此表一式四份" in content
    assert all(a["witness"] in content for a in built.attempts)
    assert png_of_first_page(pdf) is not None or shutil.which("pdftoppm") is None


@sqlite_only
def test_long_search_log_flows_to_a_second_page(orgs, tmp_path):
    built = drive_removal(orgs, _one_member(orgs), attempts=16)
    with orgs.reading() as s:
        html = render_dossier_html(s, built.case_id)
    pdf = html_to_pdf(html, tmp_path / "long.pdf")
    ps = pages(pdf)
    assert len(ps) == 2 and all(is_a4(p) for p in ps)
    assert "(续)" in text(ps[1]) and built.case_id in text(ps[1])  # the running head of a continued page
    assert "(续)" not in text(ps[0])


@sqlite_only
def test_statistics_and_lists_print_on_landscape_a4(orgs, papers, tmp_path):
    with orgs.reading() as s, PdfPrinter() as printer:
        stats = printer.print(render_statistics_html(GOOD, org_name="某镇党委", period_label="2026年第一季度"),
                              tmp_path / "stats.pdf")
        lists = [printer.print(render(s, "TOWN", papers["campaign"]), tmp_path / f"{render.__name__}.pdf")
                 for render in (render_roster_html, render_unreachable_html, render_ledger_html)]
    (page,) = pages(stats)
    assert is_a4(page, landscape=True)
    content = text(page)
    assert "与党组织失去联系党员规范管理和组织处置有关情况统计表" in content and "负责领导(签字)" in content
    for path in lists:
        (page,) = pages(path)
        assert is_a4(page, landscape=True)
        assert "周海燕" in text(page)
    png_of_first_page(Path(stats))


@sqlite_only
def test_export_prints_pdfs_too(orgs, papers, tmp_path):
    with orgs.reading() as s:
        paths = export_forms(s, "TOWN", tmp_path, campaign_id=papers["campaign"], pdf=True)
    pdfs = [p for ps in paths.values() for p in ps if p.endswith(".pdf")]
    assert len(pdfs) == 4 + 4  # four dossiers, three lists, the statistics table
    for key in ("contacted", "removal", "suspended", "searching"):
        built = papers[key]
        (pdf,) = [p for p in paths["dossiers"] if p.endswith(f"{built.case_id}_{built.name}.pdf")]
        assert len(pages(pdf)) == 1 and is_a4(pages(pdf)[0])


def _one_member(store):
    m = removal_member(store, "马长记")
    new_campaign(store)
    return m


def test_html_to_pdf_reports_a_missing_browser(monkeypatch, tmp_path):
    monkeypatch.setenv("LOSTCONTACT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(RuntimeError, match="Chromium"):
        html_to_pdf("<p>x</p>", tmp_path / "x.pdf")


