"""``AsyncClient``: the asyncio (or trio) client (httpx.AsyncClient underneath); the same calls as ``Client``."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import anyio
import httpx
import msgspec

from recordkit.client import _core
from recordkit.client._core import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    USER_AGENT,
    Call,
    Downloaded,
    RetryPolicy,
    TimeArg,
)
from recordkit.client._sync import _redacted, _transport_error, check_size
from recordkit.client.errors import api_error
from recordkit.client.models import App, AppPage, Meeting, MeetingPage, Recording, RecordingPage, Webhook

T = TypeVar("T")
log = logging.getLogger("recordkit.client")

Progress = Callable[[int, int | None], None]


class AsyncClient:
    """A typed client for RealtimeKit's recordings, meetings and apps API (Cloudflare's or RecordKit's).

    ``api_token`` defaults to ``CLOUDFLARE_API_TOKEN``, then ``RECORDKIT_TOKEN``; ``base_url`` to
    Cloudflare's ``https://api.cloudflare.com/client/v4``; ``account_id`` (optional) is used by
    calls that are not given one. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        api_token: str | None = None,
        *,
        base_url: str | None = None,
        account_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_token = _core.resolve_token(api_token)
        self.base_url = _core.normalise_base_url(base_url)
        self.account_id = account_id
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=timeout)
        self._owns_http = http_client is None
        self._sleep: Callable[[float], Awaitable[None]] = anyio.sleep
        self.realtime_kit = AsyncRealtimeKit(self)

    # -- lifecycle ---------------------------------------------------------------------------------

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient(base_url={self.base_url!r}, account_id={self.account_id!r})"

    # -- sending -----------------------------------------------------------------------------------

    def account(self, account_id: str | None) -> str:
        chosen = account_id or self.account_id
        if not chosen:
            raise ValueError("account_id: pass account_id= to the call or to the client")
        return chosen

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request to ``base_url + path`` with the token, retrying as ``retry`` says.

        Returns the successful response; raises the typed error of an error answer
        (``RecordKitAPIError`` and subclasses) or ``RecordKitConnectionError``."""
        url = self.base_url + path
        headers = {**self._headers, "Authorization": f"Bearer {self.api_token}"}
        content = None
        if json is not None:
            content = msgspec.json.encode(json)
            headers["Content-Type"] = "application/json"
        retries = 0
        while True:
            try:
                response = await self._http.request(
                    method, url, params=list(params or ()), content=content, headers=headers
                )
            except httpx.TransportError as exc:
                wait = self.retry.after_error(method, exc, retries)
                if wait is None:
                    raise _transport_error(method, url, exc, retries) from exc
                log.info("%s %s: %s; retry %d in %.2f s", method, path, type(exc).__name__, retries + 1, wait)
                await self._sleep(wait)
                retries += 1
                continue
            if response.is_success:
                return response
            wait = self.retry.after_response(response, retries)
            if wait is None:
                raise api_error(
                    response.status_code,
                    response.content,
                    reason=response.reason_phrase,
                    method=method,
                    url=url,
                    headers=response.headers,
                )
            log.info("%s %s: HTTP %d; retry %d in %.2f s", method, path, response.status_code, retries + 1, wait)
            await response.aclose()
            await self._sleep(wait)
            retries += 1

    async def send(self, call: Call[T]) -> T:
        response = await self.request(call.method, call.path, params=call.params, json=call.body)
        return call.decode(response.content)

    # -- files -------------------------------------------------------------------------------------

    async def download(
        self,
        url: str,
        destination: str | os.PathLike[str],
        *,
        expected_size: int | float | None = None,
        on_progress: Progress | None = None,
        chunk_size: int | None = None,
    ) -> Downloaded:
        """Download a recording's ``download_url`` (or ``audio_download_url``) to ``destination``.

        The link is signed: no credentials are sent with it. Written to ``destination.part`` and
        renamed when complete; an interrupted transfer is retried (resumed with ``Range`` where the
        server supports it) as ``retry`` says. The byte count must equal the response's
        ``Content-Length`` and ``expected_size`` (the recording's ``file_size``) when given, else
        ``DownloadError``; an error answer raises its ``RecordKitAPIError`` (``GoneError``: expired)."""
        target = Path(destination)
        part = target.with_name(target.name + ".part")
        target.parent.mkdir(parents=True, exist_ok=True)
        retries = 0
        got = 0
        total: int | None = None
        announced: int | None = None
        content_type: str | None = None
        try:
            with part.open("wb") as out:
                while True:
                    headers = {"User-Agent": USER_AGENT}
                    if got:
                        headers["Range"] = f"bytes={got}-"
                    try:
                        async with self._http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                            if response.status_code >= 400:
                                await response.aread()
                                wait = self.retry.after_response(response, retries)
                                if wait is None:
                                    raise api_error(
                                        response.status_code,
                                        response.content,
                                        reason=response.reason_phrase,
                                        method="GET",
                                        url=_redacted(url),
                                        headers=response.headers,
                                    )
                                await self._sleep(wait)
                                retries += 1
                                continue
                            if got and not _core.resumed_from(response, got):
                                out.seek(0)
                                out.truncate()
                                got = 0
                            length = _core.content_length(response)
                            total = None if length is None else got + length
                            if announced is None or response.status_code == 200:
                                announced = total
                            content_type = response.headers.get("content-type")
                            if on_progress is not None:
                                on_progress(got, total)
                            async for chunk in response.aiter_bytes(chunk_size):
                                out.write(chunk)
                                got += len(chunk)
                                if on_progress is not None:
                                    on_progress(got, total)
                        break
                    except httpx.TransportError as exc:
                        wait = self.retry.after_error("GET", exc, retries)
                        if wait is None:
                            raise _transport_error("GET", _redacted(url), exc, retries) from exc
                        out.flush()
                        await self._sleep(wait)
                        retries += 1
                out.flush()
                os.fsync(out.fileno())
            check_size(got, total, expected_size, url)
            part.replace(target)
        except BaseException:
            with contextlib.suppress(OSError):
                part.unlink()
            raise
        return Downloaded(str(target), got, announced, content_type)


# -- resources ---------------------------------------------------------------------------------------


class AsyncRealtimeKit:
    """``client.realtime_kit``: ``recordings``, ``meetings``, ``apps``, ``webhooks``."""

    def __init__(self, client: AsyncClient) -> None:
        self.recordings = AsyncRecordings(client)
        self.meetings = AsyncMeetings(client)
        self.apps = AsyncApps(client)
        self.webhooks = AsyncWebhooks(client)


class AsyncRecordings:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def get_recordings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        meeting_id: str | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        start_time: TimeArg | None = None,
        end_time: TimeArg | None = None,
        expired: bool | None = None,
        search: str | None = None,
        status: str | Sequence[str] | None = None,
    ) -> RecordingPage:
        """One page of the app's recordings (``GET .../{app_id}/recordings``), every filter of the seed."""
        c = self._client
        return await c.send(
            _core.get_recordings(
                c.account(account_id),
                app_id,
                meeting_id=meeting_id,
                page_no=page_no,
                per_page=per_page,
                sort_by=sort_by,
                sort_order=sort_order,
                start_time=start_time,
                end_time=end_time,
                expired=expired,
                search=search,
                status=status,
            )
        )

    async def iter_recordings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        meeting_id: str | None = None,
        per_page: int = 100,
        sort_by: str | None = None,
        sort_order: str | None = None,
        start_time: TimeArg | None = None,
        end_time: TimeArg | None = None,
        expired: bool | None = None,
        search: str | None = None,
        status: str | Sequence[str] | None = None,
        start_page: int = 1,
    ) -> AsyncIterator[Recording]:
        """Every matching recording, page after page (``per_page`` each), until the last page."""
        page_no: int | None = start_page
        while page_no is not None:
            page = await self.get_recordings(
                app_id,
                account_id=account_id,
                meeting_id=meeting_id,
                page_no=page_no,
                per_page=per_page,
                sort_by=sort_by,
                sort_order=sort_order,
                start_time=start_time,
                end_time=end_time,
                expired=expired,
                search=search,
                status=status,
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


class AsyncMeetings:
    def __init__(self, client: AsyncClient) -> None:
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
        search: str | None = None,
        status: str | None = None,
        start_time: TimeArg | None = None,
        end_time: TimeArg | None = None,
    ) -> MeetingPage:
        c = self._client
        return await c.send(
            _core.get_meetings(
                c.account(account_id),
                app_id,
                page_no=page_no,
                per_page=per_page,
                search=search,
                status=status,
                start_time=start_time,
                end_time=end_time,
            )
        )

    async def iter_meetings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        per_page: int = 100,
        search: str | None = None,
        status: str | None = None,
        start_time: TimeArg | None = None,
        end_time: TimeArg | None = None,
    ) -> AsyncIterator[Meeting]:
        page_no: int | None = 1
        while page_no is not None:
            page = await self.get_meetings(
                app_id,
                account_id=account_id,
                page_no=page_no,
                per_page=per_page,
                search=search,
                status=status,
                start_time=start_time,
                end_time=end_time,
            )
            for item in page.data:
                yield item
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    async def get_meeting(self, app_id: str, meeting_id: str, *, account_id: str | None = None) -> Meeting:
        c = self._client
        return await c.send(_core.get_meeting(c.account(account_id), app_id, meeting_id))


class AsyncApps:
    def __init__(self, client: AsyncClient) -> None:
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
        search: str | None = None,
        sort_order: str | None = None,
    ) -> AppPage:
        c = self._client
        return await c.send(
            _core.get_apps(
                c.account(account_id), page_no=page_no, per_page=per_page, search=search, sort_order=sort_order
            )
        )

    async def iter_apps(
        self,
        *,
        account_id: str | None = None,
        per_page: int = 100,
        search: str | None = None,
        sort_order: str | None = None,
    ) -> AsyncIterator[App]:
        page_no: int | None = 1
        while page_no is not None:
            page = await self.get_apps(
                account_id=account_id, page_no=page_no, per_page=per_page, search=search, sort_order=sort_order
            )
            for item in page.data:
                yield item
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    async def get_app(self, app_id: str, *, account_id: str | None = None) -> App:
        c = self._client
        return await c.send(_core.get_app(c.account(account_id), app_id))


class AsyncWebhooks:
    """An app's webhook registrations (``.../{app_id}/webhooks``)."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create_webhook(
        self,
        app_id: str,
        *,
        name: str,
        url: str,
        events: Sequence[str],
        enabled: bool | None = None,
        account_id: str | None = None,
    ) -> Webhook:
        c = self._client
        fields = {"name": name, "url": url, "events": list(events), "enabled": enabled}
        return await c.send(_core.create_webhook(c.account(account_id), app_id, fields))

    async def get_webhooks(self, app_id: str, *, account_id: str | None = None) -> list[Webhook]:
        c = self._client
        return await c.send(_core.get_webhooks(c.account(account_id), app_id))

    async def get_webhook_events(self, app_id: str, *, account_id: str | None = None) -> list[str]:
        """The event names a webhook may subscribe to (``GET .../webhooks/all``)."""
        c = self._client
        return await c.send(_core.get_webhook_events(c.account(account_id), app_id))

    async def get_webhook(self, app_id: str, webhook_id: str, *, account_id: str | None = None) -> Webhook:
        c = self._client
        return await c.send(_core.get_webhook(c.account(account_id), app_id, webhook_id))

    async def replace_webhook(
        self,
        app_id: str,
        webhook_id: str,
        *,
        name: str,
        url: str,
        events: Sequence[str],
        enabled: bool | None = None,
        account_id: str | None = None,
    ) -> Webhook:
        """``PUT``: every field given anew."""
        c = self._client
        fields = {"name": name, "url": url, "events": list(events), "enabled": enabled}
        return await c.send(_core.replace_webhook(c.account(account_id), app_id, webhook_id, fields))

    async def edit_webhook(
        self,
        app_id: str,
        webhook_id: str,
        *,
        name: str | None = None,
        url: str | None = None,
        events: Sequence[str] | None = None,
        enabled: bool | None = None,
        account_id: str | None = None,
    ) -> Webhook:
        """``PATCH``: only the fields given change."""
        c = self._client
        fields = {"name": name, "url": url, "events": None if events is None else list(events), "enabled": enabled}
        return await c.send(_core.edit_webhook(c.account(account_id), app_id, webhook_id, fields))

    async def delete_webhook(self, app_id: str, webhook_id: str, *, account_id: str | None = None) -> Webhook:
        """Remove it; returns the removed webhook."""
        c = self._client
        return await c.send(_core.delete_webhook(c.account(account_id), app_id, webhook_id))
