"""``recordkit.domain.importing``: one recording in the list endpoint's shape to domain objects."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest

from recordkit.domain.importing import decode_list_response, decode_recording, to_domain
from recordkit.domain.models import Meeting, Recording
from recordkit.errors import InvalidRequest

APP = "0b9c7f0e-3f1c-4d55-9b3e-5c1f2a1d9e01"
REC = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
MEETING = "5d8f6c2a-1b2c-4d3e-8f90-0a1b2c3d4e5f"
SESSION = "9f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
T = "2019-12-27T18:11:19.117Z"
T_MS = 1_577_470_279_117

# The seed's example item (spec/seed-fetch-all-recordings.txt), with distinct ids.
SEED: dict[str, Any] = {
    "id": REC,
    "audio_download_url": "https://example.com/audio",
    "download_url": "https://example.com",
    "download_url_expiry": T,
    "file_size": 0,
    "invoked_time": T,
    "output_file_name": "output_file_name",
    "session_id": SESSION,
    "started_time": T,
    "status": "INVOKED",
    "stopped_time": T,
    "meeting": {
        "id": MEETING,
        "created_at": T,
        "updated_at": T,
        "live_stream_on_start": True,
        "persist_chat": True,
        "record_on_start": True,
        "session_keep_alive_time_in_secs": 60,
        "status": "ACTIVE",
        "summarize_on_end": True,
        "title": "title",
    },
    "recording_duration": 0,
    "storage_config": {
        "type": "aws",
        "auth_method": "KEY",
        "bucket": "bucket",
        "host": "host",
        "password": "password",
        "path": "path",
        "port": 0,
        "private_key": "private_key",
        "region": "us-east-1",
        "secret": "secret",
        "username": "username",
    },
}


def convert(row: dict[str, Any]) -> tuple[Recording, Meeting]:
    return to_domain(decode_recording(msgspec.json.encode(row)), APP)


def with_changes(changes: dict[str, Any], meeting: dict[str, Any] | None = None) -> dict[str, Any]:
    row = copy.deepcopy(SEED)
    for key, value in changes.items():
        if value is ...:
            row.pop(key, None)
        else:
            row[key] = value
    for key, value in (meeting or {}).items():
        if value is ...:
            row["meeting"].pop(key, None)
        else:
            row["meeting"][key] = value
    return row


def test_seed_example_converts() -> None:
    rec, meeting = convert(SEED)
    assert rec == Recording(
        id=REC,
        app_id=APP,
        meeting_id=MEETING,
        status="INVOKED",
        invoked_ms=T_MS,
        session_id=SESSION,
        started_ms=T_MS,
        stopped_ms=T_MS,
        download_url="https://example.com",
        audio_download_url="https://example.com/audio",
        download_url_expiry_ms=T_MS,
        file_size=0,
        output_file_name="output_file_name",
        recording_duration=0,
        storage_config={
            "type": "aws",
            "auth_method": "KEY",
            "bucket": "bucket",
            "host": "host",
            "path": "path",
            "port": 0,
            "region": "us-east-1",
            "username": "username",
        },
        storage_secrets={"password": "password", "private_key": "private_key", "secret": "secret"},
    )
    assert meeting == Meeting(
        id=MEETING,
        app_id=APP,
        created_ms=T_MS,
        updated_ms=T_MS,
        title="title",
        status="ACTIVE",
        record_on_start=True,
        live_stream_on_start=True,
        persist_chat=True,
        summarize_on_end=True,
        session_keep_alive_time_in_secs=60,
    )


@pytest.mark.parametrize("secret", ["access_key", "secret", "password", "private_key"])
def test_every_secret_is_split_off(secret: str) -> None:
    rec, _ = convert(with_changes({"storage_config": {"type": "gcs", "bucket": "b", secret: "S3CR3T"}}))
    assert rec.storage_config == {"type": "gcs", "bucket": "b"}
    assert rec.storage_secrets == {secret: "S3CR3T"}


def test_null_secrets_are_dropped() -> None:
    rec, _ = convert(with_changes({"storage_config": {"type": "aws", "secret": None, "password": None}}))
    assert rec.storage_config == {"type": "aws"}
    assert rec.storage_secrets is None


def test_minimal_row_with_meeting_id_only() -> None:
    row = {"id": REC, "status": "UPLOADED", "invoked_time": "2020-01-01T00:00:00Z", "meeting_id": MEETING}
    rec, meeting = convert(row)
    assert rec.meeting_id == meeting.id == MEETING
    assert rec.invoked_ms == 1_577_836_800_000
    assert (rec.session_id, rec.started_ms, rec.stopped_ms, rec.download_url_expiry_ms) == (None, None, None, None)
    assert rec.storage_config is None and rec.storage_secrets is None
    assert meeting.created_ms == meeting.updated_ms == rec.invoked_ms
    assert meeting.title is None and meeting.status == "ACTIVE"


def test_meeting_defaults() -> None:
    row = with_changes(
        {},
        {
            "created_at": ...,
            "updated_at": ...,
            "status": ...,
            "session_keep_alive_time_in_secs": ...,
            "title": ...,
            "record_on_start": ...,
        },
    )
    _, meeting = convert(row)
    assert meeting.created_ms == meeting.updated_ms == T_MS  # the recording's invoked_time
    assert meeting.status == "ACTIVE"
    assert meeting.session_keep_alive_time_in_secs == 60
    assert meeting.title is None
    assert meeting.record_on_start is False


def test_updated_defaults_to_created() -> None:
    _, meeting = convert(with_changes({}, {"created_at": "2020-01-01T00:00:00Z", "updated_at": ...}))
    assert meeting.created_ms == meeting.updated_ms == 1_577_836_800_000


def test_ids_are_lowercased() -> None:
    row = with_changes(
        {"id": REC.upper(), "session_id": SESSION.upper(), "meeting_id": MEETING}, {"id": MEETING.upper()}
    )
    rec, meeting = convert(row)
    assert rec.id == REC and rec.session_id == SESSION and meeting.id == rec.meeting_id == MEETING


@pytest.mark.parametrize(
    ("changes", "meeting_changes", "value"),
    [
        ({"invoked_time": "2020-01-01T05:30:00.5+05:30"}, {}, 1_577_836_800_500),
        ({"invoked_time": "2020-01-01T00:00:00"}, {}, 1_577_836_800_000),
        ({"invoked_time": "2020-01-01T00:00:00.123999Z"}, {}, 1_577_836_800_123),
    ],
)
def test_times_are_normalised(changes: dict[str, Any], meeting_changes: dict[str, Any], value: int) -> None:
    rec, _ = convert(with_changes(changes, meeting_changes))
    assert rec.invoked_ms == value


@pytest.mark.parametrize("status", ["INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED"])
def test_every_status(status: str) -> None:
    rec, _ = convert(with_changes({"status": status}))
    assert rec.status == status


def test_fractional_file_size_and_keep_alive() -> None:
    rec, meeting = convert(with_changes({"file_size": 12.5}, {"session_keep_alive_time_in_secs": 90.5}))
    assert rec.file_size == 12.5
    assert meeting.session_keep_alive_time_in_secs == 90.5


@pytest.mark.parametrize(
    ("changes", "meeting_changes", "field"),
    [
        ({"id": "not-a-uuid"}, {}, "id"),
        ({"id": REC[:-1]}, {}, "id"),
        ({"status": "DONE"}, {}, "status"),
        ({"status": "uploaded"}, {}, "status"),
        ({"invoked_time": "yesterday"}, {}, "invoked_time"),
        ({"invoked_time": "0000-01-01T00:00:00Z"}, {}, "invoked_time"),
        ({"started_time": "2020-13-01T00:00:00Z"}, {}, "started_time"),
        ({"stopped_time": "nope"}, {}, "stopped_time"),
        ({"download_url_expiry": "tomorrow"}, {}, "download_url_expiry"),
        ({"session_id": "abc"}, {}, "session_id"),
        ({"file_size": -1}, {}, "file_size"),
        ({"recording_duration": -5}, {}, "recording_duration"),
        ({"download_url": "https://x/" + "a" * 8192}, {}, "download_url"),
        ({"audio_download_url": "https://x/" + "a" * 8192}, {}, "audio_download_url"),
        ({"output_file_name": "f" * 1025}, {}, "output_file_name"),
        ({"meeting": ...}, {}, "meeting"),
        ({"meeting_id": "5d8f6c2a-1b2c-4d3e-8f90-0a1b2c3d4e50"}, {}, "meeting_id"),
        ({}, {"id": "abc"}, "meeting.id"),
        ({}, {"status": "OPEN"}, "meeting.status"),
        ({}, {"title": "t" * 1025}, "meeting.title"),
        ({}, {"created_at": "then"}, "meeting.created_at"),
        ({}, {"updated_at": "2020-01-01T99:00:00Z"}, "meeting.updated_at"),
    ],
)
def test_bad_rows_name_the_field(changes: dict[str, Any], meeting_changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        convert(with_changes(changes, meeting_changes))
    assert info.value.message.startswith(f"{field}:"), info.value.message


def test_meeting_id_without_meeting_must_be_a_uuid() -> None:
    row = {"id": REC, "status": "UPLOADED", "invoked_time": T, "meeting_id": "nope"}
    with pytest.raises(InvalidRequest) as info:
        convert(row)
    assert info.value.message.startswith("meeting_id:")


def test_limits_are_inclusive() -> None:
    rec, meeting = convert(
        with_changes(
            {"download_url": "u" * 8192, "output_file_name": "f" * 1024, "file_size": 0, "recording_duration": 0},
            {"title": "t" * 1024},
        )
    )
    assert len(rec.download_url or "") == 8192 and len(meeting.title or "") == 1024


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"status": "UPLOADED", "invoked_time": "2020-01-01T00:00:00Z"}', "id"),
        (b'{"id": 5, "status": "UPLOADED", "invoked_time": "2020-01-01T00:00:00Z"}', "id"),
        (b'{"id": "' + REC.encode() + b'", "status": "UPLOADED", "invoked_time": 1}', "invoked_time"),
        (
            b'{"id": "' + REC.encode() + b'", "status": "UPLOADED", "invoked_time": "x", "file_size": "big"}',
            "file_size",
        ),
    ],
)
def test_decode_errors_name_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_recording(raw)
    assert field in info.value.message


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,2]", b"not json", b'{"id": "x",}'])
def test_malformed_lines_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidRequest):
        decode_recording(raw)


def test_list_response_is_read() -> None:
    body = msgspec.json.encode({"success": True, "data": [SEED, SEED], "paging": {"total_count": 2}})
    items = decode_list_response(body)
    assert len(items) == 2
    rec, _ = to_domain(decode_recording(bytes(items[0])), APP)
    assert rec.id == REC


@pytest.mark.parametrize("raw", [b"{}", b'{"data": 5}', b"[]", b"nope"])
def test_bad_list_response(raw: bytes) -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_list_response(raw)
    assert info.value.message.startswith("not a list response")
