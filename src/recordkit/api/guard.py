"""The request target checked before anything else (SPEC §8): a path or query string that is not
UTF-8 once percent-decoded, or that carries a NUL character, is a 400 in the error envelope.

Without this, the server's decoding would turn invalid bytes into U+FFFD and an id of the wrong
shape into a confusing 403 / 404 ("app � not found"), a search for invalid UTF-8 would quietly
match nothing, and a NUL would reach the store (PostgreSQL cannot hold one). Raw bytes outside
ASCII in the request line never get here: the HTTP server refuses them (a bare 400).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from recordkit.api import wire

JSON = "application/json"


def _text(raw: bytes) -> str | None:
    """Percent-decoded UTF-8 text, None when it is not UTF-8."""
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None


def target_problem(raw_path: bytes, query: bytes) -> str | None:
    """What is wrong with a request's path and query string (the message of a 400), or None."""
    path = _text(raw_path)
    if path is None:
        return "path: not valid UTF-8"
    if "\x00" in path:
        return "path: must not contain NUL characters"
    if not query:
        return None
    for part in query.split(b"&"):
        raw_name, _, raw_value = part.partition(b"=")
        name = _text(raw_name.replace(b"+", b" "))
        if name is None:
            return "query: a parameter name is not valid UTF-8"
        value = _text(raw_value.replace(b"+", b" "))
        label = name[:60] if name.isprintable() else repr(name[:60])
        if value is None:
            return f"{label}: not valid UTF-8"
        if "\x00" in name or "\x00" in value:
            return f"{label}: must not contain NUL characters"
    return None


class TargetGuard:
    """ASGI middleware: ``target_problem`` answered with a 400, before routing and authentication."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            problem = target_problem(raw_path, scope.get("query_string", b""))
            if problem is not None:
                response = Response(wire.error(400, problem), status_code=400, media_type=JSON)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
