"""The recording end-to-end tests' tenants and calls: an account made with the CLI on a
:class:`~tests.support.servers.RkServer`, the official SDK's recording calls with polling, downloads,
and the ffmpeg processes left under a folder.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cloudflare
import httpx
from cloudflare import Cloudflare

from tests.support.servers import RkServer, cli_json


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
