"""The official papers, ready to file: the full-process record of each case (附件4), the roster of lost-contact
members, the register of members still unreachable, the work ledger, and the statistics table (附件5), as
print-ready HTML and as XLSX workbooks; `export_forms` writes them all for an organisation, `pdf.html_to_pdf`
prints HTML through headless Chromium."""
from __future__ import annotations

from .export import export_forms, statistics_filing, statistics_heading
from .html import (render_dossier_html, render_ledger_html, render_roster_html, render_statistics_html,
                   render_unreachable_html)
from .xlsx import ledger_xlsx, roster_xlsx, statistics_xlsx, unreachable_xlsx

__all__ = [
    "export_forms", "statistics_filing", "statistics_heading", "render_dossier_html", "render_ledger_html",
    "render_roster_html", "render_statistics_html", "render_unreachable_html", "ledger_xlsx", "roster_xlsx",
    "statistics_xlsx", "unreachable_xlsx",
]
