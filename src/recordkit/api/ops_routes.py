"""Operations endpoints: ``/livez`` (liveness, as ``/healthz``), ``/readyz`` (readiness) and ``/metrics``.

None is rate limited (the limiter counts only ``/client/v4/`` paths) and none takes a token, except
``/metrics`` when ``RECORDKIT_METRICS_TOKEN`` is set; ``RECORDKIT_METRICS=off`` removes it.
"""

from __future__ import annotations

import asyncio
import hmac

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from recordkit.api import wire
from recordkit.ops.health import Readiness
from recordkit.ops.metrics import Metrics

JSON = "application/json"
ALIVE = b'{"status":"ok"}'


def ops_routes(readiness: Readiness, metrics: Metrics | None, metrics_token: str | None) -> list[BaseRoute]:
    async def livez(request: Request) -> Response:
        return Response(ALIVE, media_type=JSON)

    async def readyz(request: Request) -> Response:
        report = await asyncio.to_thread(readiness.check)
        if not report.ok:
            return Response(wire.error(503, f"not ready: {report.failures()}"), status_code=503, media_type=JSON)
        body = {"status": "ready", "checks": {c.name: c.detail for c in report.checks}}
        return Response(msgspec.json.encode(body), media_type=JSON)

    routes: list[BaseRoute] = [
        Route("/livez", livez, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if metrics is None:
        return routes
    expected = f"Bearer {metrics_token}".encode() if metrics_token else None

    async def scrape(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return Response(
                    wire.error(401, "metrics: a bearer token is required (RECORDKIT_METRICS_TOKEN)"),
                    status_code=401,
                    media_type=JSON,
                    headers={"www-authenticate": "Bearer"},
                )
        body, content_type = await asyncio.to_thread(metrics.render, request.headers.get("accept", ""))
        return Response(body, headers={"content-type": content_type})

    routes.append(Route("/metrics", scrape, methods=["GET"]))
    return routes
