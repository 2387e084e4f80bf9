"""What the client raises: one tree, rooted at ``RecordKitClientError``.

    RecordKitClientError
    ├── RecordKitConnectionError          the server could not be reached (after the retries)
    │   └── RecordKitTimeoutError         ... or did not answer in time
    ├── DownloadError                     a file's bytes do not match its announced size
    └── RecordKitAPIError                 the server answered with an error status
        ├── BadRequestError               400
        ├── AuthenticationError           401
        ├── PermissionDeniedError         403
        ├── NotFoundError                 404
        ├── ConflictError                 409
        ├── GoneError                     410 (an expired download link)
        ├── RateLimitError                429 (after the retries)
        └── ServerError                   5xx (after the retries; 501: not implemented there)

``RecordKitAPIError`` carries ``status_code``, and ``code`` and ``message`` from the API's error
envelope: RealtimeKit's ``{"success": false, "error": {"code", "message"}}`` or Cloudflare's
platform envelope ``{"success": false, "errors": [{"code", "message"}], ...}`` (authentication).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from recordkit.client._headers import retry_after_seconds


class RecordKitClientError(Exception):
    """Anything the RecordKit client raises."""


class RecordKitConnectionError(RecordKitClientError):
    """The request did not get an answer (connection refused, reset, DNS...), retries included.

    ``method`` and ``url`` name the request (a signed download link without its query),
    ``attempts`` how many were made, ``refused`` is true when nothing listened there (the
    connection was refused: no server on that port)."""

    def __init__(
        self, message: str, *, method: str = "", url: str = "", attempts: int = 1, refused: bool = False
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.attempts = attempts
        self.refused = refused


class RecordKitTimeoutError(RecordKitConnectionError):
    """The request timed out, retries included."""


class DownloadError(RecordKitClientError):
    """A download ended with other bytes than announced (Content-Length, or the recording's file_size)."""


class RecordKitAPIError(RecordKitClientError):
    """The API answered with an error status.

    ``code`` is the envelope's code (the HTTP status in RealtimeKit's envelope, ``10000`` in
    Cloudflare's authentication envelope; ``None`` when the body had none), ``message`` its message
    (else the response's reason phrase), ``errors`` every entry of a platform envelope."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        method: str = "",
        url: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(f"{status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.errors = errors or []
        self.method = method
        self.url = url
        self.headers: dict[str, str] = dict(headers or {})
        self.body = body


class BadRequestError(RecordKitAPIError):
    """400: the request is malformed; ``message`` names the parameter and the rule."""


class AuthenticationError(RecordKitAPIError):
    """401: no token, or one the server does not know."""


class PermissionDeniedError(RecordKitAPIError):
    """403: the token may not do this (another account, or a read-only token on a write)."""


class NotFoundError(RecordKitAPIError):
    """404: unknown app, meeting, recording or route."""


class ConflictError(RecordKitAPIError):
    """409: the state does not allow it (a recording in progress, a transition the lifecycle forbids)."""


class GoneError(RecordKitAPIError):
    """410: the download link has expired (or the file is no longer stored)."""


class RateLimitError(RecordKitAPIError):
    """429, still after the configured retries; ``retry_after`` is the server's last hint in seconds."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class ServerError(RecordKitAPIError):
    """5xx, still after the configured retries (501 is never retried: the operation is not implemented)."""


_BY_STATUS: dict[int, type[RecordKitAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[RecordKitAPIError]:
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, RecordKitAPIError)


def api_error(
    status_code: int,
    body: bytes,
    *,
    reason: str = "",
    method: str = "",
    url: str = "",
    headers: Mapping[str, str] | None = None,
) -> RecordKitAPIError:
    """The typed error for an error response, with the envelope's code and message when it has them."""
    code: int | None = None
    message = ""
    errors: list[dict[str, Any]] = []
    try:
        value = msgspec.json.decode(body) if body else None
    except msgspec.DecodeError:
        value = None
    if isinstance(value, dict):
        error = value.get("error")
        if isinstance(error, dict):
            code = _int(error.get("code"))
            message = str(error.get("message") or "")
        elif isinstance(error, str):
            message = error
        listed = value.get("errors")
        if isinstance(listed, list):
            errors = [e for e in listed if isinstance(e, dict)]
            if errors and not message:
                code = _int(errors[0].get("code"))
                message = "; ".join(str(e.get("message") or "") for e in errors)
        if not message and isinstance(value.get("message"), str):
            message = value["message"]
    if not message:
        text = body[:300].decode("utf-8", "replace").strip() if body and value is None else ""
        message = text or reason or f"HTTP {status_code}"
    cls = error_class(status_code)
    return cls(status_code, message, code=code, errors=errors, method=method, url=url, headers=headers, body=body)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
