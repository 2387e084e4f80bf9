"""``client.realtime_kit.apps``: ``.../realtime/kit/apps``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Unpack

from recordkit.client import _core
from recordkit.client._async.base import AsyncBaseClient
from recordkit.client._core import AppFilters
from recordkit.client.models import App, AppPage


class AsyncApps:
    def __init__(self, client: AsyncBaseClient) -> None:
        self._client = client

    async def create_app(self, name: str, *, account_id: str | None = None) -> App:
        c = self._client
        return await c.send(_core.create_app(c.account(account_id), name))

    async def get_apps(
        self,
        *,
        account_id: str | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        **filters: Unpack[AppFilters],
    ) -> AppPage:
        """One page of the account's apps (``AppFilters``: search, sort_order)."""
        c = self._client
        return await c.send(_core.get_apps(c.account(account_id), page_no=page_no, per_page=per_page, filters=filters))

    async def iter_apps(
        self, *, account_id: str | None = None, per_page: int = 100, **filters: Unpack[AppFilters]
    ) -> AsyncIterator[App]:
        page_no: int | None = 1
        while page_no is not None:
            page = await self.get_apps(account_id=account_id, page_no=page_no, per_page=per_page, **filters)
            for item in page.data:
                yield item
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    async def get_app(self, app_id: str, *, account_id: str | None = None) -> App:
        c = self._client
        return await c.send(_core.get_app(c.account(account_id), app_id))
