"""Routes of the webhooks endpoints (the SDK's ``realtime_kit.webhooks``) and the public key.

Under ``/client/v4/accounts/{account_id}/realtime/kit/{app_id}/webhooks``: create (201), list,
``/all`` (the event names), get, replace (PUT), edit (PATCH), delete. Reads take any token of the
account, writes a Realtime Admin one. ``GET /.well-known/webhooks.json`` serves the public key that
verifies ``rtk-signature``, in the shape RealtimeKit serves it (no authentication).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from recordkit.api import wire
from recordkit.api.auth import authenticate
from recordkit.api.body import decode, read_body
from recordkit.api.http import KIT, json_response
from recordkit.domain.models import Principal, Webhook
from recordkit.domain.services import Services
from recordkit.domain.webhooks import EVENTS, WebhookBody, WebhookPatch, webhook_wire
from recordkit.security.webhook_keys import WebhookSigner

WEBHOOKS = f"{KIT}/{{app_id}}/webhooks"
WEBHOOK = f"{WEBHOOKS}/{{webhook_id}}"
PUBLIC_KEY_PATH = "/.well-known/webhooks.json"


def webhook_routes(services: Services, signer: WebhookSigner, max_body: int) -> list[BaseRoute]:
    store, hooks = services.store, services.webhooks

    def caller(request: Request, write: bool = False) -> tuple[Principal, str]:
        principal = authenticate(request, store)
        p = request.path_params
        return principal, hooks.app_id(principal, p["account_id"], p["app_id"], write=write)

    async def off_loop(func: Callable[..., Webhook], *args: Any) -> Webhook:
        """A write whose URL the address policy checks: DNS lookups stay off the event loop."""
        if hooks.addresses is not None and hooks.addresses.resolves:
            return await run_in_threadpool(func, *args)
        return func(*args)

    async def create(request: Request) -> Response:
        _, app_id = caller(request, write=True)
        body = decode(await read_body(request, max_body), WebhookBody)
        return json_response(wire.ok(webhook_wire(await off_loop(hooks.create, app_id, body))), status=201)

    async def list_all(request: Request) -> Response:
        _, app_id = caller(request)
        return json_response(wire.ok([webhook_wire(h) for h in hooks.list_all(app_id)]))

    async def events(request: Request) -> Response:
        caller(request)
        return json_response(wire.ok(list(EVENTS)))

    async def get_one(request: Request) -> Response:
        _, app_id = caller(request)
        return json_response(wire.ok(webhook_wire(hooks.get(app_id, request.path_params["webhook_id"]))))

    async def replace(request: Request) -> Response:
        _, app_id = caller(request, write=True)
        body = decode(await read_body(request, max_body), WebhookBody)
        hook = await off_loop(hooks.replace, app_id, request.path_params["webhook_id"], body)
        return json_response(wire.ok(webhook_wire(hook)))

    async def edit(request: Request) -> Response:
        _, app_id = caller(request, write=True)
        patch = decode(await read_body(request, max_body), WebhookPatch)
        hook = await off_loop(hooks.edit, app_id, request.path_params["webhook_id"], patch)
        return json_response(wire.ok(webhook_wire(hook)))

    async def delete(request: Request) -> Response:
        _, app_id = caller(request, write=True)
        return json_response(wire.ok(webhook_wire(hooks.delete(app_id, request.path_params["webhook_id"]))))

    async def public_key(request: Request) -> Response:
        pem = await run_in_threadpool(signer.public_pem)  # made on first need: RSA takes a moment
        return json_response(wire.encode({"success": True, "data": {"publicKey": pem}, "message": ""}))

    key_route = Route(PUBLIC_KEY_PATH, public_key, methods=["GET"])
    return [
        Route(WEBHOOKS, create, methods=["POST"]),
        Route(WEBHOOKS, list_all, methods=["GET"]),
        Route(f"{WEBHOOKS}/all", events, methods=["GET"]),
        Route(WEBHOOK, get_one, methods=["GET"]),
        Route(WEBHOOK, replace, methods=["PUT"]),
        Route(WEBHOOK, edit, methods=["PATCH"]),
        Route(WEBHOOK, delete, methods=["DELETE"]),
        key_route,
    ]
