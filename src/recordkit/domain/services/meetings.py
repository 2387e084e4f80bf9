"""The meetings of an app (SPEC §5): create (from a validated body), list (paged), get one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recordkit.domain.ids import check_uuid, new_uuid
from recordkit.domain.meetings import new_meeting, parse_create_meeting
from recordkit.domain.models import Meeting, Principal
from recordkit.domain.ports import RecordingStore
from recordkit.domain.query import Page, QueryParams, parse_meeting_query
from recordkit.domain.services.access import Access
from recordkit.domain.timefmt import now_ms
from recordkit.errors import NotFound

if TYPE_CHECKING:
    from recordkit.security.netpolicy import AddressPolicy


class MeetingsService:
    """``addresses``, when set, is the address policy an SFTP host in a meeting's
    ``recording_config.storage_config`` must pass; when it looks names up (``addresses.resolves``)
    callers run ``create`` off the event loop."""

    def __init__(
        self,
        access: Access,
        store: RecordingStore,
        clock: Callable[[], int] = now_ms,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.access = access
        self.store = store
        self.clock = clock
        self.addresses = addresses

    def create(self, principal: Principal, account_id: str, app_id: str, raw_body: bytes) -> Meeting:
        """A new ACTIVE meeting from a create body (SPEC §5); needs Realtime Admin."""
        self.access.check_account(principal, account_id)
        self.access.require_write(principal)
        app = self.access.app_for(principal, account_id, app_id)
        body = parse_create_meeting(raw_body)
        meeting = new_meeting(body, meeting_id=new_uuid(), app_id=app.id, now_ms=self.clock())
        if self.addresses is not None:
            storage = (meeting.recording_config or {}).get("storage_config")
            self.addresses.check_storage(storage, "recording_config.storage_config.")
        self.store.create_meeting(meeting)
        return meeting

    def list(
        self, principal: Principal, account_id: str, app_id: str, params: QueryParams
    ) -> tuple[list[bytes], int, Page]:
        app = self.access.app_for(principal, account_id, app_id)
        query = parse_meeting_query(params)
        rows, total = self.store.list_meetings(app.id, query)
        return rows, total, query.page

    def get(self, principal: Principal, account_id: str, app_id: str, meeting_id: str) -> Meeting:
        app = self.access.app_for(principal, account_id, app_id)
        meeting = self.store.get_meeting(app.id, check_uuid(meeting_id, "meeting_id"))
        if meeting is None:
            raise NotFound(f"meeting {meeting_id} not found")
        return meeting
