"""The apps of an account (SPEC §3): list (paged, searched by name), create, get one."""

from __future__ import annotations

from collections.abc import Callable

from recordkit.domain.models import App, Principal
from recordkit.domain.ports import RecordingStore
from recordkit.domain.query import Page, QueryParams, parse_page, parse_sort_order
from recordkit.domain.services.access import Access
from recordkit.domain.timefmt import now_ms
from recordkit.errors import InvalidRequest

MAX_APP_NAME = 255
MAX_APP_SEARCH = 125


class AppsService:
    def __init__(self, access: Access, store: RecordingStore, clock: Callable[[], int] = now_ms) -> None:
        self.access = access
        self.store = store
        self.clock = clock

    def list(self, principal: Principal, account_id: str, params: QueryParams) -> tuple[list[App], int, Page]:
        self.access.check_account(principal, account_id)
        page = parse_page(params)
        search = params.get("search", [""])[-1] or None
        if search is not None and len(search) > MAX_APP_SEARCH:
            raise InvalidRequest(f"search: must be at most {MAX_APP_SEARCH} characters")
        apps, total = self.store.list_apps(account_id, page, search, parse_sort_order(params))
        return apps, total, page

    def create(self, principal: Principal, account_id: str, name: str) -> App:
        self.access.check_account(principal, account_id)
        self.access.require_write(principal)
        name = name.strip()
        if not name:
            raise InvalidRequest("name: must not be empty")
        if len(name) > MAX_APP_NAME:
            raise InvalidRequest(f"name: must be at most {MAX_APP_NAME} characters")
        return self.store.create_app(account_id, name, now=self.clock())

    def get(self, principal: Principal, account_id: str, app_id: str) -> App:
        return self.access.app_for(principal, account_id, app_id)
