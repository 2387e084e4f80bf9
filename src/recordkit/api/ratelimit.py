"""Per-token rate limits on the API (``recordkit.domain.ratelimit``): 429 with ``retry-after``.

Recordings endpoints (``.../recordings...``) and the rest count separately, as RealtimeKit's do.
The key is the ``Authorization`` header as sent (kept in memory only, never logged); a request
without one counts against its client address. ``/healthz`` and the well-known paths are free.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from recordkit.api.errors import error_response
from recordkit.domain.ratelimit import Rate, RateLimiter
from recordkit.errors import TooManyRequests

_API = "/client/v4/"


class RateLimit:
    def __init__(
        self,
        app: ASGIApp,
        recordings: Rate | None,
        other: Rate | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.recordings = RateLimiter(recordings) if recordings else None
        self.other = RateLimiter(other) if other else None
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_API):
            limiter = self.recordings if "/recordings" in scope["path"] else self.other
            if limiter is not None:
                key: object = None
                for name, value in scope["headers"]:
                    if name == b"authorization":
                        key = value
                        break
                if key is None:
                    key = (scope.get("client") or ("?",))[0]
                wait = limiter.check(key, self.clock())
                if wait:
                    rate = limiter.rate
                    exc = TooManyRequests(
                        f"Rate limit exceeded: at most {rate.limit} requests per {rate.period:g} seconds; "
                        f"retry after {wait} s",
                        retry_after=wait,
                    )
                    await error_response(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
