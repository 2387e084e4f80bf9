"""``client.realtime_kit.recordings``: ``.../{app_id}/recordings``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Unpack

from recordkit.client import _core
from recordkit.client._async.base import AsyncBaseClient
from recordkit.client._core import RecordingFilters
from recordkit.client.models import Recording, RecordingPage


class AsyncRecordings:
    def __init__(self, client: AsyncBaseClient) -> None:
        self._client = client

    async def get_recordings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        **filters: Unpack[RecordingFilters],
    ) -> RecordingPage:
        """One page of the app's recordings (``GET .../{app_id}/recordings``), every filter of the seed
        (``RecordingFilters``: meeting_id, sort_by, sort_order, start_time, end_time, expired, search, status)."""
        c = self._client
        call = _core.get_recordings(c.account(account_id), app_id, page_no=page_no, per_page=per_page, filters=filters)
        return await c.send(call)

    async def iter_recordings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        per_page: int = 100,
        start_page: int = 1,
        **filters: Unpack[RecordingFilters],
    ) -> AsyncIterator[Recording]:
        """Every matching recording, page after page (``per_page`` each), until the last page."""
        page_no: int | None = start_page
        while page_no is not None:
            page = await self.get_recordings(
                app_id, account_id=account_id, page_no=page_no, per_page=per_page, **filters
            )
            for item in page.data:
                yield item
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    async def get_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        c = self._client
        return await c.send(_core.get_recording(c.account(account_id), app_id, recording_id))

    async def start_recording(
        self,
        app_id: str,
        meeting_id: str,
        *,
        account_id: str | None = None,
        allow_multiple_recordings: bool | None = None,
        audio_config: Mapping[str, Any] | None = None,
        video_config: Mapping[str, Any] | None = None,
        file_name_prefix: str | None = None,
        max_seconds: int | None = None,
        storage_config: Mapping[str, Any] | None = None,
        realtimekit_bucket_config: Mapping[str, Any] | None = None,
        interactive_config: Mapping[str, Any] | None = None,
        rtmp_out_config: Mapping[str, Any] | None = None,
        live_streaming_config: Mapping[str, Any] | None = None,
        url: str | None = None,
    ) -> Recording:
        """Start recording a meeting (``POST .../recordings``); the new recording is INVOKED."""
        c = self._client
        fields = {
            "meeting_id": meeting_id,
            "allow_multiple_recordings": allow_multiple_recordings,
            "audio_config": audio_config,
            "video_config": video_config,
            "file_name_prefix": file_name_prefix,
            "max_seconds": max_seconds,
            "storage_config": storage_config,
            "realtimekit_bucket_config": realtimekit_bucket_config,
            "interactive_config": interactive_config,
            "rtmp_out_config": rtmp_out_config,
            "live_streaming_config": live_streaming_config,
            "url": url,
        }
        return await c.send(_core.start_recording(c.account(account_id), app_id, fields))

    async def pause_resume_stop_recording(
        self, app_id: str, recording_id: str, action: str, *, account_id: str | None = None
    ) -> Recording:
        """``PUT .../recordings/{id}`` with ``{"action": action}``; returns the recording after it."""
        c = self._client
        return await c.send(_core.act_on_recording(c.account(account_id), app_id, recording_id, action))

    async def pause_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return await self.pause_resume_stop_recording(app_id, recording_id, "pause", account_id=account_id)

    async def resume_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return await self.pause_resume_stop_recording(app_id, recording_id, "resume", account_id=account_id)

    async def stop_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return await self.pause_resume_stop_recording(app_id, recording_id, "stop", account_id=account_id)

    async def get_active_recording(self, app_id: str, meeting_id: str, *, account_id: str | None = None) -> Recording:
        """The meeting's active recording; ``NotFoundError`` when there is none."""
        c = self._client
        return await c.send(_core.get_active_recording(c.account(account_id), app_id, meeting_id))

    async def start_track_recording(
        self,
        app_id: str,
        meeting_id: str,
        *,
        account_id: str | None = None,
        layers: Mapping[str, Any] | None = None,
        user_ids: Sequence[str] | None = None,
        max_seconds: int | None = None,
    ) -> Recording:
        """Start a per-participant audio track recording (``POST .../recordings/track``)."""
        c = self._client
        fields = {"meeting_id": meeting_id, "layers": layers, "user_ids": user_ids, "max_seconds": max_seconds}
        return await c.send(_core.start_track_recording(c.account(account_id), app_id, fields))
