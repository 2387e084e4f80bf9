"""Creating a meeting (SPEC §5): the body of ``POST .../{app_id}/meetings``, decoded and validated, purely.

Every field of the upstream ``CreateMeetingBody`` (and of its ``recording_config`` and ``ai_config``)
is typed here; msgspec checks the types, ``validate`` the ranges and enumerations of the OpenAPI
subset. Errors are ``InvalidRequest`` whose message starts with the field's path
(``recording_config.max_seconds: must be between 60 and 86400``). Unknown fields are ignored and
``null`` is the same as leaving a field out.

A meeting keeps its ``recording_config`` and ``ai_config`` as given (the fields that were set, no
defaults filled in): they are defaults for the meeting's recordings, below a start body and above
the app's own defaults, so a default written here would hide the app's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import msgspec

from recordkit.domain.models import Meeting
from recordkit.domain.storage_config import validate_storage_config
from recordkit.errors import InvalidRequest

MAX_TITLE: Final = 1024
KEEP_ALIVE_RANGE: Final = (60, 600)
MAX_SECONDS_RANGE: Final = (60, 86400)
VIDEO_SIZE_RANGE: Final = (1, 1920)
WORD_LIMIT_RANGE: Final = (150, 1000)
PORT_RANGE: Final = (1, 65535)
MAX_URL: Final = 2048
MAX_PREFIX: Final = 100

AUDIO_CHANNELS: Final = ("mono", "stereo")
AUDIO_CODECS: Final = ("MP3", "AAC")
VIDEO_CODECS: Final = ("H264", "VP8")
WATERMARK_POSITIONS: Final = ("left top", "right top", "left bottom", "right bottom")
STORAGE_TYPES: Final = ("aws", "azure", "digitalocean", "gcs", "sftp")
AUTH_METHODS: Final = ("KEY", "PASSWORD")
SUMMARY_TYPES: Final = (
    "general",
    "team_meeting",
    "sales_call",
    "client_check_in",
    "interview",
    "daily_standup",
    "one_on_one_meeting",
    "lecture",
    "code_review",
)
TEXT_FORMATS: Final = ("plain_text", "markdown")
LANGUAGES: Final = ("en-US", "en-IN", "de", "hi", "sv", "ru", "pl", "el", "fr", "nl")

_PREFIX = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_PREFIX}}}")

Number = int | float


class _Part(msgspec.Struct, omit_defaults=True):
    """A body object: every field optional, ``None`` when not given (and left out when encoded)."""


class WatermarkSize(_Part):
    height: int | None = None
    width: int | None = None


class Watermark(_Part):
    position: str | None = None
    size: WatermarkSize | None = None
    url: str | None = None


class VideoConfig(_Part):
    codec: str | None = None
    export_file: bool | None = None
    height: int | None = None
    width: int | None = None
    watermark: Watermark | None = None


class AudioConfig(_Part):
    channel: str | None = None
    codec: str | None = None
    export_file: bool | None = None


class LiveStreamingConfig(_Part):
    rtmp_url: str | None = None


class BucketConfig(_Part):
    enabled: bool


class StorageConfig(_Part):
    """Where else a recording's file goes. ``access_key``, ``secret``, ``password`` and
    ``private_key`` are write-only: kept, never rendered (``models.strip_secrets_deep``)."""

    type: str
    access_key: str | None = None
    auth_method: str | None = None
    bucket: str | None = None
    host: str | None = None
    password: str | None = None
    path: str | None = None
    port: Number | None = None
    private_key: str | None = None
    region: str | None = None
    secret: str | None = None
    username: str | None = None


class RecordingConfig(_Part):
    audio_config: AudioConfig | None = None
    file_name_prefix: str | None = None
    live_streaming_config: LiveStreamingConfig | None = None
    max_seconds: Number | None = None
    realtimekit_bucket_config: BucketConfig | None = None
    storage_config: StorageConfig | None = None
    video_config: VideoConfig | None = None


class Summarization(_Part):
    summary_type: str | None = None
    text_format: str | None = None
    word_limit: int | None = None


class Transcription(_Part):
    keywords: list[str] | None = None
    language: str | None = None
    profanity_filter: bool | None = None


class AIConfig(_Part):
    summarization: Summarization | None = None
    transcription: Transcription | None = None


class CreateMeetingBody(_Part):
    """The body of ``POST .../{app_id}/meetings`` (upstream ``CreateMeetingBody``)."""

    title: str | None = None
    record_on_start: bool | None = None
    live_stream_on_start: bool | None = None
    recording_config: RecordingConfig | None = None
    ai_config: AIConfig | None = None
    persist_chat: bool | None = None
    summarize_on_end: bool | None = None
    transcribe_on_end: bool | None = None
    session_keep_alive_time_in_secs: Number | None = None


_decoder = msgspec.json.Decoder(CreateMeetingBody)


# -- decoding ------------------------------------------------------------------------------------


def parse_create_meeting(raw: bytes) -> CreateMeetingBody:
    """Decode and validate a create-meeting body; ``InvalidRequest`` names the offending field."""
    if not raw.strip():
        raise InvalidRequest("body: a JSON object is required")
    try:
        # msgspec skips unknown fields without checking their text: invalid UTF-8 there is refused too.
        raw.decode("utf-8")
        body = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_field_first(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body: malformed JSON ({exc})") from None
    except RecursionError:
        raise InvalidRequest("body: JSON nested too deeply") from None
    except UnicodeDecodeError:
        raise InvalidRequest("body: malformed JSON (invalid UTF-8)") from None
    validate(body)
    return body


def _field_first(message: str) -> str:
    """msgspec's ``Expected `int`, got `str` - at `$.a.b``` as ``a.b: Expected `int`, got `str```."""
    what, sep, where = message.partition(" - at `$")
    if not sep:
        if message.startswith("Expected `object`"):
            return "body: must be a JSON object"
        return f"body: {message}"
    path = where.rstrip("`").lstrip(".")
    missing = re.fullmatch(r"Object missing required field `(\w+)`", what)
    if missing:
        field = missing.group(1)
        return f"{path}.{field}: required" if path else f"{field}: required"
    return f"{path}: {what}" if path else f"body: {what}"


# -- validation ----------------------------------------------------------------------------------


def validate(body: CreateMeetingBody) -> None:
    """The ranges and enumerations msgspec's types do not express (OpenAPI subset, SPEC §4)."""
    if body.title is not None and len(body.title) > MAX_TITLE:
        raise InvalidRequest(f"title: must be at most {MAX_TITLE} characters")
    _range(body.session_keep_alive_time_in_secs, "session_keep_alive_time_in_secs", KEEP_ALIVE_RANGE)
    if body.recording_config is not None:
        _recording_config(body.recording_config, "recording_config")
    if body.ai_config is not None:
        _ai_config(body.ai_config, "ai_config")


def _p(at: str) -> str:
    """The path prefix of a nested field: ``recording_config.`` (or nothing at the top level)."""
    return f"{at}." if at else ""


def validate_recording_config(c: RecordingConfig, at: str = "", *, complete_storage: bool = True) -> None:
    """Check a recording config (a meeting's, or a start body at the top level, ``at=""``).

    A meeting's or an app's ``storage_config`` must be complete for its type (``bucket``,
    credentials...); a start body's may give only some fields over the meeting's, so the start
    checks the merged one instead (``complete_storage=False``)."""
    _recording_config(c, at, complete_storage=complete_storage)


def _recording_config(c: RecordingConfig, at: str, *, complete_storage: bool = True) -> None:
    _range(c.max_seconds, f"{_p(at)}max_seconds", MAX_SECONDS_RANGE)
    if c.file_name_prefix is not None and not _PREFIX.fullmatch(c.file_name_prefix):
        raise InvalidRequest(f"{_p(at)}file_name_prefix: only letters, digits, '_' and '-' (1-{MAX_PREFIX} characters)")
    if c.audio_config is not None:
        _one_of(c.audio_config.channel, f"{_p(at)}audio_config.channel", AUDIO_CHANNELS)
        _one_of(c.audio_config.codec, f"{_p(at)}audio_config.codec", AUDIO_CODECS)
    if c.video_config is not None:
        _video_config(c.video_config, f"{_p(at)}video_config")
    if c.live_streaming_config is not None:
        _url(c.live_streaming_config.rtmp_url, f"{_p(at)}live_streaming_config.rtmp_url")
    if c.storage_config is not None:
        _storage_config(c.storage_config, f"{_p(at)}storage_config")
        if complete_storage:
            _complete_storage_config(c.storage_config, f"{_p(at)}storage_config")


def _video_config(v: VideoConfig, at: str) -> None:
    _one_of(v.codec, f"{_p(at)}codec", VIDEO_CODECS)
    _range(v.width, f"{_p(at)}width", VIDEO_SIZE_RANGE)
    _range(v.height, f"{_p(at)}height", VIDEO_SIZE_RANGE)
    if v.watermark is not None:
        w = v.watermark
        _one_of(w.position, f"{_p(at)}watermark.position", WATERMARK_POSITIONS)
        _url(w.url, f"{_p(at)}watermark.url")
        if w.size is not None:
            # At least 1 (the schema); at most the largest frame, as a watermark cannot be bigger.
            _range(w.size.width, f"{_p(at)}watermark.size.width", VIDEO_SIZE_RANGE)
            _range(w.size.height, f"{_p(at)}watermark.size.height", VIDEO_SIZE_RANGE)


def _storage_config(s: StorageConfig, at: str) -> None:
    _one_of(s.type, f"{_p(at)}type", STORAGE_TYPES)
    _one_of(s.auth_method, f"{_p(at)}auth_method", AUTH_METHODS)
    if s.port is not None:
        if isinstance(s.port, float) and not s.port.is_integer():
            raise InvalidRequest(f"{_p(at)}port: must be a whole number between {PORT_RANGE[0]} and {PORT_RANGE[1]}")
        _range(s.port, f"{_p(at)}port", PORT_RANGE)
    if s.path is not None and ("\x00" in s.path or ".." in re.split(r"[/\\]", s.path)):
        raise InvalidRequest(f"{_p(at)}path: must not contain '..' segments or NUL characters")


def _complete_storage_config(s: StorageConfig, at: str) -> None:
    """Everything its type needs (``recordkit.domain.storage_config``); messages name ``at``'s field."""
    try:
        validate_storage_config(msgspec.to_builtins(s))
    except InvalidRequest as exc:
        message = exc.message
        if message.startswith("storage_config") and at != "storage_config":
            message = at + message.removeprefix("storage_config")
        raise InvalidRequest(message) from None


def _ai_config(a: AIConfig, at: str) -> None:
    if a.summarization is not None:
        s = a.summarization
        _one_of(s.summary_type, f"{_p(at)}summarization.summary_type", SUMMARY_TYPES)
        _one_of(s.text_format, f"{_p(at)}summarization.text_format", TEXT_FORMATS)
        _range(s.word_limit, f"{_p(at)}summarization.word_limit", WORD_LIMIT_RANGE)
    if a.transcription is not None:
        _one_of(a.transcription.language, f"{_p(at)}transcription.language", LANGUAGES)


def _range(value: Number | None, field: str, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if value is not None and not low <= value <= high:
        raise InvalidRequest(f"{field}: must be between {low} and {high}")


def _one_of(value: str | None, field: str, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise InvalidRequest(f"{field}: must be one of {', '.join(allowed)}; got {value[:40]!r}")


def _url(value: str | None, field: str) -> None:
    if value is None:
        return
    if len(value) > MAX_URL:
        raise InvalidRequest(f"{field}: must be at most {MAX_URL} characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not parts.netloc or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise InvalidRequest(f"{field}: must be an absolute URL")


# -- the meeting ---------------------------------------------------------------------------------


def _given(part: _Part | None) -> dict[str, Any] | None:
    """A config as the fields that were given (nested objects too), ``None`` when absent."""
    if part is None:
        return None
    value: dict[str, Any] = msgspec.to_builtins(part)
    return value


def new_meeting(body: CreateMeetingBody, *, meeting_id: str, app_id: str, now_ms: int) -> Meeting:
    """The meeting a validated body makes: ACTIVE, created and updated now, defaults as upstream."""
    keep_alive = body.session_keep_alive_time_in_secs
    return Meeting(
        id=meeting_id,
        app_id=app_id,
        created_ms=now_ms,
        updated_ms=now_ms,
        title=body.title,
        status="ACTIVE",
        record_on_start=bool(body.record_on_start),
        live_stream_on_start=bool(body.live_stream_on_start),
        persist_chat=bool(body.persist_chat),
        summarize_on_end=bool(body.summarize_on_end),
        transcribe_on_end=body.transcribe_on_end,
        session_keep_alive_time_in_secs=60 if keep_alive is None else keep_alive,
        recording_config=_given(body.recording_config),
        ai_config=_given(body.ai_config),
    )
