"""Domain objects to the JSON shapes Cloudflare's API returns (snake_case, ISO times with ms + Z)."""

from __future__ import annotations

from typing import Any

import msgspec

from recordkit.domain.models import App, Meeting, Recording, strip_secrets_deep
from recordkit.domain.query import Page
from recordkit.domain.timefmt import format_ms, format_opt

encode = msgspec.json.Encoder().encode


def number(value: float | None) -> float | int | None:
    """Whole floats are written as integers (``60``, not ``60.0``), as the upstream does."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def meeting(m: Meeting) -> dict[str, Any]:
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


def recording_list_item(r: Recording, m: Meeting | None) -> dict[str, Any]:
    out = recording(r)
    out["meeting"] = meeting(m) if m is not None else None
    out["recording_duration"] = r.recording_duration
    out["storage_config"] = r.storage_config
    return out


def app(a: App) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "created_at": format_ms(a.created_ms)}


def paging(page: Page, total: int, returned: int) -> dict[str, int]:
    start, end = page.window(total, returned)
    return {"total_count": total, "start_offset": start, "end_offset": end}


def ok(data: Any) -> bytes:
    return encode({"success": True, "data": data})


def ok_list(data: list[Any], page: Page, total: int) -> bytes:
    return encode({"success": True, "data": data, "paging": paging(page, total, len(data))})


def error(status: int, message: str) -> bytes:
    return encode({"success": False, "error": {"code": status, "message": message}})


AUTH_ERROR = encode(
    {
        "success": False,
        "errors": [{"code": 10000, "message": "Authentication error"}],
        "messages": [],
        "result": None,
    }
)
