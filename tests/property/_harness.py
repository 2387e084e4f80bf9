"""Shared pieces of the property suite: a fresh store + in-process API, a plain-Python model of the
data, an independent reference for the list endpoint, and the data generators.

Nothing here reuses RecordKit's own query, paging, ordering or formatting logic: the reference is
written from SPEC §3 alone. The only RecordKit code used is the import path (``decode_recording``,
``to_domain``, ``store.import_recordings``) and the HTTP app itself.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec
from hypothesis import strategies as st

from recordkit.api.app import create_app
from recordkit.domain.importing import decode_recording, to_domain
from recordkit.importer import import_file
from recordkit.settings import Settings
from recordkit.store.factory import open_store
from tests.support import listing
from tests.support.data import EPOCH, iso
from tests.support.listing import Listed, ListQuery

HOUR = 3_600_000
DAY = 86_400_000
YEAR = 365 * DAY
T2020 = 1_577_836_800_000  # 2020-01-01T00:00:00Z
T2030 = 1_893_456_000_000  # 2030-01-01T00:00:00Z
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z

STATUSES = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")
SECRET_KEYS = ("access_key", "secret", "password", "private_key")

ITEM_KEYS = {
    "id",
    "audio_download_url",
    "download_url",
    "download_url_expiry",
    "file_size",
    "invoked_time",
    "output_file_name",
    "session_id",
    "started_time",
    "status",
    "stopped_time",
    "meeting",
    "recording_duration",
    "storage_config",
}
MEETING_KEYS = {
    "id",
    "created_at",
    "updated_at",
    "live_stream_on_start",
    "persist_chat",
    "record_on_start",
    "session_keep_alive_time_in_secs",
    "status",
    "summarize_on_end",
    "title",
}


def clamp(ms: int) -> int:
    """Keep a generated time inside the years 1..9999 that the API accepts."""
    return min(max(ms, MIN_MS), MAX_MS)


def wall_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def iso_opt(ms: int | None) -> str | None:
    return None if ms is None else iso(ms)


# -- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingSpec:
    id: str
    title: str | None
    created_ms: int
    updated_ms: int
    status: str = "ACTIVE"
    record_on_start: bool = False
    live_stream_on_start: bool = False
    persist_chat: bool = False
    summarize_on_end: bool = False
    keep_alive: float = 60


@dataclass(frozen=True)
class RecSpec:
    id: str
    meeting_id: str
    status: str
    invoked_ms: int
    expiry_ms: int | None = None
    session_id: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None
    download_url: str | None = None
    audio_download_url: str | None = None
    file_size: float | None = None
    output_file_name: str | None = None
    recording_duration: int | None = None
    storage_config: dict[str, Any] | None = None  # as imported, secrets included
    upper_ids: bool = False  # write the ids in upper case on the wire (they must come back lower)
    offset_minutes: int = 0  # write invoked_time with this UTC offset on the wire


Batch = list[tuple[RecSpec, MeetingSpec]]


@dataclass
class Model:
    """What the list endpoint must see: the last version of every recording and meeting imported."""

    meetings: dict[str, MeetingSpec] = field(default_factory=dict)
    recordings: dict[str, RecSpec] = field(default_factory=dict)

    def apply(self, batch: Batch) -> None:
        for rec, meeting in batch:
            self.meetings[meeting.id] = meeting
            self.recordings[rec.id] = rec


def _wire_time(ms: int, offset_minutes: int) -> str:
    if offset_minutes == 0 or not (T2020 - YEAR <= ms <= T2030 + YEAR):
        return iso(ms)
    tz = timezone(timedelta(minutes=offset_minutes))
    return (EPOCH + timedelta(milliseconds=ms)).astimezone(tz).isoformat(timespec="milliseconds")


def wire_row(rec: RecSpec, m: MeetingSpec) -> dict[str, Any]:
    """One recording in the list endpoint's shape, as ``recordkit import`` reads it."""

    def case(value: str) -> str:
        return value.upper() if rec.upper_ids else value

    return {
        "id": case(rec.id),
        "audio_download_url": rec.audio_download_url,
        "download_url": rec.download_url,
        "download_url_expiry": iso_opt(rec.expiry_ms),
        "file_size": rec.file_size,
        "invoked_time": _wire_time(rec.invoked_ms, rec.offset_minutes),
        "output_file_name": rec.output_file_name,
        "session_id": None if rec.session_id is None else case(rec.session_id),
        "started_time": iso_opt(rec.started_ms),
        "status": rec.status,
        "stopped_time": iso_opt(rec.stopped_ms),
        "meeting": {
            "id": case(m.id),
            "created_at": iso(m.created_ms),
            "updated_at": iso(m.updated_ms),
            "live_stream_on_start": m.live_stream_on_start,
            "persist_chat": m.persist_chat,
            "record_on_start": m.record_on_start,
            "session_keep_alive_time_in_secs": m.keep_alive,
            "status": m.status,
            "summarize_on_end": m.summarize_on_end,
            "title": m.title,
        },
        "recording_duration": rec.recording_duration,
        "storage_config": rec.storage_config,
    }


def expected_item(rec: RecSpec, m: MeetingSpec) -> dict[str, Any]:
    public = None
    if rec.storage_config is not None:
        public = {k: v for k, v in rec.storage_config.items() if k not in SECRET_KEYS}
    return {
        "id": rec.id,
        "audio_download_url": rec.audio_download_url,
        "download_url": rec.download_url,
        "download_url_expiry": iso_opt(rec.expiry_ms),
        "file_size": rec.file_size,
        "invoked_time": iso(rec.invoked_ms),
        "output_file_name": rec.output_file_name,
        "session_id": rec.session_id,
        "started_time": iso_opt(rec.started_ms),
        "status": rec.status,
        "stopped_time": iso_opt(rec.stopped_ms),
        "meeting": {
            "id": m.id,
            "created_at": iso(m.created_ms),
            "updated_at": iso(m.updated_ms),
            "live_stream_on_start": m.live_stream_on_start,
            "persist_chat": m.persist_chat,
            "record_on_start": m.record_on_start,
            "session_keep_alive_time_in_secs": m.keep_alive,
            "status": m.status,
            "summarize_on_end": m.summarize_on_end,
            "title": m.title,
        },
        "recording_duration": rec.recording_duration,
        "storage_config": public,
    }


# -- the reference -----------------------------------------------------------------------------


def listed(model: Model) -> list[Listed]:
    """The model's recordings as the list reference (tests/support/listing.py) reads them."""
    return [
        Listed(r.id, r.invoked_ms, r.expiry_ms, r.meeting_id, r.status, model.meetings[r.meeting_id].title)
        for r in model.recordings.values()
    ]


def reference_all(model: Model, q: ListQuery, now: int) -> list[str]:
    return listing.ordered(listed(model), q, now)


def reference_page(model: Model, q: ListQuery, now: int) -> tuple[list[str], dict[str, int]]:
    return listing.page(listed(model), q, now)


# -- the system under test -----------------------------------------------------------------------


class Api:
    """A fresh data dir, store, account, apps and read-only token; the real ASGI app, in process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.settings = Settings(
            data_dir=tmp / "data",
            rate_limit_recordings="off",
            rate_limit_other="off",
            database_url=os.environ.get("RECORDKIT_DATABASE_URL"),  # PostgreSQL: see conftest.store_backend
        )
        if self.settings.database_url:  # one database per test: emptied for each example
            from tests.support import postgres as pg_support

            pg_support.reset_database(self.settings.database_url)
        self.store = open_store(self.settings)
        account = self.store.create_account(now=wall_ms())
        self.account_id = account.id
        self.app_id = self.store.create_app(account.id, "property", now=wall_ms()).id
        self.other_app_id = self.store.create_app(account.id, "noise", now=wall_ms()).id
        _, self.token = self.store.create_token(account.id, "Realtime", now=wall_ms())
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.settings, store=self.store)), base_url="http://rk"
        )

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()
        self.store.close()

    def import_batch(self, batch: Batch, app_id: str | None = None, *, via_file: bool = False) -> None:
        """Import through ``store.import_recordings``, or as a JSON Lines file through ``recordkit import``'s
        ``import_file`` (the same ids may repeat in one file: the last line wins)."""
        app = app_id or self.app_id
        rows = [msgspec.json.encode(wire_row(r, m)) for r, m in batch]
        if via_file:
            path = self.tmp / f"import-{len(rows)}-{id(batch)}.jsonl"
            path.write_bytes(b"\n".join(rows) + b"\n")
            report = import_file(self.store, path, app, workers=1)
            assert report.ok, report.errors
            path.unlink()
            return
        self.store.import_recordings(app, [to_domain(decode_recording(raw), app) for raw in rows], now=wall_ms())

    def list(self, params: Sequence[tuple[str, str]], app_id: str | None = None) -> httpx.Response:
        url = f"/client/v4/accounts/{self.account_id}/realtime/kit/{app_id or self.app_id}/recordings"
        headers = {"Authorization": f"Bearer {self.token}"}
        return self._loop.run_until_complete(self._client.get(url, params=list(params), headers=headers))


@contextmanager
def fresh_api() -> Iterator[Api]:
    with tempfile.TemporaryDirectory(prefix="recordkit-prop-") as tmp:
        api = Api(Path(tmp))
        try:
            yield api
        finally:
            api.close()


def bucket_spans(times: Iterable[int]) -> list[tuple[int, int]]:
    """Every whole hour and whole day (inclusive ms bounds) that holds one of these times: asked as a
    range, each is answered from exactly one hour or day counter, so a counter off by one shows."""
    hours = sorted({t // HOUR for t in times})
    days = sorted({t // DAY for t in times})
    return [(h * HOUR, h * HOUR + HOUR - 1) for h in hours] + [(d * DAY, d * DAY + DAY - 1) for d in days]


def check_response(model: Model, q: ListQuery, response: httpx.Response, now: int) -> list[str]:
    """The response equals the reference: ids in order, paging, and every item field by field."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    ids, paging = reference_page(model, q, now)
    got = [item["id"] for item in body["data"]]
    assert got == ids, f"ids differ for {q}"
    assert body["paging"] == paging, f"paging differs for {q}"
    for item in body["data"]:
        check_item(model, item)
    return got


def check_item(model: Model, item: dict[str, Any]) -> None:
    assert set(item) == ITEM_KEYS, set(item) ^ ITEM_KEYS
    assert set(item["meeting"]) == MEETING_KEYS, set(item["meeting"]) ^ MEETING_KEYS
    if item["storage_config"] is not None:
        assert not set(item["storage_config"]) & set(SECRET_KEYS), item["storage_config"]
    rec = model.recordings[item["id"]]
    want = expected_item(rec, model.meetings[rec.meeting_id])
    diff = {k: (item[k], want[k]) for k in want if item[k] != want[k]}
    assert not diff, diff


# -- generators ------------------------------------------------------------------------------------

WORDS = (
    "Standup",
    "standup",
    "Weekly SYNC",
    "Straße",
    "STRASSE",
    "İstanbul",
    "ΣΊΣΥΦΟΣ",
    "café",
    "naïve",
    "50%_off",
    'say "hi"',
    "O'Brien",
    "a*b",
    "x-y",
    "(paren)",
    "NEAR",
    "AND",
    "OR",
    "col:on",
    "ﬁle",
    "ǅungla",
    "日本語の会議",
    "back\\slash",
    "tab\there",
    "emoji 🎥",
)
TITLE_ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")

titles = st.one_of(
    st.none(),
    st.just(""),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    st.text(TITLE_ALPHABET, max_size=12),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(WORDS), st.text(TITLE_ALPHABET, max_size=6)),
)

edge_times = st.sampled_from([MIN_MS, MIN_MS + 1, MAX_MS, MAX_MS - 1, 0, -1, 1, -HOUR, T2020, T2020 - 1])
near_boundaries = st.builds(
    lambda hour, delta: hour * HOUR + delta,
    st.integers(T2020 // HOUR, T2030 // HOUR),
    st.sampled_from([0, 0, 1, -1, 500, HOUR // 2]),
)
plausible_times = st.one_of(st.integers(T2020, T2030), near_boundaries)
any_times = st.one_of(plausible_times, plausible_times, edge_times)

_SECRET_CONFIG = {
    "type": "aws",
    "auth_method": "KEY",
    "bucket": "bucket",
    "host": "host",
    "path": "path",
    "port": 0,
    "region": "us-east-1",
    "username": "username",
    "access_key": "AKIA-NOT-FOR-YOU",
    "secret": "s3cr3t",
    "password": "hunter2",
    "private_key": "-----BEGIN PRIVATE KEY-----",
}
storage_configs = st.one_of(
    st.none(),
    st.just(_SECRET_CONFIG),
    st.lists(st.sampled_from(sorted(_SECRET_CONFIG)), unique=True, max_size=6).map(
        lambda keys: {k: _SECRET_CONFIG[k] for k in keys}
    ),
)


def expiry(now: int) -> st.SearchStrategy[int | None]:
    """None, or a day or more in the past or future (a test run never crosses it)."""
    past = st.integers(DAY, 5 * YEAR).map(lambda d: now - d)
    future = st.integers(DAY, 5 * YEAR).map(lambda d: now + d)
    return st.one_of(st.none(), past, future, st.sampled_from([MAX_MS, now - DAY, now + DAY]))


def uuid_strings(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(st.uuids().map(str), min_size=n, max_size=n, unique=True)


@st.composite
def meeting_spec(draw: st.DrawFn, meeting_id: str) -> MeetingSpec:
    created = draw(st.integers(T2020 - YEAR, T2030))
    return MeetingSpec(
        id=meeting_id,
        title=draw(titles),
        created_ms=created,
        updated_ms=created + draw(st.sampled_from([0, 1, DAY])),
        status=draw(st.sampled_from(["ACTIVE", "INACTIVE"])),
        record_on_start=draw(st.booleans()),
        live_stream_on_start=draw(st.booleans()),
        persist_chat=draw(st.booleans()),
        summarize_on_end=draw(st.booleans()),
        keep_alive=draw(st.sampled_from([60, 300, 0, 90.5])),
    )


@st.composite
def rec_spec(
    draw: st.DrawFn, rec_id: str, meeting_ids: Sequence[str], times: st.SearchStrategy[int], now: int
) -> RecSpec:
    invoked = draw(times)
    status = draw(st.sampled_from(STATUSES))
    finished = status in ("UPLOADED", "UPLOADING", "ERRORED")
    started = None if status == "INVOKED" else min(invoked + draw(st.integers(0, 5000)), MAX_MS)
    stopped = None if (started is None or not finished) else min(started + draw(st.integers(0, 2 * HOUR)), MAX_MS)
    uploaded = status == "UPLOADED"
    return RecSpec(
        id=rec_id,
        meeting_id=draw(st.sampled_from(list(meeting_ids))),
        status=status,
        invoked_ms=invoked,
        expiry_ms=draw(expiry(now)),
        session_id=draw(st.one_of(st.none(), st.uuids().map(str))),
        started_ms=started,
        stopped_ms=stopped,
        download_url=f"https://files.example/{rec_id}.mp4" if uploaded else None,
        audio_download_url=draw(st.sampled_from([None, f"https://files.example/{rec_id}.m4a"])),
        file_size=draw(st.sampled_from([None, 0, 1024, 12.5, 7_340_032])),
        output_file_name=draw(st.sampled_from([None, f"{rec_id}.mp4", 'out put "file".mp4'])),
        recording_duration=draw(st.sampled_from([None, 0, 1, 3600])),
        storage_config=draw(storage_configs),
        upper_ids=draw(st.booleans()),
        offset_minutes=draw(st.sampled_from([0, 0, 0, 330, -480, 840])),
    )


@st.composite
def changed(
    draw: st.DrawFn, rec: RecSpec, meeting_ids: Sequence[str], times: st.SearchStrategy[int], now: int
) -> RecSpec:
    """The same recording id imported again with some fields changed."""
    out = rec
    if draw(st.booleans()):
        out = replace(out, status=draw(st.sampled_from(STATUSES)))
    if draw(st.booleans()):
        shifted = st.sampled_from([rec.invoked_ms + HOUR, rec.invoked_ms + 1, rec.invoked_ms - DAY]).map(clamp)
        out = replace(out, invoked_ms=draw(st.one_of(times, shifted)))
    if draw(st.booleans()):
        out = replace(out, expiry_ms=draw(expiry(now)))
    if draw(st.booleans()):
        out = replace(out, meeting_id=draw(st.sampled_from(list(meeting_ids))))
    if draw(st.booleans()):
        out = replace(out, storage_config=draw(storage_configs), upper_ids=not rec.upper_ids)
    return out


def with_meetings(recs: Sequence[RecSpec], meetings: dict[str, MeetingSpec]) -> Batch:
    return [(r, meetings[r.meeting_id]) for r in recs]


# -- query parameters --------------------------------------------------------------------------


def time_text(us: int, style: str) -> tuple[str, int]:
    """A date-time parameter in one of the accepted spellings, and the instant (µs) it denotes."""
    dt = EPOCH + timedelta(microseconds=us)
    safe = datetime(2, 1, 1, tzinfo=UTC) <= dt <= datetime(9999, 12, 30, tzinfo=UTC)
    if style == "ms" or not safe:
        dt = dt.replace(microsecond=dt.microsecond // 1000 * 1000)
        text = dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    elif style == "us":
        text = dt.isoformat(timespec="microseconds").replace("+00:00", "Z")
    elif style == "seconds":
        dt = dt.replace(microsecond=0)
        text = dt.isoformat(timespec="seconds").replace("+00:00", "Z")
    elif style == "naive":
        text = dt.replace(tzinfo=None).isoformat()
    elif style == "utc-offset":
        text = dt.isoformat()
    else:  # a real offset: +05:30, -08:00, +14:00
        minutes = {"plus": 330, "minus": -480, "far": 840}[style]
        text = dt.astimezone(timezone(timedelta(minutes=minutes))).isoformat()
    return text, (dt - EPOCH) // timedelta(microseconds=1)


TIME_STYLES = ("ms", "ms", "us", "seconds", "naive", "utc-offset", "plus", "minus", "far")

SPECIAL_SEARCHES = (
    '"',
    "'",
    '""',
    '"hi"',
    "%",
    "_",
    "%_",
    "*",
    "a*",
    "OR",
    "NEAR(",
    "col:on",
    "title_folded:standup",
    "\\",
    "%25",
    " ",
    "  ",
    "ß",
    "SS",
    "ss",
    "straße",
    "STRASSE",
    "i̇",
    "İSTANBUL",
    "σίσυφος",
    "ﬁ",
    "FILE",
    "ǆ",
    "日本",
    "🎥",
    "^standup",
    "standup$",
    "-",
    "x" * 255,
    "no such meeting anywhere",
)  # a NUL in a query string is a 400 (recordkit.api.guard): tests/property/test_list_search.py
CASE_CHANGES = (str, str.upper, str.lower, str.swapcase, str.casefold, str.title)
