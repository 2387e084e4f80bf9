"""The one place where RecordKit's error tree becomes HTTP status codes and envelopes (SPEC §1)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from recordkit.api import wire
from recordkit.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    NotImplementedYet,
    PayloadTooLarge,
    RecordKitError,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("recordkit.api")

JSON = "application/json"

# The one table: an error class -> its HTTP status. A class not listed takes its nearest listed
# base's (the MRO is walked), so a new subclass needs no entry unless its status differs.
STATUSES: dict[type[RecordKitError], int] = {
    RecordKitError: 500,
    InvalidRequest: 400,
    PayloadTooLarge: 413,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    Gone: 410,
    TooManyRequests: 429,
    NotImplementedYet: 501,
    Unavailable: 503,
}


def status_of(exc: RecordKitError) -> int:
    """The HTTP status of ``exc`` (also what ``recordkit storage check --json`` prints)."""
    for cls in type(exc).__mro__:
        status = STATUSES.get(cls)
        if status is not None:
            return status
    return 500


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
    status = status_of(exc)
    return Response(wire.error(status, exc.message), status_code=status, media_type=JSON, headers=headers)


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
