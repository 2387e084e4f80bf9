"""The meetings endpoints (SPEC §5) against a live server, through Cloudflare's official SDK and raw HTTP.

A fresh app is seeded with imported meetings (chosen titles, statuses and creation times, ties and
boundaries included) and meetings created through the API; every list answer is compared with a
plain-Python reference over the same meetings.
"""

from __future__ import annotations

import json
import random
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare
from cloudflare.types.realtime_kit.meeting_create_response import MeetingCreateResponse
from cloudflare.types.realtime_kit.meeting_get_meeting_by_id_response import MeetingGetMeetingByIDResponse
from cloudflare.types.realtime_kit.meeting_get_response import MeetingGetResponse

from recordkit.settings import Settings
from recordkit.store.factory import open_store
from tests.support.data import iso, write_jsonl
from tests.support.servers import run_cli
from tests.support.world import BASE, SECRET_KEYS, World, make_meeting, make_recording

pytestmark = pytest.mark.e2e

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN = "7d0c4b5e-0f4e-4a52-9d37-5f2c8f1b9a10"
TIE = datetime(2024, 5, 3, 9, 30, 0, 250_000, tzinfo=UTC)
MIDNIGHT = datetime(2024, 5, 4, tzinfo=UTC)

# Secrets planted in meetings' recording_config; none may come back or reach the log.
STORAGE_SECRETS = {
    "access_key": "MEETING-API-ACCESS-KEY-3141",
    "secret": "meeting-api-secret-2718",
    "password": "meeting-api-password-1618",
    "private_key": "-----BEGIN PRIVATE KEY-----meeting-api-1414",
}
IMPORTED_SECRET = "IMPORTED-MEETING-SECRET-5772"

FULL_BODY: dict[str, Any] = {
    "title": "Quarterly Board — Q3 (all fields)",
    "record_on_start": True,
    "live_stream_on_start": True,
    "persist_chat": True,
    "summarize_on_end": True,
    "transcribe_on_end": True,
    "session_keep_alive_time_in_secs": 300,
    "recording_config": {
        "max_seconds": 7200,
        "file_name_prefix": "board_q3-2024",
        "audio_config": {"channel": "mono", "codec": "MP3", "export_file": True},
        "video_config": {
            "codec": "VP8",
            "width": 1920,
            "height": 1080,
            "export_file": False,
            "watermark": {
                "url": "https://example.com/logo.png",
                "position": "right bottom",
                "size": {"width": 200, "height": 100},
            },
        },
        "live_streaming_config": {"rtmp_url": "rtmp://a.rtmp.youtube.com/live2"},
        "realtimekit_bucket_config": {"enabled": False},
        "storage_config": {
            "type": "sftp",
            "auth_method": "PASSWORD",
            "host": "sftp.example.com",
            "port": 2222,
            "username": "recorder",
            "path": "/upload/board",
            **STORAGE_SECRETS,
        },
    },
    "ai_config": {
        "summarization": {"summary_type": "sales_call", "text_format": "plain_text", "word_limit": 400},
        "transcription": {"keywords": ["RecordKit", "Q3"], "language": "en-IN", "profanity_filter": True},
    },
}


def strip_storage(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(config))
    storage = out.get("storage_config")
    if storage:
        out["storage_config"] = {k: v for k, v in storage.items() if k not in SECRET_KEYS}
    return out


def meetings_path(world: World, app: str | None = None, account: str | None = None) -> str:
    return f"/client/v4/accounts/{account or world.account}/realtime/kit/{app or world.app}/meetings"


def assert_error(resp: httpx.Response, status: int, prefix: str = "") -> str:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"success", "error"} and body["success"] is False, body
    assert body["error"]["code"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and message.startswith(prefix), message
    assert "Traceback" not in resp.text
    return message


# -- the reference -------------------------------------------------------------------------------


def to_us(value: str | datetime) -> int:
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    dt = dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
    return (dt - EPOCH) // timedelta(microseconds=1)


def is_uuid(value: str) -> bool:
    try:
        return len(value) == 36 and str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@dataclass
class Fresh:
    """An app of the main account holding only the meetings made here, and their expected wire."""

    app: str
    meetings: dict[str, dict[str, Any]]  # id -> the JSON the API must return

    def query(
        self,
        *,
        search: str | None = None,
        status: str | None = None,
        start_time: str | datetime | None = None,
        end_time: str | datetime | None = None,
        page_no: float | None = None,
        per_page: float | None = None,
    ) -> tuple[list[dict[str, Any]], int, int, int]:
        """SPEC §5 in plain Python: (page, total_count, start_offset, end_offset)."""
        start_ms = None if start_time is None else -(-to_us(start_time) // 1000)
        end_ms = None if end_time is None else to_us(end_time) // 1000
        rows = []
        for m in self.meetings.values():
            created = to_us(m["created_at"]) // 1000
            if status is not None and m["status"] != status:
                continue
            if start_ms is not None and created < start_ms:
                continue
            if end_ms is not None and created > end_ms:
                continue
            if search is not None:
                by_id = is_uuid(search) and search.lower() == m["id"]
                by_title = m["title"] is not None and search.casefold() in m["title"].casefold()
                if not (by_id or by_title):
                    continue
            rows.append((created, m["id"], m))
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        size = min(int(per_page or 0) or 20, 100)
        offset = (max(int(page_no or 1), 1) - 1) * size
        page = [m for _, _, m in rows[offset : offset + size]]
        return page, len(rows), (offset + 1 if page else 0), (offset + len(page) if page else 0)


TITLES = [
    "Weekly Standup",
    "weekly standup retro",
    "Café Planning — Q3",
    "STRASSE review",
    "Straße Planung",
    'Board "Q3" Review',
    "standup retro: 100% Done_Deal",
    "q3",
    None,
    "ÉTÉ offsite",
    "",
    "Daily sync",
]


@pytest.fixture(scope="module")
def fresh(world: World, client: Cloudflare, http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> Fresh:
    made = client.realtime_kit.apps.post(account_id=world.account, name=f"meetings e2e {uuid.uuid4().hex[:6]}")
    assert made.data is not None and made.data.app is not None and made.data.app.id is not None
    app = made.data.app.id
    rng = random.Random(20240503)
    now = datetime.now(UTC)
    imported: list[dict[str, Any]] = []
    for i in range(36):
        created = BASE - timedelta(days=rng.randint(1, 9), milliseconds=rng.randint(0, 86_399_999))
        if i < 4:
            created = TIE  # ties: same instant, ordered by id
        elif i < 6:
            created = MIDNIGHT
        elif i == 6:
            created = MIDNIGHT - timedelta(milliseconds=1)
        extra: dict[str, Any] = {"created_at": iso(created), "updated_at": iso(created + timedelta(hours=1))}
        if i == 7:
            extra["recording_config"] = {
                "max_seconds": 600,
                "storage_config": {"type": "aws", "bucket": "b", "region": "eu-west-1", "secret": IMPORTED_SECRET},
            }
        imported.append(
            make_meeting(rng, TITLES[i % len(TITLES)], "INACTIVE" if rng.random() < 0.35 else "ACTIVE", **extra)
        )
    rows = [make_recording(rng, m, "UPLOADED", BASE + timedelta(hours=i), now) for i, m in enumerate(imported)]
    path = write_jsonl(tmp_path_factory.mktemp("meetings-import") / "meetings.jsonl", rows)
    run_cli("import", str(path), "--data-dir", str(world.server.data_dir), "--account", world.account, "--app", app)
    expected = {}
    for m in imported:
        wire = dict(m)
        if "recording_config" in wire:
            wire["recording_config"] = strip_storage(wire["recording_config"])
        expected[m["id"]] = wire
    for body in (
        {"title": "Weekly Standup (made by the API)"},
        {"title": "STRASSE-API", "session_keep_alive_time_in_secs": 90.5},
        {},
        {"title": "Café API", "recording_config": {"max_seconds": 120}},
        FULL_BODY,
    ):
        resp = http.post(meetings_path(world, app), json=body)
        assert resp.status_code == 201, resp.text
        data = resp.json()["data"]
        expected[data["id"]] = data
    return Fresh(app, expected)


@pytest.fixture(scope="module")
def scratch(world: World, client: Cloudflare) -> str:
    """An app where nothing may ever be created (bad requests are sent to it)."""
    made = client.realtime_kit.apps.post(account_id=world.account, name="meetings e2e scratch")
    assert made.data is not None and made.data.app is not None and made.data.app.id is not None
    return made.data.app.id


@pytest.fixture(scope="module")
def ro(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=world.server.origin, headers={"Authorization": f"Bearer {world.ro_token}"}, timeout=10
    ) as c:
        yield c


# -- create ----------------------------------------------------------------------------------------


def test_create_with_every_field_through_the_sdk(client: Cloudflare, world: World) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    resp = client.realtime_kit.meetings.create(world.app, account_id=world.account, **FULL_BODY)
    assert isinstance(resp, MeetingCreateResponse)
    assert resp.success is True and resp.data is not None
    m = resp.data
    assert str(uuid.UUID(m.id)) == m.id
    assert isinstance(m.created_at, datetime) and m.created_at.tzinfo is not None
    assert before <= m.created_at <= datetime.now(UTC) + timedelta(seconds=5)
    assert m.updated_at == m.created_at
    assert m.status == "ACTIVE"
    assert m.title == FULL_BODY["title"]
    assert (m.record_on_start, m.live_stream_on_start, m.persist_chat, m.summarize_on_end) == (True,) * 4
    assert m.transcribe_on_end is True
    assert m.session_keep_alive_time_in_secs == 300
    rc = m.recording_config
    assert rc is not None
    assert rc.max_seconds == 7200 and rc.file_name_prefix == "board_q3-2024"
    assert rc.audio_config is not None
    assert (rc.audio_config.channel, rc.audio_config.codec, rc.audio_config.export_file) == ("mono", "MP3", True)
    v = rc.video_config
    assert v is not None and v.watermark is not None and v.watermark.size is not None
    assert (v.codec, v.width, v.height, v.export_file) == ("VP8", 1920, 1080, False)
    assert (v.watermark.url, v.watermark.position) == ("https://example.com/logo.png", "right bottom")
    assert (v.watermark.size.width, v.watermark.size.height) == (200, 100)
    assert rc.live_streaming_config is not None
    assert rc.live_streaming_config.rtmp_url == "rtmp://a.rtmp.youtube.com/live2"
    assert rc.realtimekit_bucket_config is not None and rc.realtimekit_bucket_config.enabled is False
    storage = rc.storage_config
    assert storage is not None
    assert (storage.type, storage.host, storage.port, storage.username, storage.path, storage.auth_method) == (
        "sftp",
        "sftp.example.com",
        2222,
        "recorder",
        "/upload/board",
        "PASSWORD",
    )
    dumped = storage.model_dump()
    for key in SECRET_KEYS:
        assert dumped.get(key) is None
    ai = m.ai_config
    assert ai is not None and ai.summarization is not None and ai.transcription is not None
    assert (ai.summarization.summary_type, ai.summarization.text_format, ai.summarization.word_limit) == (
        "sales_call",
        "plain_text",
        400,
    )
    assert ai.transcription.keywords == ["RecordKit", "Q3"]
    assert (ai.transcription.language, ai.transcription.profanity_filter) == ("en-IN", True)

    # The same meeting, typed, from get and from the list.
    got = client.realtime_kit.meetings.get_meeting_by_id(m.id, account_id=world.account, app_id=world.app)
    assert isinstance(got, MeetingGetMeetingByIDResponse)
    assert got.success is True and got.data is not None
    assert got.data.model_dump() == m.model_dump()
    listed = client.realtime_kit.meetings.get(world.app, account_id=world.account, search=m.id)
    assert isinstance(listed, MeetingGetResponse)
    assert [d.id for d in listed.data] == [m.id]
    assert listed.data[0].created_at == m.created_at
    assert listed.data[0].recording_config is not None
    assert listed.data[0].recording_config.model_dump() == rc.model_dump()
    assert (listed.paging.total_count, listed.paging.start_offset, listed.paging.end_offset) == (1, 1, 1)


def test_create_raw_answers_201_in_the_upstream_shape(http: httpx.Client, world: World) -> None:
    resp = http.post(meetings_path(world), json=FULL_BODY)
    assert resp.status_code == 201
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"success", "data"} and body["success"] is True
    data = body["data"]
    expected = {k: v for k, v in FULL_BODY.items() if k not in ("recording_config",)}
    expected["recording_config"] = strip_storage(FULL_BODY["recording_config"])
    assert {k: data[k] for k in expected} == expected
    assert set(data) == set(expected) | {"id", "created_at", "updated_at", "status"}
    assert data["status"] == "ACTIVE"
    assert data["created_at"] == data["updated_at"]
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == len("2024-05-10T00:00:00.000Z")
    assert http.get(f"{meetings_path(world)}/{data['id']}").json() == body


def test_create_minimal_gets_the_defaults(http: httpx.Client, world: World) -> None:
    for body in ({}, {"title": None, "record_on_start": None, "live_stream_on_start": None}):
        resp = http.post(meetings_path(world), json=body)
        assert resp.status_code == 201, resp.text
        data = resp.json()["data"]
        assert {k: v for k, v in data.items() if k not in ("id", "created_at", "updated_at")} == {
            "live_stream_on_start": False,
            "persist_chat": False,
            "record_on_start": False,
            "session_keep_alive_time_in_secs": 60,
            "status": "ACTIVE",
            "summarize_on_end": False,
            "title": None,
        }


def test_server_sets_id_times_and_status_and_ignores_unknown_fields(http: httpx.Client, world: World) -> None:
    body = {
        "title": "server-owned fields",
        "id": UNKNOWN,
        "created_at": "2000-01-01T00:00:00.000Z",
        "updated_at": "2000-01-01T00:00:00.000Z",
        "status": "INACTIVE",
        "preferred_region": "ap-south-1",
        "recording_config": {"max_seconds": 60, "future_option": {"deep": [1, 2, 3]}},
    }
    resp = http.post(meetings_path(world), json=body)
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert data["id"] != UNKNOWN and is_uuid(data["id"])
    assert data["created_at"] == data["updated_at"] and not data["created_at"].startswith("2000")
    assert data["status"] == "ACTIVE"
    assert "preferred_region" not in data
    assert data["recording_config"] == {"max_seconds": 60}


def test_storage_secrets_are_stored_but_never_returned(http: httpx.Client, world: World) -> None:
    resp = http.post(meetings_path(world), json=FULL_BODY)
    assert resp.status_code == 201
    meeting_id = resp.json()["data"]["id"]
    answers = [
        resp,
        http.get(f"{meetings_path(world)}/{meeting_id}"),
        http.get(meetings_path(world), params={"search": meeting_id}),
        http.get(meetings_path(world), params={"per_page": 100}),
    ]
    for answer in answers:
        assert answer.status_code == 200 or answer.status_code == 201
        for value in STORAGE_SECRETS.values():
            assert value not in answer.text
    storage = answers[1].json()["data"]["recording_config"]["storage_config"]
    assert storage == strip_storage(FULL_BODY["recording_config"])["storage_config"]
    assert not set(storage) & set(SECRET_KEYS)
    # Stored: the store hands the whole config (secrets included) to RecordKit's own code.
    store = open_store(Settings(data_dir=world.server.data_dir, database_url=world.server.database_url))
    try:
        kept = store.get_meeting(world.app, meeting_id)
    finally:
        store.close()
    assert kept is not None and kept.recording_config is not None
    assert kept.recording_config["storage_config"] == FULL_BODY["recording_config"]["storage_config"]
    log = world.server.log()
    for value in [*STORAGE_SECRETS.values(), IMPORTED_SECRET]:
        assert value not in log


def test_imported_meetings_are_served_by_get(client: Cloudflare, http: httpx.Client, world: World) -> None:
    for m in world.meetings:
        resp = http.get(f"{meetings_path(world)}/{m['id']}")
        assert resp.status_code == 200, resp.text
        expected = dict(m)
        if "recording_config" in expected:
            expected["recording_config"] = strip_storage(expected["recording_config"])
        assert resp.json() == {"success": True, "data": expected}
        typed = client.realtime_kit.meetings.get_meeting_by_id(m["id"], account_id=world.account, app_id=world.app)
        assert typed.data is not None and typed.data.title == m["title"] and typed.data.status == m["status"]


def test_get_accepts_an_upper_case_id_and_ignores_name(http: httpx.Client, fresh: Fresh, world: World) -> None:
    meeting_id = next(iter(fresh.meetings))
    resp = http.get(f"{meetings_path(world, fresh.app)}/{meeting_id.upper()}", params={"name": "whatever"})
    assert resp.status_code == 200
    assert resp.json()["data"] == fresh.meetings[meeting_id]


# -- list ------------------------------------------------------------------------------------------

LIST_CASES: dict[str, dict[str, Any]] = {
    "no-params": {},
    "active": {"status": "ACTIVE"},
    "inactive": {"status": "INACTIVE"},
    "search-standup": {"search": "standup"},
    "search-STANDUP": {"search": "STANDUP"},
    "search-two-chars": {"search": "Q3"},
    "search-one-char": {"search": "é"},
    "search-casefold-sharp-s": {"search": "STRASSE"},
    "search-sharp-s": {"search": "straße"},
    "search-quotes": {"search": '"Q3"'},
    "search-percent-underscore": {"search": "100% Done_"},
    "search-nothing": {"search": "no such meeting anywhere"},
    "search-unknown-uuid": {"search": UNKNOWN},
    "search-empty-is-no-filter": {"search": ""},
    "tie-exact": {"start_time": iso(TIE), "end_time": iso(TIE)},
    "tie-sub-ms-window-empty": {"start_time": "2024-05-03T09:30:00.2501Z", "end_time": "2024-05-03T09:30:00.2509Z"},
    "tie-sub-ms-end": {"end_time": "2024-05-03T09:30:00.2505Z", "start_time": "2024-05-03T09:30:00.250Z"},
    "midnight-inclusive": {"start_time": "2024-05-04T00:00:00Z", "end_time": "2024-05-04T00:00:00.000Z"},
    "before-midnight": {"end_time": "2024-05-03T23:59:59.999Z"},
    "from-midnight": {"start_time": "2024-05-04T00:00:00Z"},
    "offset-time": {"start_time": "2024-05-03T11:30:00+02:00", "end_time": "2024-05-06T00:00:00-05:00"},
    "naive-time": {"start_time": "2024-05-02T00:00:00", "end_time": "2024-05-07T12:00:00"},
    "future": {"start_time": "2099-01-01T00:00:00Z"},
    "combined": {"status": "ACTIVE", "search": "standup", "start_time": "2024-05-01T00:00:00Z"},
    "combined-inactive-range": {"status": "INACTIVE", "end_time": "2024-05-06T00:00:00Z"},
    "page-1-of-7": {"per_page": 7},
    "page-3-of-7": {"per_page": 7, "page_no": 3},
    "page-last": {"per_page": 7, "page_no": 6},
    "page-past-end": {"per_page": 7, "page_no": 60},
    "page-zero-is-one": {"page_no": 0, "per_page": 5},
    "per-page-zero-is-default": {"per_page": 0},
    "per-page-clamped": {"per_page": 1000},
    "page-decimal-form": {"page_no": "2.0", "per_page": "5e0"},
    "status-and-page": {"status": "ACTIVE", "per_page": 4, "page_no": 2},
    "unknown-params-ignored": {"foo": "bar", "sort_by": "whatever"},
}


@pytest.mark.parametrize("params", list(LIST_CASES.values()), ids=list(LIST_CASES))
def test_list_matches_the_reference(http: httpx.Client, fresh: Fresh, world: World, params: dict[str, Any]) -> None:
    resp = http.get(meetings_path(world, fresh.app), params=params)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"success", "data", "paging"} and body["success"] is True
    known = {k: v for k, v in params.items() if k not in ("foo", "sort_by")}
    if known.get("search") == "":
        known.pop("search")
    for key in ("page_no", "per_page"):
        if isinstance(known.get(key), str):
            known[key] = float(known[key])
    page, total, start, end = fresh.query(**known)
    assert body["data"] == page
    assert body["paging"] == {"total_count": total, "start_offset": start, "end_offset": end}


def test_list_cases_are_not_trivial(fresh: Fresh) -> None:
    assert len(fresh.query(start_time=TIE, end_time=TIE)[0]) == 4
    assert fresh.query(status="INACTIVE")[1] > 5 and fresh.query(status="ACTIVE")[1] > 5
    assert fresh.query(search="STRASSE")[1] >= 4  # casefold: "Straße" matches too
    assert fresh.query()[1] == len(fresh.meetings) == 41


def test_search_by_meeting_id(http: httpx.Client, fresh: Fresh, world: World) -> None:
    for meeting_id in list(fresh.meetings)[:: len(fresh.meetings) // 5]:
        for form in (meeting_id, meeting_id.upper()):
            resp = http.get(meetings_path(world, fresh.app), params={"search": form})
            assert [d["id"] for d in resp.json()["data"]] == [meeting_id]


def test_pages_walk_every_meeting_once_newest_first(http: httpx.Client, fresh: Fresh, world: World) -> None:
    seen: list[str] = []
    page_no = 1
    while True:
        body = http.get(meetings_path(world, fresh.app), params={"per_page": 6, "page_no": page_no}).json()
        if not body["data"]:
            break
        seen += [d["id"] for d in body["data"]]
        assert body["paging"]["start_offset"] == len(seen) - len(body["data"]) + 1
        page_no += 1
    assert seen == [m["id"] for m in fresh.query(per_page=100)[0]]
    assert len(seen) == len(set(seen)) == len(fresh.meetings)
    keys = [(fresh.meetings[i]["created_at"], i) for i in seen]
    assert keys == sorted(keys, reverse=True)


def test_list_through_the_sdk(client: Cloudflare, fresh: Fresh, world: World) -> None:
    cases: list[dict[str, Any]] = [
        {},
        {"status": "INACTIVE", "per_page": 5, "page_no": 2},
        {"search": "standup"},
        {"start_time": TIE, "end_time": MIDNIGHT},
        {"start_time": "2024-05-02T00:00:00Z", "end_time": "2024-05-05T00:00:00Z", "status": "ACTIVE"},
    ]
    for params in cases:
        resp = client.realtime_kit.meetings.get(fresh.app, account_id=world.account, **params)
        assert isinstance(resp, MeetingGetResponse)
        page, total, start, end = fresh.query(**params)
        assert [d.id for d in resp.data] == [m["id"] for m in page]
        assert (resp.paging.total_count, resp.paging.start_offset, resp.paging.end_offset) == (total, start, end)
        for item in resp.data:
            assert isinstance(item.created_at, datetime) and isinstance(item.updated_at, datetime)
            assert item.status in ("ACTIVE", "INACTIVE")
            wire = fresh.meetings[item.id]
            assert item.title == wire["title"]
            assert item.session_keep_alive_time_in_secs == wire["session_keep_alive_time_in_secs"]


def test_list_only_sees_its_own_app(http: httpx.Client, fresh: Fresh, world: World) -> None:
    mine = set(fresh.meetings)
    others = {d["id"] for d in http.get(meetings_path(world), params={"per_page": 100}).json()["data"]}
    assert not mine & others
    assert {m["id"] for m in world.meetings} <= others or len(others) == 100
    for meeting_id in list(mine)[:3]:
        assert_error(http.get(f"{meetings_path(world)}/{meeting_id}"), 404, "meeting")
        assert_error(http.get(f"{meetings_path(world, world.other_app)}/{meeting_id}"), 404, "meeting")


LIST_BAD: list[tuple[dict[str, Any], str]] = [
    ({"page_no": "1.5"}, "page_no"),
    ({"page_no": "-1"}, "page_no"),
    ({"per_page": "abc"}, "per_page"),
    ({"status": "BOGUS"}, "status"),
    ({"status": "active"}, "status"),
    ({"start_time": "garbage"}, "start_time"),
    ({"end_time": "2024-05-10T25:00:00Z"}, "end_time"),
    ({"start_time": "2024-05-12T00:00:00Z", "end_time": "2024-05-11T00:00:00Z"}, "start_time"),
    ({"search": "x" * 256}, "search"),
]


@pytest.mark.parametrize(("params", "field"), LIST_BAD, ids=[f"{f}={str(p)[:30]}" for p, f in LIST_BAD])
def test_list_bad_parameter_is_400(
    http: httpx.Client, fresh: Fresh, world: World, params: dict[str, Any], field: str
) -> None:
    assert_error(http.get(meetings_path(world, fresh.app), params=params), 400, f"{field}:")


def test_list_bad_parameter_through_the_sdk(client: Cloudflare, fresh: Fresh, world: World) -> None:
    with pytest.raises(cloudflare.BadRequestError) as info:
        client.realtime_kit.meetings.get(fresh.app, account_id=world.account, page_no=1.5)
    assert info.value.status_code == 400
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["message"].startswith("page_no:")


# -- bad bodies ------------------------------------------------------------------------------------

BAD_BODIES: list[tuple[Any, str]] = [
    ({"title": "t" * 1025}, "title"),
    ({"title": 42}, "title"),
    ({"record_on_start": "true"}, "record_on_start"),
    ({"transcribe_on_end": None, "persist_chat": "no"}, "persist_chat"),
    ({"session_keep_alive_time_in_secs": 59}, "session_keep_alive_time_in_secs"),
    ({"session_keep_alive_time_in_secs": 601}, "session_keep_alive_time_in_secs"),
    ({"recording_config": "yes"}, "recording_config"),
    ({"recording_config": {"max_seconds": 59}}, "recording_config.max_seconds"),
    ({"recording_config": {"max_seconds": 86401}}, "recording_config.max_seconds"),
    ({"recording_config": {"max_seconds": 1e400}}, "recording_config.max_seconds"),
    ({"recording_config": {"file_name_prefix": "../../etc/passwd"}}, "recording_config.file_name_prefix"),
    ({"recording_config": {"file_name_prefix": "has space"}}, "recording_config.file_name_prefix"),
    ({"recording_config": {"audio_config": {"codec": "OPUS"}}}, "recording_config.audio_config.codec"),
    ({"recording_config": {"audio_config": {"channel": "quad"}}}, "recording_config.audio_config.channel"),
    ({"recording_config": {"video_config": {"codec": "VP9"}}}, "recording_config.video_config.codec"),
    ({"recording_config": {"video_config": {"width": 0}}}, "recording_config.video_config.width"),
    ({"recording_config": {"video_config": {"height": 1921}}}, "recording_config.video_config.height"),
    ({"recording_config": {"video_config": {"width": 12.5}}}, "recording_config.video_config.width"),
    (
        {"recording_config": {"video_config": {"watermark": {"position": "middle"}}}},
        "recording_config.video_config.watermark.position",
    ),
    (
        {"recording_config": {"live_streaming_config": {"rtmp_url": "nope"}}},
        "recording_config.live_streaming_config.rtmp_url",
    ),
    ({"recording_config": {"realtimekit_bucket_config": {}}}, "recording_config.realtimekit_bucket_config.enabled"),
    ({"recording_config": {"storage_config": {"bucket": "b"}}}, "recording_config.storage_config.type"),
    ({"recording_config": {"storage_config": {"type": "s3"}}}, "recording_config.storage_config.type"),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "auth_method": "OTP"}}},
        "recording_config.storage_config.auth_method",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "path": "a/../../b"}}},
        "recording_config.storage_config.path",
    ),
    ({"ai_config": {"summarization": {"word_limit": 5000}}}, "ai_config.summarization.word_limit"),
    ({"ai_config": {"summarization": {"summary_type": "rap"}}}, "ai_config.summarization.summary_type"),
    ({"ai_config": {"transcription": {"language": "xx"}}}, "ai_config.transcription.language"),
    ({"ai_config": {"transcription": {"keywords": [1]}}}, "ai_config.transcription.keywords[0]"),
    ([], "body"),
    ("a string", "body"),
    (None, "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_BODIES)])
def test_bad_body_is_400_naming_the_field(
    http: httpx.Client, scratch: str, world: World, body: Any, field: str
) -> None:
    raw = json.dumps(body).replace("Infinity", "1e400").encode()
    resp = http.post(meetings_path(world, scratch), content=raw, headers={"content-type": "application/json"})
    assert_error(resp, 400, f"{field}:")
    assert http.get(meetings_path(world, scratch)).json()["paging"]["total_count"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"title": "unterminated',
        b"",
        b"   ",
        b'{"title": "\xff\xfe"}',
        b'{"\xff": 1}',
        b'{"x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    ],
    ids=["malformed", "truncated", "empty", "blank", "bad-utf8-value", "bad-utf8-key", "deep"],
)
def test_malformed_body_is_400(http: httpx.Client, scratch: str, world: World, raw: bytes) -> None:
    resp = http.post(meetings_path(world, scratch), content=raw, headers={"content-type": "application/json"})
    assert_error(resp, 400, "body:")
    assert http.get(meetings_path(world, scratch)).json()["paging"]["total_count"] == 0


MAX_BODY = 1_048_576  # Settings.max_body_bytes by default


def raw_post(world: World, path: str, headers: dict[str, str], body: list[bytes]) -> httpx.Response:
    """A POST over a bare socket: sends the head and the given body pieces, then reads the answer.

    The server answers 413 without reading the rest of a body it refuses; an HTTP client that
    insists on sending the whole body first may see the connection closed instead of the answer.
    """
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {world.token}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection(("127.0.0.1", world.server.port), timeout=15) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in body:
            sock.sendall(piece)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    raw_headers, _, content = rest.partition(b"\r\n\r\n")
    parsed = [tuple(line.decode().split(":", 1)) for line in raw_headers.split(b"\r\n") if b":" in line]
    response_headers = {k.strip().lower(): v.strip() for k, v in parsed}
    if response_headers.get("transfer-encoding") == "chunked":
        content = dechunk(content)
    return httpx.Response(int(status_line.split()[1]), headers=response_headers, content=content)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def test_oversized_body_is_413(http: httpx.Client, scratch: str, world: World) -> None:
    path = meetings_path(world, scratch)
    # Declared too large: refused from the header, before any of the body is read.
    declared = raw_post(world, path, {"Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1)}, [])
    assert_error(declared, 413, "body:")
    # Streamed without a length: refused as soon as the limit is passed.
    piece = b"y" * 16_384
    pieces = [b'{"title": "'] + [piece] * (MAX_BODY // len(piece) + 1)
    chunked = [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces]
    streamed = raw_post(world, path, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunked)
    assert_error(streamed, 413, "body:")
    # Just under the limit is fine for the size check (and then refused for the title's length).
    title = "x" * (MAX_BODY - 64)
    assert_error(http.post(path, json={"title": title}), 400, "title:")
    assert http.get(path).json()["paging"]["total_count"] == 0


def test_sdk_raises_bad_request_naming_the_field(client: Cloudflare, scratch: str, world: World) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"session_keep_alive_time_in_secs": 10}, "session_keep_alive_time_in_secs"),
        ({"recording_config": {"max_seconds": 10}}, "recording_config.max_seconds"),
        ({"recording_config": {"video_config": {"width": 4000}}}, "recording_config.video_config.width"),
        ({"title": "t" * 2000}, "title"),
    ]
    for kwargs, field in cases:
        with pytest.raises(cloudflare.BadRequestError) as info:
            client.realtime_kit.meetings.create(scratch, account_id=world.account, **kwargs)
        assert info.value.status_code == 400
        assert isinstance(info.value.body, dict)
        assert info.value.body["error"]["message"].startswith(f"{field}:")


# -- who may do what ------------------------------------------------------------------------------


def test_unknown_meeting_is_404(client: Cloudflare, http: httpx.Client, world: World) -> None:
    message = assert_error(http.get(f"{meetings_path(world)}/{UNKNOWN}"), 404)
    assert UNKNOWN in message
    with pytest.raises(cloudflare.NotFoundError) as info:
        client.realtime_kit.meetings.get_meeting_by_id(UNKNOWN, account_id=world.account, app_id=world.app)
    assert info.value.status_code == 404
    assert info.value.body["error"]["code"] == 404  # type: ignore[index]


@pytest.mark.parametrize("meeting_id", ["not-a-uuid", "7d0c4b5e0f4e4a529d375f2c8f1b9a10", UNKNOWN[:-1], "x" * 300])
def test_meeting_id_not_a_uuid_is_400(http: httpx.Client, world: World, meeting_id: str) -> None:
    assert_error(http.get(f"{meetings_path(world)}/{meeting_id}"), 400, "meeting_id:")


def test_unknown_app_is_404(http: httpx.Client, world: World) -> None:
    assert_error(http.post(meetings_path(world, UNKNOWN), json={"title": "t"}), 404)
    assert_error(http.get(meetings_path(world, UNKNOWN)), 404)
    assert_error(http.get(f"{meetings_path(world, UNKNOWN)}/{UNKNOWN}"), 404)
    assert_error(http.get(meetings_path(world, world.app_b)), 404)  # another account's app: not revealed


def test_read_only_token_lists_and_gets_but_cannot_create(
    ro: httpx.Client, world: World, fresh: Fresh, scratch: str
) -> None:
    assert_error(ro.post(meetings_path(world, scratch), json={"title": "nope"}), 403, "")
    assert ro.get(meetings_path(world, fresh.app)).status_code == 200
    meeting_id = next(iter(fresh.meetings))
    got = ro.get(f"{meetings_path(world, fresh.app)}/{meeting_id}")
    assert got.status_code == 200 and got.json()["data"] == fresh.meetings[meeting_id]
    with world.client(world.ro_token) as c:
        with pytest.raises(cloudflare.PermissionDeniedError) as info:
            c.realtime_kit.meetings.create(scratch, account_id=world.account, title="nope")
        assert info.value.status_code == 403
        listed = c.realtime_kit.meetings.get(fresh.app, account_id=world.account)
        assert listed.paging.total_count == len(fresh.meetings)
    assert_error(ro.post(meetings_path(world, UNKNOWN), json={}), 403)  # read-only first, before the app
    assert ro.get(meetings_path(world, scratch)).json()["paging"]["total_count"] == 0


def test_other_account_is_403(anon: httpx.Client, world: World, fresh: Fresh) -> None:
    b = {"Authorization": f"Bearer {world.token_b}"}
    meeting_id = next(iter(fresh.meetings))
    assert_error(anon.post(meetings_path(world, fresh.app), json={"title": "x"}, headers=b), 403)
    assert_error(anon.get(meetings_path(world, fresh.app), headers=b), 403)
    assert_error(anon.get(f"{meetings_path(world, fresh.app)}/{meeting_id}", headers=b), 403)
    a = {"Authorization": f"Bearer {world.token}"}
    assert_error(anon.get(meetings_path(world, world.app_b, world.account_b), headers=a), 403)
    assert_error(anon.post(meetings_path(world, world.app_b, world.account_b), json={}, headers=a), 403)
    with world.client(world.token_b) as c, pytest.raises(cloudflare.PermissionDeniedError):
        c.realtime_kit.meetings.get(fresh.app, account_id=world.account)


def test_no_credentials_is_401(anon: httpx.Client, world: World) -> None:
    for resp in (
        anon.post(meetings_path(world), json={}),
        anon.get(meetings_path(world)),
        anon.get(f"{meetings_path(world)}/{UNKNOWN}"),
    ):
        assert resp.status_code == 401
        assert resp.json()["errors"] == [{"code": 10000, "message": "Authentication error"}]


def test_other_methods(http: httpx.Client, world: World) -> None:
    one = f"{meetings_path(world)}/{UNKNOWN}"
    assert_error(http.delete(meetings_path(world)), 405, "Method DELETE")
    assert_error(http.put(meetings_path(world)), 405)
    assert_error(http.delete(one), 405, "Method DELETE")
    assert_error(http.post(one, json={}), 405)
    # Upstream operations RecordKit does not implement: 501 naming them.
    assert_error(http.put(one, json={}), 501, "RecordKit does not implement PUT")
    assert_error(http.patch(one, json={}), 501, "RecordKit does not implement PATCH")
    assert_error(http.get(f"{one}/participants"), 501)
