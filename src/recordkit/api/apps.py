"""Routes of the apps endpoints (SPEC §3): list (paged, searched), create, get one.

They must come before the other RealtimeKit routes: ``.../kit/apps/recordings`` would otherwise
match the recordings routes, with an app id ``apps``.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from recordkit.api import wire
from recordkit.api.auth import authenticate
from recordkit.api.body import decode, read_body
from recordkit.api.http import KIT, json_response, query_params
from recordkit.domain.services import Services


class CreateAppBody(msgspec.Struct):
    name: str


def app_routes(services: Services, max_body: int) -> list[BaseRoute]:
    store, apps = services.store, services.apps

    async def list_apps(request: Request) -> Response:
        principal = authenticate(request, store)
        found, total, page = apps.list(principal, request.path_params["account_id"], query_params(request))
        return json_response(wire.ok_list([wire.app(a) for a in found], page, total))

    async def create_app(request: Request) -> Response:
        principal = authenticate(request, store)
        services.access.check_account(principal, request.path_params["account_id"])
        services.access.require_write(principal)
        body = decode(await read_body(request, max_body), CreateAppBody)
        app = apps.create(principal, request.path_params["account_id"], body.name)
        return json_response(wire.ok({"app": wire.app(app)}))

    async def get_app(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        return json_response(wire.ok(wire.app(apps.get(principal, p["account_id"], p["app_id"]))))

    return [
        Route(f"{KIT}/apps", list_apps, methods=["GET"]),
        Route(f"{KIT}/apps", create_app, methods=["POST"]),
        Route(f"{KIT}/apps/{{app_id}}", get_app, methods=["GET"]),
    ]
