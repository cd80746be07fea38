"""Roster import (党员名册导入) from CSV and spreadsheets, and who is lost-contact as of a campaign start.

Three layers, kept apart:

1. `roster_read.parse_roster(data, filename)` — pure: bytes in, rows of text out, each with its line number; a file
   it cannot read, an oversized file or field, or a missing required column is refused there.
2. `roster_check.check_rows(rows, columns=..., branches=..., today=...)` — pure: every reason a row is bad, in
   Chinese, and the warnings; the valid rows as typed `Member` field values.
3. `import_roster` (here) — the `@action`: loads the organisation tree and the existing members in bulk, checks,
   and upserts by ID number (through its keyed hash) in one transaction. With any bad row nothing is written unless
   `accept_valid_rows`.

`import_roster_file` / `import_roster_bytes` are the fronts that read and parse a file and call the action with
the parsed rows (file content, not a path, so the idempotency fingerprint covers what was imported).
"""
from __future__ import annotations

import contextvars
import logging
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from models.actor import Actor
from models.codes import Body, OrgKind
from models.errors import NotFound, Refusal
from models.protect import lookup_hash, member_id_for
from models.rules import check_actor
from models.store import Member, Organisation
from models.text import mask_id_number, shown
from models.timing import is_lost_contact, local_date, lost_contact_cutoff
from models.views import RosterError, RosterReport, RosterWarning

from .orgs import descendants, org_names
from .roster_check import BranchIndex, CheckedRow, OrgInfo, check_row, check_rows, parse_date
from .roster_read import (COLUMNS, LABEL, MAX_FILE_BYTES, REQUIRED_KEYS, ParsedRoster, cell_text, check_columns,
                          decode_text, header_key, parse_roster)
from .uow import Work, action

__all__ = ["COLUMNS", "LABEL", "BranchIndex", "CheckedRow", "OrgInfo", "ParsedRoster", "cell_text", "check_columns",
           "check_row", "check_rows", "decode_text", "header_key", "import_roster", "import_roster_bytes",
           "import_roster_file", "lost_contact_members", "member_id_for", "parse_date", "parse_roster"]

RULE = "002"
log = logging.getLogger("lostcontact.casework.roster")

# The fields of `Member` the roster owns (everything but id, created_at, updated_at).
MEMBER_FIELDS = ("name", "gender", "ethnicity", "birth_date", "joined_on", "id_number", "phone", "position",
                 "occupation", "branch_id", "kind", "last_contact_on", "situation", "backup_contact", "remarks",
                 "away_since", "reported_to_branch")

_progress: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("roster_progress",
                                                                                             default=None)
_CHUNK = 500


@action("import_roster", RosterReport)
def import_roster(work: Work, *, base_committee_id: str, rows_source: dict[str, Any],
                  accept_valid_rows: bool = False) -> RosterReport:
    """Import a parsed roster for a base committee (see `parse_roster().source()`): upsert members by ID number.

    Refuses the whole file (`roster_has_errors`, with the line-numbered report) when a row is bad, unless
    `accept_valid_rows`; then the valid rows import and the report lists the bad ones."""
    s = work.session
    base = s.get(Organisation, base_committee_id)
    if base is None:
        raise NotFound("基层党委", base_committee_id)
    if base.kind is not OrgKind.BASE_COMMITTEE:
        raise Refusal("not_base_committee", f"党员名册由基层党委导入，{base.name}是{base.kind.label}", RULE)
    if work.actor_id is not None:
        roles = work.roles()
        check_actor(Body.BASE_COMMITTEE, base_committee_id, roles, deciding=False,
                    org_names=org_names(s, [base_committee_id, *roles]))
    if not isinstance(rows_source, dict):
        raise Refusal("roster_format", "名册数据格式有误", RULE)
    filename = shown(rows_source.get("file") or "", 120)
    columns = [str(c) for c in rows_source.get("columns") or []]
    check_columns(columns, filename)
    rows = list(rows_source.get("rows") or [])
    if any(not isinstance(r, dict) or not isinstance(r.get("line"), int) for r in rows):
        raise Refusal("roster_format", f"{filename or '名册'}的数据行格式有误（每行须有行号）", RULE, file=filename)
    if not rows:
        raise Refusal("roster_empty", f"{filename or '名册'}中没有党员数据行", RULE, file=filename)
    progress = _progress.get()
    total = len(rows)

    orgs = [OrgInfo(*r) for r in s.execute(select(Organisation.id, Organisation.name, Organisation.kind,
                                                  Organisation.parent_id, Organisation.category))]
    branches = BranchIndex(orgs, base_committee_id)
    checked = check_rows(rows, columns=columns, branches=branches, today=local_date(work.now))

    # One query per chunk of ID numbers, not per row.
    hashes = {c.values["id_number"]: lookup_hash(c.values["id_number"]) for c in checked if c.valid}
    wanted = list(hashes.values())
    existing: dict[Any, dict[str, Any]] = {}
    cols = [Member.id, *(getattr(Member, f) for f in MEMBER_FIELDS)]
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        # Literal values, not 500 bind parameters: once psycopg prepares the statement, PostgreSQL's generic plan
        # for `IN ($1..$500)` scans the table comparing every row with every parameter (250 ms a chunk). The
        # values are hex digests.
        ids: BindParameter[Any] = bindparam("ids", chunk, expanding=True, literal_execute=True)
        for row in s.execute(select(*cols).where(Member.id_hash.in_(ids))):
            existing[row.id_number] = dict(row._mapping)
    for c in checked:
        current = existing.get(c.values.get("id_number")) if c.valid else None
        if current is not None and current["branch_id"] not in branches.under:
            elsewhere = branches.orgs.get(current["branch_id"])
            c.reasons.append(f"该党员已在{elsewhere.name if elsewhere else current['branch_id']}登记，不属于"
                             f"{base.name}；组织关系转接后方可由本党委导入")

    warnings = rows_source.get("warnings")
    report = _report(filename, base_committee_id, checked, warnings if isinstance(warnings, list) else [])
    if report.errors and not accept_valid_rows:
        lines = [str(e.line) for e in report.errors]
        listed = "、".join(lines[:10]) + ("等" if len(lines) > 10 else "")
        raise Refusal("roster_has_errors",
                      f"名册{filename}第{listed}行有误（共{len(lines)}行），未导入任何内容；请改正后重新导入，"
                      f"或选择只导入无误的行", RULE, report=report.model_dump(mode="json"))

    # Write: absent optional columns leave the stored values alone; present ones (even empty) are the roster's word.
    written = [f for f in MEMBER_FIELDS if f in columns or f in REQUIRED_KEYS]
    inserts, updates, changes = [], [], []
    unchanged = 0
    for c in checked:
        if not c.valid:
            continue
        new: dict[str, Any] = {f: c.values.get(f) for f in written}
        current = existing.get(new["id_number"])
        if current is None:
            defaults: dict[str, Any] = {f: None for f in MEMBER_FIELDS}
            defaults["reported_to_branch"] = False
            inserts.append({**defaults, **new, "id": member_id_for(new["id_number"]),
                            "id_hash": hashes[new["id_number"]], "created_at": work.now, "updated_at": work.now})
            continue
        changed = [f for f in written if current[f] != new[f]]
        if not changed:
            unchanged += 1
            continue
        updates.append({**new, "id": current["id"], "updated_at": work.now})
        changes.append({"member_id": current["id"], "line": c.line, "fields": changed})
    done = total - len(inserts) - len(updates)
    if progress:
        progress(done, total)
    try:
        for batch in (inserts, updates):
            # render_nulls: every row has every key, so the rows go out as one batch instead of one INSERT per
            # pattern of empty cells.
            statement = insert(Member).execution_options(render_nulls=True) if batch is inserts else update(Member)
            for start in range(0, len(batch), _CHUNK):
                part = batch[start:start + _CHUNK]
                s.execute(statement, part)
                done += len(part)
                if progress:
                    progress(done, total)
    except IntegrityError:
        # Another import registered some of these members first (two imports of one roster at once). The
        # driver's message quotes the whole batch: never shown, never logged.
        raise Refusal("concurrent_import", f"名册{filename}中的部分党员刚被另一项同时进行的导入登记，本次未导入任何内容；"
                      f"请稍后重新导入", RULE) from None
    except DBAPIError as exc:
        log.error("roster import: the database refused the write (%s)", type(exc.orig).__name__)
        raise Refusal("roster_write_failed", f"写入名册{filename}时数据库出错，未导入任何内容；请联系系统管理员", RULE) from None

    report.created, report.updated, report.unchanged = len(inserts), len(updates), unchanged
    report.imported = report.valid > 0
    work.audit(org_id=base_committee_id, file=filename, rows=report.rows, valid=report.valid,
               bad=len(report.errors), created=len(inserts), updated=len(updates), unchanged=unchanged,
               accept_valid_rows=accept_valid_rows, changes=changes)
    return report


def _report(filename: str, base_committee_id: str, checked: list[CheckedRow],
            parse_warnings: list[dict[str, Any]]) -> RosterReport:
    # Names and ID numbers as a report may show them: masked, and safe to print (the report is kept as the
    # request's answer and printed on terminals).
    errors = [RosterError(line=c.line, name=shown(c.name, 40), id_number=mask_id_number(c.id_text),
                          reasons=list(c.reasons))
              for c in checked if c.reasons]
    # The parse warnings come with the rows from the caller: kept only in their shape, their text made safe
    warnings = [RosterWarning(line=w.get("line") if isinstance(w.get("line"), int) else None,
                              message=shown(w.get("message"), 200))
                for w in parse_warnings if isinstance(w, dict)][:1000]
    warnings.extend(RosterWarning(line=c.line, name=shown(c.name, 40), message=w) for c in checked for w in c.warnings)
    return RosterReport(file=filename, base_committee_id=base_committee_id, rows=len(checked),
                        valid=sum(1 for c in checked if c.valid), errors=errors, warnings=warnings)


# ---------------------------------------------------------------- fronts


def import_roster_bytes(store, data: bytes, filename: str, *, base_committee_id: str, actor_id: str | None = None,
                        accept_valid_rows: bool = False, request_id: str | None = None, now=None,
                        progress: Callable[[int, int], None] | None = None,
                        actor: Actor | None = None) -> RosterReport:
    """Parse an uploaded roster and import it (the web upload's front)."""
    parsed = parse_roster(data, filename)
    token = _progress.set(progress)
    try:
        return import_roster(store, request_id=request_id, actor_id=actor_id, actor=actor, now=now,
                             base_committee_id=base_committee_id, rows_source=parsed.source(),
                             accept_valid_rows=accept_valid_rows)
    finally:
        _progress.reset(token)


def import_roster_file(store, path, *, base_committee_id: str, actor_id: str | None = None,
                       accept_valid_rows: bool = False, request_id: str | None = None, now=None,
                       progress: Callable[[int, int], None] | None = None,
                       actor: Actor | None = None) -> RosterReport:
    """Read a roster file (CSV or a spreadsheet) and import it; see `import_roster`. `progress(done, total)` is called
    as rows are settled, for a progress bar. A file over the size limit is refused before it is read."""
    path = Path(path)
    if path.is_file() and path.stat().st_size > MAX_FILE_BYTES:
        raise Refusal("roster_too_large", f"{shown(path.name, 120)}过大（{path.stat().st_size // 1024 // 1024} MB，最多"
                      f"{MAX_FILE_BYTES // 1024 // 1024} MB），请分批导入", RULE, file=shown(path.name, 120))
    return import_roster_bytes(store, path.read_bytes(), path.name, base_committee_id=base_committee_id,
                               actor_id=actor_id, accept_valid_rows=accept_valid_rows, request_id=request_id,
                               now=now, progress=progress, actor=actor)


# ---------------------------------------------------------------- who is lost-contact


def lost_contact_members(session: Session, base_committee_id: str, start_date: dt.date) -> list[Member]:
    """Members of the branches under a base committee who are lost-contact as of a campaign start (DOMAIN §3: last
    contact on or before six calendar months back, or none recorded), ordered by branch id, name (by code point)
    and ID number."""
    org_ids = descendants(session, base_committee_id)
    cutoff = lost_contact_cutoff(start_date)
    query = select(Member).where(Member.branch_id.in_(org_ids),
                                 or_(Member.last_contact_on.is_(None), Member.last_contact_on <= cutoff))
    found = [m for m in session.scalars(query) if is_lost_contact(m.last_contact_on, start_date)]
    # Sorted here, not in SQL: PostgreSQL's collation would order Chinese names differently from SQLite.
    return sorted(found, key=lambda m: (m.branch_id, m.name, m.id_number))
