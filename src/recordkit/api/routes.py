"""Routes: parse the wire shape, call the domain service, render the wire shape. Nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from recordkit.api import openapi, wire
from recordkit.api.auth import authenticate
from recordkit.api.body import decode, read_body
from recordkit.api.meetings import meeting_routes
from recordkit.domain.service import RecordingsService
from recordkit.errors import MethodNotAllowed, NotFound, NotImplementedYet
from recordkit.security.netpolicy import AddressPolicy
from recordkit.settings import Settings

JSON = "application/json"
KIT = "/client/v4/accounts/{account_id}/realtime/kit"

Handler = Callable[[Request], Awaitable[Response]]


class CreateAppBody(msgspec.Struct):
    name: str


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=JSON)


def build_routes(
    service: RecordingsService,
    settings: Settings,
    extra: list[BaseRoute] | None = None,
    addresses: AddressPolicy | None = None,
) -> list[BaseRoute]:
    store = service.store

    async def healthz(request: Request) -> Response:
        return _json(b'{"status":"ok"}')

    async def openapi_json(request: Request) -> Response:
        return _json(openapi.document_bytes())

    async def list_apps(request: Request) -> Response:
        principal = authenticate(request, store)
        apps, total, page = service.list_apps(principal, request.path_params["account_id"], _params(request))
        return _json(wire.ok_list([wire.app(a) for a in apps], page, total))

    async def create_app(request: Request) -> Response:
        principal = authenticate(request, store)
        service.check_account(principal, request.path_params["account_id"])
        service.require_write(principal)
        body = decode(await read_body(request, settings.max_body_bytes), CreateAppBody)
        app = service.create_app(principal, request.path_params["account_id"], body.name)
        return _json(wire.ok({"app": wire.app(app)}))

    async def get_app(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        app = service.app_for(principal, p["account_id"], p["app_id"])
        return _json(wire.ok(wire.app(app)))

    async def list_recordings(request: Request) -> Response:
        principal = authenticate(request, store)
        p = request.path_params
        rows, total, page = service.list_recordings(principal, p["account_id"], p["app_id"], _params(request))
        return _json(wire.ok_raw_list(rows, page, total))

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/client/v4/openapi.json", openapi_json, methods=["GET"]),
        Route(f"{KIT}/apps", list_apps, methods=["GET"]),
        Route(f"{KIT}/apps", create_app, methods=["POST"]),
        Route(f"{KIT}/apps/{{app_id}}", get_app, methods=["GET"]),
        Route(f"{KIT}/{{app_id}}/recordings", list_recordings, methods=["GET"]),
        *meeting_routes(service, settings, addresses),
    ]
    routes.extend(extra or [])
    routes.append(_fallback(routes, service))
    return routes


def _fallback(known: list[BaseRoute], service: RecordingsService) -> BaseRoute:
    """Known path with another method: 405. Other RealtimeKit paths: 501 naming them. Else 404."""

    async def fallback(request: Request) -> Response:
        scope: Any = request.scope
        allowed = sorted(
            {m for route in known if route.matches(scope)[0] is Match.PARTIAL for m in getattr(route, "methods", ())}
        )
        if allowed:
            raise MethodNotAllowed(f"Method {request.method} not allowed on {request.url.path}", allow=allowed)
        principal = authenticate(request, service.store)
        service.check_account(principal, request.path_params["account_id"])
        rest = request.path_params["rest"].strip("/")
        parts = rest.split("/")
        dot_segments = any(part in ("", ".", "..") for part in parts)  # "..%2F.." decoded: not a RealtimeKit path
        if parts[0] == "apps" or len(parts) < 2 or request.path_params["rest"].endswith("/") or dot_segments:
            raise NotFound(f"Route not found: {request.method} {request.url.path}")
        raise NotImplementedYet(
            f"RecordKit does not implement {request.method} .../realtime/kit/{rest} ({parts[1]}) yet"
        )

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Route(f"{KIT}/{{rest:path}}", fallback, methods=methods)
