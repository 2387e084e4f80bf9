"""``recordkit recordings list|get|start|pause|resume|stop|download`` against a live server (the real entry point)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from recordkit.cli.main import main
from recordkit.client import Client
from tests.support.data import write_jsonl
from tests.support.recording import Tenant
from tests.support.scripted import import_rows
from tests.support.servers import RkServer, clean_env, cli_command
from tests.support.world import generate_main

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    root = tmp_path_factory.mktemp("cli-people")
    srv = RkServer(root)
    tenant = Tenant.create(srv)
    _, rows = generate_main(random.Random(11), datetime.now(UTC))
    path = write_jsonl(root / "rows.jsonl", rows[:45])
    import_rows(srv.data_dir, tenant.account, tenant.app, path)
    srv.start()
    try:
        yield tenant
    finally:
        srv.stop()


def env_for(tenant: Tenant, **extra: str) -> dict[str, str]:
    return {
        **clean_env(),
        "RECORDKIT_URL": tenant.server.origin,  # a bare origin: /client/v4 is added
        "RECORDKIT_TOKEN": tenant.token,
        "RECORDKIT_ACCOUNT": tenant.account,
        "RECORDKIT_APP": tenant.app,
        **extra,
    }


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def rk(
    tenant: Tenant,
    *args: str,
    ok: bool = True,
    cwd: Path | None = None,
    process: bool = False,
    env: dict[str, str | None] | None = None,
) -> Ran:
    """``recordkit recordings ARGS``: in-process (click's runner), or as a real process with ``process``."""
    if process:
        done = subprocess.run(
            [*cli_command(), "recordings", *args],
            capture_output=True,
            text=True,
            env=env_for(tenant),
            cwd=cwd,
            timeout=90,
            check=False,
        )
        ran = Ran(done.returncode, done.stdout, done.stderr)
    else:
        variables: dict[str, str | None] = {k: None for k in os.environ if k.startswith("RECORDKIT_")}
        variables.update({k: v for k, v in env_for(tenant).items() if k.startswith("RECORDKIT_")})
        variables.update(env or {})
        with contextlib.chdir(cwd or Path.cwd()):
            result = CliRunner().invoke(main, ["recordings", *args], env=variables)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        ran = Ran(result.exit_code, result.stdout, result.stderr)
    if ok:
        assert ran.returncode == 0, f"exit {ran.returncode}\n{ran.stdout}\n{ran.stderr}"
    return ran


def rk_json(tenant: Tenant, *args: str, cwd: Path | None = None) -> Any:
    return json.loads(rk(tenant, *args, "--json", cwd=cwd).stdout)


def test_list_and_get(tenant: Tenant) -> None:
    with tenant.http() as raw:
        wire = raw.get(f"{tenant.kit}/recordings", params={"status": "UPLOADED", "per_page": 5}).json()
    listed = rk_json(tenant, "list", "--status", "UPLOADED", "--per-page", "5")
    assert listed["paging"] == wire["paging"]
    assert [r["id"] for r in listed["data"]] == [r["id"] for r in wire["data"]]
    for mine, theirs in zip(listed["data"], wire["data"], strict=True):
        assert {k: v for k, v in mine.items() if k in theirs and k != "meeting"} == {
            k: v for k, v in theirs.items() if k != "meeting"
        }
        assert mine["meeting"]["id"] == theirs["meeting"]["id"]

    every = rk_json(tenant, "list", "--all", "--status", "UPLOADED,ERRORED")
    assert len(every["data"]) == every["paging"]["total_count"] > 5

    table = rk(tenant, "list", "--per-page", "3", "--sort", "asc", process=True).stdout
    total = wire["paging"]["total_count"]
    assert "1-3 of " in table and "status" in table and "invoked (UTC)" in table
    first = rk_json(tenant, "list", "--per-page", "3", "--sort", "asc")["data"]
    assert all(r["id"] in table for r in first)
    assert total > 0

    one = wire["data"][0]
    got = rk_json(tenant, "get", one["id"])
    assert got["id"] == one["id"] and got["status"] == "UPLOADED" and got["download_url"] == one["download_url"]
    human = rk(tenant, "get", one["id"]).stdout
    assert one["id"] in human and "UPLOADED" in human

    missing = rk(tenant, "get", "00000000-0000-4000-8000-000000000000", ok=False, process=True)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr and "Traceback" not in missing.stderr
    no_token = rk(tenant, "list", ok=False, env={"RECORDKIT_TOKEN": None})
    assert no_token.returncode == 2 and "--token" in no_token.stderr


def test_start_pause_resume_stop_download(tenant: Tenant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Client(tenant.token, base_url=tenant.server.base_url, account_id=tenant.account) as client:
        meeting = client.realtime_kit.meetings.create_meeting(tenant.app, title="from the command line")
        started = rk_json(tenant, "start", meeting.id, "--width", "160", "--height", "120", "--channel", "mono")
        assert started["status"] == "INVOKED"
        rec_id = started["id"]
        refused = rk(tenant, "start", meeting.id, ok=False)
        assert refused.returncode == 1 and "409" in refused.stderr and "already in progress" in refused.stderr
        deadline = time.monotonic() + 30
        while client.realtime_kit.recordings.get_recording(tenant.app, rec_id).status != "RECORDING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.8)
        assert rk_json(tenant, "pause", rec_id)["status"] == "PAUSED"
        assert "RECORDING" in rk(tenant, "resume", rec_id).stdout
        time.sleep(1.5)
        stopped = rk_json(tenant, "stop", rec_id, "--wait", "45")
        assert stopped["status"] == "UPLOADED" and stopped["stop_reason"]["reason"] == "API_CALL"

        got = rk_json(tenant, "download", rec_id, "-o", str(tmp_path))
        path = Path(got["path"])
        assert path.parent == tmp_path and path.name == stopped["output_file_name"]
        assert got["size"] == stopped["file_size"] == path.stat().st_size
        assert path.read_bytes() == httpx.get(stopped["download_url"], timeout=30).content
        audio = rk(tenant, "download", rec_id, "--audio", "-o", str(tmp_path / "voice.m4a")).stdout
        assert "voice.m4a" in audio and (tmp_path / "voice.m4a").stat().st_size > 0
        here = tmp_path / "here"
        here.mkdir()
        got_here = json.loads(rk(tenant, "download", rec_id, "--json", cwd=here, process=True).stdout)  # cwd
        assert Path(here, got_here["path"]).resolve() == (here / stopped["output_file_name"]).resolve()

    # On a terminal, a rich progress bar: the same bytes.
    from recordkit.cli import recordings_cmd

    monkeypatch.setattr(recordings_cmd, "interactive", lambda as_json: True)
    bar = tmp_path / "bar"
    bar.mkdir()
    rk(tenant, "download", rec_id, "-o", str(bar))
    assert (bar / stopped["output_file_name"]).read_bytes() == path.read_bytes()
