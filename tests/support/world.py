"""The end-to-end suite's shared world: the generated data set, what was seeded, and the reference.

:class:`Reference` asks the one list reference (tests/support/listing.py) about the generated
recordings; the API's answers are compared with it.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloudflare import Cloudflare

from tests.support import listing
from tests.support.data import EPOCH, iso
from tests.support.servers import Server

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


# -- generated data -------------------------------------------------------------------------------

STATUSES = ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED")
BASE = datetime(2024, 5, 10, 0, 0, 0, tzinfo=UTC)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def to_us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


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
        q = listing.ListQuery(
            meeting_id=meeting_id,
            start_us=None if start_time is None else to_us(_as_dt(start_time)),
            end_us=None if end_time is None else to_us(_as_dt(end_time)),
            statuses=frozenset(status or ()),
            expired=expired,
            search=search,
            ascending=(sort_order or "DESC") != "DESC",
            page_no=max(int(page_no or 1), 1),
            per_page=min(int(per_page) if per_page else 20, 100),
        )
        ids, paging = listing.page(map(_listed, self.recordings), q, to_ms(now or datetime.now(UTC)))
        return Expected(ids, paging["total_count"], paging["start_offset"], paging["end_offset"])

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


def _listed(r: dict[str, Any]) -> listing.Listed:
    expiry = r["download_url_expiry"]
    return listing.Listed(
        id=r["id"],
        invoked_ms=to_ms(parse(r["invoked_time"])),
        expiry_ms=None if expiry is None else to_ms(parse(expiry)),
        meeting_id=r["meeting"]["id"],
        status=r["status"],
        title=r["meeting"]["title"],
    )


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
