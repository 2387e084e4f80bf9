"""The route table: each resource's routes (apps first), then the extra ones, then the fallback."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route

from recordkit.api import openapi
from recordkit.api.apps import app_routes
from recordkit.api.auth import authenticate
from recordkit.api.http import KIT, json_response
from recordkit.api.meetings import meeting_routes
from recordkit.api.recordings import recording_routes
from recordkit.domain.services import Services
from recordkit.errors import MethodNotAllowed, NotFound, NotImplementedYet


def build_routes(services: Services, max_body: int, extra: list[BaseRoute] | None = None) -> list[BaseRoute]:
    async def healthz(request: Request) -> Response:
        return json_response(b'{"status":"ok"}')

    async def openapi_json(request: Request) -> Response:
        return json_response(openapi.document_bytes())

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/client/v4/openapi.json", openapi_json, methods=["GET"]),
        *app_routes(services, max_body),  # first: see recordkit.api.apps
        *recording_routes(services, max_body),
        *meeting_routes(services, max_body),
    ]
    routes.extend(extra or [])
    routes.append(_fallback(routes, services))
    return routes


def _fallback(known: list[BaseRoute], services: Services) -> BaseRoute:
    """Known path with another method: 405. Other RealtimeKit paths: 501 naming them. Else 404."""

    async def fallback(request: Request) -> Response:
        scope: Any = request.scope
        allowed = sorted(
            {m for route in known if route.matches(scope)[0] is Match.PARTIAL for m in getattr(route, "methods", ())}
        )
        if allowed:
            raise MethodNotAllowed(f"Method {request.method} not allowed on {request.url.path}", allow=allowed)
        principal = authenticate(request, services.store)
        services.access.check_account(principal, request.path_params["account_id"])
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
