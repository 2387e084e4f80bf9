"""The deployment files users copy (docs/deployment.md): they parse, and they say what RecordKit reads.

These check the files themselves (YAML, the Dockerfile's sources and user, the probes' paths, the
variables' names against Settings, the images' tags) so that a rename cannot leave them behind.
Building and running the image is deploy/check-image.sh's job (root, apt, minutes): not a test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from recordkit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# An exact release: at least major.minor ("15.19", "4.47", "v2.1.0", "0.1.0", "15.19-bookworm"),
# so neither "latest" nor a bare major ("15") that moves under you.
EXACT_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)*(-[a-z0-9][a-z0-9.]*)?$")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def kubernetes() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]
    return {d["kind"]: d for d in docs}


def dockerfile_user() -> tuple[int, int]:
    """The image's USER, which must be numeric (uid:gid) for runAsNonRoot to verify it."""
    users = re.findall(r"^USER (\S+)$", (ROOT / "Dockerfile").read_text(), flags=re.M)
    assert len(users) == 1, users
    match = re.fullmatch(r"(\d+):(\d+)", users[0])
    assert match is not None, f"USER {users[0]} is not numeric uid:gid"
    return int(match.group(1)), int(match.group(2))


def image_tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{image} has no tag"
    return tag


def known_variables() -> set[str]:
    """Every RECORDKIT_* variable RecordKit reads (the settings; the CLI's own options)."""
    names = {declared.env for declared in Settings.declarations()}
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "recordkit").rglob("*.py"))
    names |= set(re.findall(r"RECORDKIT_[A-Z0-9_]+", source))
    return names


def test_compose_file_parses_and_runs_two_replicas_on_postgres_and_s3() -> None:
    services = compose()["services"]
    assert {"postgres", "seaweedfs", "recordkit-1", "recordkit-2"} <= set(services)
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
        assert env["RECORDKIT_BUCKET_ENDPOINT_URL"] == "http://seaweedfs:8333"
        assert set(env) <= known_variables(), set(env) - known_variables()
        build = replica["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
    assert services["recordkit-2"]["depends_on"]["recordkit-1"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]


def test_kubernetes_sketch_parses_with_probes_on_readyz_and_livez() -> None:
    kinds = kubernetes()
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
    assert text.startswith("#")
    # The public base by default; deploy/check-image.sh builds with --build-arg BASE_IMAGE=<local>.
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", text, flags=re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, flags=re.M)
    assert '--build-arg "BASE_IMAGE=' in (DEPLOY / "check-image.sh").read_text()
    copied = [src for line in text.splitlines() if line.startswith("COPY ") for src in line.split()[1:-1]]
    assert copied and all((ROOT / src).exists() for src in copied), copied
    assert 'VOLUME ["/data"]' in text
    assert re.search(r"HEALTHCHECK .*\n.*/healthz", text)
    # The client first (the server pins it and it is not on PyPI yet), then the server with its
    # default dependencies, which bring every destination's client and the ffmpeg: no apt step.
    installs = re.findall(r"pip install (\S+)", text)
    assert installs[-2:] == ["./clients/python", "."], installs
    assert "apt-get" not in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"imageio-ffmpeg' in pyproject and '"boto3==' in pyproject and '"paramiko==' in pyproject
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not [src for src in copied if src.rstrip("/") in ignored]


def test_the_systemd_unit_is_the_one_the_docs_show() -> None:
    unit = (DEPLOY / "recordkit.service").read_text()
    assert "ExecStart=/opt/recordkit/venv/bin/recordkit serve" in unit
    assert unit in (ROOT / "docs" / "deployment.md").read_text()


def test_the_image_runs_as_a_numeric_user_that_owns_the_data_dir_as_kubernetes_says() -> None:
    text = (ROOT / "Dockerfile").read_text()
    uid, gid = dockerfile_user()
    assert uid >= 1000 and gid >= 1000
    assert f"--uid {uid} --gid {gid}" in text  # the passwd entry, for ps and ls
    assert f"chown {uid}:{gid} /data" in text
    assert re.search(r"^ENV .*RECORDKIT_DATA_DIR=/data", text, flags=re.M | re.S)
    pod = kubernetes()["Deployment"]["spec"]["template"]["spec"]
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"]) == (uid, gid, gid)
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"]["drop"] == ["ALL"]


def test_every_image_is_pinned_to_an_exact_release() -> None:
    services = compose()["services"]
    pulled = {name: s["image"] for name, s in services.items() if "build" not in s}
    assert {"postgres", "seaweedfs"} <= set(pulled), pulled
    for name, image in pulled.items():
        assert EXACT_TAG.match(image_tag(image)), f"{name}: {image} is not an exact release"
    assert image_tag(services["postgres"]["image"]).startswith("15.")  # the version the docs name
    # Built here, never pulled: a local name, not a registry's.
    built = {s["image"] for s in services.values() if "build" in s}
    assert built == {"recordkit:local"}
    containers = kubernetes()["Deployment"]["spec"]["template"]["spec"]["containers"]
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), flags=re.M)
    assert version is not None
    for container in containers:
        assert EXACT_TAG.match(image_tag(container["image"])), container["image"]
        assert image_tag(container["image"]) == version.group(1)  # the release the sketch names


def test_the_compose_bucket_is_made_with_the_credentials_recordkit_uses() -> None:
    services = compose()["services"]
    s3 = services["seaweedfs"]
    assert s3["command"][0] == "mini"
    for replica in ("recordkit-1", "recordkit-2"):
        env = services[replica]["environment"]
        bucket = env["RECORDKIT_BUCKET_URL"].removeprefix("s3://").split("/")[0]
        assert f"-bucket={bucket}" in s3["command"]
        assert f"/buckets/{bucket}/" in s3["healthcheck"]["test"][1]  # healthy once it exists
        assert s3["environment"]["AWS_ACCESS_KEY_ID"] == env["RECORDKIT_BUCKET_ACCESS_KEY"]
        assert s3["environment"]["AWS_SECRET_ACCESS_KEY"] == env["RECORDKIT_BUCKET_SECRET"]
        port = env["RECORDKIT_BUCKET_ENDPOINT_URL"].rsplit(":", 1)[1]
        assert s3["ports"] == [f"127.0.0.1:{port}:{port}"]  # published on loopback only
    assert services["recordkit-1"]["depends_on"]["seaweedfs"]["condition"] == "service_healthy"
    assert set(compose()["volumes"]) == {"postgres-data", "seaweedfs-data", "recordkit-data"}


def test_the_image_check_script_is_strict_bash_and_not_a_test() -> None:
    script = DEPLOY / "check-image.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert script.stat().st_mode & 0o111, "deploy/check-image.sh is not executable"
    assert '-p "127.0.0.1:$PORT:8787"' in text  # the port it publishes is loopback only
    assert "/readyz" in text
