"""The one error tree of RecordKit.

Domain code raises these; the HTTP layer maps them to status codes and envelopes in one place
(``recordkit.api.errors``); the CLI prints their message. Nothing here knows about HTTP.

    RecordKitError
    ├── InvalidRequest      bad input (400)
    │   └── PayloadTooLarge (413)
    ├── Unauthenticated     no or unknown credentials (401)
    ├── Forbidden           credentials valid but not allowed (403)
    ├── NotFound            unknown app / meeting / recording / route (404)
    ├── MethodNotAllowed    (405)
    ├── Conflict            state transition not allowed, already in progress (409)
    ├── Gone                expired (410)
    ├── TooManyRequests     a rate limit (429, with retry-after)
    ├── NotImplementedYet   a RealtimeKit path RecordKit does not serve (501)
    └── Unavailable         a dependency is down (503)
"""

from __future__ import annotations


class RecordKitError(Exception):
    """Base of every error RecordKit raises on purpose."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RecordKitError):
    status = 400


class PayloadTooLarge(InvalidRequest):
    status = 413


class Unauthenticated(RecordKitError):
    status = 401


class Forbidden(RecordKitError):
    status = 403


class NotFound(RecordKitError):
    status = 404


class MethodNotAllowed(RecordKitError):
    status = 405

    def __init__(self, message: str, *, allow: list[str] | None = None) -> None:
        super().__init__(message)
        self.allow = allow or []


class Conflict(RecordKitError):
    """A conflict; ``retryable`` False tells SDKs not to retry (``x-should-retry: false``)."""

    status = 409

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Gone(RecordKitError):
    status = 410


class TooManyRequests(RecordKitError):
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotImplementedYet(RecordKitError):
    status = 501


class Unavailable(RecordKitError):
    status = 503
