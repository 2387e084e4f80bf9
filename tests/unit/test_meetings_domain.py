"""``recordkit.domain.meetings``: the create-meeting body, decoded, validated and made a meeting."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from recordkit.api.errors import status_of
from recordkit.domain import render
from recordkit.domain.meetings import CreateMeetingBody, new_meeting, parse_create_meeting
from recordkit.errors import InvalidRequest

MEETING_ID = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
APP_ID = "8968a361-b681-438c-81ae-a40e1e767eaa"
T = 1_716_000_000_123  # 2024-05-18T02:40:00.123Z

FULL: dict[str, Any] = {
    "title": "Board review",
    "record_on_start": True,
    "live_stream_on_start": True,
    "persist_chat": True,
    "summarize_on_end": True,
    "transcribe_on_end": False,
    "session_keep_alive_time_in_secs": 120,
    "recording_config": {
        "max_seconds": 3600,
        "file_name_prefix": "board_Q3-review",
        "audio_config": {"channel": "mono", "codec": "MP3", "export_file": False},
        "video_config": {
            "codec": "VP8",
            "width": 1920,
            "height": 1080,
            "export_file": True,
            "watermark": {
                "url": "https://example.com/logo.png",
                "position": "right bottom",
                "size": {"width": 160, "height": 90},
            },
        },
        "live_streaming_config": {"rtmp_url": "rtmp://a.rtmp.youtube.com/live2"},
        "realtimekit_bucket_config": {"enabled": False},
        "storage_config": {
            "type": "sftp",
            "auth_method": "KEY",
            "host": "sftp.example.com",
            "port": 22,
            "username": "rec",
            "path": "/upload/meetings",
            "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----",
            "password": "key-passphrase",
        },
    },
    "ai_config": {
        "summarization": {"summary_type": "team_meeting", "text_format": "plain_text", "word_limit": 300},
        "transcription": {"keywords": ["RecordKit", "Q3"], "language": "de", "profanity_filter": True},
    },
}


def parse(body: Any) -> CreateMeetingBody:
    return parse_create_meeting(json.dumps(body).encode())


def refused(body: Any, field: str, *needles: str) -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidRequest) as info:
        parse_create_meeting(raw)
    assert status_of(info.value) == 400
    message = info.value.message
    assert message.startswith((f"{field}:", f"{field} is required")), message
    for needle in needles:
        assert needle in message, message
    return message


def make(body: Any) -> Any:
    return new_meeting(parse(body), meeting_id=MEETING_ID, app_id=APP_ID, now_ms=T)


# -- accepted ------------------------------------------------------------------------------------


def test_full_body_round_trips() -> None:
    m = make(FULL)
    assert (m.id, m.app_id, m.created_ms, m.updated_ms, m.status) == (MEETING_ID, APP_ID, T, T, "ACTIVE")
    assert m.title == "Board review"
    assert (m.record_on_start, m.live_stream_on_start, m.persist_chat, m.summarize_on_end) == (True,) * 4
    assert m.transcribe_on_end is False
    assert m.session_keep_alive_time_in_secs == 120
    assert m.recording_config == FULL["recording_config"]  # every field kept as given, secrets included
    assert m.ai_config == FULL["ai_config"]


def test_rendering_strips_storage_secrets() -> None:
    out = render.meeting(make(FULL))
    storage = out["recording_config"]["storage_config"]
    assert "private_key" not in storage and "password" not in storage
    assert storage["host"] == "sftp.example.com" and storage["auth_method"] == "KEY"
    expected = json.loads(json.dumps(FULL["recording_config"]))
    del expected["storage_config"]["private_key"], expected["storage_config"]["password"]
    assert out["recording_config"] == expected
    assert out["created_at"] == out["updated_at"] == "2024-05-18T02:40:00.123Z"
    assert out["session_keep_alive_time_in_secs"] == 120 and out["transcribe_on_end"] is False
    encoded = render.meeting_json(make(FULL))
    assert b"PRIVATE KEY" not in encoded and b"key-passphrase" not in encoded


@pytest.mark.parametrize("body", [{}, {"title": None, "record_on_start": None, "live_stream_on_start": None}])
def test_defaults(body: dict[str, Any]) -> None:
    m = make(body)
    assert m.title is None and m.status == "ACTIVE"
    assert not (m.record_on_start or m.live_stream_on_start or m.persist_chat or m.summarize_on_end)
    assert m.transcribe_on_end is None
    assert m.session_keep_alive_time_in_secs == 60
    assert m.recording_config is None and m.ai_config is None
    out = render.meeting(m)
    assert set(out) == {
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


def test_only_given_config_fields_are_kept() -> None:
    # No defaults filled in: the meeting's config overrides the app's only where it says something.
    m = make({"recording_config": {"video_config": {"codec": "H264"}, "max_seconds": None}, "ai_config": {}})
    assert m.recording_config == {"video_config": {"codec": "H264"}}
    assert m.ai_config == {}


def test_unknown_fields_are_ignored() -> None:
    m = make({"title": "t", "preferred_region": "ap-south-1", "recording_config": {"nope": 1}, "status": "INACTIVE"})
    assert m.title == "t" and m.recording_config == {} and m.status == "ACTIVE"


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x" * 1024},
        {"title": ""},
        {"session_keep_alive_time_in_secs": 60},
        {"session_keep_alive_time_in_secs": 600},
        {"session_keep_alive_time_in_secs": 90.5},
        {"recording_config": {"max_seconds": 60}},
        {"recording_config": {"max_seconds": 86400}},
        {"recording_config": {"max_seconds": 60.5}},
        {"recording_config": {"video_config": {"width": 1, "height": 1920}}},
        {"recording_config": {"file_name_prefix": "a"}},
        {"recording_config": {"file_name_prefix": "A-z_0" * 20}},
        {"recording_config": {"storage_config": None}},
        {
            "recording_config": {
                "storage_config": {
                    "type": "aws",
                    "bucket": "b-1",
                    "region": "eu-west-1",
                    "access_key": "AKIA1",
                    "secret": "s",
                    "port": 22.0,
                    "path": "a/b..c/d",
                }
            }
        },
        {
            "recording_config": {
                "storage_config": {"type": "sftp", "host": "h.example", "username": "u", "password": "p", "port": 22.0}
            }
        },
        {"ai_config": {"summarization": {"word_limit": 150}}},
        {"ai_config": {"summarization": {"word_limit": 1000}}},
        {"ai_config": {"transcription": {"keywords": []}}},
    ],
)
def test_edges_accepted(body: dict[str, Any]) -> None:
    parse(body)


def test_numbers_keep_their_form() -> None:
    m = make({"session_keep_alive_time_in_secs": 90.5, "recording_config": {"max_seconds": 3600}})
    assert m.session_keep_alive_time_in_secs == 90.5
    assert msgspec.json.encode(m.recording_config) == b'{"max_seconds":3600}'


# -- refused -------------------------------------------------------------------------------------

BAD: list[tuple[Any, str, str]] = [
    ({"title": "x" * 1025}, "title", "at most 1024"),
    ({"title": 5}, "title", "str"),
    ({"record_on_start": "yes"}, "record_on_start", "bool"),
    ({"persist_chat": 1}, "persist_chat", "bool"),
    ({"session_keep_alive_time_in_secs": 59}, "session_keep_alive_time_in_secs", "between 60 and 600"),
    ({"session_keep_alive_time_in_secs": 600.01}, "session_keep_alive_time_in_secs", "between 60 and 600"),
    ({"session_keep_alive_time_in_secs": "60"}, "session_keep_alive_time_in_secs", ""),
    ({"session_keep_alive_time_in_secs": True}, "session_keep_alive_time_in_secs", "bool"),
    ({"recording_config": []}, "recording_config", "object"),
    ({"recording_config": {"max_seconds": 59}}, "recording_config.max_seconds", "must be between 60 and 86400"),
    ({"recording_config": {"max_seconds": 86401}}, "recording_config.max_seconds", "must be between 60 and 86400"),
    ({"recording_config": {"max_seconds": -1e300}}, "recording_config.max_seconds", "between"),
    ({"recording_config": {"file_name_prefix": ""}}, "recording_config.file_name_prefix", "letters"),
    ({"recording_config": {"file_name_prefix": "../etc"}}, "recording_config.file_name_prefix", "letters"),
    ({"recording_config": {"file_name_prefix": "a b"}}, "recording_config.file_name_prefix", ""),
    ({"recording_config": {"file_name_prefix": "café"}}, "recording_config.file_name_prefix", ""),
    ({"recording_config": {"file_name_prefix": "a" * 101}}, "recording_config.file_name_prefix", ""),
    ({"recording_config": {"audio_config": {"codec": "OPUS"}}}, "recording_config.audio_config.codec", "MP3, AAC"),
    ({"recording_config": {"audio_config": {"channel": "5.1"}}}, "recording_config.audio_config.channel", "mono"),
    ({"recording_config": {"audio_config": {"export_file": "no"}}}, "recording_config.audio_config.export_file", ""),
    ({"recording_config": {"video_config": {"codec": "h264"}}}, "recording_config.video_config.codec", "H264, VP8"),
    ({"recording_config": {"video_config": {"codec": "AV1"}}}, "recording_config.video_config.codec", ""),
    ({"recording_config": {"video_config": {"width": 0}}}, "recording_config.video_config.width", "between 1 and 1920"),
    ({"recording_config": {"video_config": {"width": 1921}}}, "recording_config.video_config.width", "1920"),
    ({"recording_config": {"video_config": {"height": 0}}}, "recording_config.video_config.height", "1920"),
    ({"recording_config": {"video_config": {"height": 720.5}}}, "recording_config.video_config.height", "int"),
    ({"recording_config": {"video_config": {"width": 10**30}}}, "recording_config.video_config.width", ""),
    (
        {"recording_config": {"video_config": {"watermark": {"position": "center"}}}},
        "recording_config.video_config.watermark.position",
        "left top",
    ),
    (
        {"recording_config": {"video_config": {"watermark": {"url": "not a url"}}}},
        "recording_config.video_config.watermark.url",
        "URL",
    ),
    (
        {"recording_config": {"video_config": {"watermark": {"size": {"width": 0}}}}},
        "recording_config.video_config.watermark.size.width",
        "between 1",
    ),
    (
        {"recording_config": {"live_streaming_config": {"rtmp_url": "/relative"}}},
        "recording_config.live_streaming_config.rtmp_url",
        "URL",
    ),
    (
        {"recording_config": {"realtimekit_bucket_config": {}}},
        "recording_config.realtimekit_bucket_config.enabled",
        "required",
    ),
    (
        {"recording_config": {"realtimekit_bucket_config": {"enabled": "false"}}},
        "recording_config.realtimekit_bucket_config.enabled",
        "bool",
    ),
    ({"recording_config": {"storage_config": {}}}, "recording_config.storage_config.type", "required"),
    (
        {"recording_config": {"storage_config": {"type": "dropbox"}}},
        "recording_config.storage_config.type",
        "aws, azure, digitalocean, gcs, sftp",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "auth_method": "TOKEN"}}},
        "recording_config.storage_config.auth_method",
        "KEY, PASSWORD",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "port": 70000}}},
        "recording_config.storage_config.port",
        "65535",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "port": 22.5}}},
        "recording_config.storage_config.port",
        "whole",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "path": "up/../../etc"}}},
        "recording_config.storage_config.path",
        "..",
    ),
    (
        {"recording_config": {"storage_config": {"type": "aws", "access_key": 123}}},
        "recording_config.storage_config.access_key",
        "str",
    ),
    # A meeting's storage_config is complete for its type (a start may not fill it in: it is checked
    # when set, like the app's); the message names the first missing field, never a value.
    ({"recording_config": {"storage_config": {"type": "gcs"}}}, "recording_config.storage_config.bucket", "gcs"),
    (
        {"recording_config": {"storage_config": {"type": "aws", "bucket": "bkt", "region": "us-east-1"}}},
        "recording_config.storage_config.access_key",
        "aws",
    ),
    (
        {"recording_config": {"storage_config": {"type": "sftp", "host": "h", "username": "u"}}},
        "recording_config.storage_config.auth_method",
        "KEY or PASSWORD",
    ),
    (
        {
            "recording_config": {
                "storage_config": {"type": "azure", "bucket": "c1c", "access_key": "acct", "secret": "!"}
            }
        },
        "recording_config.storage_config.secret",
        "base64",
    ),
    ({"ai_config": {"summarization": {"word_limit": 149}}}, "ai_config.summarization.word_limit", "150 and 1000"),
    ({"ai_config": {"summarization": {"word_limit": 1001}}}, "ai_config.summarization.word_limit", "150 and 1000"),
    ({"ai_config": {"summarization": {"summary_type": "x"}}}, "ai_config.summarization.summary_type", "general"),
    ({"ai_config": {"summarization": {"text_format": "html"}}}, "ai_config.summarization.text_format", "markdown"),
    ({"ai_config": {"transcription": {"language": "en"}}}, "ai_config.transcription.language", "en-US"),
    ({"ai_config": {"transcription": {"keywords": "Dyte"}}}, "ai_config.transcription.keywords", "array"),
    ({"ai_config": {"transcription": {"keywords": ["ok", 5]}}}, "ai_config.transcription.keywords[1]", "str"),
    ({"ai_config": {"transcription": {"profanity_filter": 0}}}, "ai_config.transcription.profanity_filter", ""),
]


@pytest.mark.parametrize(("body", "field", "needle"), BAD, ids=[f for _, f, _ in BAD])
def test_bad_field_is_named(body: Any, field: str, needle: str) -> None:
    refused(body, field, needle)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"", "required"),
        (b"   ", "required"),
        (b"{not json", "malformed JSON"),
        (b'{"title": "x"', "malformed JSON"),
        (b"[]", "JSON object"),
        (b'"title"', "JSON object"),
        (b"null", "JSON object"),
        (b'{"title": "\xff\xfe"}', "malformed"),
        (b'{"unknown\xff": 1}', "malformed"),
        (b'{"unknown": ["\xc3\x28"]}', "malformed"),
        (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
)
def test_bad_body_is_named_body(raw: bytes, needle: str) -> None:
    refused(raw, "body", needle)


def test_first_error_wins_and_nothing_else_is_checked() -> None:
    body = {"recording_config": {"max_seconds": 1, "video_config": {"width": 0}}}
    refused(body, "recording_config.max_seconds")
