"""The one place where RecordKit's error tree becomes HTTP status codes and envelopes (SPEC §1)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from recordkit.api import wire
from recordkit.errors import Conflict, MethodNotAllowed, RecordKitError, TooManyRequests, Unauthenticated

log = logging.getLogger("recordkit.api")

JSON = "application/json"


def error_response(exc: RecordKitError) -> Response:
    if isinstance(exc, Unauthenticated):
        return Response(wire.AUTH_ERROR, status_code=401, media_type=JSON)
    headers = {}
    if isinstance(exc, Conflict) and not exc.retryable:
        headers["x-should-retry"] = "false"
    if isinstance(exc, TooManyRequests):
        headers["retry-after"] = str(exc.retry_after)
    if isinstance(exc, MethodNotAllowed) and exc.allow:
        headers["allow"] = ", ".join(exc.allow)
    return Response(wire.error(exc.status, exc.message), status_code=exc.status, media_type=JSON, headers=headers)


async def on_recordkit_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RecordKitError)
    return error_response(exc)


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        message = f"Route not found: {request.method} {request.url.path}"
    elif status == 405:
        message = f"Method {request.method} not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return Response(wire.error(status, message), status_code=status, media_type=JSON, headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Never a stack trace on the wire; the log has it.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return Response(wire.error(500, "Internal error"), status_code=500, media_type=JSON)
