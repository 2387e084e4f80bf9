"""The two distributions as a user gets them: built (sdist, then a wheel from that sdist), installed
into fresh venvs with pip, and used.

- ``recordkit-client`` (clients/python) installed alone brings no server dependency, and its
  typed client (sync and async), run by that venv's python, drives a live ``recordkit serve``.
- Both build an sdist and a wheel whose metadata PyPI takes (name, version, an SPDX license) and
  whose files do not overlap; the server's pins the client's version.
- Installing either prints no deprecation warning, and uninstalling the server leaves the client
  working (no file belongs to both).

pip reaches the package registry here (build backends, httpx, ...): about a minute or more.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import random
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.data import write_jsonl
from tests.support.recording import Tenant
from tests.support.scripted import import_rows
from tests.support.servers import RkServer
from tests.support.world import generate_main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PROJECT = ROOT / "clients" / "python"
# What the server installs and the client must not (its own deps are httpx, anyio, msgspec).
SERVER_ONLY = {
    "recordkit-server",
    "starlette",
    "granian",
    "cryptography",
    "click",
    "rich",
    "prometheus-client",
    "boto3",
    "azure-storage-blob",
    "google-cloud-storage",
    "paramiko",
    "psycopg",
}
PIP_TIMEOUT = 600


def run(*args: str | Path) -> str:
    """A command with a clean environment (no PYTHONPATH, no active venv); its stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_NO_INPUT"] = "1"
    done = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=PIP_TIMEOUT, env=env, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{output}"
    return output


def deprecations(output: str) -> list[str]:
    return [line for line in output.splitlines() if "deprecat" in line.lower()]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    def pip(self, *args: str | Path) -> str:
        return run(self.python, "-m", "pip", *args)

    def installed(self) -> dict[str, str]:
        rows = json.loads(run(self.python, "-m", "pip", "list", "--format=json", "--disable-pip-version-check"))
        return {canonical(r["name"]): r["version"] for r in rows}


def fresh_venv(path: Path) -> Venv:
    """``python -m venv`` and pip upgraded, as the README's install lines do."""
    run(sys.executable, "-m", "venv", path)
    venv = Venv(path)
    venv.pip("install", "-q", "-U", "pip")
    return venv


@dataclass
class Built:
    sdist: Path
    wheel: Path
    output: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """``python -m build`` of each project: an sdist, then a wheel built from that sdist."""
    root = tmp_path_factory.mktemp("dists")
    tools = fresh_venv(root / "venv")
    tools.pip("install", "-q", "build")
    out: dict[str, Built] = {}
    for name, project in (("recordkit-client", CLIENT_PROJECT), ("recordkit-server", ROOT)):
        dist = root / name
        output = run(tools.python, "-m", "build", "--outdir", dist, project)
        sdists, wheels = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
        assert len(sdists) == 1 and len(wheels) == 1, (name, sorted(dist.iterdir()))
        out[name] = Built(sdists[0], wheels[0], output)
    return out


def wheel_metadata(wheel: Path) -> tuple[Any, list[str]]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [meta] = [n for n in names if n.endswith(".dist-info/METADATA")]
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(zf.read(meta))
    return message, [n for n in names if ".dist-info/" not in n]


def sdist_metadata(sdist: Path) -> tuple[Any, list[str]]:
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
        [info] = [n for n in names if n.count("/") == 1 and n.endswith("/PKG-INFO")]
        handle = tf.extractfile(info)
        assert handle is not None
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(handle.read())
    return message, [n.split("/", 1)[1] for n in names if "/" in n]


def requirement_names(message: Any) -> dict[str, str]:
    """Requires-Dist without an extra marker: canonical name -> the requirement as written."""
    found = {}
    for req in message.get_all("Requires-Dist") or []:
        if "extra ==" not in req:
            found[canonical(re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0])] = req
    return found


def test_each_distribution_builds_with_metadata_pypi_takes(built: dict[str, Built]) -> None:
    from recordkit.client._core import USER_AGENT

    files: dict[str, set[str]] = {}
    versions = set()
    for name, dist in built.items():
        assert deprecations(dist.output) == [], f"{name}: {deprecations(dist.output)}"
        meta, wheel_files = wheel_metadata(dist.wheel)
        assert meta["Name"] == name
        assert tuple(int(p) for p in meta["Metadata-Version"].split(".")) >= (2, 4)
        assert meta["License-Expression"] == "Apache-2.0" and meta["License"] is None
        assert meta["Requires-Python"] == ">=3.11"
        assert meta["Summary"] and meta["Description-Content-Type"] == "text/markdown"
        assert len(meta.get_payload()) > 200, "the README is the long description"
        assert re.fullmatch(r"\d+\.\d+\.\d+", meta["Version"])
        versions.add(meta["Version"])
        sdist_meta, sdist_files = sdist_metadata(dist.sdist)
        assert (sdist_meta["Name"], sdist_meta["Version"]) == (name, meta["Version"])
        assert {"pyproject.toml", "README.md", "PKG-INFO"} <= set(sdist_files)
        assert not [f for f in wheel_files if "__pycache__" in f or f.endswith(".pyc")]
        files[name] = set(wheel_files)

    version = versions.pop()
    assert not versions, "the two distributions are released together, with one version"
    assert USER_AGENT.endswith(f"/{version}"), USER_AGENT

    client_meta, _ = wheel_metadata(built["recordkit-client"].wheel)
    assert set(requirement_names(client_meta)) == {"httpx", "anyio", "msgspec"}
    client_files = files["recordkit-client"]
    assert all(f.startswith("recordkit/client/") for f in client_files), client_files
    assert {
        "recordkit/client/__init__.py",
        "recordkit/client/_sync/client.py",
        "recordkit/client/_async/client.py",
        "recordkit/client/py.typed",
    } <= client_files

    server_meta, _ = wheel_metadata(built["recordkit-server"].wheel)
    server_requires = requirement_names(server_meta)
    assert server_requires["recordkit-client"].replace(" ", "") == f"recordkit-client=={version}"
    assert {"starlette", "granian", "httpx", "msgspec"} <= set(server_requires)
    server_files = files["recordkit-server"]
    assert not [f for f in server_files if f.startswith("recordkit/client/")]
    assert "recordkit/__init__.py" not in server_files, "recordkit is a namespace package: nobody owns its __init__"
    assert {"recordkit/py.typed", "recordkit/cli/main.py", "recordkit/api/openapi/realtimekit-openapi.json"} <= (
        server_files
    )
    assert [f for f in server_files if f.startswith("recordkit/store/migrations/sqlite/") and f.endswith(".sql")]
    assert client_files.isdisjoint(server_files)


def test_installing_both_wheels_then_removing_the_server_leaves_the_client(
    built: dict[str, Built], tmp_path: Path
) -> None:
    venv = fresh_venv(tmp_path / "venv")
    client, server = built["recordkit-client"].wheel, built["recordkit-server"].wheel
    out = venv.pip("install", client)
    assert deprecations(out) == [], deprecations(out)
    out = venv.pip("install", server)
    assert deprecations(out) == [], deprecations(out)
    installed = venv.installed()
    assert {"recordkit-client", "recordkit-server", "starlette", "granian"} <= set(installed)
    version = run(venv.root / "bin" / "recordkit", "--version")
    assert version.strip() == f"recordkit, version {installed['recordkit-server']}"
    both = "import recordkit.cli.main, recordkit.client; print(recordkit.client.Client.__name__)"
    assert run(venv.python, "-c", both).strip() == "Client"

    venv.pip("uninstall", "-y", "recordkit-server")
    assert run(venv.python, "-c", "from recordkit.client import AsyncClient, Client; print('ok')").strip() == "ok"
    gone = subprocess.run([venv.python, "-c", "import recordkit.cli"], capture_output=True, text=True, check=False)
    assert gone.returncode == 1 and "No module named 'recordkit.cli'" in gone.stderr


# -- the client alone against a live server -------------------------------------------------------

SCRIPT = r"""
import asyncio, json, sys

from recordkit.client import AsyncClient, AuthenticationError, Client, NotFoundError

base_url, token, account, app = sys.argv[1:5]
out = {}
with Client(token, base_url=base_url, account_id=account) as client:
    recordings = client.realtime_kit.recordings
    page = recordings.get_recordings(app, status=["UPLOADED"], per_page=5, sort_order="ASC")
    out["total"] = page.paging.total_count
    out["first_page"] = [r.id for r in page.data]
    out["walked"] = [r.id for r in recordings.iter_recordings(app, status="UPLOADED", per_page=7, sort_order="ASC")]
    meeting = client.realtime_kit.meetings.create_meeting(app, title="from the client alone")
    started = recordings.start_recording(app, meeting.id)
    out["started"] = {"id": started.id, "status": started.status}
    out["meeting_id"] = meeting.id
with Client("not-a-token", base_url=base_url, account_id=account, max_retries=0) as client:
    try:
        client.realtime_kit.recordings.get_recordings(app)
    except AuthenticationError as exc:
        out["bad_token"] = exc.status_code


async def read() -> None:
    async with AsyncClient(token, base_url=base_url, account_id=account) as client:
        got = await client.realtime_kit.recordings.get_recording(app, out["started"]["id"])
        meeting = await client.realtime_kit.meetings.get_meeting(app, out["meeting_id"])
        out["async_got"] = {"id": got.id, "meeting_title": meeting.title}
        try:
            await client.realtime_kit.meetings.get_meeting(app, "00000000-0000-4000-8000-000000000000")
        except NotFoundError as exc:
            out["missing"] = exc.status_code


asyncio.run(read())
out["modules"] = sorted(sys.modules)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    root = tmp_path_factory.mktemp("client-alone-server")
    srv = RkServer(root)
    tenant = Tenant.create(srv)
    _, rows = generate_main(random.Random(11), datetime.now(UTC))
    import_rows(srv.data_dir, tenant.account, tenant.app, write_jsonl(root / "rows.jsonl", rows))
    srv.start()
    try:
        yield tenant
    finally:
        srv.stop()


def test_the_client_alone_drives_a_live_server(tenant: Tenant, tmp_path: Path) -> None:
    venv = fresh_venv(tmp_path / "venv")
    out = venv.pip("install", CLIENT_PROJECT)  # from the checkout: built by pip, as the docs say
    assert deprecations(out) == [], deprecations(out)
    installed = venv.installed()
    assert {"recordkit-client", "httpx", "msgspec"} <= set(installed)
    assert sorted(SERVER_ONLY & set(installed)) == []

    script = tmp_path / "use_client.py"
    script.write_text(SCRIPT)
    printed = run(venv.python, script, tenant.server.base_url, tenant.token, tenant.account, tenant.app)
    got = json.loads(printed.strip().splitlines()[-1])

    with tenant.http() as raw:  # the server's own answers, read from this (dev) venv
        wire = raw.get(
            f"{tenant.kit}/recordings", params={"status": "UPLOADED", "per_page": "100", "sort_order": "ASC"}
        ).json()
        started = raw.get(f"{tenant.kit}/recordings/{got['started']['id']}").json()["data"]
        meeting = raw.get(f"{tenant.kit}/meetings/{got['meeting_id']}").json()["data"]
    uploaded = [r["id"] for r in wire["data"]]
    assert got["total"] == wire["paging"]["total_count"] == len(uploaded) > 7
    assert got["first_page"] == uploaded[:5]
    assert got["walked"] == uploaded
    assert got["started"] == {"id": started["id"], "status": "INVOKED"}
    assert got["bad_token"] == 401
    assert got["async_got"] == {"id": started["id"], "meeting_title": meeting["title"]}
    assert meeting["title"] == "from the client alone"
    assert got["missing"] == 404
    outside = [m for m in got["modules"] if m.startswith("recordkit.") and not m.startswith("recordkit.client")]
    assert "recordkit.client" in got["modules"] and outside == [], outside
    assert {"httpx", "msgspec"} <= set(got["modules"]) and "starlette" not in got["modules"]
