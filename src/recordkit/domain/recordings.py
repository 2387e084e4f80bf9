"""Recording operations (SPEC §4): start, get, pause / resume / stop, active, track. Pure rules.

Config precedence: the start body overrides the meeting's ``recording_config``, which overrides
the app's defaults, which override RecordKit's defaults (nested objects merge field by field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec

from recordkit.domain.ids import check_prefix, check_uuid, new_uuid
from recordkit.domain.lifecycle import ACTIONS, STOP_REASONS, Clock, Event, apply
from recordkit.domain.meetings import RecordingConfig, validate_recording_config
from recordkit.domain.models import JSONDict, Principal, Recording, split_storage_config

if TYPE_CHECKING:
    from recordkit.domain.service import RecordingsService
from recordkit.errors import InvalidRequest, NotFound

DEFAULT_CONFIG: JSONDict = {
    "max_seconds": 86400,
    "video_config": {"codec": "H264", "width": 1280, "height": 720, "export_file": True},
    "audio_config": {"codec": "AAC", "channel": "stereo", "export_file": True},
    "realtimekit_bucket_config": {"enabled": True},
}


class StartRecordingBody(RecordingConfig, kw_only=True):
    """The start body: a recording config (validated like a meeting's) plus what only a start has."""

    meeting_id: str
    allow_multiple_recordings: bool = False
    url: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    interactive_config: dict[str, Any] | None = None
    rtmp_out_config: dict[str, Any] | None = None


class TrackLayer(msgspec.Struct, omit_defaults=True):
    file_name_prefix: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    media_kind: Literal["audio"] | None = None
    outputs: list[dict[str, Any]] | None = None  # the older body shape


class StartTrackBody(msgspec.Struct):
    meeting_id: str
    layers: dict[Annotated[str, msgspec.Meta(max_length=64)], TrackLayer] | None = None
    user_ids: Annotated[list[Annotated[str, msgspec.Meta(max_length=255)]], msgspec.Meta(max_length=100)] | None = None


class ActionBody(msgspec.Struct):
    action: Literal["stop", "pause", "resume"]


def merge(base: JSONDict, override: JSONDict | None) -> JSONDict:
    """Nested dicts merge field by field; anything else in ``override`` replaces."""
    out = dict(base)
    for key, value in (override or {}).items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def effective_config(app_config: JSONDict | None, meeting_config: JSONDict | None, body: JSONDict) -> JSONDict:
    """The start body over the meeting's config over the app's over RecordKit's defaults."""
    return merge(merge(merge(DEFAULT_CONFIG, app_config), meeting_config), body)


def output_name(recording_id: str, prefix: str | None, extension: str) -> str:
    return f"{prefix}_{recording_id}.{extension}" if prefix else f"{recording_id}.{extension}"


def new_recording(
    app_id: str,
    body: StartRecordingBody,
    app_config: JSONDict | None,
    meeting_config: JSONDict | None,
    caller: JSONDict,
    now: int,
) -> Recording:
    meeting_id = check_uuid(body.meeting_id, "meeting_id")
    validate_recording_config(body)
    explicit = msgspec.to_builtins(body)
    explicit.pop("meeting_id", None)
    explicit.pop("allow_multiple_recordings", None)
    config = effective_config(app_config, meeting_config, explicit)
    storage_public, storage_secrets = split_storage_config(config.pop("storage_config", None))
    if storage_public is not None:
        config["storage_config"] = storage_public
    codec = config["video_config"].get("codec", "H264")
    rec_id = new_uuid()
    extension = "webm" if codec == "VP8" else "mp4"
    return Recording(
        id=rec_id,
        app_id=app_id,
        meeting_id=meeting_id,
        status="INVOKED",
        invoked_ms=now,
        output_file_name=output_name(rec_id, config.get("file_name_prefix"), extension),
        storage_config=storage_public,
        storage_secrets=storage_secrets,
        start_reason={"reason": "API_CALL", "caller": caller},
        config=config,
    )


def new_track_recording(app_id: str, body: StartTrackBody, caller: JSONDict, now: int) -> Recording:
    meeting_id = check_uuid(body.meeting_id, "meeting_id")
    layers = body.layers or {"default": TrackLayer()}
    if not layers:
        raise InvalidRequest("layers: must name at least one layer")
    tracks: list[str] = []
    for name, layer in layers.items():
        prefix = check_prefix(layer.file_name_prefix or name.replace(" ", "_"), f"layers.{name}.file_name_prefix")
        for user in body.user_ids or ["all"]:
            track, n = f"{prefix}_{_safe(user)}", 1
            while track in tracks:  # users (or layers) whose names clean to the same file name
                n += 1
                track = f"{prefix}_{_safe(user)}-{n}"
            tracks.append(track)
    rec_id = new_uuid()
    return Recording(
        id=rec_id,
        app_id=app_id,
        meeting_id=meeting_id,
        status="INVOKED",
        invoked_ms=now,
        output_file_name=f"{tracks[0]}_{rec_id}.webm",
        start_reason={"reason": "API_CALL", "caller": caller},
        kind="track",
        config={
            "tracks": tracks,
            "user_ids": body.user_ids or [],
            "max_seconds": 86400,
            "realtimekit_bucket_config": {"enabled": True},
        },
    )


def _safe(value: str) -> str:
    # ASCII only: a bucket object key allows nothing else (``blobs.keys``).
    cleaned = "".join(c if (c.isascii() and c.isalnum()) or c in "_-" else "-" for c in value)[:64]
    return cleaned or "user"


def caller_of(token_id: str) -> JSONDict:
    """``start_reason.caller`` / ``stop_reason.caller`` for an API call made with an app token."""
    return {"type": "ORGANIZATION", "name": "RecordKit API", "user_Id": token_id}


def transition(rec: Recording, event: Event, now: int, *, caller: JSONDict | None = None) -> Recording:
    """Apply one lifecycle event to a recording (raises Conflict when the table forbids it)."""
    clock = Clock(rec.started_ms, rec.stopped_ms, rec.paused_since_ms, rec.paused_total_ms)
    moved = apply(rec.status, event, clock, now)
    out = msgspec.structs.replace(
        rec,
        status=moved.status,
        started_ms=moved.clock.started_ms,
        stopped_ms=moved.clock.stopped_ms,
        paused_since_ms=moved.clock.paused_since_ms,
        paused_total_ms=moved.clock.paused_total_ms,
    )
    if event in STOP_REASONS and rec.stop_reason is None and moved.status in ("UPLOADING", "ERRORED"):
        reason: JSONDict = {"reason": STOP_REASONS[event]}
        if caller is not None:
            reason["caller"] = caller
        out.stop_reason = reason
    return out


def action_event(action: str) -> Event:
    return ACTIONS[action]


class RecordingOps:
    """The recording operations behind the API, with their access rules."""

    def __init__(self, service: RecordingsService, on_change: Callable[[], None] | None = None) -> None:
        self.service = service  # RecordingsService: access checks and the store
        self.store = service.store
        self.on_change = on_change or (lambda: None)

    def start(self, principal: Principal, account_id: str, app_id: str, body: StartRecordingBody) -> Recording:
        app = self.service.app_for(principal, account_id, app_id)
        self.service.require_write(principal)
        meeting_id = check_uuid(body.meeting_id, "meeting_id")
        meeting = self.store.get_meeting(app.id, meeting_id)
        if meeting is None:
            raise NotFound(f"meeting {meeting_id} not found")
        now = self.service.clock()
        rec = new_recording(
            app.id, body, app.recording_config, meeting.recording_config, caller_of(principal.token_id), now
        )
        self.store.insert_recording(rec, exclusive=not body.allow_multiple_recordings, now=now)
        self.on_change()
        return rec

    def start_track(self, principal: Principal, account_id: str, app_id: str, body: StartTrackBody) -> Recording:
        app = self.service.app_for(principal, account_id, app_id)
        self.service.require_write(principal)
        meeting_id = check_uuid(body.meeting_id, "meeting_id")
        if self.store.get_meeting(app.id, meeting_id) is None:
            raise NotFound(f"meeting {meeting_id} not found")
        now = self.service.clock()
        rec = new_track_recording(app.id, body, caller_of(principal.token_id), now)
        self.store.insert_recording(rec, exclusive=True, now=now)
        self.on_change()
        return rec

    def get(self, principal: Principal, account_id: str, app_id: str, recording_id: str) -> Recording:
        app = self.service.app_for(principal, account_id, app_id)
        rec = self.store.get_recording(app.id, check_uuid(recording_id, "recording_id"))
        if rec is None:
            raise NotFound(f"recording {recording_id} not found")
        return rec

    def act(self, principal: Principal, account_id: str, app_id: str, recording_id: str, action: str) -> Recording:
        app = self.service.app_for(principal, account_id, app_id)
        self.service.require_write(principal)
        rec_id = check_uuid(recording_id, "recording_id")
        if self.store.get_recording(app.id, rec_id) is None:
            raise NotFound(f"recording {recording_id} not found")
        event = action_event(action)
        caller = caller_of(principal.token_id)
        now = self.service.clock()
        rec = self.store.update_recording(rec_id, lambda r: transition(r, event, now, caller=caller), now)
        self.on_change()
        return rec

    def active(self, principal: Principal, account_id: str, app_id: str, meeting_id: str) -> Recording:
        app = self.service.app_for(principal, account_id, app_id)
        found = self.store.active_recordings(app.id, check_uuid(meeting_id, "meeting_id"))
        if not found:
            raise NotFound(f"no active recording for meeting {meeting_id}")
        return found[0]
