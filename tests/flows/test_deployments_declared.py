"""deploy/prefect.yaml (for `prefect deploy`) says exactly what caserunner/deployments.py declares: the same
deployments, entrypoints that name the same flows, the same schedules, tags and parameters."""
from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from caserunner.deployments import DEPLOYMENTS, TAGS, TIMEZONE

YAML = Path(__file__).resolve().parents[2] / "deploy" / "prefect.yaml"


def test_prefect_yaml_matches_the_declaration():
    declared = {d.name: d for d in DEPLOYMENTS}
    written = {d["name"]: d for d in yaml.safe_load(YAML.read_text(encoding="utf-8"))["deployments"]}
    assert set(written) == set(declared)
    for name, d in declared.items():
        w = written[name]
        assert w["entrypoint"] == d.entrypoint, name
        path, _, attr = d.entrypoint.partition(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, attr) is d.flow, name  # the entrypoint is the flow that is registered
        assert w.get("tags") == TAGS, name
        assert (w.get("parameters") or {}) == d.parameters, name
        crons = [(s["cron"], s["timezone"]) for s in w.get("schedules") or []]
        assert crons == ([(d.cron, TIMEZONE)] if d.cron else []), name
