"""``client.realtime_kit.webhooks``: ``.../{app_id}/webhooks``."""

from __future__ import annotations

from collections.abc import Sequence

from recordkit.client import _core
from recordkit.client._async.base import AsyncBaseClient
from recordkit.client.models import Webhook


class AsyncWebhooks:
    """An app's webhook registrations (``.../{app_id}/webhooks``)."""

    def __init__(self, client: AsyncBaseClient) -> None:
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
