"""deploy/k8s/ and the Containerfile, checked offline: every manifest against the Kubernetes schemas that
kubernetes-validate bundles (strict: an unknown field is an error), the references between them (Secrets, ConfigMaps,
volumes, Services' selectors), Prefect's settings the same as the local set-up's (deploy/cluster.py), the image they
name the one the Containerfile builds, and the Containerfile itself read by Docker's own parser (the `dockerfile`
package wraps BuildKit's): what it copies exists, and it copies every package pyproject installs. A few seconds."""
from __future__ import annotations

import tomllib
from pathlib import Path

import dockerfile
import kubernetes_validate
import pytest
import yaml

from deploy.cluster import redis_settings
from deploy.server import QUIET_SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
IMAGE = f"lostcontact:{PYPROJECT['project']['version']}"


def documents() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


def pod_specs() -> list[tuple[str, dict]]:
    """(workload name, pod spec) of every Deployment, StatefulSet and Job."""
    return [(d["metadata"]["name"], d["spec"]["template"]["spec"]) for _, d in documents()
            if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def containers(spec: dict) -> list[dict]:
    return spec.get("initContainers", []) + spec["containers"]


def test_the_set_up_is_all_there():
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in documents()}
    assert {("Deployment", "prefect-api"), ("Deployment", "prefect-services"), ("Job", "prefect-migrate"),
            ("Deployment", "redis"), ("StatefulSet", "postgres"), ("StatefulSet", "case-runner"),
            ("Deployment", "web"), ("Service", "prefect-api"), ("Service", "redis"), ("Service", "postgres"),
            ("Service", "web"), ("ConfigMap", "prefect-settings"), ("ConfigMap", "lostcontact-settings"),
            ("Secret", "lostcontact-db")} <= kinds
    api = by_kind("Deployment")["prefect-api"]
    assert api["spec"]["replicas"] >= 2
    assert "--no-services" in api["spec"]["template"]["spec"]["containers"][0]["command"]
    services = by_kind("Deployment")["prefect-services"]["spec"]["template"]["spec"]["containers"][0]
    assert services["command"] == ["prefect", "server", "services", "start"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_matches_the_kubernetes_schemas(path):
    version = kubernetes_validate.latest_version()
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs, f"{path.name} holds no resource"
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at "
                        f"{'.'.join(map(str, exc.path))}")


def test_a_wrong_field_is_caught():
    """The check can fail: a misspelt field and a wrong type are refused."""
    deployment = by_kind("Deployment")["prefect-api"]
    version = kubernetes_validate.latest_version()
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**deployment, "spec": {**deployment["spec"], "replica": 2}}, version, strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**deployment, "spec": {**deployment["spec"], "replicas": "two"}}, version,
                                     strict=True)


def test_references_resolve():
    secrets, config_maps = by_kind("Secret"), by_kind("ConfigMap")
    claims = set(by_kind("PersistentVolumeClaim"))
    templates = {name: {t["metadata"]["name"] for t in d["spec"].get("volumeClaimTemplates", [])}
                 for name, d in by_kind("StatefulSet").items()}
    for workload, spec in pod_specs():
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for v in volumes.values():
            if "secret" in v:
                assert v["secret"]["secretName"] in secrets, (workload, v)
            if "configMap" in v:
                assert v["configMap"]["name"] in config_maps, (workload, v)
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in claims, (workload, v)
        for c in containers(spec):
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, (workload, source)
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], (workload, var)
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in templates.get(workload, ()), (workload, mount)
    labels = [d["spec"]["template"]["metadata"]["labels"] for _, d in documents()
              if d["kind"] in ("Deployment", "StatefulSet")]
    for name, service in by_kind("Service").items():
        selector = service["spec"]["selector"]
        assert any(selector.items() <= lab.items() for lab in labels), f"Service {name} selects no pod"
    # The URLs the pods use name the Services that exist.
    settings = config_maps["lostcontact-settings"]["data"]
    assert settings["PREFECT_API_URL"].split("//")[1].split(":")[0] in by_kind("Service")


def test_prefect_settings_are_the_local_set_ups():
    """The ConfigMap prefect-settings sets what deploy/cluster.py sets for the processes it starts here (Redis's
    address aside): a setting added to one is added to the other."""
    data = by_kind("ConfigMap")["prefect-settings"]["data"]
    local = {**QUIET_SERVICES, **redis_settings("redis://redis:6379/0")}
    assert data == local


def test_our_containers_run_the_image_the_containerfile_builds():
    ours = [(w, c["image"]) for w, spec in pod_specs() for c in containers(spec) if c["image"].startswith("lostcontact")]
    assert ours and {image for _, image in ours} == {IMAGE}, ours
    others = [c["image"] for _, spec in pod_specs() for c in containers(spec) if not c["image"].startswith("lostcontact")]
    assert all(":" in image and not image.endswith(":latest") for image in others), others
    assert IMAGE in (ROOT / "Containerfile").read_text()


def test_the_containerfile_copies_what_exists_and_installs_every_package():
    commands = dockerfile.parse_file(str(ROOT / "Containerfile"))
    base = [c.value[0] for c in commands if c.cmd == "FROM"]
    assert base == ["python:3.11-slim-bookworm"]  # requires-python is ">=3.11,<3.12"
    assert PYPROJECT["project"]["requires-python"] == ">=3.11,<3.12"
    copied = [src for c in commands if c.cmd == "COPY" for src in c.value[:-1]]
    for src in copied:
        assert (ROOT / src).exists(), f"the Containerfile copies {src}, which is not in the repository"
    packages = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert {src.rstrip("/") for src in copied if (ROOT / src).is_dir()} == packages
    assert "pyproject.toml" in copied
    runs = " ".join(" ".join(c.value) for c in commands if c.cmd == "RUN")
    assert "pip install ." in runs  # the project with pyproject's pins, not a hand-kept list
    assert any(c.cmd == "USER" and c.value[0] != "root" for c in commands)
