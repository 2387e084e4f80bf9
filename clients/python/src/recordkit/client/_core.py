"""What the sync and async clients share: settings, retry decisions, the list filters, and every
call as data.

A ``Call`` is one API operation ready to send (method, path, query, body) plus how to read its
answer; ``Client`` and ``AsyncClient`` only differ in how they send it (``_async/``, and ``_sync/``
generated from it: docs/client.md, "Maintainers"). Nothing here imports either of them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from recordkit.client._headers import retry_after_seconds
from recordkit.client.errors import (
    DownloadError,
    RecordKitAPIError,
    RecordKitClientError,
    RecordKitConnectionError,
    RecordKitTimeoutError,
    api_error,
)
from recordkit.client.models import (
    App,
    AppPage,
    CreatedApp,
    Envelope,
    Meeting,
    MeetingPage,
    Recording,
    RecordingPage,
    TrackStarted,
    Webhook,
    format_time,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
TOKEN_VARIABLES = ("CLOUDFLARE_API_TOKEN", "RECORDKIT_TOKEN")
USER_AGENT = "recordkit-python-client/0.1.0"

TimeArg = str | datetime
Query = list[tuple[str, str]]
Progress = Callable[[int, int | None], None]
AsyncSleep = Callable[[float], Awaitable[None]]  # AsyncClient's wait between attempts (anyio.sleep) ...
Sleep = Callable[[float], None]  # ... and Client's (time.sleep)


def resolve_token(api_token: str | None) -> str:
    """``api_token``, else the first of TOKEN_VARIABLES that is set.

    The client's one read of the environment, and one of the two allowed outside
    recordkit.settings (tests/unit/test_environment_reads.py): this package is to ship as a light
    distribution of its own, which cannot import the server's Settings (nor its dependencies)."""
    if api_token:
        return api_token
    for name in TOKEN_VARIABLES:
        value = os.environ.get(name)
        if value:
            return value
    raise RecordKitClientError("no API token: pass api_token=, or set CLOUDFLARE_API_TOKEN or RECORDKIT_TOKEN")


def normalise_base_url(base_url: str | None) -> str:
    return (base_url or DEFAULT_BASE_URL).rstrip("/")


# -- retries ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again.

    Retried: 429 and 5xx answers (not 501, which no retry fixes), and requests that got no
    answer: connection errors and timeouts, except a POST that may have reached the server (a
    retried start could start twice; a refused connection is retried, it never arrived). A
    ``x-should-retry: false`` header forbids the retry, ``true`` asks for one. The wait is the
    server's ``retry-after`` (or ``retry-after-ms``) when it gives one up to ``max_retry_after``
    seconds, else exponential backoff from ``backoff_base`` doubling up to ``backoff_max``, less up
    to 25 % jitter. ``max_retries`` bounds the retries (attempts = max_retries + 1).

    ``retry_refused=False`` gives up at once on a refused connection (nothing listens on that
    port), for callers that would rather say so than wait through the backoff (the ``recordkit
    recordings`` commands); timeouts, resets, other connection errors, 429 and 5xx are still retried."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({408, 429, 500, 502, 503, 504}))
    retry_refused: bool = True

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries: must be >= 0")

    def backoff(self, retries_taken: int) -> float:
        delay: float = min(self.backoff_base * 2.0 ** min(retries_taken, 30), self.backoff_max)
        return delay * (1 - 0.25 * random.random())

    def after_response(self, response: httpx.Response, retries_taken: int) -> float | None:
        """Seconds to wait before the next attempt, or None: this answer is final."""
        if retries_taken >= self.max_retries:
            return None
        hint = response.headers.get("x-should-retry")
        if hint == "false":
            return None
        if hint != "true" and not (response.status_code in self.statuses or response.status_code >= 505):
            return None
        wait = retry_after_seconds(response.headers)
        if wait is not None and wait <= self.max_retry_after:
            return wait
        return self.backoff(retries_taken)

    def after_error(self, method: str, error: httpx.TransportError, retries_taken: int) -> float | None:
        if retries_taken >= self.max_retries:
            return None
        if not self.retry_refused and refused(error):
            return None
        if method.upper() == "POST" and not isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
            return None  # the server may have acted on it
        return self.backoff(retries_taken)


def refused(exc: BaseException) -> bool:
    """A refused connection (httpx wraps the OS's ConnectionRefusedError in httpcore's error, in its own)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


# -- calls ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    decode: Callable[[bytes], T]
    params: Query = field(default_factory=list)
    body: dict[str, Any] | None = None


def _decoder(kind: Any) -> Callable[[bytes], Any]:
    return msgspec.json.Decoder(kind).decode


_recording = _decoder(Envelope[Recording])
_meeting = _decoder(Envelope[Meeting])
_app = _decoder(Envelope[App])
_created_app = _decoder(Envelope[CreatedApp])
_track = _decoder(Envelope[TrackStarted])
_webhook = _decoder(Envelope[Webhook])
_webhooks = _decoder(Envelope[list[Webhook]])
_event_names = _decoder(Envelope[list[str]])
_recording_page = _decoder(RecordingPage)
_meeting_page = _decoder(MeetingPage)
_app_page = _decoder(AppPage)


def _read_recording(body: bytes) -> Recording:
    return _recording(body).data  # type: ignore[no-any-return]


def _read_meeting(body: bytes) -> Meeting:
    return _meeting(body).data  # type: ignore[no-any-return]


def _read_app(body: bytes) -> App:
    return _app(body).data  # type: ignore[no-any-return]


def _read_created_app(body: bytes) -> App:
    return _created_app(body).data.app  # type: ignore[no-any-return]


def _read_track(body: bytes) -> Recording:
    return _track(body).data.recording  # type: ignore[no-any-return]


def _read_webhook(body: bytes) -> Webhook:
    return _webhook(body).data  # type: ignore[no-any-return]


def _read_webhooks(body: bytes) -> list[Webhook]:
    return _webhooks(body).data  # type: ignore[no-any-return]


def _read_event_names(body: bytes) -> list[str]:
    return _event_names(body).data  # type: ignore[no-any-return]


def _read_recording_page(body: bytes) -> RecordingPage:
    return _recording_page(body)  # type: ignore[no-any-return]


def _read_meeting_page(body: bytes) -> MeetingPage:
    return _meeting_page(body)  # type: ignore[no-any-return]


def _read_app_page(body: bytes) -> AppPage:
    return _app_page(body)  # type: ignore[no-any-return]


def segment(value: str, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"Expected a non-empty value for `{name}` but received {value!r}")
    return quote(value, safe="")


def kit(account_id: str, app_id: str | None = None) -> str:
    base = f"/accounts/{segment(account_id, 'account_id')}/realtime/kit"
    return base if app_id is None else f"{base}/{segment(app_id, 'app_id')}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def query(**values: Any) -> Query:
    """Query parameters, skipping None; a sequence repeats its key (``status=A&status=B``)."""
    out: Query = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            out.append((key, _value(value)))
        else:
            out.extend((key, _value(v)) for v in value)
    return out


def body(**values: Any) -> dict[str, Any]:
    """A JSON body of the given fields, skipping None."""
    return {k: v for k, v in values.items() if v is not None}


# List filters ------------------------------------------------------------------------------------
#
# Each list call's filters are declared once, here: the public get_*/iter_* methods take them as
# keywords (``**filters: Unpack[RecordingFilters]``), and list_query() turns them into the query.


class RecordingFilters(TypedDict, total=False):
    """The filters of ``get_recordings`` and ``iter_recordings``, besides ``page_no`` and ``per_page``.

    ``status`` takes one status or several (``status=A&status=B``); ``start_time`` and ``end_time``
    a string or a ``datetime`` (sent as UTC ISO-8601 with milliseconds)."""

    meeting_id: str | None
    sort_by: str | None
    sort_order: str | None
    start_time: TimeArg | None
    end_time: TimeArg | None
    expired: bool | None
    search: str | None
    status: str | Sequence[str] | None


class MeetingFilters(TypedDict, total=False):
    """The filters of ``get_meetings`` and ``iter_meetings``, besides ``page_no`` and ``per_page``."""

    search: str | None
    status: str | None
    start_time: TimeArg | None
    end_time: TimeArg | None


class AppFilters(TypedDict, total=False):
    """The filters of ``get_apps`` and ``iter_apps``, besides ``page_no`` and ``per_page``."""

    search: str | None
    sort_order: str | None


RECORDING_FILTERS: tuple[str, ...] = tuple(RecordingFilters.__annotations__)
MEETING_FILTERS: tuple[str, ...] = tuple(MeetingFilters.__annotations__)
APP_FILTERS: tuple[str, ...] = tuple(AppFilters.__annotations__)


def list_query(
    call: str, names: tuple[str, ...], page_no: int | None, per_page: int | None, filters: Mapping[str, object]
) -> Query:
    """A list call's query: ``page_no``, ``per_page``, then the filters in their declared order.

    A keyword that is not one of ``names`` is a TypeError, as it was when each was a parameter."""
    for name in filters:
        if name not in names:
            raise TypeError(f"{call}() got an unexpected keyword argument {name!r}")
    return query(page_no=page_no, per_page=per_page, **{name: filters.get(name) for name in names})


# Recordings ----------------------------------------------------------------------------------------


def get_recordings(
    account_id: str, app_id: str, *, page_no: int | None, per_page: int | None, filters: RecordingFilters
) -> Call[RecordingPage]:
    params = list_query("get_recordings", RECORDING_FILTERS, page_no, per_page, filters)
    return Call("GET", f"{kit(account_id, app_id)}/recordings", _read_recording_page, params)


def get_recording(account_id: str, app_id: str, recording_id: str) -> Call[Recording]:
    path = f"{kit(account_id, app_id)}/recordings/{segment(recording_id, 'recording_id')}"
    return Call("GET", path, _read_recording)


def start_recording(account_id: str, app_id: str, fields: dict[str, Any]) -> Call[Recording]:
    return Call("POST", f"{kit(account_id, app_id)}/recordings", _read_recording, body=body(**fields))


def act_on_recording(account_id: str, app_id: str, recording_id: str, action: str) -> Call[Recording]:
    if action not in ("stop", "pause", "resume"):
        raise ValueError(f"action: must be stop, pause or resume, not {action!r}")
    path = f"{kit(account_id, app_id)}/recordings/{segment(recording_id, 'recording_id')}"
    return Call("PUT", path, _read_recording, body={"action": action})


def get_active_recording(account_id: str, app_id: str, meeting_id: str) -> Call[Recording]:
    path = f"{kit(account_id, app_id)}/recordings/active-recording/{segment(meeting_id, 'meeting_id')}"
    return Call("GET", path, _read_recording)


def start_track_recording(account_id: str, app_id: str, fields: dict[str, Any]) -> Call[Recording]:
    return Call("POST", f"{kit(account_id, app_id)}/recordings/track", _read_track, body=body(**fields))


# Meetings ------------------------------------------------------------------------------------------


def create_meeting(account_id: str, app_id: str, fields: dict[str, Any]) -> Call[Meeting]:
    return Call("POST", f"{kit(account_id, app_id)}/meetings", _read_meeting, body=body(**fields))


def get_meetings(
    account_id: str, app_id: str, *, page_no: int | None, per_page: int | None, filters: MeetingFilters
) -> Call[MeetingPage]:
    params = list_query("get_meetings", MEETING_FILTERS, page_no, per_page, filters)
    return Call("GET", f"{kit(account_id, app_id)}/meetings", _read_meeting_page, params)


def get_meeting(account_id: str, app_id: str, meeting_id: str) -> Call[Meeting]:
    return Call("GET", f"{kit(account_id, app_id)}/meetings/{segment(meeting_id, 'meeting_id')}", _read_meeting)


# Apps ----------------------------------------------------------------------------------------------


def create_app(account_id: str, name: str) -> Call[App]:
    return Call("POST", f"{kit(account_id)}/apps", _read_created_app, body={"name": name})


def get_apps(account_id: str, *, page_no: int | None, per_page: int | None, filters: AppFilters) -> Call[AppPage]:
    params = list_query("get_apps", APP_FILTERS, page_no, per_page, filters)
    return Call("GET", f"{kit(account_id)}/apps", _read_app_page, params)


def get_app(account_id: str, app_id: str) -> Call[App]:
    return Call("GET", f"{kit(account_id)}/apps/{segment(app_id, 'app_id')}", _read_app)


# Webhooks ------------------------------------------------------------------------------------------


def create_webhook(account_id: str, app_id: str, fields: dict[str, Any]) -> Call[Webhook]:
    return Call("POST", f"{kit(account_id, app_id)}/webhooks", _read_webhook, body=body(**fields))


def get_webhooks(account_id: str, app_id: str) -> Call[list[Webhook]]:
    return Call("GET", f"{kit(account_id, app_id)}/webhooks", _read_webhooks)


def get_webhook_events(account_id: str, app_id: str) -> Call[list[str]]:
    return Call("GET", f"{kit(account_id, app_id)}/webhooks/all", _read_event_names)


def _webhook_path(account_id: str, app_id: str, webhook_id: str) -> str:
    return f"{kit(account_id, app_id)}/webhooks/{segment(webhook_id, 'webhook_id')}"


def get_webhook(account_id: str, app_id: str, webhook_id: str) -> Call[Webhook]:
    return Call("GET", _webhook_path(account_id, app_id, webhook_id), _read_webhook)


def replace_webhook(account_id: str, app_id: str, webhook_id: str, fields: dict[str, Any]) -> Call[Webhook]:
    return Call("PUT", _webhook_path(account_id, app_id, webhook_id), _read_webhook, body=body(**fields))


def edit_webhook(account_id: str, app_id: str, webhook_id: str, fields: dict[str, Any]) -> Call[Webhook]:
    return Call("PATCH", _webhook_path(account_id, app_id, webhook_id), _read_webhook, body=body(**fields))


def delete_webhook(account_id: str, app_id: str, webhook_id: str) -> Call[Webhook]:
    return Call("DELETE", _webhook_path(account_id, app_id, webhook_id), _read_webhook)


# Paging --------------------------------------------------------------------------------------------


def next_page(page_no: int, returned: int, paging: Any) -> int | None:
    """The page after ``page_no``, or None when this one was the last."""
    if returned == 0:
        return None
    if paging is not None and paging.end_offset >= paging.total_count:
        return None
    return page_no + 1


# Downloads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Downloaded:
    """A finished download: where, how many bytes, what the server announced."""

    path: str
    size: int
    content_length: int | None
    content_type: str | None


def content_length(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity") not in ("identity", ""):
        return None  # the length of the encoded bytes, not of the file
    value = response.headers.get("content-length")
    return int(value) if value and value.isdigit() else None


def resumed_from(response: httpx.Response, offset: int) -> bool:
    """A 206 answer to ``Range: bytes=offset-`` that really starts at ``offset``."""
    if response.status_code != 206:
        return False
    value = response.headers.get("content-range", "")
    unit, _, rest = value.partition(" ")
    start = rest.split("-", 1)[0]
    return unit == "bytes" and start.isdigit() and int(start) == offset


def check_size(got: int, total: int | None, expected: int | float | None, url: str) -> None:
    if total is not None and got != total:
        raise DownloadError(f"{redacted(url)}: got {got} bytes, Content-Length said {total}")
    if expected is not None and got != expected:
        raise DownloadError(f"{redacted(url)}: got {got} bytes, file_size says {expected:g}")


def redacted(url: str) -> str:
    """A signed URL without its query (the signature is a credential for that file)."""
    return url.split("?", 1)[0]


def response_error(response: httpx.Response, method: str, url: str) -> RecordKitAPIError:
    """The typed error of an error answer (after it was read)."""
    return api_error(
        response.status_code,
        response.content,
        reason=response.reason_phrase,
        method=method,
        url=url,
        headers=response.headers,
    )


def transport_error(method: str, url: str, exc: httpx.TransportError, retries: int) -> RecordKitConnectionError:
    tries = f" (after {retries + 1} attempts)" if retries else ""
    attempts = retries + 1
    if isinstance(exc, httpx.TimeoutException):
        return RecordKitTimeoutError(f"{method} {url}: timed out{tries}", method=method, url=url, attempts=attempts)
    return RecordKitConnectionError(
        f"{method} {url}: {type(exc).__name__}: {exc}{tries}",
        method=method,
        url=url,
        attempts=attempts,
        refused=refused(exc),
    )
