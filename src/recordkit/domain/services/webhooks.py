"""The webhooks of an app (SPEC §7): register, list, get, replace, edit, delete.

Access checks, then the rules of ``recordkit.domain.webhooks``, then the ``WebhookStore`` port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from recordkit.domain.ids import check_uuid, new_uuid
from recordkit.domain.models import Principal, Webhook
from recordkit.domain.services.access import Access
from recordkit.domain.timefmt import now_ms
from recordkit.domain.webhooks import WebhookBody, WebhookPatch, check_events, check_name, check_url
from recordkit.errors import NotFound

if TYPE_CHECKING:
    from recordkit.domain.ports import WebhookStore
    from recordkit.security.netpolicy import AddressPolicy


class WebhooksService:
    """The webhook operations of the API: access checks, then the rules, then the store.

    ``addresses``, when set, is the address policy every URL given must pass (400 naming ``url``);
    when it looks names up (``addresses.resolves``) callers run the writes off the event loop."""

    def __init__(
        self,
        access: Access,
        store: WebhookStore,
        clock: Callable[[], int] = now_ms,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.access = access
        self.store = store
        self.clock = clock
        self.addresses = addresses

    def _url(self, value: str) -> str:
        url = check_url(value)
        if self.addresses is not None:
            self.addresses.check_url(url, "url")
        return url

    def app_id(self, principal: Principal, account_id: str, app_id: str, *, write: bool = False) -> str:
        """The app's id when the caller may read it (and write, with ``write``): 401/403/404 first."""
        self.access.check_account(principal, account_id)
        if write:
            self.access.require_write(principal)
        return str(self.access.app_for(principal, account_id, app_id).id)

    def create(self, app_id: str, body: WebhookBody) -> Webhook:
        now = self.clock()
        hook = Webhook(
            id=new_uuid(),
            app_id=app_id,
            name=check_name(body.name),
            url=self._url(body.url),
            events=check_events(body.events),
            enabled=body.enabled,
            created_ms=now,
            updated_ms=now,
        )
        self.store.create_webhook(hook)
        return hook

    def list_all(self, app_id: str) -> list[Webhook]:
        return self.store.list_webhooks(app_id)

    def get(self, app_id: str, webhook_id: str) -> Webhook:
        hook = self.store.get_webhook(app_id, check_uuid(webhook_id, "webhook_id"))
        if hook is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return hook

    def replace(self, app_id: str, webhook_id: str, body: WebhookBody) -> Webhook:
        old = self.get(app_id, webhook_id)
        new = msgspec.structs.replace(
            old,
            name=check_name(body.name),
            url=self._url(body.url),
            events=check_events(body.events),
            enabled=body.enabled,
            updated_ms=max(self.clock(), old.created_ms),
        )
        return self._save(new)

    def edit(self, app_id: str, webhook_id: str, patch: WebhookPatch) -> Webhook:
        old = self.get(app_id, webhook_id)
        changes: dict[str, Any] = {}
        if not isinstance(patch.name, msgspec.UnsetType):
            changes["name"] = check_name(patch.name)
        if not isinstance(patch.url, msgspec.UnsetType):
            changes["url"] = self._url(patch.url)
        if not isinstance(patch.events, msgspec.UnsetType):
            changes["events"] = check_events(patch.events)
        if not isinstance(patch.enabled, msgspec.UnsetType):
            changes["enabled"] = patch.enabled
        if not changes:
            return old
        return self._save(msgspec.structs.replace(old, **changes, updated_ms=max(self.clock(), old.created_ms)))

    def delete(self, app_id: str, webhook_id: str) -> Webhook:
        gone = self.store.delete_webhook(app_id, check_uuid(webhook_id, "webhook_id"))
        if gone is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return gone

    def _save(self, hook: Webhook) -> Webhook:
        if not self.store.save_webhook(hook):
            raise NotFound(f"webhook {hook.id} not found")
        return hook
