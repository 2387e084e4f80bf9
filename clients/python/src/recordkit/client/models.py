"""The API's objects as msgspec Structs, field for field as the wire carries them.

Times are ``datetime`` (timezone-aware; the API writes UTC ISO-8601 with milliseconds and ``Z``),
as in Cloudflare's own SDK; ``format_time`` writes one back in the wire's form. Status fields are
plain strings (``RECORDING_STATUSES`` lists the values), so a server that adds one does not break
decoding. Configuration objects (``storage_config``, a meeting's ``recording_config`` and
``ai_config``) stay JSON dicts, exactly as sent: no field is lost on the way through.
Unknown fields in a response are ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import msgspec

T = TypeVar("T")

RECORDING_STATUSES: Final = ("INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED")
FINAL_STATUSES: Final = frozenset({"UPLOADED", "ERRORED"})
MEETING_STATUSES: Final = ("ACTIVE", "INACTIVE")


def format_time(value: datetime) -> str:
    """``2019-12-27T18:11:19.117Z``: UTC, milliseconds (a naive datetime is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


class Paging(msgspec.Struct, kw_only=True):
    """``total_count`` matches every filter; offsets are 1-based positions of the page's first and
    last item (both 0 on an empty page)."""

    total_count: int
    start_offset: int
    end_offset: int


class Caller(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str | None = None
    type: str | None = None  # "ORGANIZATION" or "USER"
    user_id: str | None = msgspec.field(default=None, name="user_Id")


class Reason(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``start_reason`` / ``stop_reason`` of a recording."""

    reason: str | None = None
    caller: Caller | None = None


class Meeting(msgspec.Struct, kw_only=True):
    id: str
    created_at: datetime
    updated_at: datetime
    live_stream_on_start: bool | None = None
    persist_chat: bool | None = None
    record_on_start: bool | None = None
    session_keep_alive_time_in_secs: int | float | None = None
    status: str | None = None
    summarize_on_end: bool | None = None
    title: str | None = None
    transcribe_on_end: bool | None = None
    recording_config: dict[str, Any] | None = None
    ai_config: dict[str, Any] | None = None


class Recording(msgspec.Struct, kw_only=True):
    """A recording: a list item carries ``meeting``; a single one (get, start, stop...) carries
    ``start_reason`` and ``stop_reason`` instead."""

    id: str
    audio_download_url: str | None = None
    download_url: str | None = None
    download_url_expiry: datetime | None = None
    file_size: int | float | None = None
    invoked_time: datetime
    output_file_name: str | None = None
    session_id: str | None = None
    started_time: datetime | None = None
    status: str
    stopped_time: datetime | None = None
    meeting: Meeting | None = None
    recording_duration: int | None = None
    storage_config: dict[str, Any] | None = None
    start_reason: Reason | None = None
    stop_reason: Reason | None = None
    error: str | None = None  # RecordKit: why it ended ERRORED (recorder or delivery), on a single recording

    @property
    def is_final(self) -> bool:
        """UPLOADED or ERRORED: nothing about it changes any more (but the link's expiry)."""
        return self.status in FINAL_STATUSES

    @property
    def meeting_id(self) -> str | None:
        return self.meeting.id if self.meeting is not None else None


class App(msgspec.Struct, kw_only=True):
    id: str
    name: str | None = None
    created_at: datetime | None = None


class Webhook(msgspec.Struct, kw_only=True):
    """A webhook registration: ``events`` are RealtimeKit's event names (``recording.statusUpdate``...)."""

    id: str
    name: str
    url: str
    events: list[str]
    enabled: bool
    created_at: datetime
    updated_at: datetime


class RecordingPage(msgspec.Struct, kw_only=True):
    """One page of ``get_recordings``: ``data`` and ``paging``, as the list endpoint answers."""

    data: list[Recording]
    paging: Paging
    success: bool = True


class MeetingPage(msgspec.Struct, kw_only=True):
    data: list[Meeting]
    paging: Paging
    success: bool = True


class AppPage(msgspec.Struct, kw_only=True):
    data: list[App]
    paging: Paging
    success: bool = True


class Envelope(msgspec.Struct, Generic[T], kw_only=True):
    """``{"success": true, "data": ...}``: what single-object answers look like."""

    data: T
    success: bool = True


class CreatedApp(msgspec.Struct, kw_only=True):
    app: App


class TrackStarted(msgspec.Struct, kw_only=True):
    recording: Recording


def to_wire(value: msgspec.Struct) -> dict[str, Any]:
    """A model as the JSON object the API would send (times in the wire's form)."""
    out = msgspec.to_builtins(value, builtin_types=(datetime,))
    return _times(out)  # type: ignore[no-any-return]


def _times(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, dict):
        return {k: _times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    return value
