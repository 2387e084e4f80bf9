"""The outermost middleware (pure ASGI): a request id, the request metrics, the access log.

- ``x-request-id``: a caller's id is kept when it is short and plain (letters, digits, ``-_.:``),
  else one is made; either way it is sent back on the response and set for the logs of the request.
- Metrics: the route's template (``/client/v4/accounts/{account_id}/...``, never the path with its
  ids), method, status and the time until the last byte was handed to the server.
- Access log (JSON logs only): one line per request on logger ``recordkit.access``; the health
  probes and ``/metrics`` log at DEBUG so that probes do not flood the log.

The work per request is a header scan, a clock read before and after, and a few increments.
"""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from recordkit.ops.logs import ACCESS_LOGGER, request_id
from recordkit.ops.metrics import UNMATCHED, Metrics

HEADER = b"x-request-id"
_ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
QUIET_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics"})

access_log = logging.getLogger(ACCESS_LOGGER)


def new_request_id() -> bytes:
    """24 hex digits: unique enough to find a request in the logs, and not a secret, so the module's
    generator serves (no system call; Python reseeds it in every forked worker)."""
    return b"%024x" % random.getrandbits(96)


class Observe:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None,
        access_log: bool,
        routes: list[BaseRoute] | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_access = access_log
        self.routes = routes or []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid: bytes | None = None
        for name, value in scope["headers"]:
            if name == HEADER:
                if _ACCEPTED.fullmatch(value):
                    rid = value
                break
        if rid is None:
            rid = new_request_id()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the response's own may outlive the request (a response made once).
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, rid)]}
            await send(message)

        # Only JSON log lines read the id (the default formatter has no field for it).
        token = request_id.set(rid.decode()) if self.log_access else None
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = route.path if route is not None else self._template(scope, status)
            if self.metrics is not None:
                self.metrics.observe_request(scope["method"], template, status, seconds)
            if token is not None:
                self._log(scope, template, status, seconds)
                request_id.reset(token)

    def _template(self, scope: Scope, status: int) -> str:
        """The template of a request answered before routing (a 429 of the rate limiter), else a
        marker for paths that match no route (their raw paths would make a metric per path)."""
        if status == 404:
            return UNMATCHED  # the router found nothing
        probe: dict[str, Any] = {"type": "http", "path": scope["path"], "method": scope["method"]}
        probe["root_path"] = scope.get("root_path", "")
        for route in self.routes:
            match, _ = route.matches(probe)
            if match is Match.FULL:
                return str(getattr(route, "path", UNMATCHED))
        return UNMATCHED

    @staticmethod
    def _log(scope: Scope, template: str, status: int, seconds: float) -> None:
        path = scope["path"]
        level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        method = scope["method"]
        ms = round(seconds * 1000, 3)
        access_log.log(
            level,
            "%s %s %d %.1fms",
            method,
            path,
            status,
            ms,
            extra={"method": method, "route": template, "path": path, "status": status, "duration_ms": ms},
        )
