"""Reading recordings in the list endpoint's shape (JSON Lines or a whole list response), purely.

Ids, timestamps, statuses, URLs and storage_config are kept as given (times at millisecond
precision). Each line becomes a ``(Recording, Meeting)`` pair or an ``InvalidRequest`` naming
the field.
"""

from __future__ import annotations

from typing import Any

import msgspec

from recordkit.domain import render
from recordkit.domain.ids import check_uuid
from recordkit.domain.models import (
    MEETING_STATUSES,
    RECORDING_STATUSES,
    Meeting,
    Recording,
    split_storage_config,
)
from recordkit.domain.timefmt import format_ms, parse_iso_ms
from recordkit.errors import InvalidRequest


class WireMeeting(msgspec.Struct):
    id: str
    created_at: str | None = None
    updated_at: str | None = None
    title: str | None = None
    status: str | None = None
    record_on_start: bool | None = None
    live_stream_on_start: bool | None = None
    persist_chat: bool | None = None
    summarize_on_end: bool | None = None
    transcribe_on_end: bool | None = None
    session_keep_alive_time_in_secs: float | None = None
    recording_config: dict[str, Any] | None = None
    ai_config: dict[str, Any] | None = None


class WireRecording(msgspec.Struct):
    id: str
    status: str
    invoked_time: str
    meeting: WireMeeting | None = None
    meeting_id: str | None = None
    session_id: str | None = None
    started_time: str | None = None
    stopped_time: str | None = None
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry: str | None = None
    file_size: float | None = None
    output_file_name: str | None = None
    recording_duration: int | None = None
    storage_config: dict[str, Any] | None = None
    start_reason: dict[str, Any] | None = None
    stop_reason: dict[str, Any] | None = None


class WireListResponse(msgspec.Struct):
    data: list[msgspec.Raw]
    success: bool | None = None
    paging: dict[str, Any] | None = None


_line_decoder = msgspec.json.Decoder(WireRecording)
_list_decoder = msgspec.json.Decoder(WireListResponse)

MAX_TITLE = 1024
MAX_URL = 8192


def decode_recording(raw: bytes | str) -> WireRecording:
    try:
        return _line_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_field_first(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"malformed JSON ({exc})") from None


def decode_list_response(raw: bytes) -> list[msgspec.Raw]:
    try:
        return _list_decoder.decode(raw).data
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidRequest(f"not a list response: {_field_first(str(exc))}") from None


def _field_first(message: str) -> str:
    if " - at `$." in message:
        what, _, where = message.partition(" - at `$.")
        return f"{where.rstrip('`')}: {what}"
    return message


def _opt_time(value: str | None, field: str) -> int | None:
    return None if value is None else parse_iso_ms(value, field)


def _check_len(value: str | None, field: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidRequest(f"{field}: must be at most {limit} characters")


def to_domain(
    wire: WireRecording, app_id: str, meetings: dict[str, tuple[WireMeeting, Meeting]] | None = None
) -> tuple[Recording, Meeting]:
    """Validate one recording and convert it; raises ``InvalidRequest`` naming the field.

    ``meetings`` (optional) remembers converted meeting objects: a file repeats each meeting on
    every one of its recordings, and an identical object need not be checked twice.
    """
    rec_id = check_uuid(wire.id, "id")
    if wire.status not in RECORDING_STATUSES:
        raise InvalidRequest(f"status: unknown value {wire.status[:40]!r}")
    invoked = parse_iso_ms(wire.invoked_time, "invoked_time")
    for field in ("download_url", "audio_download_url"):
        _check_len(getattr(wire, field), field, MAX_URL)
    _check_len(wire.output_file_name, "output_file_name", MAX_TITLE)
    if wire.file_size is not None and wire.file_size < 0:
        raise InvalidRequest("file_size: must be >= 0")
    if wire.recording_duration is not None and wire.recording_duration < 0:
        raise InvalidRequest("recording_duration: must be >= 0")
    session_id = check_uuid(wire.session_id, "session_id") if wire.session_id else None
    storage, secrets = split_storage_config(wire.storage_config)
    seen = meetings.get(wire.meeting.id) if meetings is not None and wire.meeting is not None else None
    if seen is not None and seen[0] == wire.meeting and wire.meeting_id is None:
        meeting = seen[1]
    else:
        meeting = _meeting(wire, app_id, invoked)
        if meetings is not None and wire.meeting is not None:
            meetings[wire.meeting.id] = (wire.meeting, meeting)
    recording = Recording(
        id=rec_id,
        app_id=app_id,
        meeting_id=meeting.id,
        status=wire.status,
        invoked_ms=invoked,
        session_id=session_id,
        started_ms=_opt_time(wire.started_time, "started_time"),
        stopped_ms=_opt_time(wire.stopped_time, "stopped_time"),
        download_url=wire.download_url,
        audio_download_url=wire.audio_download_url,
        download_url_expiry_ms=_opt_time(wire.download_url_expiry, "download_url_expiry"),
        file_size=wire.file_size,
        output_file_name=wire.output_file_name,
        recording_duration=wire.recording_duration,
        storage_config=storage,
        storage_secrets=secrets,
        start_reason=wire.start_reason,
        stop_reason=wire.stop_reason,
    )
    return recording, meeting


def _meeting(wire: WireRecording, app_id: str, invoked: int) -> Meeting:
    m = wire.meeting
    if m is None:
        if wire.meeting_id is None:
            raise InvalidRequest("meeting: required (the meeting object, or at least meeting_id)")
        return Meeting(
            id=check_uuid(wire.meeting_id, "meeting_id"),
            app_id=app_id,
            created_ms=invoked,
            updated_ms=invoked,
        )
    meeting_id = check_uuid(m.id, "meeting.id")
    if wire.meeting_id is not None and wire.meeting_id.lower() != meeting_id:
        raise InvalidRequest("meeting_id: differs from meeting.id")
    status = m.status or "ACTIVE"
    if status not in MEETING_STATUSES:
        raise InvalidRequest(f"meeting.status: unknown value {status[:40]!r}")
    _check_len(m.title, "meeting.title", MAX_TITLE)
    created = _opt_time(m.created_at, "meeting.created_at")
    created = invoked if created is None else created
    updated = _opt_time(m.updated_at, "meeting.updated_at")
    keep_alive = 60.0 if m.session_keep_alive_time_in_secs is None else m.session_keep_alive_time_in_secs
    return Meeting(
        id=meeting_id,
        app_id=app_id,
        created_ms=created,
        updated_ms=created if updated is None else updated,
        title=m.title,
        status=status,
        record_on_start=bool(m.record_on_start),
        live_stream_on_start=bool(m.live_stream_on_start),
        persist_chat=bool(m.persist_chat),
        summarize_on_end=bool(m.summarize_on_end),
        transcribe_on_end=m.transcribe_on_end,
        session_keep_alive_time_in_secs=keep_alive,
        recording_config=m.recording_config,
        ai_config=m.ai_config,
    )


def _canonical(text: str | None, ms: int | None) -> str | None:
    """The wire form of a time: the input itself when it already is ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if text is None or ms is None:
        return None
    if len(text) == 24 and text[23] == "Z" and text[19] == "." and text[10] == "T":
        return text  # it parsed, and this is the only string of that shape for its instant
    return format_ms(ms)


def item_json(wire: WireRecording, rec: Recording) -> bytes:
    """The list item (without its meeting) of an imported recording, as ``render.recording_item_json``
    would make it, reusing the input's time strings where they are canonical already (imports are
    dominated by timestamp formatting otherwise)."""
    return render.encode(
        {
            "id": rec.id,
            "audio_download_url": rec.audio_download_url,
            "download_url": rec.download_url,
            "download_url_expiry": _canonical(wire.download_url_expiry, rec.download_url_expiry_ms),
            "file_size": render.number(rec.file_size),
            "invoked_time": _canonical(wire.invoked_time, rec.invoked_ms),
            "output_file_name": rec.output_file_name,
            "session_id": rec.session_id,
            "started_time": _canonical(wire.started_time, rec.started_ms),
            "status": rec.status,
            "stopped_time": _canonical(wire.stopped_time, rec.stopped_ms),
            "recording_duration": rec.recording_duration,
            "storage_config": rec.storage_config,
        }
    )
