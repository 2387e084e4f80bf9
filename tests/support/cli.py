"""The CLI: ``recordkit`` in this process (:func:`invoke`) or as the real command, and recordings to import."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from recordkit.api.app import create_app
from recordkit.cli.main import main
from recordkit.settings import Settings
from tests.support.servers import NO_RATE_LIMITS, clean_env, cli_command

NAMESPACE = uuid.UUID("5b6f3c52-2a43-4a5e-9d4f-0e2d2b7c9a11")


def uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """``recordkit ARGS`` in this process (click's runner), with no RECORDKIT_* or CLOUDFLARE_*
    variable leaking in from outside and without rate limits; an exception other than the command's
    exit is raised, not reported."""
    clean: dict[str, str | None] = {k: None for k in os.environ if k.startswith(("RECORDKIT_", "CLOUDFLARE_"))}
    clean.update(NO_RATE_LIMITS)
    clean.update(env or {})
    return CliRunner().invoke(main, list(args), env=clean, catch_exceptions=False)


def invoke_json(*args: str, env: dict[str, str | None] | None = None) -> dict[str, Any]:
    result = invoke(*args, "--json", env=env)
    assert result.exit_code == 0, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    value = json.loads(result.stdout)
    assert isinstance(value, dict)
    return value


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, env=clean_env(), cwd=cwd, timeout=60, check=False
    )


def run_to_exit(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``recordkit ARGS`` in a session of its own, to its end; one still running after ``timeout``
    (a ``serve`` that should have refused to start) is killed, whole, and fails the test."""
    command = [*cli_command(), *args]
    pipe = subprocess.PIPE
    proc = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"recordkit {' '.join(args)} still running after {timeout} s:\n{out}{err}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def meeting(name: str, title: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": uid("meeting:" + name),
        "created_at": "2024-05-01T08:00:00.000Z",
        "updated_at": "2024-05-01T09:00:00.000Z",
        "live_stream_on_start": False,
        "persist_chat": True,
        "record_on_start": False,
        "session_keep_alive_time_in_secs": 60,
        "status": "ACTIVE",
        "summarize_on_end": False,
        "title": title if title is not None else name,
        **extra,
    }


def recording(name: str, m: dict[str, Any], status: str = "UPLOADED", minute: int = 0, **extra: Any) -> dict[str, Any]:
    rec_id = uid("recording:" + name)
    uploaded = status == "UPLOADED"
    out: dict[str, Any] = {
        "id": rec_id,
        "audio_download_url": None,
        "download_url": f"https://files.example.com/{rec_id}.mp4" if uploaded else None,
        "download_url_expiry": "2099-01-01T00:00:00.000Z" if uploaded else None,
        "file_size": 123456 if uploaded else None,
        "invoked_time": f"2024-05-10T{10 + minute // 60:02d}:{minute % 60:02d}:00.000Z",
        "output_file_name": f"{rec_id}.mp4",
        "session_id": uid("session:" + name),
        "started_time": f"2024-05-10T{10 + minute // 60:02d}:{minute % 60:02d}:03.000Z",
        "status": status,
        "stopped_time": None,
        "meeting": m,
        "recording_duration": 42 if uploaded else None,
        "storage_config": None,
    }
    out.update(extra)
    return out


@dataclass
class Api:
    """The HTTP API over a data dir, in-process: what a server on that data dir would answer."""

    data_dir: Path
    account: str
    token: str

    def request(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            off = {
                "RECORDKIT_RATE_LIMIT_RECORDINGS": "off",
                "RECORDKIT_RATE_LIMIT_OTHER": "off",
                "RECORDKIT_ALLOW_PRIVATE_NETWORK": "true",
            }
            app = create_app(Settings.from_env(env=off, data_dir=self.data_dir))
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://recordkit.test") as client:
                    return await client.request(
                        method,
                        f"/client/v4/accounts/{self.account}/realtime/kit{path}",
                        headers={"Authorization": f"Bearer {token or self.token}"},
                        **kwargs,
                    )
            finally:
                app.state.store.close()

        return asyncio.run(go())

    def get(self, path: str, token: str | None = None, **params: Any) -> httpx.Response:
        return self.request("GET", path, token, params=params)

    def post(self, path: str, body: Any, token: str | None = None) -> httpx.Response:
        return self.request("POST", path, token, json=body)

    def recordings(self, app: str, **params: Any) -> dict[str, Any]:
        resp = self.get(f"/{app}/recordings", **{"per_page": 100, **params})
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def ids(self, app: str, **params: Any) -> list[str]:
        return [r["id"] for r in self.recordings(app, **params)["data"]]

    def total(self, app: str, **params: Any) -> int:
        return int(self.recordings(app, **params)["paging"]["total_count"])


@dataclass
class Seeded:
    """A data dir after ``recordkit init``: its account, app and admin token."""

    data_dir: Path
    account: str
    app: str
    token: str
    api: Api

    @property
    def d(self) -> str:
        return str(self.data_dir)
