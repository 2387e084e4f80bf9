"""The domain services, one per resource (apps, meetings, recordings, webhooks), and the access
rules they share. ``Services.build`` makes them over one store and one clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from recordkit.domain.models import JSONDict
from recordkit.domain.ports import RecordingStore
from recordkit.domain.services.access import Access
from recordkit.domain.services.apps import AppsService
from recordkit.domain.services.meetings import MeetingsService
from recordkit.domain.services.recordings import RecordingsService
from recordkit.domain.services.webhooks import WebhooksService
from recordkit.domain.timefmt import now_ms

if TYPE_CHECKING:
    from recordkit.domain.ports import WebhookStore
    from recordkit.security.netpolicy import AddressPolicy

__all__ = ["Access", "AppsService", "MeetingsService", "RecordingsService", "Services", "WebhooksService"]


@dataclass(frozen=True)
class Services:
    store: RecordingStore
    access: Access
    apps: AppsService
    meetings: MeetingsService
    recordings: RecordingsService
    webhooks: WebhooksService

    @classmethod
    def build(
        cls,
        store: RecordingStore,
        webhook_store: WebhookStore,
        clock: Callable[[], int] = now_ms,
        *,
        on_change: Callable[[], None] | None = None,
        preflight: Callable[[JSONDict], None] | None = None,
        addresses: AddressPolicy | None = None,
        page_cache: int = 256,
    ) -> Services:
        access = Access(store)
        return cls(
            store=store,
            access=access,
            apps=AppsService(access, store, clock),
            meetings=MeetingsService(access, store, clock, addresses),
            recordings=RecordingsService(
                access,
                store,
                clock,
                page_cache=page_cache,
                on_change=on_change,
                preflight=preflight,
                addresses=addresses,
            ),
            webhooks=WebhooksService(access, webhook_store, clock, addresses=addresses),
        )
