"""Entities of the recordings domain."""

from __future__ import annotations

from typing import Any, Final, Literal

import msgspec

RecordingStatus = Literal["INVOKED", "RECORDING", "PAUSED", "UPLOADING", "UPLOADED", "ERRORED"]
RECORDING_STATUSES: Final = ("INVOKED", "RECORDING", "UPLOADING", "UPLOADED", "ERRORED", "PAUSED")
MEETING_STATUSES: Final = ("ACTIVE", "INACTIVE")
PERMISSIONS: Final = ("Realtime Admin", "Realtime")

# storage_config keys that are write-only: stored encrypted, never returned (SPEC §3).
SECRET_STORAGE_KEYS: Final = frozenset({"access_key", "secret", "password", "private_key"})

JSONDict = dict[str, Any]


class Account(msgspec.Struct, frozen=True):
    id: str
    created_ms: int


class App(msgspec.Struct, frozen=True):
    id: str
    account_id: str
    name: str
    created_ms: int
    recording_config: JSONDict | None = None


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: the token's account and permission."""

    token_id: str
    account_id: str
    permission: str

    @property
    def can_write(self) -> bool:
        return self.permission == "Realtime Admin"


class Meeting(msgspec.Struct):
    id: str
    app_id: str
    created_ms: int
    updated_ms: int
    title: str | None = None
    status: str = "ACTIVE"
    record_on_start: bool = False
    live_stream_on_start: bool = False
    persist_chat: bool = False
    summarize_on_end: bool = False
    transcribe_on_end: bool | None = None
    session_keep_alive_time_in_secs: float = 60
    recording_config: JSONDict | None = None
    ai_config: JSONDict | None = None


class Recording(msgspec.Struct):
    id: str
    app_id: str
    meeting_id: str
    status: str
    invoked_ms: int
    session_id: str | None = None
    started_ms: int | None = None
    stopped_ms: int | None = None
    download_url: str | None = None
    audio_download_url: str | None = None
    download_url_expiry_ms: int | None = None
    file_size: float | None = None
    output_file_name: str | None = None
    recording_duration: int | None = None
    storage_config: JSONDict | None = None  # without secrets
    storage_secrets: JSONDict | None = None  # the write-only part; encrypted at rest
    start_reason: JSONDict | None = None
    stop_reason: JSONDict | None = None
    # Not on the wire: how RecordKit makes it (kept in the row's detail).
    kind: str = "composite"  # or "track"
    config: JSONDict | None = None  # the effective recording config (body > meeting > app)
    paused_since_ms: int | None = None
    paused_total_ms: int = 0
    error: str | None = None
    files: dict[str, str] | None = None  # role ("video", "audio", "track:<name>") -> bucket object key
    # While UPLOADING (and kept after): what was stored, what reached the destination, the retries.
    # See ``recordkit.jobs.delivery``; never holds a secret.
    delivery: JSONDict | None = None


DETAIL_FIELDS: Final = (
    "start_reason",
    "stop_reason",
    "kind",
    "config",
    "paused_since_ms",
    "paused_total_ms",
    "error",
    "files",
    "delivery",
)
DETAIL_DEFAULTS: Final[dict[str, object]] = {"kind": "composite", "paused_total_ms": 0}


def split_storage_config(config: JSONDict | None) -> tuple[JSONDict | None, JSONDict | None]:
    """Split a storage_config into its public part and its write-only secrets."""
    if config is None:
        return None, None
    public = {k: v for k, v in config.items() if k not in SECRET_STORAGE_KEYS}
    secrets = {k: v for k, v in config.items() if k in SECRET_STORAGE_KEYS and v is not None}
    return public, (secrets or None)


def strip_secrets_deep(value: Any) -> Any:
    """Remove write-only storage keys from any nested config (a meeting's recording_config, say)."""
    if isinstance(value, dict):
        return {
            k: strip_secrets_deep(v)
            for k, v in value.items()
            if not (k in SECRET_STORAGE_KEYS and _is_storage_level(value))
        }
    if isinstance(value, list):
        return [strip_secrets_deep(v) for v in value]
    return value


def _is_storage_level(d: dict[str, Any]) -> bool:
    # A dict that holds secrets next to storage fields; "password"/"secret" elsewhere are left alone.
    return "type" in d or any(k in d for k in ("bucket", "region", "host", "auth_method", "path"))


class Webhook(msgspec.Struct, frozen=True):
    """A webhook registration of an app (its rules and service: recordkit.domain.webhooks)."""

    id: str
    app_id: str
    name: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_ms: int
    updated_ms: int


# -- webhook deliveries (the outbox's rows; rules in domain/webhooks.py) ------------------------


class ClaimedDelivery(msgspec.Struct, frozen=True):
    """A delivery leased to one process for one attempt, with what its body is made of."""

    seq: int
    id: str  # the rtk-uuid header: the same on every attempt
    webhook_id: str
    url: str
    event: str
    subject: str  # the recording id
    attempts: int  # made before this one
    wire: bytes
    meeting: bytes | None
    meeting_id: str | None
    app_id: str
    app_name: str
    budget_from: int = 0  # ``attempts`` when the current budget began (a redelivery starts a new one)


class DeliveryRecord(msgspec.Struct, frozen=True):
    """One line of the delivery log (``recordkit webhooks deliveries``)."""

    id: str
    webhook_id: str
    event: str
    event_status: str | None
    recording_id: str
    status: str
    attempts: int
    last_code: int | None
    last_error: str | None
    next_ms: int | None  # when the next attempt is due (pending only)
    created_ms: int
    updated_ms: int
    delivered_ms: int | None
