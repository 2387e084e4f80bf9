"""Webhooks (SPEC §7): registrations as the ``cloudflare`` SDK's ``realtime_kit.webhooks`` sees them,
the rules of their bodies, and the payloads RecordKit sends (camelCase, as Cloudflare documents).

Pure, but for ``WebhooksService``, which checks who may do what and calls the ``WebhookStore`` port
(``recordkit.domain.ports``).
Events are queued by the store itself (triggers, in the transaction of each status change) and
sent by ``recordkit.jobs.webhooks``; this module only renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol
from urllib.parse import urlsplit

import msgspec

from recordkit.domain.ids import check_uuid, new_uuid
from recordkit.domain.models import ClaimedDelivery as ClaimedDelivery  # re-exported: their home was here
from recordkit.domain.models import DeliveryRecord as DeliveryRecord
from recordkit.domain.models import Principal, Webhook
from recordkit.domain.render import number
from recordkit.domain.timefmt import format_ms, now_ms
from recordkit.errors import InvalidRequest, NotFound

if TYPE_CHECKING:
    from recordkit.domain.ports import WebhookStore
    from recordkit.security.netpolicy import AddressPolicy

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


# -- the service ---------------------------------------------------------------------------------


class Access(Protocol):
    """Who may see what (``RecordingsService`` provides it)."""

    def app_for(self, principal: Principal, account_id: str, app_id: str) -> Any: ...

    @staticmethod
    def check_account(principal: Principal, account_id: str) -> str: ...

    @staticmethod
    def require_write(principal: Principal) -> None: ...


class WebhooksService:
    """The webhook operations of the API: access checks, then the rules, then the store.

    ``addresses``, when set, is the address policy every URL given must pass (400 naming ``url``);
    when it looks names up (``addresses.resolves``) callers run the writes off the event loop."""

    def __init__(
        self,
        access: Access,
        store: WebhookStore,
        clock: Callable[[], int] = now_ms,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.access = access
        self.store = store
        self.clock = clock
        self.addresses = addresses

    def _url(self, value: str) -> str:
        url = check_url(value)
        if self.addresses is not None:
            self.addresses.check_url(url, "url")
        return url

    def app_id(self, principal: Principal, account_id: str, app_id: str, *, write: bool = False) -> str:
        """The app's id when the caller may read it (and write, with ``write``): 401/403/404 first."""
        self.access.check_account(principal, account_id)
        if write:
            self.access.require_write(principal)
        return str(self.access.app_for(principal, account_id, app_id).id)

    def create(self, app_id: str, body: WebhookBody) -> Webhook:
        now = self.clock()
        hook = Webhook(
            id=new_uuid(),
            app_id=app_id,
            name=check_name(body.name),
            url=self._url(body.url),
            events=check_events(body.events),
            enabled=body.enabled,
            created_ms=now,
            updated_ms=now,
        )
        self.store.create_webhook(hook)
        return hook

    def list_all(self, app_id: str) -> list[Webhook]:
        return self.store.list_webhooks(app_id)

    def get(self, app_id: str, webhook_id: str) -> Webhook:
        hook = self.store.get_webhook(app_id, check_uuid(webhook_id, "webhook_id"))
        if hook is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return hook

    def replace(self, app_id: str, webhook_id: str, body: WebhookBody) -> Webhook:
        old = self.get(app_id, webhook_id)
        new = msgspec.structs.replace(
            old,
            name=check_name(body.name),
            url=self._url(body.url),
            events=check_events(body.events),
            enabled=body.enabled,
            updated_ms=max(self.clock(), old.created_ms),
        )
        return self._save(new)

    def edit(self, app_id: str, webhook_id: str, patch: WebhookPatch) -> Webhook:
        old = self.get(app_id, webhook_id)
        changes: dict[str, Any] = {}
        if not isinstance(patch.name, msgspec.UnsetType):
            changes["name"] = check_name(patch.name)
        if not isinstance(patch.url, msgspec.UnsetType):
            changes["url"] = self._url(patch.url)
        if not isinstance(patch.events, msgspec.UnsetType):
            changes["events"] = check_events(patch.events)
        if not isinstance(patch.enabled, msgspec.UnsetType):
            changes["enabled"] = patch.enabled
        if not changes:
            return old
        return self._save(msgspec.structs.replace(old, **changes, updated_ms=max(self.clock(), old.created_ms)))

    def delete(self, app_id: str, webhook_id: str) -> Webhook:
        gone = self.store.delete_webhook(app_id, check_uuid(webhook_id, "webhook_id"))
        if gone is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return gone

    def _save(self, hook: Webhook) -> Webhook:
        if not self.store.save_webhook(hook):
            raise NotFound(f"webhook {hook.id} not found")
        return hook


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
