"""Domain services: the rules between a parsed request and the store (who may see what)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from recordkit.domain.ids import check_account_id, check_app_id, check_uuid, new_uuid
from recordkit.domain.listcache import PageCache, cacheable, params_key
from recordkit.domain.meetings import new_meeting, parse_create_meeting
from recordkit.domain.models import App, Meeting, Principal
from recordkit.domain.ports import RecordingStore
from recordkit.domain.query import (
    Page,
    QueryParams,
    parse_meeting_query,
    parse_page,
    parse_recording_query,
    parse_sort_order,
)
from recordkit.domain.timefmt import now_ms
from recordkit.errors import Forbidden, InvalidRequest, NotFound

if TYPE_CHECKING:
    from recordkit.security.netpolicy import AddressPolicy

MAX_APP_NAME = 255
MAX_APP_SEARCH = 125


class RecordingsService:
    def __init__(self, store: RecordingStore, clock: Callable[[], int] = now_ms, page_cache: int = 256) -> None:
        self.store = store
        self.clock = clock
        # Recent list pages, checked against the app's data version on every request (listcache).
        self.pages: PageCache[tuple[list[bytes], int, Page]] = PageCache(page_cache)

    # -- access ------------------------------------------------------------------------------

    @staticmethod
    def check_account(principal: Principal, account_id: str) -> str:
        check_account_id(account_id)
        if principal.account_id != account_id:
            raise Forbidden("token is not allowed to access this account")
        return account_id

    def app_for(self, principal: Principal, account_id: str, app_id: str) -> App:
        self.check_account(principal, account_id)
        app = self.store.get_app(check_app_id(app_id))
        if app is None or app.account_id != account_id:
            raise NotFound(f"app {app_id} not found")
        return app

    @staticmethod
    def require_write(principal: Principal) -> None:
        if not principal.can_write:
            raise Forbidden("token has the Realtime permission (read only); this needs Realtime Admin")

    # -- apps --------------------------------------------------------------------------------

    def list_apps(self, principal: Principal, account_id: str, params: QueryParams) -> tuple[list[App], int, Page]:
        self.check_account(principal, account_id)
        page = parse_page(params)
        search = params.get("search", [""])[-1] or None
        if search is not None and len(search) > MAX_APP_SEARCH:
            raise InvalidRequest(f"search: must be at most {MAX_APP_SEARCH} characters")
        apps, total = self.store.list_apps(account_id, page, search, parse_sort_order(params))
        return apps, total, page

    def create_app(self, principal: Principal, account_id: str, name: str) -> App:
        self.check_account(principal, account_id)
        self.require_write(principal)
        name = name.strip()
        if not name:
            raise InvalidRequest("name: must not be empty")
        if len(name) > MAX_APP_NAME:
            raise InvalidRequest(f"name: must be at most {MAX_APP_NAME} characters")
        return self.store.create_app(account_id, name, now=self.clock())

    # -- meetings ----------------------------------------------------------------------------

    def create_meeting(
        self,
        principal: Principal,
        account_id: str,
        app_id: str,
        raw_body: bytes,
        addresses: AddressPolicy | None = None,
    ) -> Meeting:
        """A new ACTIVE meeting from a create body (SPEC §5); needs Realtime Admin. ``addresses``:
        the address policy an SFTP host in its ``recording_config.storage_config`` must pass (it may
        look the name up: callers then run this off the event loop)."""
        self.check_account(principal, account_id)
        self.require_write(principal)
        app = self.app_for(principal, account_id, app_id)
        body = parse_create_meeting(raw_body)
        meeting = new_meeting(body, meeting_id=new_uuid(), app_id=app.id, now_ms=self.clock())
        if addresses is not None:
            storage = (meeting.recording_config or {}).get("storage_config")
            addresses.check_storage(storage, "recording_config.storage_config.")
        self.store.create_meeting(meeting)
        return meeting

    def list_meetings(
        self, principal: Principal, account_id: str, app_id: str, params: QueryParams
    ) -> tuple[list[bytes], int, Page]:
        app = self.app_for(principal, account_id, app_id)
        query = parse_meeting_query(params)
        rows, total = self.store.list_meetings(app.id, query)
        return rows, total, query.page

    def get_meeting(self, principal: Principal, account_id: str, app_id: str, meeting_id: str) -> Meeting:
        app = self.app_for(principal, account_id, app_id)
        meeting = self.store.get_meeting(app.id, check_uuid(meeting_id, "meeting_id"))
        if meeting is None:
            raise NotFound(f"meeting {meeting_id} not found")
        return meeting

    # -- recordings --------------------------------------------------------------------------

    def list_recordings(
        self, principal: Principal, account_id: str, app_id: str, params: QueryParams
    ) -> tuple[list[bytes], int, Page]:
        self.check_account(principal, account_id)
        app_id = check_app_id(app_id)
        found = self.store.app_version(app_id)
        if found is None or found[0] != account_id:
            raise NotFound(f"app {app_id} not found")
        key = params_key(app_id, params) if cacheable(params) else None
        if key is not None:
            hit = self.pages.get(key, found[1])
            if hit is not None:
                return hit
        query = parse_recording_query(params)
        rows, total = self.store.list_recordings(app_id, query, self.clock())
        if key is not None:
            self.pages.put(key, found[1], (rows, total, query.page))
        return rows, total, query.page
