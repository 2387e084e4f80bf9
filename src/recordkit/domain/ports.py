"""Ports: what the domain and the jobs need from the outside world, as protocols.

The stores' (recordings, meetings, webhooks, the webhook outbox and its log) and the clock are here;
``Store`` is what ``store.factory.open_store`` gives and what the composition root
(``recordkit.runtime``) hands around. The others, each next to the values it speaks of:
``OpsQueries`` (``domain/opsview.py``), ``Recorder`` (``recorder/port.py``), ``Bucket``
(``blobs/bucket.py``), ``Destination`` (``destinations/base.py``); all are listed in
docs/architecture.md, "Ports".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from recordkit.domain.models import (
    Account,
    App,
    ClaimedDelivery,
    DeliveryRecord,
    Meeting,
    Principal,
    Recording,
    Webhook,
)
from recordkit.domain.opsview import OpsQueries
from recordkit.domain.query import MeetingQuery, Page, RecordingQuery

if TYPE_CHECKING:
    from recordkit.security.cipher import SecretCipher

Clock: TypeAlias = Callable[[], int]
"""The time source: epoch milliseconds now (``domain.timefmt.now_ms``, or a test's virtual clock)."""


class MeetingStore(Protocol):
    """What the meetings endpoints need from the metadata store."""

    def create_meeting(self, meeting: Meeting) -> None: ...

    def get_meeting(self, app_id: str, meeting_id: str) -> Meeting | None: ...

    def list_meetings(self, app_id: str, query: MeetingQuery) -> tuple[list[bytes], int]:
        """A page of meetings, each as its stored JSON rendering, newest first; and the exact total."""
        ...


class RecordingStore(MeetingStore, Protocol):
    """Metadata: accounts, apps, tokens, meetings, recordings. Every implementation passes one suite."""

    def create_account(self, account_id: str | None = None, *, now: int) -> Account:
        """A new account, created at ``now`` (ms); with ``account_id``, that id (an archive keeps its source's ids)."""
        ...

    def get_account(self, account_id: str) -> Account | None: ...

    def has_accounts(self) -> bool:
        """Whether any account exists (``recordkit serve`` makes the first one)."""
        ...

    def create_app(self, account_id: str, name: str, app_id: str | None = None, *, now: int) -> App:
        """A new app; with ``app_id``, that id (an archive keeps its source's ids)."""
        ...

    def set_app_recording_config(self, app_id: str, config: dict[str, Any] | None) -> None:
        """The app's default recording config (``recordkit app config``); None clears it."""
        ...

    def get_app(self, app_id: str) -> App | None: ...

    def app_version(self, app_id: str) -> tuple[str, int] | None:
        """The app's account and its data version (changes with anything its recording list shows)."""
        ...

    def list_apps(self, account_id: str, page: Page, search: str | None, ascending: bool) -> tuple[list[App], int]: ...

    def create_token(self, account_id: str, permission: str, *, now: int) -> tuple[str, str]: ...

    def revoke_token(self, token_or_id: str, *, now: int) -> bool: ...

    def authenticate(self, token: str) -> Principal | None: ...

    def list_recordings(self, app_id: str, query: RecordingQuery, now: int) -> tuple[list[bytes], int]:
        """A page of list items, each already rendered as JSON with its meeting, and the exact total."""
        ...

    def import_recordings(self, app_id: str, items: Iterable[tuple[Recording, Meeting]], *, now: int) -> int:
        """Insert or update; the last of an id wins. ``now`` stamps the rows and dates the lapse cut."""
        ...

    # -- recordings RecordKit makes --------------------------------------------------------------

    def insert_recording(self, rec: Recording, *, exclusive: bool, now: int) -> None:
        """Add a new recording; with ``exclusive``, Conflict while the meeting has an active one."""
        ...

    def get_recording(self, app_id: str, recording_id: str) -> Recording | None: ...

    def recording_by_id(self, recording_id: str) -> Recording | None: ...

    def active_recordings(self, app_id: str, meeting_id: str) -> list[Recording]: ...

    def update_recording(self, recording_id: str, change: Callable[[Recording], Recording], now: int) -> Recording:
        """Read, change (pure; may raise), write back with counters, in one transaction."""
        ...

    def claim_unfinished(self, owner: str, now: int, lease_ms: int) -> tuple[list[Recording], set[str]]: ...

    def expired_files(self, now: int, limit: int = 500) -> list[Recording]: ...

    def claim_purge(self, recording_id: str, owner: str, now: int, lease_ms: int) -> bool:
        """Lease the purge of an expired recording's files to ``owner`` (False: purged, or another
        live process holds it); of several processes asking at once, one gets it."""
        ...

    def mark_purged(self, recording_id: str, now: int) -> None: ...

    def flag_lapsed(self, now: int) -> int:
        """Mark recordings whose expiry has passed (an index for ``expired=true``); returns how many."""
        ...

    # -- delivery to a storage_config destination, and the secrets behind it ------------------

    def recording_secrets(self, recording_id: str) -> dict[str, Any] | None:
        """The write-only part of a recording's storage_config, decrypted (for delivery only)."""
        ...

    def hold_lease(self, recording_id: str, owner: str, until_ms: int) -> None:
        """Lease one recording to ``owner`` (an operator's command) until ``until_ms``."""
        ...

    def rotate_secrets(self, batch: int = 1000) -> dict[str, int]:
        """Re-encrypt every stored secret under the first key; counts per table and ``unreadable``."""
        ...

    def ops_queries(self) -> OpsQueries:
        """Readiness and the metrics' numbers (``GET /readyz``, ``GET /metrics``), in this store's dialect."""
        ...

    def close(self) -> None: ...


class WebhookStore(Protocol):
    """Webhook registrations of an app (their deliveries are queued by the store, see jobs.webhooks)."""

    def create_webhook(self, hook: Webhook) -> None: ...

    def list_webhooks(self, app_id: str) -> list[Webhook]: ...

    def get_webhook(self, app_id: str, webhook_id: str) -> Webhook | None: ...

    def webhook_by_id(self, webhook_id: str) -> Webhook | None:
        """A webhook by its id alone, whatever its app (the operator's commands)."""
        ...

    def save_webhook(self, hook: Webhook) -> bool:
        """Replace the stored webhook of that id (False if it is gone)."""
        ...

    def delete_webhook(self, app_id: str, webhook_id: str) -> Webhook | None:
        """Remove it and cancel its pending deliveries; the removed webhook, or None."""
        ...


class Outbox(Protocol):
    """The webhook deliveries the store queued, as the dispatcher (``jobs/webhooks.py``) sends them."""

    def claim_deliveries(
        self,
        owner: str,
        now: int,
        lease_ms: int,
        limit: int,
        *,
        per_webhook: int = ...,
        room: dict[str, int] | None = ...,
        skip: frozenset[int] = ...,
    ) -> list[ClaimedDelivery]: ...

    def record_attempt(
        self, seq: int, owner: str, *, status: str, next_ms: int, code: int | None, error: str | None, now: int
    ) -> bool: ...

    def release_deliveries(self, owner: str) -> int: ...

    def prune_deliveries(self, before_ms: int, batch: int = ...) -> int: ...


class DeliveryLog(Protocol):
    """The operator's side of the outbox (``recordkit webhooks deliveries | redeliver``)."""

    def list_deliveries(
        self,
        *,
        webhook_id: str | None = None,
        statuses: Iterable[str] = (),
        recording_id: str | None = None,
        limit: int = 50,
    ) -> list[DeliveryRecord]: ...

    def redeliver(self, delivery_id: str, now: int) -> DeliveryRecord: ...


class Store(RecordingStore, WebhookStore, Outbox, DeliveryLog, Protocol):
    """One metadata store, all of it: what ``open_store`` returns (SQLite or PostgreSQL)."""

    @property
    def cipher(self) -> SecretCipher:
        """The secrets' cipher (the download links' signing keys derive from it)."""
        ...
