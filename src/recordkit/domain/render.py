"""Domain objects in the upstream's wire shape (snake_case keys, ISO times with ms and ``Z``).

Pure. The store keeps each row's rendering beside it (rendered at write time), so the list endpoint
assembles pages from ready JSON instead of formatting dozens of timestamps per request.
"""

from __future__ import annotations

from typing import Any

import msgspec

from recordkit.domain.models import App, Meeting, Recording, strip_secrets_deep
from recordkit.domain.timefmt import format_ms, format_opt

encode = msgspec.json.Encoder().encode


def number(value: float | None) -> float | int | None:
    """Whole floats are written as integers (``60``, not ``60.0``), as the upstream does."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def meeting(m: Meeting) -> dict[str, Any]:
    """The meeting object: the seed's ten fields always, the optional ones when set."""
    out: dict[str, Any] = {
        "id": m.id,
        "created_at": format_ms(m.created_ms),
        "updated_at": format_ms(m.updated_ms),
        "live_stream_on_start": m.live_stream_on_start,
        "persist_chat": m.persist_chat,
        "record_on_start": m.record_on_start,
        "session_keep_alive_time_in_secs": number(m.session_keep_alive_time_in_secs),
        "status": m.status,
        "summarize_on_end": m.summarize_on_end,
        "title": m.title,
    }
    if m.transcribe_on_end is not None:
        out["transcribe_on_end"] = m.transcribe_on_end
    if m.recording_config is not None:
        out["recording_config"] = strip_secrets_deep(m.recording_config)
    if m.ai_config is not None:
        out["ai_config"] = m.ai_config
    return out


def recording(r: Recording) -> dict[str, Any]:
    """The fields every recording carries, in the seed's order; null where not known yet."""
    return {
        "id": r.id,
        "audio_download_url": r.audio_download_url,
        "download_url": r.download_url,
        "download_url_expiry": format_opt(r.download_url_expiry_ms),
        "file_size": number(r.file_size),
        "invoked_time": format_ms(r.invoked_ms),
        "output_file_name": r.output_file_name,
        "session_id": r.session_id,
        "started_time": format_opt(r.started_ms),
        "status": r.status,
        "stopped_time": format_opt(r.stopped_ms),
    }


def recording_item(r: Recording) -> dict[str, Any]:
    """A list item without its meeting (the page splices the meeting's rendering in)."""
    out = recording(r)
    out["recording_duration"] = r.recording_duration
    out["storage_config"] = r.storage_config
    return out


def recording_item_json(r: Recording) -> bytes:
    return encode(recording_item(r))


def meeting_json(m: Meeting) -> bytes:
    return encode(meeting(m))


_TAIL = b',"recording_duration":'


def splice_meeting(item_json: bytes, meeting_json: bytes | None) -> bytes:
    """Put the meeting where the seed has it: after ``stopped_time``, before ``recording_duration``.

    The first ``,"recording_duration":`` is the top-level key: every field before it is a string
    (quotes escaped), a number or null, so the byte sequence cannot occur earlier.
    """
    cut = item_json.index(_TAIL)
    return b"".join((item_json[:cut], b',"meeting":', meeting_json or b"null", item_json[cut:]))


def app(a: App) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "created_at": format_ms(a.created_ms)}
