"""Webhooks (SPEC §7): registrations as the ``cloudflare`` SDK's ``realtime_kit.webhooks`` sees them,
the rules of their bodies, and the payloads RecordKit sends (camelCase, as Cloudflare documents).

Pure: ``recordkit.domain.services.webhooks`` checks who may do what and calls the store.
Events are queued by the store itself (triggers, in the transaction of each status change) and
sent by ``recordkit.jobs.webhooks``; this module only renders them.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

import msgspec

from recordkit.domain.models import ClaimedDelivery as ClaimedDelivery  # re-exported: their home was here
from recordkit.domain.models import DeliveryRecord as DeliveryRecord
from recordkit.domain.models import Webhook
from recordkit.domain.render import number
from recordkit.domain.timefmt import format_ms
from recordkit.errors import InvalidRequest

# Every event name the SDK 5.9.0 (and Cloudflare's schema) accepts, in the schema's order.
EVENTS: Final = (
    "meeting.started",
    "meeting.ended",
    "meeting.participantJoined",
    "meeting.participantLeft",
    "meeting.chatSynced",
    "recording.statusUpdate",
    "livestreaming.statusUpdate",
    "meeting.transcript",
    "meeting.summary",
)
# What RecordKit sends; the other names are accepted on registration and never sent (no sessions,
# chat, livestreams or transcripts here): see docs/webhooks.md.
SENT_EVENTS: Final = frozenset({"recording.statusUpdate"})
RECORDING_STATUS_UPDATE: Final = "recording.statusUpdate"

MAX_NAME = 255
MAX_URL = 2048
MAX_EVENTS = 100  # entries in a body's list (duplicates are dropped)


class WebhookBody(msgspec.Struct):
    """``create_webhook`` (POST) and ``replace_webhook`` (PUT): name, url and events required."""

    name: str
    url: str
    events: list[str]
    enabled: bool = True


class WebhookPatch(msgspec.Struct):
    """``edit_webhook`` (PATCH): every field optional; what is given replaces what was."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    url: str | msgspec.UnsetType = msgspec.UNSET
    events: list[str] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET


# -- rules ---------------------------------------------------------------------------------------


def check_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidRequest("name: must not be empty")
    if len(name) > MAX_NAME:
        raise InvalidRequest(f"name: must be at most {MAX_NAME} characters")
    return name


def check_url(value: str) -> str:
    """An absolute http(s) URL with a host. Where it may point is the address policy's call
    (``WebhooksService``: loopback, private and link-local hosts only when the operator allows them)."""
    url = value.strip()
    if not url:
        raise InvalidRequest("url: must not be empty")
    if len(url) > MAX_URL:
        raise InvalidRequest(f"url: must be at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidRequest("url: must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise InvalidRequest("url: must be an absolute http or https URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or not port_ok:
        raise InvalidRequest("url: must be an absolute http or https URL")
    return url


def check_events(values: list[str]) -> tuple[str, ...]:
    if len(values) > MAX_EVENTS:
        raise InvalidRequest(f"events: at most {MAX_EVENTS} entries")
    out: list[str] = []
    for i, name in enumerate(values):
        if name not in EVENTS:
            raise InvalidRequest(f"events[{i}]: must be one of {', '.join(EVENTS)}; got {name[:60]!r}")
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidRequest("events: must name at least one event")
    return tuple(out)


# -- wire ----------------------------------------------------------------------------------------


def webhook_wire(hook: Webhook) -> dict[str, Any]:
    """A webhook as every webhook endpoint returns it (the SDK's ``Data`` model)."""
    return {
        "id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "events": list(hook.events),
        "enabled": hook.enabled,
        "created_at": format_ms(hook.created_ms),
        "updated_at": format_ms(hook.updated_ms),
    }


def _file_size(value: Any) -> str | None:
    # Cloudflare's documented payload carries fileSize as a string ("2044680").
    if value is None:
        return None
    return str(number(float(value)))


def recording_status_payload(
    wire: dict[str, Any],
    meeting: dict[str, Any] | None,
    *,
    meeting_id: str | None,
    app_id: str,
    app_name: str,
) -> dict[str, Any]:
    """``recording.statusUpdate`` from the recording's list item (snake_case, without its meeting)
    and the meeting's rendering, both as they were when the status changed.

    Keys and order follow Cloudflare's documented example; ``invokedTime`` is added (the list
    item's ``invoked_time``). ``organizationId`` / ``organizedBy`` name the app (RealtimeKit's
    organization); ``roomUUID`` and ``sessionId`` carry the session id (null: RecordKit has none).
    """
    meeting = meeting or {}
    mid = meeting.get("id") or meeting_id
    recording = {
        "id": wire["id"],
        "recordingId": wire["id"],
        "status": wire["status"],
        "downloadUrl": wire.get("download_url"),
        "audioDownloadUrl": wire.get("audio_download_url"),
        "downloadUrlExpiry": wire.get("download_url_expiry"),
        "startedTime": wire.get("started_time"),
        "stoppedTime": wire.get("stopped_time"),
        "invokedTime": wire.get("invoked_time"),
        "fileSize": _file_size(wire.get("file_size")),
        "outputFileName": wire.get("output_file_name"),
        "meetingId": mid,
        "recordingDuration": wire.get("recording_duration"),
        "organizationId": app_id,
        "roomUUID": wire.get("session_id"),
    }
    return {
        "event": RECORDING_STATUS_UPDATE,
        "recording": recording,
        "meeting": {
            "id": mid,
            "sessionId": wire.get("session_id"),
            "title": meeting.get("title"),
            "roomName": mid,
            "status": meeting.get("status"),
            "createdAt": meeting.get("created_at"),
            "organizedBy": {"id": app_id, "name": app_name},
        },
    }


# -- deliveries ----------------------------------------------------------------------------------

DELIVERY_STATUSES: Final = ("pending", "delivered", "failed", "dead", "cancelled")


def render_payload(claimed: ClaimedDelivery) -> bytes:
    """The exact body of a delivery (the same bytes on every attempt: it is rendered from the
    snapshot taken when the event happened)."""
    if claimed.event != RECORDING_STATUS_UPDATE:
        raise ValueError(f"RecordKit does not send {claimed.event}")
    wire = msgspec.json.decode(claimed.wire)
    meeting = msgspec.json.decode(claimed.meeting) if claimed.meeting else None
    payload = recording_status_payload(
        wire, meeting, meeting_id=claimed.meeting_id, app_id=claimed.app_id, app_name=claimed.app_name
    )
    return msgspec.json.encode(payload)
