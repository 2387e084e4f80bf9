"""A typed Python client for RealtimeKit's recordings API: Cloudflare's, or any compatible server's.

    from recordkit.client import Client

    with Client(api_token=TOKEN, account_id=ACCOUNT) as client:       # Cloudflare by default
        page = client.realtime_kit.recordings.get_recordings(APP, status=["UPLOADED"], per_page=50)
        for rec in client.realtime_kit.recordings.iter_recordings(APP, sort_order="ASC"):
            ...

``AsyncClient`` has the same calls, awaited. Depends on httpx and msgspec only: nothing of the
RecordKit server is imported (see ``docs/client.md``).
"""

from recordkit.client._async import AsyncClient
from recordkit.client._core import DEFAULT_BASE_URL, Downloaded, RetryPolicy
from recordkit.client._sync import Client
from recordkit.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DownloadError,
    GoneError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RecordKitAPIError,
    RecordKitClientError,
    RecordKitConnectionError,
    RecordKitTimeoutError,
    ServerError,
)
from recordkit.client.models import (
    App,
    AppPage,
    Caller,
    Meeting,
    MeetingPage,
    Paging,
    Reason,
    Recording,
    RecordingPage,
    Webhook,
    format_time,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "App",
    "AppPage",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Caller",
    "Client",
    "ConflictError",
    "DownloadError",
    "Downloaded",
    "GoneError",
    "Meeting",
    "MeetingPage",
    "NotFoundError",
    "Paging",
    "PermissionDeniedError",
    "RateLimitError",
    "Reason",
    "RecordKitAPIError",
    "RecordKitClientError",
    "RecordKitConnectionError",
    "RecordKitTimeoutError",
    "Recording",
    "RecordingPage",
    "RetryPolicy",
    "ServerError",
    "Webhook",
    "format_time",
]
