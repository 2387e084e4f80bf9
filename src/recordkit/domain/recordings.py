"""Recording rules (SPEC §4): start and track bodies, config precedence, transitions. Pure.

Config precedence: the start body overrides the meeting's ``recording_config``, which overrides
the app's defaults, which override RecordKit's defaults (nested objects merge field by field; a
``storage_config`` of another ``type`` replaces the lower level's whole).

Where the files go (SPEC §6): the RecordKit bucket unless ``realtimekit_bucket_config.enabled`` is
false, and the effective ``storage_config``'s destination when there is one. A start whose
effective ``storage_config`` lacks what its type needs, or that leaves a recording no place to
go, is a 400 naming the field; nothing is written.

The addresses a start makes RecordKit reach, the ``url`` to record and an SFTP destination's
``host`` (from the body, the meeting or the app), pass the operator's address policy
(``recordkit.security.netpolicy``): 400 naming ``url`` / ``storage_config.host`` otherwise.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from recordkit.domain.ids import check_prefix, check_uuid, new_uuid
from recordkit.domain.lifecycle import ACTIONS, STOP_REASONS, Clock, Event, apply
from recordkit.domain.meetings import RecordingConfig, validate_recording_config
from recordkit.domain.models import JSONDict, Recording, split_storage_config
from recordkit.domain.storage_config import validate_storage_config
from recordkit.errors import InvalidRequest

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


def _layer(base: JSONDict, override: JSONDict | None) -> JSONDict:
    """``merge``, except that a storage_config of another type is not mixed with the one below."""
    if override:
        below, above = base.get("storage_config"), override.get("storage_config")
        if isinstance(below, dict) and isinstance(above, dict) and above.get("type") != below.get("type"):
            base = {k: v for k, v in base.items() if k != "storage_config"}
    return merge(base, override)


def effective_config(app_config: JSONDict | None, meeting_config: JSONDict | None, body: JSONDict) -> JSONDict:
    """The start body over the meeting's config over the app's over RecordKit's defaults."""
    return _layer(_layer(_layer(DEFAULT_CONFIG, app_config), meeting_config), body)


def bucket_enabled(config: JSONDict | None) -> bool:
    """``realtimekit_bucket_config.enabled`` of an effective config (the bucket is on by default)."""
    bucket = (config or {}).get("realtimekit_bucket_config")
    return not (isinstance(bucket, dict) and bucket.get("enabled") is False)


def check_outputs(config: JSONDict) -> None:
    """The effective storage_config is complete for its type (a start with neither it nor the bucket
    is accepted, as RealtimeKit does, and ends ERRORED "no destination" once recorded)."""
    storage = config.get("storage_config")
    if storage is not None:
        validate_storage_config(storage)


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
    validate_recording_config(body, complete_storage=False)  # the merged storage_config is checked below
    explicit = msgspec.to_builtins(body)
    explicit.pop("meeting_id", None)
    explicit.pop("allow_multiple_recordings", None)
    config = effective_config(app_config, meeting_config, explicit)
    check_outputs(config)
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


def new_track_recording(
    app_id: str,
    body: StartTrackBody,
    caller: JSONDict,
    now: int,
    *,
    app_config: JSONDict | None = None,
    meeting_config: JSONDict | None = None,
) -> Recording:
    """A track recording; its files go where the meeting's (else the app's) config says."""
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
    inherited = effective_config(app_config, meeting_config, {})
    check_outputs(inherited)
    storage_public, storage_secrets = split_storage_config(inherited.get("storage_config"))
    config: JSONDict = {
        "tracks": tracks,
        "user_ids": body.user_ids or [],
        "max_seconds": 86400,
        "realtimekit_bucket_config": inherited["realtimekit_bucket_config"],
    }
    if storage_public is not None:
        config["storage_config"] = storage_public
    rec_id = new_uuid()
    return Recording(
        id=rec_id,
        app_id=app_id,
        meeting_id=meeting_id,
        status="INVOKED",
        invoked_ms=now,
        output_file_name=f"{tracks[0]}_{rec_id}.webm",
        storage_config=storage_public,
        storage_secrets=storage_secrets,
        start_reason={"reason": "API_CALL", "caller": caller},
        kind="track",
        config=config,
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


def full_storage_config(rec: Recording) -> JSONDict | None:
    """A new recording's storage_config with its secrets (for a preflight; never rendered)."""
    if rec.storage_config is None:
        return None
    return {**rec.storage_config, **(rec.storage_secrets or {})}
