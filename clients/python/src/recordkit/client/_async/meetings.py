"""``client.realtime_kit.meetings``: ``.../{app_id}/meetings``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Unpack

from recordkit.client import _core
from recordkit.client._async.base import AsyncBaseClient
from recordkit.client._core import MeetingFilters
from recordkit.client.models import Meeting, MeetingPage


class AsyncMeetings:
    def __init__(self, client: AsyncBaseClient) -> None:
        self._client = client

    async def create_meeting(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        title: str | None = None,
        record_on_start: bool | None = None,
        live_stream_on_start: bool | None = None,
        persist_chat: bool | None = None,
        summarize_on_end: bool | None = None,
        transcribe_on_end: bool | None = None,
        session_keep_alive_time_in_secs: float | None = None,
        recording_config: Mapping[str, Any] | None = None,
        ai_config: Mapping[str, Any] | None = None,
    ) -> Meeting:
        c = self._client
        fields = {
            "title": title,
            "record_on_start": record_on_start,
            "live_stream_on_start": live_stream_on_start,
            "persist_chat": persist_chat,
            "summarize_on_end": summarize_on_end,
            "transcribe_on_end": transcribe_on_end,
            "session_keep_alive_time_in_secs": session_keep_alive_time_in_secs,
            "recording_config": recording_config,
            "ai_config": ai_config,
        }
        return await c.send(_core.create_meeting(c.account(account_id), app_id, fields))

    async def get_meetings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        **filters: Unpack[MeetingFilters],
    ) -> MeetingPage:
        """One page of the app's meetings (``MeetingFilters``: search, status, start_time, end_time)."""
        c = self._client
        call = _core.get_meetings(c.account(account_id), app_id, page_no=page_no, per_page=per_page, filters=filters)
        return await c.send(call)

    async def iter_meetings(
        self, app_id: str, *, account_id: str | None = None, per_page: int = 100, **filters: Unpack[MeetingFilters]
    ) -> AsyncIterator[Meeting]:
        page_no: int | None = 1
        while page_no is not None:
            page = await self.get_meetings(app_id, account_id=account_id, page_no=page_no, per_page=per_page, **filters)
            for item in page.data:
                yield item
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    async def get_meeting(self, app_id: str, meeting_id: str, *, account_id: str | None = None) -> Meeting:
        c = self._client
        return await c.send(_core.get_meeting(c.account(account_id), app_id, meeting_id))
