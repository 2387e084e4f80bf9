"""``AsyncClient``: the client, with httpx.AsyncClient underneath."""

from __future__ import annotations

from functools import cached_property

from recordkit.client._async.base import AsyncBaseClient
from recordkit.client._async.realtime_kit import AsyncRealtimeKit


class AsyncClient(AsyncBaseClient):
    """A typed client for RealtimeKit's recordings, meetings and apps API (Cloudflare's or RecordKit's).

    ``api_token`` defaults to ``CLOUDFLARE_API_TOKEN``, then ``RECORDKIT_TOKEN``; ``base_url`` to
    Cloudflare's ``https://api.cloudflare.com/client/v4``; ``account_id`` (optional) is used by
    calls that are not given one. Use as a context manager, or call ``close()``."""

    @cached_property
    def realtime_kit(self) -> AsyncRealtimeKit:
        """``recordings``, ``meetings``, ``apps``, ``webhooks``."""
        return AsyncRealtimeKit(self)
