"""The typed client against a live ``recordkit serve``, side by side with Cloudflare's official SDK (5.9.0).

Both read the same server: every field the SDK parses must equal the client's, and the client's
objects written back (``to_wire``) must be the server's JSON exactly. Then the errors, and a real
recording made, paused, resumed, stopped and downloaded through the client.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from cloudflare import Cloudflare

from recordkit.client import (
    AuthenticationError,
    BadRequestError,
    Client,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from recordkit.client.models import to_wire
from tests.support.data import write_jsonl
from tests.support.recording import Tenant
from tests.support.scripted import import_rows
from tests.support.servers import RkServer
from tests.support.world import generate_main

pytestmark = pytest.mark.e2e

SMALL = {"width": 160, "height": 120}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    root = tmp_path_factory.mktemp("client-live")
    srv = RkServer(root)
    tenant = Tenant.create(srv)
    _, rows = generate_main(random.Random(7), datetime.now(UTC))
    path = write_jsonl(root / "rows.jsonl", rows)
    import_rows(srv.data_dir, tenant.account, tenant.app, path)
    srv.start()
    try:
        yield tenant
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def client(tenant: Tenant) -> Iterator[Client]:
    with Client(tenant.token, base_url=tenant.server.base_url, account_id=tenant.account) as c:
        yield c


@pytest.fixture(scope="module")
def sdk(tenant: Tenant) -> Iterator[Cloudflare]:
    with tenant.sdk(max_retries=0) as c:
        yield c


@pytest.fixture(scope="module")
def raw(tenant: Tenant) -> Iterator[httpx.Client]:
    with tenant.http() as c:
        yield c


def assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    """Every value the SDK parsed equals the client's (the SDK leaves out what it was not sent)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in the client's object"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{i}]")
    else:
        assert expected == actual, f"{where}: SDK {expected!r} != client {actual!r}"


def same_as_sdk(sdk_model: Any, mine: Any) -> None:
    expected = sdk_model.model_dump(by_alias=True, exclude_unset=True)
    assert_subset(expected, msgspec.to_builtins(mine, builtin_types=(datetime,)))


def same_as_wire(mine: Any, wire: dict[str, Any]) -> None:
    """The client's object, written back, is the server's JSON (fields the server left out are None)."""
    written = to_wire(mine)
    for key, value in wire.items():
        if isinstance(value, dict) and isinstance(written.get(key), dict):
            same_as_wire_dict(written[key], value, key)
        else:
            assert written.get(key) == value, f"{key}: {written.get(key)!r} != {value!r}"
    for key in set(written) - set(wire):
        assert written[key] is None, f"{key} not in the wire but {written[key]!r}"


def same_as_wire_dict(written: dict[str, Any], wire: dict[str, Any], where: str) -> None:
    for key, value in wire.items():
        assert written.get(key) == value, f"{where}.{key}: {written.get(key)!r} != {value!r}"
    for key in set(written) - set(wire):
        assert written[key] is None, f"{where}.{key} not in the wire but {written[key]!r}"


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": ["UPLOADED", "ERRORED"], "per_page": 7, "page_no": 2},
    {"start_time": "2024-05-11T00:00:00Z", "end_time": "2024-05-13T00:00:00.000Z", "sort_order": "ASC"},
    {"search": "standup", "per_page": 50},
    {"expired": True, "per_page": 100},
    {"expired": False, "status": ["UPLOADED"]},
    {"sort_by": "invokedTime", "sort_order": "DESC", "page_no": 3, "per_page": 30},
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
def test_get_recordings_matches_the_sdk_and_the_wire(
    tenant: Tenant, client: Client, sdk: Cloudflare, raw: httpx.Client, filters: dict[str, Any]
) -> None:
    page = client.realtime_kit.recordings.get_recordings(tenant.app, **filters)
    theirs = sdk.realtime_kit.recordings.get_recordings(tenant.app, account_id=tenant.account, **filters)
    params = [(k, str(v).lower() if isinstance(v, bool) else v) for k, v in filters.items() if k != "status"]
    params += [("status", s) for s in filters.get("status", [])]
    wire = raw.get(f"{tenant.kit}/recordings", params=params).json()
    assert page.success is True
    assert msgspec.to_builtins(page.paging) == wire["paging"]
    assert theirs.paging is not None and theirs.paging.total_count == page.paging.total_count
    assert [r.id for r in page.data] == [r.id for r in theirs.data] == [r["id"] for r in wire["data"]]
    assert page.data, "every filter here matches something"
    for mine, their, item in zip(page.data, theirs.data, wire["data"], strict=True):
        same_as_sdk(their, mine)
        same_as_wire(mine, item)


def test_iter_recordings_walks_every_page(tenant: Tenant, client: Client) -> None:
    first = client.realtime_kit.recordings.get_recordings(tenant.app, status=["UPLOADED"], per_page=100)
    walked = [r.id for r in client.realtime_kit.recordings.iter_recordings(tenant.app, status="UPLOADED", per_page=7)]
    assert walked == [r.id for r in first.data]
    assert len(walked) == first.paging.total_count > 7


def test_one_recording_meetings_and_apps_match_the_sdk(
    tenant: Tenant, client: Client, sdk: Cloudflare, raw: httpx.Client
) -> None:
    kit = client.realtime_kit
    some = kit.recordings.get_recordings(tenant.app, status=["UPLOADED"], per_page=1).data[0]
    one = kit.recordings.get_recording(tenant.app, some.id)
    theirs = sdk.realtime_kit.recordings.get_one_recording(some.id, account_id=tenant.account, app_id=tenant.app)
    same_as_sdk(theirs.data, one)
    same_as_wire(one, raw.get(f"{tenant.kit}/recordings/{some.id}").json()["data"])

    made = kit.meetings.create_meeting(tenant.app, title="Side by side", record_on_start=False, persist_chat=True)
    assert made.title == "Side by side" and made.persist_chat is True and made.status == "ACTIVE"
    got = kit.meetings.get_meeting(tenant.app, made.id)
    their_meeting = sdk.realtime_kit.meetings.get_meeting_by_id(made.id, account_id=tenant.account, app_id=tenant.app)
    same_as_sdk(their_meeting.data, got)
    assert got == made

    meetings = kit.meetings.get_meetings(tenant.app, per_page=3, page_no=2)
    their_meetings = sdk.realtime_kit.meetings.get(tenant.app, account_id=tenant.account, per_page=3, page_no=2)
    assert [m.id for m in meetings.data] == [m.id for m in their_meetings.data]
    for mine, their in zip(meetings.data, their_meetings.data, strict=True):
        same_as_sdk(their, mine)
    assert {m.id for m in kit.meetings.iter_meetings(tenant.app, per_page=2)} >= {made.id}

    apps = kit.apps.get_apps()
    their_apps = sdk.realtime_kit.apps.get(account_id=tenant.account)
    assert their_apps.data is not None
    assert [a.id for a in apps.data] == [a.id for a in their_apps.data]
    for mine_app, their_app in zip(apps.data, their_apps.data, strict=True):
        same_as_sdk(their_app, mine_app)
    app = kit.apps.get_app(tenant.app)
    same_as_wire(app, raw.get(f"/client/v4/accounts/{tenant.account}/realtime/kit/apps/{tenant.app}").json()["data"])
    created = kit.apps.create_app("second")
    assert created.name == "second" and created.id in {a.id for a in kit.apps.iter_apps()}


def test_errors_are_typed_with_the_api_message(tenant: Tenant, client: Client) -> None:
    kit = client.realtime_kit
    bad = Client("not-a-token", base_url=tenant.server.base_url, account_id=tenant.account, max_retries=0)
    with bad, pytest.raises(AuthenticationError) as auth:
        bad.realtime_kit.recordings.get_recordings(tenant.app)
    assert auth.value.status_code == 401 and auth.value.code == 10000 and auth.value.message == "Authentication error"

    read_only = Client(tenant.ro_token, base_url=tenant.server.base_url, account_id=tenant.account)
    with read_only, pytest.raises(PermissionDeniedError) as denied:
        read_only.realtime_kit.meetings.create_meeting(tenant.app, title="nope")
    assert denied.value.code == 403 and "Realtime" in denied.value.message

    with pytest.raises(NotFoundError, match="not found"):
        kit.recordings.get_recording(tenant.app, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(BadRequestError) as bad_request:
        kit.recordings.get_recordings(tenant.app, per_page=-1)
    assert bad_request.value.message.startswith("per_page")
    started = time.monotonic()
    with pytest.raises(ServerError) as missing:
        client.request("GET", f"/accounts/{tenant.account}/realtime/kit/{tenant.app}/presets")
    assert missing.value.status_code == 501 and "presets" in missing.value.message
    assert time.monotonic() - started < 1, "a 501 is not retried"
    meeting = kit.meetings.create_meeting(tenant.app, title="nothing active")
    with pytest.raises(NotFoundError):
        kit.recordings.get_active_recording(tenant.app, meeting.id)
    with pytest.raises(ValueError, match="recording_id"):
        kit.recordings.get_recording(tenant.app, "")


def test_a_real_recording_through_the_client(tenant: Tenant, client: Client, sdk: Cloudflare, tmp_path: Path) -> None:
    recordings = client.realtime_kit.recordings
    meeting = client.realtime_kit.meetings.create_meeting(tenant.app, title="made by the client")
    rec = recordings.start_recording(tenant.app, meeting.id, video_config=SMALL, audio_config={"channel": "mono"})
    assert rec.status == "INVOKED" and rec.start_reason is not None and rec.start_reason.reason == "API_CALL"
    with pytest.raises(ConflictError) as again:
        recordings.start_recording(tenant.app, meeting.id)
    assert again.value.headers.get("x-should-retry") == "false"
    track = recordings.start_track_recording(tenant.app, meeting.id, layers={"voices": {"file_name_prefix": "voices"}})
    assert track.output_file_name is not None and track.output_file_name.startswith("voices_all_")
    deadline = time.monotonic() + 30
    while recordings.get_recording(tenant.app, rec.id).status != "RECORDING":
        assert time.monotonic() < deadline, "never RECORDING"
        time.sleep(0.1)
    assert recordings.get_active_recording(tenant.app, meeting.id).id in (rec.id, track.id)
    time.sleep(1.0)
    assert recordings.pause_recording(tenant.app, rec.id).status == "PAUSED"
    assert recordings.resume_recording(tenant.app, rec.id).status == "RECORDING"
    time.sleep(1.5)
    stopped = recordings.stop_recording(tenant.app, rec.id)
    assert stopped.status in ("UPLOADING", "UPLOADED") and stopped.stop_reason is not None
    recordings.stop_recording(tenant.app, track.id)
    deadline = time.monotonic() + 45
    while not (done := recordings.get_recording(tenant.app, rec.id)).is_final:
        assert time.monotonic() < deadline, "never UPLOADED"
        time.sleep(0.2)
    assert done.status == "UPLOADED" and done.download_url and done.audio_download_url
    theirs = sdk.realtime_kit.recordings.get_one_recording(rec.id, account_id=tenant.account, app_id=tenant.app)
    same_as_sdk(theirs.data, done)
    assert done.start_reason is not None and done.start_reason.caller is not None
    assert done.start_reason.caller.user_id  # "user_Id" on the wire
    got = client.download(done.download_url, tmp_path / "video.mp4", expected_size=done.file_size)
    assert got.size == done.file_size == (tmp_path / "video.mp4").stat().st_size
    audio = client.download(done.audio_download_url, tmp_path / "audio.m4a")
    assert audio.size == audio.content_length > 0


def test_webhooks_match_the_sdk(tenant: Tenant, client: Client, sdk: Cloudflare) -> None:
    hooks = client.realtime_kit.webhooks
    theirs = sdk.realtime_kit.webhooks
    made = hooks.create_webhook(
        tenant.app, name="archive", url="https://hooks.example.com/rk", events=["recording.statusUpdate"]
    )
    assert made.enabled is True and made.events == ["recording.statusUpdate"]
    their_one = theirs.get_webhook_by_id(made.id, account_id=tenant.account, app_id=tenant.app)
    same_as_sdk(their_one.data, hooks.get_webhook(tenant.app, made.id))
    listed = hooks.get_webhooks(tenant.app)
    their_list = theirs.get_webhooks(tenant.app, account_id=tenant.account)
    assert [h.id for h in listed] == [h.id for h in their_list.data]
    for mine, their in zip(listed, their_list.data, strict=True):
        same_as_sdk(their, mine)
    edited = hooks.edit_webhook(tenant.app, made.id, enabled=False)
    assert edited.enabled is False and edited.name == "archive" and edited.url == made.url
    replaced = hooks.replace_webhook(
        tenant.app, made.id, name="renamed", url="https://hooks.example.com/v2", events=["meeting.started"]
    )
    assert (replaced.name, replaced.events) == ("renamed", ["meeting.started"])
    assert replaced.url == "https://hooks.example.com/v2"
    assert hooks.delete_webhook(tenant.app, made.id).id == made.id
    with pytest.raises(NotFoundError):
        hooks.get_webhook(tenant.app, made.id)
    with pytest.raises(BadRequestError):
        hooks.create_webhook(tenant.app, name="x", url="https://hooks.example.com", events=["no.such.event"])
    names = hooks.get_webhook_events(tenant.app)
    assert "recording.statusUpdate" in names and len(names) == len(set(names))
    raw = httpx.get(
        f"{tenant.server.origin}{tenant.kit}/webhooks/all",
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=30,
    )
    assert raw.json()["data"] == names
