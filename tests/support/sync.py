"""Helpers for the sync tests: the upstream, a file server for its download links, recordings that point
at it, and running ``recordkit sync``.

``FileServer`` serves bytes by path (Content-Length, Range), counts the requests per path, can
refuse a path with a status (410: an expired link), and can hold a path's answer half-sent until
the test releases it (so a ``recordkit sync`` can be killed mid-download, deterministically).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from recordkit.client import Client
from recordkit.client.models import to_wire
from tests.support.cli import invoke
from tests.support.data import iso, write_jsonl
from tests.support.recording import Tenant
from tests.support.servers import RkServer, clean_env, cli_command

NAMESPACE = uuid.UUID("0c6f0f56-91f4-4d3c-8f4f-6f6c2d3a7b10")


def uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


class FileServer:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.refuse: dict[str, int] = {}
        self.hits: Counter[str] = Counter()
        self.gates: dict[str, threading.Event] = {}
        self.reached: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with server.lock:
                    server.hits[path] += 1
                    body = server.files.get(path)
                    refused = server.refuse.get(path)
                    gate = server.gates.get(path)
                if refused is not None or body is None:
                    status = refused or 404
                    payload = json.dumps({"success": False, "error": {"code": status, "message": "no"}}).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                status, headers = 200, {"accept-ranges": "bytes", "content-type": "video/mp4"}
                wanted = re.fullmatch(r"bytes=(\d+)-", self.headers.get("range") or "")
                if wanted:
                    start = int(wanted.group(1))
                    headers["content-range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                    body, status = body[start:], 206
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if gate is not None:
                    half = len(body) // 2
                    self.wfile.write(body[:half])
                    self.wfile.flush()
                    server.reached[path].set()
                    gate.wait(timeout=60)
                    with contextlib.suppress(OSError):  # the client may have died meanwhile
                        self.wfile.write(body[half:])
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> FileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        for gate in self.gates.values():
            gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def add(self, path: str, content: bytes) -> str:
        with self.lock:
            self.files[path] = content
        return f"{self.origin}{path}?X-Amz-Signature=abc&X-Amz-Expires=604800"

    def hold(self, path: str) -> threading.Event:
        """Answer ``path`` with half its bytes and wait; returns the event set when that happens."""
        with self.lock:
            self.gates[path] = threading.Event()
            self.reached[path] = threading.Event()
            return self.reached[path]

    def release(self, path: str) -> None:
        with self.lock:
            gate = self.gates.pop(path)
        gate.set()


def meeting(name: str, created: datetime, title: str | None = None) -> dict[str, Any]:
    return {
        "id": uid(f"meeting {name}"),
        "created_at": iso(created),
        "updated_at": iso(created),
        "live_stream_on_start": False,
        "persist_chat": False,
        "record_on_start": False,
        "session_keep_alive_time_in_secs": 60,
        "status": "ACTIVE",
        "summarize_on_end": False,
        "title": title if title is not None else f"Meeting {name}",
    }


def recording(
    name: str,
    meet: dict[str, Any],
    status: str,
    invoked: datetime,
    *,
    url: str | None = None,
    audio_url: str | None = None,
    size: float | None = None,
    expiry: datetime | None = None,
) -> dict[str, Any]:
    rec_id = uid(f"recording {name}")
    final = status in ("UPLOADED", "ERRORED")
    return {
        "id": rec_id,
        "audio_download_url": audio_url,
        "download_url": url,
        "download_url_expiry": iso(expiry) if expiry is not None else None,
        "file_size": size,
        "invoked_time": iso(invoked),
        "output_file_name": f"{rec_id}.mp4",
        "session_id": uid(f"session {name}"),
        "started_time": iso(invoked + timedelta(seconds=2)),
        "status": status,
        "stopped_time": iso(invoked + timedelta(minutes=30)) if final else None,
        "meeting": meet,
        "recording_duration": 1798 if status == "UPLOADED" else None,
        "storage_config": {"type": "aws", "bucket": "b", "region": "us-east-1", "path": "p"} if final else None,
    }


# -- the upstream and the sync command ---------------------------------------------------------------


NOW = datetime.now(UTC).replace(microsecond=0)
LINK_FIELDS = ("download_url", "audio_download_url", "download_url_expiry")


@dataclass
class Upstream:
    server: RkServer
    tenant: Tenant
    files: FileServer
    root: Path

    def app(self, name: str, rows: list[dict[str, Any]]) -> str:
        """A new app of the upstream account (made through its API) holding ``rows``."""
        with self.client() as client:
            app_id = client.realtime_kit.apps.create_app(name).id
        if rows:
            self.load(app_id, rows, name)
        return app_id

    def load(self, app_id: str, rows: list[dict[str, Any]], name: str) -> None:
        """``recordkit import`` into the upstream's data dir while it runs (in this process)."""
        path = write_jsonl(self.root / f"{name}-{time.monotonic_ns()}.jsonl", rows)
        d, account = str(self.server.data_dir), self.tenant.account
        done = invoke("import", str(path), "--data-dir", d, "--account", account, "--app", app_id)
        assert done.exit_code == 0, done.stderr

    def client(self) -> Client:
        return Client(self.tenant.token, base_url=self.server.base_url, account_id=self.tenant.account)


def sync(
    up: Upstream, app: str, data_dir: Path, *extra: str, ok: bool = True, process: bool = False
) -> tuple[int, list[dict[str, Any]], str]:
    """``recordkit sync --json``, in this process or (``process``) as the real command;
    (exit code, one summary per run, stderr)."""
    args = [
        "sync",
        "--from-url",
        up.server.origin,  # a bare origin: /client/v4 is added
        "--from-account",
        up.tenant.account,
        "--from-app",
        app,
        "--data-dir",
        str(data_dir),
        "--max-retries",
        "1",
        "--json",
        *extra,
    ]
    if process:
        env = {**clean_env(), "RECORDKIT_SYNC_FROM_TOKEN": up.tenant.token}
        done = subprocess.run(
            [*cli_command(), *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    else:
        result = invoke(*args, env={"RECORDKIT_SYNC_FROM_TOKEN": up.tenant.token})
        code, out, err = result.exit_code, result.stdout, result.stderr
    if ok:
        assert code == 0, f"exit {code}\n{out}\n{err}"
    return code, [json.loads(line) for line in out.splitlines() if line.strip()], err


def archive_server(data_dir: Path, account: str, port: int) -> tuple[RkServer, str]:
    made = invoke("token", "create", "--data-dir", str(data_dir), "--account", account, "--json")
    assert made.exit_code == 0, made.stderr
    srv = RkServer(data_dir.parent, port=port)
    return srv.start(), str(json.loads(made.stdout)["token"])


def listing(base_url: str, token: str, account: str, app: str) -> dict[str, dict[str, Any]]:
    with Client(token, base_url=base_url, account_id=account) as client:
        return {r.id: to_wire(r) for r in client.realtime_kit.recordings.iter_recordings(app, sort_order="ASC")}


def make_real_recording(up: Upstream, app: str) -> str:
    """A recording made by the upstream's own recorder: a real MP4 and M4A behind its signed links."""
    with up.client() as client:
        recordings = client.realtime_kit.recordings
        meet = client.realtime_kit.meetings.create_meeting(app, title="recorded for real")
        rec = recordings.start_recording(
            app, meet.id, video_config={"width": 160, "height": 120}, audio_config={"channel": "mono"}
        )
        deadline = time.monotonic() + 30
        while recordings.get_recording(app, rec.id).status != "RECORDING":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(1.5)
        recordings.stop_recording(app, rec.id)
        deadline = time.monotonic() + 45
        while not (done := recordings.get_recording(app, rec.id)).is_final:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert done.status == "UPLOADED", up.server.log()[-2000:]
        return rec.id
