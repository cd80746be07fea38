"""`lostcontact demo` end to end: a real subprocess against a real Prefect server started here (SQLite, loopback),
checked from the outside — the JSON document, the forms on disk, the runs in Prefect, the demo store — and the
user's own store left untouched."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL, temporary_settings

from casework import runs
from casework.db import Store
from deploy.server import PrefectServer
from models.position import base_key, pause_key
from models.statistics import broken_relations
from models.store import Case
from reports.export import DOSSIER_DIR, dossier_filename

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    server = PrefectServer(home=tmp_path_factory.mktemp("prefect-demo"), scheduler=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def demo(prefect_server, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo-cwd")
    user_store = cwd / "user-store.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOSTCONTACT_", "PREFECT_"))}
    env.update({"PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8", "PREFECT_API_URL": prefect_server.api_url,
                "LOSTCONTACT_DB_URL": f"sqlite:///{user_store}"})
    done = subprocess.run([sys.executable, "-m", "cli.main", "demo", "--json", "--members", "30",
                           "--dir", str(cwd / "demo")], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=900)
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    document = json.loads(done.stdout)  # exactly one JSON document on stdout
    return {"doc": document, "cwd": cwd, "user_store": user_store, "stderr": done.stderr}


def test_document_and_statistics(demo):
    doc = demo["doc"]
    assert doc["ok"] is True
    assert {"store", "prefect_api_url", "members_imported", "bad_rows", "cases", "statistics", "forms_dir",
            "two_year_reviews_fired", "runs", "seconds"} <= set(doc)
    assert doc["prefect_server"] == "reused"  # the server at PREFECT_API_URL, not one of its own
    assert doc["members_imported"] > 0 and doc["bad_rows"] and all(r["line"] > 1 for r in doc["bad_rows"])
    table = doc["statistics"]["table"]
    assert broken_relations(table) == [] and doc["statistics"]["relations_hold"]
    assert table["A"] == len(doc["cases"]) > 0
    assert doc["two_year_reviews_fired"] >= 1
    assert doc["runner_errors"] == 0


def test_user_store_untouched(demo):
    assert not demo["user_store"].exists()
    assert not (demo["cwd"] / "var").exists()
    assert Path(demo["doc"]["store"]).is_file() and Path(demo["doc"]["store"]).is_relative_to(demo["cwd"] / "demo")


def test_forms_for_every_case(demo):
    doc = demo["doc"]
    forms = Path(doc["forms_dir"])
    for case in doc["cases"]:
        assert (forms / DOSSIER_DIR / dossier_filename(case["case_id"], case["member_name"])).is_file(), case
    assert list(forms.glob("统计表.*")) and list(forms.glob("失联党员名册.*"))


def test_runs_suspended_or_completed_where_the_store_stands(demo, prefect_server):
    doc = demo["doc"]
    store = Store(doc["store_url"])
    try:
        with store.reading() as s:
            cases = {c.id: c.flow_run_id for c in s.query(Case)}
            positions = {cid: runs.position(s, cid) for cid in cases}
    finally:
        store.dispose()
    assert set(cases) == {c["case_id"] for c in doc["cases"]}
    states = {"Suspended": 0, "Completed": 0}
    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url}):
        with get_client(sync_client=True) as client:
            for cid, run_id in cases.items():
                assert run_id, cid
                run = client.read_flow_run(UUID(run_id))
                pos = positions[cid]
                assert run.state.name in states, (cid, run.state)
                states[run.state.name] += 1
                if pos.finished:
                    assert run.state.is_completed(), (cid, run.state)
                else:
                    assert run.state.is_paused(), (cid, run.state)
                    assert base_key(run.state.state_details.pause_key) == pause_key(pos.wait_key), cid
    assert doc["runs"] == {"suspended": states["Suspended"], "completed": states["Completed"], "other": 0}
