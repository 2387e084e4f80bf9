"""``client.realtime_kit``: the API's resources, one module each."""

from __future__ import annotations

from recordkit.client._async.apps import AsyncApps
from recordkit.client._async.base import AsyncBaseClient
from recordkit.client._async.meetings import AsyncMeetings
from recordkit.client._async.recordings import AsyncRecordings
from recordkit.client._async.webhooks import AsyncWebhooks


class AsyncRealtimeKit:
    """``client.realtime_kit``: ``recordings``, ``meetings``, ``apps``, ``webhooks``."""

    def __init__(self, client: AsyncBaseClient) -> None:
        self.recordings = AsyncRecordings(client)
        self.meetings = AsyncMeetings(client)
        self.apps = AsyncApps(client)
        self.webhooks = AsyncWebhooks(client)
