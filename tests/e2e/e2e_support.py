"""Helpers for the end-to-end suite: processes, the generated data set, and the reference.

The reference (:class:`Reference`) is the list endpoint's contract (SPEC §3) in plain Python over
the generated recordings; the API's answers are compared with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloudflare import Cloudflare

STARTUP_TIMEOUT = 10.0
SECRET_KEYS = ("access_key", "secret", "password", "private_key")

# Every secret value planted in the data; none of them may ever come back or reach a log.
SECRETS = (
    "AKIA-E2E-ACCESS-KEY-7731",
    "e2e-aws-secret-value-9902",
    "e2e-sftp-password-4417",
    "-----BEGIN PRIVATE KEY-----e2e-private-key-5120",
    "MEETING-LEVEL-ACCESS-KEY-6613",
    "meeting-level-secret-8842",
)


# -- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "recordkit"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "recordkit.cli.main"]


# Servers under test run without rate limits (suites send hundreds of requests a second with one
# token); test_e2e_rate_limits.py turns them on with its own values.
NO_RATE_LIMITS = {"RECORDKIT_RATE_LIMIT_RECORDINGS": "off", "RECORDKIT_RATE_LIMIT_OTHER": "off"}
# ... and with private networks allowed (webhook receivers, SFTP servers and recorded pages on
# 127.0.0.1); test_e2e_address_policy.py turns the address policy back on.
ALLOW_PRIVATE = {"RECORDKIT_ALLOW_PRIVATE_NETWORK": "true"}


def clean_env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RECORDKIT_")},
        **NO_RATE_LIMITS,
        **ALLOW_PRIVATE,
    }


# The PostgreSQL database of each data dir whose server runs on one (tests/e2e/conftest.py):
# ``run_cli`` hands it, as RECORDKIT_DATABASE_URL, to every command given that ``--data-dir``.
DATABASES: dict[str, str] = {}


def use_database(data_dir: Path, url: str | None) -> None:
    if url:
        DATABASES[str(data_dir)] = url


def database_env(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """RECORDKIT_DATABASE_URL for a command line whose ``--data-dir`` runs on PostgreSQL, else nothing."""
    if "--data-dir" in args[:-1]:
        url = DATABASES.get(str(args[list(args).index("--data-dir") + 1]))
        if url:
            return {"RECORDKIT_DATABASE_URL": url}
    return {}


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*cli_command(), *args],
        capture_output=True,
        text=True,
        env={**clean_env(), **database_env(args)},
        timeout=60,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"recordkit {' '.join(args)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done


def cli_json(*args: str) -> dict[str, Any]:
    out = run_cli(*args, "--json").stdout
    value = json.loads(out)
    assert isinstance(value, dict), out
    return value


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the process group we created for it, if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # worker processes left behind, if any
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class Server:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    startup_seconds: float
    database_url: str | None = None  # PostgreSQL; None: SQLite in data_dir

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/client/v4"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


# -- generated data -------------------------------------------------------------------------------

STATUSES = ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED")
BASE = datetime(2024, 5, 10, 0, 0, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{dt.microsecond // 1000:03d}Z"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def strip_secrets(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {k: v for k, v in config.items() if k not in SECRET_KEYS}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_meeting(rng: random.Random, title: str | None, status: str, **extra: Any) -> dict[str, Any]:
    created = BASE - timedelta(days=rng.randint(1, 20), milliseconds=rng.randint(0, 86_399_999))
    out: dict[str, Any] = {
        "id": _uuid(rng),
        "created_at": iso(created),
        "updated_at": iso(created + timedelta(hours=rng.randint(0, 48))),
        "live_stream_on_start": rng.random() < 0.5,
        "persist_chat": rng.random() < 0.5,
        "record_on_start": rng.random() < 0.5,
        "session_keep_alive_time_in_secs": rng.choice([60, 120, 600]),
        "status": status,
        "summarize_on_end": rng.random() < 0.5,
        "title": title,
    }
    out.update(extra)
    return out


AWS_STORAGE = {
    "type": "aws",
    "bucket": "rk-e2e-bucket",
    "region": "us-east-1",
    "path": "recordings/e2e",
    "access_key": SECRETS[0],
    "secret": SECRETS[1],
}
SFTP_STORAGE = {
    "type": "sftp",
    "auth_method": "PASSWORD",
    "host": "sftp.example.com",
    "port": 22,
    "username": "recorder",
    "path": "/upload",
    "password": SECRETS[2],
    "private_key": SECRETS[3],
}


def make_recording(
    rng: random.Random, meeting: dict[str, Any], status: str, invoked: datetime, now: datetime
) -> dict[str, Any]:
    rec_id = _uuid(rng)
    started = None if status == "INVOKED" else invoked + timedelta(milliseconds=rng.randint(500, 9000))
    duration = rng.randint(30, 7200)
    stopped = (
        started + timedelta(seconds=duration)
        if status in ("UPLOADING", "UPLOADED", "ERRORED") and started is not None
        else None
    )
    expiry_kind = rng.choice(["none", "past", "future"])
    expiry = {
        "none": None,
        "past": now - timedelta(days=rng.randint(1, 60), milliseconds=rng.randint(0, 86_399_999)),
        "future": now + timedelta(days=rng.randint(1, 60), milliseconds=rng.randint(0, 86_399_999)),
    }[expiry_kind]
    uploaded = status == "UPLOADED"
    storage = rng.choice([None, AWS_STORAGE, SFTP_STORAGE])
    return {
        "id": rec_id,
        "audio_download_url": f"https://files.example.com/{rec_id}.m4a" if uploaded and rng.random() < 0.5 else None,
        "download_url": f"https://files.example.com/{rec_id}.mp4" if uploaded else None,
        "download_url_expiry": iso(expiry) if expiry is not None else None,
        "file_size": rng.choice([rng.randint(1_000, 900_000_000), 1234.5]) if uploaded else None,
        "invoked_time": iso(invoked),
        "output_file_name": f"{rec_id}.mp4",
        "session_id": _uuid(rng) if status != "INVOKED" else None,
        "started_time": iso(started) if started is not None else None,
        "status": status,
        "stopped_time": iso(stopped) if stopped is not None else None,
        "meeting": meeting,
        "recording_duration": duration if uploaded else None,
        "storage_config": dict(storage) if storage is not None else None,
    }


def generate_main(rng: random.Random, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(meetings, recordings): 130 recordings over six days in five meetings (the last one untitled),
    every status, ties, instants on hour and day boundaries."""
    meetings = [
        make_meeting(rng, "Weekly Standup", "ACTIVE"),
        make_meeting(rng, "Café Planning — Q3", "INACTIVE"),
        make_meeting(
            rng,
            'Board "Q3" Review',
            "ACTIVE",
            recording_config={
                "max_seconds": 3600,
                "file_name_prefix": "board",
                "storage_config": {
                    "type": "aws",
                    "bucket": "meeting-bucket",
                    "region": "eu-west-1",
                    "access_key": SECRETS[4],
                    "secret": SECRETS[5],
                },
            },
        ),
        make_meeting(rng, "standup retro: 100% Done_Deal", "ACTIVE"),
        make_meeting(rng, None, "ACTIVE"),
    ]
    out: list[dict[str, Any]] = []
    for i in range(120):
        invoked = BASE + timedelta(milliseconds=rng.randint(0, 6 * 86_400_000 - 1))
        out.append(make_recording(rng, rng.choice(meetings), STATUSES[i % 6], invoked, now))
    # Ties (same instant, order by id), and instants on hour and day boundaries.
    tie = datetime(2024, 5, 12, 9, 30, 0, 250_000, tzinfo=UTC)
    for i in range(4):
        out.append(make_recording(rng, meetings[i % 2], STATUSES[i], tie, now))
    for instant in (
        datetime(2024, 5, 13, 0, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 13, 0, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 12, 23, 59, 59, 999_000, tzinfo=UTC),
        datetime(2024, 5, 13, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 11, 17, 0, 0, 1000, tzinfo=UTC),
        datetime(2024, 5, 14, 0, 0, 0, 1000, tzinfo=UTC),
    ):
        out.append(make_recording(rng, rng.choice(meetings), rng.choice(STATUSES), instant, now))
    return meetings, out


# -- the reference --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    ids: list[str]
    total: int
    start_offset: int
    end_offset: int


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


@dataclass
class Reference:
    """The list endpoint's contract (SPEC §3), in plain Python over the generated recordings."""

    recordings: list[dict[str, Any]]

    def query(
        self,
        *,
        meeting_id: str | None = None,
        start_time: str | datetime | None = None,
        end_time: str | datetime | None = None,
        status: list[str] | None = None,
        expired: bool | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page_no: float | None = None,
        per_page: float | None = None,
        now: datetime | None = None,
    ) -> Expected:
        now_ms = to_ms(now or datetime.now(UTC))
        start_ms = None if start_time is None else to_ms(_as_dt(start_time))
        end_ms = None if end_time is None else to_ms(_as_dt(end_time))
        rows = []
        for r in self.recordings:
            invoked = to_ms(parse(r["invoked_time"]))
            expiry = None if r["download_url_expiry"] is None else to_ms(parse(r["download_url_expiry"]))
            if meeting_id is not None and r["meeting"]["id"] != meeting_id.lower():
                continue
            if start_ms is not None and invoked < start_ms:
                continue
            if end_ms is not None and invoked > end_ms:
                continue
            if status and r["status"] not in status:
                continue
            if expired is True and not (expiry is not None and expiry <= now_ms):
                continue
            if expired is False and not (expiry is None or expiry > now_ms):
                continue
            if search is not None and not _search_hit(r, search):
                continue
            rows.append((invoked, r["id"]))
        rows.sort(reverse=(sort_order or "DESC") == "DESC")
        size = int(per_page) if per_page else 20
        size = min(size, 100)
        number = max(int(page_no or 1), 1)
        offset = (number - 1) * size
        page = [rid for _, rid in rows[offset : offset + size]]
        if not page:
            return Expected([], len(rows), 0, 0)
        return Expected(page, len(rows), offset + 1, offset + len(page))

    def all_ids(self, **filters: Any) -> list[str]:
        first = self.query(**filters, per_page=100)
        ids = list(first.ids)
        page = 2
        while len(ids) < first.total:
            ids += self.query(**filters, per_page=100, page_no=page).ids
            page += 1
        return ids

    def by_id(self, rec_id: str) -> dict[str, Any]:
        for r in self.recordings:
            if r["id"] == rec_id:
                return r
        raise KeyError(rec_id)

    def wire(self, rec_id: str) -> dict[str, Any]:
        """The list item the API must return for this recording: as imported, minus secrets."""
        item = json.loads(json.dumps(self.by_id(rec_id)))
        item["storage_config"] = strip_secrets(item["storage_config"])
        config = item["meeting"].get("recording_config")
        if config is not None and config.get("storage_config") is not None:
            config["storage_config"] = strip_secrets(config["storage_config"])
        return item


def _as_dt(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    parsed = parse(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _search_hit(r: dict[str, Any], search: str) -> bool:
    if _is_uuid(search) and search.lower() in (r["id"], r["meeting"]["id"]):
        return True
    title = r["meeting"]["title"]
    return title is not None and search.casefold() in title.casefold()


# -- the seeded world -----------------------------------------------------------------------------


@dataclass
class World:
    server: Server
    account: str
    app: str
    token: str  # Realtime Admin
    ro_token: str  # Realtime (read only)
    other_app: str  # a second app of the same account, with its own recordings
    account_b: str
    app_b: str
    token_b: str
    ref: Reference
    other_ref: Reference
    ref_b: Reference
    meetings: list[dict[str, Any]] = field(default_factory=list)

    def client(self, token: str | None = None) -> Cloudflare:
        return Cloudflare(api_token=token or self.token, base_url=self.server.base_url, max_retries=0)

    def list_path(self, account: str | None = None, app: str | None = None) -> str:
        return f"/client/v4/accounts/{account or self.account}/realtime/kit/{app or self.app}/recordings"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
