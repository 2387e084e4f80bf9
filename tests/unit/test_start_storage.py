"""Where a new recording's files go: the effective storage_config is checked at start (400 naming
the field), a recording with nowhere to go is refused, and storage_config layers by type."""

from __future__ import annotations

from typing import Any

import pytest

from recordkit.api.errors import status_of
from recordkit.domain.meetings import RecordingConfig, validate_recording_config
from recordkit.domain.recordings import (
    StartRecordingBody,
    StartTrackBody,
    effective_config,
    new_recording,
    new_track_recording,
)
from recordkit.errors import InvalidRequest

MEETING = "6f1b3c8e-5d1a-4c2b-9f0e-1a2b3c4d5e6f"
NOW = 1_800_000_000_000
AWS = {"type": "aws", "bucket": "bkt", "region": "eu-west-1", "access_key": "AKIA1", "secret": "s3cr3t-value"}
SFTP = {"type": "sftp", "host": "sftp.example.com", "username": "rec", "password": "pw-value"}


def start(app: dict[str, Any] | None = None, meeting: dict[str, Any] | None = None, **body: Any) -> Any:
    import msgspec

    parsed = msgspec.convert({"meeting_id": MEETING, **body}, StartRecordingBody)
    return new_recording("app", parsed, app, meeting, {"type": "ORGANIZATION"}, NOW)


@pytest.mark.parametrize(
    ("storage", "field"),
    [
        ({"type": "aws", "bucket": "bkt"}, "storage_config.region"),
        ({"type": "aws", "bucket": "bkt", "region": "us-east-1", "access_key": "A"}, "storage_config.secret"),
        ({"type": "digitalocean", "region": "nyc3"}, "storage_config.bucket"),
        ({"type": "azure", "bucket": "rec"}, "storage_config.access_key"),
        ({"type": "gcs", "bucket": "rec"}, "storage_config.secret"),
        ({"type": "sftp", "host": "h"}, "storage_config.username"),
        ({"type": "sftp", "host": "h", "username": "u", "auth_method": "KEY"}, "storage_config.private_key"),
    ],
)
def test_an_incomplete_storage_config_is_a_400_naming_the_field(storage: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        start(storage_config=storage)
    assert status_of(raised.value) == 400
    assert raised.value.message.startswith(field), raised.value.message


def test_the_start_body_may_complete_the_meetings_storage_config() -> None:
    rec = start(meeting={"storage_config": AWS}, storage_config={"type": "aws", "path": "per-start"})
    assert rec.storage_config == {"type": "aws", "bucket": "bkt", "region": "eu-west-1", "path": "per-start"}
    assert rec.storage_secrets == {"access_key": "AKIA1", "secret": "s3cr3t-value"}


def test_a_storage_config_of_another_type_replaces_the_lower_one() -> None:
    config = effective_config({"storage_config": AWS}, None, {"storage_config": SFTP})
    assert config["storage_config"] == SFTP  # no aws bucket or keys mixed into the sftp config
    rec = start(app={"storage_config": AWS}, meeting={"storage_config": SFTP})
    assert rec.storage_config == {k: v for k, v in SFTP.items() if k != "password"}
    assert rec.storage_secrets == {"password": "pw-value"}


def test_precedence_body_over_meeting_over_app() -> None:
    app = {"storage_config": {**AWS, "path": "app"}}
    meeting = {"storage_config": {**AWS, "path": "meeting"}}
    assert start(app=app).storage_config["path"] == "app"
    assert start(app=app, meeting=meeting).storage_config["path"] == "meeting"
    assert start(app=app, meeting=meeting, storage_config={"type": "aws", "path": "body"}).storage_config["path"] == (
        "body"
    )


def test_no_bucket_and_no_destination_is_accepted_at_start() -> None:
    # it ends ERRORED "no destination" once recorded (tests/e2e/test_e2e_storage.py)
    for rec in (
        start(realtimekit_bucket_config={"enabled": False}),
        start(meeting={"realtimekit_bucket_config": {"enabled": False}}),
    ):
        assert rec.config is not None and rec.config["realtimekit_bucket_config"] == {"enabled": False}
        assert rec.config.get("storage_config") is None
    rec = start(realtimekit_bucket_config={"enabled": False}, storage_config=AWS)
    assert rec.config is not None and rec.config["realtimekit_bucket_config"] == {"enabled": False}


def test_track_recordings_go_where_the_meeting_says() -> None:
    body = StartTrackBody(meeting_id=MEETING)
    rec = new_track_recording(
        "app", body, {}, NOW, app_config={"storage_config": AWS}, meeting_config={"storage_config": SFTP}
    )
    assert rec.storage_config is not None and rec.storage_config["type"] == "sftp"
    assert rec.storage_secrets == {"password": "pw-value"}
    plain = new_track_recording("app", body, {}, NOW)
    assert plain.storage_config is None and plain.config is not None
    assert plain.config["realtimekit_bucket_config"] == {"enabled": True}


def test_app_config_storage_is_checked_whole() -> None:
    import msgspec

    config = msgspec.convert({"storage_config": {"type": "aws", "bucket": "bkt"}}, RecordingConfig)
    with pytest.raises(InvalidRequest, match=r"^recording_config\.storage_config\.region is required"):
        validate_recording_config(config, "recording_config")
    validate_recording_config(config, "", complete_storage=False)  # a start body's part is fine alone
