"""The one error tree of RecordKit.

Domain code raises these; the HTTP layer maps them to status codes and envelopes in one place
(``recordkit.api.errors.STATUSES``, which ``recordkit storage check --json`` reads too); the CLI
prints their message. Nothing here knows about HTTP: the numbers below say what the table maps
each to.

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

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RecordKitError):
    """Bad input: the message names the field."""


class PayloadTooLarge(InvalidRequest):
    """A body over the size limit."""


class Unauthenticated(RecordKitError):
    """No credentials, or unknown ones."""


class Forbidden(RecordKitError):
    """Valid credentials that are not allowed this."""


class NotFound(RecordKitError):
    """An unknown app, meeting, recording, webhook or route."""


class MethodNotAllowed(RecordKitError):
    """A method the path does not take; ``allow`` lists those it does."""

    def __init__(self, message: str, *, allow: list[str] | None = None) -> None:
        super().__init__(message)
        self.allow = allow or []


class Conflict(RecordKitError):
    """A conflict; ``retryable`` False tells SDKs not to retry (``x-should-retry: false``)."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Gone(RecordKitError):
    """Expired (a download link, a file past its retention)."""


class TooManyRequests(RecordKitError):
    """A rate limit; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotImplementedYet(RecordKitError):
    """A RealtimeKit path RecordKit does not serve."""


class Unavailable(RecordKitError):
    """A dependency (the database, a bucket, a destination) is down."""
