"""The deployment files users copy (docs/deployment.md): they parse, and they say what RecordKit reads.

No Docker engine or cluster here: these check the files themselves (YAML, the Dockerfile's sources,
the probes' paths, the variables' names against Settings) so that a rename cannot leave them behind.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from recordkit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def known_variables() -> set[str]:
    """Every RECORDKIT_* variable RecordKit reads (the settings; the CLI's own options)."""
    names = {declared.env for declared in Settings.declarations()}
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "recordkit").rglob("*.py"))
    names |= set(re.findall(r"RECORDKIT_[A-Z0-9_]+", source))
    return names


def test_compose_file_parses_and_runs_two_replicas_on_postgres_and_s3() -> None:
    compose: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "minio", "recordkit-1", "recordkit-2"} <= set(services)
    replicas = [services["recordkit-1"], services["recordkit-2"]]
    ports = {r["ports"][0] for r in replicas}
    assert ports == {"8787:8787", "8788:8787"}
    for replica in replicas:
        env = replica["environment"]
        assert (
            env["RECORDKIT_DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["RECORDKIT_DATABASE_URL"]
        )
        assert env["RECORDKIT_BUCKET_URL"].startswith("s3://")
        assert env["RECORDKIT_BUCKET_ENDPOINT_URL"] == "http://minio:9000"
        assert set(env) <= known_variables(), set(env) - known_variables()
        build = replica["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert services["recordkit-2"]["depends_on"]["recordkit-1"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]


def test_kubernetes_sketch_parses_with_probes_on_readyz_and_livez() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"Secret", "ConfigMap", "Deployment", "Service"}
    deployment = kinds["Deployment"]
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert {"RECORDKIT_SECRET_KEYS", "RECORDKIT_DATABASE_URL"} <= set(kinds["Secret"]["stringData"])
    names = set(kinds["Secret"]["stringData"]) | set(kinds["ConfigMap"]["data"])
    assert names <= known_variables(), names - known_variables()
    refs = {e.get("secretRef", e.get("configMapRef", {})).get("name") for e in container["envFrom"]}
    assert refs == {kinds["Secret"]["metadata"]["name"], kinds["ConfigMap"]["metadata"]["name"]}
    selector = kinds["Service"]["spec"]["selector"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()


def test_dockerfile_copies_what_exists_and_checks_health() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    copied = [src for line in text.splitlines() if line.startswith("COPY ") for src in line.split()[1:-1]]
    assert copied and all((ROOT / src).exists() for src in copied), copied
    assert "ffmpeg" in text and "USER recordkit" in text and 'VOLUME ["/data"]' in text
    assert re.search(r"HEALTHCHECK .*\n.*/healthz", text)
    install = re.search(r"pip install '\.\[([a-z0-9,]+)\]'", text)
    assert install is not None
    extras = set(install.group(1).split(","))
    pyproject = (ROOT / "pyproject.toml").read_text()
    for extra in extras:
        assert re.search(rf"^{extra} = \[", pyproject, flags=re.M), f"no extra {extra} in pyproject.toml"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not [src for src in copied if src.rstrip("/") in ignored]


def test_the_systemd_unit_is_the_one_the_docs_show() -> None:
    unit = (DEPLOY / "recordkit.service").read_text()
    assert "ExecStart=/opt/recordkit/venv/bin/recordkit serve" in unit
    assert unit in (ROOT / "docs" / "deployment.md").read_text()
