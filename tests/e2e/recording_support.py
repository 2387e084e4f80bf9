"""Helpers for the recording end-to-end tests: servers that can be killed and restarted, a tenant
made with the CLI, the official SDK's recording calls with polling, and ffprobe-like stream info (PyAV).

Every server here has its own data dir and port, runs in its own process group (so ``kill -9`` of
the group takes the granian master and its worker at once) and reads ``RECORDKIT_*`` variables.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import cloudflare
import httpx
from cloudflare import Cloudflare
from e2e_support import clean_env, cli_command, cli_json, free_port, stop_process, use_database

from recordkit.recorder.binaries import find_ffmpeg

STARTUP_TIMEOUT = 20.0


@dataclass
class RkServer:
    """One ``recordkit serve`` on a data dir; ``kill9`` and ``start`` again to simulate a crash."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        use_database(self.data_dir, self.env.get("RECORDKIT_DATABASE_URL"))  # for cli_json / run_cli

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/client/v4"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> RkServer:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        if not self.port:
            self.port = free_port()
        env = {**clean_env(), **self.env}
        args = [*cli_command(), "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start on port {self.port} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [*args, "--host", "127.0.0.1"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"recordkit serve exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.origin}/healthz", timeout=0.5).status_code == 200:
                    return self
            if time.monotonic() > deadline:
                raise AssertionError(f"recordkit serve not ready after {STARTUP_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.05)

    def group_pids(self) -> list[int]:
        """Processes still in the server's process group (its master and workers), zombies excluded."""
        if self.proc is None:
            return []
        out = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if fields[0] != "Z" and int(fields[2]) == self.proc.pid:
                    out.append(int(entry.name))
        return out

    def kill9(self) -> None:
        """``kill -9`` the whole process group, as a crash would; wait until it is gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not self.group_pids(), f"processes survived kill -9: {self.group_pids()}"

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def db_status(self, recording_id: str) -> str | None:
        """A recording's status read from the database (only while the server is down)."""
        url = self.env.get("RECORDKIT_DATABASE_URL")
        if url:  # PostgreSQL
            import psycopg

            with psycopg.connect(url) as pg:
                found = pg.execute("SELECT status FROM recordings WHERE id = %s", (recording_id,)).fetchone()
            return None if found is None else str(found[0])
        conn = sqlite3.connect(self.data_dir / "recordkit.sqlite3")
        try:
            row = conn.execute("SELECT status FROM recordings WHERE id = ?", (recording_id,)).fetchone()
        finally:
            conn.close()
        return None if row is None else str(row[0])


@dataclass
class Tenant:
    """An account with one app, a Realtime Admin token and a Realtime (read-only) token."""

    server: RkServer
    account: str
    app: str
    token: str
    ro_token: str

    @classmethod
    def create(cls, server: RkServer) -> Tenant:
        d = str(server.data_dir)
        main = cli_json("init", "--data-dir", d)
        ro = cli_json("token", "create", "--data-dir", d, "--account", main["account_id"], "--permission", "Realtime")
        return cls(server, main["account_id"], main["app_id"], main["token"], ro["token"])

    def sdk(self, token: str | None = None, max_retries: int = 2) -> Cloudflare:
        return Cloudflare(api_token=token or self.token, base_url=self.server.base_url, max_retries=max_retries)

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.origin, headers={"Authorization": f"Bearer {token or self.token}"}, timeout=30
        )

    @property
    def kit(self) -> str:
        return f"/client/v4/accounts/{self.account}/realtime/kit/{self.app}"

    def app_config_args(self, recording_config: str) -> list[str]:
        """``recordkit app config`` setting this tenant's app's recording_config (a JSON text)."""
        where = ["--data-dir", str(self.server.data_dir), "--account", self.account, "--app", self.app]
        return ["app", "config", *where, "--recording-config", recording_config]


class Kit:
    """The recording calls of the official SDK, bound to one tenant."""

    def __init__(self, tenant: Tenant, client: Cloudflare) -> None:
        self.tenant = tenant
        self.client = client
        self.recordings = client.realtime_kit.recordings

    def meeting(self, title: str, **fields: Any) -> str:
        created = self.client.realtime_kit.meetings.create(
            self.tenant.app, account_id=self.tenant.account, title=title, **fields
        )
        assert created.data is not None
        return str(created.data.id)

    def start(self, meeting_id: str, **body: Any) -> Any:
        return self.recordings.start_recordings(
            self.tenant.app, account_id=self.tenant.account, meeting_id=meeting_id, **body
        ).data

    def start_track(self, meeting_id: str, **body: Any) -> Any:
        data = self.recordings.start_track_recording(
            self.tenant.app, account_id=self.tenant.account, meeting_id=meeting_id, **body
        ).data
        assert data is not None
        return data.recording

    def get(self, recording_id: str) -> Any:
        t = self.tenant
        return self.recordings.get_one_recording(recording_id, account_id=t.account, app_id=t.app).data

    def act(self, recording_id: str, action: str) -> Any:
        t = self.tenant
        return self.recordings.pause_resume_stop_recording(
            recording_id,
            account_id=t.account,
            app_id=t.app,
            action=action,  # type: ignore[arg-type]
        ).data

    def active(self, meeting_id: str) -> Any:
        t = self.tenant
        return self.recordings.get_active_recordings(meeting_id, account_id=t.account, app_id=t.app).data

    def wait(self, recording_id: str, statuses: Iterable[str], timeout: float) -> Any:
        """Poll ``get_one_recording`` until the status is one of ``statuses``; fail at the deadline."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            rec = self.get(recording_id)
            if not seen or seen[-1] != rec.status:
                seen.append(rec.status)
            if rec.status in wanted:
                return rec
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"recording {recording_id} not {sorted(wanted)} after {timeout} s; statuses seen: {seen}\n"
                    f"{self.tenant.server.log()[-3000:]}"
                )
            time.sleep(0.1)

    def refused(self, recording_id: str, action: str) -> cloudflare.APIStatusError:
        """A PUT action that must be refused; returns the SDK's error (with the response)."""
        try:
            self.act(recording_id, action)
        except cloudflare.APIStatusError as exc:
            return exc
        raise AssertionError(f"{action} of {recording_id} was accepted")


# -- media --------------------------------------------------------------------------------------


def ffprobe(path: Path) -> dict[str, Any]:
    """What ffprobe's JSON would say of a file (streams and format), read with PyAV (no ffprobe needed)."""
    with av.open(str(path)) as container:
        info: dict[str, Any] = {
            "format": {
                "format_name": container.format.name,
                "duration": str(container.duration / av.time_base) if container.duration is not None else None,
            },
            "streams": [],
        }
        for stream in container.streams:
            entry: dict[str, Any] = {"codec_type": stream.type, "codec_name": stream.codec_context.codec.canonical_name}
            if stream.type == "video":
                entry.update(width=stream.codec_context.width, height=stream.codec_context.height)
            if stream.type == "audio":
                entry["channels"] = stream.codec_context.channels
            info["streams"].append(entry)
    return info


def streams(info: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [s for s in info.get("streams", []) if s.get("codec_type") == kind]


def decodes_cleanly(path: Path) -> str:
    """Decode the whole file with the recorder's own ffmpeg; returns its complaints ('' for a playable file)."""
    ffmpeg = find_ffmpeg().path
    assert ffmpeg is not None, find_ffmpeg().missing()
    done = subprocess.run(
        [ffmpeg, "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return f"exit {done.returncode}: {done.stderr.decode(errors='replace')}" if done.returncode else ""


def download(url: str, target: Path, headers: dict[str, str] | None = None) -> httpx.Response:
    response = httpx.get(url, headers=headers or {}, timeout=60)
    if response.status_code == 200:
        target.write_bytes(response.content)
    return response


def encoders_writing_under(folder: Path) -> list[str]:
    """Live ffmpeg processes whose command line names ``folder`` (none may outlive their server)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
            state = stat[stat.rindex(")") + 2 :].split()[0]
            if "ffmpeg" in cmd and str(folder) in cmd and state != "Z":
                out.append(f"{entry.name}: {cmd}")
    return out
