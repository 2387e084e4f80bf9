"""``Client``: the blocking client (httpx.Client underneath)."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

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
from recordkit.client.errors import (
    DownloadError,
    RecordKitConnectionError,
    RecordKitTimeoutError,
    api_error,
)
from recordkit.client.models import App, AppPage, Meeting, MeetingPage, Recording, RecordingPage, Webhook

T = TypeVar("T")
log = logging.getLogger("recordkit.client")

Progress = Callable[[int, int | None], None]


class Client:
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
        http_client: httpx.Client | None = None,
    ) -> None:
        self.api_token = _core.resolve_token(api_token)
        self.base_url = _core.normalise_base_url(base_url)
        self.account_id = account_id
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy(max_retries=max_retries)
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)
        self._owns_http = http_client is None
        self._sleep: Callable[[float], None] = time.sleep
        self.realtime_kit = RealtimeKit(self)

    # -- lifecycle ---------------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, account_id={self.account_id!r})"

    # -- sending -----------------------------------------------------------------------------------

    def account(self, account_id: str | None) -> str:
        chosen = account_id or self.account_id
        if not chosen:
            raise ValueError("account_id: pass account_id= to the call or to the client")
        return chosen

    def request(
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
                response = self._http.request(method, url, params=list(params or ()), content=content, headers=headers)
            except httpx.TransportError as exc:
                wait = self.retry.after_error(method, exc, retries)
                if wait is None:
                    raise _transport_error(method, url, exc, retries) from exc
                log.info("%s %s: %s; retry %d in %.2f s", method, path, type(exc).__name__, retries + 1, wait)
                self._sleep(wait)
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
            response.close()
            self._sleep(wait)
            retries += 1

    def send(self, call: Call[T]) -> T:
        response = self.request(call.method, call.path, params=call.params, json=call.body)
        return call.decode(response.content)

    # -- files -------------------------------------------------------------------------------------

    def download(
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
                        with self._http.stream("GET", url, headers=headers, follow_redirects=True) as response:
                            if response.status_code >= 400:
                                response.read()
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
                                self._sleep(wait)
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
                            for chunk in response.iter_bytes(chunk_size):
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
                        self._sleep(wait)
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


def check_size(got: int, total: int | None, expected: int | float | None, url: str) -> None:
    if total is not None and got != total:
        raise DownloadError(f"{_redacted(url)}: got {got} bytes, Content-Length said {total}")
    if expected is not None and got != expected:
        raise DownloadError(f"{_redacted(url)}: got {got} bytes, file_size says {expected:g}")


def _redacted(url: str) -> str:
    """A signed URL without its query (the signature is a credential for that file)."""
    return url.split("?", 1)[0]


def _transport_error(method: str, url: str, exc: httpx.TransportError, retries: int) -> RecordKitConnectionError:
    tries = f" (after {retries + 1} attempts)" if retries else ""
    attempts = retries + 1
    if isinstance(exc, httpx.TimeoutException):
        return RecordKitTimeoutError(f"{method} {url}: timed out{tries}", method=method, url=url, attempts=attempts)
    return RecordKitConnectionError(
        f"{method} {url}: {type(exc).__name__}: {exc}{tries}",
        method=method,
        url=url,
        attempts=attempts,
        refused=_core.refused(exc),
    )


# -- resources ---------------------------------------------------------------------------------------


class RealtimeKit:
    """``client.realtime_kit``: ``recordings``, ``meetings``, ``apps``, ``webhooks``."""

    def __init__(self, client: Client) -> None:
        self.recordings = Recordings(client)
        self.meetings = Meetings(client)
        self.apps = Apps(client)
        self.webhooks = Webhooks(client)


class Recordings:
    def __init__(self, client: Client) -> None:
        self._client = client

    def get_recordings(
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
        return c.send(
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

    def iter_recordings(
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
    ) -> Iterator[Recording]:
        """Every matching recording, page after page (``per_page`` each), until the last page."""
        page_no: int | None = start_page
        while page_no is not None:
            page = self.get_recordings(
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
            yield from page.data
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    def get_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        c = self._client
        return c.send(_core.get_recording(c.account(account_id), app_id, recording_id))

    def start_recording(
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
        return c.send(_core.start_recording(c.account(account_id), app_id, fields))

    def pause_resume_stop_recording(
        self, app_id: str, recording_id: str, action: str, *, account_id: str | None = None
    ) -> Recording:
        """``PUT .../recordings/{id}`` with ``{"action": action}``; returns the recording after it."""
        c = self._client
        return c.send(_core.act_on_recording(c.account(account_id), app_id, recording_id, action))

    def pause_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return self.pause_resume_stop_recording(app_id, recording_id, "pause", account_id=account_id)

    def resume_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return self.pause_resume_stop_recording(app_id, recording_id, "resume", account_id=account_id)

    def stop_recording(self, app_id: str, recording_id: str, *, account_id: str | None = None) -> Recording:
        return self.pause_resume_stop_recording(app_id, recording_id, "stop", account_id=account_id)

    def get_active_recording(self, app_id: str, meeting_id: str, *, account_id: str | None = None) -> Recording:
        """The meeting's active recording; ``NotFoundError`` when there is none."""
        c = self._client
        return c.send(_core.get_active_recording(c.account(account_id), app_id, meeting_id))

    def start_track_recording(
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
        return c.send(_core.start_track_recording(c.account(account_id), app_id, fields))


class Meetings:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create_meeting(
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
        return c.send(_core.create_meeting(c.account(account_id), app_id, fields))

    def get_meetings(
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
        return c.send(
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

    def iter_meetings(
        self,
        app_id: str,
        *,
        account_id: str | None = None,
        per_page: int = 100,
        search: str | None = None,
        status: str | None = None,
        start_time: TimeArg | None = None,
        end_time: TimeArg | None = None,
    ) -> Iterator[Meeting]:
        page_no: int | None = 1
        while page_no is not None:
            page = self.get_meetings(
                app_id,
                account_id=account_id,
                page_no=page_no,
                per_page=per_page,
                search=search,
                status=status,
                start_time=start_time,
                end_time=end_time,
            )
            yield from page.data
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    def get_meeting(self, app_id: str, meeting_id: str, *, account_id: str | None = None) -> Meeting:
        c = self._client
        return c.send(_core.get_meeting(c.account(account_id), app_id, meeting_id))


class Apps:
    def __init__(self, client: Client) -> None:
        self._client = client

    def create_app(self, name: str, *, account_id: str | None = None) -> App:
        c = self._client
        return c.send(_core.create_app(c.account(account_id), name))

    def get_apps(
        self,
        *,
        account_id: str | None = None,
        page_no: int | None = None,
        per_page: int | None = None,
        search: str | None = None,
        sort_order: str | None = None,
    ) -> AppPage:
        c = self._client
        return c.send(
            _core.get_apps(
                c.account(account_id), page_no=page_no, per_page=per_page, search=search, sort_order=sort_order
            )
        )

    def iter_apps(
        self,
        *,
        account_id: str | None = None,
        per_page: int = 100,
        search: str | None = None,
        sort_order: str | None = None,
    ) -> Iterator[App]:
        page_no: int | None = 1
        while page_no is not None:
            page = self.get_apps(
                account_id=account_id, page_no=page_no, per_page=per_page, search=search, sort_order=sort_order
            )
            yield from page.data
            page_no = _core.next_page(page_no, len(page.data), page.paging)

    def get_app(self, app_id: str, *, account_id: str | None = None) -> App:
        c = self._client
        return c.send(_core.get_app(c.account(account_id), app_id))


class Webhooks:
    """An app's webhook registrations (``.../{app_id}/webhooks``)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create_webhook(
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
        return c.send(_core.create_webhook(c.account(account_id), app_id, fields))

    def get_webhooks(self, app_id: str, *, account_id: str | None = None) -> list[Webhook]:
        c = self._client
        return c.send(_core.get_webhooks(c.account(account_id), app_id))

    def get_webhook_events(self, app_id: str, *, account_id: str | None = None) -> list[str]:
        """The event names a webhook may subscribe to (``GET .../webhooks/all``)."""
        c = self._client
        return c.send(_core.get_webhook_events(c.account(account_id), app_id))

    def get_webhook(self, app_id: str, webhook_id: str, *, account_id: str | None = None) -> Webhook:
        c = self._client
        return c.send(_core.get_webhook(c.account(account_id), app_id, webhook_id))

    def replace_webhook(
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
        return c.send(_core.replace_webhook(c.account(account_id), app_id, webhook_id, fields))

    def edit_webhook(
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
        return c.send(_core.edit_webhook(c.account(account_id), app_id, webhook_id, fields))

    def delete_webhook(self, app_id: str, webhook_id: str, *, account_id: str | None = None) -> Webhook:
        """Remove it; returns the removed webhook."""
        c = self._client
        return c.send(_core.delete_webhook(c.account(account_id), app_id, webhook_id))
